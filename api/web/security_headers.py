"""Headers that make browsers handle the API's responses safely.

JSON responses must never be sniffed as HTML, framed, or leak the page that
linked here. /docs and /redoc load Swagger UI and ReDoc from a CDN, so they get
no Content-Security-Policy; every other response gets one that allows nothing.
See https://owasp.org/www-project-secure-headers/.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeadersMiddleware"]

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # Free platforms serve only HTTPS; browsers ignore this header on plain HTTP.
    (b"strict-transport-security", b"max-age=31536000"),
]
_LOCKED_DOWN = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_PAGES = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _ALWAYS if scope["path"].startswith(_PAGES) else [*_ALWAYS, _LOCKED_DOWN]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
