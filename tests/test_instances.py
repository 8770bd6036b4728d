"""Two server processes sharing one PostgreSQL database: what one is told, the other serves within 5 s."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.factories import REPO, dose_frame, save_dose_version
from tests.pg import free_port, fresh_database, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ADMIN = "instances-admin-key-0123456789"
HEADERS = {"X-API-Key": ADMIN}
WITHIN_SECONDS = 5.0


def _start(tmp_path: Path, label: str, models: Path, url: str) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": url, "ADMIN_API_KEY": ADMIN,
           "MODELS_DIR": str(models), "PREDLOG_SPILL_DIR": str(tmp_path / f"spill-{label}"),
           "MODEL_CACHE_DIR": str(tmp_path / f"cache-{label}"), "RATE_LIMIT_PREDICT": "1000000/minute",
           "LOG_FORMAT": "text"}
    with (tmp_path / f"api-{label}.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "api"], cwd=REPO, env=env, stdout=log, stderr=log)
    return f"http://127.0.0.1:{port}", process


def _example() -> dict:
    frame, _ = dose_frame()
    return json.loads(frame.iloc[[0]].to_json(orient="records"))[0]


def _version(base: str, name: str = "dose") -> str | None:
    try:
        response = requests.post(f"{base}/models/{name}/predict", json=_example(), timeout=5)
    except requests.RequestException:
        return None
    return response.json()["version"] if response.status_code == 200 else None


def _upload(base: str, folder: Path, name: str = "dose", card_changes: dict | None = None) -> requests.Response:
    card = json.loads((folder / "dose" / "card.json").read_text())
    card.update(card_changes or {})
    body = {"card": card, "files": {"model.onnx": base64.b64encode((folder / "dose" / "model.onnx").read_bytes())
                                    .decode()}, "reason": "from the other instance"}
    return requests.post(f"{base}/admin/models/{name}/versions", json=body, headers=HEADERS, timeout=30)


def test_instances_a_promotion_and_a_new_model_on_one_are_served_by_the_other_within_5_s(tmp_path):
    base_dir, twin_dir = tmp_path / "base", tmp_path / "twin"
    save_dose_version(base_dir, "base")
    save_dose_version(twin_dir, "twin")
    frame, target = dose_frame()
    evaluation = {"rows": json.loads(frame.iloc[150:].to_json(orient="records")), "target": target.iloc[150:].tolist()}
    with fresh_database() as url:
        servers = [_start(tmp_path, label, base_dir, url) for label in ("a", "b")]
        try:
            (a, _), (b, _) = servers
            for base, process in servers:
                assert wait_until(lambda base=base: _version(base) == "base", timeout=60), process.poll()
            assert requests.put(f"{a}/admin/models/dose/evaluation", json=evaluation, headers=HEADERS,
                                timeout=30).status_code == 200
            assert _upload(a, twin_dir).status_code == 201
            promoted = requests.post(f"{a}/admin/models/dose/promote", json={"reason": "as good"}, headers=HEADERS,
                                     timeout=30)
            done = time.monotonic()
            assert promoted.status_code == 200, promoted.text
            assert _version(a) == "twin"
            assert wait_until(lambda: _version(b) == "twin", timeout=WITHIN_SECONDS, interval=0.05)
            print(f"\nB served the promotion {time.monotonic() - done:.2f} s after A answered it")

            # A model that B has never had: uploaded on A, it gets its endpoints on B too.
            copy = {"name": "dose-copy", "version": "copy-1", "title": "Dose, uploaded"}
            assert _upload(a, base_dir, name="dose-copy", card_changes=copy).status_code == 201
            done = time.monotonic()
            assert wait_until(lambda: _version(b, "dose-copy") == "copy-1", timeout=WITHIN_SECONDS, interval=0.05)
            print(f"B served the new model {time.monotonic() - done:.2f} s after A stored it")
            schemas = requests.get(f"{b}/openapi.json", timeout=10).json()["components"]["schemas"]
            assert "DoseCopyFeatures" in schemas
        finally:
            for _, process in servers:
                process.kill()
                process.wait(10)
