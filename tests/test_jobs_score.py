"""python -m api.jobs score: a table's new rows scored once, beside it, on PostgreSQL and SQLite."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from api.serving.card import read_card
from api.settings import normalise_database_url
from tests.factories import EXAMPLE_MODELS, REPO
from tests.pg import free_port

CARD = read_card(EXAMPLE_MODELS / "flight-delay")
COLUMNS = "id INTEGER PRIMARY KEY, carrier TEXT, origin TEXT, dest TEXT, month INTEGER, day_of_week TEXT, " \
          "dep_hour INTEGER, distance NUMERIC(7, 1)"


def _engine(url: str):
    return create_engine(normalise_database_url(url))  # postgresql:// → psycopg2, as the service does


def _flights(count: int, seed: int, first_id: int = 1) -> list[dict]:
    """Rows like the model's traffic: categories it knows, numbers within its ranges."""
    rng = random.Random(seed)
    specs = {f.name: f for f in CARD.features}
    rows = []
    for offset in range(count):
        row = {"id": first_id + offset}
        for name, spec in specs.items():
            if spec.type == "category":
                row[name] = rng.choice(spec.categories)
            else:
                row[name] = rng.randint(int(spec.minimum), int(spec.maximum))
        rows.append(row)
    return rows


def _insert(url: str, rows: list[dict], table: str = "flights") -> None:
    engine = _engine(url)
    names = list(rows[0])
    with engine.begin() as connection:
        connection.execute(
            text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"), rows
        )
    engine.dispose()


def _query(url: str, sql: str) -> list:
    engine = _engine(url)
    with engine.connect() as connection:
        found = connection.execute(text(sql)).all()
    engine.dispose()
    return found


def _decoded(url: str, value):
    # A JSON column read with plain SQL: psycopg2 decodes PostgreSQL's json, SQLite gives the text.
    return json.loads(value) if url.startswith("sqlite") and value is not None else value


def _score(url: str, *args: str, table: str = "flights", model: str = "flight-delay") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "MODELS_DIR": str(EXAMPLE_MODELS)}
    return subprocess.run(
        [sys.executable, "-m", "api.jobs", "score", "--table", table, "--model", model, *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env,
    )


@pytest.fixture
def flights_db(database_url) -> str:
    engine = _engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE flights ({COLUMNS})"))
    engine.dispose()
    return database_url


def test_new_rows_are_scored_once_as_the_api_answers_them(flights_db, examples_client):
    rows = _flights(50, seed=1)
    bad = [dict(_flights(1, seed=2, first_id=51)[0], dest="XXX"),
           dict(_flights(1, seed=3, first_id=52)[0], dep_hour=None)]
    _insert(flights_db, rows + bad)

    first = _score(flights_db)
    assert first.returncode == 0, first.stderr
    assert "scored 52 new rows of flights with flight-delay" in first.stdout
    assert "50 answered, 2 refused (the reason is in flights_predictions.error)" in first.stdout

    stored = {r.row_id: r for r in _query(flights_db, "SELECT * FROM flights_predictions")}
    assert sorted(stored) == list(range(1, 53))
    features = [{k: v for k, v in row.items() if k != "id"} for row in rows]
    api = examples_client.post("/models/flight-delay/predict/batch", json={"rows": features}).json()["predictions"]
    for row, answer in zip(rows, api, strict=True):
        record = stored[row["id"]]
        outcome, prediction = _decoded(flights_db, record.outcome), _decoded(flights_db, record.prediction)
        assert prediction == answer["prediction"]
        assert outcome["out_of_range"] == answer["out_of_range"] == []
        assert outcome["probabilities"] == pytest.approx(answer["probabilities"], abs=1e-6)
        assert record.model_version == CARD.version and record.error is None
    assert stored[51].prediction is None and stored[51].error.startswith("dest: ")
    assert stored[52].prediction is None and stored[52].error.startswith("dep_hour: ")

    again = _score(flights_db)
    assert again.returncode == 0 and again.stdout.startswith("nothing new in flights for flight-delay")
    _insert(flights_db, _flights(3, seed=4, first_id=53))
    more = _score(flights_db, "--batch-size", "2")
    assert "scored 3 new rows" in more.stdout and "3 answered" in more.stdout
    assert _query(flights_db, "SELECT COUNT(*) FROM flights_predictions")[0][0] == 55


def test_two_runs_at_once_store_each_prediction_once(flights_db):
    _insert(flights_db, _flights(400, seed=5))
    env = {**os.environ, "DATABASE_URL": flights_db, "MODELS_DIR": str(EXAMPLE_MODELS)}
    command = [sys.executable, "-m", "api.jobs", "score", "--table", "flights", "--model", "flight-delay",
               "--batch-size", "50"]
    runs = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    count, distinct = _query(flights_db, "SELECT COUNT(*), COUNT(DISTINCT row_id) FROM flights_predictions")[0]
    assert count == distinct == 400


def test_a_table_without_the_models_inputs_is_refused_naming_them(database_url):
    engine = _engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE partial (flight_id INTEGER PRIMARY KEY, carrier TEXT, origin TEXT)"))
    engine.dispose()
    result = _score(database_url, table="partial")
    assert result.returncode == 2
    assert "table 'partial' lacks the columns ['id', 'dest', 'month', 'day_of_week', 'dep_hour', 'distance']" \
        in result.stderr
    assert "its columns are ['carrier', 'flight_id', 'origin']" in result.stderr
    assert _score(database_url, "--id-column", "flight_id", table="partial").returncode == 2
    nothing = _score(database_url, table="nosuch")
    assert nothing.returncode == 2 and "there is no table 'nosuch'" in nothing.stderr


def test_an_unknown_model_is_refused_with_the_models_there_are(flights_db):
    result = _score(flights_db, model="flight-delays")
    assert result.returncode == 2
    assert "no model is called 'flight-delays'" in result.stderr
    assert "['flight-delay', 'fuel-economy', 'penguins']" in result.stderr


def test_a_database_that_does_not_answer_is_exit_3_with_the_reason():
    result = _score(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    assert result.returncode == 3
    assert "not scored: the database did not answer" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_job_scores_with_the_version_the_database_says_is_active(flights_db, tmp_path):
    """After a promotion the service serves the database's version, not models/'s: so does the job."""
    from api.serving.versions import bundle_files
    from api.storage.schema import upgrade_schema
    from api.storage.versions import add_version, set_active

    promoted = CARD.model_copy(update={"version": "flights-v2"}).model_dump(mode="json")
    engine = _engine(flights_db)
    upgrade_schema(engine)
    with engine.begin() as connection:
        stored, _ = add_version(connection, promoted, bundle_files(CARD, EXAMPLE_MODELS / "flight-delay"),
                                added_by="test", reason="a promoted version")
        set_active(connection, "flight-delay", stored.id)
    engine.dispose()
    _insert(flights_db, _flights(5, seed=9))
    env = {**os.environ, "DATABASE_URL": flights_db, "MODELS_DIR": str(EXAMPLE_MODELS),
           "MODEL_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "api.jobs", "score", "--table", "flights", "--model", "flight-delay"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    assert "with flight-delay flights-v2: 5 answered" in result.stdout
    versions = {r[0] for r in _query(flights_db, "SELECT model_version FROM flights_predictions")}
    assert versions == {"flights-v2"}
