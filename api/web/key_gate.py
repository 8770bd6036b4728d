"""Check the API key from the headers alone, before any body is read or any memory is set aside for it.

FastAPI reads and parses a request's body before its dependencies run, so a
key checked in a dependency let anyone make the service hold a 1 MB body per
connection. This middleware answers 401/403 (and 429 to an address past
RATE_LIMIT_FAILED_KEYS wrong keys) from the headers, with ``Connection:
close`` so the rest of an unwanted body is never read. The route dependencies
still check too, and document the keys in OpenAPI.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ErrorDetail, FreeportError, MissingKeyError
from api.web.handlers import error_response
from api.web.key_failures import FailedKeyLimiter
from api.web.security import KeyChecker

__all__ = ["KeyGateMiddleware"]

_PREDICT = re.compile(r"^/models/[^/]+/predict(/batch)?$")


class KeyGateMiddleware:
    """Refuses requests without the key their path needs; ``on_refusal(reason)`` counts each refusal."""

    def __init__(
        self, app: ASGIApp, *, keys: KeyChecker, failures: FailedKeyLimiter, on_refusal: Callable[[str], None]
    ) -> None:
        self.app = app
        self.keys = keys
        self.failures = failures
        self.on_refusal = on_refusal

    def _check(self, path: str) -> Callable[[Request], None] | None:
        """The check ``path`` needs, or None when it is open."""
        if _PREDICT.match(path):
            return None if self.keys.open else self.keys.require_user
        if path.startswith("/admin/") or (path == "/metrics" and self.keys.has_admin):
            return self.keys.require_admin
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        check = self._check(scope["path"]) if scope["type"] == "http" else None
        if check is None:
            await self.app(scope, receive, send)
            return
        address = scope.get("state", {}).get("client_ip") or "unknown"
        wait = await self.failures.retry_after(address)
        if wait is None:
            try:
                check(Request(scope))
            except FreeportError as exc:
                if isinstance(exc, MissingKeyError):
                    self.on_refusal("missing")
                    headers = {"WWW-Authenticate": 'Bearer realm="freeport"', "Connection": "close"}
                    await error_response(scope, exc.status_code, exc.code, exc.message, exc.details, headers)(
                        scope, receive, send)
                    return
                wait = await self.failures.record_failure(address)
                if wait is None:
                    self.on_refusal("wrong")
                    headers = {"Connection": "close"}
                    await error_response(scope, exc.status_code, exc.code, exc.message, exc.details, headers)(
                        scope, receive, send)
                    return
            else:
                await self.app(scope, receive, send)
                return
        self.on_refusal("limited")
        message = f"too many wrong API keys from this address (limit {self.failures.description}); retry in {wait} s"
        detail = ErrorDetail(message=message, hint="check the key you send; every key is refused until then")
        headers = {"Retry-After": str(wait), "Connection": "close"}
        await error_response(scope, 429, "too_many_wrong_keys", message, [detail], headers)(scope, receive, send)
