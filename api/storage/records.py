"""One prediction as the log keeps it, from the request path to the table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["RECORD_FIELDS", "PredictionRecord"]

# A tuple of these columns' values in this order. A tuple costs a quarter of a dict to build,
# and a 1,000-row batch builds a thousand of them on the request path.
RECORD_FIELDS = ("created_at", "request_id", "model", "model_version", "inputs", "outputs", "latency_ms")
PredictionRecord = tuple[datetime, str, str, str, dict[str, Any], dict[str, Any], float]
