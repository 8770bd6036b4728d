"""The client's address, taken from forwarded headers only as far as the proxies are trusted.

Behind a platform's proxy every connection comes from the proxy, so the socket
peer says nothing about the client. X-Forwarded-For helps, but its left part
is whatever the client sent: each trusted proxy *appends* the address it saw,
so only the entries those proxies added can be believed. With
TRUSTED_PROXY_HOPS=n the client is the n-th entry from the right (Render: 2,
client → Cloudflare → Render's proxy). A platform that sets a header of its own
(Fly's Fly-Client-IP, https://fly.io/docs/networking/request-headers/) is named
in CLIENT_IP_HEADER and wins. uvicorn's own proxy handling is turned off (see
api/__main__.py): with ``--forwarded-allow-ips='*'`` it takes the LEFTMOST
entry, which any client can forge.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ClientAddressMiddleware", "client_address"]


def _address(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(headers: list[tuple[bytes, bytes]], peer: str | None, *, hops: int, header: str) -> str:
    """The client's address for this request; the socket peer when no trusted header says otherwise."""
    peer = peer or "unknown"
    if header:
        wanted = header.lower().encode()
        given = next((v for k, v in headers if k == wanted), None)
        if given is not None:
            return _address(given.decode("latin-1")) or peer
    if hops <= 0:
        return peer
    # Several X-Forwarded-For headers are one list, in order (RFC 7230 §3.2.2).
    entries = [e for k, v in headers if k == b"x-forwarded-for" for e in v.decode("latin-1").split(",")]
    if len(entries) < hops:
        # Fewer entries than our proxies add: the request did not come through them.
        return peer
    return _address(entries[-hops]) or peer


class ClientAddressMiddleware:
    """Put the trusted client address in ``scope["state"]["client_ip"]`` for limits and logs."""

    def __init__(self, app: ASGIApp, *, hops: int, header: str) -> None:
        self.app = app
        self.hops = hops
        self.header = header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            peer = scope["client"][0] if scope.get("client") else None
            scope.setdefault("state", {})["client_ip"] = client_address(
                scope["headers"], peer, hops=self.hops, header=self.header
            )
        await self.app(scope, receive, send)
