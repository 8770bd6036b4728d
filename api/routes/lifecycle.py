"""The lifecycle (admin key): an evaluation set, promotion of the candidate, rollback, and the audit.

A promotion scores the active version and the candidate on the same rows, the
model's evaluation set stored in the database, with the card's metric
(api/serving/evaluate.py), and goes ahead only when the candidate is at least as
good, unless forced with a reason. The pointers move in one transaction with
the audit row, only if no one moved them since they were read; then this
instance swaps the loaded version in (api/serving/registry.py ``swap``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, ValidationError

from api.deps import RegistryDep, SettingsDep
from api.errors import (
    DatabaseUnavailableError,
    ErrorDetail,
    FreeportError,
    InvalidInputError,
    LifecycleConflictError,
    PromotionRefusedError,
    error_responses,
)
from api.routes.admin import ADMIN_KEY_REFUSALS
from api.routes.models import NAME_IN_PATH
from api.serving.card import ModelCard
from api.serving.predictor import Predictor
from api.serving.registry import LOAD_WAIT_SECONDS, Registry
from api.settings import Settings
from api.web.security import key_id, presented_key

__all__ = ["router"]

router = APIRouter(tags=["admin"])

_KEY_ERRORS = {**ADMIN_KEY_REFUSALS, 503: "The database does not answer."}


class EvaluationSet(BaseModel):
    """Rows with their true target: what a promotion scores both versions on."""

    rows: list[dict[str, Any]] = Field(min_length=1, max_length=100_000, description="Rows as a predict body takes.")
    target: list[Any] = Field(min_length=1, description="The true value of each row, in order.")


class EvaluationStored(BaseModel):
    model: str
    rows: int
    metric: str = Field(description="What a promotion compares: accuracy (classifiers) or r2 (regressions).")
    active_score: float = Field(description="The active version's metric on these rows.")


class PromotionRequest(BaseModel):
    force: bool = Field(False, description="Promote even if the candidate scores worse (or cannot be scored).")
    reason: str = Field("", max_length=500, description="Why; required when forcing.")


class RollbackRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class LifecycleResult(BaseModel):
    """The model's pointers after the change, and the comparison that allowed it."""

    model: str
    active: str
    previous: str | None
    candidate: str | None
    metric: str | None = None
    active_score: float | None = Field(None, description="The version that was active, on the evaluation set.")
    candidate_score: float | None = None
    forced: bool = False


class AuditEntry(BaseModel):
    at: datetime
    model: str
    action: str = Field(description="upload, evaluation_set, promote, forced_promote or rollback.")
    key_id: str = Field(description="The admin key's id (a prefix of its sha256), never the key.")
    from_version: str | None
    to_version: str | None
    reason: str
    details: dict[str, Any]


def _who(request: Request) -> str:
    return key_id(presented_key(request) or "")


def _database(request: Request):
    return request.app.state.database.get()


def _load(settings: Settings, stored, connection) -> tuple[ModelCard, Any, Predictor]:
    from api.serving.poller import load_stored

    return load_stored(settings, stored, connection)


def _served(registry: Registry, name: str, stored, settings: Settings, connection) -> tuple[ModelCard, Predictor]:
    """The active version's predictor: the one serving, when it is that version; else loaded."""
    entry = registry.get(name)
    if entry.sha256 == stored.sha256 and entry.predictor is not None and entry.card is not None:
        return entry.card, entry.predictor
    card, _, predictor = _load(settings, stored, connection)
    return card, predictor


def _run(request: Request, action):
    """``action(connection)`` with the database's errors as 503; our own errors pass through."""
    try:
        with _database(request).connect() as connection:
            return action(connection)
    except FreeportError:
        raise
    except Exception as exc:  # any driver error: nothing was changed (the transaction rolled back)
        raise DatabaseUnavailableError(f"the database does not answer ({type(exc).__name__}); retry later") from exc


def _pointers(connection, name: str):
    from api.storage.versions import pointers_of

    pointers = pointers_of(connection, name)
    if pointers is None:
        raise LifecycleConflictError(f"model '{name}' has no version in the database yet")
    return pointers


def _commit_move(connection, name: str, expected, *, active_id: int, previous_id, candidate_id, audit: dict) -> None:
    from api.storage.lifecycle import record_action
    from api.storage.schema import begin_locked
    from api.storage.versions import move_pointers

    connection.rollback()  # end the reads' transaction: the move runs in its own, under the lock
    begin_locked(connection)
    if not move_pointers(connection, name, expected=expected, active_id=active_id, previous_id=previous_id,
                         candidate_id=candidate_id):
        connection.rollback()
        raise LifecycleConflictError(f"model '{name}' changed while this request ran; read its versions and retry")
    record_action(connection, model=name, **audit)
    connection.commit()


@router.put(
    "/admin/models/{name}/evaluation",
    response_model=EvaluationStored,
    responses=error_responses({**_KEY_ERRORS, 404: "No model by that name.",
                               422: "A row the active version's schema refuses, or a target that does not fit."}),
    openapi_extra={"parameters": [NAME_IN_PATH]},
)
def put_evaluation(request: Request, evaluation: EvaluationSet, registry: RegistryDep, settings: SettingsDep
                   ) -> EvaluationStored:
    """Store the model's evaluation set (admin key): the rows every promotion scores both versions on."""
    from api.serving.evaluate import metric_for, score
    from api.storage.lifecycle import record_action, store_evaluation
    from api.storage.versions import get_version

    name = request.path_params["name"]
    registry.wait_settled(LOAD_WAIT_SECONDS)  # right after start-up, the database's set-up comes last
    entry = registry.get(name)
    if entry.schemas is None or entry.card is None:
        raise LifecycleConflictError(f"model '{name}' has no readable card: {entry.error}")
    if len(evaluation.target) != len(evaluation.rows):
        raise InvalidInputError(
            f"{len(evaluation.rows)} rows but {len(evaluation.target)} targets; give one target per row",
            [ErrorDetail(field="target", message="not one per row")],
        )
    for i, row in enumerate(evaluation.rows):
        try:
            entry.schemas.features.model_validate(row)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(["rows", str(i), *map(str, first["loc"])])
            raise InvalidInputError(f"{where}: {first['msg']}", [ErrorDetail(field=where, message=first["msg"])]
                                    ) from None
    card = entry.card
    for i, value in enumerate(evaluation.target):
        fits = (str(value) in (card.classes or [])) if card.task == "classification" else (
            isinstance(value, int | float) and not isinstance(value, bool))
        if not fits:
            what = f"one of {card.classes}" if card.task == "classification" else "a number"
            raise InvalidInputError(f"target.{i} must be {what}", [ErrorDetail(field=f"target.{i}", message=what)])

    def store(connection) -> float:
        pointers = _pointers(connection, name)
        card, predictor = _served(registry, name, get_version(connection, pointers.active_id), settings, connection)
        value = score(predictor, card, evaluation.rows, evaluation.target)
        store_evaluation(connection, name, evaluation.rows, evaluation.target, added_by=_who(request))
        record_action(connection, model=name, action="evaluation_set", key_id=_who(request),
                      reason=f"{len(evaluation.rows)} rows", details={metric_for(card): value})
        connection.commit()
        return value

    value = _run(request, store)
    return EvaluationStored(model=name, rows=len(evaluation.rows), metric=metric_for(card), active_score=value)


@router.post(
    "/admin/models/{name}/promote",
    response_model=LifecycleResult,
    responses=error_responses({
        **_KEY_ERRORS, 404: "No model by that name.",
        409: "No candidate or no evaluation set (lifecycle_conflict), or the candidate scores worse "
        "(promotion_refused); nothing changed.",
        422: "force without a reason.",
    }),
    openapi_extra={"parameters": [NAME_IN_PATH]},
)
def promote(request: Request, body: PromotionRequest, registry: RegistryDep, settings: SettingsDep
            ) -> LifecycleResult:
    """Make the candidate active (admin key) if it scores at least as well on the evaluation set, or if forced."""
    from api.serving.evaluate import metric_for, score
    from api.storage.lifecycle import read_evaluation
    from api.storage.versions import get_version

    name = request.path_params["name"]
    registry.wait_settled(LOAD_WAIT_SECONDS)  # right after start-up, the database's set-up comes last
    registry.get(name)
    if body.force and not body.reason.strip():
        raise InvalidInputError("a forced promotion needs a reason", [ErrorDetail(field="reason", message="empty")])

    def run(connection) -> LifecycleResult:
        pointers = _pointers(connection, name)
        if pointers.candidate_id is None:
            raise LifecycleConflictError(f"model '{name}' has no candidate: upload one first")
        active, candidate = get_version(connection, pointers.active_id), get_version(connection, pointers.candidate_id)
        new_card, folder, new_predictor = _load(settings, candidate, connection)
        metric, before, after = metric_for(new_card), None, None
        evaluation = read_evaluation(connection, name)
        if evaluation is None and not body.force:
            raise LifecycleConflictError(
                f"model '{name}' has no evaluation set to compare the versions on: PUT one to "
                f"/admin/models/{name}/evaluation, or force with a reason"
            )
        if evaluation is not None:
            old_card, old_predictor = _served(registry, name, active, settings, connection)
            before = score(old_predictor, old_card, *evaluation)
            try:
                after = score(new_predictor, new_card, *evaluation)
            except Exception as exc:  # e.g. a candidate that reads a column the evaluation rows lack
                if not body.force:
                    raise PromotionRefusedError(
                        f"the candidate cannot be scored on the evaluation set ({type(exc).__name__}: "
                        f"{str(exc)[:200]}); store rows both versions read, or force with a reason"
                    ) from None
            if after is not None and after < before and not body.force:
                raise PromotionRefusedError(
                    f"the candidate {candidate.version} scores {metric} {after:.4f} on the evaluation set, worse "
                    f"than the active {active.version}'s {before:.4f}; nothing changed (force with a reason to "
                    "promote it anyway)",
                    [ErrorDetail(field=metric, message=f"candidate {after:.4f} < active {before:.4f}")],
                )
        forced = body.force and (evaluation is None or after is None or after < before)
        _commit_move(connection, name, pointers, active_id=candidate.id, previous_id=active.id, candidate_id=None,
                     audit={"action": "forced_promote" if forced else "promote", "key_id": _who(request),
                            "reason": body.reason, "from_version": active.version, "to_version": candidate.version,
                            "details": {"metric": metric, "active_score": before, "candidate_score": after}})
        registry.swap(name, new_card, folder, candidate.sha256, new_predictor)
        return LifecycleResult(model=name, active=candidate.version, previous=active.version, candidate=None,
                               metric=metric, active_score=before, candidate_score=after, forced=forced)

    return _run(request, run)


@router.post(
    "/admin/models/{name}/rollback",
    response_model=LifecycleResult,
    responses=error_responses({**_KEY_ERRORS, 404: "No model by that name.",
                               409: "No previous version to return to; nothing changed.",
                               422: "No reason given."}),
    openapi_extra={"parameters": [NAME_IN_PATH]},
)
def rollback(request: Request, body: RollbackRequest, registry: RegistryDep, settings: SettingsDep
             ) -> LifecycleResult:
    """Serve the previous version again (admin key); the one rolled back from becomes the previous."""
    from api.storage.versions import get_version

    name = request.path_params["name"]
    registry.wait_settled(LOAD_WAIT_SECONDS)  # right after start-up, the database's set-up comes last
    registry.get(name)

    def run(connection) -> LifecycleResult:
        pointers = _pointers(connection, name)
        if pointers.previous_id is None:
            raise LifecycleConflictError(f"model '{name}' has no previous version to roll back to")
        active, previous = get_version(connection, pointers.active_id), get_version(connection, pointers.previous_id)
        card, folder, predictor = _load(settings, previous, connection)
        candidate = pointers.candidate_id if pointers.candidate_id != previous.id else None
        _commit_move(connection, name, pointers, active_id=previous.id, previous_id=active.id, candidate_id=candidate,
                     audit={"action": "rollback", "key_id": _who(request), "reason": body.reason,
                            "from_version": active.version, "to_version": previous.version})
        registry.swap(name, card, folder, previous.sha256, predictor)
        waiting = get_version(connection, candidate).version if candidate is not None else None
        return LifecycleResult(model=name, active=previous.version, previous=active.version, candidate=waiting)

    return _run(request, run)


@router.get(
    "/admin/audit",
    response_model=list[AuditEntry],
    responses=error_responses({**_KEY_ERRORS, 422: "A limit outside 1-1000."}),
)
def audit(
    request: Request,
    registry: RegistryDep,
    model: Annotated[str | None, Query(description="Only this model's actions.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    """Every lifecycle action, newest first (admin key): uploads, evaluation sets, promotions, rollbacks."""
    from api.storage.lifecycle import list_audit

    registry.wait_settled(LOAD_WAIT_SECONDS)
    return [AuditEntry(**row) for row in _run(request, lambda c: list_audit(c, model=model, limit=limit))]
