"""The rehearsal's own parts, and its refusal of a broken manifest before any build."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.deploy.conftest import deploy_manifests
from tests.factories import REPO
from tests.pg import wait_until

import simulate_deploy  # isort: skip — importable once tests/deploy/conftest.py put scripts/ on sys.path


def _simulate(platform, root, schemas_dir):
    # The copy has no ../shared/schemas beside it: point the rehearsal at the schemas found for this checkout.
    return subprocess.run([sys.executable, "scripts/simulate_deploy.py", platform, "--root", str(root)],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MANIFEST_SCHEMAS_DIR": str(schemas_dir)})


@pytest.mark.parametrize(
    ("platform", "manifest", "old", "new", "named"),
    [
        ("procfile", "Procfile", "web:", "wbe:", "'wbe'"),
        ("render", "render.yaml", "startCommand: python -m api", "startCommand: gunicorn api.app:app", "startCommand"),
        ("railway", "railway.json", '"healthcheckPath"', '"healthCheckPath"', "deploy.healthCheckPath"),
        ("fly", "Dockerfile", "COPY api ./api", "COPPY api ./api", "'COPPY'"),
    ],
)
def test_rehearsal_refuses_a_broken_manifest_before_building(
    manifest_copy, schemas_dir, platform, manifest, old, new, named
):
    path = manifest_copy / manifest
    path.write_text(path.read_text().replace(old, new, 1))
    result = _simulate(platform, manifest_copy, schemas_dir)
    assert result.returncode == 1
    assert "the manifest is invalid" in result.stdout and named in result.stdout
    assert "build            -" in result.stdout  # nothing was built


def test_memory_sampler_counts_every_process_of_the_tree():
    # The shell stays the parent (two commands), so the 150 MB live in a child process; it holds
    # them until its stdin closes, so the sampler has all the time it needs to see them.
    child = "import sys; block = bytearray(150 * 2**20); print(len(block), flush=True); sys.stdin.read()"
    process = subprocess.Popen(["sh", "-c", f"{sys.executable} -c '{child}'; true"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    sampler = simulate_deploy._MemorySampler(process.pid)
    sampler.start()
    try:
        assert process.stdout.readline() == f"{150 * 2**20}\n"  # the memory is held from here on
        seen = wait_until(lambda: sampler.peak > 150 * 2**20, timeout=10)
    finally:
        process.communicate(timeout=30)
        sampler.stop()
    assert seen, f"the sampler saw at most {sampler.peak / 2**20:.0f} MB"


def test_health_wait_reports_a_service_that_exits_early():
    plan = deploy_manifests.plan_for("render", REPO)
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(simulate_deploy.RehearsalError, match=r"exited \(3\) before its health check"):
        simulate_deploy._wait_healthy(plan, "http://127.0.0.1:9", process, {})


def test_docker_copy_refuses_a_source_dockerignore_keeps_out(tmp_path):
    context_files = simulate_deploy._docker_context(REPO, simulate_deploy._pushed_files(REPO))
    assert not any(name.startswith(("tests/", ".venv/")) for name in context_files)
    with pytest.raises(simulate_deploy.RehearsalError, match="COPY tests: nothing in the build context"):
        simulate_deploy._docker_copy("tests ./tests", REPO, context_files, tmp_path, "/app")


def test_docker_copy_places_files_under_the_workdir(tmp_path):
    context_files = ["requirements.txt", "api/app.py", "api/routes/health.py"]
    simulate_deploy._docker_copy("requirements.txt ./", REPO, context_files, tmp_path, "/home/freeport")
    simulate_deploy._docker_copy("api ./api", REPO, context_files, tmp_path, "/home/freeport")
    home = tmp_path / "home" / "freeport"
    assert (home / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    assert (home / "api" / "routes" / "health.py").is_file() and not (home / "api" / "settings.py").exists()


def test_staging_without_git_keeps_the_files_git_would_push(tmp_path):
    # An unpacked archive has no .git: .gitignore is applied by the rehearsal itself, to the same effect.
    assert simulate_deploy._unignored_files(REPO) == sorted(simulate_deploy._pushed_files(REPO))
    (tmp_path / ".gitignore").write_text(".venv\n*.db\n/artifacts/\n")
    for name in ("api/app.py", ".venv/bin/python", "log.db", "models/a/b.db", "artifacts/shot.png", "Procfile"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert simulate_deploy._unignored_files(tmp_path) == [".gitignore", "Procfile", "api/app.py"]
