"""Convert a fitted pipeline to ONNX at save time, and keep it only if it agrees.

Called by :func:`api.serving.bundle.save_bundle` (training time only: needs skl2onnx,
from requirements/train.in). Conversion is tried in a few ways, in order, and
the first whose graph agrees with scikit-learn is kept (:data:`STRATEGIES`).
Agreement is checked through the engines the server uses, on held-out rows and
on probe rows built from the card to break it (:mod:`api.serving.engines.probes`):
nulls, unknown categories, the ends of each range. For a nullable category the
string that stands for "missing" is chosen the same way, from the candidates in
:data:`MISSING_CATEGORY_CANDIDATES`. The check, and the tolerance it met, go in
the card.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from api.serving.card import FeatureSpec, ModelCard, OnnxCheck
from api.serving.engines.double_trees import with_float64_thresholds
from api.serving.engines.onnx import OnnxEngine
from api.serving.engines.parity import compare
from api.serving.engines.probes import answerable, probe_rows
from api.serving.engines.sklearn import SklearnEngine

__all__ = ["MAX_CHECK_ROWS", "MISSING_CATEGORY_CANDIDATES", "STRATEGIES", "Conversion", "convert_to_onnx",
           "rows_from_frame"]

MAX_CHECK_ROWS = 5000
# What a text column's missing value became when the pipeline was fitted: an encoder
# fitted on NaN learns the category "nan" (skl2onnx writes it as that string); one
# behind an imputer never sees it, and "" then encodes like an unknown category.
MISSING_CATEGORY_CANDIDATES = ("", "nan")


@dataclass(frozen=True)
class Strategy:
    """One way to declare the graph's inputs."""

    name: str
    double: bool  # numeric inputs as float64 rather than float32
    cast_before_final: bool = False  # float64 preprocessing, float32 into the final estimator
    # HistGradientBoosting's trees compare in float64 (api/serving/engines/double_trees.py).
    float64_thresholds: bool = False


STRATEGIES = (
    # onnxruntime's tree ensembles take float tensors; skl2onnx nudges their thresholds for float32 inputs.
    Strategy("float32", double=False),
    # Preprocessing in float32 rounds a scaled value across a tree's threshold: compute it in
    # float64 and round once, right before the final estimator, as scikit-learn's float64 would land.
    Strategy("float64 preprocessing, float32 final estimator", double=True, cast_before_final=True),
    # HistGradientBoosting splits on data values a float32 input cannot tell apart: compare in float64.
    Strategy("float64 with float64 tree thresholds", double=True, float64_thresholds=True),
    # Linear models and kernels whose float32 arithmetic drifts past the tolerance.
    Strategy("float64", double=True),
)


class Conversion(NamedTuple):
    """What :func:`convert_to_onnx` found: the model (or why not), its check, its missing category."""

    model: bytes | None
    reason: str | None
    check: OnnxCheck | None
    missing_category: str = ""


class UnconvertibleError(Exception):
    """A pipeline skl2onnx cannot convert, with one readable line saying why."""


def rows_from_frame(frame: Any, names: list[str]) -> list[dict[str, Any]]:
    """Rows as the API receives them: plain Python values, None where missing."""
    # to_dict gives Python scalars, not NumPy ones; only the missing values need saying.
    return [{k: None if _missing(v) else v for k, v in record.items()} for record in frame[names].to_dict("records")]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def convert_to_onnx(estimator: Any, card: ModelCard, check_rows: list[dict[str, Any]]) -> Conversion:
    """The first conversion in :data:`STRATEGIES` that agrees with scikit-learn within
    tolerance, as ``Conversion(model, None, check, missing_category)``; otherwise
    ``Conversion(None, reason, check or None)`` with a one-line reason. Never raises:
    a pipeline that cannot be converted simply serves on scikit-learn."""
    try:
        return _convert(estimator, card, check_rows)
    except ImportError as exc:
        return Conversion(None, f"{exc.name} is not installed (requirements/train.in); served on scikit-learn", None)
    except UnconvertibleError as exc:
        return Conversion(None, f"{exc}; served on scikit-learn", None)
    except Exception as exc:  # a bug here must not stop a bundle from being saved
        return Conversion(None, f"the ONNX conversion failed ({_one_line(exc)}); served on scikit-learn", None)


def _convert(estimator: Any, card: ModelCard, check_rows: list[dict[str, Any]]) -> Conversion:
    # scikit-learn's answers through the server's own engine, shaped as the ONNX engine's are
    # (class indices for a label-only classifier, probabilities for the rest, values for a regressor).
    reference = SklearnEngine(card, estimator).run
    held_out, held_out_answers = answerable(reference, check_rows[:MAX_CHECK_ROWS])
    probes, probe_answers = answerable(reference, probe_rows(card))
    if not held_out and not probes:
        raise UnconvertibleError("scikit-learn answers none of the rows to check an ONNX model on")
    failures: list[tuple[OnnxCheck | None, str]] = []
    first_error: UnconvertibleError | None = None
    text_imputers = bool(_text_imputers(estimator))
    for strategy in _applicable(estimator):
        payload = None
        for missing in _missing_candidates(card, text_imputers):
            try:
                # A text imputer is converted to look for the very string the engine sends for None.
                if payload is None or text_imputers:
                    payload = _to_onnx(estimator, card, strategy, missing if text_imputers else None)
            except UnconvertibleError as exc:
                first_error = first_error or exc
                break
            try:
                engine = OnnxEngine(card, payload, missing_category=missing)
                converted = engine.run(held_out) if held_out else None
                converted_probes = engine.run(probes) if probes else None
            except Exception as exc:  # onnxruntime refuses a graph or an input it cannot take
                failures.append((None, f"onnxruntime cannot run it ({_one_line(exc)})"))
                continue
            check = compare(card, (held_out_answers, converted), (probe_answers, converted_probes))
            if check.passed:
                return Conversion(payload, None, check.model_copy(update={"conversion": strategy.name}), missing)
            failures.append((check, _disagreement(check)))
    if not failures:
        raise first_error or UnconvertibleError("skl2onnx could not convert it")
    check, reason = min(failures, key=lambda f: _distance(f[0]))
    return Conversion(None, f"{reason}; served on scikit-learn", check)


def _applicable(estimator: Any) -> list[Strategy]:
    # Casting before the final estimator needs a pipeline with a step before it.
    is_pipeline = len(getattr(estimator, "steps", ())) > 1
    hist_trees = hasattr(_final_step(estimator), "_predictors")
    return [
        s for s in STRATEGIES
        if (is_pipeline or not s.cast_before_final) and (hist_trees or not s.float64_thresholds)
    ]


def _missing_candidates(card: ModelCard, text_imputers: bool) -> tuple[str, ...]:
    if text_imputers or any(f.type == "category" and f.nullable for f in card.features):
        return MISSING_CATEGORY_CANDIDATES
    return MISSING_CATEGORY_CANDIDATES[:1]


def _to_onnx(estimator: Any, card: ModelCard, strategy: Strategy, imputed_text: str | None = None) -> bytes:
    """The graph for one strategy; ``imputed_text`` is the string text imputers are to replace."""
    from skl2onnx import convert_sklearn

    model = estimator if imputed_text is None else _with_text_imputers_reading(estimator, imputed_text)
    model = _with_cast_before_final(model) if strategy.cast_before_final else model
    if card.task != "classification":
        options = None
    elif card.probabilities:
        options = {id(model): {"zipmap": False}}
    else:
        # Label-only classifiers (LinearSVC, …) refuse the zipmap option a pipeline gives them by default.
        options = {id(_final_step(model)): {}}
    with warnings.catch_warnings():
        # skl2onnx 1.20 writes Python bools into integer attributes of tree ensembles;
        # protobuf 6 only warns (7 refuses, hence protobuf<7 in requirements/serve.in).
        warnings.filterwarnings("ignore", message=".*Expected an int, got a boolean", category=DeprecationWarning)
        # skl2onnx reads attributes scikit-learn has since deprecated (SVC's probA_): the user did nothing wrong.
        warnings.simplefilter("ignore", FutureWarning)
        initial_types = _initial_types(estimator, card.features, strategy.double)
        try:
            converted = convert_sklearn(model, initial_types=initial_types, options=options)
        except Exception as exc:  # skl2onnx raises many types for unsupported steps
            if not _mixes_input_types(exc):
                raise UnconvertibleError(_why_not(exc)) from exc
            # One step reads integer and decimal columns together (an imputer over age and income):
            # declare the integers as numbers too, as scikit-learn itself reads them.
            # Kept only if onnxruntime takes the graph: a step over text and booleans together
            # converts this way but into a graph no runtime accepts, and the first reason is the true one.
            initial_types = _initial_types(estimator, card.features, strategy.double, integers_as_numbers=True)
            try:
                converted = convert_sklearn(model, initial_types=initial_types, options=options)
                _check_runnable(converted)
            except Exception:  # skl2onnx and onnxruntime raise many types
                raise UnconvertibleError(_why_not(exc)) from exc
    if strategy.float64_thresholds:
        try:
            converted = with_float64_thresholds(converted, _final_step(estimator))
        except ValueError as exc:
            raise UnconvertibleError(f"the trees could not take float64 thresholds ({exc})") from exc
    return converted.SerializeToString()


def _text_imputers(estimator: Any) -> list[Any]:
    """SimpleImputers fitted on text that look for NaN, which a string tensor cannot hold."""
    from sklearn.impute import SimpleImputer

    found = []
    for part in _parts(estimator):
        if isinstance(part, SimpleImputer) and np.asarray(part.statistics_).dtype == object:
            missing = part.missing_values
            if missing is None or (isinstance(missing, float) and math.isnan(missing)):
                found.append(part)
    return found


def _parts(estimator: Any) -> list[Any]:
    """The estimator and every fitted step inside it (pipelines and column transformers)."""
    parts = [estimator]
    for _, step in getattr(estimator, "steps", []):
        parts += _parts(step)
    for _, transformer, _ in getattr(estimator, "transformers_", []):
        if not isinstance(transformer, str):
            parts += _parts(transformer)
    return parts


def _with_text_imputers_reading(estimator: Any, missing: str) -> Any:
    import copy

    # A copy to convert, never to run: the user's pipeline keeps looking for NaN.
    twin = copy.deepcopy(estimator)
    for imputer in _text_imputers(twin):
        imputer.missing_values = missing
    return twin


def _with_cast_before_final(pipeline: Any) -> Any:
    from skl2onnx.sklapi import CastTransformer
    from sklearn.pipeline import Pipeline

    # Only converted, never fitted or run: the fitted steps are shared with the original.
    *preprocessing, final = pipeline.steps
    return Pipeline([*preprocessing, ("freeport_cast_to_float32", CastTransformer(dtype=np.float32)), final])


def _check_runnable(graph: Any) -> None:
    import onnxruntime as ort

    ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])


def _mixes_input_types(exc: Exception) -> bool:
    return "Inputs and outputs should have the same type" in str(exc)


def _initial_types(
    estimator: Any, features: list[FeatureSpec], double: bool, *, integers_as_numbers: bool = False
) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType

    numbers = DoubleTensorType if double else FloatTensorType
    if _selects_columns_by_name(estimator):
        # A ColumnTransformer picks its columns by name: one input per feature it reads.
        types = []
        for spec in features:
            if spec.type == "category" and _integer_coded(spec):
                if spec.nullable:
                    raise UnconvertibleError(
                        f"the integer-coded category {spec.name!r} has missing values, which an int64 ONNX "
                        "input cannot hold"
                    )
                types.append((spec.name, Int64TensorType([None, 1])))
            elif spec.type == "category":
                types.append((spec.name, StringTensorType([None, 1])))
            elif spec.type == "integer" and not spec.nullable and not integers_as_numbers:
                types.append((spec.name, Int64TensorType([None, 1])))
            else:  # numbers, nullable integers (None is NaN) and booleans (0/1)
                types.append((spec.name, numbers([None, 1])))
        return types
    text = [spec.name for spec in features if spec.type == "category"]
    if text:
        raise UnconvertibleError(
            f"{type(_first_step(estimator)).__name__} reads the category column(s) {', '.join(map(repr, text))} "
            "itself, with no ColumnTransformer to encode them, which skl2onnx cannot convert"
        )
    # Bare estimators and numeric pipelines read the frame as one matrix.
    return [("X", numbers([None, len(features)]))]


def _integer_coded(spec: FeatureSpec) -> bool:
    return bool(spec.categories) and all(isinstance(c, int) for c in spec.categories or [])


def _first_step(estimator: Any) -> Any:
    while getattr(estimator, "steps", None):
        estimator = estimator.steps[0][1]
    return estimator


def _final_step(estimator: Any) -> Any:
    while getattr(estimator, "steps", None):
        estimator = estimator.steps[-1][1]
    return estimator


def _selects_columns_by_name(estimator: Any) -> bool:
    from sklearn.compose import ColumnTransformer

    return isinstance(_first_step(estimator), ColumnTransformer)


_NO_CONVERTER = re.compile(r"(?:shape calculator|converter) for type '<class '[\w.]*?(\w+)'>'")


def _why_not(exc: Exception) -> str:
    """One readable line for a skl2onnx failure, naming the step it could not convert."""
    message = str(exc)
    if "FunctionTransformer" in message and "not supported" in message:
        return "skl2onnx has no converter for FunctionTransformer (a custom function)"
    missing = _NO_CONVERTER.search(message)
    if missing:
        return f"skl2onnx has no converter for {missing.group(1)}"
    if _mixes_input_types(exc):
        return "skl2onnx cannot convert a step that takes text and numbers or booleans together"
    return f"skl2onnx cannot convert it ({_one_line(exc)})"


_CLASS_REPR = re.compile(r"<class '(?:[\w]+\.)*(\w+)'>")
# skl2onnx's closing advice, which tells a student nothing about their pipeline.
_ASK_UPSTREAM = re.compile(r"\s*You may raise an issue at \S+")


def _one_line(exc: Exception, limit: int = 120) -> str:
    # "<class 'skl2onnx.common.data_types.FloatTensorType'>" says no more than "FloatTensorType".
    first = _CLASS_REPR.sub(r"\1", (str(exc).strip().splitlines() or [""])[0])
    first = _ASK_UPSTREAM.sub("", first).strip()
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _disagreement(check: OnnxCheck) -> str:
    labels = "" if check.label_agreement is None else f"label agreement {check.label_agreement:.3g}, "
    return (
        f"the ONNX model disagrees with scikit-learn ({labels}difference {check.max_difference:.3g} > "
        f"{check.max_difference_allowed:.3g}, on {check.rows} held-out and {check.probe_rows} probe rows)"
    )


def _distance(check: OnnxCheck | None) -> tuple[float, float]:
    """How far a failed check is from passing, to report the closest attempt."""
    if check is None:
        return (math.inf, math.inf)
    labels = 1.0 - (check.label_agreement if check.label_agreement is not None else 1.0)
    return (labels, check.max_difference / max(check.max_difference_allowed, 1e-12))
