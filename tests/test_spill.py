"""The spill file after a crash: a torn last line is dropped, and lines the database already
stored are never stored again, whatever the file's own header says."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.serving.card import read_card
from api.storage import predlog
from api.storage.database import create_db_engine, store_spilled
from api.storage.predlog import PredictionLog, PredictionLogStats, _describe
from api.storage.predlog_lines import decode_lines, encode_records
from api.storage.schema import upgrade_schema
from api.storage.spill import SpillFile
from api.storage.tables import predictions
from tests.factories import EXAMPLE_MODELS
from tests.pg import wait_until

FLIGHTS = read_card(EXAMPLE_MODELS / "flight-delay").examples


def _records(request_id: str, n: int) -> list[tuple]:
    now = datetime.now(UTC)
    return [(now, request_id, "flight-delay", "1", FLIGHTS[i % len(FLIGHTS)], {"prediction": i}, 1.5) for i in range(n)]


def test_lines_read_back_as_the_records_written():
    records = [*_records("r1", 3), (datetime.now(UTC), "r2", "m", "v", {"text": 'a\tb\n"c\\d\u2028'}, {}, 0.25)]
    assert decode_lines(encode_records(records)) == records


def test_a_torn_last_line_is_dropped_and_the_whole_ones_kept(tmp_path):
    spill = SpillFile.open(tmp_path, 1 << 20)
    assert spill.append(encode_records(_records("a", 2)), 2)
    spill.close()
    with open(tmp_path / "predlog-0.spill", "ab") as file:  # a crash in the middle of an append
        file.write(encode_records(_records("b", 1))[:40])
    spill = SpillFile.open(tmp_path, 1 << 20)
    assert spill.pending_rows == spill.found_rows == 2
    chunk = spill.read(1 << 20)
    assert [r[1] for r in decode_lines(chunk.data)] == ["a", "a"]
    assert chunk.end == os.path.getsize(tmp_path / "predlog-0.spill")
    spill.close()


def test_a_second_process_takes_its_own_spill_file(tmp_path):
    first, second = SpillFile.open(tmp_path, 1 << 20), SpillFile.open(tmp_path, 1 << 20)
    assert first.path != second.path
    first.close()
    second.close()


def test_lines_stored_before_a_crash_are_not_stored_again_at_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    engine = create_db_engine(url, pool_size=1, connect_timeout=3)
    spill = SpillFile.open(tmp_path / "spill", 1 << 20)
    assert spill.append(encode_records(_records("before-crash", 5)), 5)
    chunk = spill.read(1 << 20)
    upgrade_schema(engine)  # the schema as the service makes it
    with engine.begin() as connection:
        store_spilled(connection, chunk.data, generation=chunk.generation, replayed_to=chunk.end)
    # The process dies here: committed, but the file's header never heard of it.
    assert spill.append(encode_records(_records("after", 2)), 2)
    spill.close()

    log = PredictionLog(partial(create_db_engine, url, pool_size=1, connect_timeout=3), queue_size=100,
                        batch_size=10, flush_seconds=0.05, spill_dir=tmp_path / "spill", spill_max_bytes=1 << 20)
    log.start()
    try:
        assert wait_until(lambda: log.stats().queued == 0 and log.stats().written > 0)
        assert log.stats().replayed == 2
    finally:
        log.stop()
    with engine.connect() as connection:
        counts = dict(connection.execute(
            select(predictions.c.request_id, func.count()).group_by(predictions.c.request_id)).all())
    engine.dispose()
    assert counts == {"before-crash": 5, "after": 2}


def _log(tmp_path, url: str, **options) -> PredictionLog:
    """A log of rows for ``url`` spilling into ``tmp_path / "spill"``; ``options`` change its sizes and pace."""
    sizes = {"queue_size": 100, "batch_size": 5, "flush_seconds": 0.05, "spill_max_bytes": 1 << 20}
    return PredictionLog(partial(create_db_engine, url, pool_size=1, connect_timeout=1),
                         spill_dir=tmp_path / "spill", **(sizes | options))


def _stored(url: str) -> int:
    engine = create_db_engine(url, pool_size=1, connect_timeout=3)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(predictions)).scalar()
    engine.dispose()
    return count


def _spill_file(tmp_path) -> Path:
    [path] = (tmp_path / "spill").glob("*.spill")
    return path


def test_a_log_not_started_counts_nothing():
    log = PredictionLog(
        lambda: None, queue_size=10, batch_size=5, flush_seconds=0.05, spill_dir=Path("unused"), spill_max_bytes=1 << 20
    )
    assert log.stats() == PredictionLogStats(
        queued=0,
        spilled=0,
        spill_bytes=0,
        written=0,
        replayed=0,
        refused=0,
        dropped=0,
        failed_writes=0,
        last_error=None,
    )


def test_a_database_that_cannot_be_opened_keeps_rows_in_the_spill_says_why_and_stores_them_all_when_back(
    tmp_path, caplog
):
    home = tmp_path / "not-yet"  # SQLite cannot create its file in a directory that does not exist
    log = _log(tmp_path, f"sqlite:///{home / 'log.db'}")
    caplog.set_level("INFO", logger="freeport.predlog")
    log.start()
    try:
        log.record(_records("while-down", 7))
        # Two failures at least (a retry after the first): each one is counted, not only the latest.
        assert wait_until(lambda: log.stats().spilled == 7 and log.stats().failed_writes >= 2)
        during = log.stats()
        assert (during.queued, during.written, during.replayed, during.dropped) == (7, 0, 0, 0)
        assert during.spill_bytes == os.path.getsize(_spill_file(tmp_path)) > 0
        # What /ready and /stats show: the driver's own first line, under its exception's name.
        assert during.last_error == "OperationalError: unable to open database file"
        assert log.ping() == "OperationalError: unable to open database file"

        home.mkdir()
        assert wait_until(lambda: log.stats().written == 7, timeout=20)
        after = log.stats()
        assert (after.queued, after.spilled, after.dropped, after.last_error) == (0, 0, 0, None)
        # /stats counts each failed attempt, and the log says each one, the wait doubling from 0.2 s up to 5 s,
        # then that the database is back.
        said = [m for m in caplog.messages if "database write failed" in m]
        assert said == [
            f"prediction log: database write failed, retrying in {min(0.2 * 2 ** i, 5.0):.1f} s: "
            "OperationalError: unable to open database file" for i in range(after.failed_writes)
        ]
        assert after.failed_writes >= during.failed_writes
        assert caplog.messages.count("prediction log: database reachable again") == 1
        assert log.ping() is None
    finally:
        log.stop()
    assert _stored(f"sqlite:///{home / 'log.db'}") == 7


@pytest.mark.parametrize(
    ("error", "described"),
    [
        (ValueError("first line\nsecond line"), "ValueError: first line"),
        (RuntimeError("   padded   "), "RuntimeError: padded"),
        (RuntimeError(""), "RuntimeError: "),
    ],
)
def test_an_error_is_described_by_its_name_and_first_line(error, described):
    assert _describe(error) == described


def _tiny_log_filled_while_the_database_is_away(tmp_path) -> tuple[PredictionLog, int]:
    """A started log whose database cannot be opened (until ``tmp_path / "not-yet"`` is made) and whose
    spill and memory are full: it refuses. Returns it and the number of rows it took."""
    log = _log(tmp_path, f"sqlite:///{tmp_path / 'not-yet' / 'log.db'}", queue_size=3, batch_size=2,
               spill_max_bytes=2048)
    log.start()
    recorded = 0
    while not log.refusing and recorded < 500:
        log.record(_records(f"r{recorded}", 1))
        recorded += 1
        # Until it is on disk, or the spill has no room for it (then nothing changes until the database is back).
        wait_until(lambda: log.refusing or log.stats().queued == log.stats().spilled, timeout=0.3)
    assert log.refusing, "a tiny spill must fill"
    return log, recorded


def test_with_the_database_away_and_the_spill_full_every_answered_row_is_still_counted_as_queued(tmp_path):
    log, recorded = _tiny_log_filled_while_the_database_is_away(tmp_path)
    try:
        # A batch the full spill refused is held by the spooler: neither in memory's buffer nor on disk,
        # and still answered and waiting, so counted.
        stats = log.stats()
        assert stats.queued == recorded and 0 < stats.spilled < recorded and stats.dropped == 0
        (tmp_path / "not-yet").mkdir()
        assert wait_until(lambda: log.stats().written == recorded, timeout=30)
        assert log.stats().queued == 0 and not log.refusing
    finally:
        log.stop()


def test_a_shutdown_with_the_database_away_and_the_spill_full_ends_and_counts_what_it_could_not_keep(
    tmp_path, caplog
):
    log, recorded = _tiny_log_filled_while_the_database_is_away(tmp_path)
    spilled, spill_path = log.stats().spilled, _spill_file(tmp_path)
    with caplog.at_level("ERROR", logger="freeport.predlog"):
        log.stop(timeout=1)  # the spooler waits for room that never comes: the deadline must end it
    stats = log.stats()
    # What the spill holds waits for the next start; what memory held is lost, and counted, and said.
    assert stats.dropped == recorded - spilled > 0
    assert stats.spilled == spilled
    assert caplog.messages[-1] == (
        f"prediction log: {stats.dropped} records lost at shutdown: the spill {spill_path} was full"
    )


def _open_files(under: Path) -> set[str]:
    """The paths of the files under ``under`` this process holds open. Only there: another test's app may
    still be writing its own database (a journal comes and goes) while this one runs."""
    paths = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the descriptor listdir itself was using
            continue
        if target.startswith(f"{under}/"):
            paths.add(target)
    return paths


def test_a_shutdown_stores_what_memory_holds_and_lets_go_of_its_files(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    # A flush far away: the rows are still in memory when the shutdown begins.
    log = _log(tmp_path, url, batch_size=1000, flush_seconds=30)
    log.start()
    assert wait_until(lambda: log.ping() is None)
    log.record(_records("at-shutdown", 9))
    log.stop(timeout=10)
    stats = log.stats()
    assert (stats.written, stats.queued, stats.dropped) == (9, 0, 0)
    assert _open_files(tmp_path) == set(), "the spill file and the database connections are closed"
    assert _stored(url) == 9


@pytest.mark.timeout(20)
def test_a_shutdown_with_every_row_stored_ends_at_once(tmp_path):
    # The database thread, idle, waits for lines up to a flush at a time; the spooler's end wakes it, so a
    # stop waits out neither its deadline nor the flush (were either waited out, pytest-timeout would fail
    # the test first). Every instance replaced by a deploy, and every test's app, stops this way.
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = _log(tmp_path, url, flush_seconds=60)  # a batch of 5 is full: it leaves memory at once
    log.start()
    log.record(_records("before-shutdown", 5))
    assert wait_until(lambda: log.stats().written == 5, timeout=10)
    log.stop(timeout=600)
    assert _stored(url) == 5 and _open_files(tmp_path) == set()


@pytest.mark.timeout(20)
def test_waiting_for_lines_does_not_wait_once_told_none_will_come(tmp_path):
    # Told under the spill's lock, so the wake-up cannot slip in between the database thread's last look and
    # its wait.
    spill = SpillFile.open(tmp_path, max_bytes=1 << 20)
    spill.wait_for_lines(600, unless=lambda: True)
    spill.close()


def test_a_shutdown_with_the_database_away_says_where_the_rows_wait_and_the_next_start_stores_them(
    tmp_path, caplog, monkeypatch
):
    home = tmp_path / "not-yet"
    url = f"sqlite:///{home / 'log.db'}"
    log = _log(tmp_path, url)
    log.start()
    log.record(_records("while-down", 4))
    assert wait_until(lambda: log.stats().spilled == 4 and log.stats().last_error is not None)
    spill_path = _spill_file(tmp_path)
    with caplog.at_level("WARNING", logger="freeport.predlog"):
        # A failing database gets no more waiting once the spill holds every row: stop returns then, not at
        # this deadline (were it waited out, pytest-timeout would fail the test first).
        log.stop(timeout=600)
    assert log.stats().dropped == 0
    assert (
        f"prediction log: 4 records not stored at shutdown (database: OperationalError: unable to open database "
        f"file); they wait in {spill_path} and the next start stores them" in caplog.messages
    )
    home.mkdir()
    monkeypatch.setattr(predlog, "_CHUNK_BYTES", 1)  # one row a chunk: the replayed count adds up over chunks
    restarted = _log(tmp_path, url)
    with caplog.at_level("INFO", logger="freeport.predlog"):
        restarted.start()
    assert (f"prediction log: 4 records left in {spill_path} by an earlier process will be stored first"
            in caplog.messages)
    try:
        assert wait_until(lambda: restarted.stats().written == 4, timeout=20)
        assert restarted.stats().replayed == 4
    finally:
        restarted.stop()


def _in_memory(log: PredictionLog) -> int:
    stats = log.stats()
    return stats.queued - stats.spilled


def _spooler_waits(log: PredictionLog) -> bool:
    """The spooler is blocked waiting for records: what a record's wake-up, or its absence, acts on. Read from
    the condition's waiters (CPython's), since nothing a user sees changes at that moment."""
    return len(log._changed._waiters) == 1


def test_a_full_batch_leaves_memory_at_once_not_at_the_flush(tmp_path):
    # The first record starts a 30-second flush clock; the record that fills the batch cuts it short.
    log = _log(tmp_path, f"sqlite:///{tmp_path / 'log.db'}", batch_size=5, flush_seconds=30)
    log.start()
    try:
        log.record(_records("first", 1))
        assert wait_until(lambda: _spooler_waits(log), timeout=10)  # with the first record's clock running
        assert _in_memory(log) == 1  # waiting for company: one write for many records, not one each
        log.record(_records("fills-the-batch", 4))
        assert wait_until(lambda: _in_memory(log) == 0, timeout=10), log.stats()
    finally:
        log.stop(timeout=10)
    assert log.stats().dropped == 0


def test_the_first_record_starts_the_flush_clock(tmp_path):
    # A lone record waits flush_seconds for company, then goes to disk: counted from its arrival, not from
    # whenever the idle spooler would next have looked (up to twice as long in memory, where a crash loses it).
    log = _log(tmp_path, f"sqlite:///{tmp_path / 'log.db'}", batch_size=100, flush_seconds=2)
    log.start()
    try:
        log.record(_records("a-full-batch", 100))  # spooled at once; the spooler then starts an idle wait
        assert wait_until(lambda: _in_memory(log) == 0 and _spooler_waits(log), timeout=10)
        log.record(_records("alone", 1))
        assert wait_until(lambda: _in_memory(log) == 0, timeout=3.4), log.stats()
    finally:
        log.stop(timeout=10)


def test_the_logs_threads_are_named_daemons(tmp_path):
    # Named in a thread dump or "Exception in thread …"; daemons, so a process that ends without a clean
    # shutdown (a test, a crash) is not held open by them. A clean shutdown is stop()'s work.
    log = _log(tmp_path, f"sqlite:///{tmp_path / 'log.db'}")
    log.start()
    try:
        ours = {(t.name, t.daemon) for t in threading.enumerate() if t.name.startswith("prediction-log")}
        assert ours == {("prediction-log-spooler", True), ("prediction-log", True)}
    finally:
        log.stop(timeout=10)


def test_a_full_memory_alone_refuses_nothing(tmp_path):
    # Requests are refused only when memory is at its bound *and* the spill is full: memory fills ahead of
    # the spooler (before it starts, or within a flush) and is emptied to the spill when it runs.
    log = _log(tmp_path, f"sqlite:///{tmp_path / 'log.db'}", queue_size=5, batch_size=10, flush_seconds=30)
    log.record(_records("ahead-of-the-spooler", 10))
    assert log.refusing is False
    log.start()
    try:
        assert wait_until(lambda: _in_memory(log) == 0, timeout=10), log.stats()  # a full batch: at once
        log.record(_records("within-the-flush", 5))  # memory at its bound, the spill with room to spare
        assert log.refusing is False
    finally:
        log.stop(timeout=10)
    assert log.stats().dropped == 0


def test_a_log_never_started_stops_cleanly():
    # The app stops the log on its way out even when start-up failed before starting it.
    log = PredictionLog(lambda: None, spill_dir=Path("/nonexistent"), queue_size=5, batch_size=5, flush_seconds=1,
                        spill_max_bytes=1 << 20)
    log.stop(timeout=1)
    assert log.stats().dropped == 0


def test_a_shutdown_while_the_models_still_load_does_not_wait_for_them(tmp_path):
    # At start-up the database waits for the models (``after``); a stop meanwhile (a deploy replaced the
    # instance) ends that wait at once: were it waited out, pytest-timeout would fail the test first.
    loaded = threading.Event()  # never set: the models are still loading
    log = _log(tmp_path, f"sqlite:///{tmp_path / 'log.db'}")
    log.start(after=loaded.wait)
    log.record(_records("while-loading", 3))
    assert wait_until(lambda: log.stats().spilled == 3, timeout=10)
    log.stop(timeout=600)
    assert log.stats().dropped == 0 and not loaded.is_set()
