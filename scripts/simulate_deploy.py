"""Rehearse a deploy on this machine: ``python scripts/simulate_deploy.py <render|railway|fly|procfile>``.

Does what the platform will do, from the manifest's own text (scripts/deploy_manifests.py
reads it), not from a copy of it:

1. stage the repository as the platform receives it (the files git would push; for a
   Docker build, only what the Dockerfile COPYs and .dockerignore lets through);
2. a fresh virtual environment and the manifest's build command (for a Docker build,
   the Dockerfile's RUN steps in order, under its ENV and WORKDIR);
3. a fresh database on the local PostgreSQL server, its URL in the form that platform
   hands out (postgres:// or postgresql://, sslmode where it adds one);
4. the start command with the platform's environment (PORT and WEB_CONCURRENCY as it
   sets them, the manifest's variables, dashboard secrets filled in);
5. the platform's health check (path, per-request timeout), /ready, one prediction per
   bundled model from its card's examples, then 1,000 predictions while the process
   tree's resident memory is sampled;
6. a graceful stop, and a count of the prediction log's rows in that database.

Prints a short report (build time, time to healthy, peak RSS against the platform's
limit) and exits non-zero on any failure, including a peak above 75 % of the limit.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg2
from deploy_manifests import PLATFORMS, REPO, DeployPlan, ManifestError, SchemasMissingError, plan_for, validate

ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
MEMORY_MARGIN = 0.75  # peak RSS must stay below 75 % of the platform's limit
LOAD_REQUESTS = 1000
LOAD_THREADS = 4


class RehearsalError(Exception):
    """A step of the rehearsal failed; the message says which and why."""


@dataclass
class Report:
    """The figures of one rehearsal."""

    platform: str
    ok: bool = False
    build_seconds: float | None = None
    healthy_seconds: float | None = None
    peak_rss_mb: float | None = None
    limit_mb: int | None = None
    workers: int | None = None
    port: int | None = None
    database_url_form: str | None = None
    predictions_logged: int | None = None
    load_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def lines(self) -> list[str]:
        def fmt(value, unit=""):
            return "-" if value is None else f"{value:.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"

        out = [
            f"platform         {self.platform}",
            f"build            {fmt(self.build_seconds, ' s')}",
            f"time to healthy  {fmt(self.healthy_seconds, ' s')}",
            f"peak RSS         {fmt(self.peak_rss_mb, ' MB')} of {fmt(self.limit_mb, ' MB')} "
            f"(must stay below {fmt(None if self.limit_mb is None else self.limit_mb * MEMORY_MARGIN, ' MB')})",
            f"workers / port   {fmt(self.workers)} / {fmt(self.port)}",
            f"database URL     {fmt(self.database_url_form)}",
            f"{LOAD_REQUESTS} predictions {fmt(self.load_seconds, ' s')}; rows logged {fmt(self.predictions_logged)}",
        ]
        out += [f"note             {note}" for note in self.notes]
        out.append("result           " + ("OK" if self.ok else f"FAILED: {self.error}"))
        return out


# --------------------------------------------------------------------------- staging


def _pushed_files(root: Path) -> list[str]:
    """The files a push would carry: tracked ones plus new ones git does not ignore."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, capture_output=True, check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return _unignored_files(root)  # not a git checkout (an unpacked archive): apply .gitignore ourselves
    return [name for name in out.split("\0") if name and (root / name).is_file()]


def _unignored_files(root: Path) -> list[str]:
    """Every file under ``root`` that .gitignore does not exclude (a name without a slash matches at any depth)."""
    patterns = [".git"]
    gitignore = root / ".gitignore"
    if gitignore.is_file():
        for line in gitignore.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                bare = line.strip("/")
                patterns.append(line if "/" in bare else ("!**/" if line.startswith("!") else "**/") + bare.lstrip("!"))
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    return sorted(name for name in names if not _dockerignored(name, patterns))


def _stage(root: Path, files: list[str], target: Path) -> None:
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, destination)


def _dockerignore_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Go's filepath.Match reads it: ``*`` and ``?`` stop at ``/``, ``**`` does not."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def _dockerignored(name: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins, ``!`` re-includes; a matched directory covers its contents."""
    parts = name.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.lstrip("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


def _docker_context(root: Path, files: list[str]) -> list[str]:
    ignore_file = root / ".dockerignore"
    patterns = []
    if ignore_file.is_file():
        patterns = [line.strip() for line in ignore_file.read_text().splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    return [name for name in files if not _dockerignored(name, patterns)]


def _docker_copy(args: str, context: Path, context_files: list[str], image: Path, workdir: str) -> None:
    """COPY <src>... <dest> from the build context (only files .dockerignore lets through)."""
    words = [w for w in shlex.split(args) if not w.startswith("--")]
    *sources, dest = words
    dest_path = image / (dest if dest.startswith("/") else f"{workdir}/{dest}").lstrip("/")
    for source in sources:
        source = source.strip("./") or "."
        matched = [f for f in context_files if source == "." or f == source or f.startswith(source + "/")]
        if not matched:
            raise RehearsalError(f"Dockerfile COPY {source}: nothing in the build context (.dockerignore?)")
        for name in matched:
            if source == "." or name != source:
                relative = name if source == "." else name[len(source) + 1 :]
                target = dest_path / relative if name != source else dest_path
            else:
                target = dest_path / Path(name).name if dest.endswith("/") or dest in (".", "./") else dest_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(context / name, target)


# --------------------------------------------------------------------------- build


def _python_for(version: str) -> str:
    found = shutil.which(f"python{version}")
    if not found:
        raise RehearsalError(f"python{version} (the manifest's Python) is not installed here")
    return found


def _base_env(venv: Path) -> dict[str, str]:
    """What any build or run starts from: the venv first on PATH, and this machine's pip settings."""
    env = {key: value for key, value in os.environ.items() if key.startswith("PIP_")}
    env.update({
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "VIRTUAL_ENV": str(venv),
    })
    return env


def _run_build(plan: DeployPlan, root: Path, work: Path, report: Report) -> tuple[Path, dict[str, str], Path]:
    """Build as the platform does; returns the directory to start in, the build's env and the venv."""
    files = _pushed_files(root)
    venv = work / "venv"
    started = time.monotonic()
    subprocess.run([_python_for(plan.python_version), "-m", "venv", str(venv)], check=True)
    env = _base_env(venv)
    if plan.docker:
        image = work / "image"
        context = work / "context"
        context_files = _docker_context(root, files)
        _stage(root, context_files, context)
        env.update(plan.image_env)  # the Dockerfile's ENV holds during its RUN steps
        cwd = image
        for step in plan.build:
            cwd = image / step.workdir.lstrip("/")
            cwd.mkdir(parents=True, exist_ok=True)
            if step.command.startswith("COPY "):
                _docker_copy(step.command[5:], context, context_files, image, step.workdir)
                continue
            if step.skip_reason:
                report.notes.append(f"skipped RUN {step.command}: {step.skip_reason}")
                continue
            _shell(step.command, cwd, env, "build")
        run_dir = image / plan.image_workdir.lstrip("/")
    else:
        run_dir = work / "src"
        _stage(root, files, run_dir)
        # Render makes the service's variables available to the build too.
        env.update({k: v for k, v in plan.manifest_env.items() if v is not None})
        for step in plan.build:
            _shell(step.command, run_dir, env, "build")
    report.build_seconds = time.monotonic() - started
    return run_dir, env, venv


def _shell(command: str, cwd: Path, env: dict[str, str], stage: str) -> None:
    result = subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RehearsalError(f"{stage} command failed ({result.returncode}): {command}\n{tail}")


# --------------------------------------------------------------------------- database


class _FreshDatabase:
    """A new database on the shared local server, dropped afterwards."""

    def __init__(self) -> None:
        self.name = f"freeport_deploy_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> _FreshDatabase:
        self._admin("CREATE DATABASE")
        return self

    def __exit__(self, *exc) -> None:
        self._admin("DROP DATABASE IF EXISTS", " WITH (FORCE)")

    def _admin(self, verb: str, suffix: str = "") -> None:
        try:
            connection = psycopg2.connect(ADMIN_DSN, connect_timeout=5)
        except psycopg2.OperationalError as exc:
            raise RehearsalError(f"the local PostgreSQL ({ADMIN_DSN}) is not reachable: {exc}; "
                                 "scripts/services.sh starts it") from exc
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'{verb} "{self.name}"{suffix}')
        finally:
            connection.close()

    def url(self, form: str) -> str:
        params = psycopg2.extensions.parse_dsn(ADMIN_DSN)
        return form.format(user=params.get("user", "postgres"), host=params.get("host", "127.0.0.1"),
                           port=params.get("port", "5432"), name=self.name)

    def count_predictions(self) -> int:
        params = psycopg2.extensions.parse_dsn(ADMIN_DSN)
        params["dbname"] = self.name
        connection = psycopg2.connect(**params, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                cursor.execute("select count(*) from predictions")
                return cursor.fetchone()[0]
        finally:
            connection.close()


# --------------------------------------------------------------------------- run


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _MemorySampler(threading.Thread):
    """Peak resident memory of a process and all its descendants, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total = 0
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak = max(self.peak, total)
            self._halt.wait(0.02)

    def stop(self) -> int:
        self._halt.set()
        self.join(timeout=2)
        return self.peak


def _start_argv(plan: DeployPlan) -> list[str]:
    """The start command as the platform runs it: a shell for command strings, exec form for a Docker CMD."""
    if plan.platform == "fly":
        return shlex.split(plan.start_command)
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in plan.start_env.items())
    return ["sh", "-c", f"{assignments} {plan.start_command}".strip()]


def _runtime_env(plan: DeployPlan, build_env: dict[str, str], database_url: str, api_key: str,
                 port: int) -> dict[str, str]:
    env = dict(build_env)
    env.update(plan.platform_env)
    for key, value in plan.manifest_env.items():
        if value is not None:
            env[key] = value
        elif key == "API_KEYS":
            env[key] = api_key  # asked for in the dashboard: the student types a key
        else:
            env[key] = secrets.token_urlsafe(32)  # generated by the platform
    env["DATABASE_URL"] = database_url
    # The rehearsal's 1,000 predictions come from one client in seconds: it raises the rate
    # limits as an operator running a load test would, so it measures memory, not the limiter.
    env["RATE_LIMIT_PREDICT"] = env["RATE_LIMIT_BATCH"] = "1000000/minute"
    if "PORT" in env:
        env["PORT"] = str(port)
    return env


def _poll(process: subprocess.Popen, seconds: float, what: str, ask: Callable[[], httpx.Response]) -> float:
    """Ask until the answer is 2xx/3xx; the seconds that took. Fails if the service exits or time runs out."""
    started = time.monotonic()
    last = "no answer"
    while time.monotonic() < started + seconds:
        if process.poll() is not None:
            raise RehearsalError(f"the service exited ({process.returncode}) before {what} passed")
        try:
            response = ask()
            if 200 <= response.status_code < 400:
                return time.monotonic() - started
            last = f"HTTP {response.status_code}: {response.text[:400]}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.25)
    raise RehearsalError(f"{what} never passed within {seconds:.0f} s ({last})")


def _wait_healthy(plan: DeployPlan, base: str, process: subprocess.Popen, headers: dict[str, str]) -> float:
    return _poll(process, min(plan.health_deadline, 300.0), f"its health check ({plan.health_path})",
                 lambda: httpx.get(base + plan.health_path, timeout=plan.health_request_timeout, headers=headers))


# Just after /health passes the models may still be loading, and /ready rightly says
# "pending": that is not a failure, staying so is.
READY_DEADLINE_SECONDS = 60.0


def _cards(run_dir: Path) -> list[dict]:
    cards = [json.loads(p.read_text()) for p in sorted((run_dir / "models").glob("*/card.json"))]
    if not cards:
        raise RehearsalError(f"no model bundles in {run_dir / 'models'} (did the build copy models/?)")
    return cards


def _predict(client: httpx.Client, name: str, row: dict) -> None:
    response = client.post(f"/models/{name}/predict", json=row)
    if response.status_code != 200 or "prediction" not in response.json():
        raise RehearsalError(f"POST /models/{name}/predict answered {response.status_code}: {response.text[:300]}")


def _healthcheck_instruction(plan: DeployPlan) -> list[str] | None:
    for instruction in plan.docker:
        if instruction.name == "HEALTHCHECK":
            _, _, command = instruction.args.partition("CMD")
            exec_form = json.loads(command.strip()) if command.strip().startswith("[") else None
            return exec_form or ["sh", "-c", command.strip()]
    return None


def _check_manifest(platform: str, root: Path, report: Report, *, schemas: bool = True) -> None:
    """Refuse a manifest that fails validation, before spending a build on it.

    Without the published schema the check is incomplete, so the rehearsal fails unless
    asked to go on without it (``--without-schemas``), which the report then says.
    """
    if not schemas:
        report.notes.append("not checked against the published schema (--without-schemas)")
    try:
        problems = validate(platform, root, use_schemas=schemas)
    except SchemasMissingError as exc:
        raise RehearsalError(f"{exc}; or rehearse with --without-schemas") from None
    if problems:
        raise RehearsalError("the manifest is invalid:\n  " + "\n  ".join(problems))


def _check_plan(plan: DeployPlan) -> None:
    """Refuse what would run but not as a free instance needs: more than one worker, no health
    check, a service listening on a port the platform does not route to."""
    problems = []
    if plan.workers != 1:
        problems.append(
            f"it would start {plan.workers} workers (WEB_CONCURRENCY), each holding every model: "
            f"set WEB_CONCURRENCY=1 in {plan.manifest}"
        )
    if not plan.health_path:
        problems.append(f"it has no health check: set one to /health in {plan.manifest}")
    if plan.listen_port != plan.routed_port:
        problems.append(
            f"the service would listen on port {plan.listen_port} but the platform routes to "
            f"{plan.routed_port}: make PORT and the routed port agree in {plan.manifest}"
        )
    if problems:
        raise RehearsalError("the manifest would not run as a free instance needs:\n  " + "\n  ".join(problems))


def rehearse(platform: str, root: Path = REPO, keep: bool = False, *, schemas: bool = True) -> Report:
    """Run the whole rehearsal for one platform from the checkout at ``root``; the report says what happened."""
    report = Report(platform)
    work = Path(tempfile.mkdtemp(prefix=f"freeport-deploy-{platform}-"))
    process = None
    log_path = work / "service.log"
    try:
        _check_manifest(platform, root, report, schemas=schemas)
        plan = plan_for(platform, root)
        report.limit_mb = plan.memory_limit_mb
        report.workers = plan.workers
        _check_plan(plan)
        run_dir, build_env, _ = _run_build(plan, root, work, report)
        port = plan.listen_port
        if not _port_is_free(port):
            report.notes.append(f"port {port} is taken on this machine; the platform's port is replaced by a free one")
            port = _free_port()
        routed = port if plan.routed_port == plan.listen_port else plan.routed_port
        report.port = port
        api_key = secrets.token_urlsafe(16)
        headers = plan.health_headers  # Fly's check says it came through HTTPS, or force_https redirects it
        with _FreshDatabase() as database:
            database_url = database.url(plan.database_url_form)
            report.database_url_form = plan.database_url_form.split("{")[0] + "…" + (
                "?" + plan.database_url_form.split("?")[1] if "?" in plan.database_url_form else "")
            env = _runtime_env(plan, build_env, database_url, api_key, port)
            started = time.monotonic()
            # The service's output goes to a file: a pipe nobody reads would fill and stall it.
            with log_path.open("w") as log:
                process = subprocess.Popen(_start_argv(plan), cwd=run_dir, env=env, start_new_session=True,
                                           stdout=log, stderr=subprocess.STDOUT)
            sampler = _MemorySampler(process.pid)
            sampler.start()
            base = f"http://127.0.0.1:{routed}"
            _wait_healthy(plan, base, process, headers)
            report.healthy_seconds = time.monotonic() - started
            healthcheck = _healthcheck_instruction(plan)
            if healthcheck:
                result = subprocess.run(healthcheck, cwd=run_dir, env=env, capture_output=True, text=True, timeout=30)
                if result.returncode != 0:
                    raise RehearsalError(f"the Dockerfile's HEALTHCHECK failed: {result.stderr.strip()[-300:]}")
            with httpx.Client(base_url=base, timeout=30, headers={"X-API-Key": api_key, **headers}) as client:
                _poll(process, READY_DEADLINE_SECONDS, "/ready", lambda: client.get("/ready"))
                cards = _cards(run_dir)
                for card in cards:
                    _predict(client, card["name"], card["examples"][0])
                rows = itertools.cycle([(c["name"], row) for c in cards for row in c["examples"]])
                load = [next(rows) for _ in range(LOAD_REQUESTS)]
                load_started = time.monotonic()
                with ThreadPoolExecutor(LOAD_THREADS) as pool:
                    list(pool.map(lambda item: _predict(client, *item), load))
                report.load_seconds = time.monotonic() - load_started
            peak = sampler.stop()
            report.peak_rss_mb = peak / 2**20
            # The platform's shell may not exec the service: wait for the whole tree, since the
            # service flushes its prediction log after the shell has gone.
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
            os.killpg(process.pid, signal.SIGTERM)
            _, still_running = psutil.wait_procs(tree, timeout=40)
            if still_running:
                raise RehearsalError("the service did not stop within 40 s of SIGTERM")
            process.wait(timeout=5)
            output = log_path.read_text()
            if "Traceback" in output:
                raise RehearsalError("the service logged a traceback:\n" + output[-2000:])
            report.predictions_logged = database.count_predictions()
            expected = len(cards) + LOAD_REQUESTS
            if report.predictions_logged < expected:
                raise RehearsalError(f"the prediction log holds {report.predictions_logged} rows, expected {expected}")
        limit = plan.memory_limit_mb * MEMORY_MARGIN
        if report.peak_rss_mb >= limit:
            raise RehearsalError(f"peak RSS {report.peak_rss_mb:.0f} MB is above {limit:.0f} MB "
                                 f"(75 % of the {plan.memory_limit_mb} MB limit)")
        report.ok = True
    except (RehearsalError, ManifestError, subprocess.CalledProcessError, OSError, httpx.HTTPError) as exc:
        report.error = f"{type(exc).__name__}: {exc}" if isinstance(exc, httpx.HTTPError) else str(exc)
        if process is not None:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            tail = log_path.read_text(errors="replace").splitlines()[-20:]
            report.error += "\n--- service output (tail) ---\n" + "\n".join(tail)
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            report.notes.append(f"kept {work}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    parser.add_argument("--keep", action="store_true", help="keep the staged build for inspection")
    parser.add_argument("--root", type=Path, default=REPO, help="the checkout to deploy (default: this one)")
    parser.add_argument("--without-schemas", action="store_true",
                        help="go on when the platform's published schema cannot be had (the report says so)")
    args = parser.parse_args(argv)
    report = rehearse(args.platform, root=args.root.resolve(), keep=args.keep, schemas=not args.without_schemas)
    print("\n".join(report.lines()))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
