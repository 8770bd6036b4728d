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


@pytest.mark.parametrize(
    ("platform", "manifest", "old", "new", "says"),
    [
        # Render then runs its own default WEB_CONCURRENCY: two copies of every model in 512 MB.
        ("render", "render.yaml", '      - key: WEB_CONCURRENCY\n        value: "1"\n', "",
         "it would start 2 workers (WEB_CONCURRENCY), each holding every model: set WEB_CONCURRENCY=1 in render.yaml"),
        ("render", "render.yaml", "    healthCheckPath: /health\n", "",
         "it has no health check: set one to /health in render.yaml"),
        ("fly", "fly.toml", 'PORT = "8080"', 'PORT = "9000"',
         "the service would listen on port 9000 but the platform routes to 8080"),
    ],
)
def test_rehearsal_refuses_what_a_free_instance_cannot_run_before_building(
    manifest_copy, platform, manifest, old, new, says
):
    import simulate_deploy

    text = (manifest_copy / manifest).read_text()
    assert old in text
    (manifest_copy / manifest).write_text(text.replace(old, new))
    report = simulate_deploy.rehearse(platform, root=manifest_copy, schemas=False)
    assert not report.ok and report.build_seconds is None
    assert report.error.startswith("the manifest would not run as a free instance needs:")
    assert says in report.error


def test_rehearsal_without_the_published_schema_fails_unless_told_to_go_on(manifest_copy, monkeypatch):
    import simulate_deploy

    # A checkout with no ../shared/schemas beside it, as a fork's is, on a machine that cannot fetch them.
    monkeypatch.delenv("MANIFEST_SCHEMAS_DIR", raising=False)
    monkeypatch.setenv("MANIFEST_SCHEMAS_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(manifest_copy / "empty-cache"))
    report = simulate_deploy.rehearse("render", root=manifest_copy)
    assert not report.ok and report.build_seconds is None
    assert report.error.startswith("manifest schemas not found (tried ")
    assert report.error.endswith("; or rehearse with --without-schemas")
