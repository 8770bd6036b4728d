"""Answer 504 when a request runs longer than REQUEST_TIMEOUT_SECONDS, reading its body included.

The deadline starts once the headers are in (api.web.http_protocol bounds that
part) and covers every byte of the body, chunked or not: nothing reads a body
outside it.

The client gets a clear error instead of the platform's own proxy timeout
(Render's is 100 s; a waiting client rarely lasts that long). Work already
handed to a thread cannot be interrupted in Python: it finishes in the
background and its result is discarded.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorDetail
from api.web.handlers import error_response

__all__ = ["TimeoutMiddleware"]


class TimeoutMiddleware:
    """Runs each request under a deadline; past it, answers 504 in the ErrorBody shape if nothing was sent."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            # A deadline on this task itself: asyncio.wait_for would start a second task per request.
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, send_tracking)
        except TimeoutError:
            if started:  # too late for a status code; the connection just ends
                raise
            message = f"the request took longer than {self.seconds:g} s and was abandoned"
            detail = ErrorDetail(message=message, hint="send fewer rows per request, or retry later")
            # Connection: close - the body may not have been read to its end, and what is left is not wanted.
            response = error_response(scope, 504, "timeout", message, [detail], {"Connection": "close"})
            await response(scope, receive, send)
