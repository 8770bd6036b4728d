"""One model's panel in Gradio: the form, the result, what-if, CSV scoring, drift and the API panel, wired to the API.

Built inside ``gr.render`` once the API has answered ``GET /models``, from
that model's card alone, so any bundle gets a working tab without code. The
words, charts' shape and calls all come from the core (demo_app.*); this
module lays them out in Gradio components and wires the events.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from demo_app.batch import CsvError, read_rows, score_rows, template_csv
from demo_app.batch_report import batch_problems, batch_summary, csv_note, unreadable_file
from demo_app.cards import Card
from demo_app.charts import CHART_HEIGHT, WHATIF_NOTE, ChartSpec, chart_spec, sweep_caption
from demo_app.client import ApiClient, ApiError, ApiRejectedError
from demo_app.connection import banner_for_error, banner_waking
from demo_app.drift import DRIFT_NOTE, DRIFT_TITLE, check_drift
from demo_app.field_notes import notes_for_answer, notes_for_refusal
from demo_app.forms import Form
from demo_app.gradio_front.status import PageStatus
from demo_app.gradio_front.widgets import form_components
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
from demo_app.waking import Waiting, call_until_awake
from demo_app.whatif import default_sweep_feature, run_sweep

__all__ = ["build_model_view"]

# Result files are handed to Gradio, which copies them into its own cache; ours can go after an hour.
FILE_MAX_AGE_SECONDS = 3600


def _new_file(folder: Path, name: str) -> Path:
    """A fresh path in ``folder`` for ``name``, after clearing files older than FILE_MAX_AGE_SECONDS."""
    cutoff = time.time() - FILE_MAX_AGE_SECONDS
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return folder / f"{uuid.uuid4().hex[:8]}-{name}"


def _scroll_into_view(elem_id: str) -> str:
    """A Gradio js= function that brings ``elem_id`` on screen when it is not (on a phone the result is
    below the form)."""
    return f"() => {{ {scroll_into_view_script('#' + elem_id)} }}"


def _plot(spec: ChartSpec) -> gr.LinePlot | gr.BarPlot:
    """The chart the core's spec describes, as Gradio's LinePlot (numbers) or BarPlot (categories)."""
    kwargs: dict[str, Any] = {
        "value": spec.frame, "x": spec.x, "y": spec.y, "color": spec.color, "x_title": spec.x_title,
        "y_title": spec.y_title, "visible": True, "height": spec.height,
    }
    if spec.x_order is not None:
        kwargs["sort"] = spec.x_order
    if spec.whole_numbers:
        kwargs["x_axis_format"] = "d"
    if spec.y_domain is not None:
        kwargs["y_lim"] = list(spec.y_domain)
    if spec.kind == "line":
        return gr.LinePlot(**kwargs)
    return gr.BarPlot(x_label_angle=-90 if spec.upright_labels else 0, **kwargs)


def build_model_view(card: Card, client: ApiClient, *, status: PageStatus, wake_seconds: float, with_key: bool,
                     files: Path) -> None:
    """Lay out and wire one model's panel inside the current Blocks context; CSV files go to ``files``.

    Every handler also updates ``status``, the page's one connection state.
    """
    form = Form(card)
    key = card.name
    gr.HTML(model_summary(card), key=f"{key}:summary")

    # -- predict -------------------------------------------------------------
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            with gr.Row(elem_classes="fp-examples"):
                example_buttons = [
                    gr.Button(f"Example {i + 1}", size="sm", key=f"{key}:example:{i}", scale=0, min_width=90)
                    for i in range(len(card.examples))
                ]
                defaults_button = gr.Button("Defaults", size="sm", key=f"{key}:defaults", scale=0, min_width=90,
                                            variant="secondary")
            widgets = form_components(form, key=key)
            inputs = widgets.inputs
            predict_button = gr.Button("Predict", variant="primary", key=f"{key}:predict", elem_classes="fp-predict")
        with gr.Column(scale=2, min_width=300, elem_id=f"fp-result-{key}"):
            label = (
                gr.Label(
                    num_top_classes=len(card.classes),
                    label=f"Chance of each {card.target_title}",
                    key=f"{key}:label",
                    elem_classes="fp-label",
                    visible=False,
                )
                if card.is_classifier
                else None
            )
            outcome = gr.HTML(PLACEHOLDER, key=f"{key}:outcome", elem_classes="fp-outcome")
            meta = gr.HTML("", key=f"{key}:meta", elem_classes="fp-meta-box")
            with gr.Accordion("Technical details", open=False, key=f"{key}:technical",
                              elem_classes="fp-technical-fold"):
                technical = gr.HTML(technical_details(card), key=f"{key}:technical-table")

    # -- what if -------------------------------------------------------------
    with gr.Accordion("What if… change one input and watch the prediction", open=True, key=f"{key}:whatif"):
        gr.HTML(WHATIF_NOTE, key=f"{key}:whatif-note")
        with gr.Row(equal_height=False, elem_classes="fp-sweep-row"):
            sweep_feature = gr.Dropdown(
                [(f.title, f.name) for f in card.features],
                value=default_sweep_feature(card),
                label="Input to change",
                key=f"{key}:sweep-feature",
                scale=3,
                min_width=200,
                interactive=True,
            )
            sweep_button = gr.Button("Show", key=f"{key}:sweep", scale=0, min_width=120, variant="primary",
                                     elem_classes="fp-sweep")
        sweep_status = gr.HTML("", key=f"{key}:sweep-status")
        line_plot = gr.LinePlot(visible=False, key=f"{key}:sweep-line", height=CHART_HEIGHT,
                                elem_classes="fp-sweep-plot")
        bar_plot = gr.BarPlot(visible=False, key=f"{key}:sweep-bar", height=CHART_HEIGHT,
                              elem_classes="fp-sweep-plot")

    # -- batch ---------------------------------------------------------------
    # Named after the model's version, so every visit of one version shares one file.
    template_path = files / f"{card.name}-{card.version}-template.csv"
    template_path.write_text(template_csv(card), encoding="utf-8")
    with gr.Accordion("Score a CSV file", open=False, key=f"{key}:batch"):
        gr.HTML(csv_note(card), key=f"{key}:batch-note")
        with gr.Row():
            # No file_types: Gradio's own check would answer a wrong file with a bare "Error";
            # read_rows says what is wrong with it instead.
            upload = gr.File(label="CSV file", key=f"{key}:upload", scale=3, min_width=220, interactive=True)
            gr.DownloadButton("Download a template", value=str(template_path), key=f"{key}:template", scale=0,
                              min_width=200, size="md")
        batch_status = gr.HTML("", key=f"{key}:batch-status")
        batch_table = gr.Dataframe(visible=False, key=f"{key}:batch-table", interactive=False, max_height=360,
                                   elem_classes="fp-batch-table")
        problems_box = gr.HTML("", key=f"{key}:batch-problems")
        batch_file = gr.DownloadButton("Download the predictions (CSV)", visible=False, key=f"{key}:batch-file",
                                       variant="primary")

    # -- drift -------------------------------------------------------------------
    with gr.Accordion(DRIFT_TITLE, open=False, key=f"{key}:drift"):
        gr.HTML(DRIFT_NOTE, key=f"{key}:drift-note")
        drift_button = gr.Button("Check", key=f"{key}:drift-check", variant="primary", min_width=120,
                                 elem_classes="fp-drift")
        drift_status = gr.HTML("", key=f"{key}:drift-status")
        drift_plot = gr.BarPlot(visible=False, key=f"{key}:drift-bar", height=CHART_HEIGHT,
                                elem_classes="fp-drift-plot")

    # -- API panel -----------------------------------------------------------
    first_row = form.default_row()
    with gr.Accordion("Call the API yourself", open=False, key=f"{key}:api"):
        gr.HTML(api_note(client.docs_url, with_key=with_key) + field_names_table(card), key=f"{key}:api-note")
        curl_box = gr.Code(curl_command(client.predict_url(card.name), first_row, with_key=with_key),
                           language="shell", label="curl", key=f"{key}:curl", elem_classes="fp-curl",
                           wrap_lines=True)
        python_box = gr.Code(python_code(client.predict_url(card.name), first_row, with_key=with_key),
                             language="python", label="Python (requests)", key=f"{key}:python",
                             elem_classes="fp-python")

    # -- handlers --------------------------------------------------------------
    result_outputs: list[gr.Component] = (([label] if label is not None else []) + [outcome, meta, technical]
                                          + widgets.notes + status.outputs)

    def show_snippets(*values: Any) -> tuple[str, str]:
        row = form.row(values)
        url = client.predict_url(card.name)
        return curl_command(url, row, with_key=with_key), python_code(url, row, with_key=with_key)

    def result_update(label_value: Any, outcome_html: Any, meta_html: Any, technical_html: Any,
                      notes: dict[str, str] | None, page: list[Any]) -> list[Any]:
        note_updates = ([gr.skip()] * len(widgets.notes) if notes is None
                        else [notes[f.name] for f in card.features])
        return (([label_value] if label is not None else []) + [outcome_html, meta_html, technical_html]
                + note_updates + page)

    def predict(*values: Any) -> Iterator[list[Any]]:
        row = form.row(values)
        try:
            for step in call_until_awake(lambda: client.predict(card.name, row), limit=wake_seconds):
                if isinstance(step, Waiting):
                    yield result_update(gr.skip(), gr.update(value=banner_waking(step, client.base_url), visible=True),
                                        gr.skip(), gr.skip(), None, status.waking(step))
                    continue
                reply = step.value
                body = reply.data
                # A classifier's answer is the chart; a regressor's is the big number in the outcome box.
                shown = (gr.update(value="", visible=False) if card.is_classifier
                         else gr.update(value=regression_value(card, body), visible=True))
                yield result_update(gr.update(value=probabilities(body), visible=True), shown,
                                    prediction_meta(card, body, reply.seconds), technical_details(card, body),
                                    notes_for_answer(card, body), status.connected())
        except ApiRejectedError as exc:
            yield result_update(gr.update(visible=False), gr.update(value=refusal_box(card, exc), visible=True), "",
                                gr.skip(), notes_for_refusal(card, exc), status.failed(exc))
        except ApiError as exc:
            yield result_update(gr.update(visible=False),
                                gr.update(value=banner_for_error(exc, client.base_url, card), visible=True), "",
                                gr.skip(), None, status.failed(exc))

    def sweep(feature_name: str, *values: Any) -> Iterator[list[Any]]:
        row = form.row(values)
        hidden = gr.update(visible=False)
        try:
            for step in call_until_awake(lambda: run_sweep(client, card, row, feature_name), limit=wake_seconds):
                if isinstance(step, Waiting):
                    yield [banner_waking(step, client.base_url), gr.skip(), gr.skip(), *status.waking(step)]
                    continue
                item = step.value
                plot = _plot(chart_spec(card, item))
                line, bar = (plot, hidden) if isinstance(plot, gr.LinePlot) else (hidden, plot)
                yield [sweep_caption(card, item), line, bar, *status.connected()]
        except ApiRejectedError as exc:
            yield [refusal_box(card, exc), hidden, hidden, *status.failed(exc)]
        except ApiError as exc:
            yield [banner_for_error(exc, client.base_url, card), hidden, hidden, *status.failed(exc)]
        except ValueError as exc:
            yield [escape(str(exc)), hidden, hidden, gr.skip(), gr.skip()]

    def score_file(path: str | None) -> Iterator[list[Any]]:
        hidden = gr.update(visible=False)
        if not path:
            yield ["", hidden, "", hidden, gr.skip(), gr.skip()]
            return
        try:
            rows, header = read_rows(card, Path(path).read_bytes())
        except CsvError as exc:
            yield [unreadable_file(Path(path).name, exc), hidden, "", hidden, gr.skip(), gr.skip()]
            return
        try:
            for step in call_until_awake(lambda: score_rows(client, card, rows, header), limit=wake_seconds):
                if isinstance(step, Waiting):
                    yield [banner_waking(step, client.base_url), gr.skip(), gr.skip(), gr.skip(), *status.waking(step)]
                    continue
                item = step.value
                out_path = item.write_csv(_new_file(files, f"{card.name}-predictions.csv"))
                yield [batch_summary(item, len(rows)), gr.update(value=item.shown_table(), visible=True),
                       batch_problems(item), gr.update(value=str(out_path), visible=True), *status.connected()]
        except ApiError as exc:
            yield [banner_for_error(exc, client.base_url, card), hidden, "", hidden, *status.failed(exc)]

    def drift() -> Iterator[list[Any]]:
        hidden = gr.update(visible=False)
        try:
            for step in call_until_awake(lambda: check_drift(client, card), limit=wake_seconds):
                if isinstance(step, Waiting):
                    yield [banner_waking(step, client.base_url), gr.skip(), *status.waking(step)]
                    continue
                view = step.value
                yield [view.summary, _plot(view.chart) if view.chart else hidden, *status.connected()]
        except ApiError as exc:
            yield [banner_for_error(exc, client.base_url, card), hidden, *status.failed(exc)]

    result_js = _scroll_into_view(f"fp-result-{key}")
    for index, button in enumerate(example_buttons):
        example_values = form.widget_values(card.examples[index])
        button.click(lambda v=example_values: v, outputs=inputs, queue=False).then(
            predict, inputs=inputs, outputs=result_outputs, show_progress="minimal"
        ).then(None, js=result_js)
    default_values = form.widget_values(form.default_row())
    defaults_button.click(lambda: default_values, outputs=inputs, queue=False)
    # "minimal": Gradio's full overlay would hide the waking-up banner the handler streams into the outcome box.
    predict_button.click(predict, inputs=inputs, outputs=result_outputs, show_progress="minimal").then(
        None, js=result_js)
    sweep_button.click(sweep, inputs=[sweep_feature, *inputs],
                       outputs=[sweep_status, line_plot, bar_plot, *status.outputs], show_progress="minimal")
    drift_button.click(drift, outputs=[drift_status, drift_plot, *status.outputs], show_progress="minimal")
    batch_outputs = [batch_status, batch_table, problems_box, batch_file, *status.outputs]
    upload.upload(score_file, inputs=upload, outputs=batch_outputs, show_progress="minimal")
    upload.clear(lambda: ["", gr.update(visible=False), "", gr.update(visible=False), gr.skip(), gr.skip()],
                 outputs=batch_outputs, queue=False)
    gr.on([c.change for c in inputs], show_snippets, inputs=inputs, outputs=[curl_box, python_box], queue=False)
