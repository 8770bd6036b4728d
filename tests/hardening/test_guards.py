"""What every response carries, and what a request may not be: CORS, headers, size, time."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from api.settings import Settings
from tests.hardening.conftest import BATCH, PENGUIN, PREDICT
from tests.pg import free_port


def test_cors_is_off_until_origins_are_configured(serve):
    with serve() as client:
        response = client.get("/models", headers={"Origin": "https://demo.example"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_only_the_configured_origins(serve):
    with serve(cors_origins="https://me.github.io, https://huggingface.co/") as client:
        preflight = client.options(
            PREDICT,
            headers={"Origin": "https://me.github.io", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type,x-api-key"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://me.github.io"
        other = client.post(PREDICT, json=PENGUIN, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        ok = client.post(PREDICT, json=PENGUIN, headers={"Origin": "https://huggingface.co"})
        assert ok.headers["access-control-allow-origin"] == "https://huggingface.co"
        assert "x-request-id" in ok.headers["access-control-expose-headers"].lower()


def test_a_wildcard_origin_with_credentials_is_refused_at_start_up():
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(cors_origins="*", cors_allow_credentials=True)


def test_every_response_has_the_security_headers(serve):
    with serve() as client:
        for response in (client.get("/health"), client.post(PREDICT, json={}), client.get("/nowhere")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["content-security-policy"].startswith("default-src 'none'")
        # Swagger UI loads its script from a CDN: /docs must not be locked down, or it shows a blank page.
        docs = client.get("/docs")
        assert docs.status_code == 200 and "content-security-policy" not in docs.headers


def test_a_body_over_the_limit_is_413_in_the_error_shape(serve):
    with serve(max_body_bytes=2048) as client:
        response = client.post(BATCH, json={"rows": [PENGUIN] * 40})
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"
        assert "2048 bytes" in response.json()["message"]
        assert response.json()["request_id"] == response.headers["x-request-id"]
        assert client.post(BATCH, json={"rows": [PENGUIN] * 2}).status_code == 200


def test_a_chunked_body_over_the_limit_is_413_too(serve):
    def chunks():
        for _ in range(10):
            yield b" " * 512

    with serve(max_body_bytes=2048) as client:
        response = client.post(PREDICT, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_the_batch_row_limit_names_the_limit_and_the_fix(serve):
    with serve(max_batch_rows=3) as client:
        response = client.post(BATCH, json={"rows": [PENGUIN] * 4})
    assert response.status_code == 422
    assert "split it into batches of at most 3 rows" in response.text


def test_a_request_past_the_timeout_is_504_in_the_error_shape(serve):
    with serve(request_timeout_seconds=0.001) as client:
        response = client.post(BATCH, json={"rows": [PENGUIN] * 1000})
    assert response.status_code == 504
    assert response.json()["error"] == "timeout"
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_each_request_logs_one_json_line_with_its_id_and_model(serve, caplog):
    from api.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="freeport.access")
    with serve() as client:
        response = client.post(PREDICT, json=PENGUIN, headers={"X-Request-ID": "trace-42"})
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "freeport.access"]
    assert len(lines) == 1
    line = lines[0]
    assert response.headers["x-request-id"] == "trace-42"
    assert {k: line[k] for k in ("request_id", "method", "path", "status", "model")} == {
        "request_id": "trace-42", "method": "POST", "path": PREDICT, "status": 200, "model": "penguins",
    }
    assert line["latency_ms"] > 0 and line["level"] == "info"


def _sample(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    return float(next(line for line in text.splitlines() if line.startswith(prefix)).split()[-1])


def test_metrics_count_requests_predictions_and_the_prediction_log(serve):
    with serve() as client:
        client.post(PREDICT, json=PENGUIN)
        client.post(BATCH, json={"rows": [PENGUIN] * 3})
        client.post(PREDICT, json={"bill_length_mm": "long"})
        client.get("/does-not-exist-1")
        text = client.get("/metrics").text
    assert _sample(text, "freeport_predictions_total", model="penguins") == 4
    assert _sample(text, "freeport_requests_total", method="POST", route=PREDICT, status="200") == 1
    assert _sample(text, "freeport_requests_total", method="POST", route=PREDICT, status="422") == 1
    # Unknown paths share one label, so a scanner cannot grow the metrics without bound.
    assert _sample(text, "freeport_requests_total", method="GET", route="unmatched", status="404") == 1
    assert _sample(text, "freeport_request_duration_seconds_count", method="POST", route=BATCH, status="200") == 1
    assert _sample(text, "freeport_prediction_log_dropped_total") == 0
    assert _sample(text, "freeport_model_load_seconds", model="penguins") > 0
    assert _sample(text, "process_resident_memory_bytes") > 10_000_000


def test_metrics_queue_depth_counts_the_predictions_not_yet_stored(serve):
    # A database that refuses every connection: the four predictions answered wait in the log.
    with serve(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere") as client:
        client.post(PREDICT, json=PENGUIN)
        client.post(BATCH, json={"rows": [PENGUIN] * 3})
        text = client.get("/metrics").text
    assert _sample(text, "freeport_prediction_log_queue_depth") == 4
    assert _sample(text, "freeport_prediction_log_written_total") == 0


def test_a_body_that_is_not_utf8_is_refused_as_bad_input_not_a_bare_400(serve):
    with serve() as client:
        response = client.post(PREDICT, content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert "UTF-8" in response.json()["message"]
