"""The README's Deploy section stays true to the manifests it describes."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.deploy.conftest import deploy_manifests
from tests.factories import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
DEPLOY = README.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]


def test_deploy_to_render_button_uses_renders_deploy_url_and_image():
    button = re.search(r"\[!\[Deploy to Render\]\((?P<image>[^)]+)\)\]\((?P<link>[^)]+)\)", DEPLOY)
    assert button, "the Deploy to Render button is missing"
    assert button["image"] == "https://render.com/images/deploy-to-render-button.svg"
    assert button["link"].startswith("https://render.com/deploy")


def test_deploy_section_covers_each_platform_and_the_five_failures():
    for heading in ("### Render", "### Railway", "### Fly.io", "### Procfile"):
        assert heading in DEPLOY
    failures = DEPLOY.split("### The five most likely failures", 1)[1]
    rows = [line for line in failures.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 5
    for topic in ("port", "127.0.0.1", "WEB_CONCURRENCY", "scikit-learn", "DATABASE_URL"):
        assert any(topic in row for row in rows), topic


def test_deploy_section_quotes_the_manifests_values():
    blueprint = yaml.safe_load((REPO / "render.yaml").read_text())
    assert blueprint["databases"][0]["name"] in DEPLOY and blueprint["services"][0]["name"] in DEPLOY
    fly = tomllib.loads((REPO / "fly.toml").read_text())
    assert f"sets it to {fly['env']['PORT']}, the same as\n   `internal_port`" in DEPLOY
    procfile = (REPO / "Procfile").read_text().strip()
    assert f"`{procfile}`" in DEPLOY
    rehearsal = re.search(r"scripts/simulate_deploy.py (\w+) +# or (.*)", DEPLOY)
    assert [rehearsal[1], *rehearsal[2].split(", ")] == list(deploy_manifests.PLATFORMS)
