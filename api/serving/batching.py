"""Micro-batching: concurrent single-row requests for one model share one model call.

A model call costs about the same for one row as for dozens (a scikit-learn
pipeline ~5 ms either way), so rows that queue while the model is busy, or
that arrive within ``wait_seconds`` of the first, go in together, at most
``max_rows`` at a time. With one request at a time nothing waits: the row is
run at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.errors import PredictionFailedError

__all__ = ["MicroBatcher"]

Predict = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


class MicroBatcher:
    """Queues rows for one model and answers each with its own outcome and the call's latency."""

    def __init__(self, predict: Predict, *, max_rows: int, wait_seconds: float, inline: bool) -> None:
        self._predict = predict
        self._max_rows = max_rows
        self._wait = wait_seconds
        # Sub-millisecond calls run on the event loop: a thread hop would cost more than the call.
        self._inline = inline
        self._pending: list[tuple[dict[str, Any], asyncio.Future]] = []
        self._drainer: asyncio.Task | None = None

    async def predict_one(self, row: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """The outcome for ``row`` and the milliseconds its model call took."""
        if self._drainer is None and self._inline and not self._wait:
            # Nothing queued and nothing to wait for: no task, no future, just the call.
            started = time.perf_counter()
            try:
                outcomes = self._predict([row])
            except PredictionFailedError as exc:
                raise _own_error(exc, 0) from None
            _check_count(outcomes, 1)
            return outcomes[0], (time.perf_counter() - started) * 1000
        future = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                if self._wait and len(self._pending) < self._max_rows:
                    await asyncio.sleep(self._wait)
                batch = self._pending[: self._max_rows]
                del self._pending[: self._max_rows]
                await self._run(batch)
        finally:
            self._drainer = None

    async def _run(self, batch: list[tuple[dict[str, Any], asyncio.Future]]) -> None:
        rows = [row for row, _ in batch]
        started = time.perf_counter()
        try:
            outcomes = self._predict(rows) if self._inline else await run_in_threadpool(self._predict, rows)
            _check_count(outcomes, len(rows))
        except PredictionFailedError as exc:
            # Each failing row gets the error a request of its own would have got; the rest go again.
            for index in exc.failures:
                self._fail([batch[index]], _own_error(exc, index))
            rest = [item for index, item in enumerate(batch) if index not in exc.failures]
            return await self._run(rest) if rest and exc.failures else self._fail(rest, exc)
        except Exception as exc:  # handed to every waiting request, which reports it as usual
            return self._fail(batch, exc)
        latency_ms = (time.perf_counter() - started) * 1000
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():  # a client that went away cancelled its future
                future.set_result((outcome, latency_ms))

    @staticmethod
    def _fail(batch: list[tuple[dict[str, Any], asyncio.Future]], exc: Exception) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(exc)


def _check_count(outcomes: list[dict[str, Any]], rows: int) -> None:
    """Refuse a call that answered a different number of rows than it was given.

    Outcomes are matched to requests by position: with one missing, no request can be sure
    which answer is its own, and the request left without one would wait forever.
    """
    if len(outcomes) != rows:
        raise RuntimeError(f"the model gave {len(outcomes)} outcomes for {rows} rows; no row of the call is answered")


def _own_error(exc: PredictionFailedError, index: int) -> PredictionFailedError:
    """The error for the request whose row was ``index`` in a call: about that row alone."""
    return PredictionFailedError.for_row(exc.failures[index])
