"""Saving a bundle infers its card; loading one checks it before trusting it."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from api.bundle import main
from api.errors import BundleError
from api.serving.bundle import ARTIFACT_FILE, load_estimator, save_bundle
from api.serving.card import read_card
from tests.factories import mixed_frame, mixed_pipeline, save_tiny_classifier, save_tiny_regressor, saved


def test_save_bundle_infers_each_feature_from_the_training_frame(tmp_path):
    card = save_tiny_classifier(tmp_path)
    features = {f.name: f for f in card.features}
    assert list(features) == ["age", "income k$", "colour", "member"]
    assert features["age"].type == "integer" and not features["age"].nullable
    assert features["age"].description == "Age in years"
    assert features["income k$"].type == "number" and features["income k$"].nullable
    assert features["colour"].type == "category" and features["colour"].categories == ["blue", "green", "red"]
    assert features["colour"].nullable
    assert features["member"].type == "boolean"
    frame, _ = mixed_frame()
    train = frame.iloc[:90]
    assert features["age"].minimum == train["age"].min() and features["age"].maximum == train["age"].max()
    assert features["age"].default == round(train["age"].median())
    assert features["colour"].default == train["colour"].mode().iloc[0]


def test_save_bundle_records_task_metrics_examples_versions_and_checksum(tmp_path):
    card = save_tiny_classifier(tmp_path)
    assert card.task == "classification" and card.classes == ["no", "yes"] and card.target == "bought"
    assert set(card.metrics) == {"accuracy", "roc_auc"} and 0.5 < card.metrics["accuracy"] <= 1
    assert card.metrics_rows == 30 and card.training_rows == 90
    assert len(card.examples) == 3 and all(set(e) == set(card.feature_names) for e in card.examples)
    assert card.versions["scikit-learn"] == metadata.version("scikit-learn")
    assert {"python", "numpy", "pandas"} <= set(card.versions)
    payload = (tmp_path / "tiny-clf" / ARTIFACT_FILE).read_bytes()
    assert card.artifact.sha256 == hashlib.sha256(payload).hexdigest()
    assert card.artifact.size_bytes == len(payload)
    assert card.version == card.artifact.sha256[:12]
    assert read_card(tmp_path / "tiny-clf") == card


def test_save_bundle_regression_metrics(tmp_path):
    card = save_tiny_regressor(tmp_path)
    assert card.task == "regression" and card.classes is None
    assert set(card.metrics) == {"mae", "rmse", "r2"} and card.metrics["r2"] > 0.9


def test_save_bundle_titles_a_model_after_its_name_keeps_its_description_and_profiles_its_training_rows(tmp_path):
    frame, target = mixed_frame()
    unnamed = target.to_numpy()  # e.g. y = frame.pop("bought").values: no name to call the target by
    card = save_bundle(mixed_pipeline(frame, unnamed), frame, unnamed, "loan_risk-v2", models_dir=tmp_path,
                       description="Whether a customer buys.", quiet=True)
    assert card.title == "Loan risk v2"  # the /docs heading and the demo's tab
    assert card.target == "target"
    assert card.description == "Whether a customer buys."
    assert card.estimator == "Pipeline(ColumnTransformer, LogisticRegression)"  # named in /docs
    # The baseline drift reports compare live inputs with: every feature, over every training row.
    assert card.training_profile.rows == len(frame) == 120
    assert set(card.training_profile.features) == set(card.feature_names)
    colour = card.training_profile.features["colour"]
    assert colour.values == ["blue", "green", "red"]
    assert sum(colour.shares) + colour.null_share == pytest.approx(1.0)
    assert read_card(tmp_path / "loan_risk-v2") == card
    # When, in UTC whatever the laptop's time zone; the card is indented for a person to read and edit.
    assert abs(datetime.now(UTC) - datetime.fromisoformat(card.created_at)) < timedelta(minutes=5)
    assert card.created_at.endswith("+00:00")
    written = (tmp_path / "loan_risk-v2" / "card.json").read_text(encoding="utf-8")
    assert written.startswith('{\n  "name": "loan_risk-v2",\n')


def test_save_bundle_refuses_an_estimator_fitted_on_arrays(tmp_path):
    frame, target = mixed_frame()
    numbers = frame[["age"]]
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(numbers.to_numpy(), target)
    with pytest.raises(BundleError, match=r"fitted without column names \(on a NumPy array\): fit it on the pandas"):
        save_bundle(model, numbers, target, "arrays", models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_save_bundle_refuses_date_columns_with_a_fix(tmp_path):
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=4)})
    model = DummyClassifier().fit(frame, [0, 1, 0, 1])
    with pytest.raises(BundleError, match="turn it into numbers"):
        save_bundle(model, frame, pd.Series([0, 1, 0, 1]), "dates", models_dir=tmp_path)


def test_load_estimator_returns_a_working_estimator(tmp_path):
    card = save_tiny_classifier(tmp_path)
    estimator, notes = load_estimator(tmp_path / "tiny-clf", card, allow_version_mismatch=False)
    assert notes == [] and list(estimator.classes_) == ["no", "yes"]


def test_load_estimator_rejects_a_changed_artifact(tmp_path):
    card = save_tiny_classifier(tmp_path)
    path = tmp_path / "tiny-clf" / ARTIFACT_FILE
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(BundleError, match="does not match its card .*Re-save the bundle"):
        load_estimator(tmp_path / "tiny-clf", card, allow_version_mismatch=False)


def test_load_estimator_explains_a_git_lfs_pointer(tmp_path):
    card = save_tiny_classifier(tmp_path)
    (tmp_path / "tiny-clf" / ARTIFACT_FILE).write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12345\n"
    )
    with pytest.raises(BundleError) as refused:
        load_estimator(tmp_path / "tiny-clf", card, allow_version_mismatch=False)
    assert refused.value.message == (
        f"{tmp_path / 'tiny-clf' / ARTIFACT_FILE} is a Git LFS pointer, not the model: the platform cloned the "
        "repository without LFS. Commit the file itself (bundles are small), or run `git lfs pull` in the build "
        "command."
    )


def _with_sklearn_version(tmp_path, version: str):
    card_path = tmp_path / "tiny-clf" / "card.json"
    raw = json.loads(card_path.read_text())
    raw["versions"]["scikit-learn"] = version
    card_path.write_text(json.dumps(raw))
    return read_card(tmp_path / "tiny-clf")


def test_load_estimator_refuses_another_scikit_learn_version_by_default(tmp_path):
    save_tiny_classifier(tmp_path)
    card = _with_sklearn_version(tmp_path, "1.0.2")
    with pytest.raises(BundleError) as refused:
        load_estimator(tmp_path / "tiny-clf", card, allow_version_mismatch=False)
    installed = metadata.version("scikit-learn")
    assert refused.value.message == (
        f"saved with scikit-learn 1.0.2, but {installed} is installed: pin scikit-learn==1.0.2 in "
        f"requirements.txt, or re-save the bundle with {installed} (or set ALLOW_VERSION_MISMATCH=true to "
        "serve it anyway)."
    )


def test_load_estimator_serves_another_version_when_allowed_and_says_so(tmp_path):
    save_tiny_classifier(tmp_path)
    card = _with_sklearn_version(tmp_path, "1.0.2")
    estimator, notes = load_estimator(tmp_path / "tiny-clf", card, allow_version_mismatch=True)
    assert hasattr(estimator, "predict_proba")
    assert any("1.0.2" in note and "ALLOW_VERSION_MISMATCH" in note for note in notes)


def _replaced_artifact(bundle: Path, card, payload: bytes):
    """``bundle``'s card once its model.joblib holds ``payload``, checksum included, as if it had been saved so."""
    (bundle / ARTIFACT_FILE).write_bytes(payload)
    return card.model_copy(update={"artifact": card.artifact.model_copy(
        update={"sha256": hashlib.sha256(payload).hexdigest()})})


def _dumped(estimator) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    return buffer.getvalue()


# A pickle is a program that names what to import: these name what a student's bundle most often lacks.
MAIN_ONLY = b"c__main__\nadd_ratio\n."  # a function defined in the notebook that saved the model
MODULE_GONE = b"cstudent_features\nadd_ratio\n."  # a module of theirs the repository does not have


@pytest.mark.parametrize(
    ("payload", "error", "advice"),
    [
        (
            MAIN_ONLY,
            "AttributeError: module '__main__' has no attribute 'add_ratio'",
            "the model uses a function or class that was defined in the script or notebook that saved it "
            "(module __main__): move it into a module of the repository, import it from there, and save again.",
        ),
        (
            MODULE_GONE,
            "ModuleNotFoundError: No module named 'student_features'",
            "the module 'student_features' it needs is not importable here: add it to the repository or requirements.",
        ),
        (
            b"not a pickle at all" * 10,
            "KeyError: 110",
            "the Python or library versions likely differ from those in the card's `versions`.",
        ),
    ],
    ids=["defined-in-main", "module-missing", "garbage"],
)
def test_load_estimator_says_why_a_pickle_does_not_load_and_what_to_do(tmp_path, payload, error, advice):
    bundle = tmp_path / "tiny-clf"
    card = _replaced_artifact(bundle, saved(save_tiny_classifier, tmp_path), payload)
    with pytest.raises(BundleError) as refused:
        load_estimator(bundle, card, allow_version_mismatch=False)
    assert refused.value.message == f"{bundle / ARTIFACT_FILE} could not be unpickled ({error}); {advice}"


def test_read_card_explains_a_missing_or_broken_card(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="card.json is missing"):
        read_card(tmp_path / "empty")
    save_tiny_classifier(tmp_path)
    (tmp_path / "tiny-clf" / "card.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        read_card(tmp_path / "tiny-clf")
    (tmp_path / "tiny-clf" / "card.json").write_text('{"name": "tiny-clf"}')
    with pytest.raises(BundleError, match="does not follow the card format"):
        read_card(tmp_path / "tiny-clf")


def test_cli_saves_from_files_and_checks_every_bundle(tmp_path, capsys):
    frame, target = mixed_frame()
    model = mixed_pipeline(frame, target)
    joblib.dump(model, tmp_path / "est.joblib")
    frame.assign(bought=target).iloc[:90].to_csv(tmp_path / "train.csv", index=False)
    frame.assign(bought=target).iloc[90:].to_csv(tmp_path / "test.csv", index=False)
    models = tmp_path / "models"
    code = main(["save", "--estimator", str(tmp_path / "est.joblib"), "--data", str(tmp_path / "train.csv"),
                 "--test", str(tmp_path / "test.csv"), "--target", "bought", "--name", "from-cli",
                 "--models-dir", str(models)])
    assert code == 0
    card = read_card(models / "from-cli")
    assert card.feature_names == ["age", "income k$", "colour", "member"] and "accuracy" in card.metrics
    assert main(["check", "--models-dir", str(models)]) == 0
    (models / "from-cli" / ARTIFACT_FILE).write_bytes(b"x")
    assert main(["check", "--models-dir", str(models)]) == 1
    assert "FAIL from-cli" in capsys.readouterr().out


def test_cli_names_a_missing_target_column(tmp_path, capsys):
    frame, target = mixed_frame()
    joblib.dump(mixed_pipeline(frame, target), tmp_path / "est.joblib")
    frame.to_csv(tmp_path / "train.csv", index=False)
    code = main(["save", "--estimator", str(tmp_path / "est.joblib"), "--data", str(tmp_path / "train.csv"),
                 "--target", "bought", "--name", "x", "--models-dir", str(tmp_path)])
    assert code == 2 and "no column 'bought'" in capsys.readouterr().err


def test_bundled_examples_are_small_and_load_cleanly():
    from tests.factories import EXAMPLE_MODELS

    for bundle in sorted(EXAMPLE_MODELS.iterdir()):
        card = read_card(bundle)
        assert card.artifact.size_bytes < 5 * 1024 * 1024
        estimator, notes = load_estimator(bundle, card, allow_version_mismatch=False)
        assert notes == []
        assert list(np.asarray(estimator.feature_names_in_)) == card.feature_names


def test_a_warning_while_unpickling_is_passed_on_as_a_note(tmp_path, monkeypatch):
    bundle = tmp_path / "tiny-clf"
    card = saved(save_tiny_classifier, tmp_path)
    estimator, _ = load_estimator(bundle, card, allow_version_mismatch=False)
    # Pickled as if by scikit-learn 1.0.2 while the card says the installed version: scikit-learn warns on load.
    monkeypatch.setattr("sklearn.base.__version__", "1.0.2")
    payload = _dumped(estimator)
    monkeypatch.undo()
    _, notes = load_estimator(bundle, _replaced_artifact(bundle, card, payload), allow_version_mismatch=False)
    installed = re.escape(metadata.version("scikit-learn"))
    said = re.compile(rf"Trying to unpickle estimator (\w+) from version 1\.0\.2 when using version {installed}\.")
    assert notes and all(said.match(note) for note in notes)
    assert "Pipeline" in {said.match(note).group(1) for note in notes}


def test_a_pickle_whose_columns_are_not_the_cards_is_refused_with_both_lists(tmp_path):
    from sklearn.linear_model import LogisticRegression

    card = saved(save_tiny_classifier, tmp_path)
    bundle = tmp_path / "tiny-clf"
    listed = card.feature_names + card.unused_columns
    renamed = card.model_copy(update={"features": [card.features[0].model_copy(update={"name": "years"}),
                                                   *card.features[1:]]})
    with pytest.raises(BundleError) as refused:
        load_estimator(bundle, renamed, allow_version_mismatch=False)
    assert refused.value.message == (
        f"{bundle / ARTIFACT_FILE} expects features {listed} but its card lists {['years', *listed[1:]]}; "
        "re-save the bundle so the two agree."
    )
    # A model.joblib replaced by hand with one fitted on a bare array knows no column names at all.
    bare = _replaced_artifact(bundle, card, _dumped(LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])))
    with pytest.raises(BundleError) as refused:
        load_estimator(bundle, bare, allow_version_mismatch=False)
    assert refused.value.message == (
        f"{bundle / ARTIFACT_FILE} expects features [] but its card lists {listed}; "
        "re-save the bundle so the two agree."
    )


def test_save_bundle_by_default_writes_to_models_here_verifies_and_keeps_three_examples(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    frame, target = mixed_frame()
    card = save_bundle(mixed_pipeline(frame, target), frame, target, "by_default")
    assert card == read_card(tmp_path / "models" / "by_default")
    assert (card.title, card.description, card.target_label, len(card.examples)) == ("By default", "", "", 3)
    assert "  serving   loads and answers in " in capsys.readouterr().out  # loaded in a fresh Python first


def test_a_module_importable_only_beside_the_notebook_is_refused_as_the_server_would(tmp_path, monkeypatch):
    # A notebook's folder is on its own sys.path, not on the server's (which runs in the repository):
    # the fresh Python that checks a save runs there too, so a pickle needing such a module is refused now.
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "beside_notebook.py").write_text("def doubled(x):\n    return x * 2\n")
    monkeypatch.chdir(notebooks)
    monkeypatch.syspath_prepend(str(notebooks))
    beside_notebook = importlib.import_module("beside_notebook")
    frame, target = mixed_frame()
    frame = frame[["age"]]
    model = make_pipeline(FunctionTransformer(beside_notebook.doubled), LogisticRegression()).fit(frame, target)
    with pytest.raises(BundleError) as refused:
        save_bundle(model, frame, target, "beside", models_dir=tmp_path / "models")
    assert str(refused.value).startswith("the bundle does not load in a fresh Python the way the server loads it: ")
    assert "the module 'beside_notebook' it needs is not importable here: add it to the repository" in str(
        refused.value
    )
    assert not (tmp_path / "models" / "beside").exists()
