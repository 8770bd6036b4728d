"""Waiting for a sleeping API: retries with backoff, a tick of progress every second, a limit.

Free instances sleep when idle and take tens of seconds to wake; the first
requests meanwhile hang, are refused or get a proxy's 502/503/504. Rather than
an error, the visitor should see that the API is waking and how long it has
taken. :func:`call_until_awake` runs one call in a worker thread, retries it
while it raises :class:`~demo_app.client.ApiUnavailableError`, and yields a
:class:`Waiting` note about once a second, so a Gradio generator can show
progress. It gives up with :class:`~demo_app.client.ApiDownError` at the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from typing import Generic, TypeVar

from demo_app.client import ApiDownError, ApiUnavailableError

__all__ = ["Answer", "Waiting", "backoff_delays", "call_until_awake"]

T = TypeVar("T")

FIRST_DELAY = 1.0
MAX_DELAY = 8.0
TICK = 1.0


@dataclass(frozen=True)
class Waiting:
    """Progress while the API wakes: which attempt, seconds so far, the limit, the last reason."""

    attempt: int
    elapsed: float
    limit: float
    reason: str

    @property
    def fraction(self) -> float:
        return min(self.elapsed / self.limit, 1.0)


@dataclass(frozen=True)
class Answer(Generic[T]):
    """The call's result, the last item a successful :func:`call_until_awake` yields."""

    value: T
    waited: float


def backoff_delays(first: float = FIRST_DELAY, most: float = MAX_DELAY) -> Iterator[float]:
    """1, 2, 4, 8, 8, … seconds between attempts: quick at first, gentle on a server that is starting."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)


def call_until_awake(
    call: Callable[[], T], *, limit: float, tick: float = TICK
) -> Iterator[Waiting | Answer[T]]:
    """Yield :class:`Waiting` notes while ``call`` finds the API unavailable, then its :class:`Answer`.

    Any other error from ``call`` propagates at once (a rejected key, a bad
    request). Raises :class:`ApiDownError` once ``limit`` seconds have passed.
    A quick answer yields no Waiting note at all, so nothing flickers.
    """
    started = time.monotonic()
    delays = backoff_delays()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-api")
    reason = "waiting for the first answer"
    try:
        attempt = 0
        while True:
            attempt += 1
            future: Future[T] = pool.submit(call)
            while True:
                elapsed = time.monotonic() - started
                if elapsed >= limit:
                    raise ApiDownError(_down_message(limit, reason))
                try:
                    value = future.result(timeout=min(tick, limit - elapsed))
                except FutureTimeoutError:
                    yield Waiting(attempt, time.monotonic() - started, limit, reason)
                    continue
                except ApiUnavailableError as exc:
                    reason = str(exc)
                    break
                yield Answer(value, time.monotonic() - started)
                return
            pause_until = time.monotonic() + next(delays)
            while (now := time.monotonic()) < pause_until:
                if now - started >= limit:
                    raise ApiDownError(_down_message(limit, reason))
                yield Waiting(attempt, now - started, limit, reason)
                time.sleep(min(tick, pause_until - now, max(limit - (now - started), 0)))
    finally:
        # A request still in flight finishes on its own (it has a timeout); nobody waits for it.
        pool.shutdown(wait=False, cancel_futures=True)


def _down_message(limit: float, reason: str) -> str:
    return f"The API did not answer within {limit:.0f} s (last attempt: {reason})."
