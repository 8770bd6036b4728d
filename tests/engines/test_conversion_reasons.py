"""The words a card gives for an ONNX model it does not carry: one readable line, and the closest attempt.

A student reads ``onnx_unavailable`` in /models and in the save report; these pin its wording exactly,
since a reason cut in the wrong place or naming the wrong attempt sends them after the wrong fix.
"""

from __future__ import annotations

import math

import pytest

from api.serving.card import OnnxCheck
from api.serving.engines.convert import _disagreement, _distance, _one_line


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (ValueError("the first line says it\nthe traceback's rest does not"), "ValueError: the first line says it"),
        # skl2onnx names classes by their repr and closes with advice to report upstream: both go.
        (
            RuntimeError(
                "Unable to find a shape calculator for type '<class 'student.features.AddRatio'>'. "
                "You may raise an issue at https://github.com/onnx/sklearn-onnx/issues."
            ),
            "RuntimeError: Unable to find a shape calculator for type 'AddRatio'.",
        ),
        (ValueError(), "ValueError"),
        (ValueError("  \n  "), "ValueError"),
        (KeyError("zone"), "KeyError: 'zone'"),
    ],
)
def test_a_failure_is_told_in_its_first_line_with_its_type(error, line):
    assert _one_line(error) == line


def test_a_long_failure_is_cut_to_120_characters_with_an_ellipsis_and_one_that_fits_is_kept():
    fits = ValueError("x" * (120 - len("ValueError: ")))
    assert _one_line(fits) == f"ValueError: {'x' * 108}"
    too_long = ValueError("x" * 109)
    assert _one_line(too_long) == f"ValueError: {'x' * 107}…"
    assert len(_one_line(too_long)) == 120


def _check(**fields) -> OnnxCheck:
    return OnnxCheck(rows=100, probe_rows=12, **fields)


def test_a_disagreement_names_labels_only_where_there_are_labels():
    classifier = _check(label_agreement=0.98, min_label_agreement=0.999, max_difference=0.0021,
                        max_difference_allowed=0.001)
    assert _disagreement(classifier) == (
        "the ONNX model disagrees with scikit-learn (label agreement 0.98, difference 0.0021 > 0.001, "
        "on 100 held-out and 12 probe rows)"
    )
    regressor = _check(max_difference=5.25, max_difference_allowed=0.0152)
    assert _disagreement(regressor) == (
        "the ONNX model disagrees with scikit-learn (difference 5.25 > 0.0152, on 100 held-out and 12 probe rows)"
    )


def test_the_closest_failed_attempt_is_measured_by_labels_first_then_by_the_difference_over_its_tolerance():
    assert _distance(None) == (math.inf, math.inf)
    # A regressor has no labels: only how many tolerances away its values are.
    assert _distance(_check(max_difference=0.03, max_difference_allowed=0.01)) == (0.0, pytest.approx(3.0))
    # Probabilities: the share of rows given another class, then the drift over its 1e-3 tolerance.
    probabilities = _check(label_agreement=0.75, min_label_agreement=0.999, max_difference=0.002,
                           max_difference_allowed=0.001)
    assert _distance(probabilities) == (0.25, pytest.approx(2.0))
    # Label-only classifiers allow no difference at all; dividing by it must not fail.
    labels_only = _check(label_agreement=0.5, min_label_agreement=0.999, max_difference=0.0, max_difference_allowed=0.0)
    assert _distance(labels_only) == (0.5, 0.0)
    assert min([None, probabilities, labels_only], key=_distance) is probabilities


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            RuntimeError("FunctionTransformer is not supported unless the transform function is None."),
            "skl2onnx has no converter for FunctionTransformer (a custom function)",
        ),
        (
            RuntimeError("Unable to find a shape calculator for type '<class 'student.features.AddRatio'>'.\n"
                         "It usually means the pipeline being converted contains a transformer or a predictor"),
            "skl2onnx has no converter for AddRatio",
        ),
        (
            RuntimeError("Unable to find converter for type '<class 'sklearn.preprocessing.SplineTransformer'>'"),
            "skl2onnx has no converter for SplineTransformer",
        ),
        (
            RuntimeError("Inputs and outputs should have the same type (tensor(string) != tensor(float))"),
            "skl2onnx cannot convert a step that takes text and numbers or booleans together",
        ),
        (
            NotImplementedError("Option 'nocl' is not supported for this model."),
            "skl2onnx cannot convert it (NotImplementedError: Option 'nocl' is not supported for this model.)",
        ),
    ],
    ids=["function-transformer", "no-shape-calculator", "no-converter", "mixed-types", "anything-else"],
)
def test_why_skl2onnx_could_not_convert_names_the_step_when_it_can(error, reason):
    from api.serving.engines.convert import _why_not

    assert _why_not(error) == reason
