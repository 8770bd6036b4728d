"""Read back what the prediction log stored: a model's recent inputs, for drift reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from api.storage.tables import predictions

__all__ = ["LoggedInputs", "recent_inputs"]


@dataclass(frozen=True)
class LoggedInputs:
    """A window of one model's logged predictions, newest first."""

    inputs: list[dict[str, Any]]
    versions: list[str]
    first_at: datetime | None
    last_at: datetime | None


def recent_inputs(engine: Engine, model: str, *, days: float, limit: int) -> LoggedInputs:
    """The inputs of ``model``'s predictions of the last ``days``, at most the ``limit`` newest."""
    since = datetime.now(UTC) - timedelta(days=days)
    query = (
        select(predictions.c.inputs, predictions.c.model_version, predictions.c.created_at)
        .where(predictions.c.model == model, predictions.c.created_at >= since)
        # Newest first by id: ids grow in the order rows are stored, and the primary key needs no sort.
        .order_by(predictions.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        # A database the service has just started on gets its tables once the models load: until
        # then there is nothing logged to read, which is an empty window, not an error.
        if not inspect(connection).has_table(predictions.name):
            return LoggedInputs(inputs=[], versions=[], first_at=None, last_at=None)
        rows = connection.execute(query).all()
    stamps = [row.created_at for row in rows]
    return LoggedInputs(
        inputs=[row.inputs for row in rows],
        versions=[row.model_version for row in rows],
        first_at=min(stamps) if stamps else None,
        last_at=max(stamps) if stamps else None,
    )
