"""Saving is safe to get wrong: a bundle that would not load is refused with what to do,
a failed save leaves nothing behind, and a good one reports what it will cost to serve."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from api.bundle import main
from api.errors import BundleError
from api.serving.bundle import ARTIFACT_FILE, ONNX_FILE, load_engine, save_bundle
from api.serving.card import read_card
from tests.factories import ASCII_LOCALE, EXAMPLE_MODELS, REPO, mixed_frame, mixed_pipeline, save_tiny_classifier


def _entries(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_function_from_the_training_script_is_refused_with_the_fix_and_nothing_is_left(tmp_path):
    # Run as a student would: a script outside the repository, with the venv's Python.
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import numpy as np, pandas as pd
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer
        from api.serving.bundle import save_bundle

        def clip_negative(x):
            return np.clip(x, 0, None)

        frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
        target = pd.Series(np.arange(40) % 2, name="odd")
        model = make_pipeline(FunctionTransformer(clip_negative), LogisticRegression()).fit(frame, target)
        save_bundle(model, frame, target, "clipped", models_dir="models")
    """))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert ("BundleError: `clip_negative` is defined in the script or notebook you ran (module __main__), "
            "which the server cannot import: move it into a module of the repository") in done.stderr
    assert not (tmp_path / "models").exists()


def test_a_bundle_that_does_not_load_in_a_fresh_python_is_refused_and_the_older_one_kept(tmp_path, monkeypatch):
    # A function importable only in the saving process (its folder was put on sys.path by hand).
    helpers = tmp_path / "notebook_helpers"
    helpers.mkdir()
    (helpers / "my_transforms.py").write_text("import numpy as np\n\ndef shift(x):\n    return x + 1\n")
    monkeypatch.syspath_prepend(str(helpers))
    from my_transforms import shift

    models = tmp_path / "models"
    old = save_tiny_classifier(models, "shifted")
    frame, target = mixed_frame()
    numbers = frame[["age"]]
    model = make_pipeline(FunctionTransformer(shift), LogisticRegression()).fit(numbers, target)
    with pytest.raises(BundleError) as caught:
        save_bundle(model, numbers, target, "shifted", models_dir=models, quiet=True)
    assert caught.value.message.startswith("the bundle does not load in a fresh Python the way the server loads it:")
    assert "the module 'my_transforms' it needs is not importable here" in caught.value.message
    assert _entries(models) == ["shifted"]
    assert read_card(models / "shifted") == old
    # verify=False skips that check (it costs a fresh Python): the student takes the risk, and the bundle is written.
    unchecked = save_bundle(model, numbers, target, "shifted", models_dir=models, quiet=True, verify=False)
    assert _entries(models) == ["shifted"] and read_card(models / "shifted") == unchecked != old


def test_a_bundle_is_checked_in_a_hidden_folder_the_server_skips_inside_a_models_folder_made_for_it(
    tmp_path, monkeypatch
):
    from api.serving import bundle_probe

    checking = bundle_probe.verify_in_fresh_python
    seen = []

    def watched(staged, card, estimator):
        seen.append((staged.parent.parent, staged.parent.name, _entries(staged.parent.parent)))
        return checking(staged, card, estimator)

    monkeypatch.setattr(bundle_probe, "verify_in_fresh_python", watched)
    models = tmp_path / "project" / "models"  # neither folder exists yet
    save_tiny_classifier(models)
    [(where, folder, listing)] = seen
    # Hidden (the registry skips names starting with "."), named after the model, beside the bundles.
    assert where == models and folder.startswith(".saving-tiny-clf-") and listing == [folder]
    assert _entries(models) == ["tiny-clf"]


def test_a_card_saved_where_the_locale_is_not_utf_8_is_utf_8(tmp_path):
    # A Windows laptop writes text as cp1252 by default, a bare container as ASCII; the server reads UTF-8.
    # Escaped: an ASCII locale cannot decode the command line itself otherwise.
    script = textwrap.dedent("""
        import locale, sys
        from tests.factories import mixed_frame, mixed_pipeline
        from api.serving.bundle import save_bundle
        frame, target = mixed_frame()
        save_bundle(mixed_pipeline(frame, target), frame, target, "penguins", models_dir=sys.argv[1],
                    description="Ad\\u00e9lie, Gentoo \\u2014 and Chinstrap", quiet=True)
        print(locale.getpreferredencoding(False))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, env=ASCII_LOCALE,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() != "UTF-8"  # the check means something only where the default is not UTF-8
    assert read_card(tmp_path / "penguins").description == "Adélie, Gentoo — and Chinstrap"


def test_a_lambda_is_refused_before_anything_is_written(tmp_path):
    frame, target = mixed_frame()
    numbers = frame[["age"]]
    model = make_pipeline(FunctionTransformer(lambda x: x * 2), LogisticRegression()).fit(numbers, target)
    with pytest.raises(BundleError, match=r"cannot be saved .*A lambda, or a function defined inside another"):
        save_bundle(model, numbers, target, "doubled", models_dir=tmp_path / "models", quiet=True)
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("name", ["my model", "Model", "a/b", "-x", ""])
def test_a_name_that_cannot_be_a_url_is_refused_first(tmp_path, name):
    frame, target = mixed_frame()
    with pytest.raises(BundleError, match="cannot name a model: use lower-case letters, digits, '-' and '_'"):
        save_bundle(mixed_pipeline(frame, target), frame, target, name, models_dir=tmp_path, quiet=True)
    assert _entries(tmp_path) == []


def test_unnamed_columns_and_mixed_columns_get_a_fix(tmp_path):
    frame, target = mixed_frame()
    numbers = frame[["age"]].set_axis([0], axis=1)
    with pytest.raises(BundleError, match=r"columns are not named \(they are \[0\]…\): give them names"):
        save_bundle(LogisticRegression().fit(numbers, target), numbers, target, "unnamed", models_dir=tmp_path)
    mixed = pd.DataFrame({"code": ["a", 1, "b", 2.5] * 10})
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit(mixed, [0, 1] * 20)
    with pytest.raises(BundleError) as caught:
        save_bundle(model, mixed, pd.Series([0, 1] * 20), "mixed", models_dir=tmp_path)
    assert caught.value.message.startswith(
        "column 'code' holds values of several kinds: float (2.5), int (1), str ('a'); the API needs one kind"
    )


def test_save_prints_engine_sizes_metrics_cost_and_next_step(tmp_path, capsys):
    card = save_tiny_classifier(tmp_path)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"saved {tmp_path / 'tiny-clf'} (classification, 4 inputs)"
    fields = {line.split()[0]: line.split(None, 1)[1] for line in lines[1:]}
    assert list(fields) == ["engine", "files", "held-out", "serving", "next"]
    assert fields["engine"] == f"scikit-learn — no ONNX model: {card.onnx_unavailable}" if card.onnx is None else (
        fields["engine"].startswith("onnx (onnxruntime), agrees with scikit-learn on"))
    assert fields["files"].startswith(f"model.joblib {card.artifact.size_bytes / 1e6:.2f} MB")
    assert fields["held-out"] == (f"accuracy {card.metrics['accuracy']:.3g}, roc_auc {card.metrics['roc_auc']:.3g} "
                                  "on 30 held-out rows")
    assert "in a fresh Python" in fields["serving"] and "MB of the 512 MB" in fields["serving"]
    assert fields["next"] == (f"MODELS_DIR={tmp_path.resolve()} make run (in {REPO}), "
                              "then open http://127.0.0.1:8000/docs")


def test_a_leftover_folder_is_skipped_and_does_not_keep_ready_at_503(serve, tmp_path):
    models = tmp_path / "models"
    save_tiny_classifier(models)
    (models / "half-saved").mkdir()
    (models / "half-saved" / "model.partial").write_bytes(b"\x00" * 10)
    (models / ".saving-x-123").mkdir()
    with serve(models_dir=models) as client:
        assert client.get("/ready").status_code == 200
        assert [m["name"] for m in client.get("/models").json()] == ["tiny-clf"]


def test_a_lost_onnx_model_is_served_on_scikit_learn_with_a_note(tmp_path):
    bundle = tmp_path / "penguins"
    shutil.copytree(EXAMPLE_MODELS / "penguins", bundle)
    (bundle / ONNX_FILE).unlink()
    card = read_card(bundle)
    engine, notes = load_engine(bundle, card, engine="auto", allow_version_mismatch=False)
    assert engine.name == "sklearn"
    assert notes == [f"{bundle / ONNX_FILE} cannot be read (No such file or directory); served on scikit-learn instead"]
    with pytest.raises(BundleError, match="cannot be read"):
        load_engine(bundle, card, engine="onnx", allow_version_mismatch=False)


def test_an_onnx_file_onnxruntime_cannot_read_is_named_and_the_pickle_serves(tmp_path):
    import hashlib

    import onnxruntime

    bundle = tmp_path / "penguins"
    shutil.copytree(EXAMPLE_MODELS / "penguins", bundle)
    garbage = b"\x08\x07 not a graph" * 30
    (bundle / ONNX_FILE).write_bytes(garbage)
    card = read_card(bundle)
    onnx = card.onnx.model_copy(update={"sha256": hashlib.sha256(garbage).hexdigest()})
    card = card.model_copy(update={"onnx": onnx})
    try:  # onnxruntime's own words, cut as the message cuts them
        onnxruntime.InferenceSession(garbage, providers=["CPUExecutionProvider"])
    except Exception as exc:  # whatever onnxruntime raises is what the message names
        why = f"{type(exc).__name__}: {str(exc)[:200]}"
    with pytest.raises(BundleError) as refused:
        load_engine(bundle, card, engine="onnx", allow_version_mismatch=False)
    unreadable = f"{bundle / ONNX_FILE} could not be loaded by onnxruntime ({why})"
    assert refused.value.message == f"{unreadable}; re-save the bundle."
    engine, notes = load_engine(bundle, card, engine="auto", allow_version_mismatch=False)
    assert engine.name == "sklearn"
    assert notes == [f"{unreadable}; served on scikit-learn instead"]


def test_engine_onnx_names_why_a_bundle_has_no_onnx_model(tmp_path):
    bundle = tmp_path / "penguins"
    shutil.copytree(EXAMPLE_MODELS / "penguins", bundle)
    older = read_card(bundle).model_copy(update={"onnx": None, "onnx_unavailable": None})
    with pytest.raises(BundleError) as refused:
        load_engine(bundle, older, engine="onnx", allow_version_mismatch=False)
    assert refused.value.message == (
        "penguins has no ONNX model (it was saved before freeport converted bundles), but ENGINE=onnx "
        "requires one: set ENGINE=auto to serve it on scikit-learn."
    )
    unconvertible = older.model_copy(update={"onnx_unavailable": "skl2onnx has no converter for AddRatio"})
    with pytest.raises(BundleError) as refused:
        load_engine(bundle, unconvertible, engine="onnx", allow_version_mismatch=False)
    assert refused.value.message.startswith("penguins has no ONNX model (skl2onnx has no converter for AddRatio), ")


def test_check_explains_a_missing_or_empty_models_folder(tmp_path, capsys):
    assert main(["check", "--models-dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'nope'} is not a folder: pass --models-dir, or save a bundle there first\n"
    )
    assert main(["check", "--models-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().out.startswith(f"no bundles in {tmp_path}: save one with save_bundle()")


def test_cli_names_code_columns_a_csv_turned_into_numbers(tmp_path, capsys):
    import joblib
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"code": rng.choice(["1931", "2040", "0077"], 60), "size": rng.uniform(1, 9, 60).round(2)})
    frame["label"] = np.where(frame["code"] == "2040", "yes", "no")
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["code"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(frame[["code", "size"]], frame["label"])
    joblib.dump(model, tmp_path / "model.joblib")
    frame.to_csv(tmp_path / "train.csv", index=False)
    common = ["save", "--estimator", str(tmp_path / "model.joblib"), "--data", str(tmp_path / "train.csv"),
              "--target", "label", "--name", "codes", "--models-dir", str(tmp_path / "models")]
    assert main(common) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the estimator cannot predict the first rows of its own training frame (TypeError:")
    assert err.endswith("The CSV gave these columns as numbers: code, size; if the model was trained on any of them "
                        "as text, name them: --text-columns code\n")
    assert main([*common, "--text-columns", "code"]) == 0
    card = read_card(tmp_path / "models" / "codes")
    assert card.features[0].categories == ["0077", "1931", "2040"]
    assert json.loads((tmp_path / "models" / "codes" / "card.json").read_text())["name"] == "codes"
    assert (tmp_path / "models" / "codes" / ARTIFACT_FILE).exists()


def test_save_bundle_keeps_labels_and_refuses_a_label_that_names_nothing(tmp_path):
    from tests.factories import mixed_frame, mixed_pipeline

    frame, target = mixed_frame()
    model = mixed_pipeline(frame, target)
    card = save_bundle(model, frame, target, "labelled", models_dir=tmp_path, quiet=True, verify=False,
                       labels={"income k$": "Yearly income"}, category_labels={"colour": {"red": "Red paint"}},
                       target_label="purchase")
    assert card == read_card(tmp_path / "labelled")
    income, colour = card.features[1], card.features[2]
    assert (income.label, colour.label, colour.category_labels) == ("Yearly income", "", {"red": "Red paint"})
    assert (card.target, card.target_label) == (target.name, "purchase")

    with pytest.raises(BundleError, match=r"labels name columns the model does not read: \['height'\]"):
        save_bundle(model, frame, target, "typo", models_dir=tmp_path, quiet=True, labels={"height": "Height"})
    with pytest.raises(BundleError, match=r"'colour' name categories not seen in training: \['purple'\]"):
        save_bundle(model, frame, target, "typo", models_dir=tmp_path, quiet=True,
                    category_labels={"colour": {"purple": "Purple"}})
    with pytest.raises(BundleError, match=r"category_labels for 'age', which is an integer, not a category"):
        save_bundle(model, frame, target, "typo", models_dir=tmp_path, quiet=True, category_labels={"age": {"1": "x"}})
    assert _entries(tmp_path) == ["labelled"]
