"""A zoo of the pipelines students actually write, none of them ours.

Each entry fits in well under a second on data that ships with scikit-learn or
is made here, and returns ``Fitted``: the estimator, its training frame and
target, and held-out rows. tests/test_zoo.py saves every one with save_bundle,
serves them all from one real server process and compares each answer with the
estimator's own; scripts/bench_kinds.py measures what each kind costs to serve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer, make_column_transformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.svm import SVC, LinearSVC

__all__ = ["ZOO", "Fitted", "add_ratio"]


@dataclass
class Fitted:
    estimator: Any
    train: pd.DataFrame
    target: pd.Series
    test: pd.DataFrame
    test_target: pd.Series


def add_ratio(frame: pd.DataFrame) -> pd.DataFrame:
    """A student's own feature: importable from a module of the repository, as it must be."""
    return frame.assign(ratio=frame.iloc[:, 0] / (frame.iloc[:, 1].abs() + 1))


def _split(estimator: Any, frame: pd.DataFrame, target: pd.Series, seed: int = 0) -> Fitted:
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(len(frame) * 0.75)
    train, test = order[:cut], order[cut:]
    frame, target = frame.reset_index(drop=True), target.reset_index(drop=True)
    estimator.fit(frame.iloc[train], target.iloc[train])
    return Fitted(estimator, frame.iloc[train], target.iloc[train], frame.iloc[test], target.iloc[test])


def _loaded(loader: Callable[..., Any]) -> tuple[pd.DataFrame, pd.Series]:
    return loader(return_X_y=True, as_frame=True)


def _people(rows: int = 400, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    """Mixed columns as a survey gives them: text with gaps, odd names, flags with gaps, a free-text note."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(18, 90, rows).astype("int64"),
        "weight (kg)": rng.normal(75, 12, rows).round(1),
        "blood-type": rng.choice(["A", "B", "AB", "O"], rows).astype(object),
        "smoker": rng.choice([True, False], rows),
        "insured": rng.choice(np.array([True, False, None], dtype=object), rows),
        "city/region": rng.choice(["north", "south", "east", "west"], rows).astype(object),
        "note": [f"visit {i} {rng.choice(['ok', 'late', 'early'])}" for i in range(rows)],
    })
    frame.loc[rng.random(rows) < 0.12, "blood-type"] = np.nan
    frame.loc[rng.random(rows) < 0.08, "weight (kg)"] = np.nan
    score = frame["age"] / 30 + frame["smoker"] * 1.5 + (frame["blood-type"] == "O") + rng.normal(0, 0.7, rows)
    return frame, pd.Series(np.where(score > 2.6, "high", "low"), name="risk")


def hgb_regressor() -> Fitted:  # the README's own example
    return _split(HistGradientBoostingRegressor(random_state=0), *_loaded(datasets.load_diabetes))


def forest_multiclass() -> Fitted:
    return _split(RandomForestClassifier(n_estimators=30, random_state=0), *_loaded(datasets.load_wine))


def forest_regressor() -> Fitted:
    return _split(RandomForestRegressor(n_estimators=20, max_depth=8, random_state=0), *_loaded(datasets.load_diabetes))


def ridge() -> Fitted:
    return _split(Ridge(alpha=0.5), *_loaded(datasets.load_diabetes))


def scaled_hgb() -> Fitted:
    return _split(make_pipeline(StandardScaler(), HistGradientBoostingRegressor(random_state=0)),
                  *_loaded(datasets.load_diabetes))


def logistic_with_spaces() -> Fitted:  # breast cancer: 30 columns named like "mean radius"
    return _split(make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=2000)),
                  *_loaded(datasets.load_breast_cancer))


def iris_integer_labels() -> Fitted:
    return _split(LogisticRegression(max_iter=1000), *_loaded(datasets.load_iris))


def text_with_gaps_one_hot() -> Fitted:  # OneHotEncoder learns NaN as a category
    frame, target = _people()
    prepare = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["blood-type", "city/region"]),
        (SimpleImputer(), ["age", "weight (kg)"]),
    )
    return _split(make_pipeline(prepare, LogisticRegression(max_iter=1000)), frame, target)


def text_imputed_boosting() -> Fitted:
    frame, target = _people(seed=2)
    prepare = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         ["blood-type", "city/region"]),
        (SimpleImputer(strategy="median"), ["age", "weight (kg)"]),
        ("passthrough", ["smoker"]),
    )
    return _split(make_pipeline(prepare, GradientBoostingClassifier(n_estimators=30, random_state=0)), frame, target)


def ordinal_trees() -> Fitted:
    frame, target = _people(seed=3)
    prepare = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["city/region"]),
        (SimpleImputer(), ["age", "weight (kg)"]),
    )
    return _split(make_pipeline(prepare, ExtraTreesClassifier(n_estimators=30, random_state=0)), frame, target)


def booleans_with_gaps() -> Fitted:
    frame, target = _people(seed=4)
    prepare = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         ["smoker", "insured"]),
        ("passthrough", ["age"]),
    )
    return _split(make_pipeline(prepare, LogisticRegression(max_iter=1000)), frame, target)


def integer_categories() -> Fitted:  # a pandas category of codes, as HistGradientBoosting reads it
    rng = np.random.default_rng(5)
    rows = 500
    frame = pd.DataFrame({
        "store": pd.Categorical(rng.choice([101, 205, 330, 412], rows)),
        "price": rng.uniform(1, 20, rows).round(2),
    })
    target = pd.Series(frame["price"] * np.where(frame["store"].astype(int) > 300, 3, 1) + rng.normal(0, 1, rows),
                       name="sales")
    return _split(HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0), frame, target)


def svc_probabilities() -> Fitted:  # scikit-learn 1.9's way to SVC probabilities (probability=True is deprecated)
    frame, target = _loaded(datasets.load_breast_cancer)
    frame = frame.iloc[:, :6]
    return _split(make_pipeline(StandardScaler(), CalibratedClassifierCV(SVC(), ensemble=False)), frame, target)


def linear_svc_labels_only() -> Fitted:
    frame, target = _loaded(datasets.load_wine)
    return _split(make_pipeline(StandardScaler(), LinearSVC(random_state=0)), frame, target.map(str).radd("cultivar "))


def dropped_free_text() -> Fitted:  # remainder="drop": the note is never read, so never asked for
    frame, target = _people(seed=6)
    prepare = ColumnTransformer(
        [("numbers", SimpleImputer(), ["age", "weight (kg)"]), ("flags", "passthrough", ["smoker"])],
        remainder="drop",
    )
    return _split(make_pipeline(prepare, RandomForestClassifier(n_estimators=20, random_state=0)), frame, target)


def log_transform() -> Fitted:  # log1p of a negative value is NaN, and the regression then raises
    frame, target = _loaded(datasets.load_diabetes)
    frame = frame[["age", "bmi", "bp"]] + 1  # the scaled columns hover around 0: shift to positive
    return _split(make_pipeline(FunctionTransformer(np.log1p), Ridge()), frame, target)


def own_function() -> Fitted:
    frame, target = _loaded(datasets.load_diabetes)
    return _split(make_pipeline(FunctionTransformer(add_ratio), Ridge()), frame[["bmi", "bp", "s5"]], target)


def nearest_neighbours() -> Fitted:
    return _split(make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=7)), *_loaded(datasets.load_diabetes))


def boosted_classifier_many_columns() -> Fitted:
    return _split(HistGradientBoostingClassifier(max_iter=50, random_state=0), *_loaded(datasets.load_breast_cancer))


ZOO: dict[str, Callable[[], Fitted]] = {
    "hgb-regressor": hgb_regressor,
    "forest-multiclass": forest_multiclass,
    "forest-regressor": forest_regressor,
    "ridge": ridge,
    "scaled-hgb": scaled_hgb,
    "logistic-spaces": logistic_with_spaces,
    "iris-int-labels": iris_integer_labels,
    "text-gaps-onehot": text_with_gaps_one_hot,
    "text-imputed-gbm": text_imputed_boosting,
    "ordinal-trees": ordinal_trees,
    "booleans-gaps": booleans_with_gaps,
    "int-categories": integer_categories,
    "svc-proba": svc_probabilities,
    "linear-svc": linear_svc_labels_only,
    "dropped-text": dropped_free_text,
    "log-transform": log_transform,
    "own-function": own_function,
    "knn": nearest_neighbours,
    "hgb-classifier": boosted_classifier_many_columns,
}
