"""The repository's GitHub workflows: valid for GitHub, runnable on a fork with no settings,
running the README's own test command, and publishing the Space only when asked to."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.factories import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
README = (REPO / "README.md").read_text()


def _workflow(name: str) -> dict:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as the string.
    loaded = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_is_valid_for_github(path: Path):
    # check-jsonschema ships GitHub's workflow schema: this works offline.
    result = subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
         str(path)], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readmes_test_command_with_its_services_on_every_push_and_pull_request():
    ci = _workflow("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    (job,) = ci["jobs"].values()
    postgres, redis = job["services"]["postgres"], job["services"]["redis"]
    assert postgres["ports"] == ["5432:5432"] and redis["ports"] == ["6379:6379"]
    assert postgres["env"] == {"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_DB": "test"}
    readme_test = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()[1].split("#")[0].strip()
    assert readme_test == "make test"
    assert job["steps"][-1]["run"].endswith(f" {readme_test}")
    # A fork has none of the owner's secrets or variables: CI must not need any.
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    assert "secrets." not in text and "vars." not in text


def test_the_space_is_published_after_ci_passes_and_only_when_asked_to():
    space = _workflow("space.yml")
    assert space["on"]["workflow_run"]["workflows"] == [_workflow("ci.yml")["name"]]
    (job,) = space["jobs"].values()
    assert "vars.HF_SPACE != ''" in job["if"] and "conclusion == 'success'" in job["if"]
    assert job["steps"][-1]["run"].rstrip().endswith("python scripts/publish_space.py")


def test_fly_deploys_only_after_ci_passes_and_only_when_asked_to():
    fly = _workflow("fly.yml")
    assert fly["on"]["workflow_run"]["workflows"] == [_workflow("ci.yml")["name"]]
    (job,) = fly["jobs"].values()
    assert job["if"] == "vars.FLY_DEPLOY == 'true' && github.event.workflow_run.conclusion == 'success'"
    assert job["steps"][0]["with"]["ref"] == "${{ github.event.workflow_run.head_sha }}"


def test_publish_space_carries_the_space_without_caches_and_refuses_without_a_token(tmp_path):
    import shutil

    import publish_space

    copy = tmp_path / "space"
    shutil.copytree(REPO / "space", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "demo_app" / "__pycache__").mkdir()
    (copy / "demo_app" / "__pycache__" / "forms.cpython-311.pyc").write_bytes(b"\0")
    (copy / ".gradio").mkdir()
    (copy / ".gradio" / "flagged.csv").write_text("x")
    listed = publish_space.files_to_publish(copy)
    assert {"README.md", "app.py", "requirements.txt", "demo_app/forms.py", "cards/flight-delay.json"} <= set(listed)
    assert [p for p in listed if "__pycache__" in p or p.startswith(".gradio")] == []
    dry = subprocess.run([sys.executable, "scripts/publish_space.py", "--dry-run"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0 and "  demo_app/forms.py" in dry.stdout.splitlines()
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_SPACE")}
    refused = subprocess.run([sys.executable, "scripts/publish_space.py"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr == "error: set HF_TOKEN (a write token) and HF_SPACE (owner/name) to publish\n"


def test_browser_script_says_how_to_get_a_chromium_instead_of_hanging():
    result = subprocess.run(["bash", "scripts/browser.sh"], cwd=REPO, env={**os.environ, "CHROMIUM": "/nonexistent"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.startswith("browser: no Chromium at /nonexistent. Install one and point CHROMIUM at it")
    assert "python -m playwright install chromium" in result.stdout
