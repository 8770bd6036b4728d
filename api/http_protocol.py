"""uvicorn's h11 protocol with a deadline on each request's headers.

uvicorn times a connection only while it is idle between requests
(timeout_keep_alive), and any byte received stops that clock: a client sending
one header line per second held a connection, and its buffer, for as long as
it liked. Here each connection gets HEADERS_TIMEOUT_SECONDS from its opening,
and again after each response, to finish the next request's headers; past it,
408 and the connection is closed. Once the headers are in, api.timeout's
deadline covers the body and the handler.

h11 rather than httptools (uvicorn's choice when installed): h11 bounds the
request line and headers (h11_max_incomplete_event_size, MAX_HEADER_BYTES),
where uvicorn's httptools protocol gathers headers without a limit.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DeadlineH11Protocol"]

_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class DeadlineH11Protocol(H11Protocol):
    """Closes a connection whose request headers are not complete in ``headers_timeout`` seconds.

    uvicorn builds the protocol itself: api.__main__ hands it this class with the deadline
    from the settings bound in (functools.partial).
    """

    _headers_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args, headers_timeout: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._headers_timeout = headers_timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_headers_clock()

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
            return  # a request is being served: its own deadline (api.timeout) applies
        if self.conn.our_state in (h11.IDLE, h11.DONE) and self.conn.their_state in (h11.IDLE, h11.DONE):
            self.transport.write(_TOO_SLOW)
        self.transport.close()
