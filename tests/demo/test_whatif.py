"""What-if sweeps against the live API: the values tried, and the frame the chart draws."""

from __future__ import annotations

import pytest

from demo_app.cards import Card, Feature
from demo_app.client import ApiClient
from demo_app.forms import Form
from demo_app.whatif import MAX_BARS, NUMBER_POINTS, run_sweep, sweep_values


def test_whatif_values_cover_the_training_range_of_each_feature_type(cards: dict[str, Card]):
    penguins = cards["penguins"]
    bill = penguins.feature("bill_length_mm")
    values = sweep_values(bill)
    assert len(values) == NUMBER_POINTS and values[0] == bill.minimum and values[-1] == pytest.approx(bill.maximum)
    assert sweep_values(cards["flight-delay"].feature("month")) == list(range(1, 13))
    distance = sweep_values(cards["flight-delay"].feature("distance"))
    assert distance[0] == 80 and distance[-1] == 4983 and all(isinstance(v, int) for v in distance)
    assert sweep_values(penguins.feature("island")) == ["Biscoe", "Dream", "Torgersen"]
    assert sweep_values(Feature("member", "boolean")) == [False, True]


def test_whatif_classifier_sweep_gives_each_class_a_probability_per_value(client: ApiClient, cards: dict[str, Card]):
    card = cards["penguins"]
    row = Form(card).default_row()
    sweep = run_sweep(client, card, row, "flipper_length_mm")
    assert sweep.numeric and sweep.y == "probability" and sweep.color == "class"
    assert len(sweep.frame) == NUMBER_POINTS * len(card.classes)
    totals = sweep.frame.groupby("flipper_length_mm")["probability"].sum()
    assert totals.round(6).eq(1).all()
    # The model is not flat along flippers: long flippers mean Gentoo.
    gentoo = sweep.frame[sweep.frame["class"] == "Gentoo"].sort_values("flipper_length_mm")["probability"]
    assert gentoo.iloc[-1] > gentoo.iloc[0]


def test_whatif_category_sweep_ranks_every_category(client: ApiClient, cards: dict[str, Card]):
    card = cards["fuel-economy"]
    sweep = run_sweep(client, card, Form(card).default_row(), "origin")
    assert not sweep.numeric and sweep.y == "miles_per_gallon" and sweep.color is None
    assert sorted(sweep.order) == ["Europe", "Japan", "USA"]
    ranked = sweep.frame.set_index("origin").loc[sweep.order, "miles_per_gallon"]
    assert list(ranked) == sorted(ranked, reverse=True)


def test_whatif_sweep_larger_than_the_batch_limit_is_split(odd_client: ApiClient, odd_card: Card):
    sweep = run_sweep(odd_client, odd_card, Form(odd_card).default_row(), "income k$")
    assert sweep.frame["income k$"].nunique() == NUMBER_POINTS  # 40 rows through batches of 7


def test_whatif_long_category_ranking_keeps_only_its_two_ends(client: ApiClient, cards: dict[str, Card]):
    card = cards["flight-delay"]
    sweep = run_sweep(client, card, Form(card).default_row(), "dest")
    assert sweep.values_tried == len(card.feature("dest").categories) > MAX_BARS
    assert sweep.trimmed and len(sweep.order) == MAX_BARS
    assert set(sweep.frame["dest"]) == set(sweep.order)
    # Each bar wears the airport's name, as the form's choices do.
    dest = card.feature("dest")
    assert set(sweep.order) <= {dest.category_title(code) for code in dest.categories}
    assert all(" — " in name for name in sweep.order)
    late = sweep.frame[sweep.frame["class"] == "late"].set_index("dest").loc[sweep.order, "probability"]
    assert list(late) == sorted(late, reverse=True)  # highest first, lowest last


def test_whatif_category_sweep_names_each_category_as_the_form_does(client: ApiClient, cards: dict[str, Card]):
    card = cards["flight-delay"]
    day = card.feature("day_of_week")
    sweep = run_sweep(client, card, Form(card).default_row(), "day_of_week")
    assert sorted(sweep.order) == sorted(day.category_title(code) for code in day.categories)
    assert "Monday" in sweep.order and "Mon" not in sweep.order
