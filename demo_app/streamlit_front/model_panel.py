"""One model's panel in Streamlit: the form, the result, what-if, CSV scoring and the API call, from its card.

The words, the chart's shape and every call come from the core (demo_app.*);
this module lays them out with Streamlit's elements. The form is an
``st.form``: a visitor's edits call nothing until *Predict*. What each call
showed is kept in session state, so a rerun (another model opened, a file
downloaded) redraws it without calling the API again.
"""

from __future__ import annotations

from html import escape
from typing import Any

import streamlit as st

from demo_app.batch import CsvError, read_rows, score_rows, template_csv
from demo_app.batch_report import batch_problems, batch_summary, csv_note, unreadable_file
from demo_app.cards import Card
from demo_app.charts import WHATIF_NOTE, chart_spec, sweep_caption
from demo_app.client import ApiClient, ApiError, ApiRejectedError
from demo_app.connection import banner_for_error
from demo_app.drift import DRIFT_NOTE, DRIFT_TITLE, DriftView, check_drift
from demo_app.field_notes import notes_for_answer, notes_for_refusal
from demo_app.forms import Form
from demo_app.look import scroll_into_view_script
from demo_app.results import (
    PLACEHOLDER,
    api_note,
    field_names_table,
    model_summary,
    prediction_meta,
    probabilities,
    refusal_box,
    regression_value,
    technical_details,
)
from demo_app.snippets import curl_command, python_code
from demo_app.streamlit_front.charts import sweep_chart
from demo_app.streamlit_front.fields import draw_field, fill_form, form_values, start_form
from demo_app.streamlit_front.status import PageStatus
from demo_app.whatif import default_sweep_feature, run_sweep

__all__ = ["show_model"]

# The form is sent as last submitted: say so where it matters (the what-if and the snippets use it too).
SENT_NOTE = '<p class="fp-section-note">With the inputs as last sent by <b>Predict</b> (or an example).</p>'


def _state(card: Card, what: str) -> str:
    return f"fp:{card.name}:{what}"


def show_model(card: Card, client: ApiClient, status: PageStatus, *, with_key: bool) -> None:
    """Draw one model's panel and answer what the visitor asked of it in this run."""
    form = Form(card)
    start_form(form)
    st.html(model_summary(card))
    _examples(card, form)
    submitted, notes = _form(card, form)
    result = st.container(key=f"fp-result-{card.name}")
    asked = submitted or st.session_state.pop(_state(card, "predict-now"), False)
    if asked:
        _predict(card, form, client, status, result)
    _show_result(card, result, notes)
    if asked:  # on a phone the result is below the form: bring it into view
        st.html(f"<script>{scroll_into_view_script(f'.st-key-fp-result-{card.name}')}</script>",
                unsafe_allow_javascript=True)
    _what_if(card, form, client, status)
    _csv(card, client, status)
    _drift(card, client, status)
    _api_call(card, form, client, with_key=with_key)


def _examples(card: Card, form: Form) -> None:
    """One button per example row (fills the form and predicts it), and one back to the card's defaults."""
    def use(row: dict[str, Any], predict: bool) -> None:
        fill_form(form, row)
        st.session_state[_state(card, "predict-now")] = predict

    with st.container(horizontal=True, key=f"fp-examples-{card.name}", vertical_alignment="center"):
        st.caption("Try a real row:")
        for index, example in enumerate(card.examples):
            st.button(f"Example {index + 1}", key=f"fp:{card.name}:example:{index}", on_click=use,
                      args=(example, True))
        st.button("Defaults", key=f"fp:{card.name}:defaults", on_click=use, args=(form.default_row(), False))


def _form(card: Card, form: Form) -> tuple[bool, dict[str, Any]]:
    """The form (two fields a row on a laptop, one on a phone), an empty note under each field, and Predict."""
    notes: dict[str, Any] = {}
    with st.form(f"fp-form-{card.name}", enter_to_submit=False):
        for line in form.grid(2):
            for (_, item), column in zip(line, st.columns(2), strict=False):
                with column:
                    draw_field(item, card.name)
                    notes[item.feature.name] = st.empty()
        submitted = st.form_submit_button("Predict", type="primary")
    return submitted, notes


def _predict(card: Card, form: Form, client: ApiClient, status: PageStatus, result: Any) -> None:
    """Send the form's row, waiting (with progress in the result box) for a sleeping API; keep what to show."""
    row = form.row(form_values(form))
    with result:
        waiting = st.empty()
    shown: dict[str, Any] = {"chances": None, "outcome": "", "meta": "", "technical": technical_details(card),
                             "notes": None}
    try:
        reply = status.call(lambda: client.predict(card.name, row), waiting)
    except ApiRejectedError as exc:
        shown.update(outcome=refusal_box(card, exc), notes=notes_for_refusal(card, exc))
    except ApiError as exc:
        shown.update(outcome=banner_for_error(exc, client.base_url, card))
    else:
        body = reply.data
        shown.update(
            chances=probabilities(body) if card.is_classifier else None,
            outcome="" if card.is_classifier else regression_value(card, body),
            meta=prediction_meta(card, body, reply.seconds),
            technical=technical_details(card, body),
            notes=notes_for_answer(card, body),
        )
    waiting.empty()
    st.session_state[_state(card, "result")] = shown


def _show_result(card: Card, result: Any, notes: dict[str, Any]) -> None:
    """The last answer: chances as bars or the big number, the headline, the field notes, the details fold."""
    shown = st.session_state.get(_state(card, "result"))
    with result:
        if shown is None:
            st.html(PLACEHOLDER)
            return
        if shown["chances"]:
            st.markdown(f"**Chance of each {card.target_title}**")
            for label, chance in sorted(shown["chances"].items(), key=lambda item: item[1], reverse=True):
                st.progress(chance, text=f"{label} · {chance:.0%}")
        if shown["outcome"]:
            st.html(shown["outcome"])
        if shown["meta"]:
            st.html(shown["meta"])
        with st.expander("Technical details"):
            st.html(shown["technical"])
    for name, note in (shown["notes"] or {}).items():
        if note and name in notes:
            notes[name].html(note)


def _what_if(card: Card, form: Form, client: ApiClient, status: PageStatus) -> None:
    """Pick an input, press Show: the row predicted across that input's training range, as a chart."""
    with st.expander("What if… change one input and watch the prediction", expanded=True):
        st.html(WHATIF_NOTE + SENT_NOTE)
        names = [f.name for f in card.features]
        with st.container(horizontal=True, vertical_alignment="bottom"):
            choice = st.selectbox("Input to change", names, index=names.index(default_sweep_feature(card)),
                                  format_func=card.title_of, key=_state(card, "sweep-feature"))
            show = st.button("Show", type="primary", key=_state(card, "sweep"))
        box = st.empty()
        if show:
            row = form.row(form_values(form))
            try:
                item = status.call(lambda: run_sweep(client, card, row, choice), box)
            except ApiRejectedError as exc:
                st.session_state[_state(card, "sweep-shown")] = (refusal_box(card, exc), None)
            except ApiError as exc:
                st.session_state[_state(card, "sweep-shown")] = (banner_for_error(exc, client.base_url, card), None)
            except ValueError as exc:  # an input the card gives no range for
                st.session_state[_state(card, "sweep-shown")] = (f"<p>{escape(str(exc))}</p>", None)
            else:
                st.session_state[_state(card, "sweep-shown")] = (sweep_caption(card, item), chart_spec(card, item))
        shown = st.session_state.get(_state(card, "sweep-shown"))
        if shown is not None:
            caption, spec = shown
            with box.container():
                st.html(caption)
                if spec is not None:
                    st.altair_chart(sweep_chart(spec), key=_state(card, "sweep-chart"))


def _csv(card: Card, client: ApiClient, status: PageStatus) -> None:
    """Upload a CSV: every good row scored in batches, every bad one listed with the API's reason."""
    with st.expander("Score a CSV file"):
        st.html(csv_note(card))
        st.download_button("Download a template", template_csv(card), file_name=f"{card.name}-template.csv",
                           mime="text/csv", on_click="ignore", key=_state(card, "template"))
        # No type=: Streamlit's own check would refuse a wrong file without saying what the demo takes;
        # read_rows says what is wrong with it instead.
        upload = st.file_uploader("CSV file", key=_state(card, "upload"))
        done = _state(card, "batch")
        if upload is None:
            st.session_state.pop(done, None)
            return
        if st.session_state.get(done, {}).get("file") != upload.file_id:
            st.session_state[done] = {"file": upload.file_id, **_score(card, client, status, upload)}
        shown = st.session_state[done]
        st.html(shown["summary"])
        if shown.get("table") is not None:
            st.dataframe(shown["table"], hide_index=True, key=_state(card, "batch-table"))
            st.html(shown["problems"])
            st.download_button("Download the predictions (CSV)", shown["csv"],
                               file_name=f"{card.name}-predictions.csv", mime="text/csv", type="primary",
                               on_click="ignore", key=_state(card, "batch-file"))


def _score(card: Card, client: ApiClient, status: PageStatus, upload: Any) -> dict[str, Any]:
    """Score the uploaded file: what to show (summary, table, problems, the file to download)."""
    try:
        rows, header = read_rows(card, upload.getvalue())
    except CsvError as exc:
        return {"summary": unreadable_file(upload.name, exc)}
    box = st.empty()
    try:
        item = status.call(lambda: score_rows(client, card, rows, header), box)
    except ApiError as exc:
        return {"summary": banner_for_error(exc, client.base_url, card)}
    finally:
        box.empty()
    return {"summary": batch_summary(item, len(rows)), "table": item.shown_table(), "problems": batch_problems(item),
            "csv": item.csv_bytes()}


def _drift(card: Card, client: ApiClient, status: PageStatus) -> None:
    """Press Check: the API's drift report for this model, as a sentence and a bar per input."""
    with st.expander(DRIFT_TITLE):
        st.html(DRIFT_NOTE)
        check = st.button("Check", type="primary", key=_state(card, "drift"))
        box = st.empty()
        if check:
            try:
                view = status.call(lambda: check_drift(client, card), box)
            except ApiError as exc:
                view = DriftView(banner_for_error(exc, client.base_url, card))
            st.session_state[_state(card, "drift-shown")] = view
        shown = st.session_state.get(_state(card, "drift-shown"))
        if shown is not None:
            with box.container():
                st.html(shown.summary)
                if shown.chart is not None:
                    st.altair_chart(sweep_chart(shown.chart), key=_state(card, "drift-chart"))


def _api_call(card: Card, form: Form, client: ApiClient, *, with_key: bool) -> None:
    """The exact call behind the form, as curl and Python, with the API's own field names."""
    with st.expander("Call the API yourself"):
        st.html(api_note(client.docs_url, with_key=with_key) + SENT_NOTE + field_names_table(card))
        row = form.row(form_values(form))
        url = client.predict_url(card.name)
        st.code(curl_command(url, row, with_key=with_key), language="bash", wrap_lines=True)
        st.code(python_code(url, row, with_key=with_key), language="python")
