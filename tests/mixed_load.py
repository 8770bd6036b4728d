"""The issue's load: the three example models, one request in ten a big batch, the rest single rows.

Each request has its own id and the generator remembers the rows it sent, so a test
can hold the database to "every prediction answered 200 is stored, exactly once,
row by row". Bounded in requests and in time.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import psycopg2
import requests

from api.serving.card import read_card
from tests.factories import EXAMPLE_MODELS

# The batch sizes: the size of each example's own data set.
BATCH_ROWS = {"flight-delay": 1000, "penguins": 344, "fuel-economy": 398}
EXAMPLES = {model: read_card(EXAMPLE_MODELS / model).examples for model in BATCH_ROWS}
BATCHES = {model: [EXAMPLES[model][i % len(EXAMPLES[model])] for i in range(rows)]
           for model, rows in BATCH_ROWS.items()}


@dataclass
class MixedResult:
    sent: dict[str, list[dict]] = field(default_factory=dict)  # request id -> rows, for those answered 200
    refused: list[str] = field(default_factory=list)  # answered 503: never predicted, never stored
    failed: dict[str, str] = field(default_factory=dict)  # anything else: request id -> why

    @property
    def rows(self) -> int:
        return sum(map(len, self.sent.values()))


class MixedLoad:
    """``workers`` threads sending the mixed load until ``max_requests`` or ``max_seconds``, or stop()."""

    def __init__(self, url: str, *, workers: int = 8, max_requests: int = 2000, max_seconds: float = 60) -> None:
        self.url = url
        self.result = MixedResult()
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._run = uuid.uuid4().hex[:6]
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.result.sent) + len(self.result.refused) + len(self.result.failed)

    def _work(self) -> None:
        session = requests.Session()
        deadline = time.monotonic() + self.max_seconds
        models = list(BATCH_ROWS)
        while not self._stop.is_set() and time.monotonic() < deadline:
            n = next(self._counter)
            if n >= self.max_requests:
                return
            model = models[n % 3]
            rid = f"mix-{self._run}-{n}"
            if n % 10 == 9:
                rows, path, body = BATCHES[model], f"/models/{model}/predict/batch", {"rows": BATCHES[model]}
            else:
                row = EXAMPLES[model][n % len(EXAMPLES[model])]
                rows, path, body = [row], f"/models/{model}/predict", row
            try:
                response = session.post(self.url + path, json=body, headers={"X-Request-ID": rid}, timeout=30)
            except requests.RequestException as exc:
                with self._lock:
                    self.result.failed[rid] = repr(exc)[:200]
                if isinstance(exc, requests.ConnectionError):
                    return  # the server is gone (a SIGTERM test): this worker is done
                continue
            with self._lock:
                if response.status_code == 200:
                    self.result.sent[rid] = rows
                elif response.status_code == 503 and response.json().get("error") == "prediction_log_full":
                    self.result.refused.append(rid)
                else:
                    self.result.failed[rid] = f"{response.status_code} {response.text[:200]}"

    def __enter__(self) -> MixedLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> MixedResult:
        self._stop.set()
        self.join(60)
        return self.result

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def stored_rows(port: int) -> dict[str, list[dict]]:
    """Request id -> the inputs stored for it, in the order stored."""
    connection = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    try:
        with connection.cursor() as cursor:
            cursor.execute("select request_id, inputs from predictions order by id")
            found: dict[str, list[dict]] = {}
            for rid, inputs in cursor:
                found.setdefault(rid, []).append(inputs)
            return found
    finally:
        connection.close()
