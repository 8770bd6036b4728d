"""PostgreSQL stopped for 30 s under load: predictions go on, and every one reaches the database after."""

from __future__ import annotations

import time

import pytest

from tests.hardening.conftest import PENGUIN, PREDICT
from tests.hardening.server import Load, running_api
from tests.pg import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE_SECONDS = 30


def test_a_database_outage_under_load_fails_no_prediction_and_loses_no_row(tmp_path, cluster):
    with running_api(tmp_path, DATABASE_URL=cluster.url, PREDLOG_FLUSH_SECONDS="0.2") as api:
        with Load(api.url + PREDICT, PENGUIN, workers=3) as load:
            time.sleep(3)
            cluster.stop()
            stopped_at = time.monotonic()
            time.sleep(OUTAGE_SECONDS / 2)
            during = api.stats()["prediction_log"]
            time.sleep(OUTAGE_SECONDS / 2)
            cluster.start()
            print(f"\noutage: PostgreSQL down {time.monotonic() - stopped_at:.1f} s")
            time.sleep(3)
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
