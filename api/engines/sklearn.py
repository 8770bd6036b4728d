"""The scikit-learn engine: the unpickled pipeline, fed the DataFrame it was fitted on."""

from __future__ import annotations

from typing import Any

import numpy as np

from api.card import FeatureSpec, ModelCard

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

        self._frame = pd.DataFrame
        self._estimator = estimator
        self._columns = [(f.name, _column_dtype(f)) for f in card.features]
        self._classifier = card.task == "classification"

    def _to_frame(self, rows: list[dict[str, Any]]) -> Any:
        columns = {}
        for name, dtype in self._columns:
            values = [row[name] for row in rows]
            if dtype is object:
                column = np.array(values, dtype=object)
                column[column == None] = np.nan  # noqa: E711 -- elementwise test for missing values
                columns[name] = column
            else:
                columns[name] = np.array(values, dtype=dtype)
        return self._frame(columns, copy=False)

    def run(self, rows: list[dict[str, Any]]) -> Any:
        frame = self._to_frame(rows)
        if self._classifier:
            return self._estimator.predict_proba(frame)
        return np.asarray(self._estimator.predict(frame), dtype=np.float64)
