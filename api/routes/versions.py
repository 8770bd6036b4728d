"""Each model's versions, as the database keeps them: which is active, which waits, how well each did."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import RegistryDep
from api.errors import DatabaseUnavailableError, ModelNotFoundError, error_responses
from api.routes.models import NAME_IN_PATH

__all__ = ["ModelVersions", "VersionPublic", "router"]

router = APIRouter(tags=["models"])


class VersionPublic(BaseModel):
    """One version of a model: a bundle, who added it, when and why, and its held-out metrics."""

    version: str = Field(description="The card's version: what responses and the prediction log name.")
    sha256: str = Field(description="The bundle's content hash (its card, which pins each file by sha256).")
    status: Literal["active", "candidate", "previous"] | None = Field(
        None, description="active: served; candidate: waiting to be promoted; previous: what a rollback returns to."
    )
    added_at: datetime
    added_by: str = Field(description="`models/` for a bundle found on disk at start-up, else the admin key's id.")
    reason: str
    metrics: dict[str, float] = Field(description="From the card: measured on the held-out rows.")
    metrics_rows: int | None = Field(None, description="Held-out rows behind the metrics.")


class ModelVersions(BaseModel):
    """A model's versions, oldest first."""

    model: str
    active: str | None = Field(description="The version served.")
    candidate: str | None = None
    previous: str | None = None
    versions: list[VersionPublic]


@router.get(
    "/models/{name}/versions",
    response_model=ModelVersions,
    responses=error_responses({
        404: "No model by that name has a version in the database.",
        503: "The database, where versions are kept, does not answer.",
    }),
    openapi_extra={"parameters": [NAME_IN_PATH]},
)
def get_versions(request: Request, registry: RegistryDep) -> ModelVersions:
    """A model's versions with their held-out metrics: which is active, which is the candidate."""
    from api.storage.versions import list_versions, pointers_of

    name = request.path_params["name"]
    try:
        with request.app.state.database.get().connect() as connection:
            stored = list_versions(connection, name)
            pointers = pointers_of(connection, name)
    except Exception as exc:  # any driver error: the database is away, not the request at fault
        raise DatabaseUnavailableError(f"the database does not answer ({type(exc).__name__}); retry later") from exc
    if not stored:
        registry.get(name)  # an unknown name: 404 with the closest name
        raise ModelNotFoundError(f"model '{name}' has no version in the database yet; it is stored once it loads")
    status: dict[int, Literal["active", "candidate", "previous"]] = {}
    if pointers is not None:
        for which, version_id in (
            ("previous", pointers.previous_id), ("candidate", pointers.candidate_id), ("active", pointers.active_id)
        ):
            if version_id is not None:
                status[version_id] = which
    by_id = {version.id: version.version for version in stored}
    return ModelVersions(
        model=name,
        active=by_id.get(pointers.active_id) if pointers else None,
        candidate=by_id.get(pointers.candidate_id) if pointers else None,
        previous=by_id.get(pointers.previous_id) if pointers else None,
        versions=[
            VersionPublic(
                version=v.version, sha256=v.sha256, status=status.get(v.id), added_at=v.added_at,
                added_by=v.added_by, reason=v.reason, metrics=v.card.get("metrics", {}),
                metrics_rows=v.card.get("metrics_rows"),
            )
            for v in stored
        ],
    )
