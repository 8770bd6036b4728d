"""An engine sized for free managed databases, and the bulk write that stores
the prediction log's spilled lines (the tables are in api/storage/tables.py)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from pydantic_core import to_json
from sqlalchemy import (
    create_engine,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url

from api.storage.predlog_lines import decode_lines, split_lines
from api.storage.records import RECORD_FIELDS
from api.storage.tables import predictions, spill_progress

__all__ = ["create_db_engine", "store_spilled", "stored_up_to"]

def _json_text(value: Any) -> str:
    # Rust rather than the json module: serialising the inputs and outputs columns was
    # a third of the log writer's CPU. NaN and infinities become null: json.dumps would
    # write `NaN`, which is not JSON, and PostgreSQL's json type refuses it.
    return to_json(value, inf_nan_mode="null").decode()


def create_db_engine(url: str, *, pool_size: int, connect_timeout: float) -> Engine:
    """An engine for SQLite (the local default) or PostgreSQL (``DATABASE_URL``).

    PostgreSQL gets a small pool (free plans allow few connections), pre-ping
    (a managed database drops idle connections) and a short connect timeout so
    a dead database is noticed in seconds, not minutes.
    """
    parsed = make_url(url)
    options: dict[str, Any] = {"json_serializer": _json_text}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"check_same_thread": False, "timeout": connect_timeout}
    else:
        options.update(
            pool_size=pool_size,
            max_overflow=1,
            pool_pre_ping=True,
            pool_recycle=300,
            pool_timeout=connect_timeout,
        )
        if parsed.get_backend_name() == "postgresql":
            options["connect_args"] = {"connect_timeout": max(1, round(connect_timeout))}
    return create_engine(parsed, **options)


# Each driver's bulk path, built once: the writer runs it for every chunk of the spill.
_COLUMNS = ", ".join(RECORD_FIELDS)
_SQLITE_INSERT = f"INSERT INTO {predictions.name} ({_COLUMNS}) VALUES ({', '.join('?' * len(RECORD_FIELDS))})"
_COPY = f"COPY {predictions.name} ({_COLUMNS}) FROM STDIN"
# Rows per executemany on SQLite: a few tenths of a millisecond of the writer's CPU, after which a
# waiting request gets the interpreter lock back.
_SQLITE_CHUNK_ROWS = 32


def _sqlite_bulk(connection: Connection, lines: bytes) -> None:
    cursor = connection.connection.cursor()  # the driver's cursor, inside SQLAlchemy's transaction
    try:
        each = lines.split(b"\n")[:-1]  # in C; the fields are split a few rows at a time, below
        for start in range(0, len(each), _SQLITE_CHUNK_ROWS):
            rows = split_lines(b"\n".join(each[start : start + _SQLITE_CHUNK_ROWS]) + b"\n")
            for row in rows:
                row[0] = row[0][:26]  # what SQLAlchemy's SQLite DateTime stores: no offset (they are all UTC)
            cursor.executemany(_SQLITE_INSERT, rows)
            time.sleep(0)  # lets go of the GIL, so a request waiting for it runs now
    finally:
        cursor.close()


def _psycopg2_copy(connection: Connection, lines: bytes) -> None:
    # The spill's lines are COPY's text format already: PostgreSQL parses them, not Python. psycopg2
    # reads the stream 8 kB at a time and sends each without the GIL, so requests run in between.
    cursor = connection.connection.cursor()
    try:
        cursor.copy_expert(_COPY, io.BytesIO(lines))
    finally:
        cursor.close()


def _core_insert(connection: Connection, lines: bytes) -> None:
    records = decode_lines(lines)
    connection.execute(insert(predictions), [dict(zip(RECORD_FIELDS, r, strict=True)) for r in records])


# Drivers whose own bulk path is used; any other database goes through SQLAlchemy Core.
_BULK: dict[tuple[str, str], Callable[[Connection, bytes], None]] = {
    ("sqlite", "pysqlite"): _sqlite_bulk,
    ("postgresql", "psycopg2"): _psycopg2_copy,
}

_MARK = text(
    f"INSERT INTO {spill_progress.name} (generation, replayed_to) VALUES (:generation, :replayed_to) "
    "ON CONFLICT (generation) DO UPDATE SET replayed_to = excluded.replayed_to"
)
_FORGET = text(f"DELETE FROM {spill_progress.name} WHERE generation <> :generation")


def store_spilled(connection: Connection, lines: bytes, *, generation: str, replayed_to: int) -> None:
    """Insert the spill's ``lines`` and record that ``generation`` is stored up to ``replayed_to``.

    Both in ``connection``'s one transaction: the rows are in the database exactly
    when the marker says so, which is what lets a restart replay the spill without
    storing a line twice. Markers of earlier generations (emptied files) go.
    """
    bulk = _BULK.get((connection.dialect.name, connection.dialect.driver), _core_insert)
    bulk(connection, lines)
    connection.execute(_MARK, {"generation": generation, "replayed_to": replayed_to})
    connection.execute(_FORGET, {"generation": generation})


def stored_up_to(connection: Connection, generation: str) -> int | None:
    """How far the database has stored the spill of ``generation``; None when it never saw it."""
    found = connection.execute(
        select(spill_progress.c.replayed_to).where(spill_progress.c.generation == generation)
    ).scalar()
    return None if found is None else int(found)
