"""In-memory rate-limit counters cost no threads: expired ones are swept by requests, once a second."""

from __future__ import annotations

import threading
import time

from limits.storage import storage_from_string

from api.web.ratelimit import SweptMemoryStorage
from tests.hardening.conftest import PENGUIN, PREDICT


def test_counting_predictions_in_memory_starts_no_timer_threads(serve, monkeypatch):
    timers_started = []
    start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        if isinstance(thread, threading.Timer):
            timers_started.append(thread)
        start(thread)

    with serve(rate_limit_predict="1000/minute") as client:
        monkeypatch.setattr(threading.Thread, "start", counting_start)
        # limits' own MemoryStorage starts a Timer whenever its last one has run (every 10 ms): 100
        # requests take far longer than that, so it would have started several.
        statuses = {client.post(PREDICT, json=PENGUIN).status_code for _ in range(100)}
        monkeypatch.undo()
    assert statuses == {200}
    assert timers_started == []


def test_the_limit_still_counts_in_the_swept_storage(serve):
    with serve(rate_limit_predict="5/minute") as client:
        assert type(client.app.state.limiter._storage) is SweptMemoryStorage
        statuses = [client.post(PREDICT, json=PENGUIN).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_expired_counters_are_freed_at_the_next_sweep_and_live_ones_kept():
    storage = storage_from_string("freeport-memory://")
    for client in range(100):
        storage.incr(f"gone-{client}", 60)
    storage.incr("active", 60)
    for client in range(100):
        storage.expirations[f"gone-{client}"] = time.time() - 1  # their windows ended a second ago
    storage._next_sweep = time.monotonic() + 60
    storage.incr("active", 60)
    assert len(storage.storage) == 101, "no sweep before its time: one walk of every counter a second at most"
    storage._next_sweep = time.monotonic() - 0.001
    assert storage.incr("active", 60) == 3
    assert set(storage.storage) == {"active"}
