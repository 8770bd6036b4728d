"""/docs changes only on purpose: the OpenAPI document of the example models, word for word.

Every description, example, bound and error response a reviewer reads in /docs is derived from
the cards (api/serving/schemas.py, api/serving/fields.py) and the routes. This test holds the whole document
against tests/snapshots/openapi.json, so a change to any of it shows up as a diff in review.
After changing /docs on purpose, write the new document and commit it with the change:

    UPDATE_OPENAPI_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_openapi_snapshot.py
"""

from __future__ import annotations

import difflib
import json
import os

from tests.factories import REPO

SNAPSHOT = REPO / "tests" / "snapshots" / "openapi.json"


def _text(document: dict) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_openapi_document_is_the_one_committed(examples_client):
    current = _text(examples_client.get("/openapi.json").json())
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    committed = SNAPSHOT.read_text(encoding="utf-8")
    if current != committed:
        diff = difflib.unified_diff(committed.splitlines(), current.splitlines(), "committed", "served", lineterm="")
        shown = "\n".join(list(diff)[:80])
        raise AssertionError(
            "/openapi.json differs from tests/snapshots/openapi.json; if the change is meant, re-write it "
            f"with UPDATE_OPENAPI_SNAPSHOT=1 (see this test's docstring):\n{shown}"
        )
