"""Bodies are counted as they arrive: against MAX_BODY_BYTES per request (413) and the process's
BODY_BUDGET_BYTES (503 with Retry-After), and never buffered here.

Nothing is read on the app's behalf: a route that needs no body never waits
for one, and every byte read happens inside the request's deadline
(api.web.timeout). A response sent before the body was read to its end says
``Connection: close``, so the rest of it is never read either.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web.body_budget import SMALL_BODY_BYTES, BodyBudget
from api.web.body_refusal import BodyRefused
from api.web.handlers import error_response

__all__ = ["BodyLimitMiddleware"]


class _BodyAccount:
    """One request's body: bytes seen, bytes drawn from the budget, whether it was read to its end."""

    def __init__(self, budget: BodyBudget, max_bytes: int, retry_after: int) -> None:
        self.budget, self.max_bytes, self.retry_after = budget, max_bytes, retry_after
        self.seen = self.drawn = 0
        self.finished = False

    def too_large(self) -> BodyRefused:
        return BodyRefused.too_large(self.max_bytes)

    def draw_up_to(self, size: int) -> None:
        """Hold ``size`` bytes of body in total: draw what lies past the free part and is not drawn yet."""
        wanted = max(0, size - SMALL_BODY_BYTES) - self.drawn
        if wanted <= 0:
            return
        if not self.budget.take(wanted):
            raise BodyRefused.over_budget(self.retry_after)
        self.drawn += wanted

    def arrived(self, message: Message) -> None:
        if message["type"] != "http.request":
            return
        self.seen += len(message.get("body", b""))
        if self.seen > self.max_bytes:
            raise self.too_large()
        self.draw_up_to(self.seen)
        self.finished = not message.get("more_body", False)

    def release(self) -> None:
        self.budget.give_back(self.drawn)
        self.drawn = 0


class BodyLimitMiddleware:
    """Counts each body against its limit and the shared budget; answers 413/503 in the ErrorBody shape."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, budget: BodyBudget, retry_after: int = 2) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.budget = budget
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        has_body = b"transfer-encoding" in headers or (length is not None and length != b"0")
        account = _BodyAccount(self.budget, self.max_bytes, self.retry_after)
        account.finished = not has_body
        started = False

        async def counted_receive() -> Message:
            message = await receive()
            account.arrived(message)
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not account.finished:  # the rest of the body is not wanted: do not read it
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            if length is not None:
                # The parser reads exactly Content-Length bytes as the body: the header is the truth, draw it now.
                if not length.isdigit() or int(length) > self.max_bytes:
                    raise account.too_large()
                account.draw_up_to(int(length))
            await self.app(scope, counted_receive, closing_send)
        except BodyRefused as refused:
            if started:
                raise
            response = error_response(scope, refused.status_code, refused.code, refused.message, refused.details,
                                      refused.headers)
            await response(scope, receive, send)
        finally:
            account.release()
