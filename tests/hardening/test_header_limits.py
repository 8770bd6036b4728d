"""A request's line and headers are capped at MAX_HEADER_BYTES (431, connection closed), counted as
they arrive, and the count covers the head only: bodies, pipelined requests and keep-alive are as before.
Against `python -m api`, with raw sockets: no client library sends a head this large."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.hardening.conftest import PENGUIN, PREDICT
from tests.hardening.rawhttp import connect, read_response_head, request_head, send_some
from tests.hardening.server import running_api

LIMIT = 8192


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = {"MAX_HEADER_BYTES": str(LIMIT), "HEADERS_TIMEOUT_SECONDS": "5"}
    with running_api(tmp_path_factory.mktemp("heads"), **settings) as server:
        yield server


def _read_all(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection or ``deadline``."""
    sock.setblocking(True)
    received = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65_536)
        except TimeoutError:
            break
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    return received


def _read_response(sock: socket.socket, deadline: float) -> tuple[bytes, bytes]:
    """One whole response on a kept-alive connection: its status line and its body (by Content-Length)."""
    sock.setblocking(True)
    received = b""
    while b"\r\n\r\n" not in received and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        received += sock.recv(65_536)
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:"))
    while len(body) < length and time.monotonic() < deadline:
        body += sock.recv(65_536)
    return lines[0], body


def _padded_head(size: int, body: bytes) -> bytes:
    """A POST head of exactly ``size`` bytes, padded with one X-Pad header."""
    head = request_head("POST", PREDICT, length=len(body))
    filler = size - len(head) - len("X-Pad: \r\n")
    return head[:-2] + b"X-Pad: " + b"p" * filler + b"\r\n\r\n"


def test_a_head_over_the_cap_gets_431_naming_the_setting_and_the_connection_closed(api):
    with connect(api.url) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (LIMIT + 100) + b"\r\n\r\n")
        answer = _read_all(sock, time.monotonic() + 5)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {
        "error": "headers_too_large",
        "detail": f"The request line and headers are over {LIMIT} bytes (MAX_HEADER_BYTES): "
        "send fewer or shorter headers.",
    }


def test_a_head_dribbled_in_small_pieces_is_counted_across_them(api):
    with connect(api.url) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        status = None
        for i in range(LIMIT // 100 + 20):  # well past the cap, well within the deadline
            if not send_some(sock, f"X-Line-{i:04d}: {'b' * 84}\r\n".encode()):
                break
            status = read_response_head(sock, time.monotonic() + 0.005)
            if status is not None:
                break
        status = status or read_response_head(sock, time.monotonic() + 3)
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"


def test_a_head_just_under_the_cap_with_a_large_body_is_served(api):
    # The body (100 kB, whitespace padding) is far past the head's cap: only the head is counted.
    body = json.dumps(PENGUIN).encode() + b" " * 100_000
    with connect(api.url) as sock:
        sock.sendall(_padded_head(LIMIT - 10, body) + body)
        answer = _read_all(sock, time.monotonic() + 5)
    assert answer.split(b"\r\n")[0] == b"HTTP/1.1 200 OK"
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["model"] == "penguins"


def test_pipelined_requests_in_one_send_are_each_answered(api):
    body = json.dumps(PENGUIN).encode()
    one = request_head("POST", PREDICT, length=len(body)) + body
    with connect(api.url) as sock:
        sock.sendall(one * 3 + b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = _read_all(sock, time.monotonic() + 5)
    assert answer.count(b"HTTP/1.1 200 OK") == 4
    assert answer.count(b'"model":"penguins"') == 3


def test_many_requests_on_one_kept_alive_connection_are_not_counted_together(api):
    # Each head is about 150 bytes: a count that never reset would pass the cap by the 60th request.
    body = json.dumps(PENGUIN).encode()
    with connect(api.url) as sock:
        for _ in range(2 * LIMIT // 100):
            sock.sendall(request_head("POST", PREDICT, length=len(body)) + body)
            status, answer = _read_response(sock, time.monotonic() + 5)
            assert status == b"HTTP/1.1 200 OK"
            assert json.loads(answer)["model"] == "penguins"
