"""Concurrent single-row requests share model calls, and each still gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from api.batching import MicroBatcher
from api.bundle import load_engine
from api.predictor import Predictor
from tests.engines.test_agreement import random_rows
from tests.factories import save_tiny_classifier


@pytest.fixture
def tiny(tmp_path):
    card = save_tiny_classifier(tmp_path)
    engine, _ = load_engine(tmp_path / "tiny-clf", card, engine="sklearn", allow_version_mismatch=False)
    return card, Predictor(card, engine)


def counting(predictor):
    calls = []

    def predict(rows):
        calls.append(len(rows))
        return predictor.predict(rows)

    return predict, calls


@pytest.mark.parametrize("wait_seconds", [0, 0.002])
def test_concurrent_rows_share_calls_and_get_their_own_outcomes(tiny, wait_seconds):
    card, predictor = tiny
    rows = random_rows(card, 40, seed=5)
    predict, calls = counting(predictor)
    batcher = MicroBatcher(predict, max_rows=16, wait_seconds=wait_seconds, inline=False)

    async def main():
        return await asyncio.gather(*(batcher.predict_one(row) for row in rows))

    answers = asyncio.run(main())
    assert [outcome for outcome, _ in answers] == predictor.predict(rows)
    assert sum(calls) == 40 and max(calls) <= 16 and len(calls) < 40


def test_one_request_at_a_time_is_not_delayed_or_batched(tiny):
    card, predictor = tiny
    predict, calls = counting(predictor)
    batcher = MicroBatcher(predict, max_rows=16, wait_seconds=0, inline=True)

    async def main():
        return [await batcher.predict_one(row) for row in random_rows(card, 5)]

    assert len(asyncio.run(main())) == 5 and calls == [1] * 5


def test_a_failing_call_fails_every_request_in_it(tiny):
    card, predictor = tiny
    batcher = MicroBatcher(predictor.predict, max_rows=8, wait_seconds=0, inline=False)
    broken = [{**row, "age": "not a number"} for row in random_rows(card, 4)]

    async def main():
        return await asyncio.gather(*(batcher.predict_one(row) for row in broken), return_exceptions=True)

    assert all(isinstance(result, ValueError) for result in asyncio.run(main()))
