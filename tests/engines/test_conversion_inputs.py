"""What the converter feeds skl2onnx and the graph: rows as the API sends them, the inputs it declares,
the strategies it tries for a pipeline, and the text imputers it must rewrite (api/serving/engines/convert.py)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from api.serving.card import FeatureSpec, ModelCard
from api.serving.engines import convert
from tests.factories import mixed_frame, mixed_pipeline


def test_rows_from_a_frame_hold_plain_python_values_and_none_where_missing():
    frame = pd.DataFrame({
        "age": np.array([31, 47], dtype=np.int64),
        "income": [52.5, np.nan],
        "colour": pd.Series(["red", None], dtype=object),
        "member": np.array([True, False]),
        "unread": ["x", "y"],
    })
    rows = convert.rows_from_frame(frame, ["age", "income", "colour", "member"])
    assert rows == [
        {"age": 31, "income": 52.5, "colour": "red", "member": True},
        {"age": 47, "income": None, "colour": None, "member": False},
    ]
    assert [type(v) for v in rows[0].values()] == [int, float, str, bool]


def _names(estimator) -> list[str]:
    return [s.name for s in convert._applicable(estimator)]


def test_each_pipeline_is_tried_only_the_ways_that_apply_to_it():
    assert _names(Ridge()) == ["float32", "float64"]
    assert _names(make_pipeline(Ridge())) == ["float32", "float64"]  # one step: nothing comes before the final one
    assert _names(make_pipeline(StandardScaler(), Ridge())) == [
        "float32", "float64 preprocessing, float32 final estimator", "float64"
    ]
    frame = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0) % 3})
    trees = HistGradientBoostingRegressor(max_iter=2).fit(frame, frame["x"])  # fitted: its trees exist
    assert _names(trees) == ["float32", "float64 with float64 tree thresholds", "float64"]
    nested = make_pipeline(StandardScaler(), make_pipeline(HistGradientBoostingRegressor(max_iter=2)))
    nested.fit(frame, frame["x"])
    assert _names(nested) == [s.name for s in convert.STRATEGIES]


FEATURES = [
    FeatureSpec(name="age", type="integer", minimum=18, maximum=80),
    FeatureSpec(name="rooms", type="integer", minimum=1, maximum=9, nullable=True),
    FeatureSpec(name="income", type="number", minimum=1, maximum=99),
    FeatureSpec(name="member", type="boolean"),
    FeatureSpec(name="colour", type="category", categories=["blue", "red"], nullable=True),
    FeatureSpec(name="floor", type="category", categories=[0, 1, 2]),
]


def _declared(types) -> list[tuple[str, str, list]]:
    return [(name, type(kind).__name__, list(kind.shape)) for name, kind in types]


@pytest.mark.parametrize(("double", "numbers"), [(False, "FloatTensorType"), (True, "DoubleTensorType")])
def test_a_pipeline_led_by_a_column_transformer_gets_one_input_per_feature_typed_by_the_card(double, numbers):
    frame, target = mixed_frame()
    pipeline = mixed_pipeline(frame, target)
    assert _declared(convert._initial_types(pipeline, FEATURES, double)) == [
        ("age", "Int64TensorType", [None, 1]),
        ("rooms", numbers, [None, 1]),  # a missing whole number is NaN: only a float holds it
        ("income", numbers, [None, 1]),
        ("member", numbers, [None, 1]),
        ("colour", "StringTensorType", [None, 1]),
        ("floor", "Int64TensorType", [None, 1]),  # an integer-coded category
    ]
    as_numbers = _declared(convert._initial_types(pipeline, FEATURES, double, integers_as_numbers=True))
    assert as_numbers[0] == ("age", numbers, [None, 1]) and as_numbers[5] == ("floor", "Int64TensorType", [None, 1])


def test_a_bare_estimator_or_a_numeric_pipeline_reads_one_matrix():
    numeric = [f for f in FEATURES if f.type != "category"]
    assert _declared(convert._initial_types(make_pipeline(StandardScaler(), Ridge()), numeric, False)) == [
        ("X", "FloatTensorType", [None, 4])
    ]


def test_only_imputers_fitted_on_text_that_look_for_nan_are_rewritten_and_only_in_a_copy():
    frame, target = mixed_frame()
    text_imputer = SimpleImputer(strategy="most_frequent")
    sentinel = SimpleImputer(strategy="constant", missing_values="?", fill_value="unknown")
    model = make_pipeline(
        ColumnTransformer([
            ("numbers", SimpleImputer(strategy="median"), ["age", "income k$"]),
            ("text", make_pipeline(text_imputer, OneHotEncoder(handle_unknown="ignore")), ["colour"]),
            ("flags", make_pipeline(sentinel, OneHotEncoder(handle_unknown="ignore")), ["member"]),
        ]),
        LogisticRegression(max_iter=500),
    ).fit(frame.assign(member=frame["member"].astype(str)), target)
    fitted_text = model[0].named_transformers_["text"][0]
    assert convert._text_imputers(model) == [fitted_text]
    twin = convert._with_text_imputers_reading(model, "")
    assert convert._text_imputers(twin) == [] and twin[0].named_transformers_["text"][0].missing_values == ""
    assert math.isnan(fitted_text.missing_values)


@pytest.mark.parametrize(
    ("features", "text_imputers", "candidates"),
    [
        (FEATURES, False, ("", "nan")),  # colour is a nullable category
        ([f for f in FEATURES if f.name != "colour"], True, ("", "nan")),
        ([f for f in FEATURES if f.name != "colour"], False, ("",)),
    ],
)
def test_the_strings_tried_for_a_missing_category(features, text_imputers, candidates):
    card = ModelCard.model_construct(features=features)
    assert convert._missing_candidates(card, text_imputers) == candidates


@pytest.fixture(scope="module")
def fitted_card(tmp_path_factory):
    from tests.factories import save_tiny_classifier, saved

    frame, target = mixed_frame()
    return mixed_pipeline(frame, target), saved(save_tiny_classifier, tmp_path_factory.mktemp("models")), frame


def test_without_skl2onnx_a_bundle_serves_on_scikit_learn_and_says_what_to_install(fitted_card, monkeypatch):
    model, card, frame = fitted_card
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # as on a machine with requirements.txt alone
    result = convert.convert_to_onnx(model, card, convert.rows_from_frame(frame, card.feature_names))
    assert result == convert.Conversion(
        None, "skl2onnx is not installed (requirements/train.in); served on scikit-learn", None
    )


def test_a_bug_in_the_converter_does_not_stop_the_bundle_from_being_saved(fitted_card, monkeypatch):
    model, card, frame = fitted_card

    def broken(card):
        raise RuntimeError("a bug in freeport\nwith a traceback")

    monkeypatch.setattr(convert, "probe_rows", broken)
    result = convert.convert_to_onnx(model, card, convert.rows_from_frame(frame, card.feature_names))
    assert result == convert.Conversion(
        None, "the ONNX conversion failed (RuntimeError: a bug in freeport); served on scikit-learn", None
    )
