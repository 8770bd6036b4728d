"""Every phase of a request has a deadline, chunked or not: headers (408), body and handler (504);
bodies are counted against one budget for the process (503 with Retry-After). Against `python -m api`."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.hardening.conftest import PENGUIN, PREDICT
from tests.hardening.rawhttp import connect, read_response_head, request_head, send_some
from tests.hardening.server import running_api
from tests.pg import wait_until

DEADLINE = 2.0


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    env = {"REQUEST_TIMEOUT_SECONDS": str(DEADLINE), "HEADERS_TIMEOUT_SECONDS": str(DEADLINE),
           "MAX_BODY_BYTES": "2000000", "BODY_BUDGET_BYTES": "4194304"}
    with running_api(tmp_path_factory.mktemp("slow"), **env) as server:
        yield server


def _dribble(sock, pieces, every: float, until: float) -> str | None:
    """Send one piece per ``every`` seconds until the server answers or ``until``; its status line."""
    for piece in pieces:
        status = read_response_head(sock, min(until, time.monotonic() + every))
        if status is not None:
            return status
        send_some(sock, piece)
    return read_response_head(sock, until)


def _slow(api, head: bytes, pieces) -> tuple[str | None, float]:
    with connect(api.url) as sock:
        started = time.monotonic()
        sock.sendall(head)
        status = _dribble(sock, pieces, 0.3, started + DEADLINE + 3)
        return status, time.monotonic() - started


def test_a_chunked_body_at_one_byte_a_beat_gets_504_at_the_deadline(api):
    pieces = (b"1\r\n \r\n" for _ in range(1000))
    status, elapsed = _slow(api, request_head("POST", PREDICT, chunked=True), pieces)
    assert status == "HTTP/1.1 504 Gateway Timeout"
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + 2


def test_a_slow_body_with_a_content_length_gets_504_at_the_deadline(api):
    pieces = (b" " for _ in range(1000))
    status, elapsed = _slow(api, request_head("POST", PREDICT, length=1000), pieces)
    assert status == "HTTP/1.1 504 Gateway Timeout"
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + 2


def test_headers_one_line_a_beat_get_408_and_the_connection_closed_at_the_deadline(api):
    pieces = (f"X-Slow-{i}: {i}\r\n".encode() for i in range(1000))
    with connect(api.url) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        status = _dribble(sock, pieces, 0.3, started + DEADLINE + 3)
        elapsed = time.monotonic() - started
        assert status == "HTTP/1.1 408 Request Timeout"
        assert read_response_head(sock, time.monotonic() + 2) == "closed"
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + 2


def test_an_idle_connection_that_never_sends_headers_is_closed(api):
    with connect(api.url) as sock:
        started = time.monotonic()
        status = read_response_head(sock, started + DEADLINE + 3)
        assert status in ("HTTP/1.1 408 Request Timeout", "closed")
        assert time.monotonic() - started < DEADLINE + 2


def test_past_the_budget_a_body_gets_503_with_retry_after_and_small_requests_still_pass(api):
    # Budget 4 MiB; each stalled body declares 1.9 MB (its first 64 KiB are free): two fit, the third does not.
    size = 1_900_000
    stalled = [connect(api.url) for _ in range(2)]
    try:
        for sock in stalled:
            sock.sendall(request_head("POST", PREDICT, length=size))
            send_some(sock, b" " * 100_000)
        # Wait for both to be admitted: the server has started reading them (they do not answer yet).
        assert wait_until(lambda: _third_is_refused(api, size), timeout=10)
        small = requests.post(api.url + PREDICT, json=PENGUIN, timeout=5)
        assert small.status_code == 200
        for sock in stalled:
            assert read_response_head(sock, time.monotonic() + 0.05) is None  # still held, not refused
    finally:
        for sock in stalled:
            sock.close()
    # Once they are gone their share comes back: a body as large is served.
    padded = json.dumps(PENGUIN) + " " * (size - 200)
    assert wait_until(lambda: _post(api, padded).status_code == 200, timeout=DEADLINE + 5)


def _post(api, body: str) -> requests.Response:
    return requests.post(api.url + PREDICT, data=body, headers={"Content-Type": "application/json"}, timeout=10)


def _third_is_refused(api, size: int) -> bool:
    with connect(api.url) as sock:
        sock.sendall(request_head("POST", PREDICT, length=size))
        status = read_response_head(sock, time.monotonic() + 1)
    if status is None:
        return False
    assert status == "HTTP/1.1 503 Service Unavailable", status
    return True


def test_the_503_names_the_budget_and_says_when_to_retry(api):
    stalled = [connect(api.url) for _ in range(2)]
    try:
        for sock in stalled:
            sock.sendall(request_head("POST", PREDICT, length=1_900_000))
        refused = None

        def refused_once() -> bool:
            nonlocal refused
            refused = _post(api, json.dumps(PENGUIN) + " " * 1_899_000)
            return refused.status_code == 503
        assert wait_until(refused_once, timeout=10)
        assert refused.json()["error"] == "over_capacity"
        assert refused.headers["retry-after"] == "2"
        assert refused.headers["connection"] == "close"
    finally:
        for sock in stalled:
            sock.close()


def test_past_max_connections_a_request_is_refused_at_once_with_503(tmp_path):
    with running_api(tmp_path, MAX_CONNECTIONS="10") as server:
        idle = []
        try:
            for _ in range(10):  # connections that send nothing: they count until their header deadline
                idle.append(connect(server.url))

            def refused() -> bool:
                started = time.monotonic()
                response = requests.get(server.url + "/health", timeout=5)
                assert time.monotonic() - started < 1, "refused at once, not queued"
                return response.status_code == 503

            assert wait_until(refused, timeout=5)
        finally:
            for sock in idle:
                sock.close()
        # Once they are gone, requests are served again.
        assert wait_until(lambda: requests.get(server.url + "/health", timeout=5).status_code == 200, timeout=5)
