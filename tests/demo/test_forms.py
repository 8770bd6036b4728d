"""The form is derived from the card the live API serves: bounds, choices, defaults, examples."""

from __future__ import annotations

import gradio as gr
import pytest

from demo_app.cards import Card
from demo_app.client import ApiClient
from demo_app.forms import UNKNOWN, FeatureInput, Form, format_number

EXAMPLE_MODELS = ["flight-delay", "fuel-economy", "penguins"]


def _built(form: Form) -> list[gr.components.Component]:
    # Each feature's widgets, outside any gr.Blocks: building a Blocks in-process leaves
    # Gradio's event loops open. The laid-out page is checked in the browser tests.
    defaults = form.default_row()
    return [c for item in form.inputs for c in item.components(defaults[item.feature.name], key="test")]


@pytest.mark.parametrize("name", EXAMPLE_MODELS)
def test_form_numbers_are_sliders_bounded_by_the_training_range(cards: dict[str, Card], name: str):
    card = cards[name]
    form = Form(card)
    components = iter(_built(form))
    for item in form.inputs:
        widget = next(components)
        feature = item.feature
        assert widget.label == feature.name
        if feature.is_numeric:
            assert isinstance(widget, gr.Slider)
            assert (widget.minimum, widget.maximum) == (feature.minimum, feature.maximum)
            assert widget.value == feature.default
            assert f"trained on {format_number(feature.minimum)} to {format_number(feature.maximum)}" in widget.info
        elif feature.type == "category":
            assert isinstance(widget, gr.Dropdown)
            choices = [value for _, value in widget.choices]
            assert choices == list(feature.categories) + ([UNKNOWN] if feature.nullable else [])
            assert widget.value == feature.default
        if item.has_unknown_box:
            unknown = next(components)
            assert isinstance(unknown, gr.Checkbox) and unknown.value is False
            assert "not known" in unknown.label


def test_form_integer_sliders_step_by_one_and_numbers_by_the_cards_precision(cards: dict[str, Card]):
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


def test_form_unknown_box_sends_null_and_the_api_takes_it(cards: dict[str, Card], client: ApiClient):
    form = Form(cards["penguins"])
    row = form.default_row() | {"bill_length_mm": None, "sex": None}
    values = form.widget_values(row)
    sent = form.row(values)
    assert sent["bill_length_mm"] is None and sent["sex"] is None
    assert UNKNOWN in values  # the nullable category shows "(not known)"
    assert set(client.predict("penguins", sent).data["probabilities"]) == set(cards["penguins"].classes)


def test_form_refuses_a_value_list_of_the_wrong_length(cards: dict[str, Card]):
    form = Form(cards["penguins"])
    with pytest.raises(ValueError, match="expected"):
        form.row([1, 2, 3])


def test_form_fits_any_bundle_booleans_nullable_categories_and_odd_names(odd_card: Card, odd_client: ApiClient):
    form = Form(odd_card)
    widgets = {i.feature.name: i.widget for i in form.inputs}
    assert widgets == {"age": "slider", "income k$": "slider", "colour": "dropdown", "member": "checkbox"}
    colour = next(i for i in form.inputs if i.feature.name == "colour")
    assert colour.choices[-1] == UNKNOWN
    with_unknown = form.widget_values(form.default_row())
    with_unknown[[i.feature.name for i in form.inputs].index("colour")] = UNKNOWN
    row = form.row(with_unknown)
    assert row["colour"] is None and isinstance(row["member"], bool) and isinstance(row["age"], int)
    answer = odd_client.predict(odd_card.name, row).data
    assert answer["prediction"] in odd_card.classes


def test_form_constant_column_still_gets_a_movable_slider():
    from demo_app.cards import Feature

    item = FeatureInput.for_feature(Feature("year", "integer", minimum=2020, maximum=2020, default=2020))
    assert item.widget == "slider" and item.minimum < 2020 < item.maximum


def test_form_integer_coded_category_shows_text_and_sends_the_number():
    from demo_app.cards import Feature

    item = FeatureInput.for_feature(Feature("store", "category", categories=(101, 205), default=205))
    assert item.widget == "dropdown" and item.choices == ("101", "205")
    assert item.widget_values(205) == ["205"]
    assert item.json_value(["205"]) == 205
