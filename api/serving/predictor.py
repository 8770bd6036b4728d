"""The hot path: validated rows in, predictions out. No I/O, no imports here.

A model can fail on a row the schema accepted (a log of a negative number
makes NaN, and the next step raises "Input X contains NaN"), or answer it with
NaN. That is the row's fault, not the service's: the rows at fault are found
by splitting the call in halves, and :class:`PredictionFailedError` (a 422)
names them, so one bad row never costs its neighbours their answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.errors import PredictionFailedError
from api.serving.card import ModelCard
from api.serving.engines import Engine

__all__ = ["MAX_NAMED_FAILURES", "Predictor"]

# Splitting a failed call costs about two model calls per bad row; these bound what one
# request can make the server spend on a batch that fails anyway.
MAX_NAMED_FAILURES = 20
MAX_ISOLATION_CALLS = 64
_NOT_FINITE = (
    "the model's answer is not a number (NaN or infinity), most likely from a value one of its "
    "transforms cannot take (e.g. the log of a negative number)"
)


def _reason(exc: Exception) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"the model raised {type(exc).__name__}: {first_line[:200]}"


class Predictor:
    """A loaded engine with its card: rows (dicts) → typed outcomes."""

    def __init__(self, card: ModelCard, engine: Engine) -> None:
        self.engine = engine
        # What answered, named in the response and the log: taken from the predictor a request got,
        # so a request in flight when another version is swapped in still names its own.
        self.version = card.version
        self._classes = card.classes
        self.is_classifier = card.task == "classification"

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def predict(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One outcome per row: ``prediction`` and, for classifiers with probabilities, ``probabilities``.

        Raises PredictionFailedError naming the rows (``rows.<index>``) the model could not answer.
        """
        try:
            result = self.engine.run(rows)
        except Exception as exc:  # the model's own code raised: find the rows at fault
            outcomes, failures = self._locate(rows) if len(rows) > 1 else ([], {0: _reason(exc)})
            if not failures:  # it failed on the whole call but on no part of it: a passing fault
                return outcomes
        else:
            finite = self._finite(result)
            if finite.all():
                return self._outcomes(result)
            failures = {i: _NOT_FINITE for i in np.flatnonzero(~finite).tolist()}
        raise PredictionFailedError.for_rows(failures)

    @staticmethod
    def _finite(result: Any) -> Any:
        """Per row: True when every number the model gave for it is finite."""
        return np.isfinite(result) if result.ndim == 1 else np.isfinite(result).all(axis=1)

    def _outcomes(self, result: Any) -> list[dict[str, Any]]:
        """An outcome per row of the engine's result."""
        if not self.is_classifier:
            return [{"prediction": value} for value in result.tolist()]
        classes = self._classes
        if result.ndim == 1:  # a classifier without probabilities gives class indices
            return [{"prediction": classes[i]} for i in result.tolist()]
        if result.shape[1] != len(classes):  # checked once here rather than by a strict zip per row
            raise ValueError(f"the model gives {result.shape[1]} probabilities per row; its card lists {classes}")
        best = result.argmax(axis=1).tolist()
        return [
            {"prediction": classes[b], "probabilities": dict(zip(classes, p))}  # noqa: B905 -- checked above
            for b, p in zip(best, result.tolist(), strict=True)
        ]

    def _locate(self, rows: list[dict[str, Any]]) -> tuple[list[Any], dict[int, str]]:
        """Outcomes of the rows the model can answer, and the reason for each row it cannot.

        Runs halves of a failing call until each failure is pinned to one row, within
        MAX_ISOLATION_CALLS calls and MAX_NAMED_FAILURES failures: a batch with more fails
        anyway, and the micro-batcher runs the rows left unchecked again, without those named.
        """
        outcomes: list[Any] = [None] * len(rows)
        failures: dict[int, str] = {}
        middle = len(rows) // 2  # the whole call failed already: start with its halves
        segments = [(middle, len(rows)), (0, middle)]
        calls = 0
        while segments and calls < MAX_ISOLATION_CALLS and len(failures) < MAX_NAMED_FAILURES:
            start, end = segments.pop()
            calls += 1
            try:
                result = self.engine.run(rows[start:end])
            except Exception as exc:  # the model's own error, reported for its row
                if end - start == 1:
                    failures[start] = _reason(exc)
                else:
                    middle = (start + end) // 2
                    segments += [(middle, end), (start, middle)]
                continue
            answered = self._outcomes(result)
            for offset, finite in enumerate(self._finite(result).tolist()):
                if finite:
                    outcomes[start + offset] = answered[offset]
                else:
                    failures[start + offset] = _NOT_FINITE
        if segments and not failures:  # a model that failed as a whole but on no part: blame the first row left
            failures[segments[-1][0]] = "the model failed on this row's call; retry"
        return outcomes, failures
