"""Every ONNX model agrees with its scikit-learn twin within the tolerance its card records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from api.serving.bundle import ONNX_FILE, load_engine, save_bundle
from api.serving.card import ModelCard, read_card
from tests.factories import EXAMPLE_MODELS

EXAMPLES = sorted(p.name for p in EXAMPLE_MODELS.iterdir() if (p / "card.json").is_file())


def random_rows(
    card: ModelCard, count: int, seed: int = 0, *, null_share: float = 0.1, unknown: str | None = None, beyond: int = 0
) -> list[dict]:
    """Rows drawn from each feature's recorded range or categories, missing values included.

    ``unknown`` joins the categories drawn from; integers may go ``beyond`` their range by that much.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        row = {}
        for spec in card.features:
            if spec.nullable and rng.random() < null_share:
                row[spec.name] = None
            elif spec.type == "category":
                row[spec.name] = rng.choice([*spec.categories, *([unknown] if unknown else [])]).item()
            elif spec.type == "integer":
                row[spec.name] = int(rng.integers(int(spec.minimum) - beyond, int(spec.maximum) + 1 + beyond))
            elif spec.type == "number":
                row[spec.name] = float(rng.uniform(spec.minimum, spec.maximum))
            else:
                row[spec.name] = bool(rng.random() < 0.5)
        rows.append(row)
    return rows


def assert_agrees(bundle, card: ModelCard, rows: list[dict]) -> None:
    onnx, _ = load_engine(bundle, card, engine="onnx", allow_version_mismatch=False)
    sklearn, _ = load_engine(bundle, card, engine="sklearn", allow_version_mismatch=False)
    assert (onnx.name, sklearn.name) == ("onnx", "sklearn")
    converted, reference = np.asarray(onnx.run(rows), float), np.asarray(sklearn.run(rows), float)
    check = card.onnx.check
    assert np.abs(converted - reference).max() <= check.max_difference_allowed
    if card.task == "classification":
        agreement = np.mean(converted.argmax(axis=1) == reference.argmax(axis=1))
        assert agreement >= check.min_label_agreement


@pytest.mark.parametrize("name", [n for n in EXAMPLES if read_card(EXAMPLE_MODELS / n).onnx])
def test_example_onnx_model_agrees_with_scikit_learn_within_its_recorded_tolerance(name):
    card = read_card(EXAMPLE_MODELS / name)
    assert card.onnx.check.passed and card.onnx.check.rows >= 50
    assert (EXAMPLE_MODELS / name / ONNX_FILE).stat().st_size == card.onnx.size_bytes < 5_000_000
    assert_agrees(EXAMPLE_MODELS / name, card, card.examples + random_rows(card, 2000))


def test_example_bundles_each_carry_an_onnx_model_or_say_why_not():
    for name in EXAMPLES:
        card = read_card(EXAMPLE_MODELS / name)
        assert (card.onnx is None) == (card.onnx_unavailable is not None), name
        assert (EXAMPLE_MODELS / name / ONNX_FILE).exists() == (card.onnx is not None), name


def convertible_frame(rows: int = 400, seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "distance": rng.integers(50, 3000, rows).astype("int64"),
            "speed": rng.normal(400, 60, rows),
            "airline": rng.choice(["AA", "DL", "UA"], rows).astype(object),
        }
    )
    frame.loc[frame.index % 9 == 0, "speed"] = np.nan  # trees route NaN; ONNX must too
    late = (frame["distance"] / frame["speed"].fillna(400) > 3) | (frame["airline"] == "UA")
    return frame, pd.Series(np.where(late, "late", "on time"), name="arrival")


def test_save_bundle_writes_an_agreeing_onnx_model_and_records_the_check(tmp_path):
    frame, target = convertible_frame()
    model = make_pipeline(
        ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["airline"])],
                          remainder="passthrough"),
        HistGradientBoostingClassifier(max_iter=30, random_state=0),
    ).fit(frame.iloc[:300], target.iloc[:300])
    card = save_bundle(model, frame.iloc[:300], target.iloc[:300], "tiny-trees", features_test=frame.iloc[300:],
                       target_test=target.iloc[300:], models_dir=tmp_path)
    assert card.onnx is not None and card.onnx_unavailable is None
    assert card.onnx.check.rows == 100 and card.onnx.check.label_agreement >= 0.999
    saved = json.loads((tmp_path / "tiny-trees" / "card.json").read_text())
    assert saved["onnx"]["check"]["max_difference_allowed"] == card.onnx.check.max_difference_allowed
    assert_agrees(tmp_path / "tiny-trees", card, random_rows(card, 500, seed=1))


def test_onnx_file_changed_after_saving_is_refused_and_the_checked_pickle_serves(tmp_path):
    frame, target = convertible_frame()
    model = make_pipeline(
        ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["airline"])], remainder="passthrough"),
        HistGradientBoostingClassifier(max_iter=5, random_state=0),
    ).fit(frame, target)
    card = save_bundle(model, frame, target, "tiny-trees", models_dir=tmp_path)
    path = tmp_path / "tiny-trees" / ONNX_FILE
    path.write_bytes(path.read_bytes()[:-10])
    from api.errors import BundleError

    with pytest.raises(BundleError, match="does not match its card"):
        load_engine(tmp_path / "tiny-trees", card, engine="onnx", allow_version_mismatch=False)
    engine, notes = load_engine(tmp_path / "tiny-trees", card, engine="auto", allow_version_mismatch=False)
    assert engine.name == "sklearn"
    assert len(notes) == 1 and "does not match its card" in notes[0]
    assert notes[0].endswith("served on scikit-learn instead")


@pytest.mark.parametrize(
    ("agreement", "difference", "passed"),
    [(1.0, 0.0, True), (0.999, 0.001, True), (0.998, 0.0, False), (1.0, 0.0011, False)],
)
def test_onnx_check_passes_only_within_both_tolerances(agreement, difference, passed):
    from api.serving.card import OnnxCheck

    check = OnnxCheck(rows=1000, label_agreement=agreement, min_label_agreement=0.999,
                      max_difference=difference, max_difference_allowed=0.001)
    assert check.passed is passed


def _classifier_card(tmp_path):
    from tests.factories import save_tiny_classifier, saved

    return saved(save_tiny_classifier, tmp_path)


def test_a_tie_broken_the_other_way_by_float32_still_agrees_but_a_real_flip_does_not(tmp_path):
    from api.serving.engines.parity import compare

    card = _classifier_card(tmp_path)
    reference = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]] * 400)
    tie_flipped = reference.copy()
    tie_flipped[0] = [0.49999994, 0.50000006]  # a forest's 50/50 vote, decided by rounding
    assert compare(card, (reference, tie_flipped), (None, None)).label_agreement == 1.0
    real_flip = reference.copy()
    real_flip[1] = [0.1, 0.9]
    assert compare(card, (reference, real_flip), (None, None)).label_agreement == pytest.approx(1 - 1 / 1200)


def test_an_onnx_model_with_another_number_of_classes_or_values_never_passes(tmp_path):
    from api.serving.engines.parity import compare

    card = _classifier_card(tmp_path)
    reference = np.array([[0.9, 0.1], [0.2, 0.8]])
    three_classes = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])
    check = compare(card, (reference, three_classes), (None, None))
    assert (check.label_agreement, check.max_difference, check.passed) == (0.0, float("inf"), False)
    # Agreeing held-out rows do not hide probe rows answered in another shape.
    check = compare(card, (reference, reference), (reference, reference[:1]))
    assert (check.label_agreement, check.max_difference, check.passed) == (0.0, float("inf"), False)
    regression = card.model_copy(update={"task": "regression", "classes": None})
    check = compare(regression, (np.array([1.0, 2.0]), np.array([[1.0, 2.0]])), (None, None))
    assert (check.max_difference, check.passed) == (float("inf"), False)


def test_the_check_records_its_rows_its_tolerances_and_the_converters_versions(tmp_path):
    from importlib import metadata

    from api.serving.engines.parity import compare

    card = _classifier_card(tmp_path)
    labels_only = card.model_copy(update={"probabilities": False})
    check = compare(labels_only, (np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])), (None, None))
    assert check.model_dump(exclude={"versions"}) == {
        "rows": 4, "probe_rows": 0, "label_agreement": 0.75, "min_label_agreement": 0.999,
        "max_difference": 0.0, "max_difference_allowed": 0.0, "conversion": None,
    }
    assert check.versions == {p: metadata.version(p) for p in ("skl2onnx", "onnx", "onnxruntime")}
    # Regressors: the tolerance is relative to the largest value predicted, but never tighter than 1e-4.
    regression = card.model_copy(update={"task": "regression", "classes": None})
    small = compare(regression, (None, None), (np.array([0.25, -0.5]), np.array([0.25, -0.5001])))
    assert (small.rows, small.probe_rows, small.max_difference_allowed) == (0, 2, 1e-4)
    assert small.max_difference == pytest.approx(1e-4) and small.label_agreement is None
    large = compare(regression, (np.array([150.0, -320.0]), np.array([150.0, -320.0])), (np.array([9.0]),) * 2)
    assert large.max_difference_allowed == pytest.approx(0.032) and large.max_difference == 0.0
    with pytest.raises(ValueError, match="^no rows that scikit-learn answers to compare the ONNX model on$"):
        compare(regression, (None, None), (None, None))


def test_a_row_onnx_answers_with_nan_is_the_largest_difference_of_all(tmp_path):
    from api.serving.engines.parity import compare

    card = _classifier_card(tmp_path)
    reference = np.array([[0.9, 0.1], [0.2, 0.8]])
    check = compare(card, (reference, np.array([[0.9, 0.1], [np.nan, np.nan]])), (None, None))
    assert (check.max_difference, check.passed) == (float("inf"), False)
