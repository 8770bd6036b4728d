"""The prediction log: every prediction recorded, off the request path.

Requests only append to a bounded in-memory queue (no I/O); one writer thread
drains it in batches. When the database is slow or down the writer keeps its
batch and retries with backoff while new records wait in the queue; a record
is dropped only when the queue is full, and drops are counted. On shutdown the
writer drains the queue before the process exits.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["PredictionLog", "PredictionLogStats"]

logger = logging.getLogger("freeport.predlog")

_RETRY_FIRST, _RETRY_MAX = 0.2, 5.0
_RETRY_WHILE_STOPPING = 0.5
_WAKE: dict[str, Any] = {}  # not a record: put on the queue only to end the writer's wait


@dataclass(frozen=True)
class PredictionLogStats:
    """A snapshot of the writer's counters."""

    queued: int
    written: int
    dropped: int
    failed_writes: int
    last_error: str | None


class PredictionLog:
    """A bounded queue of prediction records and the thread that writes them."""

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        *,
        queue_size: int,
        batch_size: int,
        flush_seconds: float,
    ) -> None:
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self._held = 0  # records taken from the queue but not yet written
        self.written = self.dropped = self.failed_writes = 0
        self.last_error: str | None = None

    # -- request side (hot path: no I/O, never blocks) -----------------------
    def record(self, records: list[dict[str, Any]]) -> None:
        """Queue records for writing; past the bound, count them as dropped."""
        for item in records:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                with self._lock:
                    self.dropped += 1

    def stats(self) -> PredictionLogStats:
        with self._lock:
            return PredictionLogStats(
                queued=self._queue.qsize() + self._held,
                written=self.written,
                dropped=self.dropped,
                failed_writes=self.failed_writes,
                last_error=self.last_error,
            )

    # -- lifecycle ------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """Created on first use, by the writer thread or /ready: never before the server listens."""
        with self._engine_lock:  # the writer and a /ready request may both be first
            if self._engine is None:
                self._engine = self._engine_factory()
            return self._engine

    def start(self, *, after: Callable[[float], bool] | None = None) -> None:
        """Start the writer thread (it creates the table when the database answers).

        ``after(timeout)``, when given, is polled until it returns True (or shutdown
        begins) before the writer touches the database: at start-up the models load
        first, since on a fraction of a CPU importing SQLAlchemy and connecting would
        slow the first prediction. Records queue meanwhile, as when the database is down.
        """
        self._thread = threading.Thread(target=self._run, args=(after,), name="prediction-log", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, within ``timeout`` seconds, then stop the writer."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # wake a writer waiting on an empty queue
            self._queue.put_nowait(_WAKE)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error(
                    "prediction log: %d records not written at shutdown (database unreachable: %s)",
                    self.stats().queued,
                    self.last_error,
                )
        if self._engine is not None:
            self._engine.dispose()

    def ping(self) -> str | None:
        """None when the database answers a trivial query, else what went wrong."""
        from sqlalchemy import text

        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not reachable" to /ready
            return _describe(exc)
        return None

    # -- writer thread ----------------------------------------------------------
    def _run(self, after: Callable[[float], bool] | None) -> None:
        while after is not None and not self._stopping.is_set() and not after(0.2):
            pass
        # SQLAlchemy, the driver, the connection and the schema are all this thread's work, so
        # none of them delays start-up or /health (a slow database only delays the log).
        from api.database import metadata

        self._retry(lambda: metadata.create_all(self.engine))
        while True:
            batch = self._take_batch()
            if not batch:
                if self._stopping.is_set():
                    return
                continue
            self._retry(lambda batch=batch: self._write(batch))
            with self._lock:
                self._held = 0

    def _take_batch(self) -> list[dict[str, Any]]:
        """The next batch: up to ``batch_size`` records, gathered for at most ``flush_seconds``.

        Waiting for the batch to fill matters: under load, writing whatever has arrived
        at once means a transaction (and on SQLite an fsync) per handful of records,
        which cost more CPU than serving them. At shutdown it takes what is queued.
        """
        stopping = self._stopping.is_set()
        try:
            first = self._queue.get_nowait() if stopping else self._queue.get(timeout=self._flush_seconds)
        except queue.Empty:
            return []
        batch = [] if first is _WAKE else [first]
        deadline = time.monotonic() + self._flush_seconds
        while len(batch) < self._batch_size and first is not _WAKE:
            remaining = 0.0 if self._stopping.is_set() else deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _WAKE:  # stop() was called: write what we hold now
                break
            batch.append(item)
            with self._lock:
                self._held = len(batch)  # taken from the queue, still counted as queued
        with self._lock:
            self._held = len(batch)
        return batch

    def _write(self, batch: list[dict[str, Any]]) -> None:
        from sqlalchemy import insert

        from api.database import predictions

        with self.engine.begin() as connection:
            connection.execute(insert(predictions), batch)
        with self._lock:
            self.written += len(batch)

    def _retry(self, action: Callable[[], None]) -> None:
        """Run ``action`` until it succeeds, backing off; give up only at shutdown's deadline."""
        delay = _RETRY_FIRST
        while True:
            try:
                action()
            except Exception as exc:  # the database may fail in any driver-specific way
                with self._lock:
                    self.failed_writes += 1
                    self.last_error = _describe(exc)
                logger.warning("prediction log: database write failed, retrying in %.1f s: %s", delay, self.last_error)
                if self._stopping.is_set():
                    time.sleep(_RETRY_WHILE_STOPPING)  # retry often: the shutdown deadline is near
                else:
                    self._stopping.wait(delay)  # a shutdown cuts the back-off short, to flush in time
                delay = min(delay * 2, _RETRY_MAX)
                continue
            if self.last_error is not None:
                logger.info("prediction log: database reachable again")
                with self._lock:
                    self.last_error = None
            return


def _describe(exc: Exception) -> str:
    first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {first_line[0] if first_line else ''}"
