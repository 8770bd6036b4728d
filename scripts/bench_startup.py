#!/usr/bin/env python3
"""Measure the API's start-up: from process start to the first successful prediction.

On Render's free tier an instance runs on 0.1 CPU, so one CPU-second of start-up
is about ten seconds of a visitor's wait: CPU seconds are the figure that matters
there, wall-clock times are what this (faster) machine shows.

For each scenario (each bundle in MODELS_DIR served alone, then all of them
together) it starts ``python -m api`` exactly as the platforms do, with a fresh
SQLite database, and records, as medians over ``--runs``:

- /health s         time to the first 200 from the liveness probe (the server listens)
- CPU@health s      user + sys CPU seconds the server used until then
- predict s         time to the first 200 from POST /models/<name>/predict with the card's example
- CPU s             user + sys CPU seconds the server used up to that prediction
- /ready s          time to the first 200 from readiness (models loaded, database reachable),
                    asked only after the prediction, as a visitor would not ask it first
- load s            what /models reports as each model's load time (summed)
- RSS MB            the server's resident memory once it has answered all of the above

Separately, "import time": a fresh interpreter importing what ``python -m api``
imports before it can listen (the entrypoint, the app factory, uvicorn).

``--importtime`` runs one start-up of all bundles under ``python -X importtime``
and prints the top-level imports that cost the most, lazy ones included.

    .venv/bin/python scripts/bench_startup.py --runs 5
    .venv/bin/python scripts/bench_startup.py --runs 1 --importtime
    .venv/bin/python scripts/bench_startup.py --repo /tmp/main-checkout   # another checkout's api/, same venv
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.005
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    health: float
    cpu_health: float
    ready: float
    predict: float
    cpu: float
    load: float
    rss_mb: float
    engines: str  # what serves each model, from /models (e.g. "onnx" or "sklearn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """user + sys CPU seconds of a live process (Linux /proc; fields 14 and 15 of stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of a live process, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def request(url: str, body: dict | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b""


def wait_for(process: subprocess.Popen, started: float, deadline: float, url: str, body: dict | None = None) -> float:
    """Seconds from ``started`` until ``url`` answers 200; raises if the server dies or the deadline passes."""
    while True:
        status, _ = request(url, body)
        if status == 200:
            return time.perf_counter() - started
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before {url} answered")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{url} did not answer 200 in time")
        time.sleep(POLL_SECONDS)


def scenario_dirs(models_dir: Path, scratch: Path) -> dict[str, Path]:
    """One MODELS_DIR per bundle (a folder holding a link to just that bundle), plus 'all'."""
    bundles = sorted(p for p in models_dir.iterdir() if (p / "card.json").is_file())
    scenarios = {}
    for bundle in bundles:
        alone = scratch / f"only-{bundle.name}"
        alone.mkdir()
        (alone / bundle.name).symlink_to(bundle.resolve(), target_is_directory=True)
        scenarios[bundle.name] = alone
    if len(bundles) > 1:
        scenarios["all together"] = models_dir.resolve()
    return scenarios


def start_once(
    models_dir: Path, scratch: Path, python: list[str], timeout: float, repo: Path, database_url: str | None = None
) -> tuple[Run, str]:
    """Start the server once, measure, stop it; returns the figures and its stderr.

    Without ``database_url`` each start gets an empty SQLite file (a first deploy: migrations and
    seeding included); with one, every start after the first is a restart on a database already set up.
    """
    cards = [json.loads((p / "card.json").read_text()) for p in sorted(models_dir.iterdir()) if p.is_dir()]
    first = next(card for card in cards if card.get("examples"))
    port = free_port()
    database = scratch / f"bench-{port}.db"
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "MODELS_DIR": str(models_dir),
        "DATABASE_URL": database_url or f"sqlite:///{database}",
        "LOG_LEVEL": "warning",
        "WEB_CONCURRENCY": "1",
    }
    base = f"http://127.0.0.1:{port}"
    stderr_path = scratch / f"stderr-{port}.txt"
    with stderr_path.open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*python, "-m", "api"], cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            deadline = started + timeout
            health = wait_for(process, started, deadline, f"{base}/health")
            cpu_health = cpu_seconds(process.pid)
            # A visitor's first request is a prediction, not /ready (whose database ping would
            # make the server connect sooner than a visitor makes it): predict first.
            predict = wait_for(
                process, started, deadline, f"{base}/models/{first['name']}/predict", first["examples"][0]
            )
            cpu = cpu_seconds(process.pid)
            ready = wait_for(process, started, deadline, f"{base}/ready")
            _, listing = request(f"{base}/models")
            models = json.loads(listing)
            load = sum(model.get("load_seconds") or 0.0 for model in models)
            engines = ",".join(sorted({model.get("engine") or "none" for model in models}))
            memory = rss_mb(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    database.unlink(missing_ok=True)
    return Run(health, cpu_health, ready, predict, cpu, load, memory, engines), stderr_path.read_text()


def import_seconds(python: list[str], repo: Path) -> tuple[float, float]:
    """A fresh interpreter importing what the entrypoint needs before it listens: (wall s, CPU s)."""
    code = (
        "import time; t, c = time.perf_counter(), time.process_time(); "
        "import api.__main__, api.app, uvicorn; "
        "print(time.perf_counter() - t, time.process_time() - c)"
    )
    out = subprocess.run([*python, "-c", code], cwd=repo, check=True, capture_output=True, text=True)
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def top_imports(stderr: str, count: int) -> list[tuple[float, str]]:
    """The top-level imports (not nested under another) with the largest cumulative time."""
    costs = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part for part in line[len("import time:") :].split("|"))
        if name.startswith("  "):  # nested: its cost is inside its importer's cumulative figure
            continue
        costs.append((int(cumulative) / 1e6, name.strip()))
    return sorted(costs, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="start-ups per scenario; medians are printed")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose api/ to start (default: this one)")
    parser.add_argument("--models-dir", type=Path, help="bundles to serve (default: the checkout's models/)")
    parser.add_argument(
        "--database-url",
        help="one database for every start, so all but the first are restarts (default: an empty SQLite per start)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a start-up may take")
    parser.add_argument("--only", help="run only the scenario with this name (a bundle, or 'all together')")
    parser.add_argument("--importtime", action="store_true", help="also list the largest imports (-X importtime)")
    parser.add_argument("--top", type=int, default=12, help="how many imports --importtime lists")
    args = parser.parse_args()
    python = [sys.executable]
    repo = args.repo.resolve()
    models_dir = (args.models_dir or repo / "models").resolve()

    imports = [import_seconds(python, repo) for _ in range(args.runs)]
    print(f"{repo} · python {sys.version.split()[0]} · {args.runs} run(s) per scenario · medians")
    print(
        f"import time (entrypoint + app factory + uvicorn): {statistics.median(w for w, _ in imports):.3f} s,"
        f" CPU {statistics.median(c for _, c in imports):.3f} s\n"
    )
    header = (
        f"{'scenario':<16} {'/health s':>10} {'CPU@health s':>13} {'predict s':>10} {'CPU s':>8}"
        f" {'/ready s':>10} {'load s':>8} {'RSS MB':>7}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        scratch = Path(tmp)
        scenarios = scenario_dirs(models_dir, scratch)
        if args.only:
            scenarios = {args.only: scenarios[args.only]}
        for name, bundles in scenarios.items():
            runs = [
                start_once(bundles, scratch, python, args.timeout, repo, args.database_url)[0]
                for _ in range(args.runs)
            ]

            def med(attr: str, runs: list[Run] = runs) -> float:
                return statistics.median(getattr(run, attr) for run in runs)

            print(
                f"{name:<16} {med('health'):>10.3f} {med('cpu_health'):>13.2f} {med('predict'):>10.3f}"
                f" {med('cpu'):>8.2f} {med('ready'):>10.3f} {med('load'):>8.3f} {med('rss_mb'):>7.0f}"
            )
        if args.importtime:
            _, stderr = start_once(models_dir, scratch, [*python, "-X", "importtime"], args.timeout, repo)
            print("\nlargest top-level imports of one start-up with every bundle (cumulative s, -X importtime):")
            for seconds, module in top_imports(stderr, args.top):
                print(f"  {seconds:7.3f}  {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
