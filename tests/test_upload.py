"""Uploading a version (admin key): ONNX and its card only, checked as at start-up, stored as the candidate;
anything refused is named and changes nothing."""

from __future__ import annotations

import base64
import copy
import hashlib
import json

import pytest

from tests.factories import EXAMPLE_MODELS

ADMIN = "upload-admin-key-0123456789"
HEADERS = {"X-API-Key": ADMIN}
PENGUINS = EXAMPLE_MODELS / "penguins"
URL = "/admin/models/penguins/versions"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _card() -> dict:
    return json.loads((PENGUINS / "card.json").read_text())


def _upload(card: dict | None = None, files: dict | None = None, reason: str = "retrained") -> dict:
    if card is None:
        card = _card()
        card["version"], card["description"] = "penguins-2", "The same graph, a new card."
    return {"card": card, "files": files or {"model.onnx": _b64((PENGUINS / "model.onnx").read_bytes())},
            "reason": reason}


@pytest.fixture
def admin_client(serve, database_url):
    with serve(database_url=database_url, admin_api_key=ADMIN) as client:
        yield client


def _unchanged(client) -> None:
    listed = client.get("/models/penguins/versions").json()
    assert [v["version"] for v in listed["versions"]] == [_card()["version"]] and listed["candidate"] is None


def test_upload_an_onnx_bundle_becomes_the_candidate_and_names_the_key_not_the_key(admin_client):
    response = admin_client.post(URL, json=_upload(reason="retrained on November's rows"), headers=HEADERS)
    assert response.status_code == 201, response.text
    body = response.json()
    expected_id = "key:" + hashlib.sha256(ADMIN.encode()).hexdigest()[:12]
    assert (body["version"], body["status"], body["added_by"]) == ("penguins-2", "candidate", expected_id)
    assert body["reason"] == "retrained on November's rows" and body["metrics"] == _card()["metrics"]
    listed = admin_client.get("/models/penguins/versions").json()
    assert (listed["active"], listed["candidate"]) == (_card()["version"], "penguins-2")
    assert ADMIN not in json.dumps(listed)
    # The candidate is not served: the active version still answers.
    answer = admin_client.post("/models/penguins/predict", json=_card()["examples"][0]).json()
    assert answer["version"] == _card()["version"]
    again = admin_client.post(URL, json=_upload(), headers=HEADERS)
    assert again.status_code == 409 and again.json()["error"] == "version_exists"


def _pickle_bytes() -> bytes:
    return (PENGUINS / "model.joblib").read_bytes()


@pytest.mark.parametrize("files", [
    pytest.param(lambda: {"model.joblib": _b64(_pickle_bytes())}, id="a joblib file"),
    pytest.param(lambda: {"model.onnx": _b64(_pickle_bytes())}, id="a pickle named model.onnx"),
])
def test_upload_a_pickle_is_refused_as_an_unsafe_format(admin_client, files):
    response = admin_client.post(URL, json=_upload(files=files()), headers=HEADERS)
    assert response.status_code == 415, response.text
    body = response.json()
    assert body["error"] == "unsafe_format" and body["details"][0]["field"].startswith("files.model.")
    _unchanged(admin_client)


def _without_features(card: dict) -> dict:
    del card["features"]
    return card


def _renamed(card: dict) -> dict:
    card["name"] = "gentoo"
    return card


def _bad_example(card: dict) -> dict:
    card["examples"][0] = {**card["examples"][0], "island": "Atlantis"}
    return card


def _without_onnx(card: dict) -> dict:
    card["onnx"] = None
    return card


@pytest.mark.parametrize(("spoil", "field"), [
    (_without_features, "card.features"),
    (_renamed, "card.name"),
    (_bad_example, "card.examples.0.island"),
    (_without_onnx, "card.onnx"),
])
def test_upload_a_broken_card_is_refused_naming_the_field(admin_client, spoil, field):
    card = _card()
    card["version"] = "penguins-broken"
    response = admin_client.post(URL, json=_upload(card=spoil(copy.deepcopy(card))), headers=HEADERS)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_card" and body["details"][0]["field"] == field, body
    _unchanged(admin_client)


def test_upload_a_file_that_is_not_the_cards_is_refused(admin_client):
    data = (PENGUINS / "model.onnx").read_bytes() + b"\0"
    response = admin_client.post(URL, json=_upload(files={"model.onnx": _b64(data)}), headers=HEADERS)
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "files.model.onnx"
    _unchanged(admin_client)


def test_upload_failing_parity_is_refused(admin_client):
    card = _card()
    card["version"] = "penguins-diverged"
    card["onnx"]["check"]["max_difference"] = card["onnx"]["check"]["max_difference_allowed"] * 10 + 1
    response = admin_client.post(URL, json=_upload(card=card), headers=HEADERS)
    assert response.status_code == 422 and response.json()["error"] == "parity_failed", response.text
    assert response.json()["details"][0]["field"] == "card.onnx.check"
    # A file that is no graph, sent with a card that pins it: onnxruntime cannot load it.
    junk = b"\x08\x07 not an onnx graph"
    card = _card()
    card["version"] = "penguins-junk"
    card["onnx"]["sha256"] = hashlib.sha256(junk).hexdigest()
    response = admin_client.post(URL, json=_upload(card=card, files={"model.onnx": _b64(junk)}), headers=HEADERS)
    assert response.status_code == 422 and response.json()["error"] == "parity_failed", response.text
    _unchanged(admin_client)


def test_upload_needs_the_admin_key(admin_client):
    assert admin_client.post(URL, json=_upload()).status_code == 401
    assert admin_client.post(URL, json=_upload(), headers={"X-API-Key": "not-it"}).status_code == 403
    _unchanged(admin_client)


def test_upload_a_new_model_is_served_at_once_with_its_endpoints_and_docs(admin_client):
    card = _card()
    card["name"], card["version"], card["title"] = "penguins-copy", "copy-1", "Penguins, uploaded"
    assert "PenguinsCopyFeatures" not in admin_client.get("/openapi.json").json()["components"]["schemas"]
    response = admin_client.post("/admin/models/penguins-copy/versions", json=_upload(card=card), headers=HEADERS)
    assert response.status_code == 201 and response.json()["status"] == "active", response.text
    answer = admin_client.post("/models/penguins-copy/predict", json=card["examples"][0])
    assert answer.status_code == 200 and answer.json()["version"] == "copy-1", answer.text
    assert "PenguinsCopyFeatures" in admin_client.get("/openapi.json").json()["components"]["schemas"]
    assert "penguins-copy" in [m["name"] for m in admin_client.get("/models").json()]
    assert admin_client.get("/models/penguins-copy/versions").json()["active"] == "copy-1"
    audit = admin_client.get("/admin/audit", headers=HEADERS).json()
    assert (audit[0]["action"], audit[0]["details"]["activated"]) == ("upload", True)


def test_upload_under_another_name_than_the_cards_is_refused(admin_client):
    response = admin_client.post("/admin/models/pengiuns/versions", json=_upload(), headers=HEADERS)
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "card.name"
    assert admin_client.get("/models/pengiuns/versions").status_code == 404
