"""Model versions: each bundle (card and files) and each model's active, candidate and previous version.

On free hosts the disk is forgotten at every deploy, so what a model serves lives here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite only auto-increments exactly INTEGER


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model", "sha256", name="uq_model_versions_model_sha256"),
        sa.UniqueConstraint("model", "version", name="uq_model_versions_model_version"),
    )
    op.create_table(
        "model_files",
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("version_id", "name"),
    )
    op.create_table(
        "model_pointers",
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("active_id", sa.BigInteger(), nullable=False),
        sa.Column("candidate_id", sa.BigInteger(), nullable=True),
        sa.Column("previous_id", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["active_id"], ["model_versions.id"]),
        sa.ForeignKeyConstraint(["candidate_id"], ["model_versions.id"]),
        sa.ForeignKeyConstraint(["previous_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("model"),
    )


def downgrade() -> None:
    op.drop_table("model_pointers")
    op.drop_table("model_files")
    op.drop_table("model_versions")
