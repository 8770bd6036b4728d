"""Edges of HTTP outsiders probed: redirects, HEAD, what /ready tells the public, start-up errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.factories import REPO
from tests.hardening.conftest import PENGUIN, PREDICT

ADMIN = "edges-admin-key"
SENTINEL = "SENTINELKEY-4f1d9c"


@pytest.mark.parametrize("headers", [{}, {"X-Forwarded-Proto": "https"}, {"Host": "evil.example"}])
def test_a_trailing_slash_is_a_404_naming_the_right_path_never_a_redirect(serve, headers):
    with serve() as client:
        response = client.post(PREDICT + "/", json=PENGUIN, headers=headers, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json()["error"] == "not_found"
    assert response.json()["message"] == f"nothing at {PREDICT}/; did you mean {PREDICT}?"


def test_an_unknown_path_with_a_slash_suggests_nothing(serve):
    with serve() as client:
        response = client.get("/no/such/thing/", follow_redirects=False)
    assert response.status_code == 404
    assert "did you mean" not in response.json()["message"]


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_head_answers_like_get_without_a_body(serve, path):
    with serve() as client:
        get, head = client.get(path), client.head(path)
    assert (head.status_code, get.status_code) == (200, 200)
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]



@pytest.fixture
def no_database(serve):
    with serve(admin_api_key=ADMIN, database_url="postgresql://nosuchrole@127.0.0.1:5432/test") as client:
        yield client


def test_ready_tells_the_public_only_that_the_database_is_unreachable(no_database, caplog):
    with caplog.at_level("WARNING", logger="freeport"):
        response = no_database.get("/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "nosuchrole" not in response.text
    assert response.json()["message"] == "database: database unreachable"
    assert any("nosuchrole" in r.getMessage() for r in caplog.records)  # the operator's log has the cause


def test_ready_tells_the_admin_key_holder_the_cause(no_database):
    response = no_database.get("/ready", headers={"X-API-Key": ADMIN})
    assert response.status_code == 503
    assert "nosuchrole" in response.json()["message"]


@pytest.mark.parametrize(
    "bad",
    [{"LOG_FORMAT": "xml"}, {"CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"}, {"PORT": "http"}],
)
def test_a_start_up_configuration_error_names_the_field_and_never_prints_a_key(bad):
    env = {"PATH": "/usr/bin:/bin", "API_KEYS": SENTINEL, "ADMIN_API_KEY": SENTINEL + "-admin", **bad}
    result = subprocess.run(
        [sys.executable, "-m", "api"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "the configuration is not valid" in output
    assert SENTINEL[:8] not in output
    assert "input_value" not in output
