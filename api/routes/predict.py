"""Each model's typed endpoints, built from its card, plus a fallback that
explains unknown or failed models in the usual error shape.

No ``from __future__ import annotations`` here: FastAPI must see the closures'
run-time-built classes as real objects, not as strings naming local variables.
"""

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from api.deps import PredictionLogDep, RegistryDep, request_id
from api.errors import ErrorBody, UnsupportedMediaTypeError
from api.predictor import Predictor
from api.registry import ModelEntry, Registry

__all__ = ["build_predict_router"]

_ERRORS = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        404: "No such model.",
        415: "The body is not JSON.",
        422: "A field is missing, unknown, of the wrong type, out of range or an unknown category.",
        503: "The model failed to load.",
    }.items()
}


def require_json(request: Request) -> None:
    """Refuse bodies declared as anything but JSON (curl -d sends a form by default)."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaTypeError(
            f"the body was sent as {media or 'an unknown type'}, but must be JSON: "
            "add the header `Content-Type: application/json`"
        )


RequestIdDep = Annotated[str, Depends(request_id)]
_JSON_ONLY = [Depends(require_json)]


def _serve(name: str, version: str, rows: list[dict[str, Any]], predictor: Predictor, log, rid: str):
    """Predict rows and queue their log records; returns the outcomes."""
    started = time.perf_counter()
    outcomes = predictor.predict(rows)
    latency_ms = (time.perf_counter() - started) * 1000
    now = datetime.now(UTC)
    log.record(
        [
            {
                "created_at": now,
                "request_id": rid,
                "model": name,
                "model_version": version,
                "inputs": row,
                "outputs": outcome,
                "latency_ms": latency_ms,
            }
            for row, outcome in zip(rows, outcomes, strict=True)
        ]
    )
    return outcomes


def _add_model_routes(router: APIRouter, entry: ModelEntry) -> None:
    card, schemas = entry.card, entry.schemas
    name, version = card.name, card.version
    Features, Batch = schemas.features, schemas.batch  # noqa: N806 -- classes built at run time
    batch_examples = {"examples": {"summary": "Real rows from the training data", "value": {"rows": card.examples}}}
    examples = {
        f"example {i + 1}": {"summary": f"A real row from the training data ({i + 1})", "value": row}
        for i, row in enumerate(card.examples)
    }
    def ready_predictor(registry: RegistryDep) -> Predictor:
        # A dependency, so a model that failed to load answers 503 before its body is validated.
        return registry.predictor(name)

    PredictorDep = Annotated[Predictor, Depends(ready_predictor)]  # noqa: N806 -- a type alias, per model

    metrics = ", ".join(f"{k} {v:.3f}" for k, v in card.metrics.items()) or "none recorded"
    about = f"{card.description}\n\nModel `{name}` version `{version}` ({card.estimator}); held-out {metrics}."

    def predict(
        features: Annotated[Features, Body(openapi_examples=examples)],
        predictor: PredictorDep,
        log: PredictionLogDep,
        rid: RequestIdDep,
    ) -> dict[str, Any]:
        outcome = _serve(name, version, [features.model_dump(by_alias=True)], predictor, log, rid)[0]
        return {"model": name, "version": version, "request_id": rid, **outcome}

    def predict_batch(
        batch: Annotated[Batch, Body(openapi_examples=batch_examples)],
        predictor: PredictorDep,
        log: PredictionLogDep,
        rid: RequestIdDep,
    ) -> dict[str, Any]:
        rows = [row.model_dump(by_alias=True) for row in batch.rows]
        outcomes = _serve(name, version, rows, predictor, log, rid)
        return {"model": name, "version": version, "request_id": rid, "predictions": outcomes}

    common = {"methods": ["POST"], "tags": [name], "dependencies": _JSON_ONLY, "responses": _ERRORS}
    router.add_api_route(
        f"/models/{name}/predict",
        predict,
        response_model=schemas.prediction,
        summary=f"{card.title}: one row",
        description=about,
        operation_id=f"predict_{name}",
        **common,
    )
    router.add_api_route(
        f"/models/{name}/predict/batch",
        predict_batch,
        response_model=schemas.batch_prediction,
        summary=f"{card.title}: many rows",
        description=about,
        operation_id=f"predict_batch_{name}",
        **common,
    )


def build_predict_router(registry: Registry) -> APIRouter:
    """Typed routes for every model whose card was read, then the fallback routes."""
    router = APIRouter()
    for entry in registry:
        if entry.schemas is not None:
            _add_model_routes(router, entry)

    # Reached only for names without typed routes: unknown, or a card that failed to read.
    @router.post("/models/{name}/predict", include_in_schema=False)
    @router.post("/models/{name}/predict/batch", include_in_schema=False)
    def unknown_model(name: str, registry: RegistryDep) -> None:
        registry.predictor(name)

    return router
