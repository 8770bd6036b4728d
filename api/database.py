"""The prediction-log table, an engine sized for free managed databases, and
the bulk insert the log writer uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic_core import to_json
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
)
from sqlalchemy.engine import Connection, Dialect, Engine, make_url

from api.predlog import RECORD_FIELDS, PredictionRecord

__all__ = ["create_db_engine", "metadata", "prediction_inserter", "predictions"]

metadata = MetaData()

predictions = Table(
    "predictions",
    metadata,
    # SQLite only auto-increments a column declared exactly INTEGER.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("model", String(64), nullable=False, index=True),
    Column("model_version", String(64), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("outputs", JSON, nullable=False),
    Column("latency_ms", Float, nullable=False),
)


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


# Each driver's INSERT, built once: the writer runs it for every chunk of every batch.
_INSERT_INTO = f"INSERT INTO {predictions.name} ({', '.join(RECORD_FIELDS)}) VALUES"
_SQLITE_INSERT = f"{_INSERT_INTO} ({', '.join('?' * len(RECORD_FIELDS))})"
_PSYCOPG2_INSERT = f"{_INSERT_INTO} %s"  # execute_values fills in the rows


def _sqlite_bulk(cursor: Any, rows: list[tuple]) -> None:
    cursor.executemany(_SQLITE_INSERT, rows)


def _psycopg2_bulk(cursor: Any, rows: list[tuple]) -> None:
    from psycopg2.extras import execute_values  # one multi-row INSERT: one round trip, not one per row

    execute_values(cursor, _PSYCOPG2_INSERT, rows, page_size=len(rows))


# Drivers whose own bulk path is used; any other database goes through SQLAlchemy Core.
_BULK: dict[tuple[str, str], Callable[[Any, list[tuple]], None]] = {
    ("sqlite", "pysqlite"): _sqlite_bulk,
    ("postgresql", "psycopg2"): _psycopg2_bulk,
}


def _binder(dialect: Dialect) -> Callable[[list[PredictionRecord]], list[tuple]]:
    """Records to driver parameters, each value as SQLAlchemy would bind it for ``dialect``.

    The timestamp goes through the column type's own bind processor (on SQLite a
    formatted string, on PostgreSQL the datetime itself), so rows read back
    through SQLAlchemy exactly as if it had inserted them. A request's records
    share one timestamp object, so it is converted once per request.
    """
    stamp = predictions.c.created_at.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)

    def bind(records: list[PredictionRecord]) -> list[tuple]:
        rows = []
        last = bound = None
        for created_at, request_id, model, version, inputs, outputs, latency_ms in records:
            if created_at is not last:
                last, bound = created_at, stamp(created_at)
            rows.append((bound, request_id, model, version, _json_text(inputs), _json_text(outputs), latency_ms))
        return rows

    return bind


@contextmanager
def prediction_inserter(connection: Connection) -> Iterator[Callable[[list[PredictionRecord]], None]]:
    """A function inserting prediction records in ``connection``'s transaction; call it once per
    chunk of a batch.

    On SQLite and psycopg2 the rows go straight to the driver's bulk insert:
    SQLAlchemy Core spent about 20 µs a row building and converting parameters,
    twice what SQLite spends storing the row, and on a free instance that CPU is
    taken from the requests.
    """
    bulk = _BULK.get((connection.dialect.name, connection.dialect.driver))
    if bulk is None:
        statement = insert(predictions)
        yield lambda records: connection.execute(statement, [dict(zip(RECORD_FIELDS, r, strict=True)) for r in records])
        return
    bind = _binder(connection.dialect)
    cursor = connection.connection.cursor()  # the driver's cursor, inside SQLAlchemy's transaction
    try:
        yield lambda records: bulk(cursor, bind(records))
    finally:
        cursor.close()
