"""Rows built from a card to break an ONNX conversion, and the rows scikit-learn itself answers.

Held-out rows are usually complete and typical, so they miss exactly where a
converted graph goes wrong: a missing value, a category never seen, a number
past the training range. :func:`probe_rows` makes those rows from the card;
:func:`answerable` drops any that scikit-learn refuses, since there is no
reference answer to agree with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.serving.card import FeatureSpec, ModelCard

__all__ = ["UNKNOWN_CATEGORY", "answerable", "probe_rows"]

UNKNOWN_CATEGORY = "__freeport_unseen__"


def probe_rows(card: ModelCard) -> list[dict[str, Any]]:
    """Each nullable column null (alone and all together), each known category and an
    unknown one, both ends of each numeric range and a bit past them, booleans both
    ways: each a change to one typical row, plus the card's real examples."""
    base = {spec.name: _typical(spec) for spec in card.features}
    rows = [dict(base)]
    nullable = [spec.name for spec in card.features if spec.nullable]
    for name in nullable:
        rows.append({**base, name: None})
    if len(nullable) > 1:
        rows.append({**base, **dict.fromkeys(nullable)})
    for spec in card.features:
        rows.extend({**base, spec.name: value} for value in _edge_values(spec))
    rows.extend(dict(example) for example in card.examples)
    return rows


def _typical(spec: FeatureSpec) -> Any:
    if spec.default is not None:
        return spec.default
    if spec.categories:
        return spec.categories[0]
    if spec.type == "boolean":
        return False
    return spec.minimum if spec.type == "number" else int(spec.minimum or 0)


def _edge_values(spec: FeatureSpec) -> list[Any]:
    if spec.type == "boolean":
        return [False, True]
    if spec.type == "category":
        known = list(spec.categories or [])
        if known and all(isinstance(c, int) for c in known):
            return [*known, max(known) + 1]
        return [*known, UNKNOWN_CATEGORY]
    low, high = spec.minimum, spec.maximum
    if low is None or high is None:
        return []
    margin = max((high - low) * 0.1, 1.0)
    values = [low, high, low - margin, high + margin]
    return [round(v) for v in values] if spec.type == "integer" else [float(v) for v in values]


def answerable(answer: Callable[[list[dict[str, Any]]], Any], rows: list[dict[str, Any]]) -> tuple[list, Any]:
    """``(rows, answers)`` for the rows ``answer`` does not raise on, found by bisection.

    A batch that raises is split in halves until the refusing rows are alone;
    a batch of good rows costs one call.
    """
    import numpy as np

    if not rows:
        return [], None
    try:
        return rows, np.asarray(answer(rows))
    except Exception:  # the pipeline may raise anything for a row it cannot take
        if len(rows) == 1:
            return [], None
    middle = len(rows) // 2
    parts = [answerable(answer, rows[:middle]), answerable(answer, rows[middle:])]
    kept = [part for part in parts if part[0]]
    if not kept:
        return [], None
    return [row for part in kept for row in part[0]], np.concatenate([part[1] for part in kept])
