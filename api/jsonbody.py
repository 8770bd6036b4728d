"""A JSON body validated straight from its bytes, for bodies big enough for it to matter.

FastAPI decodes a body with the json module into Python objects and then
validates those; pydantic can parse and validate the bytes in one pass in Rust.
For a 1,000-row batch that is 2.8 ms instead of 6.6 ms, a quarter of the
request. Errors keep FastAPI's shape (``loc`` starts with ``"body"``), so the
usual 422 handler words them, and /docs still shows the model and its examples.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

__all__ = ["openapi_body", "validate_body"]

M = TypeVar("M", bound=BaseModel)


def validate_body(model: type[M], body: bytes) -> M:
    """``body`` parsed and validated as ``model``; RequestValidationError as FastAPI would raise it."""
    if not body.strip():
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in errors]) from None


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
