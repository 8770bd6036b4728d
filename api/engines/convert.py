"""Convert a fitted pipeline to ONNX at save time, and keep it only if it agrees.

Called by :func:`api.bundle.save_bundle` (training time only: needs skl2onnx,
from requirements/train.in). The converted model is run on held-out rows
through the same engines the server uses and compared with scikit-learn:
the share of rows given the same label (classifiers) and the largest
difference in a probability or predicted value. Both, and the tolerance
they were held to, go in the card, so a reader and the tests can check it.
"""

from __future__ import annotations

import math
import warnings
from importlib import metadata
from typing import Any

import numpy as np

from api.card import ModelCard, OnnxCheck
from api.engines.onnx import OnnxEngine, input_dtype
from api.engines.sklearn import SklearnEngine

__all__ = ["MAX_CHECK_ROWS", "convert_to_onnx", "rows_from_frame"]

MAX_CHECK_ROWS = 5000
# float32 inputs can move a row to the other side of a split that lies within
# float32 rounding of it: allow one such row in a thousand, and no drift in probabilities beyond 1e-3.
MIN_LABEL_AGREEMENT = 0.999
MAX_PROBABILITY_DIFFERENCE = 1e-3
# Regressors: relative to the largest predicted magnitude (float32 carries ~7 digits).
MAX_RELATIVE_VALUE_DIFFERENCE = 1e-4


def rows_from_frame(frame: Any, names: list[str]) -> list[dict[str, Any]]:
    """Rows as the API receives them: plain Python values, None where missing."""
    rows = []
    for record in frame[names].to_dict("records"):
        rows.append({k: None if _missing(v) else _plain(v) for k, v in record.items()})
    return rows


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _to_onnx(estimator: Any, card: ModelCard) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    tensor_types = {object: StringTensorType, np.int64: Int64TensorType, np.float32: FloatTensorType}
    initial_types = [(f.name, tensor_types[input_dtype(f)]([None, 1])) for f in card.features]
    options = {id(estimator): {"zipmap": False}} if card.task == "classification" else None
    with warnings.catch_warnings():
        # skl2onnx 1.20 writes Python bools into integer attributes of tree ensembles;
        # protobuf 6 only warns (7 refuses, hence protobuf<7 in requirements/serve.in).
        warnings.filterwarnings("ignore", message=".*Expected an int, got a boolean", category=DeprecationWarning)
        model = convert_sklearn(estimator, initial_types=initial_types, options=options)
    return model.SerializeToString()


def convert_to_onnx(
    estimator: Any, card: ModelCard, check_rows: list[dict[str, Any]]
) -> tuple[bytes | None, str | None, OnnxCheck | None]:
    """``(model bytes, None, check)`` when the ONNX model agrees within tolerance, else
    ``(None, reason, check or None)``. Never raises: a pipeline that cannot be
    converted simply serves on scikit-learn."""
    try:
        payload = _to_onnx(estimator, card)
        onnx_engine = OnnxEngine(card, payload)
    except ImportError as exc:
        return None, f"skl2onnx/onnxruntime are not installed ({exc.name}); install requirements-dev.txt", None
    except Exception as exc:  # skl2onnx raises many types for unsupported steps
        return None, f"skl2onnx could not convert it ({type(exc).__name__}: {str(exc)[:200]})", None
    rows = check_rows[:MAX_CHECK_ROWS]
    reference = SklearnEngine(card, estimator).run(rows)
    try:
        converted = onnx_engine.run(rows)
    except Exception as exc:  # onnxruntime rejects inputs its graph cannot take, e.g. a missing category
        return None, f"the ONNX model fails on held-out rows ({type(exc).__name__}: {str(exc)[:200]})", None
    check = _compare(card, np.asarray(reference, dtype=np.float64), np.asarray(converted, dtype=np.float64))
    if not check.passed:
        return None, (
            f"the ONNX model disagrees with scikit-learn on held-out rows (label agreement "
            f"{check.label_agreement}, largest difference {check.max_difference:.3g}; tolerance "
            f"{check.min_label_agreement}, {check.max_difference_allowed:.3g})"
        ), check
    return payload, None, check


def _compare(card: ModelCard, reference: np.ndarray, converted: np.ndarray) -> OnnxCheck:
    versions = {p: metadata.version(p) for p in ("skl2onnx", "onnx", "onnxruntime")}
    if card.task == "classification":
        agreement = float(np.mean(reference.argmax(axis=1) == converted.argmax(axis=1)))
        return OnnxCheck(
            rows=len(reference),
            label_agreement=agreement,
            min_label_agreement=MIN_LABEL_AGREEMENT,
            max_difference=float(np.abs(reference - converted).max()),
            max_difference_allowed=MAX_PROBABILITY_DIFFERENCE,
            versions=versions,
        )
    scale = max(1.0, float(np.abs(reference).max()))
    return OnnxCheck(
        rows=len(reference),
        max_difference=float(np.abs(reference - converted).max()),
        max_difference_allowed=MAX_RELATIVE_VALUE_DIFFERENCE * scale,
        versions=versions,
    )
