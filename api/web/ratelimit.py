"""Rate limits on the predict endpoints, with slowapi.

A client is its API key (as a digest) when it sent a valid one, else its
address as api/web/clientip.py derives it, so clients behind one proxy get their
own buckets and nobody picks a bucket by forging X-Forwarded-For. Single-row
and batch predictions have their own limits (RATE_LIMIT_PREDICT,
RATE_LIMIT_BATCH), each shared across every model. Counters live in memory,
or in Redis when RATE_LIMIT_STORAGE_URL is set so instances share them; if
Redis stops answering, slowapi counts in memory until it is back rather than
failing requests.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import ClassVar

from limits.storage import MemoryStorage
from slowapi import Limiter
from starlette.requests import Request

from api.settings import Settings

__all__ = [
    "SweptMemoryStorage",
    "client_key",
    "create_limiter",
    "predict_limit_dependency",
    "retry_after_seconds",
    "route_limit",
]


def client_key(request: Request) -> str:
    """Whom a request counts against: its validated key, else its trusted address."""
    state = request.scope.get("state", {})
    if "client_key" in state:
        return "key:" + state["client_key"]
    address = state.get("client_ip", request.client.host if request.client else "unknown")
    # Named like keys (api.web.counter_names): a Redis reader learns neither keys nor the clients' addresses.
    return "ip:" + request.app.state.counter_namer.name(address)


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory counters, with expired ones swept by the requests themselves.

    MemoryStorage starts a new thread (threading.Timer) whenever a counter is touched and
    its last timer has run, every 10 ms under load: about 100 threads a second, each one
    a thread start and a walk of every counter that competes with requests for the
    interpreter lock (it was in the 1-connection p99, see "Performance" in the README).
    A counter past its window is already treated as zero when read; the sweep only frees
    the memory of clients that went away, so once a second, by whichever request comes.
    """

    STORAGE_SCHEME: ClassVar[list[str]] = ["freeport-memory"]  # limits registers the scheme: storage_uri="freeport-memory://"
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, **options: str) -> None:
        super().__init__(uri, **options)
        self.timer.cancel()  # the one MemoryStorage started: its thread ends at once
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 -- replaces MemoryStorage's private timer start
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


# slowapi asks inspect.signature(key_func) on every request, to see whether it takes the request:
# a signature set once here is returned as it is, instead of being rebuilt from the code each time.
client_key.__signature__ = inspect.signature(client_key)  # type: ignore[attr-defined]


def create_limiter(settings: Settings) -> Limiter:
    storage = settings.rate_limit_storage_url.get_secret_value()
    return Limiter(
        key_func=client_key,
        storage_uri=storage or "freeport-memory://",
        key_prefix=settings.rate_limit_key_prefix,
        in_memory_fallback=[settings.rate_limit_predict] if storage else [],
    )


def route_limit(limiter: Limiter, limit: str, scope: str, *, blocking_storage: bool) -> Callable[[Request], object]:
    """A dependency that counts a request against ``limit`` in bucket ``scope`` (429 past it)."""
    if blocking_storage:
        # Redis is network I/O: a plain function runs in the thread pool, off the event loop.
        def check(request: Request) -> None:
            return None
    else:
        async def check(request: Request) -> None:
            return None

    check.__name__ = f"rate_limit_{scope}"
    return limiter.shared_limit(limit, scope=scope)(check)


def predict_limit_dependency(limiter: Limiter, settings: Settings) -> Callable[[Request], object]:
    """One dependency for every predict route: batch paths count against RATE_LIMIT_BATCH, others RATE_LIMIT_PREDICT."""
    shared = bool(settings.rate_limit_storage_url.get_secret_value())
    one = route_limit(limiter, settings.rate_limit_predict, "predict", blocking_storage=shared)
    batch = route_limit(limiter, settings.rate_limit_batch, "batch", blocking_storage=shared)
    # The scope's path, not request.url: that one rebuilds a whole URL for every prediction.
    if shared:
        def limit(request: Request) -> None:
            (batch if request.scope["path"].endswith("/batch") else one)(request)
    else:
        async def limit(request: Request) -> None:
            await (batch if request.scope["path"].endswith("/batch") else one)(request)
    return limit


def retry_after_seconds(request: Request) -> int:
    """Seconds until the bucket that refused this request has room again (at least 1)."""
    limiter: Limiter = request.app.state.limiter
    limit, args = request.state.view_rate_limit
    reset_at, _ = limiter.limiter.get_window_stats(limit, *args)
    return max(1, int(reset_at - time.time()) + 1)
