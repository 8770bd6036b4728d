"""A model that fails on a row the schema accepted costs that row alone, and says why."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

from api.errors import PredictionFailedError
from api.serving.bundle import load_engine, load_estimator, save_bundle
from api.serving.predictor import _NOT_FINITE, MAX_ISOLATION_CALLS, MAX_NAMED_FAILURES, Predictor
from tests.factories import dose_frame, save_log_classifier, saved

GOOD = {"dose": 12.5, "weight kg": 70.0}
POISON = {"dose": -3.0, "weight kg": 70.0}  # log1p(-3) is NaN: the regression then raises


@pytest.fixture(scope="module")
def dose(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    card = saved(save_log_classifier, models)
    engine, _ = load_engine(models / card.name, card, engine="auto", allow_version_mismatch=False)
    return card, Predictor(card, engine)


class CountingEngine:
    """The real engine, with its calls counted."""

    def __init__(self, engine):
        self.engine, self.name, self.calls = engine, engine.name, 0

    def run(self, rows):
        self.calls += 1
        return self.engine.run(rows)


def test_predictor_answers_good_rows_as_the_estimator_does(dose):
    card, predictor = dose
    frame, _ = dose_frame()
    rows = frame.iloc[150:].to_dict("records")
    estimator = predictor.engine._estimator
    expected = estimator.predict_proba(frame.iloc[150:])
    outcomes = predictor.predict(rows)
    assert [o["prediction"] for o in outcomes] == list(estimator.predict(frame.iloc[150:]))
    assert np.allclose([[o["probabilities"][c] for c in card.classes] for o in outcomes], expected)


def test_predictor_names_exactly_the_rows_the_model_cannot_answer(dose):
    _, predictor = dose
    rows = [GOOD, POISON, GOOD, GOOD, POISON, GOOD, GOOD]
    with pytest.raises(PredictionFailedError) as caught:
        predictor.predict(rows)
    error = caught.value
    assert error.status_code == 422 and error.code == "prediction_failed"
    assert sorted(error.failures) == [1, 4]
    assert [d.field for d in error.details] == ["rows.1", "rows.4"]
    assert error.details[0].message == "the model raised ValueError: Input X contains NaN."
    assert error.message == "the model could not predict rows 1, 4; no row was answered"


def test_predictor_finds_one_bad_row_in_a_thousand_in_few_model_calls(dose):
    card, predictor = dose
    counting = Predictor(card, CountingEngine(predictor.engine))
    rows = [GOOD] * 1000
    rows[637] = POISON
    with pytest.raises(PredictionFailedError) as caught:
        counting.predict(rows)
    assert list(caught.value.failures) == [637]
    assert counting.engine.calls == 1 + 2 * 10  # the whole call, then both halves at each of 10 levels


def test_predictor_bounds_the_work_a_batch_of_bad_rows_costs(dose):
    card, predictor = dose
    counting = Predictor(card, CountingEngine(predictor.engine))
    with pytest.raises(PredictionFailedError) as caught:
        counting.predict([POISON] * 1000)
    assert len(caught.value.failures) == MAX_NAMED_FAILURES
    assert counting.engine.calls <= 1 + MAX_ISOLATION_CALLS


def test_predictor_refuses_to_answer_nan_or_infinity(tmp_path):
    # exp() of a large prediction overflows: the model "answers" inf without raising.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.uniform(0, 10, 80)})
    target = pd.Series(np.exp(frame["x"] / 5) * 3, name="y")
    model = TransformedTargetRegressor(LinearRegression(), func=np.log, inverse_func=np.exp).fit(frame, target)
    card = save_bundle(model, frame, target, "exp-reg", models_dir=tmp_path, quiet=True)
    engine, _ = load_engine(tmp_path / "exp-reg", card, engine="auto", allow_version_mismatch=False)
    predictor = Predictor(card, engine)
    with pytest.raises(PredictionFailedError) as caught:
        predictor.predict([{"x": 5.0}, {"x": 1e6}])
    assert list(caught.value.failures) == [1]
    assert caught.value.details[0].message.startswith("the model's answer is not a number (NaN or infinity)")
    expected = model.predict(pd.DataFrame({"x": [5.0]}))[0]
    assert predictor.predict([{"x": 5.0}])[0]["prediction"] == pytest.approx(expected)


def test_predictor_stops_isolating_after_its_call_budget_exactly(dose):
    # 20 bad rows spread through 1,000: each costs about ten calls to pin down, so the budget of
    # MAX_ISOLATION_CALLS runs out before MAX_NAMED_FAILURES are named.
    card, predictor = dose
    counting = Predictor(card, CountingEngine(predictor.engine))
    rows = [POISON if i % 50 == 7 else GOOD for i in range(1000)]
    with pytest.raises(PredictionFailedError) as caught:
        counting.predict(rows)
    assert counting.engine.calls == 1 + MAX_ISOLATION_CALLS
    named = sorted(caught.value.failures)
    assert 0 < len(named) < MAX_NAMED_FAILURES and all(i % 50 == 7 for i in named)
    assert named == [i for i in range(7, 1000, 50)][: len(named)]  # the first ones, in order


class FailsFirstCall(CountingEngine):
    """The real engine, whose first call fails as a whole (as a batch too big for memory would)."""

    def run(self, rows):
        self.calls += 1
        if self.calls == 1:
            raise MemoryError("the whole batch did not fit")
        return self.engine.run(rows)


def test_predictor_answers_every_row_when_the_call_failed_but_no_part_of_it_does(dose):
    card, predictor = dose
    flaky = Predictor(card, FailsFirstCall(predictor.engine))
    rows = [GOOD, {"dose": 30.0, "weight kg": 80.0}, {"dose": 0.5, "weight kg": 50.0}]
    outcomes = flaky.predict(rows)
    expected = [predictor.predict([row])[0] for row in rows]
    assert [o["prediction"] for o in outcomes] == [e["prediction"] for e in expected]
    for outcome, alone in zip(outcomes, expected, strict=True):
        assert outcome["probabilities"] == pytest.approx(alone["probabilities"], rel=1e-12)
    assert flaky.engine.calls == 3  # the whole call, then each half once


class OneRowAtATime(CountingEngine):
    """The real engine, refusing any call of more than one row: no part of a batch is ever at fault."""

    def run(self, rows):
        self.calls += 1
        if len(rows) > 1:
            raise RuntimeError("one row at a time")
        return self.engine.run(rows)


def test_predictor_blames_the_first_unchecked_row_when_the_budget_finds_no_bad_one(dose):
    card, predictor = dose
    refusing = Predictor(card, OneRowAtATime(predictor.engine))
    with pytest.raises(PredictionFailedError) as caught:
        refusing.predict([GOOD] * 100)
    # Halving 100 rows depth-first, the 64 calls answer rows 0 to 30 one by one; row 31 is next.
    assert caught.value.failures == {31: "the model failed on this row's call; retry"}


def test_predictor_names_rows_that_raise_and_rows_answered_with_infinity_together(tmp_path):
    # The square root of a negative dose is NaN (the regression then raises); exp of a huge prediction is inf.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"dose": rng.uniform(0, 10, 80)})
    target = pd.Series(np.exp(frame["dose"] / 5) * 3, name="y")
    model = make_pipeline(
        FunctionTransformer(np.sqrt),
        TransformedTargetRegressor(LinearRegression(), func=np.log, inverse_func=np.exp),
    ).fit(frame, target)
    card = save_bundle(model, frame, target, "exp-sqrt", models_dir=tmp_path, quiet=True)
    engine, _ = load_engine(tmp_path / "exp-sqrt", card, engine="sklearn", allow_version_mismatch=False)
    rows = [{"dose": 1.0}, {"dose": -3.0}, {"dose": 2.0}, {"dose": 1e300}]
    with pytest.raises(PredictionFailedError) as caught:
        Predictor(card, engine).predict(rows)
    assert caught.value.failures == {
        1: "the model raised ValueError: Input X contains NaN.",
        3: "the model's answer is not a number (NaN or infinity), most likely from a value one of its "
        "transforms cannot take (e.g. the log of a negative number)",
    }


class Raises(CountingEngine):
    """The real engine's interface, raising ``error`` on every call: a model's own code failing."""

    def __init__(self, engine, error):
        super().__init__(engine)
        self.error = error

    def run(self, rows):
        raise self.error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RuntimeError(), "the model raised RuntimeError: "),
        (ValueError("  " + "x" * 300 + "\nthe traceback's next line"), "the model raised ValueError: " + "x" * 200),
    ],
    ids=["no message", "a long message"],
)
def test_predictor_reports_the_first_line_of_the_models_error_cut_to_200_characters(dose, error, reason):
    card, predictor = dose
    with pytest.raises(PredictionFailedError) as caught:
        Predictor(card, Raises(predictor.engine, error)).predict([GOOD])
    assert caught.value.failures == {0: reason}


FINAL_STEPS = {"label-only": LinearSVC, "logistic": LogisticRegression}  # LinearSVC has no predict_proba


def _save_scaled(models_dir, final: str):
    """Scaled doses into ``FINAL_STEPS[final]``, saved as ``dose-<final>`` (both convert to ONNX)."""
    frame, target = dose_frame()
    model = make_pipeline(StandardScaler(), FINAL_STEPS[final]()).fit(frame.iloc[:150], target.iloc[:150])
    return save_bundle(model, frame.iloc[:150], target.iloc[:150], f"dose-{final}", features_test=frame.iloc[150:],
                       target_test=target.iloc[150:], models_dir=models_dir, quiet=True)


@pytest.mark.parametrize("engine", ["sklearn", "onnx"])
def test_a_label_only_classifier_answers_each_row_with_its_class_alone(tmp_path, engine):
    card = saved(_save_scaled, tmp_path, "label-only")
    loaded, _ = load_engine(tmp_path / card.name, card, engine=engine, allow_version_mismatch=False)
    estimator, _ = load_estimator(tmp_path / card.name, card, allow_version_mismatch=False)
    frame, _ = dose_frame()
    outcomes = Predictor(card, loaded).predict(frame.iloc[150:].to_dict("records"))
    assert outcomes == [{"prediction": label} for label in estimator.predict(frame.iloc[150:])]


@pytest.mark.parametrize(("rows", "blamed"), [([GOOD, POISON], [1]), ([POISON, GOOD], [0]), ([POISON], [0])])
def test_predictor_names_the_failing_row_of_the_smallest_batches(dose, rows, blamed):
    # From two rows on, the failing one is found, not assumed to be the first.
    _, predictor = dose
    with pytest.raises(PredictionFailedError) as caught:
        predictor.predict(rows)
    assert sorted(caught.value.failures) == blamed
    assert caught.value.failures[blamed[0]] == "the model raised ValueError: Input X contains NaN."


def test_a_card_listing_other_classes_than_the_model_answers_is_an_error_naming_both(dose):
    # A bundle whose card and model disagree on the classes cannot pair probabilities with labels.
    card, predictor = dose
    wrong = Predictor(card.model_copy(update={"classes": ["failed", "worked", "unsure"]}), predictor.engine)
    with pytest.raises(ValueError) as refused:
        wrong.predict([GOOD])
    assert str(refused.value) == (
        "the model gives 2 probabilities per row; its card lists ['failed', 'worked', 'unsure']")


def test_a_row_answered_with_nan_probabilities_is_named_alone(tmp_path):
    # onnxruntime checks no input: 1e308, a finite JSON number, is infinite in float32; two such inputs
    # pulling the score opposite ways make it NaN, and every probability of the row. That row is named, by its
    # index, and no other.
    card = saved(_save_scaled, tmp_path, "logistic")
    loaded, _ = load_engine(tmp_path / card.name, card, engine="onnx", allow_version_mismatch=False)
    rows = [GOOD, GOOD, {"dose": 1e308, "weight kg": 1e308}, GOOD]
    # As served: NumPy's overflow warning is only a warning there (the suite makes warnings errors).
    with pytest.raises(PredictionFailedError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        Predictor(card, loaded).predict(rows)
    assert caught.value.failures == {2: _NOT_FINITE}
