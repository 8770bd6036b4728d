"""Response bodies that always encode: an echoed lone surrogate is written as its escape text.

Python's json module reads ``"\\ud800"`` into a str no UTF-8 encoder accepts; a
422 that quotes such a value would fail while being written (a 500 and a reset
connection). Such characters are shown as the six characters ``\\ud800``
instead: what the client sent, readable, and valid JSON text.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["EncodableJSONResponse", "escape_surrogates"]


def escape_surrogates(value: Any) -> Any:
    """``value`` with every str's unencodable characters replaced by their ``\\uXXXX`` text."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {escape_surrogates(k): escape_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_surrogates(v) for v in value]
    return value


class EncodableJSONResponse(JSONResponse):
    """A JSONResponse that escapes what UTF-8 cannot hold rather than failing."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:  # rare: pay for the walk only when needed
            return super().render(escape_surrogates(content))
