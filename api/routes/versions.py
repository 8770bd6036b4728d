"""Each model's versions, as the database keeps them: which is active, which waits, how well each did;
and the upload of a new one (admin key), which becomes the candidate."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import RegistryDep, SettingsDep
from api.errors import (
    DatabaseUnavailableError,
    FreeportError,
    ModelNotFoundError,
    VersionExistsError,
    error_responses,
)
from api.routes.admin import ADMIN_KEY_REFUSALS
from api.routes.models import NAME_IN_PATH
from api.serving.registry import LOAD_WAIT_SECONDS
from api.web.security import key_id, presented_key

__all__ = ["ModelVersions", "VersionPublic", "VersionUpload", "router"]

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
    registry.wait_settled(LOAD_WAIT_SECONDS)  # right after start-up, the database's set-up comes last
    try:
        with request.app.state.database.get().connect() as connection:
            stored = list_versions(connection, name)
            pointers = pointers_of(connection, name)
    except Exception as exc:  # any driver error: the database is away, not the request at fault
        raise _database_error(exc) from exc
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


class VersionUpload(BaseModel):
    """A new version: the card save_bundle wrote and its ONNX model, base64; never a pickle."""

    card: dict[str, Any] = Field(description="card.json as save_bundle wrote it.")
    files: dict[str, str] = Field(
        description="File name → its bytes in base64: exactly the card's ONNX model (`model.onnx`)."
    )
    reason: str = Field(min_length=1, max_length=500, description="Why this version: kept with it.")


def _database_error(exc: Exception) -> DatabaseUnavailableError:
    return DatabaseUnavailableError(f"the database does not answer ({type(exc).__name__}); retry later")


@router.post(
    "/admin/models/{name}/versions",
    response_model=VersionPublic,
    status_code=201,
    tags=["admin"],
    responses=error_responses({
        **ADMIN_KEY_REFUSALS,
        409: "The model has this bundle already, or another bundle under the card's version.",
        415: "A file is a pickle (unsafe_format): only the card's ONNX model is accepted.",
        422: "The card is broken (invalid_card) or the model does not answer as it says (parity_failed).",
        503: "The database does not answer.",
    }),
    openapi_extra={"parameters": [NAME_IN_PATH]},
)
def upload_version(request: Request, upload: VersionUpload, registry: RegistryDep, settings: SettingsDep
                   ) -> VersionPublic:
    """Add a version (admin key): checked as at start-up, then stored as the model's candidate (a new
    model's first version is active at once, with its endpoints)."""
    from api.serving.poller import load_stored
    from api.serving.upload import check_upload
    from api.storage.lifecycle import record_action
    from api.storage.schema import begin_locked
    from api.storage.versions import VersionConflictError, add_version, set_active, set_candidate

    name = request.path_params["name"]
    registry.wait_settled(LOAD_WAIT_SECONDS)  # right after start-up, the database's set-up comes last
    card, files = check_upload(
        name, upload.card, upload.files, tolerance=settings.refusal_tolerance, max_batch_rows=settings.max_batch_rows
    )
    added_by = key_id(presented_key(request) or "")
    try:
        with request.app.state.database.get().connect() as connection:
            begin_locked(connection)  # a first version of a new name must not race another's
            stored, new = add_version(
                connection, card.model_dump(mode="json"), files, added_by=added_by, reason=upload.reason
            )
            if not new:
                raise VersionExistsError(f"model '{name}' has this bundle already, as version '{stored.version}'")
            # A new name has nothing to be compared with: its first version is active at once.
            first = not set_candidate(connection, name, stored.id)
            if first:
                set_active(connection, name, stored.id)
            record_action(connection, model=name, action="upload", key_id=added_by, reason=upload.reason,
                          to_version=stored.version, details={"sha256": stored.sha256, "activated": first})
            if first:  # served here at once, whole, before the answer; other instances poll for it
                loaded_card, folder, predictor = load_stored(settings, stored, connection)
            connection.commit()
    except VersionConflictError as exc:
        raise VersionExistsError(str(exc)) from None
    except FreeportError:
        raise
    except Exception as exc:  # any driver error: the transaction rolled back, nothing is stored
        raise _database_error(exc) from exc
    if first:
        registry.swap(name, loaded_card, folder, stored.sha256, predictor)
    return VersionPublic(
        version=stored.version, sha256=stored.sha256, status="active" if first else "candidate",
        added_at=stored.added_at, added_by=stored.added_by, reason=stored.reason, metrics=card.metrics,
        metrics_rows=card.metrics_rows,
    )
