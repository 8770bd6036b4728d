"""A bundle that cannot be served is reported, and every other model keeps serving."""

from __future__ import annotations

import json
import shutil

import pytest

from api.bundle import ARTIFACT_FILE
from tests.factories import EXAMPLE_MODELS, save_tiny_classifier


@pytest.fixture
def models_dir(tmp_path):
    """The example bundles plus one tiny bundle a test may break."""
    target = tmp_path / "models"
    shutil.copytree(EXAMPLE_MODELS, target)
    save_tiny_classifier(target, "tiny-clf")
    return target


def _break(models_dir, how: str) -> None:
    bundle = models_dir / "tiny-clf"
    if how == "corrupt artifact":
        (bundle / ARTIFACT_FILE).write_bytes(b"\x00" * 100)
    elif how == "missing artifact":
        (bundle / ARTIFACT_FILE).unlink()
    elif how == "lfs pointer":
        (bundle / ARTIFACT_FILE).write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n")
    elif how == "broken card":
        (bundle / "card.json").write_text("{")
    elif how == "no card":
        (bundle / "card.json").unlink()
    elif how == "other scikit-learn":
        card = json.loads((bundle / "card.json").read_text())
        card["versions"]["scikit-learn"] = "0.24.2"
        (bundle / "card.json").write_text(json.dumps(card))


FAILURES = {
    "corrupt artifact": "does not match its card",
    "missing artifact": "cannot be read",
    "lfs pointer": "Git LFS pointer",
    "broken card": "not valid JSON",
    "no card": "card.json is missing",
    "other scikit-learn": "saved with scikit-learn 0.24.2",
}


@pytest.mark.parametrize("how", FAILURES)
def test_a_broken_bundle_is_reported_while_the_others_serve(serve, models_dir, how):
    _break(models_dir, how)
    with serve(models_dir=models_dir) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.headers["retry-after"]
        problem = next(d for d in ready.json()["details"] if d["field"] == "models.tiny-clf")
        assert FAILURES[how] in problem["message"]

        listed = {m["name"]: m for m in client.get("/models").json()}
        assert listed["tiny-clf"]["state"] == "failed" and FAILURES[how] in listed["tiny-clf"]["error"]

        refused = client.post("/models/tiny-clf/predict", json={"age": 30})
        assert refused.status_code == 503 and refused.json()["error"] == "model_unavailable"
        assert FAILURES[how] in refused.json()["message"]

        example = json.loads((models_dir / "penguins" / "card.json").read_text())["examples"][0]
        assert client.post("/models/penguins/predict", json=example).status_code == 200


def test_a_version_mismatch_served_anyway_is_visible_in_ready_and_the_card(serve, models_dir):
    _break(models_dir, "other scikit-learn")
    with serve(models_dir=models_dir, allow_version_mismatch=True) as client:
        ready = client.get("/ready")
        assert ready.status_code == 200
        notes = next(m for m in ready.json()["models"] if m["name"] == "tiny-clf")["notes"]
        assert any("0.24.2" in note for note in notes)
        model = client.get("/models/tiny-clf").json()
        assert model["state"] == "ready" and any("0.24.2" in n for n in model["notes"])
        assert model["card"]["versions"]["scikit-learn"] == "0.24.2"


def test_no_models_means_not_ready_with_a_hint(serve, tmp_path):
    with serve(models_dir=tmp_path / "nothing-here") as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "no model bundles found" in ready.json()["message"]
        assert client.get("/models").json() == []
