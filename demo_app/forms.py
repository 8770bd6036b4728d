"""A model's input form, derived from its card: which widget each feature gets, and how values travel.

This is the part of a form both fronts share; each front draws the widgets in
its own toolkit (demo_app.gradio_front.widgets, demo_app.streamlit_front.fields).
Every widget sends what the visitor typed, as typed: numbers are plain number
boxes (no slider to clamp them, no rounding), categories are dropdowns that
also keep a typed value, and an empty box is sent as null. The API is the one
judge of an input: what it refuses, or serves outside the training range, is
shown next to the field in its own words (:mod:`demo_app.field_notes`), so
nothing is ever changed behind the visitor's back. Widgets are labelled with
the card's human labels; the raw column names appear only in the API panel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from demo_app.cards import Card, Feature

__all__ = ["UNKNOWN", "FeatureInput", "Form", "format_number"]

UNKNOWN = "(not known)"
_MAX_DECIMALS = 4


def format_number(value: float) -> str:
    """A number as a person would write it: no trailing zeros, no float noise (``59.6``, not ``59.600000001``)."""
    text = f"{value:.{_MAX_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _decimals(value: Any) -> int:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return 0
    text = format_number(float(value))
    return len(text.split(".", 1)[1]) if "." in text else 0


def _step(feature: Feature, seen: list[Any]) -> float:
    """The arrow keys' step: the coarsest that still lands on every value the card shows."""
    if feature.type == "integer":
        return 1
    decimals = max((_decimals(v) for v in seen), default=0)
    if decimals == 0:
        span = (feature.maximum or 0) - (feature.minimum or 0)
        decimals = 1 if span <= 10 else 0  # a small range of whole numbers still deserves tenths
    return 10.0**-decimals


@dataclass(frozen=True)
class FeatureInput:
    """How one feature appears in the form, and how its widget value becomes JSON and back."""

    feature: Feature
    widget: str  # number | dropdown | checkbox
    step: float | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (what the visitor reads, the value as text)

    @classmethod
    def for_feature(cls, feature: Feature, examples: tuple[dict[str, Any], ...] = ()) -> FeatureInput:
        if feature.is_numeric:
            seen = [feature.minimum, feature.maximum, feature.default, *(row.get(feature.name) for row in examples)]
            return cls(feature, "number", step=_step(feature, seen))
        not_known = (("Not known", UNKNOWN),) if feature.nullable else ()
        if feature.type == "category":
            shown = tuple((feature.category_title(c), str(c)) for c in feature.categories)
            return cls(feature, "dropdown", choices=shown + not_known)
        if feature.nullable:
            return cls(feature, "dropdown", choices=(("Yes", "true"), ("No", "false"), *not_known))
        return cls(feature, "checkbox")

    @property
    def info(self) -> str:
        """The line under the label: the card's description, the training range, how to say "not known"."""
        f = self.feature
        parts = [f.description.rstrip(".")] if f.description else []
        if f.is_numeric and f.minimum is not None and f.maximum is not None:
            parts.append(f"in training: {format_number(f.minimum)} to {format_number(f.maximum)}")
        if f.is_numeric and f.nullable:
            parts.append("leave empty if not known")
        return " · ".join(parts)

    # -- values ------------------------------------------------------------
    def widget_value(self, value: Any) -> Any:
        """JSON value (from the card: a default or an example) → this feature's widget value."""
        if self.widget == "dropdown":
            if value is None:
                return UNKNOWN if self.feature.nullable else None
            return "true" if value is True else "false" if value is False else str(value)
        if self.widget == "checkbox":
            return bool(value)
        return value

    def json_value(self, value: Any) -> Any:
        """This feature's widget value → the JSON value the API takes, unchanged but for its type."""
        if self.widget == "dropdown":
            if value in (None, "", UNKNOWN):
                return None
            if self.feature.type == "boolean":
                return value == "true"
            return self.feature.category_value(str(value))
        if self.widget == "checkbox":
            return bool(value)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None  # an empty box: null, which the API takes only where training had gaps
        number = float(value)
        # A whole number goes as a JSON integer; 4.7 in an integer field goes as 4.7, for the API to refuse.
        return int(number) if self.feature.type == "integer" and number.is_integer() else number


class Form:
    """All of a model's inputs, in the card's feature order."""

    def __init__(self, card: Card) -> None:
        self.card = card
        self.inputs = [FeatureInput.for_feature(f, card.examples) for f in card.features]

    @property
    def width(self) -> int:
        return len(self.inputs)

    def default_row(self) -> dict[str, Any]:
        """The card's defaults, as a JSON row."""
        return {f.name: f.default for f in self.card.features}

    def widget_values(self, row: dict[str, Any]) -> list[Any]:
        """A JSON row (default or example) → the widget values, in feature order."""
        return [item.widget_value(row.get(item.feature.name, item.feature.default)) for item in self.inputs]

    def row(self, values: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
        """The widget values → the JSON row the API takes."""
        if len(values) != self.width:
            raise ValueError(f"expected {self.width} form values, got {len(values)}")
        return {item.feature.name: item.json_value(value) for item, value in zip(self.inputs, values, strict=True)}

    def grid(self, columns: int = 2) -> list[list[tuple[int, FeatureInput]]]:
        """The inputs in rows of ``columns``, each with its position in the card's order (both fronts lay
        the form out this way: two fields side by side on a laptop, one under the other on a phone)."""
        numbered = list(enumerate(self.inputs))
        return [numbered[start : start + columns] for start in range(0, len(numbered), columns)]
