"""Prometheus metrics for GET /metrics, in a registry of the app's own (never the global one).

- freeport_requests_total, freeport_request_duration_seconds: by method, route template and status
- freeport_predictions_total: rows predicted, by model
- freeport_prediction_log_*: rows waiting (in memory or spilled to disk), the spill's bytes, rows
  written and replayed from an earlier process's spill, requests refused, rows dropped, failed writes
- freeport_model_load_seconds, freeport_model_ready: by model
- freeport_key_refusals_total: requests refused for their API key, by reason (missing, wrong, limited)
- process_resident_memory_bytes and the rest of prometheus_client's process metrics
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.types import Scope

from api.serving.registry import Registry
from api.storage.predlog import PredictionLog
from api.storage.records import RECORD_FIELDS, PredictionRecord

__all__ = ["CountingPredictionLog", "Metrics"]

_MODEL = RECORD_FIELDS.index("model")

# Predictions take milliseconds; a request past 10 s has already met REQUEST_TIMEOUT_SECONDS's neighbourhood.
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class _StateCollector:
    """Reads the prediction log's counters and the models' load state at scrape time."""

    def __init__(self, prediction_log: PredictionLog, registry: Registry) -> None:
        self.prediction_log = prediction_log
        self.registry = registry

    def collect(self):
        stats = self.prediction_log.stats()
        yield GaugeMetricFamily("freeport_prediction_log_queue_depth", "Rows waiting to be written.", stats.queued)
        yield GaugeMetricFamily(
            "freeport_prediction_log_spilled", "Of the rows waiting, those on disk in the spill file.", stats.spilled
        )
        yield GaugeMetricFamily("freeport_prediction_log_spill_bytes", "Size of the spill file.", stats.spill_bytes)
        yield CounterMetricFamily("freeport_prediction_log_written", "Rows written to the database.", stats.written)
        yield CounterMetricFamily(
            "freeport_prediction_log_replayed", "Rows written from a spill left by an earlier process.",
            stats.replayed,
        )
        yield CounterMetricFamily(
            "freeport_prediction_log_refused",
            "Predict requests refused (503) because memory and the spill were both full.", stats.refused,
        )
        yield CounterMetricFamily(
            "freeport_prediction_log_dropped", "Rows answered and then lost (the spill full at shutdown).",
            stats.dropped,
        )
        yield CounterMetricFamily(
            "freeport_prediction_log_failed_writes", "Database writes that failed and were retried.",
            stats.failed_writes,
        )
        load = GaugeMetricFamily("freeport_model_load_seconds", "Time to load the model at start-up.", labels=["model"])
        ready = GaugeMetricFamily("freeport_model_ready", "1 when the model serves.", labels=["model"])
        for entry in self.registry:
            if entry.load_seconds is not None:
                load.add_metric([entry.name], entry.load_seconds)
            ready.add_metric([entry.name], 1.0 if entry.state == "ready" else 0.0)
        yield load
        yield ready


class Metrics:
    """The app's metrics and the registry they are exposed from."""

    def __init__(self, prediction_log: PredictionLog, registry: Registry) -> None:
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter("freeport_requests", "HTTP requests answered.", labels, registry=self.registry)
        self.latency = Histogram(
            "freeport_request_duration_seconds", "Time to answer, by route.", labels,
            buckets=_BUCKETS, registry=self.registry,
        )
        self.predictions = Counter("freeport_predictions", "Rows predicted.", ["model"], registry=self.registry)
        self.key_refusals = Counter(
            "freeport_key_refusals", "Requests refused for their API key: missing, wrong, or limited "
            "(the address sent too many wrong keys).", ["reason"], registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self.registry.register(_StateCollector(prediction_log, registry))
        # prometheus_client's labels() takes a lock and validates the values on every call: each
        # combination's children are looked up once and kept (the combinations are few and bounded).
        self._by_labels: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._predictions_by_model: dict[str, Any] = {}

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        """Count and time one request by its route template (not its raw path: bounded labels)."""
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        key = (scope["method"], route, status)
        children = self._by_labels.get(key)
        if children is None:
            labels = (scope["method"], route, str(status))
            children = self._by_labels[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    def count_predictions(self, model: str, rows: int) -> None:
        counter = self._predictions_by_model.get(model)
        if counter is None:
            counter = self._predictions_by_model[model] = self.predictions.labels(model)
        counter.inc(rows)


    def count_key_refusal(self, reason: str) -> None:
        self.key_refusals.labels(reason).inc()


class CountingPredictionLog:
    """The prediction log, counting each model's rows into freeport_predictions_total as they are queued.

    Every prediction passes through ``record``, so counting there covers the
    single and batch routes of every model without touching them.
    """

    def __init__(self, log: PredictionLog, metrics: Metrics) -> None:
        self._log = log
        self._metrics = metrics

    def record(self, records: list[PredictionRecord]) -> None:
        if records:
            self._metrics.count_predictions(records[0][_MODEL], len(records))
        self._log.record(records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)
