"""One budget of memory for request bodies, shared by every request of the process.

Per-request limits (MAX_BODY_BYTES) do not bound the total: 400 clients each
sending 1 MB is 400 MB, past a 512 MB instance. Every body byte a request
holds is drawn from BODY_BUDGET_BYTES as it arrives (a Content-Length is
drawn whole, up front) and given back when the request ends; a request that
would pass the budget is refused with 503 and Retry-After.

The first SMALL_BODY_BYTES of each body are not drawn: uvicorn buffers that
much per connection before it stops reading anyway (so it is bounded by
MAX_CONNECTIONS, not by this budget), and it keeps ordinary small requests
answered while large ones wait.
"""

from __future__ import annotations

__all__ = ["SMALL_BODY_BYTES", "BodyBudget"]

# uvicorn's flow control pauses reading a connection once 64 KiB of its body wait (HIGH_WATER_LIMIT).
SMALL_BODY_BYTES = 65_536


class BodyBudget:
    """Bytes of request bodies the process may hold at once. Used from the event loop only (no lock)."""

    def __init__(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes
        self.in_use = 0

    def take(self, size: int) -> bool:
        """Draw ``size`` bytes; False (nothing drawn) when that would pass the budget."""
        if self.in_use + size > self.total_bytes:
            return False
        self.in_use += size
        return True

    def give_back(self, size: int) -> None:
        self.in_use -= size
