"""Names for rate-limit counters that do not give away what they count.

A counter is named after a client's API key or address. A plain hash of a
weak key is reversed by trying guesses, and anyone who can read the Redis can
try; an HMAC with a server secret (RATE_LIMIT_KEY_SECRET) cannot be tried
without the secret. Instances sharing a Redis must share the secret too, or
each counts its own clients apart.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets

from api.settings import Settings

__all__ = ["CounterNamer", "counter_namer"]

logger = logging.getLogger("freeport")


class CounterNamer:
    """``name(value)``: a keyed, fixed-length digest of ``value``."""

    # Every prediction names its client's counter: the few clients of the moment are remembered
    # rather than hashed again (an HMAC costs ~5 us, a lookup well under one); bounded, so a flood
    # of new addresses costs hashing, not memory.
    REMEMBERED = 4096

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.name = functools.lru_cache(maxsize=self.REMEMBERED)(self._digest)

    def _digest(self, value: str) -> str:
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()[:32]


def counter_namer(settings: Settings) -> CounterNamer:
    """The configured secret; without one, a random secret for this process (fine for memory counters)."""
    secret = settings.rate_limit_key_secret.get_secret_value()
    if secret:
        return CounterNamer(secret.encode())
    if settings.rate_limit_storage_url.get_secret_value():
        logger.warning(
            "RATE_LIMIT_KEY_SECRET is not set: this instance names its Redis counters with a random secret of "
            "its own, so instances sharing RATE_LIMIT_STORAGE_URL do not share counts; set the same secret on all"
        )
    return CounterNamer(secrets.token_bytes(32))
