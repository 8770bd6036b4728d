"""Benchmark freeport against the usual way of serving a model, on this machine.

    python scripts/bench.py            # full: 3 runs, 10 s per load level (~5 minutes)
    python scripts/bench.py --quick    # 3 runs, 3 s per load level (~3 minutes)

Each server runs as one worker pinned to core 0 (taskset); the load generator
(wrk, `apt-get install -y wrk`) and this script run on core 1. Every load level
is measured after WARMUP_SECONDS of the same load, so it shows the steady state;
the first moments after start-up are the cold-start rows' subject. Both servers serve
the flight-delay bundle: freeport as shipped (`python -m api`, ONNX engine), and
bench/baseline_server.py, the tutorial way (sync endpoint, a pandas frame per
request, the joblib pipeline). Prints medians over the runs, the ratios
freeport / baseline, and a scaling table for freeport with 1, 3 and 10 bundles.
Needs Linux (taskset, /proc) and two cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
SERVER_CORE, CLIENT_CORE = "0", "1"
CONNECTIONS = (1, 8, 64)
BATCH_SIZES = (1, 10, 100, 1000, 10_000)
# Unmeasured load before each measured level, the same for both servers. Right after start-up
# freeport's log writer imports SQLAlchemy and opens the database (kept off the cold start on
# purpose), which without this lands in the 1-connection p99.
WARMUP_SECONDS = 2


@dataclass
class Server:
    """A server process under test, started pinned and stopped after."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    predict_path: str
    batch_path: str
    process: subprocess.Popen | None = None
    served: int = 0
    results: dict = field(default_factory=dict)

    def start(self, row: dict) -> None:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *self.argv], cwd=REPO, env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        body = json.dumps(row).encode()
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode} while starting")
            if time.perf_counter() - started > 120:
                raise SystemExit(f"{self.name} did not answer a prediction within 120 s")
            try:
                status, _ = post(self.port, self.predict_path, body)
            except OSError:
                status = None
            if status == 200:
                break
            time.sleep(0.005)
        self.results["cold_start_s"] = time.perf_counter() - started
        cpu = psutil.Process(self.process.pid).cpu_times()
        self.results["startup_cpu_s"] = cpu.user + cpu.system
        self.served = 1

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def post(port: int, path: str, body: bytes, connection: http.client.HTTPConnection | None = None):
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        if own:
            connection.close()


def _duration_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def run_wrk(port: int, path: str, row: dict, connections: int, seconds: float) -> dict:
    """Single-row POSTs from wrk on the client core: req/s, p50/p99 (ms), errors, requests."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(row))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    try:
        out = subprocess.run(
            ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
             "--timeout", "5s", "-s", script.name, f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    percentile = {p: _duration_ms(v) for p, v in re.findall(r"\b(50|99)(?:\.000)?%\s+([\d.]+(?:us|ms|s|m))", out)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors += sum(int(n) for n in socket.groups()) if socket else 0
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": percentile["50"],
        "p99_ms": percentile["99"],
        "errors": errors,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
    }


def steady_load(server: Server, row: dict, connections: int, seconds: float) -> dict:
    """run_wrk after WARMUP_SECONDS of the same load; counts every request in ``server.served``."""
    server.served += run_wrk(server.port, server.predict_path, row, connections, WARMUP_SECONDS)["requests"]
    load = run_wrk(server.port, server.predict_path, row, connections, seconds)
    server.served += load["requests"]
    return load


def batch_latency_ms(server: Server, rows: list[dict], repeat: int) -> float:
    """Median latency of a batch request over one kept-alive connection."""
    body = json.dumps({"rows": rows}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    timings = []
    try:
        for _ in range(repeat + 1):  # the first warms up
            started = time.perf_counter()
            status, payload = post(server.port, server.batch_path, body, connection)
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{server.name} answered a {len(rows)}-row batch with {status}: {payload[:300]}")
    finally:
        connection.close()
    server.served += repeat + 1
    return statistics.median(timings[1:])


def example_rows(name: str, count: int) -> list[dict]:
    examples = json.loads((MODELS / name / "card.json").read_text())["examples"]
    return [examples[i % len(examples)] for i in range(count)]


def freeport(port: int, models_dir: Path, workdir: Path) -> Server:
    # A fresh log database per server: runs that inherit the last one's rows insert into bigger indexes.
    database = Path(tempfile.mkdtemp(prefix=f"bench-{port}-", dir=workdir)) / "predictions.db"
    env = {"PORT": str(port), "HOST": "127.0.0.1", "MODELS_DIR": str(models_dir), "LOG_LEVEL": "warning",
           "DATABASE_URL": f"sqlite:///{database}", "MAX_BATCH_ROWS": "10000",
           # One load generator is one client: lift the per-client limits, or the bench measures 429s.
           "RATE_LIMIT_PREDICT": "100000000/minute", "RATE_LIMIT_BATCH": "100000000/minute",
           "MAX_BODY_BYTES": str(16 * 2**20)}  # room for the 10,000-row batches of the scaling table
    return Server("freeport", [sys.executable, "-m", "api"], env, port,
                  "/models/flight-delay/predict", "/models/flight-delay/predict/batch")


def baseline(port: int) -> Server:
    argv = [sys.executable, "-m", "uvicorn", "bench.baseline_server:app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning"]
    return Server("baseline", argv, {}, port, "/predict", "/predict/batch")


def measure(server: Server, row: dict, seconds: float, batch_repeat: int) -> dict:
    server.start(row)
    try:
        return _measure(server, row, seconds, batch_repeat)
    finally:
        server.stop()


def prediction_log(port: int) -> dict:
    """freeport's prediction-log counters (queued, written, dropped), from /ready."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/ready")
        return json.loads(connection.getresponse().read())["database"]
    finally:
        connection.close()


def _measure(server: Server, row: dict, seconds: float, batch_repeat: int) -> dict:
    results = server.results
    results["idle_rss_mb"] = server.rss_mb()
    for connections in CONNECTIONS:
        load = steady_load(server, row, connections, seconds)
        for key in ("rps", "p50_ms", "p99_ms", "errors"):
            results[f"c{connections}_{key}"] = load[key]
    logged = server.name == "freeport"
    if logged:  # the log writer gives way to requests: does it still keep up under full load?
        results["log_backlog_rows"] = prediction_log(server.port)["queued"]
    results["batch1000_p50_ms"] = batch_latency_ms(server, example_rows("flight-delay", 1000), batch_repeat)
    results["peak_rss_mb"] = server.peak_rss_mb()
    results["rss_after_mb"] = server.rss_mb()
    results["requests_served"] = server.served
    if logged:
        started = time.perf_counter()
        while (log := prediction_log(server.port))["queued"] and time.perf_counter() - started < 60:
            time.sleep(0.1)
        results["log_drain_s"] = time.perf_counter() - started
        results["log_dropped_rows"] = log["dropped"]
        results["log_unwritten_rows"] = log["queued"]
    return results


def in_process_floor() -> dict:
    """The model call alone, no HTTP: scikit-learn on a DataFrame and onnxruntime on arrays."""
    sys.path.insert(0, str(REPO))
    from api.bundle import load_engine
    from api.card import read_card

    card = read_card(MODELS / "flight-delay")
    floors = {}
    for engine in ("sklearn", "onnx"):
        loaded, _ = load_engine(MODELS / "flight-delay", card, engine=engine, allow_version_mismatch=True)
        for size, repeat in ((1, 300), (1000, 20)):
            rows = example_rows("flight-delay", size)
            loaded.run(rows)
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                loaded.run(rows)
                timings.append((time.perf_counter() - started) * 1000)
            floors[f"{engine}_{size}_ms"] = statistics.median(timings)
    return floors


def bundles_dir(count: int, root: Path) -> Path:
    """``count`` bundles: flight-delay first, then the other examples, then renamed flight-delay copies."""
    target = root / f"models-{count}"
    names = ["flight-delay", "fuel-economy", "penguins"][:count]
    for name in names:
        shutil.copytree(MODELS / name, target / name)
    for copy in range(count - len(names)):
        name = f"flight-delay-{copy + 2}"
        shutil.copytree(MODELS / "flight-delay", target / name)
        card = json.loads((target / name / "card.json").read_text())
        card["name"] = name
        (target / name / "card.json").write_text(json.dumps(card))
    return target


def scaling(root: Path, row: dict, seconds: float, port: int) -> list[dict]:
    table = []
    for count in (1, 3, 10):
        server = freeport(port, bundles_dir(count, root), root)
        server.start(row)
        try:
            table.append(_scale(server, count, row, seconds))
        finally:
            server.stop()
    return table


def _scale(server: Server, count: int, row: dict, seconds: float) -> dict:
    """One row of the scaling table, for a server already started with ``count`` bundles."""
    entry = {"bundles": count, "idle_rss_mb": server.rss_mb()}
    load = steady_load(server, row, 1, seconds)
    entry.update(rps_1conn=load["rps"], p50_ms=load["p50_ms"], p99_ms=load["p99_ms"])
    # Past 10,000 single-row requests, as the target says, at 8 connections.
    while server.served < 10_000:
        server.served += run_wrk(server.port, server.predict_path, row, 8, 2)["requests"]
    entry["requests_served"] = server.served
    entry["rss_after_mb"] = server.rss_mb()
    # Then the batches; 10,000 rows (10x the default MAX_BATCH_ROWS) set the peak.
    for size in BATCH_SIZES:
        entry[f"batch{size}_ms"] = batch_latency_ms(server, example_rows("flight-delay", size),
                                                    3 if size >= 10_000 else 10)
    entry["peak_rss_mb"] = server.peak_rss_mb()
    return entry


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


ROWS = [
    ("cold start: exec to first prediction (s)", "cold_start_s", "{:.2f}"),
    ("CPU seconds of start-up", "startup_cpu_s", "{:.2f}"),
    ("idle RSS (MB)", "idle_rss_mb", "{:.0f}"),
    ("peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
    *[(f"1 row, {c} conn: req/s", f"c{c}_rps", "{:,.0f}") for c in CONNECTIONS],
    *[(f"1 row, {c} conn: p50 / p99 (ms)", f"c{c}_p50_ms", None) for c in CONNECTIONS],
    *[(f"1 row, {c} conn: errors", f"c{c}_errors", "{:.0f}") for c in CONNECTIONS],
    ("1,000-row batch p50 (ms)", "batch1000_p50_ms", "{:.1f}"),
    ("RSS after the run (MB)", "rss_after_mb", "{:.0f}"),
]


def print_log_check(ours: dict) -> None:
    print(f"\nfreeport's prediction log: {ours['log_backlog_rows']:,.0f} rows waiting right after the "
          f"64-connection load, all written {ours['log_drain_s']:.1f} s after the last request; "
          f"{ours['log_dropped_rows']:,.0f} dropped, {ours['log_unwritten_rows']:,.0f} unwritten (medians)")


def print_comparison(ours: dict, theirs: dict) -> None:
    print("| measure | freeport | baseline | freeport / baseline |")
    print("|---|---:|---:|---:|")
    for label, key, fmt in ROWS:
        if fmt is None:  # latency pairs
            p99 = key.replace("p50", "p99")
            cells = [f"{r[key]:.2f} / {r[p99]:.2f}" for r in (ours, theirs)]
            ratio = f"{ours[key] / theirs[key]:.2f}x" if theirs[key] else "-"
        else:
            cells = [fmt.format(r[key]) for r in (ours, theirs)]
            ratio = f"{ours[key] / theirs[key]:.2f}x" if theirs[key] else "-"
        print(f"| {label} | {cells[0]} | {cells[1]} | {ratio} |")


def print_scaling(table: list[dict]) -> None:
    print("| bundles | idle RSS (MB) | RSS after N single rows (MB) | N | peak RSS (MB) | 1 row, 1 conn req/s | "
          "p50 / p99 (ms) | " + " | ".join(f"batch {s:,} (ms)" for s in BATCH_SIZES) + " |")
    print("|---:" * (7 + len(BATCH_SIZES)) + "|")
    for e in table:
        batches = " | ".join(f"{e[f'batch{s}_ms']:.1f}" for s in BATCH_SIZES)
        print(f"| {e['bundles']} | {e['idle_rss_mb']:.0f} | {e['rss_after_mb']:.0f} | {e['requests_served']:,} | "
              f"{e['peak_rss_mb']:.0f} | {e['rps_1conn']:,.0f} | {e['p50_ms']:.2f} / {e['p99_ms']:.2f} | {batches} |")


def describe_machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return (f"{cpu}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per load level instead of 10")
    # Three, so that the median is a run's own figure and one run in a slow spell of the host cannot move it.
    parser.add_argument("--runs", type=int, default=3, help="runs per server; the table shows medians")
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise SystemExit("needs wrk and taskset: apt-get install -y wrk util-linux")
    os.sched_setaffinity(0, {int(CLIENT_CORE)})
    seconds = 3 if args.quick else 10
    row = example_rows("flight-delay", 1)[0]
    print(f"machine: {describe_machine()}")
    print(f"mode: {'quick' if args.quick else 'full'}, {args.runs} runs, {seconds} s per load level\n")
    with tempfile.TemporaryDirectory(prefix="freeport-bench-") as tmp:
        root = Path(tmp)
        one = bundles_dir(1, root / "compare")
        ours, theirs = [], []
        for run in range(args.runs):
            ours.append(measure(freeport(args.port, one, root), row, seconds, 30))
            theirs.append(measure(baseline(args.port + 1), row, seconds, 30))
            print(f"run {run + 1}: freeport {ours[-1]['c1_rps']:,.0f} / {ours[-1]['c64_rps']:,.0f} req/s, "
                  f"baseline {theirs[-1]['c1_rps']:,.0f} / {theirs[-1]['c64_rps']:,.0f} req/s (1 / 64 conn)",
                  flush=True)
        print(f"\n## freeport vs the baseline (flight-delay, medians of {args.runs} runs)\n")
        print_comparison(median_of(ours), median_of(theirs))
        print_log_check(median_of(ours))
        floor = in_process_floor()
        print("\n## in-process floor (the model call alone, ms)\n")
        print("| engine | 1 row | 1,000 rows |\n|---|---:|---:|")
        for engine in ("sklearn", "onnx"):
            print(f"| {engine} | {floor[f'{engine}_1_ms']:.3f} | {floor[f'{engine}_1000_ms']:.2f} |")
        print("\n## freeport scaling: bundles loaded, batch sizes\n")
        print_scaling(scaling(root / "scaling", row, seconds, args.port + 2))


if __name__ == "__main__":
    main()
