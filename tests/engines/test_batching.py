"""Concurrent single-row requests share model calls, and each still gets its own answer."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest

from api.errors import PredictionFailedError
from api.serving import batching
from api.serving.batching import MicroBatcher
from api.serving.bundle import load_engine
from api.serving.card import read_card
from api.serving.predictor import Predictor
from tests.engines.test_agreement import random_rows
from tests.factories import EXAMPLE_MODELS, save_log_classifier, save_tiny_classifier, saved


@pytest.fixture
def tiny(tmp_path):
    card = saved(save_tiny_classifier, tmp_path)
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

    rows = random_rows(card, 5)

    async def main():
        return [await asyncio.wait_for(batcher.predict_one(row), timeout=10) for row in rows]

    answers = asyncio.run(main())
    assert [outcome for outcome, _ in answers] == [predictor.predict([row])[0] for row in rows]
    assert calls == [1] * 5


@pytest.fixture(scope="module")
def dose(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    card = saved(save_log_classifier, models)
    engine, _ = load_engine(models / card.name, card, engine="auto", allow_version_mismatch=False)
    return Predictor(card, engine)


@pytest.mark.parametrize("inline", [False, True])
@pytest.mark.parametrize("wait_seconds", [0, 0.002])
def test_requests_the_model_cannot_answer_fail_alone(dose, inline, wait_seconds):
    # 18 poisoned requests among 60: grouped with valid ones, they must not take those down.
    rows = [{"dose": -3.0 if i % 10 in (2, 7, 9) else float(i % 40), "weight kg": 70.0} for i in range(60)]
    predict, calls = counting(dose)
    batcher = MicroBatcher(predict, max_rows=16, wait_seconds=wait_seconds, inline=inline)

    async def main():
        return await asyncio.wait_for(
            asyncio.gather(*(batcher.predict_one(row) for row in rows), return_exceptions=True), timeout=30
        )

    answers = asyncio.run(main())
    for row, answer in zip(rows, answers, strict=True):
        if row["dose"] < 0:
            assert isinstance(answer, PredictionFailedError) and answer.code == "prediction_failed"
            assert [(d.field, d.message) for d in answer.details] == [
                (None, "the model raised ValueError: Input X contains NaN.")
            ]
        else:
            # Same answer as the row alone; probabilities only to rounding, since a batch and a
            # single row may take different BLAS paths and differ in the last bits.
            alone = dose.predict([row])[0]
            assert answer[0]["prediction"] == alone["prediction"]
            assert answer[0]["probabilities"] == pytest.approx(alone["probabilities"], rel=1e-12, abs=1e-15)
    if not inline or wait_seconds:
        assert max(calls) > 1  # the poisoned rows really did share calls with valid ones


@pytest.mark.parametrize("engine", ["onnx", "sklearn"])
@pytest.mark.parametrize("wait_seconds", [0, 0.002])
def test_the_batcher_answers_round_after_round(engine, wait_seconds):
    # Each round empties the queue; the next must start a new drain rather than wait for the old one.
    # Inline for ONNX, in a thread for scikit-learn, as the predict route sets it up.
    card = read_card(EXAMPLE_MODELS / "penguins")
    loaded, _ = load_engine(EXAMPLE_MODELS / "penguins", card, engine=engine, allow_version_mismatch=False)
    predictor = Predictor(card, loaded)
    batcher = MicroBatcher(predictor.predict, max_rows=8, wait_seconds=wait_seconds, inline=engine == "onnx")
    rows = random_rows(card, 12, seed=9)

    async def main():
        answers = []
        for _ in range(3):
            one = await asyncio.wait_for(batcher.predict_one(rows[0]), timeout=10)
            many = await asyncio.wait_for(asyncio.gather(*(batcher.predict_one(r) for r in rows)), timeout=10)
            answers.append([one[0]] + [outcome for outcome, _ in many])
        return answers

    rounds = asyncio.run(main())
    expected = predictor.predict(rows[:1]) + [predictor.predict([row])[0] for row in rows]
    for answers in rounds:  # rows shared a call: equal to each row alone, probabilities up to rounding
        assert [a["prediction"] for a in answers] == [e["prediction"] for e in expected]
        for answer, alone in zip(answers, expected, strict=True):
            assert answer["probabilities"] == pytest.approx(alone["probabilities"], rel=1e-6, abs=1e-9)


def test_the_latency_reported_is_the_model_calls_own(tiny, monkeypatch):
    # A model call that takes 50 ms by the clock is reported as 50 ms, whether the row ran at once, queued
    # or waited for company: not in seconds, not counted from another start. The batcher's clock is
    # replaced by one only the model call moves, so the figure is exact rather than "about".
    card, predictor = tiny
    clock = [1000.0]
    monkeypatch.setattr(batching, "time", SimpleNamespace(perf_counter=lambda: clock[0]))

    def takes_50_ms(rows):
        clock[0] += 0.05
        return predictor.predict(rows)

    row = random_rows(card, 1)[0]
    for inline, wait_seconds in ((True, 0), (False, 0), (True, 0.002)):
        batcher = MicroBatcher(takes_50_ms, max_rows=8, wait_seconds=wait_seconds, inline=inline)
        _, latency_ms = asyncio.run(asyncio.wait_for(batcher.predict_one(row), timeout=10))
        assert latency_ms == pytest.approx(50, rel=1e-9), (inline, wait_seconds)


@pytest.mark.parametrize("inline", [False, True])
@pytest.mark.parametrize("wait_seconds", [0, 0.002])
def test_a_call_that_answers_fewer_rows_than_it_was_given_fails_every_request_in_it(tiny, inline, wait_seconds):
    # Outcomes are matched to requests by position: one missing leaves no request sure of its answer,
    # and the request without one used to wait forever.
    card, predictor = tiny

    def drops_the_last(rows):
        return predictor.predict(rows)[:-1]

    batcher = MicroBatcher(drops_the_last, max_rows=8, wait_seconds=wait_seconds, inline=inline)
    rows = random_rows(card, 3, seed=2)

    async def main():
        alone = await asyncio.wait_for(asyncio.gather(batcher.predict_one(rows[0]), return_exceptions=True), 10)
        together = await asyncio.wait_for(
            asyncio.gather(*(batcher.predict_one(row) for row in rows), return_exceptions=True), timeout=10
        )
        return alone + together

    answers = asyncio.run(main())
    # Inline with no wait, each request is its own call; otherwise the three queued together share one.
    shared = (0, 1) if inline and not wait_seconds else (2, 3)
    assert [str(a) for a in answers] == [
        "the model gave 0 outcomes for 1 rows; no row of the call is answered",
        *["the model gave {} outcomes for {} rows; no row of the call is answered".format(*shared)] * 3,
    ]
    assert all(isinstance(a, RuntimeError) for a in answers)


@pytest.mark.parametrize("inline", [False, True])
@pytest.mark.parametrize("wait_seconds", [0, 0.002])
def test_requests_reach_the_model_in_the_order_they_arrived(tiny, inline, wait_seconds):
    # First come, first served: a request that arrives while an earlier one waits in the queue must not
    # overtake it. Inline with no wait, each runs at once on its own; otherwise they queue and share calls.
    card, predictor = tiny
    seen = []

    def predict(rows):
        seen.extend(row["age"] for row in rows)
        return predictor.predict(rows)

    batcher = MicroBatcher(predict, max_rows=2, wait_seconds=wait_seconds, inline=inline)
    rows = [{**row, "age": 20 + i} for i, row in enumerate(random_rows(card, 5, seed=4))]

    async def main():
        return await asyncio.wait_for(asyncio.gather(*(batcher.predict_one(row) for row in rows)), timeout=10)

    answers = asyncio.run(main())
    assert seen == [20, 21, 22, 23, 24]
    assert [outcome for outcome, _ in answers] == [predictor.predict([row])[0] for row in rows]


def test_a_full_batch_goes_at_once_however_long_the_wait(tiny):
    # MICRO_BATCH_WAIT_MS is how long a partial batch waits for company; a full one has none to wait for.
    card, predictor = tiny
    predict, calls = counting(predictor)
    batcher = MicroBatcher(predict, max_rows=4, wait_seconds=60, inline=False)
    rows = random_rows(card, 4, seed=6)

    async def main():
        return await asyncio.wait_for(asyncio.gather(*(batcher.predict_one(row) for row in rows)), timeout=10)

    answers = asyncio.run(main())
    assert [outcome for outcome, _ in answers] == predictor.predict(rows)
    assert calls == [4]


@pytest.mark.parametrize("inline", [False, True])
def test_a_model_call_off_the_event_loop_leaves_it_free_and_an_inline_one_stays_on_it(tiny, inline):
    # scikit-learn calls (inline=False) run in a worker thread, so a slow one does not stop the server
    # answering others meanwhile; sub-millisecond ONNX calls (inline=True) skip the thread hop.
    card, predictor = tiny
    row = random_rows(card, 1)[0]
    freed = threading.Event()
    threads = []

    def predict(rows):
        threads.append(threading.get_ident())
        if not inline:  # the loop sets this while the call is still running, or never
            assert freed.wait(timeout=10), "the event loop stood still while the model call ran"
        return predictor.predict(rows)

    batcher = MicroBatcher(predict, max_rows=4, wait_seconds=0.001, inline=inline)

    async def main():
        pending = asyncio.ensure_future(batcher.predict_one(row))
        while not threads:  # until the call has started
            await asyncio.sleep(0)
        freed.set()
        return await asyncio.wait_for(pending, timeout=10), threading.get_ident()

    (outcome, _), loop_thread = asyncio.run(main())
    assert outcome == predictor.predict([row])[0]
    assert (threads[0] == loop_thread) is inline


@pytest.mark.parametrize("inline", [False, True])
def test_a_failure_that_names_no_row_fails_every_request_of_the_call(tiny, inline):
    # A PredictionFailedError blaming no row in particular leaves nothing to retry without: each request
    # queued in the call gets it, rather than the call going round again for ever.
    card, _ = tiny
    calls = []

    def fails_whole(rows):
        calls.append(len(rows))
        raise PredictionFailedError("the model is unavailable", failures=None)

    batcher = MicroBatcher(fails_whole, max_rows=8, wait_seconds=0.001, inline=inline)
    rows = random_rows(card, 3, seed=3)

    async def main():
        return await asyncio.wait_for(
            asyncio.gather(*(batcher.predict_one(row) for row in rows), return_exceptions=True), timeout=10
        )

    answers = asyncio.run(main())
    assert [str(answer) for answer in answers] == ["the model is unavailable"] * 3
    assert all(isinstance(answer, PredictionFailedError) for answer in answers)
    assert calls == [3]
