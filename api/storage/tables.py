"""The database's tables, one MetaData for all of them.

What the schema should be; api/storage/migrations/ is how a database gets there. A change
here needs a migration (tests/test_schema.py compares the two).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Float, Integer, MetaData, String, Table

__all__ = ["metadata", "predictions", "spill_progress"]

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

# How far each spill file's lines are stored (api/storage/spill.py): one row per live file, updated in
# the transaction that stores the lines. A table of its own, so `predictions` keeps its shape.
spill_progress = Table(
    "predlog_spill_progress",
    metadata,
    Column("generation", String(32), primary_key=True),
    Column("replayed_to", BigInteger, nullable=False),
)
