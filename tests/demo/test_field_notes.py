"""The API's verdict on an input is shown under that input, in the API's own words."""

from __future__ import annotations

import pytest

from demo_app.cards import Card
from demo_app.client import ApiClient, ApiRejectedError
from demo_app.field_notes import notes_for_answer, notes_for_refusal, unplaced_details


def test_field_notes_put_each_refusal_under_its_field(cards: dict[str, Card], client: ApiClient):
    card = cards["flight-delay"]
    row = {**card.examples[0], "dest": "ZZZ", "distance": None}
    with pytest.raises(ApiRejectedError) as refused:
        client.predict(card.name, row)
    notes = notes_for_refusal(card, refused.value)
    assert set(notes) == {f.name for f in card.features}
    said = {d.field: d for d in refused.value.details}
    assert "&#x27;ZZZ&#x27; is not a category this model was trained on" in notes["dest"]
    assert said["distance"].hint and said["distance"].hint in notes["distance"]
    assert all(notes[name] == "" for name in notes if name not in ("dest", "distance"))
    assert unplaced_details(card, refused.value) == []


def test_field_notes_flag_values_served_outside_the_training_range(cards: dict[str, Card], client: ApiClient):
    card = cards["flight-delay"]
    answer = client.predict(card.name, {**card.examples[0], "distance": 99999}).data
    notes = notes_for_answer(card, answer)
    assert "Outside what the model saw in training (80 to 4983)" in notes["distance"]
    assert [name for name, html in notes.items() if html] == ["distance"]
    inside = client.predict(card.name, card.examples[0]).data
    assert not any(notes_for_answer(card, inside).values())
