"""Wiring of the request guards: what refuses a request before (or instead of) a route answering.

Middleware for every route: security headers, CORS, the body size limit, the
request timeout. Dependencies for the predict routes only: the API key, then
the rate limit (a valid key names the client's bucket, so the key goes first).
Each guard lives in its own module; this one only puts them in order.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.body_limit import BodyLimitMiddleware
from api.errors import error_responses
from api.ratelimit import create_limiter, predict_limit_dependency
from api.security import KeyChecker, user_key_dependency
from api.security_headers import SecurityHeadersMiddleware
from api.settings import Settings
from api.timeout import TimeoutMiddleware

__all__ = ["GUARD_ERRORS", "add_guard_middleware", "predict_guards"]

GUARD_ERRORS: dict[int | str, dict] = error_responses(
    {
        401: "API keys are on (API_KEYS) and none was sent.",
        403: "The API key sent is not valid.",
        413: "The body is larger than MAX_BODY_BYTES.",
        429: "Too many requests from this client; Retry-After says when to try again.",
        504: "The request took longer than REQUEST_TIMEOUT_SECONDS.",
    }
)


def add_guard_middleware(app: FastAPI, settings: Settings) -> None:
    """Add the guards every route has (each added one wraps the ones before)."""
    app.add_middleware(TimeoutMiddleware, seconds=settings.request_timeout_seconds)
    # Our own rather than FastAPI's max_body_size: that one answers a too-long Content-Length in plain text.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)


def predict_guards(app: FastAPI, settings: Settings) -> list:
    """The predict routes' dependencies; keeps the key checker and limiter on app.state for the others."""
    keys = KeyChecker(settings.api_key_list, settings.admin_api_key.get_secret_value())
    limiter = create_limiter(settings)
    app.state.keys = keys
    app.state.limiter = limiter
    return [Depends(user_key_dependency(keys)), Depends(predict_limit_dependency(limiter, settings))]
