"""What if: vary one feature across its training range, hold the rest, plot the prediction.

The sweep goes to the batch endpoint in one request (split to the API's own
batch limit), so it costs one round trip, not one per point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from demo_app.cards import Card, Feature
from demo_app.client import ApiClient

__all__ = ["Sweep", "default_sweep_feature", "run_sweep", "sweep_frame", "sweep_values"]

NUMBER_POINTS = 40
MAX_INTEGER_STEPS = 60
# More bars than this are unreadable (on a phone their slanted names overlap): show the ends of
# the ranking, where the story is.
MAX_BARS = 20


def default_sweep_feature(card: Card) -> str:
    """The input a what-if starts on: the first number (a line tells the most), else the first input."""
    numeric = [f.name for f in card.features if f.is_numeric]
    return numeric[0] if numeric else card.features[0].name


def sweep_values(feature: Feature, points: int = NUMBER_POINTS) -> list[Any]:
    """The values to try: evenly spaced over the training range, every whole number, or every category."""
    if feature.type == "category":
        return list(feature.categories)
    if feature.type == "boolean":
        return [False, True]
    low, high = feature.minimum, feature.maximum
    if low is None or high is None:
        raise ValueError(f"{feature.name} has no training range in the card, so it cannot be swept")
    if feature.type == "integer":
        low_i, high_i = int(low), int(high)
        if high_i - low_i <= MAX_INTEGER_STEPS:
            return list(range(low_i, high_i + 1))
        return sorted({round(low_i + (high_i - low_i) * i / (points - 1)) for i in range(points)})
    if low == high:
        return [low]
    return [low + (high - low) * i / (points - 1) for i in range(points)]


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: the long-format frame to plot and how it was made."""

    feature: Feature
    frame: pd.DataFrame
    y: str
    color: str | None
    numeric: bool
    seconds: float
    order: list[str] | None = None
    values_tried: int = 0

    @property
    def trimmed(self) -> bool:
        """True when only the ends of a long ranking of categories are drawn."""
        return self.order is not None and len(self.order) < self.values_tried


def _shown(feature: Feature, value: Any) -> Any:
    """A value as the chart's axis shows it: a category by the name the form gives it, ``true`` for True."""
    if feature.type == "category":
        return feature.category_title(value)
    return str(value).lower() if isinstance(value, bool) else value


def sweep_frame(card: Card, feature: Feature, values: list[Any], predictions: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (value, class) for a classifier, or per value for a regressor; categories by their names."""
    x = [_shown(feature, v) for v in values]
    if card.is_classifier:
        records = [
            {feature.name: value, "class": label, "probability": float(p)}
            for value, outcome in zip(x, predictions, strict=True)
            for label, p in outcome["probabilities"].items()
        ]
        return pd.DataFrame.from_records(records, columns=[feature.name, "class", "probability"])
    return pd.DataFrame({feature.name: x, card.target: [float(o["prediction"]) for o in predictions]})


def run_sweep(client: ApiClient, card: Card, row: dict[str, Any], feature_name: str) -> Sweep:
    """Predict ``row`` with ``feature_name`` set to each sweep value; the others stay as they are."""
    feature = card.feature(feature_name)
    values = sweep_values(feature)
    rows = [{**row, feature.name: value} for value in values]
    limit = client.batch_limit(card.name)
    predictions: list[dict[str, Any]] = []
    seconds = 0.0
    for start in range(0, len(rows), limit):
        reply = client.predict_batch(card.name, rows[start : start + limit])
        predictions.extend(reply.data["predictions"])
        seconds += reply.seconds
    frame = sweep_frame(card, feature, values, predictions)
    numeric = feature.is_numeric
    order = None
    if not numeric:
        # Categories in order of the outcome, so the chart reads as a ranking.
        if card.is_classifier:
            first = card.classes[0] if card.classes else frame["class"].iloc[0]
            ranked = frame[frame["class"] == first].sort_values("probability", ascending=False)
        else:
            ranked = frame.sort_values(card.target, ascending=False)
        order = [str(v) for v in ranked[feature.name]]
        if len(order) > MAX_BARS:
            order = order[: MAX_BARS // 2] + order[-(MAX_BARS // 2) :]
            frame = frame[frame[feature.name].astype(str).isin(order)].reset_index(drop=True)
    y = "probability" if card.is_classifier else card.target
    return Sweep(feature, frame, y, "class" if card.is_classifier else None, numeric, seconds, order, len(values))
