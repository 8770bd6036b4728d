"""Predictions through HTTP, and every kind of bad input answered with a 4xx that says what to fix."""

from __future__ import annotations

import pytest

from api.serving.card import read_card
from tests.factories import EXAMPLE_MODELS

FLIGHT = read_card(EXAMPLE_MODELS / "flight-delay")
GOOD_FLIGHT = FLIGHT.examples[0]


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "details", "request_id"}
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLE_MODELS.iterdir()))
def test_predict_returns_a_typed_prediction_for_each_example_model(examples_client, name):
    card = read_card(EXAMPLE_MODELS / name)
    response = examples_client.post(f"/models/{name}/predict", json=card.examples[0])
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == name and body["version"] == card.version
    assert body["request_id"] == response.headers["x-request-id"]
    if card.task == "classification":
        assert body["prediction"] in card.classes
        assert set(body["probabilities"]) == set(card.classes)
        assert sum(body["probabilities"].values()) == pytest.approx(1.0)
        assert body["prediction"] == max(body["probabilities"], key=body["probabilities"].get)
    else:
        assert isinstance(body["prediction"], float)


def test_predict_batch_keeps_row_order_and_matches_single_predictions(examples_client):
    rows = FLIGHT.examples
    batch = examples_client.post("/models/flight-delay/predict/batch", json={"rows": rows}).json()
    assert len(batch["predictions"]) == len(rows)
    for row, outcome in zip(rows, batch["predictions"], strict=True):
        single = examples_client.post("/models/flight-delay/predict", json=row).json()
        assert outcome["prediction"] == single["prediction"]
        assert outcome["probabilities"] == pytest.approx(single["probabilities"])


def test_predict_echoes_a_sane_request_id_and_replaces_an_unsafe_one(examples_client):
    headers = {"X-Request-ID": "abc-123"}
    response = examples_client.post("/models/flight-delay/predict", json=GOOD_FLIGHT, headers=headers)
    assert response.headers["x-request-id"] == "abc-123" and response.json()["request_id"] == "abc-123"
    response = examples_client.post("/models/flight-delay/predict", json=GOOD_FLIGHT,
                                    headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"


def test_predict_accepts_null_for_features_that_may_be_missing(examples_client):
    row = {"island": "Dream", "bill_length_mm": None, "bill_depth_mm": None,
           "flipper_length_mm": None, "body_mass_g": None, "sex": None}
    response = examples_client.post("/models/penguins/predict", json=row)
    assert response.status_code == 200 and response.json()["prediction"] in ("Adelie", "Chinstrap", "Gentoo")


def _flight(**changes):
    row = dict(GOOD_FLIGHT)
    for key, value in changes.items():
        if value is ...:
            row.pop(key)
        else:
            row[key] = value
    return row


BAD_FLIGHTS = {
    "missing field": (_flight(carrier=...), "carrier", "required", None),
    "unknown field": ({**_flight(dest=...), "destination": "LAX"}, "destination", "unknown field", "dest"),
    "misspelt field": ({**_flight(carrier=...), "carier": "UA"}, "carier", "unknown field", "carrier"),
    "wrong type": (_flight(dep_hour="noon"), "dep_hour", "valid integer", "send a whole JSON number"),
    "unknown category": (_flight(dest="LAXX"), "dest", "not a category", "LAX"),
    "category with wrong case": (_flight(origin="jfk"), "origin", "not a category", "JFK"),
    "number for a category": (_flight(carrier=12), "carrier", "valid string",
                              "send one of its categories as a JSON string"),
    "null where never missing": (_flight(origin=None), "origin", "valid string",
                                 "this field is never missing in training, so null is refused"),
}


# The batch route checks rows with pydantic-core's constraints first (api/serving/schemas.py); a refused
# body must still get the same explained errors, under the row's index.
@pytest.mark.parametrize("route", ["one row", "batch"])
@pytest.mark.parametrize("case", BAD_FLIGHTS, ids=list(BAD_FLIGHTS))
def test_predict_rejects_bad_input_naming_the_field_and_a_fix(examples_client, case, route):
    row, field, message, hint = BAD_FLIGHTS[case]
    if route == "batch":
        row, field = {"rows": [GOOD_FLIGHT, row]}, f"rows.1.{field}"
    path = "/models/flight-delay/predict" + ("/batch" if route == "batch" else "")
    body = _error(examples_client.post(path, json=row), 422)
    assert body["error"] == "invalid_input"
    detail = next(d for d in body["details"] if d["field"] == field)
    assert message in detail["message"]
    if hint:
        assert hint in (detail["hint"] or "") + detail["message"]


def test_predict_batch_names_the_row_of_a_bad_field(examples_client):
    rows = [GOOD_FLIGHT, _flight(dest="NOPE")]
    body = _error(examples_client.post("/models/flight-delay/predict/batch", json={"rows": rows}), 422)
    assert [d["field"] for d in body["details"]] == ["rows.1.dest"]


def test_predict_batch_refuses_empty_and_oversized_batches(serve):
    with serve(max_batch_rows=2) as client:
        body = _error(client.post("/models/flight-delay/predict/batch", json={"rows": []}), 422)
        assert body["details"][0]["field"] == "rows" and "empty" in body["details"][0]["message"]
        body = _error(client.post("/models/flight-delay/predict/batch", json={"rows": [GOOD_FLIGHT] * 3}), 422)
        assert "3 rows; the limit is 2" in body["details"][0]["message"]
        assert "batches of at most 2" in body["details"][0]["hint"]


@pytest.mark.parametrize(
    ("payload", "headers", "status", "code", "text"),
    [
        (b'{"carrier": "UA",', {"content-type": "application/json"}, 422, "invalid_input", "not valid JSON"),
        (b"[1, 2]", {"content-type": "application/json"}, 422, "invalid_input", "must be a JSON object"),
        (b"null", {"content-type": "application/json"}, 422, "invalid_input", "must be a JSON object"),
        (b"", {"content-type": "application/json"}, 422, "invalid_input", "no JSON body"),
        (b"\xff\xfe{}", {"content-type": "application/json"}, 422, "invalid_input", "not valid JSON"),
        (b"carrier=UA", {"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type",
         "Content-Type: application/json"),
        (b"<xml/>", {"content-type": "text/xml"}, 415, "unsupported_media_type", "must be JSON"),
    ],
    ids=["malformed json", "array body", "null body", "empty body", "not utf-8", "form body", "xml body"],
)
# The batch route validates its body straight from the bytes (api/web/jsonbody.py): same answers.
@pytest.mark.parametrize("path", ["/models/flight-delay/predict", "/models/flight-delay/predict/batch"])
def test_predict_rejects_bodies_that_are_not_a_json_object(examples_client, path, payload, headers, status, code, text):
    body = _error(examples_client.post(path, content=payload, headers=headers), status)
    assert body["error"] == code and text in body["message"]


def test_unknown_model_gets_404_with_the_closest_name(examples_client):
    body = _error(examples_client.post("/models/flight-delays/predict", json=GOOD_FLIGHT), 404)
    assert body["error"] == "model_not_found" and "did you mean 'flight-delay'?" in body["message"]
    body = _error(examples_client.get("/models/pengiuns"), 404)
    assert "did you mean 'penguins'?" in body["message"]


def test_unknown_route_and_method_use_the_same_error_shape(examples_client):
    assert _error(examples_client.get("/nowhere"), 404)["error"] == "not_found"
    assert _error(examples_client.get("/models/penguins/predict"), 405)["error"] == "method_not_allowed"


def test_models_lists_every_card_and_where_to_call_it(examples_client):
    listed = examples_client.get("/models").json()
    assert [m["name"] for m in listed] == ["flight-delay", "fuel-economy", "penguins"]
    for model in listed:
        assert model["state"] == "ready" and model["predict_url"] == f"/models/{model['name']}/predict"
        assert model["card"] == read_card(EXAMPLE_MODELS / model["name"]).model_dump(mode="json")


def test_health_and_ready_answer_when_all_is_well(examples_client):
    assert examples_client.get("/health").json() == {"status": "ok"}
    ready = examples_client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["database"]["reachable"] is True
    assert {m["name"]: m["state"] for m in body["models"]} == {
        "flight-delay": "ready", "fuel-economy": "ready", "penguins": "ready"}
