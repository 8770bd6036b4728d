"""What save_bundle refuses before it writes anything, in the words a student reads (api/serving/bundle.py).

Each refusal names what is wrong and the fix; these pin the whole sentence, since a refusal that names the
wrong column, or cuts its list in the wrong place, sends the student after the wrong fix.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from api.errors import BundleError
from api.serving.bundle import apply_labels, save_bundle
from api.serving.card import FeatureSpec
from tests.factories import mixed_frame, mixed_pipeline

FEATURES = [
    FeatureSpec(name="age", type="integer", minimum=18, maximum=79, label="Age in years"),
    FeatureSpec(name="income", type="number", minimum=1, maximum=99),
    FeatureSpec(name="colour", type="category", categories=["blue", "red"], category_labels={"red": "Red"}),
    FeatureSpec(name="rooms", type="category", categories=list(range(1, 14))),
]


def double_it(x):
    return x * 2


def halve_it(x):
    return x / 2


class Shifted(TransformerMixin, BaseEstimator):
    """A student's own step."""

    def fit(self, features, target=None):
        self.feature_names_in_ = np.asarray(features.columns, dtype=object)
        return self

    def transform(self, features):
        return features + 1


# As Python names what `python train.py` or a notebook defines: pickle would store them by that name,
# which the server, another program, cannot import.
for _from_the_students_script in (double_it, halve_it, Shifted):
    _from_the_students_script.__module__ = "__main__"


def _refusal(call, *args, **kwargs) -> str:
    with pytest.raises(BundleError) as refused:
        call(*args, **kwargs)
    return refused.value.message


def test_labels_are_attached_as_text_and_features_without_any_keep_their_own():
    labelled = apply_labels(FEATURES, {"income": "Yearly income", "rooms": 7}, {"rooms": {1: "One room", 2: 2}})
    assert [(f.name, f.label, f.category_labels) for f in labelled] == [
        ("age", "Age in years", {}),
        ("income", "Yearly income", {}),
        ("colour", "", {"red": "Red"}),
        ("rooms", "7", {"1": "One room", "2": "2"}),
    ]
    assert apply_labels(FEATURES) == FEATURES


def test_a_label_for_a_column_the_model_does_not_read_is_refused_with_the_columns_it_does():
    assert _refusal(apply_labels, FEATURES, {"height": "Height", "zone": "Zone"}, {"zone": {}, "area": {}}) == (
        "labels name columns the model does not read: ['height', 'zone', 'area']; "
        "its columns are ['age', 'income', 'colour', 'rooms']"
    )


@pytest.mark.parametrize(("name", "kind"), [("age", "an integer"), ("income", "a number")])
def test_category_labels_for_a_column_that_is_no_category_are_refused(name, kind):
    assert _refusal(apply_labels, FEATURES, None, {name: {"1": "one"}}) == (
        f"category_labels for {name!r}, which is {kind}, not a category"
    )


def test_category_labels_for_categories_never_seen_name_at_most_ten_of_them():
    assert _refusal(apply_labels, FEATURES, None, {"colour": {"purple": "Purple", "red": "Red"}}) == (
        "category_labels for 'colour' name categories not seen in training: ['purple']; "
        "its categories are ['blue', 'red']"
    )
    for count, more in [(10, ""), (11, " …")]:  # ten are all listed; the eleventh is said to exist
        strays = {n: f"{n} rooms" for n in range(20, 20 + count)}
        assert _refusal(apply_labels, FEATURES, None, {"rooms": strays}) == (
            "category_labels for 'rooms' name categories not seen in training: "
            f"{sorted(str(n) for n in strays)[:10]}{more}; its categories are {list(range(1, 14))}"
        )


@pytest.fixture(scope="module")
def fitted():
    frame, target = mixed_frame()
    return frame, target, mixed_pipeline(frame, target)


def test_features_that_are_no_dataframe_are_refused_with_how_to_make_one(fitted, tmp_path):
    frame, target, model = fitted
    assert _refusal(save_bundle, model, frame.to_numpy(), target, "m", models_dir=tmp_path) == (
        "features must be the pandas DataFrame the model was fitted on, so that each column has a name "
        "(got ndarray); e.g. pd.DataFrame(X, columns=[...])."
    )


def test_unnamed_columns_are_listed_five_at_most(tmp_path):
    numbers = pd.DataFrame(np.arange(14.0).reshape(2, 7))
    model = LogisticRegression().fit(numbers, [0, 1])
    assert _refusal(save_bundle, model, numbers, pd.Series([0, 1]), "m", models_dir=tmp_path) == (
        "the training DataFrame's columns are not named (they are [0, 1, 2, 3, 4]…): give them names, "
        "e.g. frame.columns = ['age', 'income', ...], fit the model again and save it."
    )


def test_an_estimator_fitted_on_an_array_is_refused_with_how_to_fit_it(fitted, tmp_path):
    frame, target, _ = fitted
    model = LogisticRegression().fit(frame[["age"]].to_numpy(), target)
    assert _refusal(save_bundle, model, frame[["age"]], target, "m", models_dir=tmp_path) == (
        "LogisticRegression was fitted without column names (on a NumPy array): fit it on the pandas DataFrame "
        "itself, model.fit(frame, target), so the API knows each input's name."
    )


def test_columns_the_estimator_was_fitted_on_must_all_be_in_features(fitted, tmp_path):
    frame, target, model = fitted
    assert _refusal(save_bundle, model, frame.drop(columns=["colour", "age"]), target, "m", models_dir=tmp_path) == (
        "the estimator was fitted on columns missing from features: ['age', 'colour']"
    )


@pytest.mark.parametrize("given", ["features_test", "target_test"])
def test_held_out_rows_come_with_their_targets(fitted, tmp_path, given):
    frame, target, model = fitted
    held_out = {"features_test": frame, "target_test": target}
    assert _refusal(save_bundle, model, frame, target, "m", models_dir=tmp_path, **{given: held_out[given]}) == (
        "pass features_test and target_test together, or neither"
    )


def test_an_estimator_that_cannot_predict_its_own_training_rows_is_refused_in_its_own_words(fitted, tmp_path):
    frame, target, model = fitted
    text_ages = frame.assign(age=["young"] * len(frame))
    with pytest.raises(ValueError) as own:  # what scikit-learn says, of which the refusal quotes a line
        model.predict(text_ages.head(5))
    first_line = str(own.value).strip().splitlines()[0][:200]
    assert _refusal(save_bundle, model, text_ages, target, "m", models_dir=tmp_path) == (
        f"the estimator cannot predict the first rows of its own training frame (ValueError: {first_line}); "
        "pass the frame it was fitted on, with the same column types."
    )
    # An error without a message (a student's own step raising a bare exception) is named by its type alone.
    def predict_without_a_message(rows):
        raise RuntimeError

    mute = copy.deepcopy(model)
    mute.predict = predict_without_a_message
    assert _refusal(save_bundle, mute, frame, target, "m", models_dir=tmp_path).startswith(
        "the estimator cannot predict the first rows of its own training frame (RuntimeError: ); pass the frame"
    )


def test_a_name_that_cannot_be_a_url_is_refused_with_the_rule_and_an_example(fitted, tmp_path):
    frame, target, model = fitted
    assert _refusal(save_bundle, model, frame, target, "My Model", models_dir=tmp_path) == (
        "'My Model' cannot name a model: use lower-case letters, digits, '-' and '_' (at most 63, starting with "
        "a letter or digit), e.g. 'house-prices'; it becomes the URL."
    )


def test_code_from_the_script_that_was_run_is_refused_each_piece_named_once_with_the_fix(tmp_path):
    frame, target = mixed_frame()
    numbers = frame[["age"]]
    fix = ("defined in the script or notebook you ran (module __main__), which the server cannot import: "
           "move it into a module of the repository (e.g. models_code.py beside api/), import it from there, "
           "fit again and save.")
    one = make_pipeline(FunctionTransformer(double_it), LogisticRegression()).fit(numbers, target)
    assert _refusal(save_bundle, one, numbers, target, "doubled", models_dir=tmp_path) == f"`double_it` is {fix}"
    several = make_pipeline(
        FunctionTransformer(double_it), FunctionTransformer(halve_it), Shifted(), FunctionTransformer(double_it),
        LogisticRegression(),
    ).fit(numbers, target)
    assert _refusal(save_bundle, several, numbers, target, "several", models_dir=tmp_path) == (
        f"`Shifted`, `double_it`, `halve_it` are {fix}"
    )
    # The estimator itself a class of the script's own.
    own = Shifted().fit(numbers)
    assert _refusal(save_bundle, own, numbers, target, "own", models_dir=tmp_path) == f"`Shifted` is {fix}"
    assert list(tmp_path.iterdir()) == []
