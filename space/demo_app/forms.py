"""A model's input form, derived from its card: one widget per feature, nothing by hand.

Numbers and integers get a slider bounded by the training range (plus a
"not known" box when the feature may be missing, which sends null); categories
get a dropdown of the categories seen in training; booleans a checkbox (or a
dropdown with "not known" when nullable). Defaults are the card's defaults;
the card's example rows can be loaded into the form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gradio as gr

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
    """The coarsest step that still lands on every value the card shows (range ends, default, examples)."""
    if feature.type == "integer":
        return 1
    decimals = max((_decimals(v) for v in seen), default=0)
    if decimals == 0:
        span = (feature.maximum or 0) - (feature.minimum or 0)
        decimals = 1 if span <= 10 else 0  # a small range of whole numbers still deserves tenths
    return 10.0**-decimals


@dataclass(frozen=True)
class FeatureInput:
    """How one feature appears in the form, and how its widget values become JSON and back."""

    feature: Feature
    widget: str  # slider | number | dropdown | checkbox
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()

    @classmethod
    def for_feature(cls, feature: Feature, examples: tuple[dict[str, Any], ...] = ()) -> FeatureInput:
        if feature.is_numeric:
            low, high = feature.minimum, feature.maximum
            if low is None or high is None:
                return cls(feature, "number", step=1 if feature.type == "integer" else None)
            if low == high:  # a constant column: give the slider something to move over
                low, high = low - 1, high + 1
            seen = [low, high, feature.default, *(row.get(feature.name) for row in examples)]
            return cls(feature, "slider", low, high, _step(feature, seen))
        if feature.type == "category":
            shown = tuple(str(c) for c in feature.categories)
            return cls(feature, "dropdown", choices=shown + ((UNKNOWN,) if feature.nullable else ()))
        if feature.nullable:
            return cls(feature, "dropdown", choices=("true", "false", UNKNOWN))
        return cls(feature, "checkbox")

    @property
    def has_unknown_box(self) -> bool:
        """Nullable numbers get a second widget, a "not known" checkbox."""
        return self.feature.is_numeric and self.feature.nullable

    @property
    def width(self) -> int:
        """How many Gradio components (and so input values) this feature takes."""
        return 2 if self.has_unknown_box else 1

    @property
    def info(self) -> str:
        f = self.feature
        parts = [f.description.rstrip(".")] if f.description else []
        if f.is_numeric and f.minimum is not None and f.maximum is not None:
            parts.append(f"trained on {format_number(f.minimum)} to {format_number(f.maximum)}")
        elif f.type == "category":
            parts.append(f"{len(f.categories)} categories")
        return " · ".join(parts)

    # -- values ------------------------------------------------------------
    def widget_values(self, value: Any) -> list[Any]:
        """JSON value (from the card: a default or an example) → this feature's widget values."""
        if self.has_unknown_box:
            if value is None:
                fallback = self.feature.default if self.feature.default is not None else self.minimum
                return [fallback, True]
            return [value, False]
        if self.widget == "dropdown":
            if value is None:
                return [UNKNOWN if UNKNOWN in self.choices else self.choices[0]]
            return ["true" if value is True else "false" if value is False else str(value)]
        if self.widget == "checkbox":
            return [bool(value)]
        return [value]

    def json_value(self, values: list[Any]) -> Any:
        """This feature's widget values → the JSON value the API takes."""
        value = values[0]
        if self.has_unknown_box and values[1]:
            return None
        if self.widget == "dropdown":
            if value in (None, UNKNOWN):
                return None
            if self.feature.type == "boolean":
                return value == "true"
            return self.feature.category_value(value)
        if self.widget == "checkbox":
            return bool(value)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.feature.type == "integer":
            return round(float(value))
        return round(float(value), _MAX_DECIMALS + 2)

    # -- widgets -----------------------------------------------------------
    def components(self, value: Any, *, key: str) -> list[gr.Component]:
        """Create this feature's Gradio components, showing ``value`` (a JSON value)."""
        f = self.feature
        shown = self.widget_values(value)
        common = {
            "label": f.name,
            "info": self.info or None,
            "key": f"{key}:{f.name}",
            "elem_classes": "fp-field",
            # Built inside gr.render, so Gradio cannot infer that these are inputs: say it.
            "interactive": True,
        }
        if self.widget == "slider":
            widgets: list[gr.Component] = [
                gr.Slider(self.minimum, self.maximum, value=shown[0], step=self.step, **common)
            ]
        elif self.widget == "number":
            widgets = [gr.Number(value=shown[0], step=self.step or 1, precision=0 if f.type == "integer" else None,
                                 **common)]
        elif self.widget == "dropdown":
            widgets = [gr.Dropdown(list(self.choices), value=shown[0], **common)]
        else:
            widgets = [gr.Checkbox(value=shown[0], **common)]
        if self.has_unknown_box:
            widgets.append(
                gr.Checkbox(value=shown[1], label=f"{f.name} not known (send null)", key=f"{key}:{f.name}:unknown",
                            elem_classes="fp-unknown", container=False, interactive=True)
            )
        return widgets


class Form:
    """All of a model's inputs, in the card's feature order."""

    def __init__(self, card: Card) -> None:
        self.card = card
        self.inputs = [FeatureInput.for_feature(f, card.examples) for f in card.features]

    @property
    def width(self) -> int:
        return sum(i.width for i in self.inputs)

    def default_row(self) -> dict[str, Any]:
        """The card's defaults, as a JSON row."""
        return {f.name: f.default for f in self.card.features}

    def widget_values(self, row: dict[str, Any]) -> list[Any]:
        """A JSON row (default or example) → the flat list of widget values, in component order."""
        flat: list[Any] = []
        for item in self.inputs:
            flat.extend(item.widget_values(row.get(item.feature.name, item.feature.default)))
        return flat

    def row(self, values: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
        """The flat list of widget values → the JSON row the API takes."""
        if len(values) != self.width:
            raise ValueError(f"expected {self.width} form values, got {len(values)}")
        row, position = {}, 0
        for item in self.inputs:
            row[item.feature.name] = item.json_value(list(values[position : position + item.width]))
            position += item.width
        return row

    def components(self, *, key: str, columns: int = 2) -> list[gr.Component]:
        """Lay the widgets out in rows of ``columns`` features (inside the current Blocks); flat list back."""
        made: list[gr.Component] = []
        defaults = self.default_row()
        for start in range(0, len(self.inputs), columns):
            with gr.Row(equal_height=False):
                for item in self.inputs[start : start + columns]:
                    with gr.Column(min_width=220):
                        made.extend(item.components(defaults[item.feature.name], key=key))
        return made
