"""The README's pictures exist, are shown by the README, and were taken of the demo as it is now."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys

from tests.demo.conftest import VIEWPORTS
from tests.demo.servers import REPO

SCRIPT = REPO / "scripts" / "screenshots.py"
PICTURES = REPO / "docs" / "screenshots"
SIZES = {
    "demo-desktop.png": VIEWPORTS["desktop"],
    "demo-phone.png": VIEWPORTS["phone"],
    "api-docs.png": VIEWPORTS["desktop"],
}


def _png_size(data: bytes) -> dict[str, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return {"width": width, "height": height}


def test_screenshots_are_current_and_shown_in_the_readme():
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"run `make screenshots`:\n{done.stdout}"
    readme = (REPO / "README.md").read_text()
    for name, size in SIZES.items():
        assert _png_size((PICTURES / name).read_bytes()) == size, name
        assert f"(docs/screenshots/{name})" in readme, f"README.md does not show {name}"


def test_screenshots_check_fails_when_the_demo_changes(tmp_path):
    for part in ("demo_app", "scripts", "docs"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    script = tmp_path / "scripts" / "screenshots.py"
    with (tmp_path / "demo_app" / "gradio_front" / "style.py").open("a") as handle:
        handle.write("# a change the pictures have not seen\n")
    stale = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert stale.returncode == 1
    assert "demo_app/ changed since the pictures were taken; run `make screenshots`" in stale.stdout

    (tmp_path / "docs" / "screenshots" / "demo-phone.png").unlink()
    missing = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert "demo-phone.png is missing" in missing.stdout
