"""The exact call behind the form, as curl and as Python ``requests``, ready to paste.

When the demo uses an API key, the snippets read it from the ``API_KEY``
environment variable instead of printing it: the page is public.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

__all__ = ["curl_command", "python_code"]


def curl_command(predict_url: str, row: dict[str, Any], *, with_key: bool) -> str:
    """A curl command that sends ``row`` to ``predict_url``."""
    lines = [
        f"curl -X POST {shlex.quote(predict_url)}",
        "  -H 'Content-Type: application/json'",
    ]
    if with_key:
        lines.append('  -H "X-API-Key: $API_KEY"')
    lines.append(f"  -d {shlex.quote(json.dumps(row))}")
    return " \\\n".join(lines)


def _python_literal(row: dict[str, Any]) -> str:
    items = "".join(f"        {key!r}: {value!r},\n" for key, value in row.items())
    return "{\n" + items + "    }"


def python_code(predict_url: str, row: dict[str, Any], *, with_key: bool) -> str:
    """A Python script that sends ``row`` to ``predict_url`` with requests and prints the answer."""
    imports = "import os\n\nimport requests\n" if with_key else "import requests\n"
    headers = '    headers={"X-API-Key": os.environ["API_KEY"]},\n' if with_key else ""
    return (
        f"{imports}\n"
        "response = requests.post(\n"
        f"    {predict_url!r},\n"
        f"    json={_python_literal(row)},\n"
        f"{headers}"
        "    timeout=60,  # a sleeping free instance can take a minute to wake\n"
        ")\n"
        "response.raise_for_status()\n"
        "print(response.json())\n"
    )
