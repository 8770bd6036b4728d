"""A model's form as Streamlit widgets: what demo_app.forms decides, drawn with Streamlit's inputs.

Every widget's value lives in session state under its key, so an example
button can fill the form (a callback, before the widgets are drawn) and the
form keeps what the visitor typed when another model is opened and closed.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from demo_app.forms import FeatureInput, Form

__all__ = ["draw_field", "field_key", "fill_form", "form_values", "start_form"]


def field_key(model: str, feature: str) -> str:
    return f"fp:{model}:field:{feature}"


def _state_value(item: FeatureInput, value: Any) -> Any:
    """A widget value (demo_app.forms) as this front's widget holds it: numbers as floats, so that 4.7 typed
    into a whole-number field stays 4.7 for the API to judge, rather than being rounded by an int box."""
    if item.widget == "number" and value is not None:
        return float(value)
    return value


def fill_form(form: Form, row: dict[str, Any]) -> None:
    """Put a JSON row (the card's defaults or an example) into the form's widgets."""
    for item, value in zip(form.inputs, form.widget_values(row), strict=True):
        st.session_state[field_key(form.card.name, item.feature.name)] = _state_value(item, value)


def start_form(form: Form) -> None:
    """A first look at the form in this visit: the card's defaults in every field that holds nothing yet."""
    defaults = form.widget_values(form.default_row())
    for item, value in zip(form.inputs, defaults, strict=True):
        st.session_state.setdefault(field_key(form.card.name, item.feature.name), _state_value(item, value))


def form_values(form: Form) -> list[Any]:
    """The form's widget values as last sent (a form's widgets update session state on submit)."""
    return [st.session_state.get(field_key(form.card.name, item.feature.name)) for item in form.inputs]


def draw_field(item: FeatureInput, model: str) -> Any:
    """Draw one feature's widget; its value is in session state (see fill_form)."""
    f = item.feature
    key = field_key(model, f.name)
    common: dict[str, Any] = {"label": f.title, "key": key, "help": item.info or None}
    if item.widget == "number":
        # No min/max: a bound would clamp what is typed. "%g": 59.6 as 59.6, 12 as 12, no forced decimals.
        # value=None: a box the visitor empties stays empty and is sent as null (the default would put 0
        # back); the value shown is the one in session state.
        return st.number_input(value=None, step=float(item.step or 1), format="%g", placeholder="not known",
                               **common)
    if item.widget == "dropdown":
        labels = dict((value, shown) for shown, value in item.choices)
        options = list(labels)
        current = st.session_state.get(key)
        if current is not None and current not in labels:
            options.append(current)  # a value typed earlier stays on screen and is sent as typed
        # accept_new_options: a typed value is kept and sent, for the API to judge.
        return st.selectbox(options=options, format_func=lambda value: labels.get(value, value),
                            accept_new_options=True, placeholder="Choose or type", **common)
    return st.checkbox(**common)
