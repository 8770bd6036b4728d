"""uvicorn's httptools protocol with a deadline on each request's headers and a cap on their size.

uvicorn times a connection only while it is idle between requests
(timeout_keep_alive), and any byte received stops that clock: a client sending
one header line per second held a connection, and its buffer, for as long as
it liked. Here each connection gets HEADERS_TIMEOUT_SECONDS from its opening,
and again after each response, to finish the next request's headers; past it,
408 and the connection is closed. Once the headers are in, api.web.timeout's
deadline covers the body and the handler.

uvicorn's httptools protocol gathers a request's line and headers without a
limit (h11's has one, but its pure-Python parser cost about 0.1 ms a request,
an eighth of a prediction's whole time, see "Performance" in the README). So
the bytes of a request's head are counted here as they arrive; past
MAX_HEADER_BYTES the client gets 431 and the connection is closed, before the
parser has buffered more than that.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["DeadlineHttpToolsProtocol"]

_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def _too_large(limit: int) -> bytes:
    body = (
        '{"error":"headers_too_large","detail":"The request line and headers are over '
        f'{limit} bytes (MAX_HEADER_BYTES): send fewer or shorter headers."}}'
    ).encode()
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """Closes a connection whose request head is not complete in time (408) or grows too large (431).

    uvicorn builds the protocol itself: api.__main__ hands it this class with both limits
    from the settings bound in (functools.partial).
    """

    _headers_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args, headers_timeout: float, max_header_bytes: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._headers_timeout = headers_timeout
        self._max_header_bytes = max_header_bytes
        self._head_bytes: int | None = 0  # bytes of the current request head so far; None while in a body
        self._heads_complete = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_headers_clock()

    def data_received(self, data: bytes) -> None:
        while data:
            if self._head_bytes is None:  # a body, or a client that waits for our answer
                super().data_received(data)
                return
            # Feed at most what the cap allows; the parser says (on_headers_complete) where a head ends.
            room = self._max_header_bytes - self._head_bytes
            piece, data = data[:room], data[room:]
            heads_before = self._heads_complete
            self._head_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing():
                return
            if self._heads_complete != heads_before:
                if self._head_bytes is not None:
                    self._head_bytes = 0  # a pipelined request's head began within the piece
                continue
            if self._head_bytes >= self._max_header_bytes:
                self._stop_headers_clock()
                self.transport.write(_too_large(self._max_header_bytes))
                self.transport.close()
                return

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._heads_complete += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_bytes = 0  # what follows is the next request's head

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._start_headers_clock()  # the next request's headers, on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_headers_clock()
        super().connection_lost(exc)

    def _start_headers_clock(self) -> None:
        self._stop_headers_clock()
        if not self.transport.is_closing():
            self._headers_timer = self.loop.call_later(self._headers_timeout, self._headers_too_slow)

    def _stop_headers_clock(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_too_slow(self) -> None:
        self._headers_timer = None
        waiting_for_headers = self.cycle is None or self.cycle.response_complete
        if not waiting_for_headers or self.transport.is_closing():
            return  # a request is being served: its own deadline (api.web.timeout) applies
        self.transport.write(_TOO_SLOW)
        self.transport.close()
