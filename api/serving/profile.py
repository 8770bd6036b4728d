"""Infer a model card's contents from a fitted estimator and its data.

Used only when a bundle is saved (in a notebook or by the CLI), never while
serving, so pandas and scikit-learn are imported freely here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier, is_regressor

from api.errors import BundleError
from api.monitoring.bins import bin_counts, cut_points
from api.serving.card import FeatureProfile, FeatureSpec, TrainingProfile

__all__ = [
    "describe_estimator",
    "gives_probabilities",
    "infer_task",
    "json_value",
    "pick_examples",
    "profile_features",
    "read_columns",
    "score",
    "training_profile",
]


def json_value(value: Any) -> Any:
    """A plain JSON value for one cell: numpy scalars unwrapped, NaN/NA as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _feature_type(column: pd.Series) -> str:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return _categorical_type(column)
    if pd.api.types.is_bool_dtype(column):
        return "boolean"
    if pd.api.types.is_integer_dtype(column):
        return "integer"
    if pd.api.types.is_float_dtype(column):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
        raise BundleError(
            f"column {column.name!r} holds dates or times, which a JSON API cannot take as they are; "
            "turn it into numbers (year, month, hour, …) in the pipeline's input frame."
        )
    non_null = column.dropna()
    if len(non_null) and all(isinstance(v, bool | np.bool_) for v in non_null):
        return "boolean"  # an object column of True/False with gaps: pandas cannot hold it as bool
    if not all(isinstance(v, str) for v in non_null):
        raise BundleError(_mixed_column(column.name, non_null))
    return "category"


def _categorical_type(column: pd.Series) -> str:
    values = list(column.cat.categories)
    if all(isinstance(v, str) for v in values):
        return "category"
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in values):
        return "category"  # integer-coded categories: the API takes them as JSON integers
    raise BundleError(_mixed_column(column.name, pd.Series(values)))


def _mixed_column(name: Any, values: pd.Series) -> str:
    kinds: dict[str, Any] = {}
    for value in values:  # the first value of each kind, as an example
        kinds.setdefault(type(value).__name__, value)
    shown = ", ".join(f"{kind} ({value!r})" for kind, value in sorted(kinds.items(), key=lambda kv: kv[0]))
    return (
        f"column {name!r} holds values of several kinds: {shown}; the API needs one kind per column. "
        f"Cast it before fitting, e.g. frame[{name!r}] = frame[{name!r}].astype(str) for text, "
        f"or pd.to_numeric(frame[{name!r}]) for numbers, and fit again."
    )


def _categories(column: pd.Series) -> list[Any]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = list(column.cat.categories)
    else:
        values = list(column.dropna().unique())
    return sorted(json_value(v) for v in values)


def profile_features(
    frame: pd.DataFrame, names: list[str], descriptions: dict[str, str] | None = None
) -> list[FeatureSpec]:
    """One FeatureSpec per name, from the training frame's values."""
    descriptions = descriptions or {}
    unknown = sorted(set(descriptions) - set(names))
    if unknown:
        raise BundleError(f"descriptions name columns the model does not use: {unknown}")
    specs = []
    for name in names:
        column = frame[name]
        kind = _feature_type(column)
        non_null = column.dropna()
        spec: dict[str, Any] = {
            "name": name,
            "type": kind,
            "description": descriptions.get(name, ""),
            "nullable": bool(column.isna().any()),
            "dtype": str(column.dtype),
        }
        if non_null.empty:
            raise BundleError(f"column {name!r} has no values in the training frame")
        if kind in ("number", "integer"):
            spec["minimum"] = json_value(non_null.min())
            spec["maximum"] = json_value(non_null.max())
            median = float(non_null.median())
            spec["default"] = round(median) if kind == "integer" else median
        else:
            if kind == "category":
                spec["categories"] = _categories(column)
            spec["default"] = json_value(non_null.mode().iloc[0])
        specs.append(FeatureSpec(**spec))
    return specs


def training_profile(frame: pd.DataFrame, features: list[FeatureSpec]) -> TrainingProfile:
    """Each feature's spread over the training rows (the baseline of drift reports, api/monitoring/drift.py)."""
    rows = len(frame)
    profiles = {}
    for spec in features:
        column = frame[spec.name]
        non_null = column.dropna()
        null_share = _share(len(column) - len(non_null), rows)
        if spec.type in ("number", "integer"):
            values = non_null.to_numpy(dtype=float)
            edges = cut_points(values)
            counts = bin_counts(values, edges)
            profiles[spec.name] = FeatureProfile(
                edges=edges, shares=[_share(c, rows) for c in counts], null_share=null_share
            )
        else:
            keys = list(spec.categories) if spec.type == "category" else [False, True]
            seen = non_null.map(json_value).value_counts()
            profiles[spec.name] = FeatureProfile(
                values=keys, shares=[_share(seen.get(k, 0), rows) for k in keys], null_share=null_share
            )
    return TrainingProfile(rows=rows, features=profiles)


def _share(count: int, rows: int) -> float:
    # Six decimals: enough for a bin of one row in a million, and a card that stays readable.
    return round(float(count) / rows, 6) if rows else 0.0


def infer_task(estimator: Any) -> str:
    """'classification' or 'regression', from scikit-learn's own tags."""
    if is_classifier(estimator):
        return "classification"
    if is_regressor(estimator):
        return "regression"
    raise BundleError(
        f"{type(estimator).__name__} is neither a classifier nor a regressor; "
        "freeport serves estimators with predict() (and predict_proba() for classifiers)."
    )


def gives_probabilities(estimator: Any) -> bool:
    """Whether a classifier has predict_proba (LinearSVC, or SVC without probability=True, do not)."""
    return hasattr(estimator, "predict_proba")


def score(estimator: Any, task: str, features: pd.DataFrame, target: Any) -> dict[str, float]:
    """Held-out metrics: accuracy and ROC AUC, or MAE, RMSE and R²."""
    from sklearn import metrics

    truth = np.asarray(target)
    if task == "regression":
        predicted = estimator.predict(features)
        return {
            "mae": float(metrics.mean_absolute_error(truth, predicted)),
            "rmse": float(math.sqrt(metrics.mean_squared_error(truth, predicted))),
            "r2": float(metrics.r2_score(truth, predicted)),
        }
    classes = estimator.classes_
    if not gives_probabilities(estimator):
        return {"accuracy": float(metrics.accuracy_score(truth, estimator.predict(features)))}
    proba = estimator.predict_proba(features)
    predicted = classes[proba.argmax(axis=1)]
    result = {"accuracy": float(metrics.accuracy_score(truth, predicted))}
    present = set(np.unique(truth))
    if len(present) > 1 and present <= set(classes):
        if len(classes) == 2:
            result["roc_auc"] = float(metrics.roc_auc_score(truth == classes[1], proba[:, 1]))
        else:
            result["roc_auc"] = float(
                metrics.roc_auc_score(truth, proba, multi_class="ovr", labels=classes)
            )
    return result


def read_columns(estimator: Any, names: list[str]) -> list[str]:
    """The columns of ``names`` the estimator actually reads, in their order.

    Only a ColumnTransformer (on its own, or first in a pipeline) can ignore a column:
    one its transformers drop, or that only a dropped remainder would take. Anything
    else reads every column it was fitted with.
    """
    first = estimator
    while getattr(first, "steps", None):  # the step that meets the raw columns
        first = first.steps[0][1]
    by_transformer = getattr(first, "_transformer_to_input_indices", None)
    if by_transformer is None or not hasattr(first, "transformers_"):
        return names
    read: set[int] = set()
    for name, transformer, _ in first.transformers_:
        if not (isinstance(transformer, str) and transformer == "drop"):
            read.update(by_transformer.get(name, ()))
    return [n for i, n in enumerate(names) if i in read]


def pick_examples(
    frame: pd.DataFrame, names: list[str], target: Any, count: int, seed: int = 0
) -> list[dict[str, Any]]:
    """A few real rows, complete ones first and, for classifiers, of different classes."""
    rows = frame[names].reset_index(drop=True)
    labels = pd.Series(np.asarray(target)).reset_index(drop=True)
    complete = rows.notna().all(axis=1)
    order = rows[complete].sample(frac=1.0, random_state=seed).index.tolist()
    order += rows[~complete].sample(frac=1.0, random_state=seed).index.tolist()
    chosen: list[int] = []
    seen: set[Any] = set()
    for index in order:  # first pass: one row per label, so examples show variety
        if labels[index] not in seen:
            chosen.append(index)
            seen.add(labels[index])
        if len(chosen) == count:
            break
    for index in order:
        if len(chosen) == count:
            break
        if index not in chosen:
            chosen.append(index)
    return [{n: json_value(rows.at[i, n]) for n in names} for i in chosen]


def describe_estimator(estimator: Any) -> str:
    """A short class path, e.g. ``Pipeline(ColumnTransformer, HistGradientBoostingClassifier)``."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return f"{type(estimator).__name__}({', '.join(type(s).__name__ for _, s in steps)})"
    return type(estimator).__name__
