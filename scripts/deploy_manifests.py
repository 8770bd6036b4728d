"""Read and validate the deploy manifests, and say what each platform will do with them.

One place knows how to read render.yaml, railway.json, fly.toml (with its Dockerfile)
and the Procfile. Two users:

- ``validate(platform)``: the platform's published schema where one exists (Render's
  and Fly's, from ``../shared/schemas``), otherwise a precise pydantic model of the
  documented fields; then the project's own rules (free plan, the one entrypoint).
  Every message names the offending key.
- ``plan_for(platform)``: a ``DeployPlan`` derived from the manifest's own text (build
  steps, start command, environment, health check), which scripts/simulate_deploy.py
  rehearses and tests/deploy compares across platforms.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "PLATFORMS",
    "BuildStep",
    "DeployPlan",
    "ManifestError",
    "SchemasMissingError",
    "find_schemas_dir",
    "plan_for",
    "read_dockerfile",
    "validate",
]

REPO = Path(__file__).resolve().parent.parent
PLATFORMS = ("render", "railway", "fly", "procfile")
ENTRYPOINT = "python -m api"
MEMORY_LIMIT_MB = 512  # every free (or smallest) instance the manifests ask for

SCHEMA_FILES = {"render": "render.schema.json", "fly": "fly.schema.json"}
# Where each platform publishes its schema (each file's own $id).
SCHEMA_URLS = {
    "render.schema.json": "https://render.com/schema/render.yaml.json",
    "fly.schema.json": "https://json.schemastore.org/fly.json",
}
SCHEMAS_HELP = (
    "the published manifest schemas are fetched from their publishers (" + ", ".join(SCHEMA_URLS.values())
    + ") into ~/.cache/freeport/schemas, or read from a folder holding both files: MANIFEST_SCHEMAS_DIR, "
    "or ../shared/schemas beside the repository; MANIFEST_SCHEMAS_OFFLINE=1 never fetches"
)


class ManifestError(Exception):
    """A manifest is missing, unreadable or invalid; ``problems`` name each key at fault."""

    def __init__(self, manifest: str, problems: list[str]) -> None:
        self.manifest = manifest
        self.problems = problems
        super().__init__(f"{manifest}: " + "; ".join(problems))


class SchemasMissingError(Exception):
    """The published schemas are not where the repository expects them."""


# --------------------------------------------------------------------------- schemas


def find_schemas_dir(root: Path = REPO) -> Path:
    """The folder holding the published schemas: $MANIFEST_SCHEMAS_DIR, else ``<root>/../shared/schemas``,
    else a cache of them fetched from their publishers (SCHEMA_URLS).

    A git worktree's root is not the main checkout's, so the main checkout's sibling
    ``shared/schemas`` is tried too.
    """
    candidates = []
    if os.environ.get("MANIFEST_SCHEMAS_DIR"):
        candidates.append(Path(os.environ["MANIFEST_SCHEMAS_DIR"]))
    candidates.append(root.parent / "shared" / "schemas")
    common = _git_common_dir(root)
    if common is not None and common.parent.parent / "shared" / "schemas" not in candidates:
        candidates.append(common.parent.parent / "shared" / "schemas")
    for candidate in candidates:
        if all((candidate / name).is_file() for name in SCHEMA_FILES.values()):
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    try:
        return _fetched_schemas()
    except OSError as exc:  # offline, or a publisher that did not answer
        raise SchemasMissingError(f"manifest schemas not found (tried {tried}; {exc}): {SCHEMAS_HELP}") from None


def _fetched_schemas() -> Path:
    """The schemas as their publishers serve them, cached for a day in ~/.cache/freeport/schemas."""
    import time
    import urllib.request

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "freeport" / "schemas"
    for name, url in SCHEMA_URLS.items():
        path = cache / name
        if path.is_file() and time.time() - path.stat().st_mtime < 24 * 3600:
            continue
        if os.environ.get("MANIFEST_SCHEMAS_OFFLINE"):
            raise OSError("MANIFEST_SCHEMAS_OFFLINE is set, so nothing is fetched")
        try:
            with urllib.request.urlopen(url, timeout=20) as response:
                payload = response.read()
            json.loads(payload)  # an error page is no schema
        except (OSError, ValueError) as exc:
            if path.is_file():  # a day-old copy is better than none
                continue
            raise OSError(f"could not fetch {url}: {exc}") from exc
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(payload)
        os.replace(partial, path)
    return cache


def _git_common_dir(root: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(out) if out else None


def _schema_problems(data: Any, schema: dict) -> list[str]:
    """Every schema violation, each with the path of the key at fault, plus keys the schema does not know."""
    from jsonschema.validators import validator_for  # dev dependency: only validation needs it

    validator = validator_for(schema)(schema)
    unknown = _unknown_keys(data, schema, schema, ())
    problems = []
    for error in _meant_errors(validator.iter_errors(data), schema):
        where = _dotted(error.absolute_path)
        if error.validator == "additionalProperties" and any(u.startswith(f"{where}.") for u in unknown):
            continue  # already named, with a suggestion, by _unknown_keys
        problems.append(f"{where or '(top level)'}: {error.message}")
    return sorted(set(problems + unknown))


def _meant_errors(errors, root: dict) -> list:
    """Errors as the author meant them: inside an anyOf, those of the branch the data chose (by its `type`).

    jsonschema reports "is not valid under any of the given schemas" for the whole
    list item; the branch's own error names the key.
    """
    out = []
    for error in errors:
        if error.validator not in ("anyOf", "oneOf") or not error.context:
            out.append(error)
            continue
        by_branch: dict[int, list] = {}
        for sub in error.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        alternatives = error.validator_value
        meant = [i for i in by_branch if isinstance(error.instance, dict)
                 and all(_agrees(error.instance, b) for b in _branches(alternatives[i], error.instance, root))]
        if meant and len(meant) < len(alternatives):
            for index in meant:
                out += _meant_errors(by_branch[index], root)
        elif not any(e.validator == "additionalProperties" for subs in by_branch.values() for e in subs):
            out.append(error)
        # else: an unknown key, which _unknown_keys names with a suggestion
    return out


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _resolve(node: dict, root: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        target = root
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _branches(node: dict, data: Any, root: dict) -> list[dict]:
    """The object schemas ``data`` is meant to match: anyOf/oneOf branches whose constants it agrees with."""
    node = _resolve(node, root)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if not alternatives:
        return [node] + [b for part in node.get("allOf", []) for b in _branches(part, data, root)]
    every = [b for alternative in alternatives for b in _branches(alternative, data, root)]
    chosen = [b for b in every if isinstance(data, dict) and _agrees(data, b)]
    return chosen or every


def _agrees(data: dict, branch: dict) -> bool:
    """Whether ``data`` fits a branch's discriminators: its constants and enums, and its required keys."""
    for key, spec in branch.get("properties", {}).items():
        if key in data and "const" in spec and data[key] != spec["const"]:
            return False
        if key in data and "enum" in spec and data[key] not in spec["enum"]:
            return False
    return all(key in data for key in branch.get("required", []))


def _unknown_keys(data: Any, node: dict, root: dict, path: tuple) -> list[str]:
    """Keys that no schema branch for ``data`` declares: a typo gets its own message and a suggestion.

    Fly's schema allows unknown keys (``additionalProperties: true``), so a misspelt
    ``[http_servce]`` would pass it silently; Render's rejects them inside an anyOf
    whose message does not say which key. Both are read here as closed.
    """
    problems: list[str] = []
    branches = _branches(node, data, root)
    if isinstance(data, dict):
        declared: dict[str, dict] = {}
        open_ended = False
        for branch in branches:
            declared.update(branch.get("properties", {}))
            if "patternProperties" in branch or (branch.get("type") == "object" and not branch.get("properties")):
                open_ended = True
        if declared and not open_ended:
            for key in data:
                if key not in declared:
                    close = difflib.get_close_matches(key, list(declared), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    where = _dotted((*path, key))
                    problems.append(f"{where}: unknown key {key!r}{hint}")
        for key, value in data.items():
            if key in declared:
                problems += _unknown_keys(value, declared[key], root, (*path, key))
    elif isinstance(data, list):
        for branch in branches:
            items = branch.get("items")
            if isinstance(items, dict):
                for index, item in enumerate(data):
                    problems += _unknown_keys(item, items, root, (*path, index))
                break
    return problems


# --------------------------------------------------------------------------- models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RailwayBuild(_Strict):
    """``build`` in railway.json (https://docs.railway.com/config-as-code/reference)."""

    builder: Literal["RAILPACK", "DOCKERFILE", "NIXPACKS"] = "RAILPACK"
    buildCommand: str | None = None  # noqa: N815 — the file's own key names
    dockerfilePath: str | None = None  # noqa: N815
    watchPatterns: list[str] | None = None  # noqa: N815
    railpackVersion: str | None = None  # noqa: N815


class RailwayDeploy(_Strict):
    """``deploy`` in railway.json."""

    startCommand: str | None = None  # noqa: N815
    preDeployCommand: list[str] | str | None = None  # noqa: N815
    healthcheckPath: str | None = None  # noqa: N815
    healthcheckTimeout: int = Field(300, ge=1)  # noqa: N815
    restartPolicyType: Literal["ON_FAILURE", "ALWAYS", "NEVER"] = "ON_FAILURE"  # noqa: N815
    restartPolicyMaxRetries: int | None = Field(None, ge=0)  # noqa: N815
    numReplicas: int | None = Field(None, ge=1)  # noqa: N815
    sleepApplication: bool | None = None  # noqa: N815
    cronSchedule: str | None = None  # noqa: N815
    region: str | None = None
    overlapSeconds: int | None = None  # noqa: N815
    drainingSeconds: int | None = None  # noqa: N815
    requiredMountPath: str | None = None  # noqa: N815


class RailwayConfig(_Strict):
    """railway.json ("Config as Code"); every documented key, nothing else."""

    schema_url: str | None = Field(None, alias="$schema")
    build: RailwayBuild = RailwayBuild()
    deploy: RailwayDeploy = RailwayDeploy()


class ProcfileEntry(_Strict):
    """One ``<process>: <command>`` line."""

    process: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    command: str = Field(min_length=1)


DOCKERFILE_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER",
}


@dataclass(frozen=True)
class DockerInstruction:
    """One Dockerfile instruction, continuation lines joined."""

    line: int
    name: str
    args: str

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form RUN/CMD, or None for the shell form."""
        text = self.args.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return None
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        return None


def read_dockerfile(path: Path) -> list[DockerInstruction]:
    """Parse a Dockerfile into instructions; an unknown instruction is a ManifestError naming it."""
    instructions, problems = [], []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        name, _, args = text.partition(" ")
        if name.upper() not in DOCKERFILE_INSTRUCTIONS:
            close = difflib.get_close_matches(name.upper(), sorted(DOCKERFILE_INSTRUCTIONS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"line {start}: unknown instruction {name!r}{hint}")
            continue
        instructions.append(DockerInstruction(start, name.upper(), args.strip()))
    if problems:
        raise ManifestError(path.name, problems)
    return instructions


def _env_pairs(args: str) -> dict[str, str]:
    """``ENV A=1 B="two words"`` (and the legacy ``ENV A value``) as a dict."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def _docker_problems(instructions: list[DockerInstruction]) -> list[str]:
    problems = []
    names = [i.name for i in instructions]
    if not names or names[0] not in ("FROM", "ARG"):
        problems.append("FROM: the first instruction must be FROM (a python:3.11 slim base)")
    for required in ("FROM", "CMD", "USER", "HEALTHCHECK", "EXPOSE"):
        if required not in names:
            problems.append(f"{required}: missing")
    for instruction in instructions:
        if instruction.name == "CMD" and instruction.exec_form() is None:
            problems.append(f"CMD (line {instruction.line}): use the exec form [\"python\", \"-m\", \"api\"] "
                            "so the server gets the platform's stop signal")
        if instruction.name == "USER" and instruction.args.strip() in ("root", "0"):
            problems.append(f"USER (line {instruction.line}): the service must not run as root")
    return problems


# --------------------------------------------------------------------------- reading


def _read(root: Path, name: str) -> str:
    path = root / name
    if not path.is_file():
        raise ManifestError(name, [f"{name} is missing from {root}"])
    return path.read_text()


def load_manifest(platform: str, root: Path = REPO) -> Any:
    """The parsed manifest of a platform (plain data, before validation)."""
    try:
        if platform == "render":
            return yaml.safe_load(_read(root, "render.yaml"))
        if platform == "railway":
            return json.loads(_read(root, "railway.json"))
        if platform == "fly":
            return tomllib.loads(_read(root, "fly.toml"))
        if platform == "procfile":
            return _read_procfile(_read(root, "Procfile"))
    except (yaml.YAMLError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(platform, [f"cannot be parsed: {exc}"]) from exc
    raise ValueError(f"unknown platform {platform!r}; one of {', '.join(PLATFORMS)}")


def _read_procfile(text: str) -> dict[str, str]:
    processes, problems = {}, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        process, colon, command = line.partition(":")
        try:
            entry = ProcfileEntry(process=process.strip(), command=command.strip() if colon else "")
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(f"line {number}: {error['loc'][0]}: {error['msg']}")
            continue
        processes[entry.process] = entry.command
    if problems:
        raise ManifestError("Procfile", problems)
    return processes


# --------------------------------------------------------------------------- validation


def validate(
    platform: str, root: Path = REPO, schemas_dir: Path | None = None, *, use_schemas: bool = True
) -> list[str]:
    """Every problem with a platform's manifest, each naming its key; empty when it is fine.

    Render and Fly need the published schemas (``find_schemas_dir``); raises
    SchemasMissingError when they are not there, unless ``use_schemas`` is false
    (then only the project's own rules are checked).
    """
    try:
        data = load_manifest(platform, root)
    except ManifestError as exc:
        return exc.problems
    problems: list[str] = []
    if platform in SCHEMA_FILES and use_schemas:
        schema_path = (schemas_dir or find_schemas_dir(root)) / SCHEMA_FILES[platform]
        problems += _schema_problems(data, json.loads(schema_path.read_text()))
    if platform == "railway":
        try:
            RailwayConfig.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(f"{_dotted(error['loc'])}: {error['msg']}")
    if platform in ("fly", "railway"):
        try:
            problems += ["Dockerfile " + p for p in _docker_problems(read_dockerfile(root / "Dockerfile"))]
        except ManifestError as exc:
            problems += ["Dockerfile " + p for p in exc.problems]
    if not problems:
        problems += _policy_problems(platform, data)
    return problems


def _policy_problems(platform: str, data: Any) -> list[str]:
    """The project's own rules on top of the platform's: free plans and the one entrypoint."""
    problems = []
    if platform == "render":
        for index, service in enumerate(data.get("services", [])):
            if service.get("type") == "web":
                if "plan" not in service:
                    problems.append(f"services[{index}].plan: missing; without it Render creates a paid "
                                    "instance: set plan: free")
                if service.get("startCommand") != ENTRYPOINT:
                    problems.append(f"services[{index}].startCommand: {service.get('startCommand')!r}, "
                                    f"expected {ENTRYPOINT!r} (the one entrypoint)")
        for index, database in enumerate(data.get("databases", [])):
            if "plan" not in database:
                problems.append(f"databases[{index}].plan: missing; without it Render creates a paid "
                                "database: set plan: free")
    if platform == "railway":
        start = data.get("deploy", {}).get("startCommand")
        if start != ENTRYPOINT:
            problems.append(f"deploy.startCommand: {start!r}, expected {ENTRYPOINT!r} (the one entrypoint)")
    if platform == "procfile":
        if "web" not in data:
            close = difflib.get_close_matches("web", list(data), n=1)
            hint = f" (found {close[0]!r}: a typo?)" if close else ""
            problems.append(f"web: no web process{hint}")
        elif _strip_assignments(data["web"])[1] != ENTRYPOINT:
            problems.append(f"web: {data['web']!r} does not start {ENTRYPOINT!r} (the one entrypoint)")
    if platform == "fly":
        service = data.get("http_service", {})
        if "internal_port" not in service:
            problems.append("http_service.internal_port: missing (Fly's default 8080 must match [env] PORT)")
    return problems


def _strip_assignments(command: str) -> tuple[dict[str, str], str]:
    """Split ``A=1 B=2 python -m api`` into its leading variable assignments and the command."""
    words = shlex.split(command)
    env = {}
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return env, " ".join(words)


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class BuildStep:
    """One build command, run in ``workdir`` (relative to the image root for Docker builds)."""

    command: str
    workdir: str = "."
    skip_reason: str | None = None


@dataclass
class DeployPlan:
    """What a platform does with the repository, derived from its manifest's text.

    ``platform_env`` is what the platform injects itself (PORT, its default
    WEB_CONCURRENCY); ``manifest_env`` what the manifest sets, with ``None`` for a
    value the platform generates or asks for in its dashboard.
    """

    platform: str
    manifest: str
    build: list[BuildStep]
    start_command: str
    start_env: dict[str, str]
    platform_env: dict[str, str]
    manifest_env: dict[str, str | None]
    health_path: str
    health_request_timeout: float
    health_deadline: float
    listen_port: int
    routed_port: int
    python_version: str
    database_url_form: str
    memory_limit_mb: int = MEMORY_LIMIT_MB
    docker: list[DockerInstruction] = field(default_factory=list)
    image_env: dict[str, str] = field(default_factory=dict)
    image_workdir: str = "/"
    health_headers: dict[str, str] = field(default_factory=dict)

    @property
    def workers(self) -> int:
        """The worker count the service will run with: the start command's, the manifest's, the platform's, or 1."""
        merged = {**self.platform_env, **{k: v for k, v in self.manifest_env.items() if v is not None},
                  **self.start_env}
        return int(merged.get("WEB_CONCURRENCY", "1"))


# How each platform hands out a database URL (the local server's details are filled in later).
DATABASE_URL_FORMS = {
    # Render's internal connection string (https://render.com/docs/postgresql-creating-connecting).
    "render": "postgresql://{user}@{host}:{port}/{name}",
    # Railway's ${{Postgres.DATABASE_URL}} reference variable.
    "railway": "postgresql://{user}@{host}:{port}/{name}",
    # `fly postgres attach`: postgres:// and sslmode=disable (private network, no TLS).
    "fly": "postgres://{user}@{host}:{port}/{name}?sslmode=disable",
    # Heroku-style: postgres://, no sslmode in the URL (the server insists on TLS itself;
    # libpq's default, prefer, negotiates it).
    "procfile": "postgres://{user}@{host}:{port}/{name}",
}


def plan_for(platform: str, root: Path = REPO) -> DeployPlan:
    """The DeployPlan for a platform, from the manifest in ``root``."""
    data = load_manifest(platform, root)
    if platform == "render":
        return _render_plan(data)
    if platform == "procfile":
        return _procfile_plan(data, root)
    return _docker_plan(platform, data, root)


def _python_major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _render_plan(data: dict) -> DeployPlan:
    service = next(s for s in data["services"] if s.get("type") == "web")
    manifest_env: dict[str, str | None] = {}
    for var in service.get("envVars", []):
        if "key" in var:
            manifest_env[var["key"]] = var.get("value")
    env, command = _strip_assignments(service["startCommand"])
    return DeployPlan(
        platform="render",
        manifest="render.yaml",
        build=[BuildStep(service["buildCommand"])],
        start_command=command,
        start_env=env,
        # Render's defaults (https://render.com/docs/environment-variables): PORT 10000 and
        # a WEB_CONCURRENCY of its own (modelled here as 2, more than one worker), which
        # the manifest must override.
        platform_env={"PORT": "10000", "WEB_CONCURRENCY": "2", "RENDER": "true"},
        manifest_env=manifest_env,
        health_path=service.get("healthCheckPath", ""),
        health_request_timeout=5.0,  # Render: a 2xx/3xx within 5 s
        health_deadline=15 * 60.0,  # Render gives a deploy 15 minutes to become healthy
        listen_port=10000,
        routed_port=10000,
        python_version=_python_major_minor(manifest_env.get("PYTHON_VERSION") or ""),
        database_url_form=DATABASE_URL_FORMS["render"],
    )


def _procfile_plan(data: dict[str, str], root: Path) -> DeployPlan:
    env, command = _strip_assignments(data["web"])
    python_version = (root / ".python-version").read_text().strip()
    return DeployPlan(
        platform="procfile",
        manifest="Procfile",
        # Heroku-style Python builders install requirements.txt themselves.
        build=[BuildStep("pip install -r requirements.txt")],
        start_command=command,
        start_env=env,
        # Heroku-style routers pick the port; the Python buildpack sets WEB_CONCURRENCY
        # to 2 on its smallest dynos (https://devcenter.heroku.com/changelog-items/2846).
        platform_env={"PORT": "5137", "WEB_CONCURRENCY": "2", "DYNO": "web.1"},
        manifest_env={},
        health_path="/health",  # no health check of its own; the router's boot timeout is 60 s
        health_request_timeout=5.0,
        health_deadline=60.0,
        listen_port=5137,
        routed_port=5137,
        python_version=_python_major_minor(python_version),
        database_url_form=DATABASE_URL_FORMS["procfile"],
    )


def _docker_plan(platform: str, data: dict, root: Path) -> DeployPlan:
    dockerfile = (data.get("build") or {}).get("dockerfile" if platform == "fly" else "dockerfilePath") or "Dockerfile"
    instructions = read_dockerfile(root / dockerfile)
    image_env: dict[str, str] = {}
    build, workdir, python_version, cmd = [], "/", "", ""
    for instruction in instructions:
        if instruction.name == "FROM":
            match = re.search(r"python:(\d+\.\d+)", instruction.args)
            python_version = match.group(1) if match else instruction.args
        elif instruction.name == "ENV":
            image_env.update(_env_pairs(instruction.args))
        elif instruction.name == "WORKDIR":
            workdir = str(PurePosixPath(workdir, instruction.args))  # relative to the previous one
        elif instruction.name == "COPY":
            build.append(BuildStep("COPY " + instruction.args, workdir))
        elif instruction.name == "RUN":
            exec_form = instruction.exec_form()
            command = shlex.join(exec_form) if exec_form else instruction.args
            first = shlex.split(command)[0] if command else ""
            skip = None
            if first in ("useradd", "adduser", "groupadd", "addgroup", "apt-get", "apt", "chown", "chmod"):
                skip = f"{first} changes the image's system files; the rehearsal runs as the current user"
            build.append(BuildStep(command, workdir, skip))
        elif instruction.name == "CMD":
            cmd = shlex.join(instruction.exec_form() or shlex.split(instruction.args))
    if platform == "fly":
        service = data.get("http_service", {})
        checks = service.get("checks", [{}])
        check = checks[0] if checks else {}
        manifest_env = {**image_env, **{k: str(v) for k, v in data.get("env", {}).items()}}
        port = int(manifest_env.get("PORT", "0"))
        return DeployPlan(
            platform="fly", manifest="fly.toml", build=build, start_command=cmd, start_env={},
            platform_env={"FLY_APP_NAME": str(data.get("app", "")),
                          "PRIMARY_REGION": str(data.get("primary_region", ""))},
            manifest_env=manifest_env,
            health_path=check.get("path", ""),
            health_request_timeout=_seconds(check.get("timeout", "2s")),
            health_deadline=_seconds(check.get("grace_period", "1s")) + 5 * 60.0,
            listen_port=port,
            routed_port=int(service.get("internal_port", 8080)),
            python_version=python_version,
            database_url_form=DATABASE_URL_FORMS["fly"],
            memory_limit_mb=_megabytes(data.get("vm", [{}])[0].get("memory", "256mb")),
            docker=instructions,
            image_env=image_env,
            image_workdir=workdir,
            health_headers={k: str(v) for k, v in check.get("headers", {}).items()},
        )
    deploy = data.get("deploy", {})
    env, command = _strip_assignments(deploy.get("startCommand") or cmd)
    return DeployPlan(
        platform="railway", manifest="railway.json", build=build, start_command=command, start_env=env,
        # Railway injects PORT, which overrides the image's; its health check uses it too.
        platform_env={"PORT": "7412", "RAILWAY_ENVIRONMENT": "production"},
        manifest_env=image_env,
        health_path=deploy.get("healthcheckPath", ""),
        health_request_timeout=5.0,
        health_deadline=float(deploy.get("healthcheckTimeout", 300)),
        listen_port=7412,
        routed_port=7412,
        python_version=python_version,
        database_url_form=DATABASE_URL_FORMS["railway"],
        docker=instructions,
        image_env=image_env,
        image_workdir=workdir,
    )


def _seconds(value: str | int) -> float:
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", value.strip())
    if not match:
        raise ManifestError("fly.toml", [f"cannot read the duration {value!r}"])
    number, unit = float(match.group(1)), match.group(2)
    return number / 1000 if unit == "ms" else number * 60 if unit == "m" else number


def _megabytes(value: str | int) -> int:
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"(\d+)\s*(mb|gb)", value.strip().lower())
    if not match:
        raise ManifestError("fly.toml", [f"vm.memory: cannot read {value!r}"])
    return int(match.group(1)) * (1024 if match.group(2) == "gb" else 1)
