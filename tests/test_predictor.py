"""A model that fails on a row the schema accepted costs that row alone, and says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression

from api.bundle import load_engine, save_bundle
from api.errors import PredictionFailedError
from api.predictor import MAX_ISOLATION_CALLS, MAX_NAMED_FAILURES, Predictor
from tests.factories import dose_frame, save_log_classifier

GOOD = {"dose": 12.5, "weight kg": 70.0}
POISON = {"dose": -3.0, "weight kg": 70.0}  # log1p(-3) is NaN: the regression then raises


@pytest.fixture(scope="module")
def dose(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    card = save_log_classifier(models)
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
