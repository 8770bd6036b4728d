"""The application factory: settings in, a FastAPI app out. Nothing runs at import."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from api.body_limit import BodyLimitMiddleware
from api.clientip import ClientAddressMiddleware
from api.database import create_db_engine
from api.errors import ErrorBody
from api.handlers import install_error_handlers
from api.logs import AccessLogMiddleware
from api.metrics import CountingPredictionLog, Metrics, MetricsMiddleware
from api.predlog import PredictionLog
from api.ratelimit import create_limiter, route_limit
from api.registry import Registry
from api.request_id import RequestIdMiddleware
from api.routes import admin, health, models
from api.routes.predict import build_predict_router
from api.security import KeyChecker, user_key_dependency
from api.security_headers import SecurityHeadersMiddleware
from api.settings import Settings
from api.timeout import TimeoutMiddleware

__all__ = ["create_app"]

logger = logging.getLogger("freeport")


_GUARD_ERRORS: dict[int | str, dict] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        401: "API keys are on (API_KEYS) and none was sent.",
        403: "The API key sent is not valid.",
        413: "The body is larger than MAX_BODY_BYTES.",
        429: "Too many requests from this client; Retry-After says when to try again.",
        504: "The request took longer than REQUEST_TIMEOUT_SECONDS.",
    }.items()
}


def _describe_service(registry: Registry) -> str:
    lines = [
        "Predictions from scikit-learn models, one typed endpoint per model. "
        "Each field lists its type, training range or categories; every example works when sent.",
        "",
    ]
    for entry in registry:
        if entry.card:
            lines.append(f"- **{entry.name}** — {entry.card.title} ({entry.card.task})")
        else:
            lines.append(f"- **{entry.name}** — unavailable: {entry.error}")
    return "\n".join(lines)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: read model cards, wire routes; models load in the lifespan."""
    settings = settings or Settings()
    registry = Registry.discover(
        settings.models_dir, tolerance=settings.range_tolerance, max_batch_rows=settings.max_batch_rows
    )
    prediction_log = PredictionLog(
        partial(
            create_db_engine,
            settings.database_url,
            pool_size=settings.db_pool_size,
            connect_timeout=settings.db_connect_timeout,
        ),
        queue_size=settings.predlog_queue_size,
        batch_size=settings.predlog_batch_size,
        flush_seconds=settings.predlog_flush_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry.load_all(allow_version_mismatch=settings.allow_version_mismatch)
        prediction_log.start()
        try:
            yield
        finally:
            prediction_log.stop()

    app = FastAPI(
        title="freeport",
        summary="scikit-learn models as a typed, documented API.",
        description=_describe_service(registry),
        version="0.1.0",
        lifespan=lifespan,
    )
    metrics = Metrics(prediction_log, registry)
    app.state.settings = settings
    app.state.registry = registry
    app.state.prediction_log = CountingPredictionLog(prediction_log, metrics)
    app.state.metrics = metrics
    app.state.started_at = time.monotonic()
    install_error_handlers(app)
    _add_guards(app, settings)
    app.include_router(health.router)
    app.include_router(models.router)
    app.include_router(admin.router)
    app.include_router(
        build_predict_router(registry), dependencies=_predict_dependencies(app, settings), responses=_GUARD_ERRORS
    )
    # Added last, so outermost: every response, refusals included, is counted, logged and has an id.
    app.add_middleware(ClientAddressMiddleware, hops=settings.trusted_proxy_hops, header=settings.client_ip_header)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app


def _add_guards(app: FastAPI, settings: Settings) -> None:
    """Middleware that refuses or shapes requests before a route runs (innermost first)."""
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


def _predict_dependencies(app: FastAPI, settings: Settings) -> list:
    """Keys first (a valid key names the rate-limit bucket), then the limit of the route's kind."""
    keys = KeyChecker(settings.api_key_list, settings.admin_api_key.get_secret_value())
    limiter = create_limiter(settings)
    app.state.keys = keys
    app.state.limiter = limiter
    shared = bool(settings.rate_limit_storage_url.get_secret_value())
    limit_one = route_limit(limiter, settings.rate_limit_predict, "predict", blocking_storage=shared)
    limit_batch = route_limit(limiter, settings.rate_limit_batch, "batch", blocking_storage=shared)

    if shared:
        def limit(request: Request) -> None:
            (limit_batch if request.url.path.endswith("/batch") else limit_one)(request)
    else:
        async def limit(request: Request) -> None:
            await (limit_batch if request.url.path.endswith("/batch") else limit_one)(request)

    return [Depends(user_key_dependency(keys)), Depends(limit)]
