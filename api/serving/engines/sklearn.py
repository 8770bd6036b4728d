"""The scikit-learn engine: the unpickled pipeline, fed a frame like the one it was fitted on.

Like the training frame means: every column the estimator was fitted with, in
its order (columns it never reads are filled with missing values, since the API
does not ask for them), and pandas ``category`` columns rebuilt as categories,
which estimators such as HistGradientBoosting recognise by their dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.serving.card import FeatureSpec, ModelCard

__all__ = ["SklearnEngine"]


def _column_dtype(spec: FeatureSpec) -> Any:
    # Nullable integers and booleans travel as float/object so None can become NaN,
    # which is what the training frame held where values were missing.
    if spec.type == "number" or (spec.type == "integer" and spec.nullable):
        return np.float64
    if spec.type == "integer":
        return np.int64
    if spec.type == "boolean" and not spec.nullable:
        return np.bool_
    return object


class SklearnEngine:
    """A fitted scikit-learn estimator; column transformers select by name, so it gets a frame."""

    name = "sklearn"

    def __init__(self, card: ModelCard, estimator: Any) -> None:
        import pandas as pd  # already imported by unpickling any DataFrame-fitted estimator

        self._pd = pd
        self._estimator = estimator
        specs = {f.name: f for f in card.features}
        # Every estimator has its column names: save_bundle and load_estimator refuse one without.
        fitted = [str(n) for n in estimator.feature_names_in_]
        # (name, spec or None for a column the estimator never reads), in the fitted order.
        self._columns = [(name, specs.get(name)) for name in fitted]
        self._probabilities = card.task == "classification" and card.probabilities
        self._class_index = (
            {label: i for i, label in enumerate(estimator.classes_.tolist())}
            if card.task == "classification" and not card.probabilities
            else None
        )

    def _column(self, spec: FeatureSpec | None, values: list[Any], rows: int) -> Any:
        if spec is None:
            return np.full(rows, np.nan, dtype=object)
        if spec.dtype == "category":
            return self._pd.Categorical(values, categories=spec.categories)
        dtype = _column_dtype(spec)
        if dtype is object:
            column = np.array(values, dtype=object)
            column[column == None] = np.nan  # noqa: E711 -- elementwise test for missing values
            return column
        return np.array(values, dtype=dtype)

    def _to_frame(self, rows: list[dict[str, Any]]) -> Any:
        columns = {
            name: self._column(spec, [row[name] for row in rows] if spec else [], len(rows))
            for name, spec in self._columns
        }
        return self._pd.DataFrame(columns, copy=False)

    def run(self, rows: list[dict[str, Any]]) -> Any:
        frame = self._to_frame(rows)
        # A value a transform cannot take (log of a negative) makes NaN: the answer says so per row
        # (api/serving/predictor.py), so NumPy's warning would only repeat it, once, on the server's stderr.
        with np.errstate(all="ignore"):
            if self._probabilities:
                return self._estimator.predict_proba(frame)
            predicted = self._estimator.predict(frame)
        if self._class_index is not None:  # class indices, in classes_ order, as the card lists them
            return np.fromiter(map(self._class_index.__getitem__, predicted.tolist()), np.int64, len(predicted))
        return np.asarray(predicted, dtype=np.float64)
