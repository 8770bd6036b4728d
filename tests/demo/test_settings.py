"""The demo is configured by environment variables, read in one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from demo_app.settings import DemoSettings

DEMO_APP = Path(__file__).resolve().parents[2] / "demo_app"


def test_settings_defaults_run_against_a_local_api():
    settings = DemoSettings.from_env({})
    assert settings.api_url == "http://127.0.0.1:8000"
    assert settings.api_key is None and settings.wake_seconds == 120


def test_settings_come_from_the_environment():
    settings = DemoSettings.from_env({
        "API_URL": "https://my-api.onrender.com/", "API_KEY": "s3cret", "DEMO_TITLE": "Penguins!",
        "DEMO_DESCRIPTION": "Guess the species.", "API_WAKE_SECONDS": "45",
    })
    assert settings.api_url == "https://my-api.onrender.com"  # no trailing slash to double up
    assert (settings.api_key, settings.title, settings.description) == ("s3cret", "Penguins!", "Guess the species.")
    assert settings.wake_seconds == 45


def test_settings_name_a_folder_of_cards_to_show_while_the_api_sleeps(tmp_path):
    assert DemoSettings.from_env({"DEMO_CARDS_DIR": str(tmp_path)}).cards_dir == tmp_path
    assert DemoSettings.from_env({}).cards_dir is None
    with pytest.raises(ValueError, match="DEMO_CARDS_DIR must be a folder of model cards"):
        DemoSettings.from_env({"DEMO_CARDS_DIR": str(tmp_path / "nowhere")})


def test_settings_empty_values_mean_the_default():
    assert DemoSettings.from_env({"API_KEY": "", "DEMO_TITLE": "  "}) == DemoSettings()


@pytest.mark.parametrize(
    ("environ", "message"),
    [({"API_URL": "my-api.onrender.com"}, "must start with http"), ({"API_WAKE_SECONDS": "soon"}, "number"),
     ({"API_WAKE_SECONDS": "0"}, "positive")],
)
def test_settings_refuse_values_that_cannot_work(environ, message):
    with pytest.raises(ValueError, match=message):
        DemoSettings.from_env(environ)


def test_settings_is_the_only_module_that_reads_the_environment():
    readers = set()
    for path in DEMO_APP.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                readers.add(path.name)
    assert readers == {"settings.py"}


def test_settings_demo_never_imports_the_api_package():
    for path in DEMO_APP.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "api" or n.startswith("api.") for n in names), f"{path.name} imports {names}"
    probe = "import sys, demo_app; print(sorted(m for m in sys.modules if m.split('.')[0] == 'api'))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=DEMO_APP.parent, capture_output=True, text=True, check=True, timeout=120,
    )
    assert loaded.stdout.strip() == "[]"
