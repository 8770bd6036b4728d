"""Start-up's heap is set aside from the garbage collector once the service has settled.

Without it, a full collection walked every object start-up made and stalled a request
for 60 ms about 3 s after start (scripts/bench.py's tail table). Each case runs in a
fresh interpreter: a freeze lasts for the life of the process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.factories import EXAMPLE_MODELS

REPO = Path(__file__).resolve().parent.parent

_SERVE_TWICE = textwrap.dedent(
    """
    import gc, json, sys, time
    from pathlib import Path
    from fastapi.testclient import TestClient
    from api.app import create_app
    from api.settings import Settings

    work = Path(sys.argv[1])
    counts = {"before": gc.get_freeze_count()}

    def serve_once(label):
        settings = Settings(models_dir=sys.argv[2], database_url=f"sqlite:///{work / label}.db",
                            predlog_spill_dir=work / f"spill-{label}")
        with TestClient(create_app(settings)) as client:
            client.app.state.registry.wait_loaded(60)
            counts[f"{label} loaded"] = gc.get_freeze_count()
            example = client.app.state.registry.get("penguins").card.examples[0]
            assert client.post("/models/penguins/predict", json=example).status_code == 200
            log = client.app.state.prediction_log
            deadline = time.monotonic() + 30
            while log.stats().written < 1 and time.monotonic() < deadline:  # written: the log has connected
                time.sleep(0.01)
            counts[f"{label} logged"] = gc.get_freeze_count()

    serve_once("first")
    serve_once("second")
    print(json.dumps(counts))
    """
)


def test_the_heap_is_frozen_once_the_log_has_connected_and_only_once_per_process(tmp_path):
    out = subprocess.run([sys.executable, "-c", _SERVE_TWICE, str(tmp_path), str(EXAMPLE_MODELS)],
                         cwd=REPO, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0
    # Everything start-up made, models included, is set aside: tens of thousands of objects at least.
    assert counts["first logged"] > 50_000
    # A second app in the same process (as in the tests) freezes nothing more: what it made stays
    # collectable. (The count may fall: frozen objects are still freed when nothing refers to them.)
    assert counts["second logged"] <= counts["first logged"]


def test_freezing_reports_whether_this_call_did_it():
    script = ("import gc; from api.heap import freeze_start_up_heap as f; "
              "print(f(), gc.get_freeze_count() > 0, f())")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "True", "False"], out.stderr
