"""scripts/retrain.py against a real API: a retrained example judged on the bundled model's held-out rows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import requests

from tests.demo.servers import ApiProcess
from tests.factories import EXAMPLE_MODELS, REPO

ADMIN = "admin-key-for-the-retrain-test-01"


def _retrain(url: str, *args: str, key: str = ADMIN) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "retrain.py"), "--api", url, "--model", "penguins", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, "ADMIN_API_KEY": key},
    )


def test_a_retrained_model_is_judged_on_the_same_rows_submitted_and_promoted_only_when_no_worse(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(EXAMPLE_MODELS / "penguins", models / "penguins")
    api = ApiProcess(tmp_path, models_dir=models, env={"ADMIN_API_KEY": ADMIN}).start()
    try:
        first = _retrain(api.url, "--query", "island != 'Torgersen'", "--reason", "no Torgersen birds", "--promote")
        versions = requests.get(f"{api.url}/models/penguins/versions", timeout=10).json()
        audit = requests.get(f"{api.url}/admin/audit", params={"model": "penguins"}, headers={"X-API-Key": ADMIN},
                             timeout=10).json()
        wrong_key = _retrain(api.url, key="not-the-admin-key-at-all-000000")
        nothing = _retrain(api.url, "--query", "island == 'Atlantis'")
    finally:
        api.stop()
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == ("penguins: training on 232 of 275 training rows (island != 'Torgersen'); "
                        "judged on 69 held-out rows")
    assert "uploaded: accuracy 1.0000 on these rows (scored here), against 1.0000 for the active version" in lines[1]
    new = lines[1].split()[1]
    assert lines[2].startswith(f"promoted: {new} is active, c2517191ef33 is the previous version")
    assert versions["active"] == new and versions["previous"] == "c2517191ef33"
    assert [a["action"] for a in audit][:3] == ["promote", "upload", "evaluation_set"]
    assert audit[1]["reason"] == "no Torgersen birds"
    assert wrong_key.returncode == 1 and "not submitted: 403 wrong_api_key" in wrong_key.stderr
    assert nothing.returncode == 2 and "keeps no training row" in nothing.stderr
