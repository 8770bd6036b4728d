"""A sleeping API: progress while it wakes, an answer once it does, a clear stop at the limit."""

from __future__ import annotations

import socket
import time

import pytest

from demo_app.client import ApiAuthError, ApiClient, ApiDownError
from demo_app.waking import Answer, Waiting, backoff_delays, call_until_awake
from tests.demo.servers import ApiProcess, free_port


def test_waking_backoff_grows_then_levels_off():
    delays = backoff_delays(first=1, most=8)
    assert [next(delays) for _ in range(6)] == [1, 2, 4, 8, 8, 8]


def test_waking_reports_progress_until_the_api_starts_then_answers(tmp_path):
    api = ApiProcess(tmp_path)  # not started yet: like a free instance that is asleep
    steps = []
    try:
        with ApiClient(api.url, timeout=(2, 10)) as client:
            for step in call_until_awake(client.fetch_models, limit=120, tick=0.5):
                steps.append(step)
                if isinstance(step, Waiting) and step.attempt > 1 and api.process is None:
                    api.start(wait=False)  # it has failed once and is retrying: now the instance wakes
    finally:
        api.stop()
    waiting, answer = steps[:-1], steps[-1]
    assert isinstance(answer, Answer) and {m["name"] for m in answer.value} >= {"penguins"}
    assert waiting and all(isinstance(s, Waiting) for s in waiting)
    assert [s.elapsed for s in waiting] == sorted(s.elapsed for s in waiting)
    woke = next(s for s in waiting if s.attempt > 1)
    assert answer.waited >= woke.elapsed  # the answer came only once the API had started


def test_waking_gives_up_at_the_limit_with_the_last_reason():
    started = time.monotonic()
    with ApiClient(f"http://127.0.0.1:{free_port()}") as client, pytest.raises(ApiDownError) as caught:
        for _ in call_until_awake(client.fetch_models, limit=3, tick=0.5):
            pass
    assert 3 <= time.monotonic() - started < 7
    assert "did not answer within 3 s" in str(caught.value)
    assert "cannot connect" in str(caught.value)


def test_waking_keeps_ticking_while_a_request_hangs():
    # A peer that accepts connections and never answers: what a waking instance's proxy can look like.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with ApiClient(url, timeout=(2, 30)) as client, pytest.raises(ApiDownError):
            ticks = []
            for step in call_until_awake(client.fetch_models, limit=3, tick=0.5):
                ticks.append(step)
    assert len(ticks) >= 4 and all(isinstance(t, Waiting) and t.attempt == 1 for t in ticks)
    assert ticks[-1].fraction > 0.6


def test_waking_does_not_retry_a_refused_key():
    calls = []

    def refused() -> None:
        calls.append(1)
        raise ApiAuthError("refused")

    with pytest.raises(ApiAuthError):
        list(call_until_awake(refused, limit=30))
    assert calls == [1]


def test_waking_a_quick_answer_shows_no_waiting_note(client: ApiClient):
    steps = list(call_until_awake(client.fetch_models, limit=30))
    assert len(steps) == 1 and isinstance(steps[0], Answer)
