"""Each model's typed endpoints, built from its card, plus a fallback that
explains unknown or failed models in the usual error shape.

The hot path is kept short: async endpoints and dependencies (a sync one costs
a hop to the threadpool per request), single rows micro-batched per model
(api/serving/batching.py), a batch body validated straight from its bytes
(api/web/jsonbody.py), and the response serialised once, straight to JSON bytes;
``response_model`` still documents it in /docs.

No ``from __future__ import annotations`` here: FastAPI must see the closures'
run-time-built classes as real objects, not as strings naming local variables.
"""

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request, Response
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from api.deps import RegistryDep
from api.errors import ModelUnavailableError, PredictionLogFullError, UnsupportedMediaTypeError, error_responses
from api.serving.batching import MicroBatcher
from api.serving.predictor import Predictor
from api.serving.registry import LOAD_WAIT_SECONDS, ModelEntry, Registry
from api.web.jsonbody import openapi_body, validate_body_fast

__all__ = ["build_predict_router", "replace_model_routes"]

_ERRORS = error_responses(
    {
        404: "No such model.",
        415: "The body is not JSON.",
        422: "A field is missing, unknown, of the wrong JSON type or an unknown category; a number out of range "
        "(with STRICT_RANGES); a body that is not a JSON object; or the model failed on an accepted row.",
        503: "The model failed to load, or the prediction log is full (memory and spill file: the "
        "database has been away too long); Retry-After says when to try again.",
    }
)


async def require_json(request: Request) -> None:
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


# ONNX runs this many rows in well under a millisecond: not worth a thread hop.
INLINE_ROWS = 64


def _json(payload: dict[str, Any]) -> Response:
    return Response(to_json(payload), media_type="application/json")


def _log(request: Request, name: str, version: str, rows, outcomes, latency_ms: float) -> None:
    """Queue the log records (a non-blocking put; the writer thread does the I/O)."""
    now = datetime.now(UTC)
    rid = request.scope["state"]["request_id"]
    # Tuples in RECORD_FIELDS order.
    records = [(now, rid, name, version, row, outcome, latency_ms) for row, outcome in zip(rows, outcomes, strict=True)]
    request.app.state.prediction_log.record(records)


def _add_model_routes(router: APIRouter, entry: ModelEntry) -> None:
    card, schemas = entry.card, entry.schemas
    name, version = card.name, card.version
    Features, Batch = schemas.features, schemas.batch  # noqa: N806 -- classes built at run time
    out_of_range = schemas.out_of_range
    batch_examples = {"real rows": {"summary": "Real rows from the training data", "value": {"rows": card.examples}}}
    examples = {
        f"example {i + 1}": {"summary": f"A real row from the training data ({i + 1})", "value": row}
        for i, row in enumerate(card.examples)
    }
    async def ready_predictor(request: Request) -> Predictor:
        # A dependency, so a body that is not JSON (415) or a model that failed to load (503) is
        # answered before the body is validated, and a prediction the log could not keep is refused
        # before it is made: every 200 is stored. One dependency for all three: FastAPI's resolution
        # of each costs every prediction.
        await require_json(request)
        prediction_log = request.app.state.prediction_log
        if prediction_log.refusing:
            prediction_log.count_refusal()
            raise PredictionLogFullError(
                "the prediction log is full (the database has been unreachable too long), so this "
                "prediction would not be recorded; try again later"
            )
        registry = request.app.state.registry
        if registry.get(name).state == "pending":
            # The request that woke a sleeping instance waits for its model, in a thread:
            # blocking the event loop would stall /health and every other model meanwhile.
            await run_in_threadpool(registry.wait_loaded, LOAD_WAIT_SECONDS)
        return registry.predictor(name)

    batchers: dict[int, MicroBatcher] = {}

    def batcher_for(request: Request, predictor: Predictor) -> MicroBatcher:
        batcher = batchers.get(id(predictor))
        if batcher is None:
            settings = request.app.state.settings
            batcher = batchers[id(predictor)] = MicroBatcher(
                predictor.predict,
                max_rows=settings.micro_batch_max_rows,
                wait_seconds=settings.micro_batch_wait_ms / 1000,
                inline=predictor.engine_name == "onnx",
            )
        return batcher

    PredictorDep = Annotated[Predictor, Depends(ready_predictor)]  # noqa: N806 -- a type alias, per model

    metrics = ", ".join(f"{k} {v:.3f}" for k, v in card.metrics.items()) or "none recorded"
    about = f"{card.description}\n\nModel `{name}` version `{version}` ({card.estimator}); held-out {metrics}."

    async def predict(
        features: Annotated[Features, Body(openapi_examples=examples)],
        predictor: PredictorDep,
        request: Request,
    ) -> Response:
        row = features.model_dump(by_alias=True)
        outcome, latency_ms = await batcher_for(request, predictor).predict_one(row)
        outcome = {**outcome, "out_of_range": out_of_range.row(row)}
        _log(request, name, predictor.version, [row], [outcome], latency_ms)
        rid = request.scope["state"]["request_id"]
        return _json({"model": name, "version": predictor.version, "request_id": rid, **outcome})

    async def batch_rows(request: Request) -> list[dict[str, Any]]:
        # Parsed and validated from the bytes in one pass, into plain dicts: the bulk of a big
        # batch's time. The Batch model words the errors of a body that is refused.
        return validate_body_fast(schemas.batch_rows, Batch, await request.body())["rows"]

    async def predict_batch(
        predictor: PredictorDep,  # first: a model that failed to load answers 503 before the body is read
        rows: Annotated[list[dict[str, Any]], Depends(batch_rows)],
        request: Request,
    ) -> Response:
        started = time.perf_counter()
        if predictor.engine_name == "onnx" and len(rows) <= INLINE_ROWS:
            outcomes = predictor.predict(rows)
        else:
            outcomes = await run_in_threadpool(predictor.predict, rows)
        for outcome, outside in zip(outcomes, out_of_range.rows(rows), strict=True):
            outcome["out_of_range"] = outside  # in the outcome, so the log stores it too
        _log(request, name, predictor.version, rows, outcomes, (time.perf_counter() - started) * 1000)
        rid = request.scope["state"]["request_id"]
        return _json({"model": name, "version": predictor.version, "request_id": rid, "predictions": outcomes})

    common = {"methods": ["POST"], "tags": [name], "responses": _ERRORS}
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
        openapi_extra=openapi_body(Batch, batch_examples),
        response_model=schemas.batch_prediction,
        summary=f"{card.title}: many rows",
        description=about,
        operation_id=f"predict_batch_{name}",
        **common,
    )


def replace_model_routes(app: FastAPI, router: APIRouter, entry: ModelEntry) -> None:
    """Serve ``entry``'s card from now on: its typed routes in ``router`` (the one
    :func:`build_predict_router` made) rebuilt, or added for a new name, and /openapi.json
    rebuilt on its next request.

    The route list is replaced by a new list in one assignment, never changed in place: a
    request being matched meanwhile sees the old list or the new one, whole.
    """
    fresh = APIRouter()
    _add_model_routes(fresh, entry)
    paths = {f"/models/{entry.name}/predict", f"/models/{entry.name}/predict/batch"}
    old = router.routes
    typed = [i for i, route in enumerate(old) if getattr(route, "path", None) in paths and route.include_in_schema]
    at = typed[0] if typed else 0  # a new name goes first, before the fallback that explains unknown names
    kept = [route for i, route in enumerate(old) if i not in typed]
    router.routes = kept[:at] + fresh.routes + kept[at:]
    # FastAPI (0.16x) caches each included router's routes by a version number that its own
    # add_api_route bumps; a list assigned whole must bump it too, or the app keeps matching the old routes.
    router._mark_routes_changed()
    app.openapi_schema = None


def build_predict_router(registry: Registry) -> APIRouter:
    """Typed routes for every model whose card was read, then the fallback routes."""
    router = APIRouter()
    for entry in registry:
        if entry.schemas is not None:
            _add_model_routes(router, entry)

    # Reached only for names without typed routes: unknown, a card that failed to read, or (for an
    # instant) a version just swapped in whose routes are being built. Never a 200: there is no
    # schema here to check the body against.
    @router.post("/models/{name}/predict", include_in_schema=False)
    @router.post("/models/{name}/predict/batch", include_in_schema=False)
    async def unknown_model(name: str, registry: RegistryDep) -> None:
        registry.predictor(name)
        raise ModelUnavailableError(f"model '{name}' is being put in service on this instance; retry in a moment")

    return router
