"""Promotion and rollback (admin key): compared on the model's evaluation set, audited, swapped whole
while requests run, and kept across a restart."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.factories import dose_frame, save_dose_version
from tests.pg import wait_until

ADMIN = "lifecycle-admin-key-0123456789"
HEADERS = {"X-API-Key": ADMIN}
UNLIMITED = "1000000/minute"
NAME = "dose"  # what save_dose_version names it


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """Versions of one model, each in a models folder of its own: base, its twin, a flipped one, and one
    that reads one more input."""
    made = {}
    for version, flipped, wider in (("base", False, False), ("twin", False, False), ("flipped", True, False),
                                    ("wider", False, True)):
        folder = tmp_path_factory.mktemp(version)
        card = save_dose_version(folder, version, flipped=flipped, wider=wider)
        assert card.onnx is not None, card.onnx_unavailable
        made[version] = folder
    return made


def _upload_body(folder: Path, reason: str) -> dict:
    bundle = folder / NAME
    return {"card": json.loads((bundle / "card.json").read_text()),
            "files": {"model.onnx": base64.b64encode((bundle / "model.onnx").read_bytes()).decode()},
            "reason": reason}


def _evaluation() -> dict:
    frame, target = dose_frame()
    rows = json.loads(frame.iloc[150:].to_json(orient="records"))
    return {"rows": rows, "target": target.iloc[150:].tolist()}


def _example() -> dict:
    frame, _ = dose_frame()
    return json.loads(frame.iloc[[0]].to_json(orient="records"))[0]


def _upload(client, folder: Path, reason: str = "retrained") -> None:
    response = client.post(f"/admin/models/{NAME}/versions", json=_upload_body(folder, reason), headers=HEADERS)
    assert response.status_code == 201, response.text


def _served_version(client) -> str:
    response = client.post(f"/models/{NAME}/predict", json=_example())
    assert response.status_code == 200, response.text
    return response.json()["version"]


@pytest.fixture
def base_client(serve, database_url, bundles, tmp_path):
    with serve(models_dir=bundles["base"], database_url=database_url, admin_api_key=ADMIN,
               rate_limit_predict=UNLIMITED) as client:
        response = client.put(f"/admin/models/{NAME}/evaluation", json=_evaluation(), headers=HEADERS)
        assert response.status_code == 200 and response.json()["metric"] == "accuracy", response.text
        yield client


def test_lifecycle_a_worse_candidate_is_refused_then_forced_with_its_reason_then_rolled_back(base_client, bundles):
    client = base_client
    _upload(client, bundles["flipped"], reason="an experiment")
    refused = client.post(f"/admin/models/{NAME}/promote", json={}, headers=HEADERS)
    assert refused.status_code == 409 and refused.json()["error"] == "promotion_refused", refused.text
    assert refused.json()["details"][0]["field"] == "accuracy"
    listed = client.get(f"/models/{NAME}/versions").json()
    assert (listed["active"], listed["candidate"]) == ("base", "flipped") and _served_version(client) == "base"

    assert client.post(f"/admin/models/{NAME}/promote", json={"force": True}, headers=HEADERS).status_code == 422
    forced = client.post(f"/admin/models/{NAME}/promote", json={"force": True, "reason": "the demo needs it"},
                         headers=HEADERS)
    assert forced.status_code == 200, forced.text
    body = forced.json()
    assert (body["active"], body["previous"], body["forced"]) == ("flipped", "base", True)
    assert body["candidate_score"] < body["active_score"]
    assert _served_version(client) == "flipped"

    back = client.post(f"/admin/models/{NAME}/rollback", json={"reason": "worse, as measured"}, headers=HEADERS)
    assert back.status_code == 200 and (back.json()["active"], back.json()["previous"]) == ("base", "flipped")
    assert _served_version(client) == "base"

    audit = client.get("/admin/audit", params={"model": NAME}, headers=HEADERS).json()
    assert [(a["action"], a["from_version"], a["to_version"], a["reason"]) for a in audit] == [
        ("rollback", "flipped", "base", "worse, as measured"),
        ("forced_promote", "base", "flipped", "the demo needs it"),
        ("upload", None, "flipped", "an experiment"),
        ("evaluation_set", None, None, "50 rows"),
    ]
    assert {a["key_id"] for a in audit} == {"key:" + hashlib.sha256(ADMIN.encode()).hexdigest()[:12]}
    assert ADMIN not in json.dumps(audit)
    assert client.get("/admin/audit").status_code == 401


def test_lifecycle_a_candidate_as_good_is_promoted_and_a_restart_keeps_it(serve, database_url, bundles, base_client):
    client = base_client
    _upload(client, bundles["twin"])
    promoted = client.post(f"/admin/models/{NAME}/promote", json={"reason": "same rows, same score"},
                           headers=HEADERS)
    assert promoted.status_code == 200, promoted.text
    body = promoted.json()
    assert (body["active"], body["forced"], body["candidate_score"]) == ("twin", False, body["active_score"])
    assert _served_version(client) == "twin"
    audit = client.get("/admin/audit", headers=HEADERS).json()
    assert audit[0]["action"] == "promote" and audit[0]["details"]["metric"] == "accuracy"
    # Nothing left to promote; nothing to roll back to twice in a row is fine (it flips back).
    assert client.post(f"/admin/models/{NAME}/promote", json={}, headers=HEADERS).json()["error"] == (
        "lifecycle_conflict")


def test_lifecycle_a_restart_keeps_the_promoted_version(serve, database_url, bundles, tmp_path):
    with serve(models_dir=bundles["base"], database_url=database_url, admin_api_key=ADMIN) as client:
        client.put(f"/admin/models/{NAME}/evaluation", json=_evaluation(), headers=HEADERS)
        _upload(client, bundles["twin"])
        assert client.post(f"/admin/models/{NAME}/promote", json={}, headers=HEADERS).status_code == 200
    with serve(models_dir=bundles["base"], database_url=database_url, admin_api_key=ADMIN,
               model_cache_dir=tmp_path / "fresh-cache") as client:
        assert _served_version(client) == "twin"
        assert client.get(f"/models/{NAME}/versions").json()["active"] == "twin"


def test_lifecycle_requests_in_flight_during_promotions_are_all_answered_by_a_whole_version(base_client, bundles):
    client = base_client
    answered: Counter[str] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def predict() -> None:
        while not stop.is_set():
            response = client.post(f"/models/{NAME}/predict", json=_example())
            if response.status_code != 200:
                failures.append(response.text)
            else:
                answered[response.json()["version"]] += 1

    workers = [threading.Thread(target=predict) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        _upload(client, bundles["twin"])
        assert client.post(f"/admin/models/{NAME}/promote", json={}, headers=HEADERS).status_code == 200
        serving = "twin"
        for _ in range(6):  # each rollback swaps to the other version while the workers predict
            seen = answered[serving]
            assert wait_until(lambda serving=serving, seen=seen: answered[serving] > seen, timeout=20)
            back = client.post(f"/admin/models/{NAME}/rollback", json={"reason": "again"}, headers=HEADERS)
            assert back.status_code == 200, back.text
            serving = back.json()["active"]
        assert wait_until(lambda: answered[serving] > 0, timeout=20)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert failures == []
    assert set(answered) == {"base", "twin"}


def test_lifecycle_promote_needs_a_candidate_and_rollback_a_previous(base_client):
    client = base_client
    no_candidate = client.post(f"/admin/models/{NAME}/promote", json={}, headers=HEADERS)
    assert no_candidate.status_code == 409 and no_candidate.json()["error"] == "lifecycle_conflict"
    no_previous = client.post(f"/admin/models/{NAME}/rollback", json={"reason": "x"}, headers=HEADERS)
    assert no_previous.status_code == 409 and no_previous.json()["error"] == "lifecycle_conflict"


def test_lifecycle_an_evaluation_set_the_schema_refuses_is_422_naming_the_row(base_client):
    body = _evaluation()
    body["rows"][3] = {**body["rows"][3], "dose": "a lot"}
    response = base_client.put(f"/admin/models/{NAME}/evaluation", json=body, headers=HEADERS)
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "rows.3.dose"
    body = _evaluation()
    body["target"][0] = "maybe"
    response = base_client.put(f"/admin/models/{NAME}/evaluation", json=body, headers=HEADERS)
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "target.0"


def test_lifecycle_a_version_with_another_input_changes_the_api_without_a_restart(base_client, bundles):
    client = base_client
    fields = client.get("/openapi.json").json()["components"]["schemas"]["DoseFeatures"]["properties"]
    assert "age" not in fields
    _upload(client, bundles["wider"])
    # The evaluation rows lack the new input: the candidate cannot be scored, so only a forced promotion passes.
    refused = client.post(f"/admin/models/{NAME}/promote", json={}, headers=HEADERS)
    assert refused.status_code == 409 and refused.json()["error"] == "promotion_refused"
    forced = client.post(f"/admin/models/{NAME}/promote", json={"force": True, "reason": "new input"},
                         headers=HEADERS)
    assert forced.status_code == 200 and forced.json()["candidate_score"] is None, forced.text
    fields = client.get("/openapi.json").json()["components"]["schemas"]["DoseFeatures"]["properties"]
    assert "age" in fields
    answer = client.post(f"/models/{NAME}/predict", json={**_example(), "age": 40})
    assert answer.status_code == 200 and answer.json()["version"] == "wider", answer.text
    missing = client.post(f"/models/{NAME}/predict", json=_example())
    assert missing.status_code == 422 and "age" in missing.text


def test_lifecycle_a_ready_model_without_its_typed_routes_yet_is_a_503_never_a_200(serve):
    """The instant between a version swapped into the registry and its routes being built (a poll on
    another instance): the fallback route answers 'retry in a moment', never an empty 200."""
    from api.routes.predict import build_predict_router
    from api.serving.registry import Registry

    with serve() as client:
        registry: Registry = client.app.state.registry
        entry = registry.get("penguins")
        schemas, entry.schemas = entry.schemas, None  # as if its card had just been swapped in
        try:
            router = build_predict_router(registry)  # penguins: only the fallback routes
        finally:
            entry.schemas = schemas
        client.app.include_router(router, prefix="/fresh")
        row = dict(registry.get("penguins").card.examples[0])
        single = client.post("/fresh/models/penguins/predict", json=row)
        batch = client.post("/fresh/models/penguins/predict/batch", json={"rows": [row]})
        unknown = client.post("/fresh/models/pengiuns/predict", json=row)
    for response in (single, batch):
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "model_unavailable"
        assert response.json()["message"] == (
            "model 'penguins' is being put in service on this instance; retry in a moment")
    assert unknown.status_code == 404
