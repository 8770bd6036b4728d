"""Wrong keys are limited per client address (429 with Retry-After), checked before any body is read."""

from __future__ import annotations

import pytest

from tests.hardening.conftest import PENGUIN, PREDICT

USER, ADMIN = "guess-me-if-you-can", "admin-key-2c4e"


@pytest.fixture
def keyed(serve):
    with serve(api_keys=USER, admin_api_key=ADMIN, rate_limit_failed_keys="5/minute", trusted_proxy_hops=1) as c:
        yield c


def _from(address: str, key: str | None = None) -> dict[str, str]:
    headers = {"X-Forwarded-For": address}
    if key:
        headers["X-API-Key"] = key
    return headers


def test_past_the_limit_every_key_from_that_address_is_429_even_the_right_one(keyed):
    guesser = "203.0.113.9"
    statuses = [keyed.post(PREDICT, json=PENGUIN, headers=_from(guesser, f"guess-{i}")).status_code for i in range(7)]
    assert statuses == [403] * 5 + [429] * 2
    refused = keyed.post(PREDICT, json=PENGUIN, headers=_from(guesser, USER))
    assert refused.status_code == 429, "a right guess must look like any other while the address is blocked"
    assert refused.json()["error"] == "too_many_wrong_keys"
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert refused.headers["connection"] == "close"
    assert USER not in refused.text
    # Another address is not held for the guesser's attempts.
    assert keyed.post(PREDICT, json=PENGUIN, headers=_from("203.0.113.10", USER)).status_code == 200


def test_admin_key_guesses_count_too(keyed):
    statuses = [keyed.get("/admin/stats", headers=_from("203.0.113.20", f"a-{i}")).status_code for i in range(6)]
    assert statuses == [403] * 5 + [429]


def test_a_missing_key_is_401_and_is_not_a_guess(keyed):
    statuses = [keyed.post(PREDICT, json=PENGUIN, headers=_from("203.0.113.30")).status_code for i in range(8)]
    assert statuses == [401] * 8
    assert keyed.post(PREDICT, json=PENGUIN, headers=_from("203.0.113.30", USER)).status_code == 200


def test_refusals_are_counted_in_metrics(keyed):
    for i in range(6):
        keyed.post(PREDICT, json=PENGUIN, headers=_from("203.0.113.40", f"g-{i}"))
    keyed.post(PREDICT, json=PENGUIN, headers=_from("203.0.113.41"))
    text = keyed.get("/metrics", headers={"X-API-Key": ADMIN}).text
    assert 'freeport_key_refusals_total{reason="wrong"} 5.0' in text
    assert 'freeport_key_refusals_total{reason="limited"} 1.0' in text
    assert 'freeport_key_refusals_total{reason="missing"} 1.0' in text


def test_the_key_is_refused_before_the_body_is_read(keyed):
    # A body that never arrives: only a check made from the headers alone can answer it.
    def never_finishes():
        yield b"{"
        raise AssertionError("the body was read although the key was wrong")

    response = keyed.post(PREDICT, content=never_finishes(), headers={**_from("203.0.113.50", "wrong"),
                                                                       "Content-Type": "application/json"})
    assert response.status_code == 403
    assert response.headers["connection"] == "close"
