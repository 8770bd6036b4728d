"""Raw sockets for the attacks no HTTP client library will make: stalled bodies, slow headers."""

from __future__ import annotations

import select
import socket
import time
from urllib.parse import urlsplit

__all__ = ["connect", "read_response_head", "readable", "request_head", "send_some"]


def readable(socks: list[socket.socket], timeout: float) -> list[socket.socket]:
    """The sockets with something to read (or closed) within ``timeout``; poll, not select, which stops at fd 1024."""
    poller = select.poll()
    by_fd = {}
    for sock in socks:
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        by_fd[sock.fileno()] = sock
    return [by_fd[fd] for fd, _ in poller.poll(timeout * 1000)]


def connect(url: str, timeout: float = 5.0) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=timeout)


def request_head(method: str, path: str, *, chunked: bool = False, length: int | None = None,
                 key: str | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if key:
        lines.append(f"X-API-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_some(sock: socket.socket, data: bytes) -> int:
    """Send what the socket takes without blocking; the bytes sent (0 once the server has closed)."""
    sock.setblocking(False)
    sent = 0
    try:
        while sent < len(data):
            sent += sock.send(data[sent : sent + 262_144])
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:  # reset or closed by the server: it refused the rest
        pass
    return sent


def read_response_head(sock: socket.socket, deadline: float) -> str | None:
    """The status line the server sent before ``deadline``, "closed" if it closed without one, else None."""
    sock.setblocking(False)
    received = b""
    while time.monotonic() < deadline:
        if not readable([sock], max(0.0, deadline - time.monotonic())):
            break
        try:
            chunk = sock.recv(65_536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            return received.split(b"\r\n", 1)[0].decode() if received else "closed"
        if not chunk:
            return received.split(b"\r\n", 1)[0].decode() if received else "closed"
        received += chunk
        if b"\r\n\r\n" in received:
            return received.split(b"\r\n", 1)[0].decode()
    return None
