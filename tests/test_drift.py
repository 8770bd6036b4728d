"""Drift reports: the training profile a save records, and GET /models/{name}/drift over the real log."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from api.errors import BundleError
from api.monitoring.bins import bin_counts, bin_labels, cut_points
from api.monitoring.drift import DriftThresholds, compare
from api.serving.bundle import save_bundle
from api.serving.card import CARD_FILE, FeatureProfile, FeatureSpec, ModelCard, TrainingProfile, read_card
from api.serving.profile import profile_features, training_profile
from tests.factories import EXAMPLE_MODELS, REPO, mixed_frame, mixed_pipeline
from tests.pg import throwaway_cluster, wait_until

SHIFT = 40  # years added to every age sent: most land past the oldest customer seen in training


def _rows(frame: pd.DataFrame) -> list[dict]:
    """The frame as JSON rows: NaN as null, numpy scalars as Python ones."""
    rows = []
    for record in frame.to_dict("records"):
        rows.append({k: None if isinstance(v, float) and math.isnan(v) else getattr(v, "item", lambda v=v: v)()
                     for k, v in record.items()})
    return rows


def _card(features: list[FeatureSpec], profile: TrainingProfile) -> ModelCard:
    base = read_card(EXAMPLE_MODELS / "penguins")
    return base.model_copy(update={"features": features, "training_profile": profile})


# --- the bins -------------------------------------------------------------------------------------


def test_a_number_with_few_values_gets_a_bin_per_value_and_an_edge_value_counts_in_the_bin_above():
    values = np.array([1, 2, 2, 3, 3, 3], dtype=float)
    edges = cut_points(values)
    assert edges == [2.0, 3.0]
    assert bin_counts(np.array([0.5, 1, 2, 2.5, 3, 99]), edges).tolist() == [2, 2, 2]
    assert bin_labels(edges) == ["< 2", "2 – 3", "≥ 3"]


def test_a_spread_out_number_is_cut_at_its_deciles_so_each_training_bin_holds_a_tenth():
    values = np.arange(1000, dtype=float)
    edges = cut_points(values)
    assert len(edges) == 9
    assert bin_counts(values, edges).tolist() == [100] * 10


# --- what a save records --------------------------------------------------------------------------


def test_save_bundle_records_each_features_training_distribution(tmp_path: Path):
    frame, target = mixed_frame(rows=200)
    card = save_bundle(mixed_pipeline(frame, target), frame, target, "shop", models_dir=tmp_path, quiet=True)
    profile = read_card(tmp_path / "shop").training_profile
    assert profile == card.training_profile and profile.rows == 200
    colour = profile.features["colour"]
    assert colour.values == ["blue", "green", "red"]
    # Shares are of all rows, so the missing ones make up the rest.
    assert colour.null_share == round((frame["colour"].isna()).mean(), 6)
    assert math.isclose(sum(colour.shares) + colour.null_share, 1.0, abs_tol=1e-5)
    for name, value in zip(colour.values, colour.shares, strict=True):
        assert value == round((frame["colour"] == name).sum() / 200, 6)
    assert profile.features["member"].values == [False, True]
    income = profile.features["income k$"]
    assert income.edges == cut_points(frame["income k$"].dropna().to_numpy())
    assert len(income.shares) == len(income.edges) + 1


def test_example_cards_carry_a_training_profile_for_every_feature():
    for folder in sorted(p for p in EXAMPLE_MODELS.iterdir() if (p / CARD_FILE).is_file()):
        card = read_card(folder)
        assert card.training_profile is not None, folder.name
        assert set(card.training_profile.features) == set(card.feature_names)
        assert card.training_profile.rows == card.training_rows


# --- the comparison -------------------------------------------------------------------------------


def test_psi_is_the_sum_over_bins_of_the_difference_times_the_log_ratio():
    spec = FeatureSpec(name="c", type="category", categories=["a", "b"])
    card = _card([spec], TrainingProfile(rows=4, features={"c": FeatureProfile(values=["a", "b"], shares=[0.5, 0.5])}))
    [drift] = compare(card, [{"c": "a"}] + [{"c": "b"}] * 3, DriftThresholds(min_predictions=1))
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert drift.psi == round(expected, 4) == 0.2747
    assert drift.flagged and drift.status == "drifted"  # past 0.25
    assert [(b.bin, b.training, b.seen) for b in drift.bins] == [
        ("a", 0.5, 0.25), ("b", 0.5, 0.75), ("unseen", 0.0, 0.0), ("missing", 0.0, 0.0)]


def test_a_feature_just_under_the_psi_threshold_is_shifting_not_flagged():
    spec = FeatureSpec(name="c", type="category", categories=["a", "b"])
    card = _card([spec], TrainingProfile(rows=4, features={"c": FeatureProfile(values=["a", "b"], shares=[0.5, 0.5])}))
    [drift] = compare(card, [{"c": "a"}] + [{"c": "b"}] * 3, DriftThresholds(psi_drifted=0.2748, min_predictions=1))
    assert (drift.status, drift.flagged) == ("shifting", False)


def test_unseen_categories_and_values_past_the_training_range_count_as_outside():
    frame, _ = mixed_frame(rows=400)
    specs = profile_features(frame, list(frame.columns))
    card = _card(specs, training_profile(frame, specs))
    rows = _rows(frame.iloc[:200])
    for i, row in enumerate(rows):
        if i % 10 == 0:
            row["colour"] = "purple"  # 10 % never seen in training
        if i % 50 == 0:
            row["age"] = 200  # 2 % past the oldest age seen
    by_name = {d.name: d for d in compare(card, rows, DriftThresholds())}
    assert by_name["colour"].outside_share == 0.1 and by_name["colour"].flagged
    assert by_name["colour"].bins[-2].bin == "unseen" and by_name["colour"].bins[-2].seen == 0.1
    assert by_name["age"].outside_share == 0.02
    assert not by_name["member"].flagged and [b.bin for b in by_name["member"].bins] == ["false", "true", "missing"]


def test_too_few_predictions_flag_nothing_however_different():
    frame, _ = mixed_frame(rows=400)
    specs = profile_features(frame, list(frame.columns))
    card = _card(specs, training_profile(frame, specs))
    rows = [dict(r, colour="purple") for r in _rows(frame.iloc[:99])]
    drifts = compare(card, rows, DriftThresholds(min_predictions=100))
    assert {d.status for d in drifts} == {"too_few"} and not any(d.flagged for d in drifts)
    assert {d.name: d.outside_share for d in drifts}["colour"] == 1.0  # still measured and reported


# --- over HTTP, on the log the service really wrote ---------------------------------------------------


@pytest.fixture(scope="module")
def shop_models(tmp_path_factory) -> Path:
    """A bundle trained on 500 customers; the test traffic is 300 others from the same population."""
    models = tmp_path_factory.mktemp("models")
    frame, target = mixed_frame(rows=500)
    save_bundle(mixed_pipeline(frame, target), frame, target, "shop", models_dir=models, quiet=True)
    return models


def _send_shifted(client, rows: int = 300) -> None:
    frame, _ = mixed_frame(rows=rows, seed=5)
    frame["age"] = frame["age"] + SHIFT
    response = client.post("/models/shop/predict/batch", json={"rows": _rows(frame)})
    assert response.status_code == 200, response.text


def test_a_shifted_feature_is_flagged_and_the_others_are_not(serve, shop_models, database_url):
    with serve(models_dir=shop_models, database_url=database_url, predlog_flush_seconds=0.05) as client:
        _send_shifted(client)
        assert wait_until(lambda: client.get("/ready").json()["database"]["written"] == 300)
        report = client.get("/models/shop/drift").json()
    assert report["predictions"] == 300 and report["enough_data"] is True
    assert report["drifted"] == ["age"]
    features = {f["name"]: f for f in report["features"]}
    assert features["age"]["psi"] > 1 and features["age"]["outside_share"] > 0.5
    for name in ("income k$", "colour", "member"):
        assert features[name]["status"] == "stable", features[name]
        assert features[name]["psi"] < 0.1
    # Missing values are their own bin: the traffic has the same share of them as training.
    assert abs(features["colour"]["null_share_seen"] - features["colour"]["null_share_training"]) < 0.05
    version = read_card(shop_models / "shop").version
    assert report["version"] == version and report["versions_seen"] == {version: 300}
    assert report["first_at"].endswith("Z") and report["first_at"] <= report["last_at"]


def test_the_window_takes_the_newest_predictions_up_to_the_limit(serve, shop_models, tmp_path):
    with serve(models_dir=shop_models, predlog_flush_seconds=0.05) as client:
        _send_shifted(client)
        assert wait_until(lambda: client.get("/ready").json()["database"]["written"] == 300)
        small = client.get("/models/shop/drift", params={"limit": 50}).json()
        strict = client.get("/models/shop/drift", params={"min_predictions": 1000}).json()
        bad = client.get("/models/shop/drift", params={"days": 0})
    assert small["predictions"] == 50 and small["limit"] == 50
    assert strict["enough_data"] is False and strict["drifted"] == []
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "query.days"
    assert "greater than 0" in bad.json()["details"][0]["message"]


def test_a_card_without_a_training_profile_is_told_how_to_get_one(serve, shop_models, tmp_path):
    models = tmp_path / "old"
    shutil.copytree(shop_models / "shop", models / "shop")
    card = models / "shop" / CARD_FILE
    card.write_text(read_card(models / "shop").model_copy(update={"training_profile": None}).model_dump_json())
    with serve(models_dir=models) as client:
        response = client.get("/models/shop/drift")
        unknown = client.get("/models/shoop/drift")
    assert response.status_code == 409
    assert response.json()["error"] == "no_training_profile"
    assert "save the bundle again" in response.json()["message"]
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "no model is called 'shoop'; did you mean 'shop'?"


def test_drift_wants_the_admin_key_once_there_is_one(serve, shop_models):
    with serve(models_dir=shop_models, admin_api_key="admin-key-0123456789abcdef") as client:
        assert client.get("/models/shop/drift").status_code == 401
        assert client.get("/models/shop/drift", headers={"X-API-Key": "admin-key-0123456789abcdef"}).status_code == 200


def test_a_database_that_is_down_gets_a_503_that_names_no_host(serve, shop_models):
    with throwaway_cluster() as cluster, serve(
        models_dir=shop_models, database_url=cluster.url, db_connect_timeout=2, predlog_flush_seconds=0.05
    ) as client:
        _send_shifted(client, rows=20)
        assert wait_until(lambda: client.get("/ready").json()["database"]["written"] == 20)
        cluster.stop()
        response = client.get("/models/shop/drift")
        cluster.start()
        back = client.get("/models/shop/drift")
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert "127.0.0.1" not in response.text and str(cluster.port) not in response.text
    assert back.status_code == 200 and back.json()["predictions"] == 20


# --- the scheduled check ----------------------------------------------------------------------------


def test_the_scheduled_check_fails_on_drift_and_names_the_feature(shop_models, tmp_path):
    from tests.demo.servers import ApiProcess

    api = ApiProcess(tmp_path, models_dir=shop_models, env={"PREDLOG_FLUSH_SECONDS": "0.05"}).start()
    try:
        quiet = _check(api.url, tmp_path)
        assert quiet.returncode == 0, quiet.stdout + quiet.stderr
        assert "Too few predictions to judge" in quiet.stdout
        frame, _ = mixed_frame(rows=300, seed=5)
        frame["age"] = frame["age"] + SHIFT
        assert requests.post(f"{api.url}/models/shop/predict/batch", json={"rows": _rows(frame)}, timeout=30).ok
        assert wait_until(lambda: requests.get(f"{api.url}/ready", timeout=5).json()["database"]["written"] == 300)
        summary = tmp_path / "summary.md"
        alert = _check(api.url, tmp_path, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary))
        unknown = _check(api.url, tmp_path, "--model", "shoop")
    finally:
        api.stop()
    assert alert.returncode == 1, alert.stdout + alert.stderr
    assert "::error title=Drift in shop::input 'age' has drifted from its training data" in alert.stdout
    assert "| age | drifted |" in summary.read_text() and "| colour | stable |" in summary.read_text()
    assert unknown.returncode == 2 and "did you mean 'shop'?" in unknown.stderr
    down = _check(api.url, tmp_path, "--wake", "0")
    assert down.returncode == 2 and "could not ask" in down.stderr


def _check(url: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_drift.py"), "--api", url, *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env={**clean, **env},
    )


def test_categories_rare_in_training_share_one_bin_so_noise_in_them_is_not_drift():
    shares = [0.5, 0.46] + [0.005] * 8  # two common categories and eight rare ones
    names = ["a", "b"] + [f"r{i}" for i in range(8)]
    spec = FeatureSpec(name="c", type="category", categories=names)
    card = _card([spec], TrainingProfile(rows=1000, features={"c": FeatureProfile(values=names, shares=shares)}))
    # 100 predictions: the rare ones come up in a different mix, but as often as in training.
    rows = [{"c": "a"}] * 50 + [{"c": "b"}] * 46 + [{"c": "r0"}] * 4
    [drift] = compare(card, rows, DriftThresholds())
    assert [b.bin for b in drift.bins] == ["a", "b", "8 rare in training", "unseen", "missing"]
    assert [b.seen for b in drift.bins] == [0.5, 0.46, 0.04, 0.0, 0.0]
    assert drift.bins[2].training == 0.04
    assert drift.psi == 0.0 and drift.status == "stable"


def test_a_database_without_the_log_table_yet_is_an_empty_window_not_an_error(tmp_path):
    from sqlalchemy import create_engine

    from api.storage.logged_inputs import recent_inputs

    window = recent_inputs(create_engine(f"sqlite:///{tmp_path / 'new.db'}"), "shop", days=7, limit=10)
    assert (window.inputs, window.first_at) == ([], None)


@pytest.mark.parametrize("damage", ["a feature missing", "a number without edges", "one share too many"])
def test_a_card_whose_training_profile_does_not_fit_its_features_is_refused_by_name(tmp_path, damage):
    frame, target = mixed_frame(rows=120)
    save_bundle(mixed_pipeline(frame, target), frame, target, "shop", models_dir=tmp_path, quiet=True)
    path = tmp_path / "shop" / CARD_FILE
    raw = json.loads(path.read_text())
    profiles = raw["training_profile"]["features"]
    if damage == "a feature missing":
        del profiles["colour"]
    elif damage == "a number without edges":
        profiles["age"]["edges"] = None
    else:
        profiles["member"]["shares"].append(0.0)
    path.write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="training_profile"):
        read_card(tmp_path / "shop")
