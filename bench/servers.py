"""The servers a benchmark compares, each started as one process pinned to the server core.

- freeport as the platforms start it (``python -m api``), with its prediction
  log on (a fresh SQLite file, or a PostgreSQL URL) and the per-client rate
  limits lifted: one load generator is one client, and the benchmark would
  measure 429s;
- the naive server (bench/baseline_server.py) on the same bundle's pipeline;
- the HTTP floor (bench/hello_server.py): FastAPI reading a JSON body and no more.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
SERVER_CORE, CLIENT_CORE = 0, 1

__all__ = ["CLIENT_CORE", "SERVER_CORE", "Server", "freeport", "hello", "naive", "post"]


def post(port: int, path: str, body: bytes, connection: http.client.HTTPConnection | None = None):
    """(status, body) of one POST; on ``connection`` if given (kept alive), else on a new one."""
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        if own:
            connection.close()


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    predict_path: str
    batch_path: str
    process: subprocess.Popen | None = None
    cold_start_s: float = 0.0
    startup_cpu_s: float = 0.0
    served: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.predict_path}"

    def start(self, first_body: bytes, log: Path, timeout: float = 120.0) -> None:
        """Start, and time exec to the first 200 prediction (wall and the server's CPU seconds).

        Its output goes to ``log``, a file as a platform's collector would take it: the access
        lines are part of the cost of a request.
        """
        started = time.perf_counter()
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                ["taskset", "-c", str(SERVER_CORE), *self.argv], cwd=REPO, env={**os.environ, **self.env},
                stdout=output, stderr=subprocess.STDOUT,
            )
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode} while starting:\n"
                                 f"{log.read_text(errors='replace')[-2000:]}")
            if time.perf_counter() - started > timeout:
                self.stop()
                raise SystemExit(f"{self.name} answered no prediction within {timeout:.0f} s")
            try:
                status, _ = post(self.port, self.predict_path, first_body)
            except OSError:
                status = None
            if status == 200:
                break
            time.sleep(0.005)
        self.cold_start_s = time.perf_counter() - started
        cpu = psutil.Process(self.process.pid).cpu_times()
        self.startup_cpu_s = cpu.user + cpu.system
        self.served = 1

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def get_json(self, path: str) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def freeport(models_dir: Path, port: int, database_url: str, spill_dir: Path, name: str = "freeport") -> Server:
    # Logging as deployed (LOG_LEVEL's default, info: one JSON access line per request).
    env = {"PORT": str(port), "HOST": "127.0.0.1", "MODELS_DIR": str(models_dir), "WEB_CONCURRENCY": "1",
           "DATABASE_URL": database_url, "PREDLOG_SPILL_DIR": str(spill_dir),
           "RATE_LIMIT_PREDICT": "100000000/minute", "RATE_LIMIT_BATCH": "100000000/minute"}
    first = sorted(p.name for p in models_dir.iterdir() if (p / "card.json").is_file())[0]
    return Server(name, [sys.executable, "-m", "api"], env, port,
                  f"/models/{first}/predict", f"/models/{first}/predict/batch")


def naive(bundle: Path, port: int) -> Server:
    # uvicorn's defaults, as a tutorial runs it: an access line per request, as freeport writes.
    argv = [sys.executable, "-m", "uvicorn", "bench.baseline_server:app", "--host", "127.0.0.1", "--port", str(port)]
    return Server("naive", argv, {"BASELINE_BUNDLE": str(bundle)}, port, "/predict", "/predict/batch")


def hello(port: int) -> Server:
    # No access line: the floor is the least any FastAPI service on uvicorn could do per request.
    argv = [sys.executable, "-m", "uvicorn", "bench.hello_server:app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log"]
    return Server("HTTP floor", argv, {}, port, "/predict", "/predict")
