"""Every prediction reaches the database, off the request path, even across an outage."""

from __future__ import annotations

import os
import sys
import threading
import time

import psycopg2
import pytest
from sqlalchemy import create_engine, select

import api.storage.database
from api.serving.card import read_card
from api.settings import normalise_database_url
from api.storage.predlog import WRITER_NICE
from api.storage.records import RECORD_FIELDS
from api.storage.tables import predictions
from tests.factories import EXAMPLE_MODELS
from tests.pg import fresh_database, throwaway_cluster, wait_until

PENGUIN = read_card(EXAMPLE_MODELS / "penguins").examples[0]
FLIGHTS = read_card(EXAMPLE_MODELS / "flight-delay").examples


def _rows(url: str) -> list[dict]:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(select(predictions).order_by(predictions.c.id))]
    finally:
        engine.dispose()


def test_a_record_fills_every_column_but_the_id():
    # The writer hands records to the driver as tuples in RECORD_FIELDS order.
    assert tuple(c.name for c in predictions.columns if not c.primary_key) == RECORD_FIELDS


def test_predictions_are_logged_with_inputs_outputs_and_request_ids(serve, database_url):
    with serve(database_url=database_url, predlog_flush_seconds=0.05) as client:
        single = client.post("/models/penguins/predict", json=PENGUIN, headers={"X-Request-ID": "one"}).json()
        batch = client.post("/models/flight-delay/predict/batch", json={"rows": FLIGHTS}).json()
        assert wait_until(lambda: client.get("/ready").json()["database"]["written"] == 1 + len(FLIGHTS))

    rows = _rows(database_url)
    assert len(rows) == 1 + len(FLIGHTS)
    first = rows[0]
    assert (first["request_id"], first["model"], first["model_version"]) == ("one", "penguins", single["version"])
    assert first["inputs"] == PENGUIN
    assert first["outputs"] == {"prediction": single["prediction"], "probabilities": single["probabilities"],
                                "out_of_range": []}
    assert first["latency_ms"] > 0 and first["created_at"] is not None
    logged = rows[1:]
    assert {r["request_id"] for r in logged} == {batch["request_id"]}
    assert [r["inputs"] for r in logged] == FLIGHTS
    assert [r["outputs"]["prediction"] for r in logged] == [p["prediction"] for p in batch["predictions"]]


def test_a_driver_without_a_bulk_path_is_written_through_sqlalchemy_core(serve, database_url, monkeypatch):
    # SQLite and psycopg2 get their drivers' bulk inserts; any other driver must store the same rows.
    monkeypatch.setattr(api.storage.database, "_BULK", {})
    with serve(database_url=database_url, predlog_flush_seconds=0.05) as client:
        batch = client.post("/models/flight-delay/predict/batch", json={"rows": FLIGHTS}).json()
        assert wait_until(lambda: client.get("/ready").json()["database"]["written"] == len(FLIGHTS))
    rows = _rows(database_url)
    assert [r["inputs"] for r in rows] == FLIGHTS
    assert [r["outputs"] for r in rows] == batch["predictions"]
    assert {r["request_id"] for r in rows} == {batch["request_id"]}


def test_large_batches_are_written_whole_and_in_order(serve, database_url):
    # Each batch is written in many small INSERTs (so the writer lets requests run between them):
    # none of them may lose, repeat or reorder a row.
    sent = [FLIGHTS[i % len(FLIGHTS)] | {"month": 1 + i % 12} for i in range(300)]
    with serve(database_url=database_url, predlog_batch_size=128, predlog_flush_seconds=0.05) as client:
        for start in range(0, len(sent), 100):
            response = client.post("/models/flight-delay/predict/batch", json={"rows": sent[start:start + 100]})
            assert response.status_code == 200
        assert wait_until(lambda: client.get("/ready").json()["database"]["written"] == len(sent))
    assert [r["inputs"] for r in _rows(database_url)] == sent


@pytest.mark.skipif(sys.platform != "linux", reason="thread priorities are per thread only on Linux")
def test_the_log_writer_gives_way_to_requests(serve):
    # On one small CPU the kernel should run requests first and the writer in the time they leave.
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    with serve() as client:
        assert client.post("/models/penguins/predict", json=PENGUIN).status_code == 200
        writer = next(t for t in threading.enumerate() if t.name == "prediction-log")
        assert os.getpriority(os.PRIO_PROCESS, writer.native_id) == max(WRITER_NICE, before)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # requests keep theirs


def test_shutdown_flushes_the_queue(serve, database_url):
    with serve(database_url=database_url, predlog_flush_seconds=30) as client:  # the writer would wait 30 s
        for _ in range(5):
            assert client.post("/models/penguins/predict", json=PENGUIN).status_code == 200
    assert len(_rows(database_url)) == 5


def test_postgres_scheme_from_managed_platforms_is_accepted(serve):
    with fresh_database() as url, serve(database_url="postgres://" + url.removeprefix("postgresql://")) as client:
        assert client.get("/ready").json()["database"] == {
            "backend": "postgresql", "reachable": True, "error": None, "queued": 0, "written": 0, "dropped": 0}


def _logged(cluster) -> int:
    """Rows in the throwaway cluster's log; 0 while the writer has not created the table."""
    try:
        return cluster.count("select count(*) from predictions")
    except psycopg2.Error:
        return 0


def test_a_stopped_database_neither_fails_nor_slows_predictions_and_loses_nothing(serve):
    with throwaway_cluster() as cluster, serve(database_url=cluster.url, predlog_flush_seconds=0.05,
                                               db_connect_timeout=1) as client:
        assert client.post("/models/penguins/predict", json=PENGUIN).status_code == 200
        assert wait_until(lambda: _logged(cluster) == 1)

        cluster.stop()
        started = time.perf_counter()
        for _ in range(40):
            assert client.post("/models/penguins/predict", json=PENGUIN).status_code == 200
        elapsed = time.perf_counter() - started
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["details"][0]["field"] == "database"
        assert elapsed < 10, "predictions waited for the database"

        cluster.start()
        assert wait_until(lambda: client.get("/ready").status_code == 200, timeout=30)
        assert wait_until(lambda: _logged(cluster) == 41, timeout=30)
        assert client.get("/ready").json()["database"]["dropped"] == 0


def test_with_memory_and_spill_full_predictions_are_refused_before_they_are_made(serve):
    # The database is stopped; a tiny spill and a tiny buffer fill; from then on a prediction is refused
    # (503, Retry-After, the usual error shape) instead of answered and forgotten. Every 200 is stored
    # once the database is back, exactly once.
    # Filling the spill takes about 60 predictions, as many as the default rate limit allows a minute.
    with throwaway_cluster() as cluster, serve(database_url=cluster.url, predlog_queue_size=3,
                                               predlog_batch_size=1, predlog_flush_seconds=0.05,
                                               predlog_spill_max_bytes=4096, db_connect_timeout=1,
                                               rate_limit_predict="1000/minute") as client:
        assert client.post("/models/penguins/predict", json=PENGUIN).status_code == 200
        assert wait_until(lambda: _logged(cluster) == 1)
        cluster.stop()
        answered, refused = 1, None
        for i in range(200):
            response = client.post("/models/penguins/predict", json=PENGUIN, headers={"X-Request-ID": f"r{i}"})
            if response.status_code == 503:
                refused = response
                break
            assert response.status_code == 200
            answered += 1
        assert refused is not None, "a full log must refuse"
        assert refused.headers["Retry-After"] and refused.json()["error"] == "prediction_log_full"
        assert refused.json()["request_id"] == f"r{i}"
        stats = client.app.state.prediction_log.stats()
        assert stats.refused == 1 and stats.spilled > 0 and stats.dropped == 0
        assert client.post("/models/flight-delay/predict/batch", json={"rows": FLIGHTS}).status_code == 503

        cluster.start()
        assert wait_until(lambda: _logged(cluster) == answered, timeout=30)
        assert wait_until(lambda: client.post("/models/penguins/predict", json=PENGUIN).status_code == 200)
        answered += 1
        assert wait_until(lambda: _logged(cluster) == answered, timeout=30)
        assert cluster.count("select count(distinct request_id) from predictions") == answered
        assert client.get("/metrics").text.count("freeport_prediction_log_refused_total 2.0") == 1
