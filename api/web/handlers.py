"""Map every failure to one JSON shape (ErrorBody): freeport's own errors,
validation errors, unknown routes, and anything unexpected (as a 500 without
a traceback; the traceback goes to the log with the request id)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from slowapi.errors import RateLimitExceeded
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from api.encodable import EncodableJSONResponse
from api.errors import ErrorBody, ErrorDetail, FreeportError, InvalidInputError, MissingKeyError, closest
from api.web.body_refusal import BodyRefused
from api.web.jsonfailures import JSON_EXAMPLE_HINT, SURROGATE, parse_failure, undecodable_body
from api.web.ratelimit import retry_after_seconds
from api.web.type_advice import type_hint

__all__ = ["error_response", "install_error_handlers", "validation_details"]

logger = logging.getLogger("freeport.errors")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def error_response(scope: Scope, status: int, code: str, message: str, details=(), headers=None) -> JSONResponse:
    """An ErrorBody response; middleware answering on its own (413, 504) uses it too."""
    body = ErrorBody(
        error=code,
        message=message,
        details=list(details),
        request_id=scope.get("state", {}).get("request_id"),
    )
    # Encodable whatever the client sent: a message may quote its value, lone surrogates included.
    return EncodableJSONResponse(body.model_dump(), status_code=status, headers=headers)


def _respond(request: Request, status: int, code: str, message: str, details=(), headers=None) -> JSONResponse:
    return error_response(request.scope, status, code, message, details, headers)


def _field_path(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] == "body" else [str(p) for p in loc]
    return ".".join(parts) or None


def validation_details(errors: list[dict[str, Any]]) -> list[ErrorDetail]:
    """Turn pydantic's errors into ErrorDetails that say how to fix each field."""
    missing = {tuple(e["loc"][:-1]): [] for e in errors}
    for error in errors:
        if error["type"] == "missing":
            missing[tuple(error["loc"][:-1])].append(str(error["loc"][-1]))
    details = []
    for error in errors:
        kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx") or {}
        field, message = _field_path(loc), error["msg"]
        hint = ctx.get("hint") or type_hint(kind, error.get("input"))
        if kind == "json_invalid":
            field = None
            message, hint = parse_failure(str(ctx.get("error", "parse error")))
        elif kind == "string_unicode":  # a key holding a lone surrogate, which pydantic-core cannot read
            message, hint = SURROGATE
        elif kind == "missing":
            message = "this field is required"
            if loc == ("body",):
                field, message = None, "the request has no JSON body"
                hint = JSON_EXAMPLE_HINT
        elif kind == "extra_forbidden":
            message = "unknown field"
            suggestion = closest(str(loc[-1]), missing.get(loc[:-1], []))
            hint = f"did you mean '{suggestion}'?" if suggestion else "remove it; /docs lists the fields"
        elif kind in ("too_short", "too_long") and loc[-1:] == ("rows",):
            size = ctx.get("actual_length")
            limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
            if kind == "too_short":
                message, hint = "the batch is empty", "send at least one row"
            else:
                message = f"the batch has {size} rows; the limit is {limit}"
                hint = f"split it into batches of at most {limit} rows"
        elif kind in ("model_attributes_type", "model_type") and loc == ("body",):
            field, message = None, "the body must be a JSON object"
        details.append(ErrorDetail(field=field, message=message, hint=hint))
    return details


def _without_trailing_slash(request: Request) -> str | None:
    """The path without its trailing slash when a route serves that: the hint a redirect used to give
    (redirects are off, see api.app), without trusting the request's Host or scheme."""
    path = request.url.path
    if not path.endswith("/") or path == "/":
        return None
    stripped = path.rstrip("/") or "/"
    scope = {**request.scope, "path": stripped}
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return stripped
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error response the ErrorBody shape."""

    @app.exception_handler(FreeportError)
    async def _freeport(request: Request, exc: FreeportError) -> JSONResponse:
        headers = {"Retry-After": "5"} if exc.status_code == 503 else None
        if isinstance(exc, MissingKeyError):
            headers = {"WWW-Authenticate": 'Bearer realm="freeport"'}
        return _respond(request, exc.status_code, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(list(exc.errors()))
        fields = [d.field for d in details if d.field]
        message = f"invalid input: {', '.join(fields)}" if fields else details[0].message
        return _respond(request, 422, InvalidInputError.code, message, details)

    @app.exception_handler(RateLimitExceeded)
    async def _limited(request: Request, exc: RateLimitExceeded) -> JSONResponse:
        wait = retry_after_seconds(request)
        message = f"too many requests: the limit is {exc.detail}; retry in {wait} s"
        hint = "send an API key to be counted on your own, or ask for a higher limit"
        details = [ErrorDetail(field=None, message=f"limit {exc.detail}", hint=hint)]
        return _respond(request, 429, "rate_limited", message, details, {"Retry-After": str(wait)})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyRefused):  # raised while a route read its body
            return _respond(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        details = []
        if exc.status_code == 404:
            message = f"nothing at {request.url.path}; GET /models lists the models, /docs the endpoints"
            suggestion = _without_trailing_slash(request)
            if suggestion:
                message = f"nothing at {request.url.path}; did you mean {suggestion}?"
                details = [ErrorDetail(message=message, hint=f"send the request to {suggestion}, without the slash")]
        elif exc.status_code == 400:
            # FastAPI's answer to a body its json.loads raised on (not UTF-8, a number with thousands of
            # digits, nesting past the recursion limit): bad input like any other, named by its cause.
            message, hint = undecodable_body(exc.__cause__)
            details = [ErrorDetail(message=message, hint=hint)]
            return _respond(request, 422, InvalidInputError.code, message, details)
        return _respond(request, exc.status_code, code, message, details, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = request.scope.get("state", {}).get("request_id")
        logger.exception("unhandled error in %s %s (request %s)", request.method, request.url.path, rid)
        return _respond(request, 500, "internal_error", f"an unexpected error occurred; quote request id {rid}")
