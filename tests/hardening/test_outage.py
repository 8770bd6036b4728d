"""PostgreSQL stopped for about 30 s under load: predictions go on, and every one reaches the database after."""

from __future__ import annotations

import time

import pytest

from tests.hardening.conftest import PENGUIN, PREDICT
from tests.hardening.server import Load, running_api
from tests.pg import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# Failed writes before PostgreSQL comes back: the writer's pauses double from 0.2 s to its longest, 5 s,
# so the eleventh comes after about 30 s, five of them at the longest pause.
FAILED_WRITES_IN_OUTAGE = 11


def test_a_database_outage_under_load_fails_no_prediction_and_loses_no_row(tmp_path, cluster):
    with running_api(tmp_path, DATABASE_URL=cluster.url, PREDLOG_FLUSH_SECONDS="0.2") as api:
        with Load(api.url + PREDICT, PENGUIN, workers=3) as load:
            assert wait_until(lambda: api.stats()["prediction_log"]["written"] >= 50, timeout=60), \
                "the load should be answered and logged before the outage"
            failed_before = api.stats()["prediction_log"]["failed_writes"]
            cluster.stop()
            stopped_at = time.monotonic()
            # The writer notices, and predictions go on being answered while it cannot write.
            assert wait_until(lambda: api.stats()["prediction_log"]["last_error"] is not None, timeout=30)
            during = api.stats()["prediction_log"]
            answered_during = load.answered()
            assert wait_until(lambda: load.answered() >= answered_during + 100, timeout=60)
            assert wait_until(
                lambda: api.stats()["prediction_log"]["failed_writes"] - failed_before >= FAILED_WRITES_IN_OUTAGE,
                timeout=90,
            ), "the writer should keep retrying while the database is away"
            cluster.start()
            print(f"\noutage: PostgreSQL down {time.monotonic() - stopped_at:.1f} s")
            # Back up: the writer catches up while the load goes on.
            written_before = api.stats()["prediction_log"]["written"]
            assert wait_until(lambda: api.stats()["prediction_log"]["written"] > written_before, timeout=60)
        result = load.result
        assert wait_until(lambda: api.stats()["prediction_log"]["written"] >= len(result.ok), timeout=60)
        after = api.stats()["prediction_log"]
    rows = cluster.count("select count(*) from predictions")
    distinct = cluster.count("select count(distinct request_id) from predictions")
    print(f"outage: {result.summary()}")
    print(f"outage: predictions made {len(result.ok)}, rows stored {rows} ({distinct} distinct request ids), "
          f"failed writes retried {after['failed_writes']}, dropped {after['dropped']}")
    assert result.failed == [], f"predictions failed: {list(result.reasons.items())[:5]}"
    assert during["last_error"] is not None and during["queued"] > 0, "the outage should have been noticed"
    assert after["dropped"] == 0
    assert rows == distinct == len(result.ok)
