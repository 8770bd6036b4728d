"""read_card: a card is served only when it is whole, and every refusal says what to fix, word for word."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from api.errors import BundleError
from api.serving.card import CARD_FILE, read_card
from tests.factories import ASCII_LOCALE, EXAMPLE_MODELS, REPO


def _penguins() -> dict:
    return json.loads((EXAMPLE_MODELS / "penguins" / CARD_FILE).read_text("utf-8"))


def _card_in(folder: Path, card: dict | None = None) -> Path:
    """``folder/card.json`` holding ``card`` (the penguins example's card when None)."""
    folder.mkdir(parents=True)
    raw = card if card is not None else _penguins()
    (folder / CARD_FILE).write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return folder


def _refusal(folder: Path) -> str:
    with pytest.raises(BundleError) as refused:
        read_card(folder)
    return refused.value.message


def test_read_card_returns_the_card_its_folder_holds(tmp_path):
    folder = _card_in(tmp_path / "penguins")
    card = read_card(folder)
    assert card == read_card(EXAMPLE_MODELS / "penguins")
    assert (card.name, card.task, card.feature_names[0]) == ("penguins", "classification", "island")


def test_read_card_without_a_card_says_to_resave_or_remove_the_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "dir-named-card" / CARD_FILE).mkdir(parents=True)  # not a file either
    for folder in (tmp_path / "empty", tmp_path / "dir-named-card"):
        assert _refusal(folder) == (
            f"{folder / CARD_FILE} is missing: every folder in the models directory needs the card.json written "
            "by save_bundle(). Re-save the model with `python -m api.bundle` or remove the folder."
        )


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"name": "\xff"}'], ids=["broken", "empty", "not utf-8"])
def test_read_card_that_is_not_json_says_so_with_the_parsers_reason(tmp_path, content):
    folder = tmp_path / "penguins"
    folder.mkdir()
    (folder / CARD_FILE).write_bytes(content)
    message = _refusal(folder)
    assert message.startswith(f"{folder / CARD_FILE} is not valid JSON (")
    assert message.endswith("); re-save the bundle.")
    reason = message.removeprefix(f"{folder / CARD_FILE} is not valid JSON (").removesuffix("); re-save the bundle.")
    assert reason  # the parser's own words, e.g. "Expecting property name enclosed in double quotes: ..."


def test_read_card_lists_the_first_five_problems_each_at_its_dotted_path(tmp_path):
    card = _penguins()
    del card["title"], card["version"]
    card["name"] = "Penguins"
    card["task"] = "clustering"
    card["features"][1]["type"] = "text"
    card["training_rows"] = "many"  # a sixth problem: not listed
    folder = _card_in(tmp_path / "Penguins", card)
    assert _refusal(folder) == (
        f"{folder / CARD_FILE} does not follow the card format ("
        "name: String should match pattern '^[a-z0-9][a-z0-9_-]{0,62}$'; "
        "title: Field required; "
        "version: Field required; "
        "task: Input should be 'classification' or 'regression'; "
        "features.1.type: Input should be 'number', 'integer', 'category' or 'boolean'"
        "); re-save the bundle."
    )


def test_read_card_names_a_problem_of_the_whole_card_as_card(tmp_path):
    card = _penguins()
    del card["training_profile"]["features"]["sex"]
    folder = _card_in(tmp_path / "penguins", card)
    features = sorted(f["name"] for f in card["features"])
    profiled = [name for name in features if name != "sex"]
    assert _refusal(folder) == (
        f"{folder / CARD_FILE} does not follow the card format (card: Value error, training_profile describes "
        f"{profiled} but the features are {features}); re-save the bundle."
    )


def test_read_card_refuses_a_card_that_names_another_folder(tmp_path):
    folder = _card_in(tmp_path / "penguins-copy")
    assert _refusal(folder) == (
        f"{folder / CARD_FILE} names the model 'penguins' but its folder is 'penguins-copy'; "
        "rename the folder or re-save the bundle under that name."
    )


def test_read_card_reads_utf_8_whatever_the_machines_locale(tmp_path):
    # A Windows laptop reads text as cp1252 by default, a bare container as ASCII: the card is UTF-8 on every one.
    card = _penguins()
    card["description"] = "Adélie, Gentoo — and Chinstrap"
    folder = _card_in(tmp_path / "penguins", card)
    assert read_card(folder).description == "Adélie, Gentoo — and Chinstrap"  # here, where the locale is UTF-8
    script = (
        "import locale, sys; from api.serving.card import read_card; "
        "print(locale.getpreferredencoding(False)); print(ascii(read_card(__import__('pathlib').Path(sys.argv[1]))"
        ".description))"
    )
    done = subprocess.run([sys.executable, "-c", script, str(folder)], cwd=REPO, env=ASCII_LOCALE,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    encoding, description = done.stdout.splitlines()
    assert encoding != "UTF-8"  # the check means something only where the default is not UTF-8
    assert description == ascii("Adélie, Gentoo — and Chinstrap")
