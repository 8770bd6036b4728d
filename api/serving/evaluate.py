"""Score a loaded version on an evaluation set: what a promotion compares.

The metric follows the card's task, higher is better for both: accuracy for a
classifier, R² for a regression, the same ones save_bundle records on held-out rows
(api/serving/profile.py). Computed with NumPy: scoring an ONNX model must not
import scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.serving.card import ModelCard
from api.serving.predictor import Predictor

__all__ = ["metric_for", "score"]


def metric_for(card: ModelCard) -> str:
    return "accuracy" if card.task == "classification" else "r2"


def score(predictor: Predictor, card: ModelCard, rows: list[dict[str, Any]], target: list[Any]) -> float:
    """The card's metric of ``predictor`` on ``rows`` against ``target`` (raises what the predictor raises)."""
    outcomes = predictor.predict([dict(row) for row in rows])
    predicted = [outcome["prediction"] for outcome in outcomes]
    if card.task == "classification":
        return float(np.mean([str(p) == str(t) for p, t in zip(predicted, target, strict=True)]))
    truth = np.asarray(target, dtype=float)
    residual = float(np.sum((truth - np.asarray(predicted, dtype=float)) ** 2))
    spread = float(np.sum((truth - truth.mean()) ** 2))
    return 1.0 - residual / spread if spread > 0 else (1.0 if residual == 0 else 0.0)
