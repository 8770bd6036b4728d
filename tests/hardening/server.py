"""A real `python -m api` process, and a load generator that keeps it busy and keeps count."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.factories import REPO
from tests.pg import free_port, wait_until

ADMIN_KEY = "hardening-admin-key"


@dataclass
class ApiProcess:
    url: str
    process: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stats(self) -> dict:
        return requests.get(f"{self.url}/admin/stats", headers={"X-API-Key": ADMIN_KEY}, timeout=5).json()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def running_api(
    tmp_path: Path, *, command: list[str] | None = None, preexec_fn=None, **env: str
) -> Iterator[ApiProcess]:
    """Start `python -m api` (or ``command``) on a free port with ``env`` on top of sane test settings;
    kill it after. ``preexec_fn`` runs in the child before the command (e.g. to join a cgroup)."""
    port = free_port()
    log_path = tmp_path / f"api-{port}.log"
    settings = {
        "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1", "ADMIN_API_KEY": ADMIN_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'predictions.db'}",
        "RATE_LIMIT_PREDICT": "1000000/minute", "RATE_LIMIT_BATCH": "1000000/minute",
        **env,
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command or [sys.executable, "-m", "api"], cwd=REPO, env={**os.environ, **settings}, stdout=log,
            stderr=log, preexec_fn=preexec_fn,
        )
    api = ApiProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        if not wait_until(lambda: _ready(api.url) or process.poll() is not None, timeout=90):
            raise RuntimeError(f"the API did not become ready:\n{api.output()[-3000:]}")
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with {process.returncode}:\n{api.output()[-3000:]}")
        yield api
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@dataclass
class LoadResult:
    ok: list[str] = field(default_factory=list)  # request ids answered 200
    failed: list[str] = field(default_factory=list)  # answered otherwise, or broken mid-request
    refused: int = 0  # the connection was refused: the server no longer accepted, nothing started
    latencies: list[float] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # request id -> why it failed

    @property
    def requests(self) -> int:
        return len(self.ok) + len(self.failed)

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(0.99 * (len(ordered) - 1))] * 1000 if ordered else 0.0

    def summary(self) -> str:
        return (f"requests {self.requests}, ok {len(self.ok)}, errors {len(self.failed)}, "
                f"refused connections {self.refused}, p99 {self.p99_ms:.1f} ms")


class Load:
    """``workers`` threads posting one row each, back to back, each request with its own id.

    ``fresh_connections`` opens a new connection per request, so a refused
    connection means the request never started (what a SIGTERM test must tell
    apart from a request that failed in flight).
    """

    def __init__(self, url: str, body: dict, *, workers: int = 4, fresh_connections: bool = False) -> None:
        self.url, self.body = url, body
        self.fresh = fresh_connections
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(workers)]

    def _work(self, worker: int) -> None:
        session = requests.Session()
        run = uuid.uuid4().hex[:8]
        sent = 0
        while not self._stop.is_set():
            rid = f"load-{run}-{worker}-{sent}"
            sent += 1
            headers = {"X-Request-ID": rid}
            if self.fresh:
                headers["Connection"] = "close"
            started = time.perf_counter()
            try:
                response = (requests if self.fresh else session).post(
                    self.url, json=self.body, headers=headers, timeout=30
                )
            except requests.ConnectionError as exc:
                refused = isinstance(getattr(exc.args[0], "reason", None), ConnectionRefusedError) or (
                    "Connection refused" in str(exc)
                )
                with self._lock:
                    if refused:
                        self.result.refused += 1
                    else:
                        self.result.failed.append(rid)
                        self.result.reasons[rid] = repr(exc)[:300]
                if refused:
                    return  # the server has stopped accepting: this worker is done
                continue
            elapsed = time.perf_counter() - started
            with self._lock:
                self.result.latencies.append(elapsed)
                (self.result.ok if response.status_code == 200 else self.result.failed).append(rid)
                if response.status_code != 200:
                    self.result.reasons[rid] = f"{response.status_code} {response.text[:200]}"

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        return self.result

    def answered(self) -> int:
        """Requests answered 200 so far."""
        with self._lock:
            return len(self.result.ok)

    def wait_for_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
