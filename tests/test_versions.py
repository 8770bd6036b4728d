"""Model versions in the database: the disk seeds it, restarts and other instances follow it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sqlalchemy import select

from api.serving.bundle import save_bundle
from api.serving.card import ModelCard
from api.settings import normalise_database_url
from api.storage.database import create_db_engine
from api.storage.tables import predictions
from tests.factories import EXAMPLE_MODELS, mixed_frame
from tests.pg import free_port, wait_until

NAME = "tiny"


def _save(models_dir: Path, *, extra_feature: bool) -> ModelCard:
    frame, target = mixed_frame()
    numbers = ["age", "income k$"]
    if extra_feature:  # the second version reads one more column: its request schema differs
        frame["height"] = np.random.default_rng(5).normal(170, 10, len(frame)).round(1)
        numbers.append("height")
    prepare = ColumnTransformer([
        ("numbers", SimpleImputer(strategy="median"), numbers),
        ("categories", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         ["colour", "member"]),
    ])
    train, test = frame.iloc[:90], frame.iloc[90:]
    model = make_pipeline(prepare, LogisticRegression(max_iter=500)).fit(train, target.iloc[:90])
    return save_bundle(model, train, target.iloc[:90], NAME, features_test=test, target_test=target.iloc[90:],
                       models_dir=models_dir, verify=False, quiet=True)


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory) -> tuple[Path, ModelCard, Path, ModelCard]:
    """The same model twice: version 1 in one models folder, version 2 (one more input) in another."""
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    return first, _save(first, extra_feature=False), second, _save(second, extra_feature=True)


def _versions(client, name: str = NAME) -> dict:
    response = client.get(f"/models/{name}/versions")
    assert response.status_code == 200, response.text
    return response.json()


def _logged_versions(url: str) -> list[str]:
    engine = create_db_engine(normalise_database_url(url), pool_size=1, connect_timeout=5)
    try:
        with engine.connect() as connection:
            return connection.execute(select(predictions.c.model_version).order_by(predictions.c.id)).scalars().all()
    finally:
        engine.dispose()


def test_versions_first_start_stores_the_bundles_on_disk_as_active(database_url, serve):
    card = ModelCard.model_validate_json((EXAMPLE_MODELS / "penguins" / "card.json").read_text())
    with serve(database_url=database_url) as client:
        listed = _versions(client, "penguins")
        assert listed["active"] == card.version and listed["candidate"] is None and listed["previous"] is None
        (only,) = listed["versions"]
        assert (only["version"], only["status"], only["added_by"]) == (card.version, "active", "models/")
        assert only["metrics"] == card.metrics and only["metrics_rows"] == card.metrics_rows
        assert len(only["sha256"]) == 64
        answer = client.post("/models/penguins/predict", json=card.examples[0]).json()
        assert answer["version"] == card.version
        assert wait_until(lambda: client.app.state.prediction_log.stats().written == 1, timeout=20)
    assert _logged_versions(database_url) == [card.version]


def test_versions_a_restart_serves_the_active_version_not_the_one_on_its_disk(database_url, serve, two_versions,
                                                                               tmp_path):
    first_dir, first, second_dir, second = two_versions
    with serve(models_dir=first_dir, database_url=database_url) as client:
        assert _versions(client)["active"] == first.version
    # A deploy with the new bundle: new to the database, so it becomes active and the old one previous.
    with serve(models_dir=second_dir, database_url=database_url) as client:
        listed = _versions(client)
        assert (listed["active"], listed["previous"]) == (second.version, first.version)
        assert [v["added_by"] for v in listed["versions"]] == ["models/", "models/"]
    # The old instance restarting with the old bundle on its disk: the database decides, and the
    # routes and /docs are built from the active card, which reads one more input.
    cache = tmp_path / "cache"
    with serve(models_dir=first_dir, database_url=database_url, model_cache_dir=cache) as client:
        listed = _versions(client)
        assert (listed["active"], len(listed["versions"])) == (second.version, 2)
        row = second.examples[0]
        answer = client.post(f"/models/{NAME}/predict", json=row)
        assert answer.status_code == 200 and answer.json()["version"] == second.version, answer.text
        fields = client.get("/openapi.json").json()["components"]["schemas"]["TinyFeatures"]["properties"]
        assert "height" in fields
        assert client.get(f"/models/{NAME}").json()["card"]["version"] == second.version
        assert wait_until(lambda: client.app.state.prediction_log.stats().written == 1, timeout=20)
    assert (cache / NAME / listed["versions"][1]["sha256"][:16] / "card.json").is_file()
    assert _logged_versions(database_url) == [second.version]


def test_versions_the_same_bundle_again_adds_no_version(database_url, serve, two_versions):
    first_dir, first, _, _ = two_versions
    for _ in range(2):
        with serve(models_dir=first_dir, database_url=database_url) as client:
            listed = _versions(client)
    assert [v["version"] for v in listed["versions"]] == [first.version] and listed["previous"] is None


def test_versions_without_a_database_the_disk_is_served_and_versions_answer_503(serve, two_versions, tmp_path):
    first_dir, first, _, _ = two_versions
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    with serve(models_dir=first_dir, database_url=closed, db_connect_timeout=0.5,
               predlog_spill_dir=tmp_path / "spill") as client:
        answer = client.post(f"/models/{NAME}/predict", json=first.examples[0])
        assert answer.status_code == 200 and answer.json()["version"] == first.version
        response = client.get(f"/models/{NAME}/versions")
        assert response.status_code == 503 and response.json()["error"] == "database_unavailable"


def test_versions_of_an_unknown_model_are_404_with_a_suggestion(serve):
    with serve() as client:
        response = client.get("/models/pengiuns/versions")
        assert response.status_code == 404 and "penguins" in response.json()["message"]


def test_versions_a_bundle_with_a_taken_version_is_not_stored(serve, two_versions, tmp_path):
    first_dir, first, second_dir, second = two_versions
    clash = tmp_path / "clash"
    shutil.copytree(second_dir, clash)
    card = (clash / NAME / "card.json")
    card.write_text(card.read_text().replace(f'"version": "{second.version}"', f'"version": "{first.version}"'))
    database = f"sqlite:///{tmp_path / 'clash.db'}"
    with serve(models_dir=first_dir, database_url=database):
        pass
    # Another bundle under a version the database already holds: the database's own is served.
    with serve(models_dir=clash, database_url=database) as client:
        listed = _versions(client)
        assert [v["sha256"] for v in listed["versions"]] == [listed["versions"][0]["sha256"]]
        answer = client.post(f"/models/{NAME}/predict", json=first.examples[0])
        assert answer.status_code == 200 and answer.json()["version"] == first.version
