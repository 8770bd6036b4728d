"""One model's tab: the form, the result, what-if, CSV scoring and the API panel, wired to the API.

Built inside ``gr.render`` once the API has answered ``GET /models``, from
that model's card alone, so any bundle gets a working tab without code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from demo_app.batch import BatchResult, CsvError, read_rows, score_rows, template_csv
from demo_app.cards import Card
from demo_app.client import ApiClient, ApiError
from demo_app.forms import Form
from demo_app.results import (
    banner_for_error,
    banner_waking,
    model_summary,
    prediction_meta,
    probabilities,
    regression_value,
)
from demo_app.snippets import curl_command, python_code
from demo_app.waking import Waiting, call_until_awake
from demo_app.whatif import run_sweep

__all__ = ["build_model_view"]

PLACEHOLDER = '<div class="fp-placeholder">Press <b>Predict</b>, or pick an example above.</div>'
# Result files are handed to Gradio, which copies them into its own cache; ours can go after an hour.
FILE_MAX_AGE_SECONDS = 3600


def _new_file(folder: Path, name: str) -> Path:
    """A fresh path in ``folder`` for ``name``, after clearing files older than FILE_MAX_AGE_SECONDS."""
    cutoff = time.time() - FILE_MAX_AGE_SECONDS
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return folder / f"{uuid.uuid4().hex[:8]}-{name}"


def _default_sweep_feature(card: Card) -> str:
    numeric = [f.name for f in card.features if f.is_numeric]
    return numeric[0] if numeric else card.features[0].name


def build_model_view(card: Card, client: ApiClient, *, wake_seconds: float, with_key: bool, files: Path) -> None:
    """Lay out and wire one model's tab inside the current Blocks context; CSV files go to ``files``."""
    form = Form(card)
    key = card.name
    gr.HTML(model_summary(card), key=f"{key}:summary")

    # -- predict -------------------------------------------------------------
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row(elem_classes="fp-examples"):
                example_buttons = [
                    gr.Button(f"Example {i + 1}", size="sm", key=f"{key}:example:{i}", scale=0, min_width=100)
                    for i in range(len(card.examples))
                ]
                defaults_button = gr.Button("Defaults", size="sm", key=f"{key}:defaults", scale=0, min_width=100,
                                            variant="secondary")
            inputs = form.components(key=key)
            predict_button = gr.Button("Predict", variant="primary", key=f"{key}:predict", elem_classes="fp-predict")
        with gr.Column(scale=2):
            label = (
                gr.Label(
                    num_top_classes=len(card.classes),
                    label=f"{card.target}: probability of each class",
                    key=f"{key}:label",
                    elem_classes="fp-label",
                    visible=False,
                )
                if card.is_classifier
                else None
            )
            outcome = gr.HTML(PLACEHOLDER, key=f"{key}:outcome", elem_classes="fp-outcome")
            meta = gr.HTML("", key=f"{key}:meta", elem_classes="fp-meta-box")

    # -- what if -------------------------------------------------------------
    with gr.Accordion("What if… sweep one input across its range", open=True, key=f"{key}:whatif"):
        gr.HTML(
            '<p class="fp-section-note">Pick an input: the API predicts the form\'s row again with that input set '
            "to every value across its training range (through the batch endpoint), and the chart shows how the "
            "prediction moves. Everything else stays as in the form.</p>",
            key=f"{key}:whatif-note",
        )
        with gr.Row(equal_height=False, elem_classes="fp-sweep-row"):
            sweep_feature = gr.Dropdown(
                [f.name for f in card.features],
                value=_default_sweep_feature(card),
                label="Input to vary",
                key=f"{key}:sweep-feature",
                scale=3,
                interactive=True,
            )
            sweep_button = gr.Button("Sweep", key=f"{key}:sweep", scale=0, min_width=160, variant="primary",
                                     elem_classes="fp-sweep")
        sweep_status = gr.HTML("", key=f"{key}:sweep-status")
        line_plot = gr.LinePlot(visible=False, key=f"{key}:sweep-line", height=340, elem_classes="fp-sweep-plot")
        bar_plot = gr.BarPlot(visible=False, key=f"{key}:sweep-bar", height=340, elem_classes="fp-sweep-plot")

    # -- batch ---------------------------------------------------------------
    # Named after the model's version, so every visit of one version shares one file.
    template_path = files / f"{card.name}-{card.version}-template.csv"
    template_path.write_text(template_csv(card), encoding="utf-8")
    with gr.Accordion("Score a CSV file", open=False, key=f"{key}:batch"):
        gr.HTML(
            '<p class="fp-section-note">One row per prediction, with a header naming the inputs '
            f"({escape(', '.join(f.name for f in card.features))}). Rows the model cannot take are listed "
            "with the reason; the others are still scored. Start from the template if you like.</p>",
            key=f"{key}:batch-note",
        )
        with gr.Row():
            upload = gr.File(label="CSV file", file_types=[".csv"], key=f"{key}:upload", scale=3, interactive=True)
            gr.DownloadButton("Download a template", value=str(template_path), key=f"{key}:template", scale=0,
                              min_width=200, size="md")
        batch_status = gr.HTML("", key=f"{key}:batch-status")
        batch_table = gr.Dataframe(visible=False, key=f"{key}:batch-table", interactive=False, max_height=360,
                                   elem_classes="fp-batch-table")
        batch_file = gr.DownloadButton("Download the predictions (CSV)", visible=False, key=f"{key}:batch-file",
                                       variant="primary")

    # -- API panel -----------------------------------------------------------
    first_row = form.default_row()
    with gr.Accordion("Call the API yourself", open=False, key=f"{key}:api"):
        gr.HTML(
            f'<p class="fp-section-note">The same call the form makes, with its current inputs. '
            f'Every field, type and range is in the <a href="{escape(client.docs_url)}" target="_blank" '
            f'rel="noopener">interactive API docs (/docs)</a>.'
            f"{' The key is read from the API_KEY environment variable.' if with_key else ''}</p>",
            key=f"{key}:api-note",
        )
        curl_box = gr.Code(curl_command(client.predict_url(card.name), first_row, with_key=with_key),
                           language="shell", label="curl", key=f"{key}:curl", elem_classes="fp-curl",
                           wrap_lines=True)
        python_box = gr.Code(python_code(client.predict_url(card.name), first_row, with_key=with_key),
                             language="python", label="Python (requests)", key=f"{key}:python",
                             elem_classes="fp-python")

    # -- handlers --------------------------------------------------------------
    result_outputs: list[gr.Component] = ([label] if label is not None else []) + [outcome, meta]

    def show_snippets(*values: Any) -> tuple[str, str]:
        row = form.row(values)
        url = client.predict_url(card.name)
        return curl_command(url, row, with_key=with_key), python_code(url, row, with_key=with_key)

    def result_update(label_value: Any, outcome_html: Any, meta_html: Any) -> list[Any]:
        return ([label_value] if label is not None else []) + [outcome_html, meta_html]

    def predict(*values: Any) -> Iterator[list[Any]]:
        row = form.row(values)
        try:
            for step in call_until_awake(lambda: client.predict(card.name, row), limit=wake_seconds):
                if isinstance(step, Waiting):
                    yield result_update(gr.skip(), gr.update(value=banner_waking(step, client.base_url), visible=True),
                                        gr.skip())
                    continue
                reply = step.value
                body = reply.data
                # A classifier's answer is the chart; a regressor's is the big number in the outcome box.
                shown = (gr.update(value="", visible=False) if card.is_classifier
                         else gr.update(value=regression_value(card, body), visible=True))
                yield result_update(gr.update(value=probabilities(body), visible=True), shown,
                                    prediction_meta(card, body, reply.seconds))
        except ApiError as exc:
            yield result_update(gr.update(visible=False),
                                gr.update(value=banner_for_error(exc, client.base_url), visible=True), "")

    def sweep(feature_name: str, *values: Any) -> Iterator[list[Any]]:
        row = form.row(values)
        hidden = gr.update(visible=False)
        try:
            for step in call_until_awake(lambda: run_sweep(client, card, row, feature_name), limit=wake_seconds):
                if isinstance(step, Waiting):
                    yield [banner_waking(step, client.base_url), gr.skip(), gr.skip()]
                    continue
                item = step.value
                shown = (f", showing the {len(item.order) // 2} highest and {len(item.order) // 2} lowest"
                         if item.trimmed and item.order else "")
                note = (
                    f'<p class="fp-section-note"><b>{escape(item.feature.name)}</b> across {item.values_tried} '
                    f"values{shown}; {'probability of each class' if card.is_classifier else escape(card.target)} "
                    f"on the vertical axis · predicted through /predict/batch in {item.seconds * 1000:,.0f} ms.</p>"
                )
                plot_kwargs = {
                    "value": item.frame,
                    "x": item.feature.name,
                    "y": item.y,
                    "color": item.color,
                    "title": f"{'Probability' if card.is_classifier else card.target} as {item.feature.name} varies",
                    "y_title": "probability" if card.is_classifier else card.target,
                    "visible": True,
                }
                if card.is_classifier:
                    plot_kwargs["y_lim"] = [0, 1]
                elif not item.numeric:  # bars start at zero, or small differences look huge
                    plot_kwargs["y_lim"] = [0, float(item.frame[item.y].max()) * 1.05]
                if item.numeric:
                    yield [note, gr.LinePlot(**plot_kwargs), hidden]
                else:
                    angle = -60 if len(item.frame[item.feature.name].unique()) > 8 else 0
                    yield [note, hidden, gr.BarPlot(sort=item.order, x_label_angle=angle, **plot_kwargs)]
        except (ApiError, ValueError) as exc:
            message = banner_for_error(exc, client.base_url) if isinstance(exc, ApiError) else escape(str(exc))
            yield [message, hidden, hidden]

    def score_file(path: str | None) -> Iterator[list[Any]]:
        hidden = gr.update(visible=False)
        if not path:
            yield ["", hidden, hidden]
            return
        try:
            rows, header = read_rows(card, Path(path).read_bytes())
        except CsvError as exc:
            yield [f'<div class="fp-banner fp-invalid" role="alert"><b>This file cannot be scored:</b> '
                   f"{escape(str(exc))}</div>", hidden, hidden]
            return
        try:
            for step in call_until_awake(lambda: score_rows(client, card, rows, header), limit=wake_seconds):
                if isinstance(step, Waiting):
                    yield [banner_waking(step, client.base_url), gr.skip(), gr.skip()]
                    continue
                item = step.value
                out_path = item.write_csv(_new_file(files, f"{card.name}-predictions.csv"))
                yield [_batch_summary(item, len(rows)), gr.update(value=item.table.fillna(""), visible=True),
                       gr.update(value=str(out_path), visible=True)]
        except ApiError as exc:
            yield [banner_for_error(exc, client.base_url), hidden, hidden]

    for index, button in enumerate(example_buttons):
        example_values = form.widget_values(card.examples[index])
        button.click(lambda v=example_values: v, outputs=inputs, queue=False).then(
            predict, inputs=inputs, outputs=result_outputs, show_progress="minimal"
        )
    default_values = form.widget_values(form.default_row())
    defaults_button.click(lambda: default_values, outputs=inputs, queue=False)
    # "minimal": Gradio's full overlay would hide the waking-up banner the handler streams into the outcome box.
    predict_button.click(predict, inputs=inputs, outputs=result_outputs, show_progress="minimal")
    sweep_button.click(sweep, inputs=[sweep_feature, *inputs], outputs=[sweep_status, line_plot, bar_plot],
                       show_progress="minimal")
    upload.upload(score_file, inputs=upload, outputs=[batch_status, batch_table, batch_file], show_progress="minimal")
    upload.clear(lambda: ["", gr.update(visible=False), gr.update(visible=False)],
                 outputs=[batch_status, batch_table, batch_file], queue=False)
    gr.on([c.change for c in inputs], show_snippets, inputs=inputs, outputs=[curl_box, python_box], queue=False)


def _batch_summary(result: BatchResult, total: int) -> str:
    problems = result.problems
    head = (
        f"<b>Scored {result.scored:,} of {total:,} rows</b> in {result.seconds * 1000:,.0f} ms."
        if result.scored
        else "<b>No row could be scored.</b>"
    )
    if not problems:
        return f'<div class="fp-banner fp-ok" role="status">{head}</div>'
    listed = sorted(problems.items())[:10]
    items = "".join(f"<li>row {index + 1}: {escape(message)}</li>" for index, message in listed)
    more = f"<li>… and {len(problems) - len(listed)} more (see the status column)</li>" if len(problems) > 10 else ""
    return (
        f'<div class="fp-banner fp-invalid" role="status">{head} {len(problems):,} '
        f"row{'s' if len(problems) != 1 else ''} not scored:<ul>{items}{more}</ul></div>"
    )
