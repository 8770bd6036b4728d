"""The README stays true: its opening commands and its bring-your-own-model recipe work."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from api.card import read_card
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
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", recipe], cwd=tmp_path, env=env, check=True, timeout=120)

    card = read_card(tmp_path / "models" / "diabetes")
    assert card.task == "regression" and "r2" in card.metrics
    with serve(models_dir=tmp_path / "models") as client:
        response = client.post("/models/diabetes/predict", json=card.examples[0])
        assert response.status_code == 200 and isinstance(response.json()["prediction"], float)
        docs = client.get("/openapi.json").json()["components"]["schemas"]["DiabetesFeatures"]
        assert "Body mass index" in docs["properties"]["bmi"]["description"]
