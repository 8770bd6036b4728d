"""The API panel's snippets are the real call: run them against the live API and read the answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from demo_app.cards import Card
from demo_app.client import ApiClient
from demo_app.forms import Form
from demo_app.snippets import curl_command, python_code


def test_snippets_curl_command_works_as_pasted(client: ApiClient, odd_client: ApiClient, odd_card: Card):
    # The odd bundle's column "income k$" and its null category test the shell quoting.
    row = Form(odd_card).default_row() | {"colour": None}
    command = curl_command(odd_client.predict_url(odd_card.name), row, with_key=False)
    done = subprocess.run(["bash", "-c", command + " --silent --show-error"], capture_output=True, text=True,
                          timeout=60, check=True)
    answer = json.loads(done.stdout)
    assert answer["model"] == odd_card.name and answer["prediction"] in odd_card.classes


def test_snippets_python_code_works_as_pasted(client: ApiClient, cards: dict[str, Card], tmp_path):
    card = cards["penguins"]
    row = Form(card).default_row() | {"sex": None}
    script = tmp_path / "call.py"
    script.write_text(python_code(client.predict_url(card.name), row, with_key=False))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
    expected = client.predict(card.name, row).data["prediction"]
    assert f"'prediction': '{expected}'" in done.stdout


def test_snippets_read_the_key_from_the_environment_and_never_print_it(client: ApiClient, cards, tmp_path):
    card = cards["fuel-economy"]
    row = card.examples[0]
    curl = curl_command(client.predict_url(card.name), row, with_key=True)
    code = python_code(client.predict_url(card.name), row, with_key=True)
    assert '-H "X-API-Key: $API_KEY"' in curl
    assert 'os.environ["API_KEY"]' in code
    script = tmp_path / "call.py"
    script.write_text(code)
    # The API ignores an unknown header today; the call must still work with the key set.
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "API_KEY": "example-key"})
    assert "'model': 'fuel-economy'" in done.stdout
