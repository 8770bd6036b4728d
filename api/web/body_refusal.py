"""The refusal of a body (413 past MAX_BODY_BYTES, 503 past BODY_BUDGET_BYTES), raised while it is read.

An HTTPException, because FastAPI lets those through its own body reading
(anything else it turns into a bare 400); api.web.handlers gives it the ErrorBody shape.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException

from api.errors import ErrorDetail

__all__ = ["BodyRefused"]


class BodyRefused(HTTPException):
    def __init__(self, status_code: int, code: str, message: str, hint: str, headers: dict[str, str]) -> None:
        super().__init__(status_code, message, headers=headers)
        self.code = code
        self.message = message
        self.details = [ErrorDetail(message=message, hint=hint)]

    @classmethod
    def too_large(cls, max_bytes: int) -> BodyRefused:
        return cls(413, "payload_too_large", f"the request body is larger than the limit of {max_bytes} bytes",
                   "send fewer rows per batch request, or raise MAX_BODY_BYTES", {"Connection": "close"})

    @classmethod
    def over_budget(cls, retry_after: int) -> BodyRefused:
        return cls(503, "over_capacity",
                   "the service holds as many request bodies as its memory allows; retry shortly",
                   f"retry after {retry_after} s", {"Retry-After": str(retry_after), "Connection": "close"})
