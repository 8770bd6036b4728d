"""The README stays true: its opening commands and its bring-your-own-model recipe work."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from api.serving.card import read_card
from tests.factories import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_run_and_test_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_readme_bring_your_own_model_recipe_serves_a_new_model(tmp_path, serve):
    section = README.split("## Bring your own model", 1)[1]
    recipe = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    recipe = "\n".join(line[3:] if line.startswith("   ") else line for line in recipe.splitlines())
    # From a folder outside the repository, with no PYTHONPATH: `make install` put freeport in the venv.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", recipe], cwd=tmp_path, env=env, check=True, timeout=300,
                          capture_output=True, text=True)
    report = done.stdout.splitlines()
    assert report[0] == "saved models/diabetes (regression, 10 inputs)"
    assert report[1].startswith("  engine    onnx (onnxruntime), agrees with scikit-learn on 111 held-out and")

    card = read_card(tmp_path / "models" / "diabetes")
    assert card.task == "regression" and "r2" in card.metrics and card.onnx is not None
    with serve(models_dir=tmp_path / "models") as client:
        response = client.post("/models/diabetes/predict", json=card.examples[0])
        assert response.status_code == 200 and isinstance(response.json()["prediction"], float)
        docs = client.get("/openapi.json").json()["components"]["schemas"]["DiabetesFeatures"]
        assert "Body mass index" in docs["properties"]["bmi"]["description"]
