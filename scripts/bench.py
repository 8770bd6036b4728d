"""Benchmark freeport against the naive way of serving the same model, for each kind of model.

    .venv/bin/python scripts/bench.py            # 3 interleaved rounds, 6 s per load (~15 minutes)
    .venv/bin/python scripts/bench.py --quick    # 1 round, 2 s per load (~4 minutes)
    .venv/bin/python scripts/bench.py --kinds flight-delay,own-function --rounds 2

What it sends is what users send: distinct rows the model never saw (bench/rows.py),
in turn, for single requests and for 1,000-row batches. What it serves is what
students bring: the flight-delay example and, from the "any model" zoo
(tests/zoo.py), a bare HistGradientBoosting, a forest, a linear pipeline over
text columns, and a pipeline with the student's own function (served on
scikit-learn: it has no ONNX). For each kind, freeport (`python -m api`, the
prediction log on, in a fresh SQLite file) and the naive server
(bench/baseline_server.py: sync endpoint, a DataFrame per request, the joblib
pipeline) serve the same bundle, one after the other, in every round; the HTTP
floor (bench/hello_server.py) runs in every round too, and freeport once more on
the first kind with its log in PostgreSQL (a throwaway cluster on the client's
core, as a database on another machine would be). Last, freeport with the three
examples answers 10,000 requests across them, for its memory.

Each server is one process pinned to core 0; wrk loads it from core 1, one
second of unmeasured warm-up before each measured load. Figures are medians
over the rounds, with their range where it matters; a load during which other
processes took more than 5 % of a core (bench/host.py) is counted and named.
Needs Linux, two cores, taskset and wrk (`apt-get install -y wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.host import BUSY_PERCENT, HostWatch, Quietness  # noqa: E402 -- needs the path above
from bench.inprocess import in_process  # noqa: E402
from bench.load import Load, requests_for, run_wrk  # noqa: E402
from bench.rows import EXAMPLE_NAMES, Kind, prepare  # noqa: E402
from bench.servers import CLIENT_CORE, Server, freeport, hello, naive, post  # noqa: E402

DEFAULT_KINDS = ("flight-delay", "hgb-regressor", "forest-multiclass", "text-gaps-onehot", "own-function")
CONNECTIONS = (1, 64)
WARMUP_SECONDS = 1
BATCH_REPEAT = 10
EXAMPLE_REQUESTS = 10_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Measured:
    """One server's figures in one round."""

    loads: dict[int, Load] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)  # the loads taken while the host was busy
    quiet: dict[int, Quietness] = field(default_factory=dict)  # per load: the host and the server's core
    figures: dict[str, float] = field(default_factory=dict)


def _loads(server: Server, requests: list[tuple[str, bytes]], seconds: float, measured: Measured, also=list) -> None:
    base = f"http://127.0.0.1:{server.port}"
    for connections in CONNECTIONS:
        server.served += run_wrk(base, requests, connections, WARMUP_SECONDS, CLIENT_CORE).requests
        with HostWatch(lambda: [server.process.pid, *also()], server.process.pid) as watch:
            load = run_wrk(base, requests, connections, seconds, CLIENT_CORE)
        server.served += load.requests
        measured.loads[connections] = load
        measured.quiet[connections] = watch.result
        if watch.result.busy:
            measured.busy.append(f"{server.name} {connections} conn: others {watch.result.others_percent:.0f} %, "
                                 f"steal {watch.result.steal_percent:.0f} %")


def _batch_ms(server: Server, rows: list[dict]) -> float:
    """Median time of a 1,000-distinct-row batch over a kept-alive connection (the first warms up).

    Each repeat starts the same rows at another place, so no two bodies are the same bytes.
    freeport's log stores the previous batch's 1,000 rows after answering it, on the same core:
    each batch is sent once that is done, so the figure is a batch's own time, as a client
    sending one sees it (back to back, each would also wait for the last one's log rows).
    """
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    timings = []
    try:
        for repeat in range(BATCH_REPEAT + 1):
            if server.name.startswith("freeport"):
                _log_drained(server)
            shift = repeat * 97 % len(rows)
            body = json.dumps({"rows": rows[shift:] + rows[:shift]}).encode()
            started = time.perf_counter()
            status, payload = post(server.port, server.batch_path, body, connection)
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{server.name} answered a {len(rows)}-row batch with {status}: {payload[:300]}")
    finally:
        connection.close()
    server.served += BATCH_REPEAT + 1
    return statistics.median(timings[1:])


def _log_drained(server: Server, deadline_s: float = 60) -> dict[str, float]:
    """Wait for freeport's prediction log to store everything: seconds it took, and its counters."""
    started = time.perf_counter()
    while (log := server.get_json("/ready")["database"])["queued"] and time.perf_counter() - started < deadline_s:
        time.sleep(0.1)
    return {"log_drain_s": time.perf_counter() - started, "log_written": log["written"],
            "log_dropped": log["dropped"], "log_unwritten": log["queued"]}


def measure(server: Server, kind: Kind, seconds: float, workdir: Path, also=list) -> Measured:
    measured = Measured()
    requests = requests_for(server.predict_path, kind.rows)
    server.start(requests[0][1], workdir / f"{server.name}-{server.port}.log")
    try:
        measured.figures.update(cold_start_s=server.cold_start_s, startup_cpu_s=server.startup_cpu_s,
                                idle_rss_mb=server.rss_mb())
        _loads(server, requests, seconds, measured, also)
        measured.figures["batch_ms"] = _batch_ms(server, kind.rows)
        measured.figures.update(rss_mb=server.rss_mb(), peak_rss_mb=server.peak_rss_mb(), served=server.served)
        if server.name.startswith("freeport"):
            measured.figures["engine"] = server.get_json("/models")[0]["engine"]
            measured.figures.update(_log_drained(server))
    finally:
        server.stop()
    return measured


def measure_examples(models: Path, workdir: Path, kinds: dict[str, Kind]) -> Measured:
    """freeport with the three examples: start-up, then EXAMPLE_REQUESTS single rows across them, then RSS."""
    measured = Measured()
    server = freeport(models, free_port(), f"sqlite:///{workdir / 'examples.db'}", workdir / "examples-spill")
    requests = [r for name in EXAMPLE_NAMES for r in requests_for(f"/models/{name}/predict", kinds[name].rows)]
    requests = [requests[i] for i in sorted(range(len(requests)), key=lambda i: (i % 1000, i))]  # models in turn
    server.start(requests[0][1], workdir / "examples.log")
    try:
        measured.figures.update(cold_start_s=server.cold_start_s, startup_cpu_s=server.startup_cpu_s,
                                idle_rss_mb=server.rss_mb())
        base = f"http://127.0.0.1:{server.port}"
        while server.served < EXAMPLE_REQUESTS:
            server.served += run_wrk(base, requests, 8, 2, CLIENT_CORE).requests
        measured.figures.update(served=server.served, rss_mb=server.rss_mb(), peak_rss_mb=server.peak_rss_mb())
    finally:
        server.stop()
    return measured


def _cluster_pids(cluster) -> list[int]:
    """The throwaway PostgreSQL's postmaster and its backends: load under test, not the host's noise."""
    pid_file = cluster.data / "postmaster.pid"
    if not pid_file.exists():
        return []
    postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
    return [postmaster.pid, *(child.pid for child in postmaster.children(recursive=True))]


def run_round(kinds: list[Kind], examples: dict[str, Kind], seconds: float, workdir: Path, cluster) -> dict:
    """One round: the floor, then each kind on freeport and on the naive server, then the examples together."""
    results: dict = {}
    results["floor"] = measure(hello(free_port()), kinds[0], seconds, workdir)
    for number, kind in enumerate(kinds):
        alone = workdir / f"only-{kind.name}"
        if not alone.exists():
            alone.mkdir()
            (alone / kind.name).symlink_to(kind.bundle, target_is_directory=True)
        fresh = workdir / f"{kind.name}-{time.monotonic_ns()}"
        ours = freeport(alone, free_port(), f"sqlite:///{fresh}.db", Path(f"{fresh}-spill"))
        results[(kind.name, "freeport")] = measure(ours, kind, seconds, workdir)
        if number == 0 and cluster is not None:
            spill = Path(f"{fresh}-pg-spill")
            on_pg = freeport(alone, free_port(), cluster.url, spill, name="freeport, PostgreSQL log")
            results[(kind.name, "freeport-pg")] = measure(on_pg, kind, seconds, workdir,
                                                            also=lambda: _cluster_pids(cluster))
        results[(kind.name, "naive")] = measure(naive(kind.bundle, free_port()), kind, seconds, workdir)
    if examples:
        together = workdir / "examples"
        if not together.exists():
            together.mkdir()
            for name in EXAMPLE_NAMES:
                (together / name).symlink_to(examples[name].bundle, target_is_directory=True)
        results["examples"] = measure_examples(together, workdir, examples)
    return results


# -- reporting --------------------------------------------------------------------------------------------
def _median(rounds: list[dict], key, pick) -> float:
    return statistics.median(pick(r[key]) for r in rounds)


def _spread(rounds: list[dict], key, pick, fmt: str) -> str:
    values = [pick(r[key]) for r in rounds]
    middle = fmt.format(statistics.median(values))
    return middle if len(values) == 1 else f"{middle} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def _p50_p99(rounds: list[dict], key) -> str:
    return (f"{_median(rounds, key, lambda m: m.loads[1].p50):.2f} / "
            f"{_median(rounds, key, lambda m: m.loads[1].p99):.2f}")


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs else "-"


def print_kinds(rounds: list[dict], kinds: list[Kind]) -> None:
    print("| kind | engine | req/s 1 conn | x naive | req/s 64 conn | x naive | 1 conn p50 / p99 / p99.9 (ms) | "
          "batch 1,000 (ms) | x naive | RSS MB (naive) | start s / CPU s (naive) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in kinds:
        ours, theirs = (kind.name, "freeport"), (kind.name, "naive")
        def rps(c):
            return lambda m: m.loads[c].rps
        def fig(name):
            return lambda m: m.figures[name]
        engine = rounds[0][ours].figures["engine"]
        print(
            f"| {kind.name} | {engine} | {_spread(rounds, ours, rps(1), '{:,.0f}')} "
            f"| {_ratio(_median(rounds, ours, rps(1)), _median(rounds, theirs, rps(1)))} "
            f"| {_spread(rounds, ours, rps(64), '{:,.0f}')} "
            f"| {_ratio(_median(rounds, ours, rps(64)), _median(rounds, theirs, rps(64)))} "
            f"| {_median(rounds, ours, lambda m: m.loads[1].p50):.2f} / "
            f"{_spread(rounds, ours, lambda m: m.loads[1].p99, '{:.2f}')} / "
            f"{_median(rounds, ours, lambda m: m.loads[1].p999):.1f} "
            f"| {_spread(rounds, ours, fig('batch_ms'), '{:.1f}')} "
            f"| {_ratio(_median(rounds, theirs, fig('batch_ms')), _median(rounds, ours, fig('batch_ms')))} faster "
            f"| {_median(rounds, ours, fig('rss_mb')):.0f} ({_median(rounds, theirs, fig('rss_mb')):.0f}) "
            f"| {_median(rounds, ours, fig('cold_start_s')):.2f} / {_median(rounds, ours, fig('startup_cpu_s')):.2f} "
            f"({_median(rounds, theirs, fig('cold_start_s')):.2f} / "
            f"{_median(rounds, theirs, fig('startup_cpu_s')):.2f}) |"
        )


def print_naive(rounds: list[dict], kinds: list[Kind]) -> None:
    print("| kind | naive req/s 1 conn | naive req/s 64 conn | naive 1 conn p50 / p99 (ms) | naive batch 1,000 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for kind in kinds:
        key = (kind.name, "naive")
        print(f"| {kind.name} | {_median(rounds, key, lambda m: m.loads[1].rps):,.0f} "
              f"| {_median(rounds, key, lambda m: m.loads[64].rps):,.0f} "
              f"| {_p50_p99(rounds, key)} | {_median(rounds, key, lambda m: m.figures['batch_ms']):.1f} |")


def print_log(rounds: list[dict], kinds: list[Kind]) -> None:
    print("| prediction log | req/s 1 conn | req/s 64 conn | 1 conn p50 / p99 (ms) | batch 1,000 (ms) | "
          "rows written | dropped | stored within (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, key in (("SQLite", (kinds[0].name, "freeport")), ("PostgreSQL", (kinds[0].name, "freeport-pg"))):
        if key not in rounds[0]:
            continue
        print(f"| {label} | {_median(rounds, key, lambda m: m.loads[1].rps):,.0f} "
              f"| {_median(rounds, key, lambda m: m.loads[64].rps):,.0f} "
              f"| {_p50_p99(rounds, key)} | {_median(rounds, key, lambda m: m.figures['batch_ms']):.1f} "
              f"| {_median(rounds, key, lambda m: m.figures['log_written']):,.0f} "
              f"| {_median(rounds, key, lambda m: m.figures['log_dropped']):,.0f} "
              f"| {_median(rounds, key, lambda m: m.figures['log_drain_s']):.1f} |")


def print_tail(rounds: list[dict], kinds: list[Kind]) -> None:
    """What the slowest requests at 1 connection had to wait for, per freeport run (medians over rounds)."""
    print("| freeport run | p50 / p99 / p99.9 / max (ms) | event loop waited for its core (ms per s) | "
          "its other threads (% of its core) | other processes (% of a core) | steal (%) |")
    print("|---|---:|---:|---:|---:|---:|")
    runs = [(k.name, (k.name, "freeport")) for k in kinds] + [(f"{kinds[0].name}, log in PostgreSQL",
                                                                 (kinds[0].name, "freeport-pg"))]
    for label, key in runs:
        if key not in rounds[0]:
            continue
        def load(attr):
            return lambda m: getattr(m.loads[1], attr)
        def quiet(attr):
            return lambda m: getattr(m.quiet[1], attr)
        print(f"| {label} | {_median(rounds, key, load('p50')):.2f} / {_median(rounds, key, load('p99')):.2f} / "
              f"{_median(rounds, key, load('p999')):.1f} / {_median(rounds, key, load('max')):.1f} "
              f"| {_spread(rounds, key, quiet('loop_waited_ms_per_s'), '{:.1f}')} "
              f"| {_median(rounds, key, quiet('side_threads_percent')):.0f} "
              f"| {_spread(rounds, key, quiet('others_percent'), '{:.0f}')} "
              f"| {_median(rounds, key, quiet('steal_percent')):.0f} |")


def print_targets(rounds: list[dict], kinds: list[Kind]) -> None:
    floor64 = _median(rounds, "floor", lambda m: m.loads[64].rps)
    floor1 = _median(rounds, "floor", lambda m: m.loads[1].rps)
    print(f"HTTP floor (FastAPI reading the body, nothing else): {floor1:,.0f} req/s at 1 conn, "
          f"{floor64:,.0f} at 64\n")
    print("| kind | target | result | met? |\n|---|---|---|---|")

    def row(kind: str, target: str, result: str, met: bool) -> None:
        print(f"| {kind} | {target} | {result} | {'yes' if met else 'NO'} |")

    def rps(key: tuple[str, str], connections: int) -> float:
        return _median(rounds, key, lambda m: m.loads[connections].rps)

    # What a ratio target asks for, next to what is possible: a target above the floor, or above
    # freeport's fastest ONNX kind (whose model costs next to nothing), cannot be met by the model's engine.
    onnx_kinds = [k for k in kinds if rounds[0][(k.name, "freeport")].figures["engine"] == "onnx"]
    fastest64 = max((rps((k.name, "freeport"), 64) for k in onnx_kinds), default=None)
    for kind in kinds:
        ours, theirs = (kind.name, "freeport"), (kind.name, "naive")
        naive1, naive64 = rps(theirs, 1), rps(theirs, 64)
        x1, x64 = rps(ours, 1) / naive1, rps(ours, 64) / naive64
        rps64 = rps(ours, 64)
        if rounds[0][ours].figures["engine"] == "onnx":
            p99 = _median(rounds, ours, lambda m: m.loads[1].p99)
            batch = _median(rounds, ours, lambda m: m.figures["batch_ms"])
            start = _median(rounds, ours, lambda m: m.figures["cold_start_s"])
            cpu = _median(rounds, ours, lambda m: m.figures["startup_cpu_s"])
            row(kind.name, ">= 10x naive at 1 and 64 conn",
                f"{x1:.1f}x / {x64:.1f}x (10x is {10 * naive1:,.0f} / {10 * naive64:,.0f} req/s; "
                f"the floor: {floor1:,.0f} / {floor64:,.0f})", x1 >= 10 and x64 >= 10)
            row(kind.name, "p99 at 1 conn <= 3 ms", f"{p99:.2f} ms", p99 <= 3)
            row(kind.name, ">= 1,500 req/s at 64 conn", f"{rps64:,.0f} ({rps64 / floor64:.0%} of the floor)",
                rps64 >= 1500)
            row(kind.name, "1,000-row batch <= 12 ms", f"{batch:.1f} ms", batch <= 12)
            row(kind.name, "<= 1 s and <= 1 CPU s to first prediction", f"{start:.2f} s, {cpu:.2f} CPU s",
                start <= 1 and cpu <= 1)
        else:
            rss, naive_rss = (_median(rounds, k, lambda m: m.figures["rss_mb"]) for k in (ours, theirs))
            row(kind.name, "scikit-learn: >= 5x naive at 64 conn",
                f"{x64:.1f}x (5x is {5 * naive64:,.0f} req/s"
                + (f"; the fastest ONNX kind: {fastest64:,.0f})" if fastest64 is not None else ")"), x64 >= 5)
            row(kind.name, "scikit-learn: RSS <= naive's", f"{rss:.0f} MB vs {naive_rss:.0f} MB", rss <= naive_rss)
    if "examples" in rounds[0]:
        rss = _median(rounds, "examples", lambda m: m.figures["rss_mb"])
        served = _median(rounds, "examples", lambda m: m.figures["served"])
        row("3 examples", "RSS <= 150 MB after 10,000 requests", f"{rss:.0f} MB after {served:,.0f}", rss <= 150)
        start = _median(rounds, "examples", lambda m: m.figures["cold_start_s"])
        cpu = _median(rounds, "examples", lambda m: m.figures["startup_cpu_s"])
        row("3 examples", "<= 1 s and <= 1 CPU s to first prediction", f"{start:.2f} s, {cpu:.2f} CPU s",
            start <= 1 and cpu <= 1)


def print_in_process(kinds: list[Kind]) -> None:
    print("| kind | onnx 1 row | onnx 1,000 rows | sklearn 1 row | sklearn 1,000 rows | check a 1,000-row body | "
          "out-of-range flags, 1,000 rows | log lines, 1,000 rows |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in kinds:
        f = in_process(kind.bundle.parent, kind.name, kind.rows)

        def cell(key: str, f: dict = f) -> str:
            return f"{f[key]:.3f}" if key in f else "-"

        print(f"| {kind.name} | {cell('onnx_1_ms')} | {cell('onnx_1000_ms')} | {cell('sklearn_1_ms')} "
              f"| {cell('sklearn_1000_ms')} | {cell('check_body_1000_ms')} | {cell('out_of_range_1000_ms')} "
              f"| {cell('log_encode_1000_ms')} |")


def describe_machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return (f"{cpu}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s loads")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3, --quick 1)")
    parser.add_argument("--seconds", type=int,  # whole seconds: wrk's -d takes no fractions
                        help="seconds per measured load (default 6, --quick 2)")
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS), help="examples or tests/zoo.py names")
    parser.add_argument("--no-postgres", action="store_true", help="skip the run with the log in PostgreSQL")
    args = parser.parse_args()
    rounds_wanted = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (2 if args.quick else 6)
    if shutil.which("wrk") is None or shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores, wrk and taskset: apt-get install -y wrk util-linux")
    os.sched_setaffinity(0, {CLIENT_CORE})  # this script, wrk and the throwaway PostgreSQL: off the server's core
    names = [n.strip() for n in args.kinds.split(",") if n.strip()]
    print(f"machine: {describe_machine()}")
    print(f"{rounds_wanted} round(s), {seconds:g} s per measured load, kinds: {', '.join(names)}\n", flush=True)
    cluster = None
    with tempfile.TemporaryDirectory(prefix="freeport-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "models").mkdir()
        kinds = [prepare(name, workdir / "models") for name in names]
        examples = {k.name: k for k in kinds if k.name in EXAMPLE_NAMES}
        for name in EXAMPLE_NAMES:
            if name not in examples:
                examples[name] = prepare(name, workdir / "models")
        try:
            if not args.no_postgres:
                from tests.pg import ThrowawayCluster

                cluster = ThrowawayCluster()
                cluster.start()
            rounds = []
            for number in range(rounds_wanted):
                rounds.append(run_round(kinds, examples, seconds, workdir, cluster))
                flight = rounds[-1][(kinds[0].name, "freeport")].loads
                print(f"round {number + 1}: {kinds[0].name} {flight[1].rps:,.0f} / {flight[64].rps:,.0f} req/s "
                      f"at 1 / 64 conn", flush=True)
        finally:
            if cluster is not None:
                cluster.destroy()
        synthetic = ", ".join(f"{k.name} {k.synthetic_rows}" for k in kinds if k.synthetic_rows)
        print(f"\nrows: 1,000 distinct per kind; held-out rows with their numbers moved: {synthetic or 'none'}")
        busy = [f"round {i + 1}: {note}" for i, r in enumerate(rounds) for m in r.values() for note in m.busy]
        print(f"host: {len(busy)} load(s) ran while other processes took more than {BUSY_PERCENT:.0f} % of a core"
              + "".join(f"\n  - {note}" for note in busy))
        print(f"\n## freeport per kind of model (medians of {len(rounds)} round(s); range in brackets)\n")
        print_kinds(rounds, kinds)
        print("\n## the naive server on the same artifacts\n")
        print_naive(rounds, kinds)
        print(f"\n## the prediction log ({kinds[0].name})\n")
        print_log(rounds, kinds)
        print("\n## the tail at 1 connection: what the server waited for\n")
        print_tail(rounds, kinds)
        print("\n## targets\n")
        print_targets(rounds, kinds)
        print("\n## in-process, no HTTP: each step of a prediction (ms, medians)\n")
        print_in_process(kinds)


if __name__ == "__main__":
    main()
