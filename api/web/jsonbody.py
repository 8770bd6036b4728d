"""A JSON body validated straight from its bytes, for bodies big enough for it to matter.

FastAPI decodes a body with the json module into Python objects and then
validates those; pydantic can parse and validate the bytes in one pass in Rust.
For a 1,000-row batch that is 2.8 ms instead of 6.6 ms, a quarter of the
request. Errors keep FastAPI's shape (``loc`` starts with ``"body"``), so the
usual 422 handler words them, and /docs still shows the model and its examples.

:func:`validate_body_fast` goes further for a body whose rules pydantic-core can
check on its own: a TypeAdapter validates it into plain data, and the model
(which explains its errors) sees only a body the adapter refused.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError

__all__ = ["openapi_body", "validate_body", "validate_body_fast"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def validate_body(model: type[M], body: bytes) -> M:
    """``body`` parsed and validated as ``model``; RequestValidationError as FastAPI would raise it."""
    if not body.strip():
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in errors]) from None


def validate_body_fast(fast: TypeAdapter[T], model: type[BaseModel], body: bytes) -> T:
    """``body`` validated by ``fast``, which must accept exactly what ``model`` accepts and
    return what ``model_dump(by_alias=True)`` would; ``model`` words the errors when it refuses.

    ``model`` is the authority: were it to accept a body ``fast`` refused, its dump is returned.
    """
    try:
        return fast.validate_json(body)
    except ValidationError:
        return validate_body(model, body).model_dump(by_alias=True)  # raises the explained 422


def openapi_body(model: type[BaseModel], examples: dict[str, Any]) -> dict[str, Any]:
    """The ``openapi_extra`` that documents ``model`` as the request body, as a Body parameter would.

    The models it refers to must be components already (the single-row route's
    features model is): refs point at ``#/components/schemas/<Name>``.
    """
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "examples": examples}},
        }
    }
