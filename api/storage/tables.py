"""The database's tables, one MetaData for all of them.

What the schema should be; api/storage/migrations/ is how a database gets there. A change
here needs a migration (tests/test_schema.py compares the two).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "evaluation_sets",
    "lifecycle_audit",
    "metadata",
    "model_files",
    "model_pointers",
    "model_versions",
    "predictions",
    "spill_progress",
]

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

# -- model versions (api/storage/versions.py) ---------------------------------------------------
# One row per bundle ever added: its card (which pins each artifact by sha256) and who added it and why.
# `sha256` is the bundle's content hash (of the card's canonical JSON); `version` is the card's own
# version, what responses and the prediction log name, so it is unique per model too.
model_versions = Table(
    "model_versions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("model", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("card", JSON, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("added_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    UniqueConstraint("model", "sha256", name="uq_model_versions_model_sha256"),
    UniqueConstraint("model", "version", name="uq_model_versions_model_version"),
)

# The artifacts' bytes, apart from the versions so that listing them never reads a blob.
model_files = Table(
    "model_files",
    metadata,
    Column("version_id", BigInteger, ForeignKey("model_versions.id"), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# Which version each model serves, and which waits to be promoted. One row per model, changed in
# the transaction that records why; every instance polls it.
model_pointers = Table(
    "model_pointers",
    metadata,
    Column("model", String(64), primary_key=True),
    Column("active_id", BigInteger, ForeignKey("model_versions.id"), nullable=False),
    Column("candidate_id", BigInteger, ForeignKey("model_versions.id"), nullable=True),
    Column("previous_id", BigInteger, ForeignKey("model_versions.id"), nullable=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# -- the lifecycle (api/storage/lifecycle.py) ----------------------------------------------------
# The rows a promotion scores the active version and the candidate on: the same rows for both.
evaluation_sets = Table(
    "evaluation_sets",
    metadata,
    Column("model", String(64), primary_key=True),
    Column("rows", JSON, nullable=False),
    Column("target", JSON, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("added_by", String(64), nullable=False),
)

# Every lifecycle action: upload, promote, forced promote, rollback, evaluation set; never deleted.
lifecycle_audit = Table(
    "lifecycle_audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("model", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("from_version", String(64), nullable=True),
    Column("to_version", String(64), nullable=True),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False),
)
