"""The whole Gradio page: a header, the API's state, a model picker, and each model's panel.

Nothing here touches the network while the page is built, so the demo starts
even when the API is down. Each visit asks ``GET /models`` on load (waiting
with progress while a free instance wakes); when the API stays down, a timer
checks again every few seconds. Until the API answers, the forms are built
from a copy of the cards (the API's last answer to this process, else the
cards shipped with the demo, DEMO_CARDS_DIR), so a first visitor has a page to
read and fill in; the live API's cards replace them when they differ.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from demo_app.cards import CardCopies, parse_models
from demo_app.client import ApiAuthError, ApiClient, ApiError
from demo_app.connection import (
    RECHECK_SECONDS,
    banner_connected,
    banner_connecting,
    banner_for_error,
    banner_waking,
    copy_note,
    failed_model_banner,
    short_title,
)
from demo_app.gradio_front.model_view import build_model_view
from demo_app.gradio_front.status import PageStatus
from demo_app.gradio_front.style import CSS, make_theme
from demo_app.settings import DemoSettings
from demo_app.waking import Waiting, call_until_awake

__all__ = ["build_demo", "launch_demo"]

# A re-check is one quick look, not a wait for a wake-up.
_RECHECK_TIMEOUT = (3.0, 8.0)


def build_demo(settings: DemoSettings) -> gr.Blocks:
    """Build the Gradio app for the API at ``settings.api_url``; call :func:`launch_demo` to serve it."""
    client = ApiClient(settings.api_url, settings.api_key)
    files = Path(tempfile.mkdtemp(prefix="freeport-demo-"))  # CSV templates and results, one folder per process
    copies = CardCopies.from_folder(settings.cards_dir)

    def copy_of_cards() -> tuple[list[dict[str, Any]] | None, Any]:
        """The best copy of the cards to build the forms from while the API does not answer, and its note."""
        best = copies.best()
        if best is None:
            return None, gr.skip()
        payload, source = best
        return payload, gr.update(value=copy_note(source), visible=True)

    def connected(payload: list[dict[str, Any]], current: Any = None) -> list[Any]:
        copies.remember(payload)
        served = parse_models(payload)
        # The cards the forms were built from (an earlier answer, or a copy) say the same: leave the state
        # alone, so the forms are not rebuilt under a visitor who is already typing.
        same = current is not None and parse_models(current) == served
        return [banner_connected(settings.api_url, sum(m.ready for m in served), client.docs_url),
                gr.skip() if same else payload, gr.update(visible=False), gr.Timer(active=False),
                gr.update(visible=False)]

    def connect(current: Any) -> Iterator[list[Any]]:
        """On page load and on "Try again": wait for the API (with progress) and fetch the cards."""
        shown = current  # the cards the page's forms are built from, if any
        try:
            for step in call_until_awake(client.fetch_models, limit=settings.wake_seconds):
                if isinstance(step, Waiting):
                    state, note = gr.skip(), gr.skip()
                    if shown is None:  # no forms yet: build them from a copy of the cards, if there is one
                        shown, note = copy_of_cards()
                        state = gr.skip() if shown is None else shown
                    yield [banner_waking(step, settings.api_url), state, gr.update(visible=False), gr.skip(), note]
                else:
                    yield connected(step.value, shown)
        except ApiAuthError as exc:  # retrying with the same key cannot help
            yield [banner_for_error(exc, settings.api_url), gr.skip(), gr.update(visible=True),
                   gr.Timer(active=False), gr.skip()]
        except ApiError as exc:
            yield [banner_for_error(exc, settings.api_url), gr.skip(), gr.update(visible=True), gr.Timer(active=True),
                   gr.skip()]

    def recheck(current: Any) -> list[Any]:
        """Timer tick while the API is down: one quick look; the page recovers when it answers."""
        try:
            return connected(client.fetch_models(timeout=_RECHECK_TIMEOUT), current)
        except ApiError:
            return [gr.skip()] * 5

    # delete_cache: Gradio's copies of uploads and results go after a day, checked hourly.
    with gr.Blocks(title=settings.title, analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.HTML(
            f'<div class="fp-header"><div class="fp-kicker">scikit-learn models · live API</div>'
            f"<h1>{escape(settings.title)}</h1></div>"
        )
        gr.Markdown(settings.description, elem_classes="fp-description")
        banner = gr.HTML(banner_connecting(settings.api_url), elem_id="fp-api-status")
        with gr.Row():
            retry = gr.Button("Try again", visible=False, size="sm", scale=0, min_width=140, elem_id="fp-retry")
        copy_box = gr.HTML("", visible=False, elem_id="fp-copy-note")
        models_state = gr.State(None)
        timer = gr.Timer(RECHECK_SECONDS, active=False)
        status_outputs = [banner, models_state, retry, timer, copy_box]

        # Only when the cards arrive or change: gr.render's default trigger on page load would run a
        # second render that races this one, rebuilding the forms under a visitor who is already typing.
        @gr.render(inputs=models_state, triggers=[models_state.change])
        def show_models(payload: list[dict[str, Any]] | None) -> None:
            if not payload:
                return
            served = parse_models(payload)
            status = PageStatus(banner, timer, settings.api_url, client.docs_url, sum(m.ready for m in served))
            # A wrapping row of choices, not tabs: tabs that do not fit a phone hide behind a "⋯" menu.
            picker = gr.Radio(
                [(short_title(m), m.name) for m in served],
                value=served[0].name,
                label="Pick a model",
                elem_id="fp-model-picker",
                key="model-picker",
                interactive=True,
            )
            panels = []
            for index, model in enumerate(served):
                with gr.Column(visible=index == 0, elem_id=f"fp-model-{model.name}",
                               key=f"panel:{model.name}") as panel:
                    if model.ready and model.card is not None:
                        build_model_view(model.card, client, status=status, wake_seconds=settings.wake_seconds,
                                         with_key=bool(settings.api_key), files=files)
                    else:
                        gr.HTML(failed_model_banner(model))
                panels.append(panel)
            names = [m.name for m in served]
            picker.change(lambda chosen: [gr.Column(visible=name == chosen) for name in names], inputs=picker,
                          outputs=panels, queue=False)

        # The banner shows its own progress; Gradio's spinner on top of it would hide it.
        demo.load(connect, inputs=models_state, outputs=status_outputs, show_progress="hidden")
        retry.click(connect, inputs=models_state, outputs=status_outputs, show_progress="hidden")
        timer.tick(recheck, inputs=models_state, outputs=status_outputs, show_progress="hidden")
    return demo


def launch_demo(demo: gr.Blocks, **kwargs: Any) -> Any:
    """Serve ``demo`` with the theme and CSS (Gradio 6 takes them at launch).

    Host and port come from Gradio's own GRADIO_SERVER_NAME / GRADIO_SERVER_PORT.
    """
    # Visitors wait on the network, not the CPU: let several calls run at once.
    demo.queue(default_concurrency_limit=16)
    return demo.launch(theme=make_theme(), css=CSS, footer_links=["gradio"], show_error=True, **kwargs)
