"""The prediction log: every prediction recorded, off the request path.

Requests only append to a bounded in-memory buffer (no I/O, one lock); one
writer thread drains it in batches. When the database is slow or down the
writer keeps its batch and retries with backoff while new records wait in the
buffer; a record is dropped only when the buffer is full, and drops are
counted. On shutdown the writer drains the buffer before the process exits.

On a free instance the writer shares one small CPU with the requests, so it
gives way to them: on Linux it runs at a lower scheduling priority, and it
writes a batch in small chunks, letting go of the GIL between them. Without
that a 500-row write (tens of milliseconds of CPU) stalled whichever requests
arrived meanwhile, which was most of the single-row p99. It also spends as
little as it can: records are tuples, and they go to the driver's own bulk
insert (api.database.prediction_inserter).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["RECORD_FIELDS", "PredictionLog", "PredictionLogStats", "PredictionRecord"]

# One prediction, as the log's table stores it: a tuple of these columns' values in this order.
# A tuple costs a quarter of a dict to build, and a 1,000-row batch builds a thousand of them
# on the request path.
RECORD_FIELDS = ("created_at", "request_id", "model", "model_version", "inputs", "outputs", "latency_ms")
PredictionRecord = tuple[datetime, str, str, str, dict[str, Any], dict[str, Any], float]

logger = logging.getLogger("freeport.predlog")

_RETRY_FIRST, _RETRY_MAX = 0.2, 5.0
_RETRY_WHILE_STOPPING = 0.5
# Rows per INSERT inside a batch's transaction: a few tenths of a millisecond of the writer's CPU,
# after which a waiting request gets the GIL back.
_CHUNK_ROWS = 32
# The writer's nice value. The kernel then runs the event loop first whenever both are ready,
# yet under full load the writer still gets about a tenth of the CPU, several times the 3-5 %
# it needs to keep up (at 19 it got 1.5 % and fell behind, and the buffer would have filled).
WRITER_NICE = 10


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
        self._buffer: deque[PredictionRecord] = deque()
        self._capacity = queue_size
        # Guards the buffer and the counters; the writer waits on it for records or a stop.
        self._changed = threading.Condition(threading.Lock())
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine_lock = threading.Lock()
        self._held = 0  # records taken from the buffer but not yet written
        self.written = self.dropped = self.failed_writes = 0
        self.last_error: str | None = None

    # -- request side (hot path: no I/O, never blocks) -----------------------
    def record(self, records: list[PredictionRecord]) -> None:
        """Queue records for writing; past the bound, count them as dropped."""
        with self._changed:
            room = self._capacity - len(self._buffer)
            if room < len(records):
                self.dropped += len(records) - max(room, 0)
                records = records[: max(room, 0)]
            was_empty = not self._buffer
            self._buffer.extend(records)
            # Wake the writer only when it has something new to do: a first record starts the
            # flush clock, a full batch is written at once.
            if was_empty or len(self._buffer) >= self._batch_size:
                self._changed.notify()

    def stats(self) -> PredictionLogStats:
        with self._changed:
            return PredictionLogStats(
                queued=len(self._buffer) + self._held,
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
        with self._changed:  # wake a writer waiting for records or for its batch to fill
            self._changed.notify()
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
        _give_way_to_requests()
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
            with self._changed:
                self._held = 0

    def _take_batch(self) -> list[PredictionRecord]:
        """The next batch: up to ``batch_size`` records, gathered for at most ``flush_seconds``.

        Waiting for the batch to fill matters: under load, writing whatever has arrived
        at once means a transaction (and on SQLite an fsync) per handful of records,
        which cost more CPU than serving them. At shutdown it takes what is buffered.
        An empty list means nothing arrived within ``flush_seconds``.
        """
        with self._changed:
            deadline = None
            while len(self._buffer) < self._batch_size and not self._stopping.is_set():
                now = time.monotonic()
                if deadline is None and self._buffer:
                    deadline = now + self._flush_seconds  # the oldest record waits at most this long
                if deadline is not None and now >= deadline:
                    break
                self._changed.wait(self._flush_seconds if deadline is None else deadline - now)
                if deadline is None and not self._buffer:
                    break  # a quiet spell (or a stop): let the caller check whether to stop
            size = min(len(self._buffer), self._batch_size)
            batch = [self._buffer.popleft() for _ in range(size)]
            self._held = size  # taken from the buffer, still counted as queued until written
            return batch

    def _write(self, batch: list[PredictionRecord]) -> None:
        from api.database import prediction_inserter

        # One transaction: all of the batch, or none of it.
        with self.engine.begin() as connection, prediction_inserter(connection) as insert:
            for start in range(0, len(batch), _CHUNK_ROWS):
                insert(batch[start : start + _CHUNK_ROWS])
                time.sleep(0)  # lets go of the GIL, so a request waiting for it runs now
        with self._changed:
            self.written += len(batch)

    def _retry(self, action: Callable[[], None]) -> None:
        """Run ``action`` until it succeeds, backing off; give up only at shutdown's deadline."""
        delay = _RETRY_FIRST
        while True:
            try:
                action()
            except Exception as exc:  # the database may fail in any driver-specific way
                with self._changed:
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
                with self._changed:
                    self.last_error = None
            return


def _give_way_to_requests() -> None:
    """Lower the calling thread's scheduling priority to WRITER_NICE (Linux: per thread; elsewhere a no-op)."""
    if sys.platform != "linux":  # elsewhere PRIO_PROCESS with a thread id would mean the whole process
        return
    try:
        thread = threading.get_native_id()
        # Never raise it: a process started with `nice` keeps at least that for its writer.
        os.setpriority(os.PRIO_PROCESS, thread, max(WRITER_NICE, os.getpriority(os.PRIO_PROCESS, thread)))
    except OSError:  # a sandbox may forbid it; the log still works, only less politely
        logger.debug("prediction log: could not lower the writer's priority", exc_info=True)


def _describe(exc: Exception) -> str:
    first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {first_line[0] if first_line else ''}"
