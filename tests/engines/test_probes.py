"""The rows the converter checks an ONNX graph on, beyond the held-out ones (api/serving/engines/probes.py).

A conversion is only as trustworthy as the rows it was compared on: these pin which rows are built from a
card (each null, each category and an unknown one, the ends of each range and past them) and that rows
scikit-learn itself refuses are set aside one by one, never the whole batch.
"""

from __future__ import annotations

import numpy as np
import pytest

from api.serving.card import FeatureSpec
from api.serving.engines.probes import UNKNOWN_CATEGORY, answerable, probe_rows
from tests.factories import save_tiny_classifier, saved

FEATURES = [
    FeatureSpec(name="distance", type="number", minimum=2.0, maximum=32.0, nullable=True, default=5.5),
    FeatureSpec(name="fare", type="number", minimum=4.25, maximum=9.25),
    FeatureSpec(name="stops", type="integer", minimum=1, maximum=3),
    FeatureSpec(name="zone", type="category", categories=["north", "south"], nullable=True, default="south"),
    FeatureSpec(name="rooms", type="category", categories=[1, 2, 4]),
    FeatureSpec(name="express", type="boolean"),
    FeatureSpec(name="tip", type="number", minimum=0.5),  # one end only (a card edited by hand): nothing past
]
EXAMPLE = {"distance": 12.0, "fare": 6.0, "stops": 2, "zone": "north", "rooms": 2, "express": True, "tip": 1.5}


def test_probe_rows_change_one_typical_row_one_feature_at_a_time_then_add_the_cards_examples(tmp_path):
    card = saved(save_tiny_classifier, tmp_path).model_copy(update={"features": FEATURES, "examples": [EXAMPLE]})
    # Typical: the recorded default, else the first category, False, the minimum, or a whole-number minimum.
    base = {"distance": 5.5, "fare": 4.25, "stops": 1, "zone": "south", "rooms": 1, "express": False, "tip": 0.5}
    changes = [
        {},
        {"distance": None}, {"zone": None}, {"distance": None, "zone": None},
        # Both ends, then a tenth of the range past each (at least 1): 30 * 0.1 = 3, and 1 for the narrow ones.
        {"distance": 2.0}, {"distance": 32.0}, {"distance": -1.0}, {"distance": 35.0},
        {"fare": 4.25}, {"fare": 9.25}, {"fare": 3.25}, {"fare": 10.25},
        {"stops": 1}, {"stops": 3}, {"stops": 0}, {"stops": 4},
        {"zone": "north"}, {"zone": "south"}, {"zone": UNKNOWN_CATEGORY},
        {"rooms": 1}, {"rooms": 2}, {"rooms": 4}, {"rooms": 5},  # integer-coded: the next number is the unknown
        {"express": False}, {"express": True},
    ]
    rows = probe_rows(card)
    assert rows == [{**base, **change} for change in changes] + [EXAMPLE]
    # Integers stay whole numbers past their range, as the API would receive them.
    assert {type(row["stops"]) for row in rows} == {int}
    assert {type(row["express"]) for row in rows} == {bool}  # False, as the API passes a boolean on, not 0
    assert {type(row["distance"]) for row in rows if row["distance"] is not None} == {float}


def test_probe_rows_of_a_card_with_one_nullable_column_null_it_once():
    from api.serving.card import ModelCard

    spec = FeatureSpec(name="age", type="integer", minimum=0, maximum=90, nullable=True)
    card = ModelCard.model_construct(features=[spec], examples=[])
    assert probe_rows(card) == [{"age": 0}, {"age": None}, {"age": 0}, {"age": 90}, {"age": -9}, {"age": 99}]


def _refusing(refused: set[int], calls: list[int]):
    """An answer that raises for a batch holding any refused value, and records each batch's size."""

    def answer(rows):
        calls.append(len(rows))
        if any(row["x"] in refused for row in rows):
            raise ValueError("cannot take it")
        return np.array([row["x"] * 10.0 for row in rows])

    return answer


def test_answerable_keeps_every_row_scikit_learn_answers_in_order_and_drops_only_the_refused():
    calls: list[int] = []
    rows = [{"x": x} for x in range(8)]
    kept, answers = answerable(_refusing({2, 7}, calls), rows)
    assert kept == [{"x": x} for x in (0, 1, 3, 4, 5, 6)]
    np.testing.assert_array_equal(answers, [0.0, 10.0, 30.0, 40.0, 50.0, 60.0])
    assert calls[0] == 8 and max(calls[1:]) == 4  # halves, not row by row from the start


def test_answerable_costs_one_call_for_good_rows_and_gives_nothing_for_none_or_all_refused():
    calls: list[int] = []
    kept, answers = answerable(_refusing(set(), calls), [{"x": 1}, {"x": 2}])
    assert (kept, answers.tolist(), calls) == ([{"x": 1}, {"x": 2}], [10.0, 20.0], [2])
    assert answerable(_refusing({1, 2, 3}, []), [{"x": 1}, {"x": 2}, {"x": 3}]) == ([], None)
    assert answerable(_refusing(set(), []), []) == ([], None)


@pytest.mark.parametrize("refused", [{0}, {4}])
def test_a_refused_row_at_either_end_is_the_only_one_dropped(refused):
    kept, answers = answerable(_refusing(refused, []), [{"x": x} for x in range(5)])
    assert [row["x"] for row in kept] == [x for x in range(5) if x not in refused]
    assert answers.tolist() == [x * 10.0 for x in range(5) if x not in refused]
