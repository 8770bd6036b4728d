"""Where a request's time goes, without HTTP: each step of a prediction, timed in this process.

The same objects the server builds (api.serving.registry), on a kind's distinct rows:
the model call on each engine for one row and for 1,000, checking a 1,000-row
batch body, its out-of-range flags, and encoding its rows for the prediction
log. Medians of repeated calls, in milliseconds.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["in_process"]


def _median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm: first-call allocations and caches are not what a running server pays
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def in_process(models_dir: Path, name: str, rows: list[dict]) -> dict[str, float]:
    """Steps of a prediction for bundle ``name`` in ``models_dir``, in ms (engine steps per engine it has)."""
    from api.serving.bundle import load_engine
    from api.serving.registry import Registry
    from api.storage.predlog_lines import encode_records
    from api.web.jsonbody import validate_body_fast

    registry = Registry.discover(models_dir, tolerance=None, max_batch_rows=len(rows))
    entry = registry.get(name)
    card, schemas = entry.card, entry.schemas
    figures: dict[str, float] = {}
    for engine in ("onnx", "sklearn"):
        if engine == "onnx" and card.onnx is None:
            continue
        loaded, _ = load_engine(models_dir / name, card, engine=engine, allow_version_mismatch=True)
        figures[f"{engine}_1_ms"] = _median_ms(lambda e=loaded: e.run(rows[:1]), 200)
        figures[f"{engine}_1000_ms"] = _median_ms(lambda e=loaded: e.run(rows), 20)
    body = json.dumps({"rows": rows}).encode()
    figures["check_body_1000_ms"] = _median_ms(lambda: validate_body_fast(schemas.batch_rows, schemas.batch, body), 20)
    figures["out_of_range_1000_ms"] = _median_ms(lambda: schemas.out_of_range.rows(rows), 20)
    outcome = {"prediction": 1.0, "out_of_range": []}
    now = datetime.now(UTC)
    records = [(now, "request-id", name, card.version, row, outcome, 1.0) for row in rows]
    figures["log_encode_1000_ms"] = _median_ms(lambda: encode_records(records), 20)
    return figures
