"""api/serving/ranges.py on its own: clean accepted bounds, and batch flags equal to row-by-row flags."""

from __future__ import annotations

import math
import random

import pytest

from api.serving.card import FeatureSpec, read_card
from api.serving.ranges import OutOfRange, accepted_range, format_number
from tests.factories import EXAMPLE_MODELS


def _spec(low, high, kind="number") -> FeatureSpec:
    return FeatureSpec(name="x", type=kind, minimum=low, maximum=high)


@pytest.mark.parametrize(
    ("low", "high", "kind", "tolerance", "expected"),
    [
        (80, 4983, "integer", 0.05, (0, 5300)),  # margin 245: hundreds; 80 - 245 < 0 but distances never are
        (33.1, 59.6, "number", 0.05, (31, 61)),  # margin 1.3: whole numbers
        (8, 24.8, "number", 0.05, (7.1, 25.7)),  # margin 0.84: tenths, with no 25.640000000000001
        (1, 12, "integer", 0.05, (1, 12)),  # whole numbers round inwards: no new month by rounding
        (-50, -2, "number", 0.5, (-80, 0)),  # never positive when training never was
        (-10, 10, "number", 0.1, (-12, 12)),  # a range across zero may stay across it
        (5, 5, "number", 0.05, (5, 5)),  # one value seen: nothing to widen by
        (0.001, 0.002, "number", 0.05, (0.00095, 0.00205)),
        (3, 8, "integer", 0, (3, 8)),
    ],
)
def test_accepted_range_is_clean_and_keeps_the_sign(low, high, kind, tolerance, expected):
    bounds = accepted_range(_spec(low, high, kind), tolerance)
    assert bounds == expected
    assert bounds[0] <= low and bounds[1] >= high  # never narrower than what training saw
    assert all(len(format_number(b)) <= 8 for b in bounds)  # clean: no float noise in the docs


def test_format_number_reads_as_people_write():
    assert [format_number(v) for v in (80.0, 24.8, -165.0, 0.1 + 0.2)] == ["80", "24.8", "-165", "0.30000000000000004"]


@pytest.mark.parametrize("name", ["flight-delay", "fuel-economy", "penguins"])
def test_batch_flags_equal_row_flags(name):
    card = read_card(EXAMPLE_MODELS / name)
    flags = OutOfRange(card.features)
    numbers = [f for f in card.features if f.type in ("number", "integer")]
    rng = random.Random(0)
    rows = []
    for i in range(300):
        row = dict(card.examples[i % len(card.examples)])
        for spec in rng.sample(numbers, k=rng.randint(0, len(numbers))):
            width = spec.maximum - spec.minimum
            choices = [spec.minimum, spec.maximum, spec.minimum - width, spec.maximum + 1,
                       math.nextafter(spec.maximum, math.inf), math.nextafter(spec.minimum, -math.inf)]
            row[spec.name] = rng.choice([*choices, None] if spec.nullable else choices)
        rows.append(row)
    per_row = [flags.row(row) for row in rows]
    assert flags.rows(rows) == per_row
    assert any(per_row) and not all(per_row)  # both kinds of row were drawn
    assert flags.rows(card.examples) == [()] * len(card.examples)  # real rows are inside


def test_a_single_numeric_feature_and_none_at_all():
    one = OutOfRange([_spec(0, 1), FeatureSpec(name="c", type="category", categories=["a"])])
    assert one.rows([{"x": 0.5, "c": "a"}, {"x": 2, "c": "a"}, {"x": None, "c": "a"}]) == [(), ("x",), ()]
    # Only above, only below: each end of the range is checked on the fast path too (no null in the column).
    assert one.rows([{"x": 0.5, "c": "a"}, {"x": 2, "c": "a"}]) == [(), ("x",)]
    assert one.rows([{"x": -1, "c": "a"}, {"x": 0.5, "c": "a"}]) == [("x",), ()]
    assert OutOfRange([]).rows([{}, {}]) == [(), ()]
