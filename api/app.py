"""The application factory: settings in, a FastAPI app out. Nothing runs at import."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from api.heap import freeze_start_up_heap
from api.logs import log_request
from api.metrics import CountingPredictionLog, Metrics
from api.routes import admin, drift, health, lifecycle, models, versions
from api.routes.predict import build_predict_router, replace_model_routes
from api.serving.poller import VersionPoller
from api.serving.registry import Registry
from api.settings import Settings, load_settings
from api.storage.connect import LazyEngine
from api.storage.predlog import PredictionLog
from api.web.clientip import ClientAddressMiddleware
from api.web.guards import GUARD_ERRORS, add_guard_middleware, predict_guards
from api.web.handlers import install_error_handlers
from api.web.observe import ObserveRequestsMiddleware
from api.web.request_id import RequestIdMiddleware

__all__ = ["create_app"]

logger = logging.getLogger("freeport")


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


def _create_db_engine(settings: Settings):
    # Imported here so SQLAlchemy loads in the log writer's thread, after the server listens.
    from api.storage.database import create_db_engine

    return create_db_engine(
        settings.database_url, pool_size=settings.db_pool_size, connect_timeout=settings.db_connect_timeout
    )


def _sync_versions(registry: Registry, *, database: LazyEngine, cache_dir) -> None:
    # Imported here, as the database engine: in the loader's thread, after the server listens.
    from api.serving.versions import sync_registry

    sync_registry(registry, database.get(), cache_dir)


def _seed_versions(registry: Registry, *, database: LazyEngine) -> None:
    from api.serving.versions import seed_registry

    seed_registry(registry, database.get())


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: read model cards, wire routes; models load once the server listens."""
    settings = settings or load_settings()
    registry = Registry.discover(
        settings.models_dir, tolerance=settings.refusal_tolerance, max_batch_rows=settings.max_batch_rows
    )
    database = LazyEngine(partial(_create_db_engine, settings))
    prediction_log = PredictionLog(
        database.get,
        queue_size=settings.predlog_queue_size,
        batch_size=settings.predlog_batch_size,
        flush_seconds=settings.predlog_flush_seconds,
        spill_dir=settings.predlog_spill_dir,
        spill_max_bytes=settings.predlog_spill_max_bytes,
    )

    poller = VersionPoller(registry, database, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Neither step blocks: uvicorn starts listening only when this yields, and /health should
        # answer from then on. Models load in a thread while /ready says "pending" and model
        # requests wait for them; the log writer connects to the database in its own thread once
        # they are loaded, so on a fraction of a CPU the two do not compete.
        # The spill opens first, synchronously: a folder it cannot write stops start-up with a
        # clear error, rather than a service that answers predictions it cannot keep.
        # Once models and the log's database are in, start-up's heap is set aside from the
        # garbage collector, which would otherwise walk it all again while serving (api/heap.py).
        # The version poller starts polling once loading is done (api/serving/poller.py).
        prediction_log.start(after=registry.wait_settled, connected=freeze_start_up_heap)
        registry.load_all_in_background(
            allow_version_mismatch=settings.allow_version_mismatch,
            engine=settings.engine,
            prepare=partial(_sync_versions, database=database, cache_dir=settings.model_cache_dir),
            finish=partial(_seed_versions, database=database),
        )
        poller.start()
        try:
            yield
        finally:
            poller.stop()
            prediction_log.stop()

    app = FastAPI(
        title="freeport",
        summary="scikit-learn models as a typed, documented API.",
        description=_describe_service(registry),
        version="0.1.0",
        lifespan=lifespan,
        # A trailing-slash redirect is built from the request's own Host and scheme (X-Forwarded-Proto is
        # not trusted), so behind a TLS proxy it pointed clients at http:// or any Host they sent, and
        # clients that follow redirects resent their key there. A 404 naming the right path instead.
        redirect_slashes=False,
    )
    metrics = Metrics(prediction_log, registry)
    app.state.settings = settings
    app.state.registry = registry
    app.state.prediction_log = CountingPredictionLog(prediction_log, metrics)
    app.state.database = database
    app.state.metrics = metrics
    app.state.started_at = time.monotonic()
    install_error_handlers(app)
    add_guard_middleware(app, settings, on_key_refusal=metrics.count_key_refusal)
    # The predict routes first: a request is matched against each router in turn, and they take
    # nearly all the traffic (matching them last cost ~20 us a prediction).
    predict_router = build_predict_router(registry)
    app.include_router(predict_router, dependencies=predict_guards(app, settings), responses=GUARD_ERRORS)
    # A model whose active version (read from the database once the server listens) has another card
    # than the one on disk gets its routes, and /docs, rebuilt from that card.
    registry.on_card_change = partial(replace_model_routes, app, predict_router)
    app.include_router(health.router)
    app.include_router(models.router)
    app.include_router(drift.router)
    app.include_router(versions.router)
    app.include_router(lifecycle.router)
    app.include_router(admin.router)
    # Added last, so outermost: every response, refusals included, is counted, logged and has an id.
    app.add_middleware(ClientAddressMiddleware, hops=settings.trusted_proxy_hops, header=settings.client_ip_header)
    app.add_middleware(ObserveRequestsMiddleware, observers=[metrics.observe_request, log_request])
    app.add_middleware(RequestIdMiddleware)
    return app
