"""What a benchmark sends: distinct rows the model never saw, never one row repeated.

A server answering the same row a thousand times walks the same branches of
every tree and finds every byte in cache, and a batch of three examples
repeated is cheaper to check and to score than real data (by 25-40 % in the
measurements of the "any model" issue). So each kind of model is measured on
its own held-out rows:

- the bundled examples: the held-out split of scripts/train_examples.py (same
  data, same seed: the rows behind their cards' metrics);
- the zoo kinds (tests/zoo.py, pipelines this project did not write): each
  one's held-out frame. Those hold 45 to 150 rows, so a 1,000-row batch is
  topped up with held-out rows whose numbers are moved by a tenth of the
  column's spread (kept inside the training range, integers kept whole):
  rows that are still distinct and still like the data.

A row is a JSON-ready dict of the card's input columns; a gap is None.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_NAMES = ("flight-delay", "penguins", "fuel-economy")
ROWS = 1000

__all__ = ["EXAMPLE_NAMES", "ROWS", "Kind", "distinct_rows", "prepare"]


@dataclass
class Kind:
    """A model to measure: its bundle's folder and ROWS distinct rows for it."""

    name: str
    bundle: Path
    rows: list[dict[str, Any]]
    synthetic_rows: int  # of ``rows``, how many are held-out rows with their numbers moved

    @property
    def card(self) -> dict[str, Any]:
        return json.loads((self.bundle / "card.json").read_text())


def _json_ready(value: Any) -> Any:
    if hasattr(value, "item"):  # a NumPy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _moved(row: dict[str, Any], features: list[dict], spread: dict[str, float], rng: random.Random) -> dict:
    moved = dict(row)
    for feature in features:
        name, value = feature["name"], row[feature["name"]]
        if feature["type"] not in ("number", "integer") or value is None or isinstance(value, bool):
            continue
        value += rng.gauss(0, spread[name] / 10)
        low, high = feature.get("minimum"), feature.get("maximum")
        value = min(max(value, low if low is not None else value), high if high is not None else value)
        moved[name] = round(value) if feature["type"] == "integer" else value
    return moved


def distinct_rows(frame: Any, card: dict[str, Any], count: int = ROWS, seed: int = 0) -> tuple[list[dict], int]:
    """``count`` distinct rows from ``frame`` (topped up by moving numbers, see above); and how many were moved."""
    features = card["features"]
    columns = [f["name"] for f in features]
    held_out = [{k: _json_ready(v) for k, v in row.items()} for row in frame[columns].to_dict("records")]
    seen: set[str] = set()
    rows: list[dict] = []
    for row in held_out:
        if (key := json.dumps(row, sort_keys=True)) not in seen and len(rows) < count:
            seen.add(key)
            rows.append(row)
    real = len(rows)
    numeric = frame[columns].select_dtypes("number")
    spread = {name: float(numeric[name].std()) if name in numeric else 0.0 for name in columns}
    rng = random.Random(seed)
    while len(rows) < count:
        row = _moved(rng.choice(held_out), features, spread, rng)
        if (key := json.dumps(row, sort_keys=True)) not in seen:
            seen.add(key)
            rows.append(row)
    return rows, len(rows) - real


def _example_held_out(name: str) -> Any:
    sys.path.insert(0, str(REPO / "scripts"))
    from sklearn.model_selection import train_test_split
    from train_examples import EXAMPLES, SEED

    _, frame, target, *_ = EXAMPLES[name]()
    stratify = target if name != "fuel-economy" else None  # as train_examples.train splits
    _, test, _, _ = train_test_split(frame, target, test_size=0.2, random_state=SEED, stratify=stratify)
    return test


def prepare(name: str, models_root: Path) -> Kind:
    """The bundle of ``name`` (a bundled example, or a zoo kind saved with save_bundle) and its rows."""
    target = models_root / name
    if name in EXAMPLE_NAMES:
        shutil.copytree(REPO / "models" / name, target)
        frame = _example_held_out(name)
    else:
        from api.serving.bundle import save_bundle
        from tests.zoo import ZOO

        if name not in ZOO:
            raise SystemExit(f"unknown kind {name!r}: choose from {', '.join((*EXAMPLE_NAMES, *ZOO))}")
        fitted = ZOO[name]()
        save_bundle(fitted.estimator, fitted.train, fitted.target, name, features_test=fitted.test,
                    target_test=fitted.test_target, models_dir=models_root, quiet=True, verify=False)
        frame = fitted.test
    rows, moved = distinct_rows(frame, json.loads((target / "card.json").read_text()))
    return Kind(name, target, rows, moved)
