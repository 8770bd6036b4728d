"""The ONNX engine: a bundle's ``model.onnx`` on onnxruntime, fed NumPy arrays directly.

The feed is read from the session, not from names: skl2onnx renames inputs it
cannot use as ONNX names (``"a b"`` becomes ``a_b``), so inputs are matched to
the card's features by position. Two layouts occur, and both are recognised:

- one input per feature, shape ``(rows, 1)`` (pipelines led by a ColumnTransformer);
- a single matrix input of width ``len(card.features)`` (bare estimators and
  pipelines of numeric steps).

Each input's element type (float, double, int64 or string) is the session's
own, so whatever types :mod:`api.serving.engines.convert` declared, the feed matches.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

import numpy as np

from api.serving.card import ModelCard

__all__ = ["OnnxEngine"]

# onnxruntime's names for the element types skl2onnx declares for inputs.
_ELEMENT_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(string)": object,
}


class OnnxEngine:
    """An onnxruntime session; one thread, since a free instance has a fraction of a CPU.

    ``missing_category`` is the string fed for a missing category; by default the
    one recorded in ``card.onnx`` (the converter passes candidates explicitly).
    """

    name = "onnx"

    def __init__(self, card: ModelCard, model: bytes, *, missing_category: str | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # More threads than cores only adds context switches; one worker serves one core.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        # Only the converter runs a graph before its card records one (and says which string it tries).
        self._missing_category = card.onnx.missing_category if missing_category is None else missing_category
        self._feed = _feed_layout(self._session.get_inputs(), card.feature_names)
        classifier = card.task == "classification"
        self._probabilities = classifier and card.probabilities
        outputs = self._session.get_outputs()
        # Classifiers: label then probabilities (zipmap off); regressors: the value.
        self._output = outputs[1].name if self._probabilities else outputs[0].name
        # Label-only classifiers (LinearSVC, …): the label, as its index in the card's classes.
        self._label_index = (
            _LabelIndex(card.classes or [], outputs[0].type) if classifier and not card.probabilities else None
        )

    def _to_arrays(self, rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        feed = {}
        for input_name, names, dtype in self._feed:
            if len(names) > 1:
                # NumPy turns None into NaN itself for float arrays: one C-level pass per batch.
                get = itemgetter(*names)
                feed[input_name] = np.array([get(row) for row in rows], dtype=dtype)
            elif dtype is object:
                # A string tensor cannot hold NaN: send the string the graph's encoder learned for it.
                name, missing = names[0], self._missing_category
                values = [missing if (v := row[name]) is None else v for row in rows]
                feed[input_name] = np.array(values, dtype=object)[:, np.newaxis]
            else:
                feed[input_name] = np.array([row[names[0]] for row in rows], dtype=dtype)[:, np.newaxis]
        return feed

    def run(self, rows: list[dict[str, Any]]) -> Any:
        result = self._session.run([self._output], self._to_arrays(rows))[0]
        if self._probabilities:
            return result
        if self._label_index is not None:
            return self._label_index(result.ravel())
        return result.ravel()


def _feed_layout(inputs: list[Any], features: list[str]) -> list[tuple[str, list[str], Any]]:
    """``(input name, the features it carries, NumPy dtype)`` for each session input."""
    for item in inputs:
        if item.type not in _ELEMENT_TYPES:
            raise ValueError(f"the ONNX input {item.name!r} is a {item.type}, which the engine cannot feed")
    if len(inputs) == len(features):
        return [(item.name, [name], _ELEMENT_TYPES[item.type]) for item, name in zip(inputs, features, strict=True)]
    if len(inputs) == 1 and len(inputs[0].shape) == 2 and inputs[0].shape[1] in (len(features), None):
        return [(inputs[0].name, list(features), _ELEMENT_TYPES[inputs[0].type])]
    shapes = ", ".join(f"{i.name} {i.shape}" for i in inputs)
    raise ValueError(f"the ONNX inputs ({shapes}) match neither one per feature nor one of width {len(features)}")


class _LabelIndex:
    """Maps the graph's label output (int64 or string) to indices into the card's classes."""

    def __init__(self, classes: list[str], output_type: str) -> None:
        # The card lists classes as text ("0", "1"); a graph with an int64 label output answers with numbers.
        labels = np.array(classes, dtype=np.int64 if output_type != "tensor(string)" else object)
        self._order = np.argsort(labels)  # classes are distinct: every sort gives this one order
        self._sorted = labels[self._order]

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        # A label past the last class would index past the end: it is compared with the last, and refused.
        positions = np.minimum(np.searchsorted(self._sorted, labels), len(self._sorted) - 1)
        if not np.array_equal(self._sorted[positions], labels):
            raise ValueError("the ONNX model gave a label its card does not list")
        return self._order[positions]
