"""The local rehearsal of every platform's deploy (scripts/simulate_deploy.py), end to end.

Each run builds a fresh virtualenv from the manifest's own build steps, starts the
service as the platform would against a fresh database on the real PostgreSQL
server, and serves 1,000 predictions while its memory is sampled.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.deploy.conftest import REHEARSAL_REPORTS
from tests.factories import REPO

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.mark.parametrize("platform", ["render", "railway", "fly", "procfile"])
def test_rehearsal_passes_within_three_quarters_of_the_memory_limit(platform, tmp_path):
    report_file = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "scripts/simulate_deploy.py", platform, "--json", str(report_file)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    REHEARSAL_REPORTS.append(result.stdout.splitlines())  # printed at the end of the run
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_file.read_text())
    assert report["ok"] and report["error"] is None
    assert report["workers"] == 1
    assert report["peak_rss_mb"] < 0.75 * report["limit_mb"] == 384
    assert report["predictions_logged"] >= 1000
    assert f"peak RSS         {report['peak_rss_mb']:.1f} MB" in result.stdout


def test_rehearsal_fails_loudly_for_an_unknown_platform():
    result = subprocess.run([sys.executable, "scripts/simulate_deploy.py", "heroku"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "invalid choice: 'heroku'" in result.stderr
