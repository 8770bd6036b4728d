"""The hot path: validated rows in, predictions out. No I/O, no imports here."""

from __future__ import annotations

from typing import Any

from api.card import ModelCard
from api.engines import Engine

__all__ = ["Predictor"]


class Predictor:
    """A loaded engine with its card: rows (dicts) → typed outcomes."""

    def __init__(self, card: ModelCard, engine: Engine) -> None:
        self.engine = engine
        self._classes = card.classes
        self.is_classifier = card.task == "classification"

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def predict(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One outcome per row: ``prediction`` and, for classifiers, ``probabilities``."""
        result = self.engine.run(rows)
        if not self.is_classifier:
            return [{"prediction": value} for value in result.tolist()]
        classes = self._classes
        if result.shape[1] != len(classes):  # checked once here rather than by a strict zip per row
            raise ValueError(f"the model gives {result.shape[1]} probabilities per row; its card lists {classes}")
        best = result.argmax(axis=1).tolist()
        return [
            {"prediction": classes[b], "probabilities": dict(zip(classes, p))}  # noqa: B905 -- checked above
            for b, p in zip(best, result.tolist(), strict=True)
        ]
