"""The deploy manifests: valid for their platform, identical in what matters, and broken ones named."""

from __future__ import annotations

import json
import re
import threading
import tomllib
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from api.serving.card import read_card
from tests.deploy.conftest import deploy_manifests
from tests.factories import EXAMPLE_MODELS, REPO

PLATFORMS = deploy_manifests.PLATFORMS


@pytest.mark.parametrize("platform", PLATFORMS)
def test_manifest_is_valid_for_its_platform(platform, schemas_dir):
    assert deploy_manifests.validate(platform, REPO, schemas_dir) == []


# -- drift: every manifest starts the service the same way --------------------


@pytest.fixture(scope="module")
def plans():
    return {platform: deploy_manifests.plan_for(platform, REPO) for platform in PLATFORMS}


def test_every_manifest_starts_the_one_entrypoint(plans):
    assert {p: plan.start_command for p, plan in plans.items()} == dict.fromkeys(PLATFORMS, "python -m api")


def test_every_manifest_checks_the_same_health_path(plans):
    assert {p: plan.health_path for p, plan in plans.items()} == dict.fromkeys(PLATFORMS, "/health")


def test_every_manifest_runs_one_worker_whatever_the_platform_defaults_to(plans):
    # Render and Heroku-style builders set WEB_CONCURRENCY=2 themselves; the manifests override it.
    assert plans["render"].platform_env["WEB_CONCURRENCY"] == "2"
    assert {p: plan.workers for p, plan in plans.items()} == dict.fromkeys(PLATFORMS, 1)


def test_every_manifest_serves_on_the_port_the_platform_routes_to(plans):
    for platform, plan in plans.items():
        assert plan.listen_port == plan.routed_port, platform
    fly = tomllib.loads((REPO / "fly.toml").read_text())
    exposed = [i.args for i in deploy_manifests.read_dockerfile(REPO / "Dockerfile") if i.name == "EXPOSE"]
    assert exposed == [str(fly["http_service"]["internal_port"])] == [fly["env"]["PORT"]]


def test_every_manifest_pins_the_python_the_bundles_were_saved_with(plans):
    pinned = (REPO / ".python-version").read_text().strip()
    bundles = [d for d in EXAMPLE_MODELS.iterdir() if d.is_dir()]
    saved_with = {".".join(read_card(d).versions["python"].split(".")[:2]) for d in bundles}
    assert saved_with == {pinned}
    assert {p: plan.python_version for p, plan in plans.items()} == dict.fromkeys(PLATFORMS, pinned)


def test_drift_in_one_manifest_is_caught(manifest_copy):
    (manifest_copy / "Procfile").write_text("web: uvicorn api.app:create_app --factory --port $PORT\n")
    plans = {p: deploy_manifests.plan_for(p, manifest_copy) for p in PLATFORMS}
    assert {plan.start_command for plan in plans.values()} != {"python -m api"}


# -- what each manifest must say ----------------------------------------------


def test_render_blueprint_is_free_wires_postgres_and_keeps_secrets_out():
    blueprint = yaml.safe_load((REPO / "render.yaml").read_text())
    (web,) = blueprint["services"]
    (database,) = blueprint["databases"]
    assert web["plan"] == database["plan"] == "free"
    env = {var["key"]: var for var in web["envVars"]}
    assert env["DATABASE_URL"]["fromDatabase"] == {"name": database["name"], "property": "connectionString"}
    assert env["API_KEYS"] == {"key": "API_KEYS", "sync": False}
    assert env["ADMIN_API_KEY"] == {"key": "ADMIN_API_KEY", "generateValue": True}
    assert env["TRUSTED_PROXY_HOPS"]["value"] == "2"
    assert env["PYTHON_VERSION"]["value"].startswith((REPO / ".python-version").read_text().strip() + ".")
    assert web["buildCommand"].startswith("pip install -r requirements.txt")
    # Deploys wait for the repository's own CI (.github/workflows/ci.yml) to pass on the commit.
    assert web["autoDeployTrigger"] == "checksPass"


def test_fly_config_stops_when_idle_and_checks_health_through_force_https():
    fly = tomllib.loads((REPO / "fly.toml").read_text())
    service = fly["http_service"]
    assert service["force_https"] is True
    assert service["auto_stop_machines"] == "stop" and service["auto_start_machines"] is True
    assert service["min_machines_running"] == 0
    (check,) = service["checks"]
    assert check["path"] == "/health" and check["headers"] == {"X-Forwarded-Proto": "https"}
    assert fly["vm"] == [{"memory": "512mb", "cpu_kind": "shared", "cpus": 1}]
    assert fly["env"]["CLIENT_IP_HEADER"] == "Fly-Client-IP"


def test_railway_config_has_health_check_timeout_and_restart_policy():
    railway = json.loads((REPO / "railway.json").read_text())
    deploy = railway["deploy"]
    assert deploy["healthcheckPath"] == "/health"
    assert 0 < deploy["healthcheckTimeout"] <= 300
    assert deploy["restartPolicyType"] == "ON_FAILURE" and deploy["restartPolicyMaxRetries"] >= 1
    # Railway builds with a Dockerfile whenever one is present; saying so keeps the file honest.
    assert railway["build"] == {"builder": "DOCKERFILE", "dockerfilePath": "Dockerfile"}


def test_dockerfile_is_slim_non_root_caches_dependencies_and_honours_port():
    instructions = deploy_manifests.read_dockerfile(REPO / "Dockerfile")
    names = [(i.name, i.args) for i in instructions]
    base = re.fullmatch(r"python:(3\.11\.\d+)-slim@sha256:[0-9a-f]{64}", names[0][1])
    assert base, f"the base is pinned by patch and digest: {names[0][1]}"
    # The same patch as the cards were saved with and render.yaml asks for.
    blueprint = yaml.safe_load((REPO / "render.yaml").read_text())
    render_python = {v["key"]: v.get("value") for v in blueprint["services"][0]["envVars"]}["PYTHON_VERSION"]
    saved_with = {read_card(d).versions["python"] for d in EXAMPLE_MODELS.iterdir() if d.is_dir()}
    assert {base.group(1)} == {render_python} == saved_with
    copies = [args for name, args in names if name == "COPY"]
    install = names.index(("RUN", "pip install -r requirements.txt"))
    assert names.index(("COPY", "requirements.txt ./")) < install < names.index(("COPY", "api ./api"))
    assert copies[0] == "requirements.txt ./"
    user = [args for name, args in names if name == "USER"]
    assert user and user[-1] not in ("root", "0")
    healthcheck = next(args for name, args in names if name == "HEALTHCHECK")
    assert "PORT" in healthcheck and "/health" in healthcheck
    assert [args for name, args in names if name == "CMD"] == ['["python", "-m", "api"]']


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        (".venv/bin/python", False),
        ("tests/test_predict.py", False),
        ("notebooks/explore.ipynb", False),
        ("models/penguins/.ipynb_checkpoints/x.ipynb", False),
        ("data/train.csv", False),
        ("freeport.db", False),
        ("api/__pycache__/app.cpython-311.pyc", False),
        ("api/app.py", True),
        ("models/penguins/model.joblib", True),
        ("requirements.txt", True),
    ],
)
def test_dockerignore_keeps_only_what_the_image_needs(path, kept):
    from simulate_deploy import _dockerignored

    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert _dockerignored(path, patterns) is not kept


# -- broken manifests fail with a message naming the key ------------------------


def _problems(platform, folder, schemas_dir):
    problems = deploy_manifests.validate(platform, folder, schemas_dir)
    assert problems, f"the broken {platform} manifest passed validation"
    return "\n".join(problems)


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("    startCommand: python -m api", "    startComand: python -m api", "startComand"),
        ("    startCommand: python -m api", "    startCommand: uvicorn api.app:app", "startCommand"),
        ("    plan: free\n    # Install", "    # Install", "services[0].plan"),
        ("    plan: free\n    databaseName", "    databaseName", "databases[0].plan"),
        ("    runtime: python", "    env: python", "env"),
        ("    autoDeployTrigger: checksPass", "    autoDeployTrigger: always", "autoDeployTrigger"),
        ("        sync: false", "        synk: false", "synk"),
    ],
)
def test_broken_render_blueprint_names_the_key(manifest_copy, schemas_dir, old, new, named):
    _edit(manifest_copy / "render.yaml", old, new)
    assert named in _problems("render", manifest_copy, schemas_dir)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("[http_service]", "[http_servce]", "http_servce"),
        ('auto_stop_machines = "stop"', "auto_stop_machines = true", "http_service.auto_stop_machines"),
        ("force_https = true", "force_http = true", "force_http"),
        ('    path = "/health"', '    paht = "/health"', "paht"),
        ("  internal_port = 8080\n", "", "internal_port"),
    ],
)
def test_broken_fly_config_names_the_key(manifest_copy, schemas_dir, old, new, named):
    _edit(manifest_copy / "fly.toml", old, new)
    assert named in _problems("fly", manifest_copy, schemas_dir)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('"healthcheckPath"', '"healtcheckPath"', "deploy.healtcheckPath"),
        ('"python -m api"', '"gunicorn api.app:app"', "deploy.startCommand"),
        ('"DOCKERFILE"', '"DOCKER"', "build.builder"),
        ('"ON_FAILURE"', '"SOMETIMES"', "deploy.restartPolicyType"),
        ('"deploy"', '"deplo"', "deplo"),
    ],
)
def test_broken_railway_config_names_the_key(manifest_copy, old, new, named):
    _edit(manifest_copy / "railway.json", old, new)
    assert named in _problems("railway", manifest_copy, None)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("wbe: WEB_CONCURRENCY=1 python -m api\n", "'wbe'"),
        ("web: WEB_CONCURRENCY=1 gunicorn api.app:app\n", "web:"),
        ("web python -m api\n", "command"),
        ("we b: python -m api\n", "process"),
    ],
)
def test_broken_procfile_names_the_process(manifest_copy, text, named):
    (manifest_copy / "Procfile").write_text(text)
    assert named in _problems("procfile", manifest_copy, None)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("COPY api ./api", "COPPY api ./api", "'COPPY'"),
        ("USER freeport", "USER root", "USER"),
        ('CMD ["python", "-m", "api"]', "CMD python -m api", "CMD"),
    ],
)
def test_broken_dockerfile_names_the_instruction(manifest_copy, schemas_dir, old, new, named):
    _edit(manifest_copy / "Dockerfile", old, new)
    assert named in _problems("fly", manifest_copy, schemas_dir)
    assert named in _problems("railway", manifest_copy, None)


def test_missing_manifest_is_named(manifest_copy):
    (manifest_copy / "railway.json").unlink()
    assert "railway.json is missing" in _problems("railway", manifest_copy, None)


def test_missing_schemas_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("MANIFEST_SCHEMAS_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("MANIFEST_SCHEMAS_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(deploy_manifests.SchemasMissingError, match="shared/schemas.*render.com/schema"):
        deploy_manifests.find_schemas_dir(tmp_path)


@contextmanager
def _file_server(files: dict[str, bytes]):
    """A local HTTP server answering GET /<name> with ``files[name]`` (404 otherwise); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path.lstrip("/"))
            self.send_response(404 if body is None else 200)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_schemas_are_fetched_from_their_publishers_cached_and_never_replaced_by_an_error_page(
    tmp_path, monkeypatch, schemas_dir
):
    # The publishers' URLs pointed at a local server holding the same files; a fork's CI fetches the real ones.
    names = list(deploy_manifests.SCHEMA_FILES.values())
    files = {name: (schemas_dir / name).read_bytes() for name in names}
    monkeypatch.setenv("MANIFEST_SCHEMAS_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with _file_server(files) as base:
        monkeypatch.setattr(deploy_manifests, "SCHEMA_URLS", {name: f"{base}/{name}" for name in names})
        fetched = deploy_manifests.find_schemas_dir(tmp_path)
    assert fetched == tmp_path / "cache" / "freeport" / "schemas"
    assert {name: (fetched / name).read_bytes() for name in names} == files
    assert deploy_manifests.validate("render", REPO, fetched) == []

    # An error page in place of a schema is refused; with no copy at all it says why.
    (fetched / names[0]).unlink()
    with _file_server({names[0]: b"<html>rate limited</html>"}) as base:
        monkeypatch.setattr(deploy_manifests, "SCHEMA_URLS", {name: f"{base}/{name}" for name in names})
        with pytest.raises(deploy_manifests.SchemasMissingError, match=f"could not fetch {base}/{names[0]}"):
            deploy_manifests.find_schemas_dir(tmp_path)
