"""Exact contracts: each answer over HTTP is the model's own, and /openapi.json documents what is sent.

A prediction is compared with what the fitted estimator (or the ONNX model) answers for the same
rows, value for value, and every error response the service can send is documented with the one
error shape, no more and no fewer statuses than it sends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import closest
from api.serving.bundle import load_engine, load_estimator
from api.serving.card import read_card
from api.settings import Settings
from tests.factories import EXAMPLE_MODELS, save_log_classifier, saved

MODELS = sorted(p.name for p in EXAMPLE_MODELS.iterdir())
CARDS = {name: read_card(EXAMPLE_MODELS / name) for name in MODELS}


@pytest.fixture(scope="module")
def sklearn_client(tmp_path_factory):
    """The example models served by scikit-learn itself (ENGINE=sklearn), not their ONNX twins."""
    db = tmp_path_factory.mktemp("db") / "sklearn.db"
    settings = Settings(models_dir=EXAMPLE_MODELS, database_url=f"sqlite:///{db}",
                        predlog_spill_dir=db.parent / "spill", engine="sklearn")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.app.state.registry.wait_loaded(60)
        yield client


def _estimator_answers(name: str, rows: list[dict]) -> list:
    """What the fitted pipeline answers for ``rows``, given as a frame like its training frame."""
    card = CARDS[name]
    estimator, _ = load_estimator(EXAMPLE_MODELS / name, card, allow_version_mismatch=False)
    frame = pd.DataFrame(rows, columns=list(estimator.feature_names_in_))
    frame = frame.where(frame.notna(), np.nan)  # a JSON null is the training frame's missing value
    if card.task == "regression":
        return estimator.predict(frame).tolist()
    probabilities = estimator.predict_proba(frame)
    order = [estimator.classes_.tolist().index(c) for c in card.classes]
    return [dict(zip(card.classes, p[order].tolist(), strict=True)) for p in probabilities]


def _expected_outcome(name: str, answer) -> dict:
    if CARDS[name].task == "regression":
        return {"prediction": answer, "out_of_range": []}
    return {"prediction": max(answer, key=answer.get), "probabilities": answer, "out_of_range": []}


def _answered(response) -> dict:
    assert response.status_code == 200, response.text
    return {k: v for k, v in response.json().items() if k not in ("model", "version", "request_id")}


@pytest.mark.parametrize("name", MODELS)
def test_each_prediction_over_http_is_the_estimators_own_answer(sklearn_client, name):
    rows = CARDS[name].examples
    for row in rows:  # one row at a time: the estimator's answer for that row alone, to the last bit
        [answer] = _estimator_answers(name, [row])
        assert _answered(sklearn_client.post(f"/models/{name}/predict", json=row)) == _expected_outcome(name, answer)
    batch = _answered(sklearn_client.post(f"/models/{name}/predict/batch", json={"rows": rows}))
    assert batch == {"predictions": [_expected_outcome(name, a) for a in _estimator_answers(name, rows)]}


@pytest.mark.parametrize("name", MODELS)
def test_each_prediction_over_http_is_the_onnx_models_own_answer(examples_client, name):
    card = CARDS[name]
    engine, _ = load_engine(EXAMPLE_MODELS / name, card, engine="onnx", allow_version_mismatch=False)
    assert examples_client.get(f"/models/{name}").json()["engine"] == "onnx"
    for row in card.examples:
        [raw] = engine.run([row]).tolist()
        answer = raw if card.task == "regression" else dict(zip(card.classes, raw, strict=True))
        assert _answered(examples_client.post(f"/models/{name}/predict", json=row)) == _expected_outcome(name, answer)


def test_a_regression_answer_is_the_number_the_model_gives_not_only_a_number(sklearn_client):
    row = CARDS["fuel-economy"].examples[0]
    heavier = {**row, "weight_lbs": row["weight_lbs"] + 1500}
    answers = [_answered(sklearn_client.post("/models/fuel-economy/predict", json=r))["prediction"]
               for r in (row, heavier)]
    assert answers == _estimator_answers("fuel-economy", [row]) + _estimator_answers("fuel-economy", [heavier])
    assert answers[1] < answers[0]  # the same car 1,500 lbs heavier does fewer miles per gallon


def test_a_batch_body_with_a_key_beside_rows_is_refused_naming_it(examples_client):
    body = {"rows": CARDS["penguins"].examples[:1], "extra": 1}
    response = examples_client.post("/models/penguins/predict/batch", json=body)
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "extra", "message": "unknown field", "hint": "remove it; /docs lists the fields"}
    ]


def test_an_unknown_field_with_no_name_near_it_is_told_to_go(examples_client):
    row = {**CARDS["penguins"].examples[0], "zzzz": 1}
    response = examples_client.post("/models/penguins/predict", json=row)
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "zzzz", "message": "unknown field", "hint": "remove it; /docs lists the fields"}
    ]


def test_an_unknown_model_with_no_name_near_it_is_pointed_at_the_list(examples_client):
    response = examples_client.get("/models/zzzzzzzz")
    assert response.status_code == 404
    assert response.json() == {
        "error": "model_not_found",
        "message": "no model is called 'zzzzzzzz'; GET /models lists the models served",
        "details": [],
        "request_id": response.headers["x-request-id"],
    }


def test_closest_suggests_only_a_name_at_least_half_alike():
    names = ["carrier", "origin", "dest"]
    assert closest("CARIER", names) == "carrier"  # case aside, one letter missing
    assert closest("origon", names) == "origin"
    assert closest("de", ["destin"]) == "destin"  # exactly half alike (2 × 2 letters of 8)
    assert closest("d", ["dest"]) is None  # 2 × 1 letter of 5: less than half
    assert closest("zzzz", names) is None
    assert closest("carrier", []) is None


def test_a_wrong_key_gets_the_documented_403_code_and_words(serve):
    with serve(api_keys="right-key-1234") as client:
        response = client.post("/models/penguins/predict", json=CARDS["penguins"].examples[0],
                               headers={"X-API-Key": "wrong-key-1234"})
    assert response.status_code == 403
    assert response.json() == {
        "error": "wrong_api_key",
        "message": "the API key sent is not valid here; check it for typos or ask for a new one",
        "details": [],
        "request_id": response.headers["x-request-id"],
    }


ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def _error_statuses(operation: dict) -> dict[str, dict]:
    return {status: r for status, r in operation["responses"].items() if not status.startswith("2")}


def test_every_documented_error_has_the_one_error_shape(examples_client):
    openapi = examples_client.get("/openapi.json").json()
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            for status, response in _error_statuses(operation).items():
                assert response["content"] == {"application/json": {"schema": ERROR_BODY}}, (method, path, status)
                assert response["description"], (method, path, status)
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    schemas = openapi["components"]["schemas"]
    assert schemas["ErrorBody"]["required"] == ["error", "message"]
    assert list(schemas["ErrorBody"]["properties"]) == ["error", "message", "details", "request_id"]
    assert schemas["ErrorBody"]["properties"]["details"]["items"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert schemas["ErrorDetail"]["required"] == ["message"]
    assert list(schemas["ErrorDetail"]["properties"]) == ["field", "message", "hint"]


def test_each_route_documents_exactly_the_errors_it_can_send(examples_client):
    openapi = examples_client.get("/openapi.json").json()["paths"]
    # A model's card: only an unknown name is refused (the name is text: nothing to validate).
    assert set(openapi["/models/{name}"]["get"]["responses"]) == {"200", "404"}
    assert openapi["/models/{name}"]["get"]["parameters"] == [
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "title": "Name"},
         "description": "The model's name, as GET /models lists it."}
    ]
    for name in MODELS:
        for path in (f"/models/{name}/predict", f"/models/{name}/predict/batch"):
            assert set(_error_statuses(openapi[path]["post"])) == {
                "401", "403", "404", "413", "415", "422", "429", "503", "504"
            }, path


def test_a_models_card_is_served_under_its_name(examples_client):
    response = examples_client.get("/models/penguins")
    assert response.status_code == 200
    assert response.json()["card"] == CARDS["penguins"].model_dump(mode="json")


def test_a_row_the_model_cannot_answer_gets_a_422_saying_which_and_why(serve, tmp_path):
    saved(save_log_classifier, tmp_path / "models")  # log1p of a dose below -1 is NaN: the model raises
    good, poisoned = {"dose": 12.5, "weight kg": 70.0}, {"dose": -3.0, "weight kg": 70.0}
    why = "the model raised ValueError: Input X contains NaN."
    hint = "the values are within the schema but the model cannot use them; try values nearer the examples"
    with serve(models_dir=tmp_path / "models") as client:
        one = client.post("/models/dose-log/predict", json=poisoned)
        batch = client.post("/models/dose-log/predict/batch", json={"rows": [good, poisoned, good]})
        alone = client.post("/models/dose-log/predict", json=good)
    assert (one.status_code, batch.status_code, alone.status_code) == (422, 422, 200)
    assert one.json() == {
        "error": "prediction_failed", "message": f"the model could not predict this row: {why}",
        "details": [{"field": None, "message": why, "hint": hint}], "request_id": one.headers["x-request-id"],
    }
    assert batch.json() == {
        "error": "prediction_failed", "message": "the model could not predict rows 1; no row was answered",
        "details": [{"field": "rows.1", "message": why, "hint": hint}], "request_id": batch.headers["x-request-id"],
    }
