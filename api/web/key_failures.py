"""Count wrong API keys per client address, so keys cannot be guessed at the speed of the network.

Past RATE_LIMIT_FAILED_KEYS wrong keys an address is refused (429) on every
endpoint that takes a key, even with a right one, until the window passes:
otherwise a guesser would still learn which guess was right. Counters live
where the rate limiter's do (memory or RATE_LIMIT_STORAGE_URL), named by
api.web.counter_names. If Redis stops answering, keys are still checked; only the
counting pauses (logged), rather than every request failing.
"""

from __future__ import annotations

import logging
import time

from anyio import to_thread
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api.web.counter_names import CounterNamer

__all__ = ["FailedKeyLimiter"]

logger = logging.getLogger("freeport")


class FailedKeyLimiter:
    """``retry_after(address)``: None while the address may try keys, else seconds to wait."""

    def __init__(self, limit: str, storage_uri: str, *, prefix: str, namer: CounterNamer) -> None:
        self.limit = parse(limit)
        self.description = limit
        self._strategy = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._shared = not storage_uri.startswith("memory://")
        self._prefix = prefix
        self._namer = namer

    def _ids(self, address: str) -> tuple[str, str, str]:
        return self._prefix, "failed-keys", self._namer.name(address)

    def _wait(self, address: str) -> int:
        reset_at, _ = self._strategy.get_window_stats(self.limit, *self._ids(address))
        return max(1, int(reset_at - time.time()) + 1)

    def _check(self, address: str) -> int | None:
        if self._strategy.test(self.limit, *self._ids(address)):
            return None
        return self._wait(address)

    def _fail(self, address: str) -> int | None:
        if self._strategy.hit(self.limit, *self._ids(address)):
            return None
        return self._wait(address)

    async def _run(self, work, address: str) -> int | None:
        try:
            if self._shared:  # Redis is network I/O: off the event loop
                return await to_thread.run_sync(work, address)
            return work(address)
        except Exception as exc:
            logger.warning("failed-key counter unavailable (%s); keys are checked, not counted", type(exc).__name__)
            return None

    async def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try keys again, or None when it may now."""
        return await self._run(self._check, address)

    async def record_failure(self, address: str) -> int | None:
        """Count one wrong key; seconds to wait when that was one too many, else None."""
        return await self._run(self._fail, address)
