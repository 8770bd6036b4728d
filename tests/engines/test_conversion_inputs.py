"""What the converter feeds skl2onnx and the graph: rows as the API sends them, the inputs it declares,
the strategies it tries for a pipeline, and the text imputers it must rewrite (api/serving/engines/convert.py)."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from api.serving.bundle import load_estimator
from api.serving.card import FeatureSpec, ModelCard
from api.serving.engines import convert
from tests.factories import dose_frame, mixed_frame, mixed_pipeline, save_dose_version, saved


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


@pytest.fixture(scope="module")
def dose(tmp_path_factory):
    """A pipeline skl2onnx converts (numbers only), its card and its held-out rows."""
    models = tmp_path_factory.mktemp("models")
    card = saved(save_dose_version, models, "1")
    model, _ = load_estimator(models / "dose", card, allow_version_mismatch=False)
    return model, card, dose_frame()[0].iloc[150:]


@pytest.mark.parametrize("held_out, probes", [(True, False), (False, True)], ids=["held-out only", "probes only"])
def test_either_kind_of_row_alone_is_enough_to_check_a_conversion_on(dose, monkeypatch, held_out, probes):
    # A pipeline may refuse every probe (an edge it raises on) or be saved without held-out rows.
    model, card, frame = dose
    if not probes:
        monkeypatch.setattr(convert, "probe_rows", lambda card: [])
    rows = convert.rows_from_frame(frame, card.feature_names) if held_out else []
    result = convert.convert_to_onnx(model, card, rows)
    assert result.model is not None and result.reason is None
    assert result.check.passed and result.check.rows == (len(frame) if held_out else 0)
    assert (result.check.probe_rows > 0) is probes


def test_no_row_scikit_learn_answers_means_no_onnx_model_and_says_why(dose, monkeypatch):
    model, card, _ = dose
    monkeypatch.setattr(convert, "probe_rows", lambda card: [])
    assert convert.convert_to_onnx(model, card, []) == convert.Conversion(
        None, "scikit-learn answers none of the rows to check an ONNX model on; served on scikit-learn", None
    )


def test_a_graph_onnxruntime_cannot_load_is_no_onnx_model_and_onnxruntimes_words_say_why(dose, monkeypatch):
    model, card, frame = dose
    monkeypatch.setattr(convert, "_to_onnx", lambda *args: b"not a graph")  # as a converter bug would write
    result = convert.convert_to_onnx(model, card, convert.rows_from_frame(frame, card.feature_names))
    assert result.model is None and result.check is None
    assert result.reason.startswith("onnxruntime cannot run it (InvalidProtobuf: ")
    assert result.reason.endswith("); served on scikit-learn")


def test_of_the_ways_tried_the_closest_to_scikit_learn_is_told_with_its_check(dose, monkeypatch):
    # The first way gives a graph onnxruntime cannot load, the others a real graph of a model that learnt the
    # opposite: the reason is the disagreement, the nearest miss, not the first failure.
    model, card, frame = dose
    train, target = dose_frame()
    opposite = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        train.iloc[:150], target.iloc[:150].map({"worked": "failed", "failed": "worked"})
    )
    converting, broken = convert._to_onnx, iter([b"not a graph"])
    monkeypatch.setattr(convert, "_to_onnx", lambda _, *args: next(broken, None) or converting(opposite, *args))
    result = convert.convert_to_onnx(model, card, convert.rows_from_frame(frame, card.feature_names))
    assert result.model is None
    assert result.reason == ("the ONNX model disagrees with scikit-learn (label agreement 0, difference 1 > 0.001, "
                             "on 50 held-out and 12 probe rows); served on scikit-learn")
    assert not result.check.passed and result.check.label_agreement == 0


def _input_types(graph: bytes) -> dict[str, str]:
    import onnxruntime as ort

    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    return {i.name: i.type for i in session.get_inputs()}


def test_an_imputer_over_whole_and_decimal_numbers_reads_both_as_decimals_of_the_precision_of_the_way_tried(dose):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 200).astype("int64"), "income": rng.uniform(10, 200, 200)})
    frame.loc[::7, "income"] = np.nan
    target = pd.Series(np.where(frame["age"] > 50, "yes", "no"), name="bought")
    model = make_pipeline(
        ColumnTransformer([("numbers", SimpleImputer(), ["age", "income"])]), LogisticRegression()
    ).fit(frame, target)
    card = ModelCard.model_construct(task="classification", probabilities=True, features=[
        FeatureSpec(name="age", type="integer", minimum=18, maximum=79),
        FeatureSpec(name="income", type="number", minimum=10, maximum=200, nullable=True),
    ])
    ways = {s.name: s for s in convert.STRATEGIES}
    # skl2onnx refuses one step over int64 and float inputs: the whole numbers are declared decimals too.
    assert _input_types(convert._to_onnx(model, card, ways["float32"])) == {"age": "tensor(float)",
                                                                          "income": "tensor(float)"}
    # In float64, onnxruntime has no Imputer: that way fails rather than pass off a float32 graph as float64.
    with pytest.raises(convert.UnconvertibleError):
        convert._to_onnx(model, card, ways["float64"])
    # Trees' float64 thresholds asked of a model without such trees: said as what it is, not a crash.
    linear, dose_card, _ = dose
    with pytest.raises(convert.UnconvertibleError) as refused:
        convert._to_onnx(linear, dose_card, ways["float64 with float64 tree thresholds"])
    assert str(refused.value) == (
        "the trees could not take float64 thresholds (LogisticRegression is not a fitted HistGradientBoosting model)"
    )


def test_converting_histogram_trees_shows_a_student_no_warning_from_the_libraries():
    # skl2onnx writes bools where protobuf wants ints, and protobuf says so: noise about our libraries,
    # printed under the student's save_bundle call, which they can do nothing about.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200)})
    trees = HistGradientBoostingRegressor(max_iter=5).fit(frame, frame["x"] * 2)
    card = ModelCard.model_construct(task="regression", probabilities=True, features=[
        FeatureSpec(name="x", type="number", minimum=-3, maximum=3),
        FeatureSpec(name="y", type="number", minimum=-3, maximum=3),
    ])
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        convert._to_onnx(trees, card, convert.STRATEGIES[0])
    assert [str(w.message) for w in shown] == []
