"""Logs as one JSON object per line, and one access line per request.

Platforms (Render, Railway, Fly) collect stdout/stderr line by line; JSON lines
can be searched and filtered by field there and in any log drain. Each access
line carries the request id (also in the X-Request-ID response header), so a
user's bug report leads to its line. Keys, bodies and query strings are never
logged.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from starlette.types import Scope

__all__ = ["JsonFormatter", "configure_logging", "log_request", "model_of"]

_FIELDS = ("request_id", "method", "path", "status", "latency_ms", "model", "client")
_MODEL_PATH = re.compile(r"^/models/([^/]+)")


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, and the request fields a record carries."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str, fmt: str) -> None:
    """Send every logger, uvicorn's included, to stderr in the chosen format (called by python -m api)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    # Neither format shows the caller, thread or process: skip gathering them for every record
    # (the logging HOWTO's "Optimization"); the access line is written for every request.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def model_of(path: str) -> str | None:
    """The model a request's path names, if any."""
    match = _MODEL_PATH.match(path)
    return match.group(1) if match else None


_access = logging.getLogger("freeport.access")


def log_request(scope: Scope, status: int, seconds: float) -> None:
    """The access line of one request (an observer of api.web.observe.ObserveRequestsMiddleware)."""
    state = scope.get("state", {})
    _access.info(
        "%s %s %d",
        scope["method"],
        scope["path"],
        status,
        extra={
            "request_id": state.get("request_id"),
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "latency_ms": round(seconds * 1000, 2),
            "model": model_of(scope["path"]),
            "client": state.get("client_ip"),
        },
    )
