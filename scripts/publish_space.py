#!/usr/bin/env python3
"""Publish space/ to a Hugging Face Space: what .github/workflows/space.yml runs after CI passes.

Reads HF_TOKEN (write access) and HF_SPACE (e.g. your-name/freeport-demo) from the
environment; with DEMO_API_URL set too, sets the Space's API_URL variable to it. The
Space is created on first publish (Gradio SDK, public); files gone from space/ are
removed from it, so the Space holds exactly what the repository builds.

    HF_TOKEN=hf_... HF_SPACE=you/freeport-demo python scripts/publish_space.py
    python scripts/publish_space.py --dry-run       # what would be uploaded, no token needed
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

SPACE = Path(__file__).resolve().parent.parent / "space"
# Byte-compiled files and local caches are not the Space's source.
IGNORED = ["__pycache__/*", "**/__pycache__/*", "*.pyc", ".gradio/*"]


def files_to_publish(folder: Path = SPACE) -> list[str]:
    """The paths under ``folder`` an upload carries, in order (what IGNORED leaves)."""
    paths = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()]
    return [p for p in paths if not any(fnmatch(p, pattern) for pattern in IGNORED)]


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=SPACE).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "a local checkout"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded, and stop")
    args = parser.parse_args(argv)
    space = os.environ.get("HF_SPACE", "")
    print(f"publishing {SPACE} to the Space {space or '(HF_SPACE not set)'}:")
    for path in files_to_publish():
        print(f"  {path}")
    if args.dry_run:
        return 0
    token = os.environ.get("HF_TOKEN", "")
    if not token or "/" not in space:
        print("error: set HF_TOKEN (a write token) and HF_SPACE (owner/name) to publish", file=sys.stderr)
        return 2
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(space, repo_type="space", space_sdk="gradio", exist_ok=True)
    api.upload_folder(repo_id=space, repo_type="space", folder_path=SPACE, ignore_patterns=IGNORED,
                      delete_patterns="*", commit_message=f"freeport demo from {_commit()}")
    if os.environ.get("DEMO_API_URL"):
        api.add_space_variable(space, "API_URL", os.environ["DEMO_API_URL"])
    print(f"published: https://huggingface.co/spaces/{space}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
