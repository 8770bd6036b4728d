"""One model's tab: the form, the result, what-if, CSV scoring and the API panel, wired to the API.

Built inside ``gr.render`` once the API has answered ``GET /models``, from
that model's card alone, so any bundle gets a working tab without code.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from demo_app.batch import BatchResult, CsvError, read_rows, score_rows, template_csv
from demo_app.cards import Card
from demo_app.client import ApiClient, ApiError, ApiRejectedError
from demo_app.field_notes import notes_for_answer, notes_for_refusal, unplaced_details
from demo_app.forms import Form
from demo_app.results import (
    banner_for_error,
    banner_waking,
    model_summary,
    plain_target,
    prediction_meta,
    probabilities,
    regression_value,
    technical_details,
)
from demo_app.snippets import curl_command, python_code
from demo_app.status import PageStatus
from demo_app.waking import Waiting, call_until_awake
from demo_app.whatif import Sweep, run_sweep

__all__ = ["build_model_view"]

PLACEHOLDER = '<div class="fp-placeholder">Press <b>Predict</b>, or pick an example above.</div>'
# Whole-number inputs with at most this many values get one tick per value.
MAX_WHOLE_TICKS = 24
MAX_LISTED_PROBLEMS = 20
# How many characters of category names, all bars together, sit level under a phone-wide chart.
FLAT_LABEL_CHARACTERS = 40
CHART_HEIGHT = 320
UPRIGHT_LABELS_CHART_HEIGHT = 460  # upright names take up to about 160 px below the bars
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



def _scroll_into_view(elem_id: str) -> str:
    """Browser code that brings ``elem_id`` on screen when it is not (on a phone the result is below the form)."""
    return (
        f"() => {{ const el = document.getElementById({json.dumps(elem_id)}); if (!el) return;"
        " const box = el.getBoundingClientRect();"
        " if (box.top < 0 || box.top > window.innerHeight * 0.6) el.scrollIntoView({block: 'start'}); }"
    )


def _sweep_plot(card: Card, item: Sweep) -> dict[str, Any]:
    """The chart's arguments: labels for axis titles, and whole-number ticks for whole-number inputs."""
    feature = item.feature
    frame = item.frame
    kwargs: dict[str, Any] = {
        "x": feature.name,
        "y": item.y,
        "color": item.color,
        "x_title": feature.title,
        "y_title": "chance" if card.is_classifier else plain_target(card),
        "visible": True,
    }
    if feature.type == "integer" and frame[feature.name].nunique() <= MAX_WHOLE_TICKS:
        # A few whole numbers: one tick per value (as text, in their order), never a tick at 1.5.
        values = sorted(frame[feature.name].unique())
        frame = frame.assign(**{feature.name: frame[feature.name].map(str)})
        kwargs["sort"] = [str(v) for v in values]
    elif feature.type == "integer":
        kwargs["x_axis_format"] = "d"
    if card.is_classifier:
        kwargs["y_lim"] = [0, 1]
    elif not item.numeric:  # bars start at zero, or small differences look huge
        kwargs["y_lim"] = [0, float(frame[item.y].max()) * 1.05]
    kwargs["value"] = frame
    return kwargs


def _bar_layout(item: Sweep) -> dict[str, Any]:
    """Category names that would not fit side by side on a phone stand upright, in a taller chart to hold them.

    Upright rather than slanted: a slanted name reaches left past the axis and narrows the bars
    until neighbouring names overlap on a phone.
    """
    names = [str(name) for name in item.frame[item.feature.name].unique()]
    if len(names) * max(map(len, names), default=0) <= FLAT_LABEL_CHARACTERS:
        return {"x_label_angle": 0, "height": CHART_HEIGHT}
    return {"x_label_angle": -90, "height": UPRIGHT_LABELS_CHART_HEIGHT}


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
            widgets = form.components(key=key)
            inputs = widgets.inputs
            predict_button = gr.Button("Predict", variant="primary", key=f"{key}:predict", elem_classes="fp-predict")
        with gr.Column(scale=2, min_width=300, elem_id=f"fp-result-{key}"):
            label = (
                gr.Label(
                    num_top_classes=len(card.classes),
                    label=f"Chance of each {plain_target(card)}",
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
        gr.HTML(
            '<p class="fp-section-note">Pick an input: the model answers again for every value it saw in '
            "training, with everything else as in the form, and the chart shows how its answer moves.</p>",
            key=f"{key}:whatif-note",
        )
        with gr.Row(equal_height=False, elem_classes="fp-sweep-row"):
            sweep_feature = gr.Dropdown(
                [(f.title, f.name) for f in card.features],
                value=_default_sweep_feature(card),
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
        gr.HTML(
            '<p class="fp-section-note">One row per prediction, with a header naming the inputs as the API '
            f"does ({escape(', '.join(f.name for f in card.features))}). Rows the model cannot take are listed "
            "under the table with the reason; the others are still scored. Start from the template if you like.</p>",
            key=f"{key}:batch-note",
        )
        with gr.Row():
            # No file_types: Gradio's own check would answer a wrong file with a bare "Error";
            # read_rows says what is wrong with it instead.
            upload = gr.File(label="CSV file", key=f"{key}:upload", scale=3, min_width=220, interactive=True)
            gr.DownloadButton("Download a template", value=str(template_path), key=f"{key}:template", scale=0,
                              min_width=200, size="md")
        batch_status = gr.HTML("", key=f"{key}:batch-status")
        batch_table = gr.Dataframe(visible=False, key=f"{key}:batch-table", interactive=False, max_height=360,
                                   elem_classes="fp-batch-table")
        batch_problems = gr.HTML("", key=f"{key}:batch-problems")
        batch_file = gr.DownloadButton("Download the predictions (CSV)", visible=False, key=f"{key}:batch-file",
                                       variant="primary")

    # -- API panel -----------------------------------------------------------
    first_row = form.default_row()
    with gr.Accordion("Call the API yourself", open=False, key=f"{key}:api"):
        gr.HTML(
            f'<p class="fp-section-note">The same call the form makes, with its current inputs. '
            f'Every field, type and range is in the <a href="{escape(client.docs_url)}" target="_blank" '
            f'rel="noopener">interactive API docs (/docs)</a>.'
            f"{' The key is read from the API_KEY environment variable.' if with_key else ''}</p>"
            f"{_field_names(card)}",
            key=f"{key}:api-note",
        )
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
            yield result_update(gr.update(visible=False), gr.update(value=_refusal(card, exc), visible=True), "",
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
                shown = (f", showing the {len(item.order) // 2} highest and {len(item.order) // 2} lowest"
                         if item.trimmed and item.order else "")
                what = f"chance of each {plain_target(card)}" if card.is_classifier else plain_target(card)
                note = (
                    f'<p class="fp-section-note fp-sweep-title"><b>{escape(what.capitalize())} as '
                    f"{escape(item.feature.title)} changes</b><br>{item.values_tried} values tried{shown}, "
                    f"answered in {item.seconds * 1000:,.0f} ms.</p>"
                )
                plot_kwargs = _sweep_plot(card, item)
                if item.numeric:
                    yield [note, gr.LinePlot(**plot_kwargs), hidden, *status.connected()]
                else:
                    yield [note, hidden, gr.BarPlot(sort=item.order, **_bar_layout(item), **plot_kwargs),
                           *status.connected()]
        except ApiRejectedError as exc:
            yield [_refusal(card, exc), hidden, hidden, *status.failed(exc)]
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
            yield [_unreadable_file(Path(path), exc), hidden, "", hidden, gr.skip(), gr.skip()]
            return
        try:
            for step in call_until_awake(lambda: score_rows(client, card, rows, header), limit=wake_seconds):
                if isinstance(step, Waiting):
                    yield [banner_waking(step, client.base_url), gr.skip(), gr.skip(), gr.skip(), *status.waking(step)]
                    continue
                item = step.value
                out_path = item.write_csv(_new_file(files, f"{card.name}-predictions.csv"))
                yield [_batch_summary(item, len(rows)), gr.update(value=item.table.fillna(""), visible=True),
                       _batch_problems(item), gr.update(value=str(out_path), visible=True), *status.connected()]
        except ApiError as exc:
            yield [banner_for_error(exc, client.base_url, card), hidden, "", hidden, *status.failed(exc)]

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
    batch_outputs = [batch_status, batch_table, batch_problems, batch_file, *status.outputs]
    upload.upload(score_file, inputs=upload, outputs=batch_outputs, show_progress="minimal")
    upload.clear(lambda: ["", gr.update(visible=False), "", gr.update(visible=False), gr.skip(), gr.skip()],
                 outputs=batch_outputs, queue=False)
    gr.on([c.change for c in inputs], show_snippets, inputs=inputs, outputs=[curl_box, python_box], queue=False)


def _field_names(card: Card) -> str:
    """The API's names for the inputs beside the labels the form shows: the one place raw names appear."""
    rows = "".join(f"<tr><td><code>{escape(f.name)}</code></td><td>{escape(f.title)}</td></tr>" for f in card.features)
    return f'<table class="fp-technical fp-field-names"><tr><th>API field</th><th>In the form</th></tr>{rows}</table>'


def _refusal(card: Card, error: ApiRejectedError) -> str:
    """The result box when the API refused the form's row: point at the notes under the fields."""
    names = {f.name for f in card.features}
    fields = [card.feature(d.field).title for d in error.details if d.field in names]
    others = unplaced_details(card, error)
    where = (f"See the note under <b>{escape(', '.join(dict.fromkeys(fields)))}</b>." if fields else "")
    extra = "".join(f"<li>{escape(message)}</li>" for message in others)
    return (
        f'<div class="fp-banner fp-invalid" role="alert"><b>The model cannot take these inputs yet.</b> {where}'
        f"{f'<ul>{extra}</ul>' if extra else ''}</div>"
    )


def _unreadable_file(path: Path, error: CsvError) -> str:
    kind = path.suffix.lower()
    what = f"This {escape(kind)} file" if kind and kind != ".csv" else "This file"
    return (
        f'<div class="fp-banner fp-invalid" role="alert"><b>{what} cannot be scored.</b> {escape(str(error))}. '
        "The demo takes a CSV file: a header line naming the inputs, then one row per prediction "
        "(the template shows one).</div>"
    )


def _batch_summary(result: BatchResult, total: int) -> str:
    """One line over the table: how many rows were scored, and how many were not."""
    head = (
        f"<b>Scored {result.scored:,} of {total:,} rows</b> in {result.seconds * 1000:,.0f} ms."
        if result.scored
        else "<b>No row could be scored.</b>"
    )
    if not result.problems:
        return f'<div class="fp-banner fp-ok" role="status">{head}</div>'
    count = len(result.problems)
    return (
        f'<div class="fp-banner fp-invalid" role="status">{head} {count:,} row{"s" if count != 1 else ""} '
        "not scored: the reasons are under the table.</div>"
    )


def _batch_problems(result: BatchResult) -> str:
    """Under the table: each row that was not scored, with the reason (the first few; all are in the file)."""
    if not result.problems:
        return ""
    listed = sorted(result.problems.items())[:MAX_LISTED_PROBLEMS]
    items = "".join(f"<li><b>Row {index + 1}</b>: {escape(message)}</li>" for index, message in listed)
    more = (f"<li>… and {len(result.problems) - len(listed)} more (in the downloaded file's reason column)</li>"
            if len(result.problems) > len(listed) else "")
    return f'<div class="fp-problems" role="status"><b>Rows not scored</b><ul>{items}{more}</ul></div>'
