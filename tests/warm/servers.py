"""Real HTTP servers on free local ports, each with one behaviour keep_warm must handle."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A behaviour gets the 1-based number of the request and answers (status, delay s, headers).
Behaviour = Callable[[int], tuple[int, float, dict[str, str]]]


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: RecordingServer

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.paths.append(self.path)
            number = len(self.server.paths)
        status, delay, headers = self.server.behaviour(number)
        if delay and self.server.closing.wait(delay):
            return
        body = b'{"status":"ok"}' if status < 400 else b'{"error":"boom"}'
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting: that is the test
            pass

    def log_message(self, *args) -> None:
        pass


@contextmanager
def http_server(behaviour: Behaviour) -> Iterator[RecordingServer]:
    server = RecordingServer(behaviour)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def always(status: int, delay: float = 0.0, headers: dict[str, str] | None = None) -> Behaviour:
    return lambda _number: (status, delay, headers or {})


def sequence(*answers: tuple[int, float, dict[str, str]]) -> Behaviour:
    """The n-th request gets the n-th answer; later ones repeat the last."""
    return lambda number: answers[min(number, len(answers)) - 1]


def closed_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
