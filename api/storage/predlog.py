"""The prediction log: every prediction answered is stored, off the request path.

Requests only append to an in-memory buffer (no I/O, one lock). Two threads
take it from there:

- the spooler encodes each batch as lines (api/storage/predlog_lines.py) and appends
  them to the spill file (api/storage/spill.py), fsynced: a few microseconds of CPU a
  row, and no database in the way;
- the database thread reads the spill from its oldest unwritten line and
  stores chunks of it in one transaction each (COPY on PostgreSQL, executemany
  on SQLite), recording in the same transaction how far it got.

So the database may be slower than the traffic, or down, for as long as the
spill has room (PREDLOG_SPILL_MAX_BYTES): records wait on disk, in order, and
are replayed exactly once when it catches up, also by the next process after a
restart. Only when the spill is full and the memory buffer has reached
PREDLOG_QUEUE_SIZE does ``refusing`` turn true, and the predict routes answer
503 before predicting: the service refuses rather than answer and forget.

On a free instance the threads share one small CPU with the requests, so they
give way to them: on Linux they run at a lower scheduling priority, and the
database thread stores a chunk in small pieces, letting go of the GIL between
them. Without that a 500-row write (tens of milliseconds of CPU) stalled
whichever requests arrived meanwhile, which was most of the single-row p99.
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
from pathlib import Path
from typing import TYPE_CHECKING

from api.storage.records import RECORD_FIELDS, PredictionRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from api.storage.spill import SpillChunk, SpillFile

__all__ = ["RECORD_FIELDS", "PredictionLog", "PredictionLogStats", "PredictionRecord", "give_way_to_requests"]


logger = logging.getLogger("freeport.predlog")

_RETRY_FIRST, _RETRY_MAX = 0.2, 5.0
_RETRY_WHILE_STOPPING = 0.5
# Bytes of spill stored per transaction (about 2,500 rows): big enough that a transaction's fixed
# cost (and on SQLite its fsync) is spread thin, small enough to hold little memory.
_CHUNK_BYTES = 1 << 20
# Rows the spooler encodes between two releases of the GIL: a few tens of microseconds.
_ENCODE_ROWS = 32
# The writer's nice value. The kernel then runs the event loop first whenever both are ready,
# yet under full load the writer still gets about a tenth of the CPU, several times the 3-5 %
# it needs to keep up (at 19 it got 1.5 % and fell behind, and the buffer would have filled).
WRITER_NICE = 10


@dataclass(frozen=True)
class PredictionLogStats:
    """A snapshot of the log's counters (rows, except ``refused``, which counts requests)."""

    queued: int  # answered, not yet in the database: in memory or in the spill
    spilled: int  # of those, on disk in the spill file
    spill_bytes: int
    written: int  # stored in the database by this process
    replayed: int  # of those, left in the spill by an earlier process
    refused: int  # predict requests answered 503 because memory and spill were both full
    dropped: int  # answered and lost: only when the spill could not take them at shutdown
    failed_writes: int
    last_error: str | None


class PredictionLog:
    """The memory buffer, the spill, and the two threads that carry records to the database."""

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        *,
        queue_size: int,
        batch_size: int,
        flush_seconds: float,
        spill_dir: Path,
        spill_max_bytes: int,
    ) -> None:
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._buffer: deque[PredictionRecord] = deque()
        self._capacity = queue_size
        # Guards the buffer and the counters; the spooler waits on it for records or a stop.
        self._changed = threading.Condition(threading.Lock())
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._spill_dir = spill_dir
        self._spill_max_bytes = spill_max_bytes
        self._spill: SpillFile | None = None
        self._spill_full = False  # set by the spooler when the spill refused its batch
        self._stopping = threading.Event()
        self._spooled = threading.Event()  # the spooler has put everything on disk and exited
        self._abandoned = threading.Event()  # shutdown's deadline passed: the threads give up
        self._threads: list[threading.Thread] = []
        self._engine_lock = threading.Lock()
        self._held = 0  # records taken from the buffer but not yet on disk
        self.written = self.replayed = self.refused = self.dropped = self.failed_writes = 0
        self.last_error: str | None = None

    # -- request side (hot path: no I/O, never blocks) -----------------------
    @property
    def refusing(self) -> bool:
        """True when an answered prediction could not be kept: memory at its bound and the spill full.

        Two attribute reads, no lock: the predict routes ask before every prediction.
        """
        return self._spill_full and len(self._buffer) >= self._capacity

    def count_refusal(self) -> None:
        with self._changed:
            self.refused += 1

    def record(self, records: list[PredictionRecord]) -> None:
        """Queue an answered prediction's records. Never refuses: ``refusing`` was asked before predicting,
        so the buffer may pass its bound by the requests that were already predicting."""
        with self._changed:
            was_empty = not self._buffer
            self._buffer.extend(records)
            # Wake the spooler only when it has something new to do: a first record starts the
            # flush clock, a full batch is spooled at once.
            if was_empty or len(self._buffer) >= self._batch_size:
                self._changed.notify()

    def stats(self) -> PredictionLogStats:
        spill = self._spill
        on_disk = spill.pending_rows if spill else 0
        with self._changed:
            return PredictionLogStats(
                queued=len(self._buffer) + self._held + on_disk,
                spilled=on_disk,
                spill_bytes=spill.size if spill else 0,
                written=self.written,
                replayed=self.replayed,
                refused=self.refused,
                dropped=self.dropped,
                failed_writes=self.failed_writes,
                last_error=self.last_error,
            )

    # -- lifecycle ------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """Created on first use, by the database thread or /ready: never before the server listens."""
        with self._engine_lock:  # the writer and a /ready request may both be first
            if self._engine is None:
                self._engine = self._engine_factory()
            return self._engine

    def start(
        self, *, after: Callable[[float], bool] | None = None, connected: Callable[[], object] | None = None
    ) -> None:
        """Open the spill (raising SpillUnavailableError if it cannot be written) and start the threads.

        ``after(timeout)``, when given, is polled until it returns True (or shutdown
        begins) before the database thread touches the database: at start-up the models
        load first, since on a fraction of a CPU importing SQLAlchemy and connecting would
        slow the first prediction. Records go to the spill meanwhile, as when the database is down.
        ``connected()``, when given, is called once the database thread has its schema: the
        last of start-up's work.
        """
        from api.storage.spill import SpillFile

        self._spill = SpillFile.open(self._spill_dir, self._spill_max_bytes)
        if self._spill.found_rows:
            logger.info(
                "prediction log: %d records left in %s by an earlier process will be stored first",
                self._spill.found_rows, self._spill.path,
            )
        self._threads = [
            threading.Thread(target=self._spool, name="prediction-log-spooler", daemon=True),
            threading.Thread(target=self._store, args=(after, connected), name="prediction-log", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Put what is in memory on disk, then store what the database takes within ``timeout`` seconds.

        What it does not take stays in the spill, and the next start stores it.
        """
        deadline = time.monotonic() + timeout
        self._stopping.set()
        with self._changed:  # wake a spooler waiting for records
            self._changed.notify_all()
        spooler, storer = self._threads or (None, None)
        if spooler is not None:
            spooler.join(max(0.0, deadline - time.monotonic()))
        # Store what the database takes before the deadline; a database that is failing gets no
        # more waiting: what it has not stored waits in the spill for the next start.
        while storer is not None and storer.is_alive() and time.monotonic() < deadline:
            if self.last_error is not None and self._spooled.is_set():
                break
            storer.join(0.1)
        self._abandoned.set()  # whatever is not stored now stays in the spill
        spill = self._spill
        if spill is not None:
            with spill.changed:  # wake threads waiting for lines or room, so they see it
                spill.changed.notify_all()
        for thread in self._threads:
            thread.join(2.0)
        if spill is not None:
            if spill.pending_rows:
                logger.warning(
                    "prediction log: %d records not stored at shutdown (database: %s); they wait in %s "
                    "and the next start stores them",
                    spill.pending_rows, self.last_error or "slow", spill.path,
                )
            lost = len(self._buffer) + self._held
            if lost:
                with self._changed:
                    self.dropped += lost
                logger.error("prediction log: %d records lost at shutdown: the spill %s was full", lost, spill.path)
        if not any(t.is_alive() for t in self._threads):
            if spill is not None:
                spill.close()
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

    # -- the spooler: memory to disk ---------------------------------------------
    def _spool(self) -> None:
        from api.storage.predlog_lines import encode_records

        give_way_to_requests()
        spill = self._spill
        assert spill is not None
        while True:
            batch = self._take_batch()
            if not batch:
                if self._stopping.is_set():
                    break
                continue
            # A few rows at a time, letting go of the GIL in between: encoding 500 rows in one go
            # held it for over a millisecond, which a waiting request would have added to its latency.
            pieces = []
            for start in range(0, len(batch), _ENCODE_ROWS):
                pieces.append(encode_records(batch[start : start + _ENCODE_ROWS]))
                time.sleep(0)
            lines = b"".join(pieces)
            while not spill.append(lines, len(batch)):
                self._spill_full = True  # with the buffer at its bound, requests are now refused
                if self._abandoned.is_set():
                    return  # stop() counts what is still held as lost
                spill.wait_for_room(self._flush_seconds)
            self._spill_full = False
            with self._changed:
                self._held = 0
        self._spooled.set()
        with spill.changed:  # the database thread may be waiting for lines: there will be none, so it may end
            spill.changed.notify_all()

    def _take_batch(self) -> list[PredictionRecord]:
        """The next batch: up to ``batch_size`` records, gathered for at most ``flush_seconds``.

        Waiting for the batch to fill matters: under load, spooling whatever has arrived
        at once means an fsync per handful of records. At shutdown it takes what is
        buffered. An empty list means nothing arrived within ``flush_seconds``.
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
            # A whole request's records at once: a batch request may be bigger than batch_size.
            size = len(self._buffer) if self._stopping.is_set() else min(len(self._buffer), self._batch_size)
            batch = [self._buffer.popleft() for _ in range(size)]
            self._held = size  # taken from the buffer, still counted as queued until on disk
            return batch

    # -- the database thread: disk to database ---------------------------------------
    def _store(self, after: Callable[[float], bool] | None, connected: Callable[[], object] | None) -> None:
        give_way_to_requests()
        while after is not None and not self._stopping.is_set() and not after(0.2):
            pass
        # SQLAlchemy, the driver, the connection and the schema are all this thread's work, so
        # none of them delays start-up or /health (a slow database only delays the log).
        from api.storage.database import stored_up_to
        from api.storage.schema import upgrade_schema

        spill = self._spill
        assert spill is not None
        # The schema under alembic's migrations (api/storage/schema.py): safe with instances starting at once.
        if not self._retry(lambda: upgrade_schema(self.engine)):
            return
        # The database may have stored more of this file than its header says (a crash between
        # the commit and the header's update): never store those lines twice.
        known: list[int | None] = [None]

        def read_marker() -> None:
            with self.engine.connect() as connection:
                known[0] = stored_up_to(connection, spill.generation)

        if not self._retry(read_marker):
            return
        if known[0] is not None:
            spill.skip_to(spill.generation, known[0])
        if connected is not None:
            connected()
        while not self._abandoned.is_set():
            chunk = spill.read(_CHUNK_BYTES)
            if chunk is None:
                if self._finished():
                    return
                spill.wait_for_lines(self._flush_seconds, unless=self._finished)
                continue
            if not self._retry(lambda chunk=chunk: self._write(chunk)):
                return
            earlier = min(chunk.rows, spill.found_rows)
            spill.replayed(chunk)
            with self._changed:
                self.written += chunk.rows
                self.replayed += earlier

    def _finished(self) -> bool:
        """No more lines will come (the spooler is done) or none will be stored (the deadline passed)."""
        return self._spooled.is_set() or self._abandoned.is_set()

    def _write(self, chunk: SpillChunk) -> None:
        from api.storage.database import store_spilled

        # One transaction: the chunk's rows and the marker saying they are stored, or neither.
        with self.engine.begin() as connection:
            store_spilled(connection, chunk.data, generation=chunk.generation, replayed_to=chunk.end)

    def _retry(self, action: Callable[[], None]) -> bool:
        """Run ``action`` until it succeeds (True), backing off; False when it fails past shutdown's
        deadline: what is left stays in the spill for the next start."""
        delay = _RETRY_FIRST
        while True:
            try:
                action()
            except Exception as exc:  # the database may fail in any driver-specific way
                with self._changed:
                    self.failed_writes += 1
                    self.last_error = _describe(exc)
                if self._abandoned.is_set():
                    return False
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
            return True


def give_way_to_requests() -> None:
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
