"""A model's input form, derived from its card: one widget per feature, nothing by hand.

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

import gradio as gr

from demo_app.cards import Card, Feature

__all__ = ["UNKNOWN", "FeatureInput", "Form", "FormWidgets", "format_number"]

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

    # -- widgets -----------------------------------------------------------
    def components(self, value: Any, *, key: str, position: int = 0) -> tuple[gr.Component, gr.HTML]:
        """Create this feature's widget, showing ``value`` (a JSON value), and the note under it.

        The note's element id is ``fp-note-<key>-<position>`` (a column name may hold any character).
        """
        f = self.feature
        common = {
            "label": f.title,
            "info": self.info or None,
            "key": f"{key}:{f.name}",
            "elem_classes": "fp-field",
            # Built inside gr.render, so Gradio cannot infer that these are inputs: say it.
            "interactive": True,
        }
        shown = self.widget_value(value)
        if self.widget == "number":
            widget: gr.Component = gr.Number(value=shown, step=self.step or 1, **common)
        elif self.widget == "dropdown":
            # allow_custom_value: a typed value stays on screen and is sent, for the API to judge.
            widget = gr.Dropdown(list(self.choices), value=shown, allow_custom_value=True, **common)
        else:
            widget = gr.Checkbox(value=shown, **common)
        # Always mounted and only filled or emptied (CSS hides it while empty): a component shown
        # by an update after being built hidden inside gr.render does not reliably appear.
        note = gr.HTML("", key=f"{key}:{f.name}:note", elem_id=f"fp-note-{key}-{position}",
                       elem_classes="fp-field-note", container=False)
        return widget, note


@dataclass(frozen=True)
class FormWidgets:
    """The form's input widgets (event inputs, in feature order) and the note under each."""

    inputs: list[gr.Component]
    notes: list[gr.HTML]


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

    def components(self, *, key: str, columns: int = 2) -> FormWidgets:
        """Lay the widgets out in rows of ``columns`` features (inside the current Blocks)."""
        inputs: list[gr.Component] = []
        notes: list[gr.HTML] = []
        defaults = self.default_row()
        for start in range(0, len(self.inputs), columns):
            with gr.Row(equal_height=True, elem_classes="fp-field-row"):
                for position, item in enumerate(self.inputs[start : start + columns], start):
                    # min_width: two columns on a desktop, one under the other on a phone.
                    with gr.Column(min_width=240):
                        widget, note = item.components(defaults[item.feature.name], key=key, position=position)
                        inputs.append(widget)
                        notes.append(note)
        return FormWidgets(inputs, notes)
