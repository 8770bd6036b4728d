"""SIGTERM under load against a real `python -m api`: nothing in flight fails, nothing logged is lost."""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest

from tests.hardening.conftest import PENGUIN, PREDICT
from tests.hardening.server import Load, running_api

pytestmark = pytest.mark.slow


def test_sigterm_under_load_finishes_in_flight_requests_and_flushes_every_prediction(tmp_path):
    db = tmp_path / "predictions.db"
    with running_api(tmp_path, DATABASE_URL=f"sqlite:///{db}") as api:
        load = Load(api.url + PREDICT, PENGUIN, workers=4, fresh_connections=True)
        with load:
            time.sleep(4)
            api.process.send_signal(signal.SIGTERM)
            api.process.wait(40)
            load.wait_for_workers(10)
        result = load.result
        output = api.output()
    print(f"\nSIGTERM under load: {result.summary()}")
    assert api.process.returncode in (0, -signal.SIGTERM), output[-2000:]
    assert "Traceback" not in output
    assert len(result.ok) > 50, "the load should have been running when the signal came"
    assert result.failed == [], f"requests failed in flight: {list(result.reasons.items())[:5]}"
    assert result.refused >= 1, "after SIGTERM the server must stop accepting"
    with sqlite3.connect(db) as connection:
        stored = {row[0] for row in connection.execute("select request_id from predictions")}
    print(f"SIGTERM under load: predictions made {len(result.ok)}, rows stored {len(stored)}")
    assert stored == set(result.ok)
