"""Ordinary pipelines a student writes: each either gets an ONNX model that answers as
scikit-learn does (on held-out rows and on rows built to break it), or a one-line reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.svm import SVC, LinearSVC

from api.serving.bundle import load_engine, save_bundle
from api.serving.card import ModelCard
from api.serving.engines.convert import rows_from_frame
from tests.engines.test_agreement import random_rows

Data = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


def split(frame: pd.DataFrame, target: pd.Series) -> Data:
    """Every other row held out: small, deterministic, and both halves cover the ranges."""
    return frame.iloc[::2], target.iloc[::2], frame.iloc[1::2], target.iloc[1::2]


def diabetes() -> Data:
    return split(*load_diabetes(return_X_y=True, as_frame=True))


def wine() -> Data:
    return split(*load_wine(return_X_y=True, as_frame=True))


def iris() -> Data:
    return split(*load_iris(return_X_y=True, as_frame=True))


def iris_named() -> Data:
    """Classes as names, so a label-only graph answers with strings, not class numbers."""
    frame, target = load_iris(return_X_y=True, as_frame=True)
    return split(frame, target.map(dict(enumerate(["setosa", "versicolor", "virginica"]))).rename("species"))


def cancer_with_gaps() -> Data:
    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = frame.iloc[:, :8].copy()
    frame.iloc[::7, 0] = np.nan
    frame.iloc[::5, 3] = np.nan
    return split(frame, target)


def trips(rows: int = 400, seed: int = 0, note: bool = False) -> Data:
    """Text with missing values, and names with spaces, dashes and slashes; with ``note``, a column nothing reads."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "distance km": rng.uniform(1, 60, rows).round(1),
            "passengers-count": rng.integers(1, 7, rows).astype("int64"),
            "origin/zone": rng.choice(["north", "south", "east", "west"], rows).astype(object),
            "weekday": rng.choice(["mon", "tue", "wed", "thu", "fri"], rows).astype(object),
        }
    )
    if note:
        frame["driver note"] = rng.choice(["late", "ok", "new car"], rows).astype(object)
    # Only even rows lose their zone, so the held-out (odd) half has none missing, as the users' data had:
    # only the probe rows can tell the converter which string the graph needs for a missing zone.
    frame.loc[frame.index % 6 == 0, "origin/zone"] = np.nan
    frame.loc[frame.index % 9 == 0, "distance km"] = np.nan
    # The missing zone carries signal of its own, so an encoder's NaN category matters.
    busy = (frame["origin/zone"].isna() | (frame["origin/zone"] == "south")) & (frame["weekday"] != "mon")
    tipped = busy | (frame["distance km"].fillna(0) > 45)
    return split(frame, pd.Series(np.where(tipped, "tip", "none"), name="tip"))


def trips_with_note() -> Data:
    return trips(note=True)


def trip_pipeline(encoder: Any, final: Any, numbers: Any = "passthrough") -> Any:
    """Text encoded, numbers passed (or imputed): anything else, e.g. a note, is dropped."""
    prepare = ColumnTransformer(
        [("text", encoder, ["origin/zone", "weekday"]), ("numbers", numbers, ["distance km", "passengers-count"])],
        remainder="drop",
    )
    return make_pipeline(prepare, final)


def log_distance(frame: pd.DataFrame) -> pd.DataFrame:
    return np.log1p(frame.fillna(0))


@dataclass(frozen=True)
class Case:
    name: str
    data: Callable[[], Data]
    pipeline: Callable[[], Any]
    converts: bool = True
    reason: str = ""  # a phrase the one-line reason must contain, when it does not convert
    missing_category: str | None = None  # the string the graph must take for a missing category
    # How the kept graph declares its inputs (STRATEGIES): the first that agrees, so a later one means the
    # earlier ones disagreed on this pipeline.
    conversion: str = "float32"
    label_only: bool = False
    marks: tuple = ()


def ohe(**kwargs: Any) -> OneHotEncoder:
    return OneHotEncoder(handle_unknown="ignore", sparse_output=False, **kwargs)


CASES = [
    # The README's own example.
    Case("hgb-regressor-bare", diabetes, lambda: HistGradientBoostingRegressor(max_iter=60, random_state=0)),
    Case("hgb-classifier-bare", wine, lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0)),
    Case("random-forest", diabetes, lambda: RandomForestRegressor(n_estimators=20, random_state=0)),
    Case("extra-trees", wine, lambda: ExtraTreesClassifier(n_estimators=20, random_state=0)),
    Case("gradient-boosting", diabetes, lambda: GradientBoostingRegressor(n_estimators=30, random_state=0)),
    Case("ridge", diabetes, lambda: Ridge(alpha=0.5)),
    Case("logistic-multiclass", iris, lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))),
    Case(
        "scaler-hgb", diabetes, lambda: make_pipeline(StandardScaler(), HistGradientBoostingRegressor(random_state=0)),
        conversion="float64 with float64 tree thresholds",
    ),
    Case(
        "scaler-hgb-classifier",
        lambda: split(*load_breast_cancer(return_X_y=True, as_frame=True)),
        lambda: make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=30, random_state=0)),
        conversion="float64 preprocessing, float32 final estimator",
    ),
    Case(
        "imputer-scaler-logistic",
        cancer_with_gaps,
        lambda: make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000)),
    ),
    Case(
        "svc-probabilities",
        wine,
        lambda: make_pipeline(StandardScaler(), SVC(probability=True, random_state=0)),
        # scikit-learn 1.9 deprecates probability=True, yet students still write it.
        marks=(pytest.mark.filterwarnings("ignore:The `probability` parameter was deprecated:FutureWarning"),),
    ),
    Case(
        "onehot-nan-category-hgb",
        trips,
        lambda: trip_pipeline(ohe(), HistGradientBoostingClassifier(max_iter=30, random_state=0)),
        missing_category="nan",
    ),
    Case(
        "onehot-nan-category-logistic",
        trips,
        lambda: trip_pipeline(ohe(), LogisticRegression(max_iter=1000), SimpleImputer()),
        missing_category="nan",
    ),
    Case(
        "imputer-onehot-random-forest",
        trips,
        lambda: trip_pipeline(
            make_pipeline(SimpleImputer(strategy="constant", fill_value="unknown"), ohe()),
            RandomForestClassifier(n_estimators=15, random_state=0),
            SimpleImputer(),
        ),
        missing_category="",
    ),
    Case(
        "ordinal-and-onehot-hgb",
        trips,
        lambda: make_pipeline(
            ColumnTransformer([
                ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["weekday"]),
                ("onehot", ohe(), ["origin/zone"]),
            ], remainder="passthrough"),
            HistGradientBoostingClassifier(max_iter=20, random_state=0),
        ),
        missing_category="nan",
    ),
    Case(
        # OrdinalEncoder passes NaN through for the trees to route; its graph makes it "unknown" (-1) instead.
        "ordinal-encoder-on-text-with-nan",
        trips,
        lambda: trip_pipeline(
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
            HistGradientBoostingClassifier(max_iter=20, random_state=0),
        ),
        converts=False,
        reason="disagrees with scikit-learn",
    ),
    Case(
        "remainder-drop-unused-text",
        trips_with_note,
        lambda: trip_pipeline(ohe(), LogisticRegression(max_iter=1000), SimpleImputer()),
    ),
    Case("linear-svc", wine, lambda: make_pipeline(StandardScaler(), LinearSVC()), label_only=True),
    Case("linear-svc-named-classes", iris_named, lambda: make_pipeline(StandardScaler(), LinearSVC()),
         label_only=True),
    Case(
        "function-transformer",
        diabetes,
        lambda: make_pipeline(FunctionTransformer(log_distance), Ridge()),
        converts=False,
        reason="skl2onnx has no converter for FunctionTransformer (a custom function)",
    ),
]


def saved_card(case: Case, tmp_path) -> tuple[Any, ModelCard, Data, Any]:
    """The fitted pipeline, the card save_bundle writes for it, its data, and its ONNX engine (or None)."""
    train, target, test, test_target = data = case.data()
    model = case.pipeline().fit(train, target)
    card = save_bundle(model, train, target, case.name, features_test=test, target_test=test_target,
                       models_dir=tmp_path, quiet=True, verify=False)
    assert card.probabilities is not case.label_only
    engine = None
    if card.onnx is not None:
        engine, _ = load_engine(tmp_path / case.name, card, engine="onnx", allow_version_mismatch=False)
    return model, card, data, engine


def hostile_rows(card: ModelCard) -> list[dict[str, Any]]:
    """Rows made to break a conversion, built here independently of the converter's own probes."""
    base = {f.name: f.default for f in card.features}
    rows = [dict(base), {**base, **{f.name: None for f in card.features if f.nullable}}]
    for spec in card.features:
        if spec.nullable:
            rows.append({**base, spec.name: None})
        if spec.type == "category":
            rows += [{**base, spec.name: c} for c in [*spec.categories, "never seen"]]
        elif spec.type in ("number", "integer"):
            span = spec.maximum - spec.minimum
            for v in (spec.minimum, spec.maximum, spec.minimum - span / 4 - 1, spec.maximum + span / 4 + 1):
                rows.append({**base, spec.name: round(v) if spec.type == "integer" else float(v)})
        elif spec.type == "boolean":
            rows += [{**base, spec.name: True}, {**base, spec.name: False}]
    # and combinations: every feature drawn at random, nulls and unknown categories included
    return rows + random_rows(card, 60, seed=7, null_share=0.3, unknown="never seen", beyond=2)


def scikit_learn_answers(answer: Callable, rows: list[dict]) -> tuple[list[dict], np.ndarray]:
    """Only the rows scikit-learn answers (it may refuse an unknown category): there is nothing else to match."""
    try:
        return rows, np.asarray(answer(rows))
    except Exception:
        kept = []
        for row in rows:
            try:
                answer([row])
            except Exception:
                continue
            kept.append(row)
        return kept, np.asarray(answer(kept))


def reference(card: ModelCard, model: Any) -> Callable:
    from api.serving.engines.sklearn import SklearnEngine

    if card.probabilities:
        return SklearnEngine(card, model).run
    classes = list(model.classes_)
    return lambda rows: np.array([classes.index(label) for label in model.predict(_frame(card, rows))])


def _frame(card: ModelCard, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({f.name: [np.nan if r[f.name] is None else r[f.name] for r in rows] for f in card.features})


def assert_onnx_agrees(card: ModelCard, onnx_engine: Any, model: Any, rows: list[dict]) -> None:
    rows, expected = scikit_learn_answers(reference(card, model), rows)
    assert len(rows) >= 10
    got = np.asarray(onnx_engine.run(rows))
    if card.task == "regression":
        assert np.abs(got - expected).max() <= card.onnx.check.max_difference_allowed
    elif not card.probabilities:
        assert got.dtype.kind == "i" and got.shape == (len(rows),)
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))
        assert np.abs(got - expected).max() <= card.onnx.check.max_difference_allowed


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_pipeline_converts_and_agrees_or_says_why_not_in_one_line(case, tmp_path):
    model, card, (_, _, test, _), onnx_engine = saved_card(case, tmp_path)
    if not case.converts:
        assert card.onnx is None and case.reason in card.onnx_unavailable
        assert "\n" not in card.onnx_unavailable and len(card.onnx_unavailable) <= 180
        return
    assert card.onnx is not None, card.onnx_unavailable
    check = card.onnx.check
    assert check.passed and check.rows == len(test) and check.probe_rows >= 10
    assert check.conversion == case.conversion
    if case.missing_category is not None:
        assert card.onnx.missing_category == case.missing_category
    assert_onnx_agrees(card, onnx_engine, model, rows_from_frame(test, card.feature_names))
    assert_onnx_agrees(card, onnx_engine, model, hostile_rows(card))


def test_a_column_the_pipeline_never_reads_is_no_input_of_the_graph(tmp_path):
    train, target, test, test_target = trips_with_note()
    model = trip_pipeline(ohe(), LogisticRegression(max_iter=1000), SimpleImputer()).fit(train, target)
    card = save_bundle(model, train, target, "notes", features_test=test, target_test=test_target,
                       models_dir=tmp_path, quiet=True, verify=False)
    assert card.unused_columns == ["driver note"] and "driver note" not in card.feature_names
    assert card.onnx is not None, card.onnx_unavailable
    import onnxruntime as ort

    session = ort.InferenceSession((tmp_path / "notes" / "model.onnx").read_bytes(), providers=["CPUExecutionProvider"])
    assert len(session.get_inputs()) == len(card.features) == 4
    assert card.onnx.check.passed and card.onnx.check.probe_rows >= 10


def rooms_frame(gaps: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """Rooms as a pandas category of whole numbers: an integer-coded category."""
    rng = np.random.default_rng(0)
    rooms = rng.integers(1, 5, 300).astype(float)
    if gaps:
        rooms[::10] = np.nan
    frame = pd.DataFrame({"rooms": pd.Categorical(rooms, categories=[1.0, 2.0, 3.0, 4.0]).rename_categories(int),
                          "area m2": rng.uniform(20, 200, 300).round(1)})
    return frame, pd.Series(frame["area m2"] * 10 + (frame["rooms"] == 3) * 400, name="price")


def test_a_label_the_card_does_not_list_is_refused_not_answered_as_another_class(tmp_path):
    from api.serving.engines.onnx import OnnxEngine

    case = next(c for c in CASES if c.name == "linear-svc-named-classes")
    _, card, (_, _, test, _), engine = saved_card(case, tmp_path)
    rows = rows_from_frame(test, card.feature_names)
    assert set(engine.run(rows).tolist()) == {0, 1, 2}
    # A card edited by hand (or another model's): 'virginica', the graph's last label, is not in it.
    edited = card.model_copy(update={"classes": ["aardvark", "setosa", "versicolor"]})
    edited_engine = OnnxEngine(edited, (tmp_path / case.name / "model.onnx").read_bytes())
    with pytest.raises(ValueError, match="^the ONNX model gave a label its card does not list$"):
        edited_engine.run(rows)


def test_an_imputer_over_whole_and_decimal_numbers_converts_with_the_whole_numbers_as_decimals(tmp_path):
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 300).astype("int64"), "income": rng.uniform(10, 200, 300),
                          "zone": rng.choice(["a", "b", "c"], 300).astype(object)})
    frame.loc[::7, "income"] = np.nan
    target = pd.Series(np.where(frame["age"] + frame["income"].fillna(50) / 2 > 90, "yes", "no"), name="bought")
    model = make_pipeline(
        ColumnTransformer([("numbers", SimpleImputer(), ["age", "income"]), ("zone", ohe(), ["zone"])]),
        LogisticRegression(max_iter=1000),
    ).fit(frame, target)
    card = save_bundle(model, frame, target, "mixed", models_dir=tmp_path, quiet=True, verify=False)
    assert card.onnx is not None, card.onnx_unavailable
    # skl2onnx refuses one step over int64 and float inputs: the integer is declared a number, as scikit-learn reads it.
    session = ort.InferenceSession((tmp_path / "mixed" / "model.onnx").read_bytes(), providers=["CPUExecutionProvider"])
    assert {i.name: i.type for i in session.get_inputs()} == {
        "age": "tensor(float)", "income": "tensor(float)", "zone": "tensor(string)"
    }
    engine, _ = load_engine(tmp_path / "mixed", card, engine="onnx", allow_version_mismatch=False)
    assert_onnx_agrees(card, engine, model, hostile_rows(card))


def test_integer_coded_category_converts_with_an_int64_input(tmp_path):
    frame, price = rooms_frame()
    model = make_pipeline(
        ColumnTransformer([("rooms", ohe(), ["rooms"])], remainder="passthrough"), Ridge()
    ).fit(frame, price)
    card = save_bundle(model, frame, price, "rooms", models_dir=tmp_path, quiet=True, verify=False)
    rooms = card.features[0]
    assert (rooms.type, rooms.categories, rooms.dtype) == ("category", [1, 2, 3, 4], "category")
    assert card.onnx is not None, card.onnx_unavailable
    engine, _ = load_engine(tmp_path / "rooms", card, engine="onnx", allow_version_mismatch=False)
    rows = [{"rooms": r, "area m2": a} for r in (1, 2, 3, 4) for a in (20.0, 95.5, 200.0, 400.0)]
    expected = model.predict(pd.DataFrame(rows).astype({"rooms": frame["rooms"].dtype}))
    assert np.abs(engine.run(rows) - expected).max() <= card.onnx.check.max_difference_allowed
    assert card.onnx.check.probe_rows >= 10


def test_a_missing_integer_coded_category_is_a_one_line_reason(tmp_path):
    frame, price = rooms_frame(gaps=True)
    model = make_pipeline(
        ColumnTransformer([("rooms", ohe(), ["rooms"])], remainder="passthrough"), Ridge()
    ).fit(frame, price)
    card = save_bundle(model, frame, price, "rooms", models_dir=tmp_path, quiet=True, verify=False)
    assert card.features[0].nullable and card.onnx is None
    assert card.onnx_unavailable == (
        "the integer-coded category 'rooms' has missing values, which an int64 ONNX input cannot hold; "
        "served on scikit-learn"
    )


def test_a_bare_estimator_that_reads_text_itself_gets_a_one_line_reason(tmp_path):
    train, target, _, _ = trips()
    frame = train.astype({"origin/zone": "category", "weekday": "category"})
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features="from_dtype").fit(frame, target)
    card = save_bundle(model, train, target, "native", models_dir=tmp_path)
    assert card.onnx is None and card.onnx_unavailable == (
        "HistGradientBoostingClassifier reads the category column(s) 'origin/zone', 'weekday' itself, with no "
        "ColumnTransformer to encode them, which skl2onnx cannot convert; served on scikit-learn"
    )


@pytest.mark.parametrize("loader", [load_diabetes, load_wine, load_breast_cancer])
def test_float64_thresholds_make_scaled_histogram_trees_agree_on_every_row(loader):
    import onnx
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    from api.serving.engines.double_trees import with_float64_thresholds

    frame, target = loader(return_X_y=True, as_frame=True)
    trees = HistGradientBoostingClassifier if loader is not load_diabetes else HistGradientBoostingRegressor
    model = make_pipeline(StandardScaler(), trees(max_iter=40, random_state=0)).fit(frame.iloc[::2], target.iloc[::2])
    options = {id(model): {"zipmap": False}} if trees is HistGradientBoostingClassifier else None
    graph = convert_sklearn(model, initial_types=[("X", DoubleTensorType([None, frame.shape[1]]))], options=options)
    fixed = with_float64_thresholds(graph, model[-1])
    # Valid ONNX, not only a graph onnxruntime accepts (it sorts nodes itself): each cast follows its tree.
    onnx.checker.check_model(fixed, full_check=True)
    session = ort.InferenceSession(fixed.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"X": frame.to_numpy(np.float64)})
    if trees is HistGradientBoostingClassifier:
        np.testing.assert_array_equal(outputs[0], model.predict(frame))
        assert np.abs(outputs[1] - model.predict_proba(frame)).max() < 1e-6
    else:
        assert np.abs(outputs[0].ravel() - model.predict(frame)).max() < 1e-3
