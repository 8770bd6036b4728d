"""The training range is information, not a wall: outside it a value is served and flagged, in the
response and in the prediction log; with STRICT_RANGES it is refused past the widened range."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from api.app import create_app
from api.serving.card import read_card
from api.settings import Settings, normalise_database_url
from api.storage.tables import predictions
from tests.factories import EXAMPLE_MODELS
from tests.pg import wait_until

FLIGHT = read_card(EXAMPLE_MODELS / "flight-delay").examples[0]
PENGUIN = read_card(EXAMPLE_MODELS / "penguins").examples[0]
UNLIMITED = {"rate_limit_predict": "100000/minute", "rate_limit_batch": "100000/minute"}
ABOVE, BELOW = math.inf, -math.inf

# model, field, value, flagged? -- at each end of the training range, and the next value past it.
EDGES = [
    ("flight-delay", "distance", 4983, False),
    ("flight-delay", "distance", 4984, True),
    ("flight-delay", "distance", 80, False),
    ("flight-delay", "distance", 79, True),
    ("flight-delay", "distance", 1_000_000, True),  # far outside, still served
    ("penguins", "bill_length_mm", 59.6, False),
    ("penguins", "bill_length_mm", math.nextafter(59.6, ABOVE), True),
    ("penguins", "bill_length_mm", 33.1, False),
    ("penguins", "bill_length_mm", math.nextafter(33.1, BELOW), True),
    ("penguins", "bill_length_mm", None, False),  # unknown is not outside
]
GOOD = {"flight-delay": FLIGHT, "penguins": PENGUIN}


def _send(client, model: str, row: dict, route: str) -> list[str]:
    """``row`` sent alone or in the middle of a batch: its outcome's out_of_range."""
    if route == "batch":
        good = GOOD[model]
        response = client.post(f"/models/{model}/predict/batch", json={"rows": [good, row, good]})
        assert response.status_code == 200, response.text
        outcomes = response.json()["predictions"]
        assert outcomes[0]["out_of_range"] == outcomes[2]["out_of_range"] == []  # neighbours unaffected
        return outcomes[1]["out_of_range"]
    response = client.post(f"/models/{model}/predict", json=row)
    assert response.status_code == 200, response.text
    return response.json()["out_of_range"]


@pytest.fixture(scope="module")
def flagging(tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "flags.db"
    settings = Settings(models_dir=EXAMPLE_MODELS, database_url=f"sqlite:///{db}", **UNLIMITED)
    assert settings.strict_ranges is False  # the default
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.app.state.registry.wait_loaded(60)
        yield client


@pytest.mark.parametrize("route", ["one row", "batch"])
@pytest.mark.parametrize(("model", "field", "value", "flagged"), EDGES,
                         ids=[f"{m}.{f}={v!r}" for m, f, v, _ in EDGES])
def test_a_value_outside_the_training_range_is_served_and_flagged(flagging, model, field, value, flagged, route):
    assert _send(flagging, model, {**GOOD[model], field: value}, route) == ([field] if flagged else [])


def test_every_field_outside_is_named_in_field_order(flagging):
    row = {**FLIGHT, "distance": 6000, "month": 0, "dep_hour": 24}  # card order: month, dep_hour, distance
    assert _send(flagging, "flight-delay", row, "one row") == ["month", "dep_hour", "distance"]
    assert _send(flagging, "flight-delay", row, "batch") == ["month", "dep_hour", "distance"]


def _logged_outputs(url: str) -> list[dict]:
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            return [r.outputs for r in connection.execute(select(predictions).order_by(predictions.c.id))]
    finally:
        engine.dispose()


def test_the_flag_is_stored_with_the_prediction(serve, database_url):
    inside, outside = {**FLIGHT, "distance": 4983}, {**FLIGHT, "distance": 4984}
    with serve(database_url=database_url, predlog_flush_seconds=0.05) as client:
        single = [client.post("/models/flight-delay/predict", json=row).json() for row in (outside, inside)]
        batch = client.post("/models/flight-delay/predict/batch", json={"rows": [inside, outside]}).json()
        assert wait_until(lambda: client.get("/ready").json()["database"]["written"] == 4)
    logged = _logged_outputs(database_url)
    assert [o["out_of_range"] for o in logged] == [["distance"], [], [], ["distance"]]
    sent = [{k: v for k, v in s.items() if k not in ("model", "version", "request_id")} for s in single]
    assert logged == sent + batch["predictions"]


# With STRICT_RANGES (tolerance 0.05): the bound is accepted (and still flagged), one step past is refused.
STRICT = [
    ("flight-delay", "distance", 5300, 5301, "between 0 and 5300", "80 to 4983"),
    ("flight-delay", "distance", 0, -1, "between 0 and 5300", "80 to 4983"),
    ("penguins", "bill_length_mm", 61, math.nextafter(61, ABOVE), "between 31 and 61", "33.1 to 59.6"),
    ("penguins", "bill_depth_mm", 12.6, math.nextafter(12.6, BELOW), "between 12.6 and 22", "13.1 to 21.5"),
]


@pytest.mark.parametrize("route", ["one row", "batch"])
@pytest.mark.parametrize(("model", "field", "bound", "past", "accepted", "seen"), STRICT,
                         ids=[f"{m}.{f}={b}" for m, f, b, *_ in STRICT])
def test_strict_ranges_accept_the_bound_and_refuse_one_step_past(serve, model, field, bound, past, accepted,
                                                                 seen, route):
    with serve(strict_ranges=True, range_tolerance=0.05, **UNLIMITED) as client:
        assert _send(client, model, {**GOOD[model], field: bound}, route) == [field]
        row = {**GOOD[model], field: past}
        if route == "batch":
            response = client.post(f"/models/{model}/predict/batch", json={"rows": [GOOD[model], row]})
            where = f"rows.1.{field}"
        else:
            response = client.post(f"/models/{model}/predict", json=row)
            where = field
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input" and body["message"] == f"invalid input: {where}"
    assert body["details"] == [{
        "field": where,
        "message": f"{past} is outside the range this model accepts: it must be {accepted} (seen in training: {seen})",
        "hint": f"send a value {accepted}",
    }]


def test_strict_ranges_without_tolerance_name_the_training_range_once(serve):
    with serve(strict_ranges=True, range_tolerance=0, **UNLIMITED) as client:
        assert client.post("/models/flight-delay/predict", json={**FLIGHT, "month": 12}).status_code == 200
        body = client.post("/models/flight-delay/predict", json={**FLIGHT, "month": 13}).json()
    assert body["details"] == [{"field": "month", "message": "13 is outside the range this model was trained on: "
                                "it must be between 1 and 12", "hint": "send a value between 1 and 12"}]
