"""The benchmark's own parts: its rows are distinct and valid, and its naive server answers as freeport does.

A benchmark that sent rows the API refuses would time 422s; a yardstick that
computed something else would make every ratio meaningless.
"""

from __future__ import annotations

import importlib
import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from bench.rows import ROWS, prepare


@pytest.fixture(scope="module", params=["forest-multiclass", "text-gaps-onehot"])
def kind(request, tmp_path_factory):
    return prepare(request.param, tmp_path_factory.mktemp("bench-models"))


def test_the_rows_are_distinct_and_the_moved_ones_inside_the_training_ranges(kind):
    assert len(kind.rows) == ROWS
    assert len({json.dumps(row, sort_keys=True) for row in kind.rows}) == ROWS
    assert 0 < kind.synthetic_rows < ROWS  # a zoo kind's held-out frame is smaller than a batch
    moved = kind.rows[-kind.synthetic_rows :]  # held-out rows come first, as they are (some out of range)
    for feature in kind.card["features"]:
        values = [row[feature["name"]] for row in moved if row[feature["name"]] is not None]
        if feature["type"] == "integer":
            assert all(isinstance(v, int) for v in values), feature["name"]
        if feature["type"] in ("number", "integer"):
            assert feature["minimum"] <= min(values) and max(values) <= feature["maximum"], feature["name"]
        if feature["type"] == "category":
            assert set(values) <= set(feature["categories"]), feature["name"]


@pytest.fixture
def naive_client(kind, monkeypatch):
    monkeypatch.setenv("BASELINE_BUNDLE", str(kind.bundle))
    import bench.baseline_server as baseline

    with TestClient(importlib.reload(baseline).app) as client:
        yield client


def test_freeport_accepts_every_row_and_the_naive_server_gives_the_same_answers(kind, naive_client, tmp_path):
    settings = Settings(models_dir=kind.bundle.parent, database_url=f"sqlite:///{tmp_path / 'log.db'}",
                        predlog_spill_dir=tmp_path / "spill")
    with TestClient(create_app(settings)) as client:
        client.app.state.registry.wait_loaded(60)
        ours = client.post(f"/models/{kind.name}/predict/batch", json={"rows": kind.rows})
    theirs = naive_client.post("/predict/batch", json={"rows": kind.rows})
    assert ours.status_code == 200, ours.text[:500]
    assert theirs.status_code == 200, theirs.text[:500]
    ours, theirs = ours.json()["predictions"], theirs.json()["predictions"]
    assert [p["prediction"] for p in ours] == [p["prediction"] for p in theirs]
    for mine, yardstick in zip(ours, theirs, strict=True):
        assert mine["probabilities"] == pytest.approx(yardstick["probabilities"], abs=1e-4)
