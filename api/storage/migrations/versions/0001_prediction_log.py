"""The prediction log: `predictions` and `predlog_spill_progress`.

Before alembic these tables were made by ``metadata.create_all``, so a database
may already hold them (with rows that must stay): each is created only when it
is missing, which adopts such a database as it is. `predlog_spill_progress`
arrived later than `predictions`, so either may be there without the other.
The tables are written out here rather than imported from api/storage/tables.py:
a migration describes the schema as it was at this revision, whatever the
tables module says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("predictions"):
        op.create_table(
            "predictions",
            # SQLite only auto-increments a column declared exactly INTEGER.
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("request_id", sa.String(64), nullable=False),
            sa.Column("model", sa.String(64), nullable=False),
            sa.Column("model_version", sa.String(64), nullable=False),
            sa.Column("inputs", sa.JSON, nullable=False),
            sa.Column("outputs", sa.JSON, nullable=False),
            sa.Column("latency_ms", sa.Float, nullable=False),
        )
        for column in ("created_at", "request_id", "model"):
            op.create_index(f"ix_predictions_{column}", "predictions", [column])
    if _missing("predlog_spill_progress"):
        op.create_table(
            "predlog_spill_progress",
            sa.Column("generation", sa.String(32), primary_key=True),
            sa.Column("replayed_to", sa.BigInteger, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("predlog_spill_progress")
    op.drop_table("predictions")
