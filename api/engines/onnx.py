"""The ONNX engine: a bundle's ``model.onnx`` on onnxruntime, fed NumPy arrays directly.

One input per feature (named as the feature, shape ``(rows, 1)``), typed as
:func:`input_dtype` says; :mod:`api.engines.convert` declares the same types
when it converts, so the two always agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.card import FeatureSpec, ModelCard

__all__ = ["OnnxEngine", "input_dtype"]


def input_dtype(spec: FeatureSpec) -> Any:
    """The array type of one feature's ONNX input.

    Numbers are float32 because onnxruntime's tree ensembles take float
    tensors (skl2onnx nudges the split thresholds to match float64 splits);
    nullable integers are floats so that None can be NaN; categories are strings.
    """
    if spec.type == "category":
        return object
    if spec.type == "integer" and not spec.nullable:
        return np.int64
    return np.float32


class OnnxEngine:
    """An onnxruntime session; one thread, since a free instance has a fraction of a CPU."""

    name = "onnx"

    def __init__(self, card: ModelCard, model: bytes) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # More threads than cores only adds context switches; one worker serves one core.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._inputs = [(f.name, input_dtype(f)) for f in card.features]
        self._classifier = card.task == "classification"
        outputs = [o.name for o in self._session.get_outputs()]
        # Classifiers: label then probabilities (zipmap off); regressors: the value.
        self._output = outputs[1] if self._classifier else outputs[0]

    def _to_arrays(self, rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        feed = {}
        for name, dtype in self._inputs:
            values = [row[name] for row in rows]
            if dtype is object:
                # A string tensor cannot hold NaN; "" is no category, so it encodes like an unknown one.
                column = np.array(["" if v is None else v for v in values], dtype=object)
            elif dtype is np.float32:
                column = np.array([np.nan if v is None else v for v in values], dtype=np.float32)
            else:
                column = np.array(values, dtype=dtype)
            feed[name] = column.reshape(-1, 1)
        return feed

    def run(self, rows: list[dict[str, Any]]) -> Any:
        result = self._session.run([self._output], self._to_arrays(rows))[0]
        return result if self._classifier else result.reshape(-1)
