"""One middleware that times every request and tells its observers how it ended.

The access log and the metrics both need each request's status and duration:
one wrapper of ``send`` serves both, rather than one per observer on every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ObserveRequestsMiddleware", "RequestObserver"]

# Called once per HTTP request, after the response (or the failure): scope, status, seconds.
RequestObserver = Callable[[Scope, int, float], None]


class ObserveRequestsMiddleware:
    """Pure ASGI: notes the response status and the time taken, then calls each observer."""

    def __init__(self, app: ASGIApp, *, observers: Sequence[RequestObserver]) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            for observe in self.observers:
                observe(scope, status, seconds)
