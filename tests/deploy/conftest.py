"""Fixtures for the deploy tests: the manifest reader (scripts/deploy_manifests.py) and the schemas."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.factories import REPO

# scripts/ is not a package: the reader and the rehearsal are imported the way the scripts import each other.
sys.path.insert(0, str(REPO / "scripts"))

import deploy_manifests

MANIFESTS = ["render.yaml", "railway.json", "fly.toml", "Procfile", "Dockerfile", ".dockerignore", ".python-version"]


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    """The published schemas; without them CI fails and a local run skips, each saying where to get them."""
    try:
        return deploy_manifests.find_schemas_dir(REPO)
    except deploy_manifests.SchemasMissingError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture
def manifest_copy(tmp_path: Path) -> Path:
    """A folder holding copies of the manifests, for a test to break one of them."""
    for name in MANIFESTS:
        shutil.copy2(REPO / name, tmp_path / name)
    return tmp_path


# Each rehearsal's report, printed after the test run so CI logs show every platform's figures.
REHEARSAL_REPORTS: list[list[str]] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if REHEARSAL_REPORTS:
        terminalreporter.section("deploy rehearsals")
        for lines in REHEARSAL_REPORTS:
            for line in lines:
                terminalreporter.write_line(line)
            terminalreporter.write_line("")
