"""Rate limits: per key or per trusted client address, 429 with Retry-After, memory or Redis."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest
import redis

from tests.hardening.conftest import BATCH, PENGUIN, PREDICT

REDIS_URL = "redis://127.0.0.1:6379/0"


def _statuses(client, n, path=PREDICT, **headers):
    body = {"rows": [PENGUIN]} if path == BATCH else PENGUIN
    return [client.post(path, json=body, headers=headers).status_code for _ in range(n)]


def test_a_client_past_its_limit_gets_429_with_retry_after_in_the_error_shape(serve):
    with serve(rate_limit_predict="3/minute") as client:
        assert _statuses(client, 3) == [200, 200, 200]
        response = client.post(PREDICT, json=PENGUIN)
        assert response.status_code == 429
        body = response.json()
        assert body["error"] == "rate_limited" and "3 per 1 minute" in body["message"]
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert body["request_id"] == response.headers["x-request-id"]
        # Other routes are not predictions: they stay available.
        assert client.get("/models/penguins").status_code == 200


def test_single_and_batch_predictions_have_their_own_configurable_limits(serve):
    with serve(rate_limit_predict="2/minute", rate_limit_batch="1/minute") as client:
        assert _statuses(client, 2, BATCH) == [200, 429]
        assert _statuses(client, 3, PREDICT) == [200, 200, 429]


def test_the_limit_counts_all_models_together(serve):
    with serve(rate_limit_predict="2/minute") as client:
        assert client.post(PREDICT, json=PENGUIN).status_code == 200
        card = client.get("/models/fuel-economy").json()["card"]
        assert client.post("/models/fuel-economy/predict", json=card["examples"][0]).status_code == 200
        assert client.post(PREDICT, json=PENGUIN).status_code == 429


def test_each_api_key_has_its_own_bucket(serve):
    with serve(rate_limit_predict="2/minute", api_keys="key-a,key-b") as client:
        assert _statuses(client, 3, **{"X-API-Key": "key-a"}) == [200, 200, 429]
        assert _statuses(client, 2, **{"X-API-Key": "key-b"}) == [200, 200]


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_buy_a_new_bucket(serve):
    with serve(rate_limit_predict="2/minute") as client:
        statuses = [
            client.post(PREDICT, json=PENGUIN, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(4)
        ]
    assert statuses == [200, 200, 429, 429]


def test_behind_a_trusted_proxy_a_client_cannot_pick_its_bucket_by_prefixing_forwarded_for(serve):
    # Render: client → Cloudflare → Render's proxy; XFF arrives as "<what the client sent>, <client>, <edge>".
    with serve(rate_limit_predict="2/minute", trusted_proxy_hops=2) as client:
        statuses = [
            client.post(
                PREDICT, json=PENGUIN, headers={"X-Forwarded-For": f"10.9.9.{i}, 198.51.100.7, 104.16.0.1"}
            ).status_code
            for i in range(3)
        ]
    assert statuses == [200, 200, 429]


def test_two_clients_behind_the_trusted_proxy_get_separate_buckets(serve):
    with serve(rate_limit_predict="2/minute", trusted_proxy_hops=2) as client:
        first = _statuses(client, 3, **{"X-Forwarded-For": "198.51.100.7, 104.16.0.1"})
        second = _statuses(client, 2, **{"X-Forwarded-For": "198.51.100.8, 104.16.0.1"})
    assert first == [200, 200, 429]
    assert second == [200, 200]


def test_a_platform_client_ip_header_wins_when_configured(serve):
    with serve(rate_limit_predict="1/minute", client_ip_header="Fly-Client-IP") as client:
        assert _statuses(client, 2, **{"Fly-Client-IP": "198.51.100.7"}) == [200, 429]
        assert _statuses(client, 1, **{"Fly-Client-IP": "198.51.100.8"}) == [200]


@pytest.fixture
def redis_prefix():
    prefix = f"freeport-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    server = redis.Redis.from_url(REDIS_URL)
    for key in server.scan_iter(f"*{prefix}*"):
        server.delete(key)
    server.close()


def test_instances_sharing_redis_share_one_limit(serve, tmp_path, redis_prefix):
    shared = {"rate_limit_predict": "3/minute", "rate_limit_storage_url": REDIS_URL,
              "rate_limit_key_prefix": redis_prefix, "api_keys": "raw-secret-key",
              "rate_limit_key_secret": "shared-counter-secret"}
    key = {"X-API-Key": "raw-secret-key"}
    with serve(**shared) as first, serve(**shared, database_url=f"sqlite:///{tmp_path / 'two.db'}") as second:
        assert _statuses(first, 2, **key) == [200, 200]
        assert _statuses(second, 2, **key) == [200, 429]
        assert first.post(PREDICT, json=PENGUIN, headers=key).status_code == 429
    stored = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"*{redis_prefix}*"))
    assert stored, "the counters should live in Redis"
    assert not any(b"raw-secret-key" in k for k in stored), "a key must never be stored as given"
    plain = hashlib.sha256(b"raw-secret-key").hexdigest()[:16].encode()
    assert not any(plain in k for k in stored), "an unsalted hash of a weak key is reversed by guessing"
    keyed = hmac.new(b"shared-counter-secret", b"raw-secret-key", hashlib.sha256).hexdigest()[:32].encode()
    assert any(keyed in k for k in stored), "the counters are named by an HMAC with RATE_LIMIT_KEY_SECRET"


def test_counters_per_address_do_not_store_the_address(serve, redis_prefix):
    with serve(rate_limit_predict="1/minute", rate_limit_storage_url=REDIS_URL, rate_limit_key_prefix=redis_prefix,
               rate_limit_key_secret="s", trusted_proxy_hops=1) as client:
        assert _statuses(client, 2, **{"X-Forwarded-For": "198.51.100.77"}) == [200, 429]
    stored = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"*{redis_prefix}*"))
    assert stored
    assert not any(b"198.51.100.77" in k for k in stored)


def test_without_a_shared_secret_redis_counting_warns_at_start_up(serve, redis_prefix, caplog):
    with caplog.at_level("WARNING", logger="freeport"), serve(
        rate_limit_storage_url=REDIS_URL, rate_limit_key_prefix=redis_prefix
    ):
        pass
    assert any("RATE_LIMIT_KEY_SECRET is not set" in r.getMessage() for r in caplog.records)


def test_an_unreachable_redis_does_not_fail_predictions(serve):
    with serve(rate_limit_predict="2/minute", rate_limit_storage_url="redis://127.0.0.1:1/0") as client:
        # slowapi falls back to counting in memory: still limited, never a 500.
        assert _statuses(client, 3) == [200, 200, 429]


def test_counter_names_are_the_keyed_digest_and_a_flood_of_addresses_is_remembered_only_up_to_a_bound():
    from api.web.counter_names import CounterNamer

    namer = CounterNamer(b"secret")
    expected = hmac.new(b"secret", b"198.51.100.7", hashlib.sha256).hexdigest()[:32]
    assert namer.name("198.51.100.7") == expected
    assert namer.name("198.51.100.7") == expected  # remembered, still the same name
    for i in range(CounterNamer.REMEMBERED + 500):
        namer.name(f"10.0.{i // 256}.{i % 256}")
    assert namer.name.cache_info().currsize == CounterNamer.REMEMBERED
    assert namer.name("198.51.100.7") == expected
