"""space/ is ready to upload as it is: fresh, with valid front matter, and running on Python 3.10 and 3.12."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from demo_app.cards import parse_models, read_shipped_models
from tests.demo.servers import REPO, UV, SpaceProcess, find_python

SPACE = REPO / "space"
BUILD = REPO / "scripts" / "build_space.py"
# The colours Hugging Face accepts for a Space's card.
HF_COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}


def _front_matter() -> dict:
    text = (SPACE / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "a Space README starts with YAML front matter"
    return yaml.safe_load(text.split("---\n", 2)[1])


def _gradio_pin() -> str:
    for line in (REPO / "requirements-demo.txt").read_text().splitlines():
        if line.startswith("gradio=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError("requirements-demo.txt pins no gradio")


def test_space_copy_of_the_demo_is_fresh():
    done = subprocess.run([sys.executable, str(BUILD), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"space/ is stale; run `python scripts/build_space.py`:\n{done.stdout}"


def test_space_check_fails_when_the_demo_or_a_card_changes_and_build_fixes_it(tmp_path):
    for part in ("demo_app", "space", "scripts", "models"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "requirements-demo.txt", tmp_path)
    script = tmp_path / "scripts" / "build_space.py"
    with (tmp_path / "demo_app" / "gradio_front" / "style.py").open("a") as handle:
        handle.write("# an edit the Space has not seen\n")
    card = tmp_path / "models" / "penguins" / "card.json"
    card.write_text(card.read_text().replace('"Palmer penguins: which species?"', '"Penguins, retrained"'))
    shutil.copytree(tmp_path / "models" / "penguins", tmp_path / "models" / "puffins")

    stale = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert stale.returncode == 1
    assert stale.stdout.splitlines()[:3] == [
        "stale: space/demo_app/gradio_front/style.py differs from demo_app/gradio_front/style.py",
        "stale: space/cards/puffins.json is missing",
        "stale: space/cards/penguins.json differs from models/penguins/card.json",
    ]

    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, timeout=60)
    fresh = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert fresh.returncode == 0, fresh.stdout
    # The cards only: a model's artifacts stay out of the Space.
    shipped = tmp_path / "space" / "cards"
    assert sorted(p.name for p in shipped.iterdir()) == ["flight-delay.json", "fuel-economy.json", "penguins.json",
                                                          "puffins.json"]
    assert (shipped / "penguins.json").read_bytes() == card.read_bytes()


def test_space_ships_the_cards_the_live_api_serves(client):
    # The forms a first visitor sees while the API sleeps are the ones it shows once awake.
    shipped = parse_models(read_shipped_models(SPACE / "cards"))
    assert [m.name for m in shipped] == ["flight-delay", "fuel-economy", "penguins"]
    assert shipped == parse_models(client.fetch_models())


def test_space_front_matter_is_what_hugging_face_needs():
    meta = _front_matter()
    assert meta["sdk"] == "gradio"
    assert str(meta["sdk_version"]) == _gradio_pin()
    assert str(meta["python_version"]).startswith(("3.10", "3.12"))  # Gradio hardware offers only these
    assert (SPACE / meta["app_file"]).is_file()
    assert 0 < len(meta["short_description"]) <= 60
    assert meta["colorFrom"] in HF_COLOURS and meta["colorTo"] in HF_COLOURS
    assert meta["title"] and meta["emoji"]


def test_space_requirements_are_pinned_and_match_the_demos():
    lines = [line for line in (SPACE / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert all("==" in line for line in lines), "every requirement is pinned"
    pinned = {line.split("==")[0]: line.split("==")[1].split(";")[0].strip() for line in lines}
    assert pinned["gradio"] == _gradio_pin()
    assert any("python_full_version < '3.11'" in line for line in lines), "resolved for Python 3.10 too"


def test_space_card_copy_that_cannot_be_read_stops_the_demo_naming_the_file(tmp_path):
    (tmp_path / "broken.json").write_text('{"name": "broken"')
    with pytest.raises(ValueError, match=r"broken\.json is not a model card the demo can read .*build_space\.py"):
        read_shipped_models(tmp_path)


SMOKE = """
import os, sys
import app  # builds the page exactly as the Space does, without serving it
from demo_app.batch import read_rows, score_rows, template_csv
from demo_app.cards import parse_models
from demo_app.client import ApiClient
from demo_app.forms import Form
from demo_app.whatif import run_sweep

with ApiClient(os.environ["API_URL"]) as client:
    for served in parse_models(client.fetch_models()):
        card = served.card
        form = Form(card)
        row = form.row(form.widget_values(form.default_row()))
        client.predict(card.name, row)
        run_sweep(client, card, row, card.features[-1].name)
        rows, header = read_rows(card, template_csv(card).encode())
        assert not score_rows(client, card, rows, header).problems
print("space ok on", sys.version_info[:2])
"""


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_space_runs_on_the_pythons_hugging_face_offers(version, live_api, browser, tmp_path, screenshots):
    python = find_python(version)
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--quiet", "--python", python, str(venv)], check=True, timeout=300)
    venv_python = str(venv / "bin" / "python")
    subprocess.run([UV, "pip", "install", "--quiet", "--python", venv_python, "-r", str(SPACE / "requirements.txt")],
                   check=True, timeout=900)

    smoke = subprocess.run([venv_python, "-c", SMOKE], cwd=SPACE, capture_output=True, text=True, timeout=300,
                           env={"PATH": str(Path(venv_python).parent), "API_URL": live_api.url,
                                "GRADIO_ANALYTICS_ENABLED": "False", "HOME": str(tmp_path)})
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    assert f"space ok on {tuple(int(p) for p in version.split('.'))}" in smoke.stdout

    space = SpaceProcess(tmp_path, live_api.url, python=venv_python, space_dir=SPACE).start()
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(space.url)
        expect(page.locator("#fp-api-status")).to_contain_text("API connected", timeout=60_000)
        expect(page.get_by_role("radio", name="Palmer penguins")).to_be_visible()
        page.screenshot(path=screenshots / f"space-python{version}.png")
        context.close()
    finally:
        space.stop()
