"""The lifecycle's rows: each model's evaluation set and the audit of every action.

An audit row is written in the transaction of the change it records, so the audit
holds exactly the changes that happened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from api.storage.tables import evaluation_sets, lifecycle_audit

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["list_audit", "read_evaluation", "record_action", "store_evaluation"]


def record_action(
    connection: Connection,
    *,
    model: str,
    action: str,
    key_id: str,
    reason: str,
    from_version: str | None = None,
    to_version: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    connection.execute(insert(lifecycle_audit).values(
        at=datetime.now(UTC), model=model, action=action, key_id=key_id, from_version=from_version,
        to_version=to_version, reason=reason, details=details or {},
    ))


def list_audit(connection: Connection, *, model: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` actions, newest first (of ``model`` only, when given)."""
    query = select(lifecycle_audit).order_by(lifecycle_audit.c.id.desc()).limit(limit)
    if model is not None:
        query = query.where(lifecycle_audit.c.model == model)
    return [dict(row._mapping) for row in connection.execute(query)]


def store_evaluation(connection: Connection, model: str, rows: list[dict[str, Any]], target: list[Any],
                     *, added_by: str) -> None:
    """Replace ``model``'s evaluation set."""
    connection.execute(delete(evaluation_sets).where(evaluation_sets.c.model == model))
    connection.execute(insert(evaluation_sets).values(
        model=model, rows=rows, target=target, added_at=datetime.now(UTC), added_by=added_by
    ))


def read_evaluation(connection: Connection, model: str) -> tuple[list[dict[str, Any]], list[Any]] | None:
    row = connection.execute(select(evaluation_sets).where(evaluation_sets.c.model == model)).first()
    return (row.rows, row.target) if row else None
