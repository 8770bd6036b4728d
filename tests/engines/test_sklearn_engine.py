"""The scikit-learn engine hands the estimator a frame like the one it was fitted on (api/serving/engines/sklearn.py).

A column typed differently from training (an int column arriving as float, a category as plain text, a
missing value as None) changes what many pipelines compute without raising: these pin each column's
type, its missing values, the fitted order and the unread columns, with an estimator that keeps the frame.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from api.serving.card import FeatureSpec
from api.serving.engines.sklearn import SklearnEngine
from tests.factories import save_tiny_classifier, saved

FEATURES = [
    FeatureSpec(name="distance", type="number", minimum=1, maximum=9, nullable=True),
    FeatureSpec(name="stops", type="integer", minimum=0, maximum=3),
    FeatureSpec(name="rooms", type="integer", minimum=1, maximum=5, nullable=True),
    FeatureSpec(name="express", type="boolean"),
    FeatureSpec(name="member", type="boolean", nullable=True),
    FeatureSpec(name="zone", type="category", categories=["north", "south"], nullable=True),
    FeatureSpec(name="weekday", type="category", categories=["mon", "tue", "wed"], dtype="category"),
]
ROWS = [
    {"distance": 2.5, "stops": 1, "rooms": 3, "express": True, "member": False, "zone": "north", "weekday": "tue"},
    {"distance": None, "stops": 0, "rooms": None, "express": False, "member": None, "zone": None, "weekday": "mon"},
]


class KeepsFrame:
    """Fitted on a frame whose columns are in another order, with one column the API never asks for."""

    feature_names_in_ = np.array(["weekday", "note", *(f.name for f in FEATURES if f.name != "weekday")], dtype=object)
    classes_ = np.array(["no", "yes"], dtype=object)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.frame = frame
        return np.array(["yes", "no"][: len(frame)], dtype=object)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        self.frame = frame
        return np.array([[0.25, 0.75]] * len(frame))


@pytest.fixture
def card(tmp_path):
    return saved(save_tiny_classifier, tmp_path).model_copy(update={"features": FEATURES, "unused_columns": ["note"]})


def test_the_frame_has_the_fitted_columns_in_the_fitted_order_each_typed_as_in_training(card):
    estimator = KeepsFrame()
    SklearnEngine(card, estimator).run(ROWS)
    frame = estimator.frame
    assert list(frame.columns) == list(KeepsFrame.feature_names_in_)
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == {
        "weekday": "category", "note": "object", "distance": "float64", "stops": "int64", "rooms": "float64",
        "express": "bool", "member": "object", "zone": "str",  # pandas 3 reads text as its str dtype
    }
    # Every category of training, in its order, though this batch has only two: codes mean what they meant.
    assert list(frame["weekday"].cat.categories) == ["mon", "tue", "wed"]
    assert frame["weekday"].tolist() == ["tue", "mon"]
    # Missing values are NaN, as pandas read them in training, never None.
    assert frame["stops"].tolist() == [1, 0] and frame["express"].tolist() == [True, False]
    for column, first in [("distance", 2.5), ("rooms", 3.0), ("member", False), ("zone", "north")]:
        assert frame[column].iloc[0] == first and math.isnan(frame[column].iloc[1]), column
    assert all(math.isnan(v) for v in frame["note"])


def test_answers_are_probabilities_class_indices_or_values_as_the_card_says(card):
    probabilities = SklearnEngine(card, KeepsFrame()).run(ROWS)
    np.testing.assert_array_equal(probabilities, [[0.25, 0.75], [0.25, 0.75]])
    labels = SklearnEngine(card.model_copy(update={"probabilities": False}), KeepsFrame()).run(ROWS)
    assert labels.dtype == np.int64 and labels.tolist() == [1, 0]  # "yes", "no" in classes_ order
    regression = card.model_copy(update={"task": "regression", "classes": None})

    class Values(KeepsFrame):
        def predict(self, frame):
            return np.array([3, 4])[: len(frame)]

    values = SklearnEngine(regression, Values()).run(ROWS)
    assert values.dtype == np.float64 and values.tolist() == [3.0, 4.0]


def test_a_batch_without_missing_values_gets_the_same_column_types(card):
    estimator = KeepsFrame()
    engine = SklearnEngine(card, estimator)
    engine.run(ROWS)
    with_missing = dict(estimator.frame.dtypes)
    engine.run([ROWS[0], ROWS[0]])
    assert dict(estimator.frame.dtypes) == with_missing


def test_a_transform_that_makes_nan_says_so_in_the_answer_not_as_a_warning(card):
    class LogOfDistance(KeepsFrame):
        def predict(self, frame):
            return np.log(frame["distance"].to_numpy())

    regression = card.model_copy(update={"task": "regression", "classes": None})
    rows = [{**ROWS[0], "distance": -1.0}, ROWS[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        answers = SklearnEngine(regression, LogOfDistance()).run(rows)
    assert math.isnan(answers[0]) and answers[1] == pytest.approx(math.log(2.5))
