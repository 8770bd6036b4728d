"""Wiring of the request guards: what refuses a request before (or instead of) a route answering.

Middleware for every route: security headers, CORS, the key gate (keys checked
from the headers, before any body), the request timeout, then the body limit
and memory budget. Dependencies for the predict routes only: the API key, then
the rate limit (a valid key names the client's bucket, so the key goes first).
Each guard lives in its own module; this one only puts them in order.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.errors import error_responses
from api.settings import Settings
from api.web.body_budget import BodyBudget
from api.web.body_limit import BodyLimitMiddleware
from api.web.counter_names import counter_namer
from api.web.key_failures import FailedKeyLimiter
from api.web.key_gate import KeyGateMiddleware
from api.web.ratelimit import create_limiter, predict_limit_dependency
from api.web.security import KeyChecker, user_key_dependency
from api.web.security_headers import SecurityHeadersMiddleware
from api.web.timeout import TimeoutMiddleware

__all__ = ["GUARD_ERRORS", "add_guard_middleware", "predict_guards"]

GUARD_ERRORS: dict[int | str, dict] = error_responses(
    {
        401: "API keys are on (API_KEYS) and none was sent.",
        403: "The API key sent is not valid.",
        413: "The body is larger than MAX_BODY_BYTES.",
        429: "Too many requests, or too many wrong keys, from this client; Retry-After says when to try again.",
        504: "The request took longer than REQUEST_TIMEOUT_SECONDS.",
    }
)


def add_guard_middleware(app: FastAPI, settings: Settings, *, on_key_refusal: Callable[[str], None]) -> None:
    """Add the guards every route has (each added one wraps the ones before); keeps the key checker and
    the limiter on app.state for the routes' dependencies."""
    namer = counter_namer(settings)
    storage = settings.rate_limit_storage_url.get_secret_value() or "memory://"
    keys = KeyChecker(settings.api_key_list, settings.admin_api_key.get_secret_value(), namer)
    app.state.keys = keys
    app.state.counter_namer = namer
    app.state.limiter = create_limiter(settings)
    # Our own rather than FastAPI's max_body_size: that one answers a too-long Content-Length in plain text,
    # and knows no budget shared by every request.
    budget = BodyBudget(settings.body_budget_bytes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, budget=budget)
    # Outside the body limit: the deadline covers reading the body too, however slowly it comes.
    app.add_middleware(TimeoutMiddleware, seconds=settings.request_timeout_seconds)
    # Outside the body guards: a request without its key is refused before any body is read or counted;
    # inside CORS and the security headers, so a browser can read the refusal.
    failures = FailedKeyLimiter(
        settings.rate_limit_failed_keys, storage, prefix=settings.rate_limit_key_prefix, namer=namer
    )
    app.add_middleware(KeyGateMiddleware, keys=keys, failures=failures, on_refusal=on_key_refusal)
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
    """The predict routes' dependencies: the rate limit and, with keys on, the key check.

    The gate (KeyGateMiddleware) has checked the key already; the dependency documents the
    schemes in OpenAPI. With keys off there is nothing to document or check, and every
    dependency costs each prediction its resolution by FastAPI.
    """
    keys, limiter = app.state.keys, app.state.limiter
    limit = [Depends(predict_limit_dependency(limiter, settings))]
    return limit if keys.open else [Depends(user_key_dependency(keys)), *limit]
