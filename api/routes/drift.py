"""Drift reports: a model's recent inputs, as the prediction log stored them, against its training data."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.deps import PredictionLogDep, RegistryDep
from api.errors import DatabaseUnavailableError, ModelUnavailableError, NoTrainingProfileError, error_responses
from api.monitoring.drift import DriftReport, DriftThresholds, compare
from api.routes.admin import KEY_ERRORS, admin_when_configured
from api.routes.models import NAME_IN_PATH

__all__ = ["router"]

logger = logging.getLogger("freeport.drift")

router = APIRouter(tags=["service"])

# The thresholds' defaults, as DriftThresholds declares them: the query parameters start from these.
_DEFAULT = DriftThresholds()


# A plain `def`: the query and the counting run in the thread pool, not on the event loop.
@router.get(
    "/models/{name}/drift",
    response_model=DriftReport,
    # Aggregates of what clients sent: open like /metrics, behind the admin key once there is one.
    dependencies=[Depends(admin_when_configured)],
    responses={
        **error_responses({
            404: "No model by that name; the message suggests the closest one.",
            409: "The model's card records no training distribution (saved by an older freeport): save it again.",
            422: "A query parameter is out of bounds; the detail names it (e.g. `query.days`).",
            503: "The model could not be loaded, or the prediction log's database did not answer.",
        }),
        **KEY_ERRORS,
    },
    openapi_extra={"parameters": [NAME_IN_PATH]},
)
def drift(
    request: Request,
    registry: RegistryDep,
    prediction_log: PredictionLogDep,
    days: Annotated[float, Query(gt=0, le=366, description="How far back the window reaches.")] = 7,
    limit: Annotated[int, Query(ge=1, le=100_000, description="At most this many of the newest predictions.")] = 10_000,
    psi_drifted: Annotated[
        float, Query(gt=0, description="PSI from which a feature is flagged.")
    ] = _DEFAULT.psi_drifted,
    outside_drifted: Annotated[
        float, Query(gt=0, le=1, description="Share of never-seen values that flags a feature.")
    ] = _DEFAULT.outside_drifted,
    min_predictions: Annotated[
        int, Query(ge=1, description="Fewer predictions: nothing is flagged.")
    ] = _DEFAULT.min_predictions,
) -> DriftReport:
    """Each input's spread over the window's predictions against training: PSI, values never seen, flags."""
    entry = registry.get(request.path_params["name"])
    if entry.card is None:
        raise ModelUnavailableError(f"model {entry.name!r} cannot be served: {entry.error}")
    card = entry.card
    if card.training_profile is None:
        raise NoTrainingProfileError(
            f"the card of {card.name!r} records no training distribution to compare with (it was saved by an "
            "older freeport); save the bundle again with save_bundle() or `python -m api.bundle save`"
        )
    thresholds = DriftThresholds(
        psi_drifted=psi_drifted,
        psi_shifting=min(_DEFAULT.psi_shifting, psi_drifted),
        outside_drifted=outside_drifted,
        min_predictions=min_predictions,
    )
    # Imported here: the server listens before SQLAlchemy loads (it loads in the log writer's thread).
    from sqlalchemy.exc import SQLAlchemyError

    from api.storage.logged_inputs import recent_inputs

    try:
        window = recent_inputs(prediction_log.engine, card.name, days=days, limit=limit)
    except SQLAlchemyError as exc:
        # The driver's message names hosts and roles: it goes to the log, not to the client.
        logger.warning("drift report for %s: the database did not answer: %s", card.name, exc)
        raise DatabaseUnavailableError(
            "the prediction log's database did not answer; try again in a minute (GET /ready tells when it is back)"
        ) from exc
    features = compare(card, window.inputs, thresholds)
    versions: dict[str, int] = {}
    for version in window.versions:
        versions[version] = versions.get(version, 0) + 1
    return DriftReport(
        model=card.name,
        version=card.version,
        predictions=len(window.inputs),
        window_days=days,
        limit=limit,
        first_at=_iso(window.first_at),
        last_at=_iso(window.last_at),
        versions_seen=versions,
        thresholds=thresholds,
        enough_data=len(window.inputs) >= min_predictions,
        drifted=[f.name for f in features if f.flagged],
        features=features,
    )


def _iso(stamp: datetime | None) -> str | None:
    if stamp is None:
        return None
    # SQLite gives back naive datetimes (every stamp the log stores is UTC); PostgreSQL, the session's zone.
    utc = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return utc.isoformat(timespec="seconds").replace("+00:00", "Z")
