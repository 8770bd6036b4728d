#!/usr/bin/env python3
"""Refresh space/ from demo_app/, the models' cards and the demo's pins: the Space is built, never edited by hand.

    python scripts/build_space.py          copy the demo's core (demo_app/*.py) and its Gradio
                                           front (demo_app/gradio_front/) into space/demo_app/, each
                                           models/<name>/card.json to space/cards/<name>.json;
                                           sync sdk_version
    python scripts/build_space.py --lock   also re-pin space/requirements.txt (uv; Python 3.10 to 3.12)
    python scripts/build_space.py --check  change nothing; list what is stale and exit 1 if anything is

The Streamlit front (demo_app/streamlit_front/) stays out: a Space runs the Gradio one.
The cards (card JSON only, never a model's artifact) let the Space show its forms to a
first visitor while the API still sleeps; the live API's cards replace them once it answers.
The gradio and requests versions come from requirements-demo.txt (one source of
truth); the Space's README front matter takes gradio's as its ``sdk_version``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "demo_app"
MODELS = REPO / "models"
SPACE = REPO / "space"
TARGET = SPACE / "demo_app"
# The Space runs the Gradio front: the core's modules and that front's package, nothing else.
SHIPPED_FOLDERS = ("", "gradio_front")
CARDS = SPACE / "cards"
CARD_FILE = "card.json"
README = SPACE / "README.md"
REQUIREMENTS = SPACE / "requirements.txt"
DEMO_LOCK = REPO / "requirements-demo.txt"
PINNED = ("gradio", "requests")
# Hugging Face's Gradio hardware runs Python 3.10 or 3.12; resolve for every version from 3.10 up.
LOWEST_PYTHON = "3.10"
REQUIREMENTS_HEADER = (
    "# The Space's dependencies, pinned for Python 3.10 to 3.12 by `python scripts/build_space.py --lock`\n"
    "# from requirements-demo.txt's gradio and requests. Do not edit by hand.\n"
)


def demo_pins() -> dict[str, str]:
    """``{"gradio": "6.31.0", "requests": "…"}`` as locked in requirements-demo.txt."""
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", DEMO_LOCK.read_text(), flags=re.MULTILINE))
    missing = [name for name in PINNED if name not in pins]
    if missing:
        raise SystemExit(f"{DEMO_LOCK.name} pins no {', '.join(missing)}; run scripts/lock.sh")
    return {name: pins[name] for name in PINNED}


def _modules(root: Path) -> dict[str, bytes]:
    """``{"forms.py": …, "gradio_front/page.py": …}``: the modules under ``root`` that a Space ships."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for folder in SHIPPED_FOLDERS
        for path in sorted((root / folder).glob("*.py"))
    }


def source_files() -> dict[str, bytes]:
    """The demo's modules, as the Space must hold them."""
    return _modules(SOURCE)


def card_files() -> dict[str, bytes]:
    """``{"penguins.json": …}``: each bundle's card as space/cards/ must hold it (the registry skips hidden folders)."""
    return {
        f"{folder.name}.json": (folder / CARD_FILE).read_bytes()
        for folder in sorted(MODELS.iterdir())
        if folder.is_dir() and not folder.name.startswith(".") and (folder / CARD_FILE).is_file()
    }


def _differences(folder: str, wanted: dict[str, bytes], present: dict[str, bytes],
                 origin: Callable[[str], str]) -> list[str]:
    """How the files in space/<folder>/ differ from ``wanted``; ``origin(name)`` says where each is copied from."""
    problems = [f"space/{folder}/{name} is missing" for name in sorted(set(wanted) - set(present))]
    problems += [f"space/{folder}/{name} is left over: there is no {origin(name)}"
                 for name in sorted(set(present) - set(wanted))]
    problems += [
        f"space/{folder}/{name} differs from {origin(name)}"
        for name in sorted(set(wanted) & set(present))
        if wanted[name] != present[name]
    ]
    return problems


def _with_sdk_version(readme: str, version: str) -> str:
    updated, count = re.subn(r"^sdk_version:.*$", f"sdk_version: {version}", readme, count=1, flags=re.MULTILINE)
    if count != 1:
        raise SystemExit(f"{README} has no `sdk_version:` line in its front matter")
    return updated


def stale() -> list[str]:
    """Every way space/ differs from what this script would write; empty when it is fresh."""
    present = sorted(TARGET.rglob("*.py")) if TARGET.is_dir() else []
    modules = {path.relative_to(TARGET).as_posix(): path.read_bytes() for path in present}
    problems = _differences("demo_app", source_files(), modules, lambda name: f"demo_app/{name}")
    cards = {p.name: p.read_bytes() for p in CARDS.glob("*.json")} if CARDS.is_dir() else {}
    problems += _differences("cards", card_files(), cards,
                             lambda name: f"models/{name.removesuffix('.json')}/{CARD_FILE}")
    pins = demo_pins()
    readme = README.read_text(encoding="utf-8")
    if readme != _with_sdk_version(readme, pins["gradio"]):
        problems.append(f"space/README.md's sdk_version is not gradio's pin {pins['gradio']}")
    locked = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", REQUIREMENTS.read_text(), flags=re.MULTILINE))
    problems += [
        f"space/requirements.txt pins {name}=={locked.get(name)}, requirements-demo.txt {version}"
        for name, version in pins.items()
        if locked.get(name) != version
    ]
    return problems


def _replace_folder(folder: Path, files: dict[str, bytes]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


def copy_sources() -> None:
    _replace_folder(TARGET, source_files())
    _replace_folder(CARDS, card_files())
    README.write_text(_with_sdk_version(README.read_text(encoding="utf-8"), demo_pins()["gradio"]), encoding="utf-8")


def lock() -> None:
    """Resolve the Space's requirements with uv for every Python from 3.10 up (markers where they differ)."""
    pins = demo_pins()
    with tempfile.TemporaryDirectory() as scratch:
        wanted = Path(scratch) / "space.in"
        wanted.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
        resolved = Path(scratch) / "space.txt"
        subprocess.run(
            ["uv", "pip", "compile", "--quiet", "--universal", "--python-version", LOWEST_PYTHON, "--no-header",
             "--no-annotate", str(wanted), "-o", str(resolved)],
            check=True,
        )
        REQUIREMENTS.write_text(REQUIREMENTS_HEADER + resolved.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="list what is stale; exit 1 if anything is")
    group.add_argument("--lock", action="store_true", help="also re-pin space/requirements.txt with uv")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for problem in problems:
            print(f"stale: {problem}")
        if problems:
            print("run: python scripts/build_space.py" + (" --lock" if any("pins" in p for p in problems) else ""))
        return 1 if problems else 0
    if args.lock:
        lock()
    copy_sources()
    print(f"space/ refreshed: {len(source_files())} modules from demo_app/, {len(card_files())} cards from models/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
