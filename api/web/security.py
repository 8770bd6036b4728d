"""API keys: which requests may predict, and which may reach the admin endpoints.

Keys come from API_KEYS (predict) and ADMIN_API_KEY (admin, and predict too).
A request sends one as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``.
Every comparison runs in constant time over every configured key, so timing
does not reveal how much of a guess was right. A key is never logged, echoed or
used as a storage key: the rate limiter sees only a keyed digest of it (api.web.counter_names).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from fastapi import Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from api.errors import MissingKeyError, WrongKeyError
from api.web.counter_names import CounterNamer

__all__ = ["KeyChecker", "key_id", "presented_key", "user_key_dependency"]

_HOW_TO_SEND = "send it as the header `X-API-Key: <key>` or `Authorization: Bearer <key>`"


def presented_key(request: Request) -> str | None:
    """The key a request carries, from X-API-Key or a Bearer Authorization header."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def key_id(key: str) -> str:
    """A name for a key that audit rows can keep: the first 12 hex digits of its sha256, never the key.

    Stable across restarts and instances (unlike the rate limiter's HMAC names), and a key of the
    length ``generateValue`` makes cannot be recovered from it.
    """
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _matches(key: str, accepted: list[bytes]) -> bool:
    given = key.encode()
    found = False
    for candidate in accepted:  # no early exit: every key is compared every time
        found |= hmac.compare_digest(given, candidate)
    return found


class KeyChecker:
    """The configured keys, and the two checks routes depend on."""

    def __init__(self, api_keys: list[str], admin_key: str, namer: CounterNamer) -> None:
        self._namer = namer
        self._admin = [admin_key.encode()] if admin_key else []
        self._users = [k.encode() for k in api_keys] + self._admin
        self._open = not api_keys

    @property
    def has_admin(self) -> bool:
        return bool(self._admin)

    @property
    def open(self) -> bool:
        """True when no API_KEYS are set: the predict endpoints take anyone."""
        return self._open

    def require_user(self, request: Request) -> None:
        """Dependency of the predict routes: 401 without a key, 403 with a wrong one."""
        key = presented_key(request)
        if self.open:
            return
        if key is None:
            raise MissingKeyError(f"this endpoint needs an API key: {_HOW_TO_SEND}")
        if not _matches(key, self._users):
            raise WrongKeyError("the API key sent is not valid here; check it for typos or ask for a new one")
        request.scope.setdefault("state", {})["client_key"] = self._namer.name(key)

    def is_admin(self, request: Request) -> bool:
        """True when the request carries the admin key (no error either way): for answers that say more
        to the operator than to the public."""
        key = presented_key(request)
        return bool(self._admin) and key is not None and _matches(key, self._admin)

    def require_admin(self, request: Request) -> None:
        """Dependency of /admin/*: only ADMIN_API_KEY; refused outright when none is configured."""
        if not self._admin:
            raise WrongKeyError("admin endpoints are off: set ADMIN_API_KEY to turn them on")
        key = presented_key(request)
        if key is None:
            raise MissingKeyError(f"this endpoint needs the admin key: {_HOW_TO_SEND}")
        if not _matches(key, self._admin):
            raise WrongKeyError("this endpoint needs the admin key; the key sent is not it")


def user_key_dependency(keys: KeyChecker) -> Callable[..., Awaitable[None]]:
    """The predict routes' key check; with keys on, it also declares both ways to send one in OpenAPI,
    so /docs shows an Authorize button (with keys off, no padlock suggests a key is needed)."""
    if keys.open:
        async def require_key(request: Request) -> None:
            keys.require_user(request)

        return require_key

    # auto_error=False: these only document the schemes; require_user decides, with our messages.
    header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from API_KEYS.")
    bearer_scheme = HTTPBearer(auto_error=False, description="The same key, as `Authorization: Bearer <key>`.")

    by_header, by_bearer = Security(header_scheme), Security(bearer_scheme)

    # Defaults, not Annotated[...]: with postponed annotations FastAPI could not see these local objects.
    async def require_key_documented(
        request: Request,
        _header: str | None = by_header,
        _bearer: HTTPAuthorizationCredentials | None = by_bearer,
    ) -> None:
        keys.require_user(request)

    return require_key_documented
