"""Operators' endpoints: Prometheus metrics, and the service's counters as JSON (admin key)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from api.deps import PredictionLogDep, RegistryDep
from api.errors import error_responses

__all__ = ["ADMIN_KEY_REFUSALS", "KEY_ERRORS", "admin_when_configured", "router"]

router = APIRouter(tags=["service"])

# What every admin route answers without the right key; other routers add their own statuses to it.
ADMIN_KEY_REFUSALS = {
    401: "The admin key is required and was not sent.",
    403: "Wrong key, or admin endpoints are off (no ADMIN_API_KEY).",
}
KEY_ERRORS = error_responses(ADMIN_KEY_REFUSALS)


def _admin_only(request: Request) -> None:
    request.app.state.keys.require_admin(request)


def admin_when_configured(request: Request) -> None:
    # Metrics hold counts, never inputs or keys: open by default, behind the admin key once there is one.
    if request.app.state.keys.has_admin:
        request.app.state.keys.require_admin(request)


class PredictionLogStatus(BaseModel):
    """The prediction log's writer."""

    queued: int = Field(description="Rows waiting to be written, in memory or in the spill file.")
    spilled: int = Field(description="Of the rows waiting, those on disk in the spill file.")
    spill_bytes: int = Field(description="Size of the spill file.")
    written: int = Field(description="Rows stored in the database by this process.")
    replayed: int = Field(description="Of those, rows left in the spill by an earlier process.")
    refused: int = Field(description="Predict requests refused (503) because memory and the spill were full.")
    dropped: int = Field(description="Rows answered and then lost: only if the spill was full at shutdown.")
    failed_writes: int = Field(description="Writes that failed and were retried.")
    last_error: str | None = Field(None, description="The database's last error, until a write succeeds.")


class ServiceStats(BaseModel):
    """What the service has done since it started."""

    uptime_seconds: float
    prediction_log: PredictionLogStatus
    models_ready: list[str]
    models_failed: list[str]


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(admin_when_configured)],
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."}, **KEY_ERRORS},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency by route, predictions by model, the log's queue, memory."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/admin/stats", response_model=ServiceStats, dependencies=[Depends(_admin_only)], responses=KEY_ERRORS)
def admin_stats(request: Request, registry: RegistryDep, prediction_log: PredictionLogDep) -> ServiceStats:
    """Counters for operators (admin key): the prediction log's writer and the models' states."""
    stats = prediction_log.stats()
    return ServiceStats(
        uptime_seconds=round(time.monotonic() - request.app.state.started_at, 3),
        prediction_log=PredictionLogStatus(
            queued=stats.queued, spilled=stats.spilled, spill_bytes=stats.spill_bytes, written=stats.written,
            replayed=stats.replayed, refused=stats.refused, dropped=stats.dropped,
            failed_writes=stats.failed_writes, last_error=stats.last_error,
        ),
        models_ready=[e.name for e in registry if e.state == "ready"],
        models_failed=[e.name for e in registry if e.state == "failed"],
    )
