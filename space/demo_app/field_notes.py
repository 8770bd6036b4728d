"""The notes under the form's fields: what the API said about an input, next to that input.

The demo never corrects an entry itself. When the API refuses a row, each
detail that names a field is shown under that field in the API's own words
(with its hint); when it serves a row with values outside the training range,
those fields say so. Every function returns ``{feature name: HTML}`` with an
entry for every feature ("" clears a note), escaped, so it is tested without
a browser.
"""

from __future__ import annotations

from html import escape
from typing import Any

from demo_app.cards import Card
from demo_app.client import ApiRejectedError
from demo_app.forms import format_number

__all__ = ["notes_for_answer", "notes_for_refusal", "unplaced_details"]


def _empty(card: Card) -> dict[str, str]:
    return {f.name: "" for f in card.features}


def notes_for_refusal(card: Card, error: ApiRejectedError) -> dict[str, str]:
    """The API's message (and hint) under each field it refused."""
    notes = _empty(card)
    found: dict[str, list[str]] = {}
    for detail in error.details:
        if detail.field in notes:
            hint = f" <span class='fp-muted'>({escape(detail.hint)})</span>" if detail.hint else ""
            found.setdefault(detail.field, []).append(f"{escape(detail.message)}{hint}")
    for name, messages in found.items():
        notes[name] = f'<div class="fp-note fp-note-refused" role="alert">{"<br>".join(messages)}</div>'
    return notes


def unplaced_details(card: Card, error: ApiRejectedError) -> list[str]:
    """The API's messages that name no field of the form (said in the result box instead)."""
    names = {f.name for f in card.features}
    return [d.message for d in error.details if d.field not in names]


def notes_for_answer(card: Card, response: dict[str, Any]) -> dict[str, str]:
    """A served prediction: a note under each field the API named as outside the training range."""
    notes = _empty(card)
    for name in response.get("out_of_range") or ():
        if name not in notes:
            continue
        feature = card.feature(name)
        seen = (f" ({format_number(feature.minimum)} to {format_number(feature.maximum)})"
                if feature.minimum is not None and feature.maximum is not None else "")
        notes[name] = (
            f'<div class="fp-note fp-note-outside" role="status">Outside what the model saw in training{seen}: '
            "it was sent as typed, but the prediction is a guess here.</div>"
        )
    return notes
