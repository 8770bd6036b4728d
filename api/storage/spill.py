"""The prediction log's spill: a bounded, append-only file of encoded records, replayed in order.

Every record passes through it on its way to the database (a write-ahead log):
the log's spooler thread appends each batch and fsyncs it, and the database
thread reads from the oldest unwritten line onwards. So a database that is
slower than the traffic, or down, only makes the file longer, up to
``max_bytes``; nothing is held in memory for long, and a restart finds what was
not yet written.

The file starts with a fixed-width header line:

    freeport-spill 1 <generation: 32 hex> <replayed_to: 20 digits>\\n

``generation`` names this file's contents (it changes whenever the file is
emptied); ``replayed_to`` is the offset up to which lines are known to be in a
database. The database keeps the same pair, updated in the transaction that
stores the lines (api.storage.database.store_spilled), so a crash between the commit
and the header's update replays nothing twice. The header is a fallback for a
database that has never seen this file (a changed DATABASE_URL).

Each worker process takes its own file (``predlog-<slot>.spill``) under an
exclusive flock, so WEB_CONCURRENCY > 1 never interleaves two writers, and a
restarted worker takes over whichever file is free.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SpillChunk", "SpillFile", "SpillUnavailableError"]

logger = logging.getLogger("freeport.predlog")

_MAGIC = b"freeport-spill 1 "
_HEADER_LEN = len(_MAGIC) + 32 + 1 + 20 + 1
_REPLAYED_AT = len(_MAGIC) + 33  # where the replayed_to digits start
# Once everything is in the database the file is emptied, but only past this size: emptying
# costs a truncate and an fsync, which is waste after every small batch.
_RESET_BYTES = 4 * 1024 * 1024
_SLOTS = 16  # WEB_CONCURRENCY's maximum


class SpillUnavailableError(RuntimeError):
    """The spill directory cannot be written, or every slot in it is held by another process."""


@dataclass(frozen=True)
class SpillChunk:
    """Whole lines read from the spill: ``data`` ends at ``end``, and holds ``rows`` lines."""

    generation: str
    data: bytes
    rows: int
    end: int


class SpillFile:
    """One worker's spill file. Thread-safe: the spooler appends while the database thread reads."""

    def __init__(self, path: Path, fd: int, max_bytes: int) -> None:
        self.path = path
        self._fd = fd
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        # Signalled when lines are appended (the database thread waits for them) and when lines are
        # replayed (a spooler waiting for room waits for that).
        self.changed = threading.Condition(self._lock)
        self.generation, self.replayed_to, self.end = self._recover()
        self.pending_rows = self._count_lines(self.replayed_to, self.end)
        self.found_rows = self.pending_rows  # left by an earlier process, to replay first

    # -- opening ------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path, max_bytes: int) -> SpillFile:
        """Take the first free slot in ``directory`` (created if missing), recovering what it holds."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for slot in range(_SLOTS):
                path = directory / f"predlog-{slot}.spill"
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return cls(path, fd, max_bytes)
        except OSError as exc:
            raise SpillUnavailableError(
                f"the prediction log cannot write its spill file in {directory} ({exc}); "
                "set PREDLOG_SPILL_DIR to a writable folder"
            ) from exc
        raise SpillUnavailableError(f"all {_SLOTS} spill files in {directory} are held by other processes")

    def _recover(self) -> tuple[str, int, int]:
        """Read the header and drop a torn last line (a crash mid-append): its request was never whole."""
        size = os.fstat(self._fd).st_size
        header = os.pread(self._fd, _HEADER_LEN, 0)
        try:
            if len(header) != _HEADER_LEN or not header.startswith(_MAGIC):
                raise ValueError("no header")
            generation = header[len(_MAGIC) : len(_MAGIC) + 32].decode("ascii")
            replayed_to = int(header[_REPLAYED_AT : _REPLAYED_AT + 20])
            if not _HEADER_LEN <= replayed_to <= size:
                raise ValueError("replayed_to outside the file")
        except ValueError:
            if size:
                logger.error("prediction log: %s has no valid header; starting it afresh", self.path)
            return self._start_generation()
        end = size
        if end > replayed_to:
            tail = os.pread(self._fd, min(end - replayed_to, 1 << 20), end - min(end - replayed_to, 1 << 20))
            if not tail.endswith(b"\n"):
                cut = tail.rfind(b"\n")
                end = end - len(tail) + cut + 1 if cut >= 0 else replayed_to
                logger.warning("prediction log: dropped a torn line at the end of %s", self.path)
                os.ftruncate(self._fd, end)
        return generation, replayed_to, end

    def _start_generation(self) -> tuple[str, int, int]:
        generation = uuid.uuid4().hex
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, _header(generation, _HEADER_LEN), 0)
        os.fsync(self._fd)
        return generation, _HEADER_LEN, _HEADER_LEN

    def _count_lines(self, start: int, end: int) -> int:
        lines = 0
        while start < end:
            block = os.pread(self._fd, min(end - start, 1 << 22), start)
            lines += block.count(b"\n")
            start += len(block)
        return lines

    # -- the spooler's side ---------------------------------------------------------
    def append(self, data: bytes, rows: int) -> bool:
        """Append whole lines and fsync them; False (nothing written) when they would not fit.

        A file with nothing waiting takes any batch, however big, so one batch larger
        than the bound cannot wait forever.
        """
        with self._lock:
            if self.end + len(data) > self.max_bytes and self.end > self.replayed_to:
                return False
            os.pwrite(self._fd, data, self.end)
            self.end += len(data)
            self.pending_rows += rows
            self.changed.notify_all()
        os.fsync(self._fd)  # outside the lock: the database thread may read meanwhile
        return True

    def wait_for_room(self, timeout: float) -> None:
        with self._lock:
            self.changed.wait(timeout)

    # -- the database thread's side -------------------------------------------------
    def read(self, max_bytes: int) -> SpillChunk | None:
        """The oldest lines not yet replayed, at most ``max_bytes`` (at least one line); None when none."""
        with self._lock:
            start, end, generation = self.replayed_to, self.end, self.generation
        if start >= end:
            return None
        want = min(end - start, max_bytes)
        data = os.pread(self._fd, want, start)
        cut = data.rfind(b"\n")
        while cut < 0:  # one line longer than max_bytes: read until it ends
            want = min(end - start, want * 2)
            data = os.pread(self._fd, want, start)
            cut = data.rfind(b"\n")
        data = data[: cut + 1]
        return SpillChunk(generation, data, data.count(b"\n"), start + len(data))

    def wait_for_lines(self, timeout: float, unless: Callable[[], bool]) -> None:
        """Wait at most ``timeout`` for lines to replay; not at all when ``unless()`` is already true.

        ``unless`` is read under the lock whose notify wakes this wait, so a notify sent just after the
        caller last looked is not missed (it would cost a whole ``timeout``)."""
        with self._lock:
            if self.replayed_to >= self.end and not unless():
                self.changed.wait(timeout)

    def skip_to(self, generation: str, offset: int) -> None:
        """The database says this generation is stored up to ``offset``: never replay that part again."""
        with self._lock:
            if generation != self.generation or not self.replayed_to < offset <= self.end:
                return
            skipped = self._count_lines(self.replayed_to, offset)
            self.replayed_to = offset
            self.pending_rows -= skipped
            self.found_rows = max(0, self.found_rows - skipped)
        os.pwrite(self._fd, _header(generation, offset)[_REPLAYED_AT:], _REPLAYED_AT)

    def replayed(self, chunk: SpillChunk) -> None:
        """``chunk`` is in the database: record it in the header, and empty the file once all is written."""
        with self._lock:
            self.replayed_to = chunk.end
            self.pending_rows -= chunk.rows
            self.found_rows = max(0, self.found_rows - chunk.rows)
            if self.replayed_to == self.end and self.end > _RESET_BYTES:
                self.generation, self.replayed_to, self.end = self._start_generation()
            else:
                # Not fsynced: if it is lost, the database's own marker still says the same.
                os.pwrite(self._fd, _header(self.generation, chunk.end)[_REPLAYED_AT:], _REPLAYED_AT)
            self.changed.notify_all()

    # -- both -----------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.end

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)  # releases the flock
                self._fd = -1


def _header(generation: str, replayed_to: int) -> bytes:
    return _MAGIC + generation.encode("ascii") + b" " + b"%020d" % replayed_to + b"\n"
