"""How closely the ONNX engine's answers match scikit-learn's: the check a card records.

Held-out rows and probe rows are judged separately, so that a handful of probe
rows (a null, an unknown category) cannot hide behind thousands of typical ones:
the label agreement recorded is the lower of the two.
"""

from __future__ import annotations

import math
from importlib import metadata
from typing import Any

import numpy as np

from api.serving.card import ModelCard, OnnxCheck

__all__ = ["MAX_PROBABILITY_DIFFERENCE", "MAX_RELATIVE_VALUE_DIFFERENCE", "MIN_LABEL_AGREEMENT", "compare"]

# float32 inputs can move a row to the other side of a split that lies within
# float32 rounding of it: allow one such row in a thousand, and no drift in probabilities beyond 1e-3.
MIN_LABEL_AGREEMENT = 0.999
MAX_PROBABILITY_DIFFERENCE = 1e-3
# Regressors: relative to the largest predicted magnitude (float32 carries ~7 digits).
MAX_RELATIVE_VALUE_DIFFERENCE = 1e-4

Answers = tuple[Any, Any]  # (scikit-learn's, the ONNX engine's); (None, None) for no rows


def compare(card: ModelCard, held_out: Answers, probes: Answers) -> OnnxCheck:
    """The check over held-out and probe rows: labels per set, differences over both."""
    pairs = [(np.asarray(r), np.asarray(c)) for r, c in (held_out, probes) if r is not None]
    versions = {p: metadata.version(p) for p in ("skl2onnx", "onnx", "onnxruntime")}
    counts = {"rows": _count(held_out), "probe_rows": _count(probes), "versions": versions}
    if not pairs:
        raise ValueError("no rows that scikit-learn answers to compare the ONNX model on")
    if card.task == "regression":
        scale = max(1.0, *(float(np.abs(r).max()) for r, _ in pairs))
        return OnnxCheck(
            max_difference=max(_largest_difference(r, c) for r, c in pairs),
            max_difference_allowed=MAX_RELATIVE_VALUE_DIFFERENCE * scale,
            **counts,
        )
    if not card.probabilities:
        # Label-only classifiers: class indices, so labels are all there is to compare.
        return OnnxCheck(
            label_agreement=min(float(np.mean(r == c)) for r, c in pairs),
            min_label_agreement=MIN_LABEL_AGREEMENT,
            max_difference=0.0,
            max_difference_allowed=0.0,
            **counts,
        )
    return OnnxCheck(
        label_agreement=min(_label_agreement(r, c) for r, c in pairs),
        min_label_agreement=MIN_LABEL_AGREEMENT,
        max_difference=max(_largest_difference(r, c) for r, c in pairs),
        max_difference_allowed=MAX_PROBABILITY_DIFFERENCE,
        **counts,
    )


def _label_agreement(reference: np.ndarray, converted: np.ndarray) -> float:
    """Share of rows given the same class, a tie counting as agreement.

    A forest whose trees split 50/50 gives two classes the same probability; float32 then
    decides the argmax either way. Where scikit-learn's own probability of the class ONNX
    chose is within the probability tolerance of its best, both answers are right.
    """
    if reference.shape != converted.shape:
        return 0.0
    chosen = reference[np.arange(len(reference)), converted.argmax(axis=1)]
    return float(np.mean(reference.max(axis=1) - chosen <= MAX_PROBABILITY_DIFFERENCE))


def _count(answers: Answers) -> int:
    return 0 if answers[0] is None else len(answers[0])


def _largest_difference(reference: np.ndarray, converted: np.ndarray) -> float:
    if reference.shape != converted.shape:
        return math.inf
    difference = np.abs(reference - converted)  # never empty: a set without rows is not compared
    # NaN where scikit-learn answered and ONNX did not (or the reverse) is the largest difference of all.
    return math.inf if np.isnan(difference).any() else float(difference.max())
