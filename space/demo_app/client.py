"""The demo's only way to reach the API: HTTP calls with explicit timeouts.

Failures are sorted by what the visitor should be told::

    ApiError                 the API gave no usable answer
    ├── ApiUnavailableError  no answer yet: refused, timed out, or a proxy's 502/503/504
    │                        (a free instance asleep or waking); worth retrying
    ├── ApiDownError         still no answer after the wake-up limit
    ├── ApiAuthError         401/403: the API refuses the demo's key
    ├── ApiRejectedError     another 4xx: the request is wrong; carries the per-field details
    └── ApiFailedError       a 5xx or a body that is not the API's JSON
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from demo_app.cards import parse_models

__all__ = [
    "ApiAuthError",
    "ApiClient",
    "ApiDownError",
    "ApiError",
    "ApiFailedError",
    "ApiRejectedError",
    "ApiUnavailableError",
    "ErrorDetail",
    "Reply",
]

# (connect, read) in seconds. A waking instance may hold a request open for a
# while; the wake-up loop retries, so one attempt need not wait for all of it.
DEFAULT_TIMEOUT = (5.0, 30.0)
# Statuses a platform's proxy answers while the instance behind it sleeps or restarts.
_PROXY_WAKING = {502, 503, 504}


class ApiError(Exception):
    """The API gave no usable answer; ``str(error)`` is written for a person."""


class ApiUnavailableError(ApiError):
    """No answer yet (refused, timed out, or a proxy's 502/503/504): the API may be asleep."""


class ApiDownError(ApiError):
    """The API stayed unavailable past the wake-up limit."""


class ApiAuthError(ApiError):
    """The API refused the demo's credentials (401 or 403)."""


@dataclass(frozen=True)
class ErrorDetail:
    """One problem the API found, e.g. field ``rows.3.dest`` with a hint."""

    field: str | None
    message: str
    hint: str | None = None


class ApiRejectedError(ApiError):
    """The API refused the request itself (a 4xx other than 401/403)."""

    def __init__(self, status: int, message: str, details: list[ErrorDetail]) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


class ApiFailedError(ApiError):
    """The API answered with a server error or something that is not its JSON."""


@dataclass(frozen=True)
class Reply:
    """A successful answer: the JSON body and how long the round trip took."""

    data: Any
    seconds: float
    request_id: str | None = None


def _error_body(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and "error" in body and "message" in body else None


def _raise_for(response: requests.Response, url: str) -> None:
    status = response.status_code
    body = _error_body(response)
    message = body["message"] if body else f"HTTP {status} {response.reason}"
    if status in (401, 403):
        raise ApiAuthError(
            f"The API refused the demo's key (HTTP {status}: {message}). "
            "Set API_KEY to a key the API accepts (on a Space: Settings → Variables and secrets)."
        )
    if status < 500:
        details = [
            ErrorDetail(d.get("field"), str(d.get("message", "")), d.get("hint"))
            for d in (body or {}).get("details", [])
            if isinstance(d, dict)
        ]
        raise ApiRejectedError(status, message, details)
    if body is None and status in _PROXY_WAKING:
        # The API itself always answers with its JSON error body; a bare 502/503/504
        # comes from the platform's proxy while the instance sleeps or restarts.
        raise ApiUnavailableError(f"HTTP {status} from the platform (the server is starting or asleep)")
    request_id = (body or {}).get("request_id") or response.headers.get("x-request-id")
    suffix = f" Request id: {request_id}." if request_id else ""
    raise ApiFailedError(f"The API failed (HTTP {status}): {message}.{suffix}")


class ApiClient:
    """Calls the freeport API at ``base_url``; sends ``X-API-Key`` when a key is set."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "freeport-demo"
        if api_key:
            self._session.headers["X-API-Key"] = api_key
        self._batch_limits: dict[str, int] = {}

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def docs_url(self) -> str:
        return f"{self.base_url}/docs"

    def predict_url(self, model: str) -> str:
        return f"{self.base_url}/models/{model}/predict"

    def _call(self, method: str, path: str, *, json: Any = None, timeout: tuple[float, float] | None = None) -> Reply:
        url = f"{self.base_url}{path}"
        limits = timeout or self.timeout
        started = time.perf_counter()
        try:
            response = self._session.request(method, url, json=json, timeout=limits)
        except requests.Timeout as exc:
            raise ApiUnavailableError(f"no answer within {limits[1]:.0f} s") from exc
        except requests.ConnectionError as exc:
            raise ApiUnavailableError("cannot connect") from exc
        except requests.RequestException as exc:
            raise ApiFailedError(f"the request to {url} failed: {exc}") from exc
        seconds = time.perf_counter() - started
        if response.status_code >= 400:
            _raise_for(response, url)
        try:
            data = response.json()
        except ValueError as exc:
            raise ApiFailedError(f"{url} did not answer with JSON: is API_URL the freeport API?") from exc
        return Reply(data, seconds, response.headers.get("x-request-id"))

    def fetch_models(self, *, timeout: tuple[float, float] | None = None) -> list[dict[str, Any]]:
        """``GET /models`` as JSON, checked to be readable by :func:`~demo_app.cards.parse_models`.

        Plain JSON rather than parsed cards, so it can sit in a Gradio ``State``.
        """
        reply = self._call("GET", "/models", timeout=timeout)
        try:
            parse_models(reply.data)
        except ValueError as exc:
            raise ApiFailedError(str(exc)) from exc
        return reply.data

    def predict(self, model: str, row: dict[str, Any]) -> Reply:
        """``POST /models/{model}/predict`` with one row."""
        return self._call("POST", f"/models/{model}/predict", json=row)

    def predict_batch(self, model: str, rows: list[dict[str, Any]]) -> Reply:
        """``POST /models/{model}/predict/batch`` with ``{"rows": rows}``."""
        return self._call("POST", f"/models/{model}/predict/batch", json={"rows": rows})

    def drift(self, model: str) -> Reply:
        """``GET /models/{model}/drift``: the recent inputs against the training data."""
        return self._call("GET", f"/models/{model}/drift")

    def batch_limit(self, model: str) -> int:
        """The most rows one batch request may hold, read from the API's own OpenAPI schema."""
        if model not in self._batch_limits:
            spec = self._call("GET", "/openapi.json").data
            self._batch_limits[model] = _max_rows(spec, f"/models/{model}/predict/batch")
        return self._batch_limits[model]


def _max_rows(spec: dict[str, Any], path: str) -> int:
    try:
        schema = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = spec["components"]["schemas"][name]
        return int(schema["properties"]["rows"]["maxItems"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiFailedError(f"the API's /openapi.json does not say how many rows {path} takes") from exc
