"""Which engine serves a bundle: ONNX when it converts, scikit-learn when it cannot, as ENGINE says."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

from api.serving.bundle import ONNX_FILE
from tests.engines.test_agreement import convertible_frame
from tests.factories import EXAMPLE_MODELS, save_tiny_classifier


def save_tiny_trees(models_dir, name="tiny-trees"):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from api.serving.bundle import save_bundle

    frame, target = convertible_frame()
    model = make_pipeline(
        ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["airline"])], remainder="passthrough"),
        HistGradientBoostingClassifier(max_iter=10, random_state=0),
    ).fit(frame, target)
    return save_bundle(model, frame, target, name, features_test=frame.iloc[:100],
                       target_test=target.iloc[:100], models_dir=models_dir)


def test_pipeline_skl2onnx_cannot_convert_still_serves_on_scikit_learn(tmp_path, serve):
    # One SimpleImputer over a text column and a boolean one: skl2onnx needs one type per step.
    card = save_tiny_classifier(tmp_path)
    assert card.onnx is None and card.onnx_unavailable == (
        "skl2onnx cannot convert a step that takes text and numbers or booleans together; served on scikit-learn"
    )
    assert not (tmp_path / "tiny-clf" / ONNX_FILE).exists()
    with serve(models_dir=tmp_path) as client:
        model = client.get("/models/tiny-clf").json()
        assert model["state"] == "ready" and model["engine"] == "sklearn"
        answer = client.post("/models/tiny-clf/predict", json=card.examples[0])
        assert answer.status_code == 200 and answer.json()["prediction"] in ("yes", "no")


ROW = {"distance": 900, "speed": None, "airline": "DL"}


def test_models_lists_each_models_engine_and_engine_sklearn_overrides(tmp_path, serve):
    save_tiny_trees(tmp_path)
    save_tiny_classifier(tmp_path)
    with serve(models_dir=tmp_path) as client:
        engines = {m["name"]: m["engine"] for m in client.get("/models").json()}
        assert engines == {"tiny-trees": "onnx", "tiny-clf": "sklearn"}
        onnx_answer = client.post("/models/tiny-trees/predict", json=ROW)
    with serve(models_dir=tmp_path, engine="sklearn") as client:
        assert {m["engine"] for m in client.get("/models").json()} == {"sklearn"}
        sklearn_answer = client.post("/models/tiny-trees/predict", json=ROW)
    assert onnx_answer.status_code == sklearn_answer.status_code == 200
    assert onnx_answer.json()["prediction"] == sklearn_answer.json()["prediction"]
    for label, p in onnx_answer.json()["probabilities"].items():
        assert abs(p - sklearn_answer.json()["probabilities"][label]) < 1e-3


def test_engine_onnx_refuses_a_bundle_without_one_and_says_how_to_serve_it(tmp_path, serve):
    save_tiny_classifier(tmp_path)
    save_tiny_trees(tmp_path)
    with serve(models_dir=tmp_path, engine="onnx") as client:
        failed = client.get("/models/tiny-clf").json()
        assert failed["state"] == "failed" and "ENGINE=auto" in failed["error"]
        refused = client.post("/models/tiny-clf/predict", json={})
        assert refused.status_code == 503 and refused.json()["error"] == "model_unavailable"
        assert client.get("/models/tiny-trees").json()["engine"] == "onnx"


def test_onnx_only_service_never_imports_scikit_learn_or_pandas(tmp_path):
    # The three example bundles all carry model.onnx, and so does a freshly saved one.
    for name in ("flight-delay", "fuel-economy", "penguins"):
        shutil.copytree(EXAMPLE_MODELS / name, tmp_path / "models" / name)
    save_tiny_trees(tmp_path / "models")
    script = textwrap.dedent(
        f"""
        import sys
        from fastapi.testclient import TestClient
        from api.app import create_app
        from api.settings import Settings

        settings = Settings(models_dir={str(tmp_path / "models")!r},
                            database_url={f"sqlite:///{tmp_path / 'p.db'}"!r})
        with TestClient(create_app(settings)) as client:
            for model in client.get("/models").json():
                assert model["engine"] == "onnx", model
                example = model["card"]["examples"][0]
                single = client.post(model["predict_url"], json=example)
                batch = client.post(model["batch_url"], json={{"rows": [example] * 3}})
                assert single.status_code == batch.status_code == 200, (single.text, batch.text)
        loaded = sorted(m for m in ("sklearn", "pandas", "scipy") if m in sys.modules)
        print("loaded:", loaded)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=EXAMPLE_MODELS.parent,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loaded: []" in done.stdout


def test_resaving_a_bundle_with_a_pipeline_that_cannot_convert_removes_the_old_onnx_model(tmp_path, serve):
    save_tiny_trees(tmp_path, name="model-a")
    assert (tmp_path / "model-a" / ONNX_FILE).exists()
    card = save_tiny_classifier(tmp_path, name="model-a")
    assert card.onnx is None and not (tmp_path / "model-a" / ONNX_FILE).exists()
    with serve(models_dir=tmp_path) as client:
        assert client.get("/models/model-a").json()["engine"] == "sklearn"
        assert client.post("/models/model-a/predict", json=card.examples[0]).status_code == 200
