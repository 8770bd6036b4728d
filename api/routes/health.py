"""Liveness (/health) and readiness (/ready)."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import PredictionLogDep, RegistryDep
from api.errors import ErrorBody, ErrorDetail

__all__ = ["router"]

router = APIRouter(tags=["service"])
logger = logging.getLogger("freeport")


class Health(BaseModel):
    """The process is up and answering."""

    status: Literal["ok"] = "ok"


class ModelReadiness(BaseModel):
    """One model's load state."""

    name: str
    state: Literal["pending", "ready", "failed"]
    version: str | None = None
    error: str | None = None
    notes: list[str] = Field(default_factory=list, description="Warnings, e.g. a version mismatch.")


class DatabaseReadiness(BaseModel):
    """The prediction log's database and its writer."""

    backend: str
    reachable: bool
    error: str | None = None
    queued: int = Field(description="Predictions waiting to be written.")
    written: int
    dropped: int = Field(description="Predictions lost: memory held them at shutdown and the spill file was full.")


class Readiness(BaseModel):
    """Every model loaded and the database reachable."""

    ready: bool
    models: list[ModelReadiness]
    database: DatabaseReadiness


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: answers as soon as the process serves HTTP, and touches nothing else."""
    return Health()


# HEAD is what many uptime monitors and load balancers send; a separate route keeps it out of the
# OpenAPI document (one operation id per path) while answering it like GET (uvicorn drops the body).
@router.head("/health", include_in_schema=False)
async def health_head() -> Health:
    return Health()


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": ErrorBody, "description": "A model failed to load or the database is unreachable."}},
)
def ready(request: Request, registry: RegistryDep, prediction_log: PredictionLogDep):
    """Readiness: every model loaded and the database reachable; 503 says what is not."""
    models = [
        ModelReadiness(
            name=e.name, state=e.state, version=e.card.version if e.card else None, error=e.error, notes=e.notes
        )
        for e in registry
    ]
    db_error = prediction_log.ping()
    if db_error:
        # The driver's message names roles, hosts and databases: it goes to the log, and to the operator
        # holding the admin key; the public learns only that the database is unreachable.
        logger.warning("readiness: the database is unreachable: %s", db_error)
        if not request.app.state.keys.is_admin(request):
            db_error = "database unreachable"
    stats = prediction_log.stats()
    database = DatabaseReadiness(
        backend=prediction_log.engine.dialect.name,
        reachable=db_error is None,
        error=db_error,
        queued=stats.queued,
        written=stats.written,
        dropped=stats.dropped,
    )
    problems = [
        ErrorDetail(field=f"models.{m.name}", message=f"{m.state}: {m.error or 'still loading'}")
        for m in models
        if m.state != "ready"
    ]
    if not models:
        problems.append(
            ErrorDetail(field="models", message=f"no model bundles found in {registry.models_dir}",
                        hint="save one with api.serving.bundle.save_bundle() or set MODELS_DIR")
        )
    if db_error:
        problems.append(ErrorDetail(field="database", message=db_error, hint="check DATABASE_URL"))
    if problems:
        body = ErrorBody(
            error="not_ready",
            message="; ".join(f"{p.field}: {p.message}" for p in problems),
            details=problems,
            request_id=request.scope["state"]["request_id"],
        )
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    return Readiness(ready=True, models=models, database=database)


@router.head("/ready", include_in_schema=False)
def ready_head(request: Request, registry: RegistryDep, prediction_log: PredictionLogDep):
    return ready(request, registry, prediction_log)
