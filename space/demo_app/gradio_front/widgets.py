"""A model's form as Gradio widgets: what demo_app.forms decides, drawn with Gradio components."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from demo_app.forms import FeatureInput, Form

__all__ = ["FormWidgets", "feature_components", "form_components"]


@dataclass(frozen=True)
class FormWidgets:
    """The form's input widgets (event inputs, in feature order) and the note under each."""

    inputs: list[gr.Component]
    notes: list[gr.HTML]


def feature_components(item: FeatureInput, value: Any, *, key: str, position: int = 0) -> tuple[gr.Component, gr.HTML]:
    """Create one feature's widget, showing ``value`` (a JSON value), and the note under it.

    The note's element id is ``fp-note-<key>-<position>`` (a column name may hold any character).
    """
    f = item.feature
    common = {
        "label": f.title,
        "info": item.info or None,
        "key": f"{key}:{f.name}",
        "elem_classes": "fp-field",
        # Built inside gr.render, so Gradio cannot infer that these are inputs: say it.
        "interactive": True,
    }
    shown = item.widget_value(value)
    if item.widget == "number":
        widget: gr.Component = gr.Number(value=shown, step=item.step or 1, **common)
    elif item.widget == "dropdown":
        # allow_custom_value: a typed value stays on screen and is sent, for the API to judge.
        widget = gr.Dropdown(list(item.choices), value=shown, allow_custom_value=True, **common)
    else:
        widget = gr.Checkbox(value=shown, **common)
    # Always mounted and only filled or emptied (CSS hides it while empty): a component shown
    # by an update after being built hidden inside gr.render does not reliably appear.
    note = gr.HTML("", key=f"{key}:{f.name}:note", elem_id=f"fp-note-{key}-{position}",
                   elem_classes="fp-field-note", container=False)
    return widget, note


def form_components(form: Form, *, key: str, columns: int = 2) -> FormWidgets:
    """Lay the form's widgets out in rows of ``columns`` features (inside the current Blocks)."""
    inputs: list[gr.Component] = []
    notes: list[gr.HTML] = []
    defaults = form.default_row()
    for line in form.grid(columns):
        with gr.Row(equal_height=True, elem_classes="fp-field-row"):
            for position, item in line:
                # min_width: two columns on a desktop, one under the other on a phone.
                with gr.Column(min_width=240):
                    widget, note = feature_components(item, defaults[item.feature.name], key=key, position=position)
                    inputs.append(widget)
                    notes.append(note)
    return FormWidgets(inputs, notes)
