"""The whole page: a header, the API's state, and one tab per model once the API answers.

Nothing here touches the network while the page is built, so the demo starts
even when the API is down. Each visit asks ``GET /models`` on load (waiting
with progress while a free instance wakes); when the API stays down, a timer
checks again every few seconds and the tabs appear as soon as it answers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from demo_app.cards import ServedModel, parse_models
from demo_app.client import ApiAuthError, ApiClient, ApiError
from demo_app.model_view import build_model_view
from demo_app.results import banner_connected, banner_for_error, banner_waking
from demo_app.settings import DemoSettings
from demo_app.style import CSS, make_theme
from demo_app.waking import Waiting, call_until_awake

__all__ = ["RECHECK_SECONDS", "build_demo", "launch_demo"]

# How often a page whose API is down checks again (one quick GET /models each time).
RECHECK_SECONDS = 10.0
_RECHECK_TIMEOUT = (3.0, 8.0)


def _connecting_banner(api_url: str) -> str:
    return f'<div class="fp-banner fp-waking" role="status">Connecting to the API at {escape(api_url)}…</div>'


def _failed_model(served: ServedModel) -> str:
    return (
        f'<div class="fp-banner fp-down" role="alert"><b>{escape(served.name)} is not serving</b> '
        f"(state: {escape(served.state)}). {escape(served.error or 'Its card could not be read.')}</div>"
    )


def build_demo(settings: DemoSettings) -> gr.Blocks:
    """Build the Gradio app for the API at ``settings.api_url``; call :func:`launch_demo` to serve it."""
    client = ApiClient(settings.api_url, settings.api_key)
    files = Path(tempfile.mkdtemp(prefix="freeport-demo-"))  # CSV templates and results, one folder per process

    def connected(payload: list[dict[str, Any]]) -> list[Any]:
        ready = sum(m.ready for m in parse_models(payload))
        return [banner_connected(settings.api_url, ready, client.docs_url), payload,
                gr.update(visible=False), gr.Timer(active=False)]

    def connect() -> Iterator[list[Any]]:
        """On page load and on "Try again": wait for the API (with progress) and fetch the cards."""
        try:
            for step in call_until_awake(client.fetch_models, limit=settings.wake_seconds):
                if isinstance(step, Waiting):
                    yield [banner_waking(step, settings.api_url), gr.skip(), gr.update(visible=False), gr.skip()]
                else:
                    yield connected(step.value)
        except ApiAuthError as exc:  # retrying with the same key cannot help
            yield [banner_for_error(exc, settings.api_url), gr.skip(), gr.update(visible=True),
                   gr.Timer(active=False)]
        except ApiError as exc:
            yield [banner_for_error(exc, settings.api_url), gr.skip(), gr.update(visible=True), gr.Timer(active=True)]

    def recheck() -> list[Any]:
        """Timer tick while the API is down: one quick look; the page recovers when it answers."""
        try:
            return connected(client.fetch_models(timeout=_RECHECK_TIMEOUT))
        except ApiError:
            return [gr.skip(), gr.skip(), gr.skip(), gr.skip()]

    # delete_cache: Gradio's copies of uploads and results go after a day, checked hourly.
    with gr.Blocks(title=settings.title, analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.HTML(
            f'<div class="fp-header"><div class="fp-kicker">scikit-learn models · live API</div>'
            f"<h1>{escape(settings.title)}</h1></div>"
        )
        gr.Markdown(settings.description, elem_classes="fp-description")
        banner = gr.HTML(_connecting_banner(settings.api_url), elem_id="fp-api-status")
        with gr.Row():
            retry = gr.Button("Try again", visible=False, size="sm", scale=0, min_width=140, elem_id="fp-retry")
        models_state = gr.State(None)
        timer = gr.Timer(RECHECK_SECONDS, active=False)
        status_outputs = [banner, models_state, retry, timer]

        @gr.render(inputs=models_state)
        def show_models(payload: list[dict[str, Any]] | None) -> None:
            if not payload:
                return
            with gr.Tabs(elem_id="fp-models"):
                for served in parse_models(payload):
                    title = served.card.title.split(":")[0] if served.card else served.name
                    with gr.Tab(title, id=served.name, elem_id=f"fp-tab-{served.name}"):
                        if served.ready and served.card is not None:
                            build_model_view(served.card, client, wake_seconds=settings.wake_seconds,
                                             with_key=bool(settings.api_key), files=files)
                        else:
                            gr.HTML(_failed_model(served))

        # The banner shows its own progress; Gradio's spinner on top of it would hide it.
        demo.load(connect, outputs=status_outputs, show_progress="hidden")
        retry.click(connect, outputs=status_outputs, show_progress="hidden")
        timer.tick(recheck, outputs=status_outputs, show_progress="hidden")
    return demo


def launch_demo(demo: gr.Blocks, **kwargs: Any) -> Any:
    """Serve ``demo`` with the theme and CSS (Gradio 6 takes them at launch).

    Host and port come from Gradio's own GRADIO_SERVER_NAME / GRADIO_SERVER_PORT.
    """
    # Visitors wait on the network, not the CPU: let several calls run at once.
    demo.queue(default_concurrency_limit=16)
    return demo.launch(theme=make_theme(), css=CSS, footer_links=["gradio"], show_error=True, **kwargs)
