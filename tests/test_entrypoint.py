"""`python -m api`, the one entrypoint, configured only by the environment."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import pytest
import requests
from pydantic import ValidationError

from api.serving.card import read_card
from api.settings import Settings, normalise_database_url
from tests.factories import EXAMPLE_MODELS, REPO
from tests.pg import free_port, wait_until

PENGUIN = read_card(EXAMPLE_MODELS / "penguins").examples[0]


def _start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "api"], cwd=REPO, env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_entrypoint_serves_on_the_port_the_platform_gives_and_flushes_on_sigterm(tmp_path):
    port = free_port()
    db = tmp_path / "log.db"
    env = {"PORT": str(port), "HOST": "127.0.0.1", "DATABASE_URL": f"sqlite:///{db}",
           "PREDLOG_FLUSH_SECONDS": "60", "WEB_CONCURRENCY": "1"}
    with _start(env) as server:
        try:
            assert wait_until(lambda: _answers(f"http://127.0.0.1:{port}/ready"), timeout=60)
            for _ in range(20):
                response = requests.post(f"http://127.0.0.1:{port}/models/penguins/predict", json=PENGUIN, timeout=5)
                assert response.status_code == 200
            server.send_signal(signal.SIGTERM)
            output, _ = server.communicate(timeout=30)
        finally:
            server.kill()
    # uvicorn re-raises the signal once its graceful shutdown is done, as a process manager expects.
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
    with sqlite3.connect(db) as connection:
        assert connection.execute("select count(*) from predictions").fetchone()[0] == 20


def test_entrypoint_refuses_a_bad_port_with_a_clear_message():
    with _start({"PORT": "not-a-port"}) as server:
        output, _ = server.communicate(timeout=30)
    assert server.returncode != 0
    assert "port" in output and "valid integer" in output


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/app", "postgresql+psycopg2://u:p@db.example:5432/app"),
        ("postgres://u@h/app?sslmode=disable", "postgresql+psycopg2://u@h/app?sslmode=disable"),
        ("postgresql://u@h/app", "postgresql+psycopg2://u@h/app"),
        ("sqlite:///freeport.db", "sqlite:///freeport.db"),
    ],
)
def test_database_urls_from_every_platform_are_normalised(given, expected):
    assert normalise_database_url(given) == expected
    assert Settings(database_url=given).database_url == expected


def test_settings_are_read_from_the_environment_and_frozen(monkeypatch):
    monkeypatch.setenv("PORT", "10000")
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    monkeypatch.setenv("MODELS_DIR", "/srv/models")
    settings = Settings()
    assert (settings.port, settings.web_concurrency, str(settings.models_dir)) == (10000, 1, "/srv/models")
    with pytest.raises(ValidationError):
        settings.port = 1
