"""The prediction-log table and an engine sized for free managed databases."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from sqlalchemy import JSON, BigInteger, Column, DateTime, Float, Integer, MetaData, String, Table, create_engine
from sqlalchemy.engine import Engine, make_url

__all__ = ["create_db_engine", "metadata", "predictions"]

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
