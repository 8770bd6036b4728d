"""API keys: off by default; when set, 401 without one, 403 for a wrong one, admin apart from users."""

from __future__ import annotations

import logging

import pytest

from tests.hardening.conftest import BATCH, PENGUIN, PREDICT

USER, OTHER_USER, ADMIN = "user-key-1f0c", "user-key-77aa", "admin-key-9b3e"


@pytest.fixture
def keyed(serve):
    with serve(api_keys=f"{USER}, {OTHER_USER}", admin_api_key=ADMIN) as client:
        yield client


def test_keys_are_off_by_default_so_a_demo_is_public(serve):
    with serve() as client:
        assert client.post(PREDICT, json=PENGUIN).status_code == 200
        assert client.get("/admin/stats").status_code == 403  # no ADMIN_API_KEY: admin endpoints are off


@pytest.mark.parametrize("path", [PREDICT, BATCH, "/models/no-such-model/predict"])
def test_predict_without_a_key_is_401_saying_how_to_send_one(keyed, path):
    body = {"rows": [PENGUIN]} if path.endswith("batch") else PENGUIN
    response = keyed.post(path, json=body)
    assert response.status_code == 401
    assert response.json()["error"] == "missing_api_key"
    assert "X-API-Key" in response.json()["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": "user-key-1f0d"}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {USER}"}],
)
def test_predict_with_a_wrong_key_is_403_and_the_key_is_not_echoed(keyed, headers):
    response = keyed.post(PREDICT, json=PENGUIN, headers=headers)
    expected = 401 if headers.get("Authorization", "").startswith("Basic") else 403
    assert response.status_code == expected
    sent = next(iter(headers.values())).split()[-1]
    assert sent not in response.text


@pytest.mark.parametrize(
    "headers", [{"X-API-Key": USER}, {"Authorization": f"Bearer {OTHER_USER}"}, {"X-API-Key": ADMIN}]
)
def test_predict_accepts_every_user_key_and_the_admin_key_either_way(keyed, headers):
    assert keyed.post(PREDICT, json=PENGUIN, headers=headers).status_code == 200


def test_admin_endpoints_take_only_the_admin_key(keyed):
    assert keyed.get("/admin/stats").status_code == 401
    assert keyed.get("/admin/stats", headers={"X-API-Key": USER}).status_code == 403
    response = keyed.get("/admin/stats", headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 200
    assert set(response.json()["models_ready"]) == {"penguins", "flight-delay", "fuel-economy"}
    # With an admin key configured, /metrics is behind it too.
    assert keyed.get("/metrics", headers={"X-API-Key": USER}).status_code == 403
    assert keyed.get("/metrics", headers={"X-API-Key": ADMIN}).status_code == 200


def test_health_ready_docs_and_cards_stay_open_with_keys_on(keyed):
    for path in ("/health", "/ready", "/docs", "/openapi.json", "/models"):
        assert keyed.get(path).status_code == 200, path


def test_keys_never_reach_the_logs_or_the_settings_repr(serve, caplog):
    caplog.set_level(logging.DEBUG)
    with serve(api_keys=USER, admin_api_key=ADMIN) as client:
        client.post(PREDICT, json=PENGUIN, headers={"X-API-Key": USER})
        client.post(PREDICT, json=PENGUIN, headers={"X-API-Key": "a-wrong-key-0000"})
        client.get("/admin/stats", headers={"X-API-Key": ADMIN})
        settings_text = repr(client.app.state.settings)
    logged = caplog.text
    assert "freeport.access" in {r.name for r in caplog.records}
    for secret in (USER, ADMIN, "a-wrong-key-0000"):
        assert secret not in logged
        assert secret not in settings_text


def test_docs_offer_the_key_schemes_only_when_keys_are_on(serve, keyed):
    spec = keyed.get("/openapi.json").json()
    assert {"APIKeyHeader", "HTTPBearer"} <= set(spec["components"]["securitySchemes"])
    assert spec["paths"][PREDICT]["post"]["security"]
    with serve() as open_client:
        spec = open_client.get("/openapi.json").json()
    assert "security" not in spec["paths"][PREDICT]["post"]
