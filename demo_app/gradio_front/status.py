"""The Gradio page's connection state: the banner at the top and the timer that re-checks a down API.

What each API event means for the page is decided in demo_app.connection; this
turns a :class:`~demo_app.connection.ConnectionUpdate` into Gradio outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from demo_app.client import ApiError
from demo_app.connection import ConnectionUpdate, after_answer, after_error, while_waking
from demo_app.waking import Waiting

__all__ = ["PageStatus", "status_outputs"]


def status_outputs(update: ConnectionUpdate) -> list[Any]:
    """``[banner, timer]`` for an update: what it says, and gr.skip() for what it leaves alone."""
    banner = gr.skip() if update.banner is None else update.banner
    timer = gr.skip() if update.recheck is None else gr.Timer(active=update.recheck)
    return [banner, timer]


@dataclass(frozen=True)
class PageStatus:
    """The banner and re-check timer, and the updates each API event makes to them."""

    banner: gr.HTML
    timer: gr.Timer
    api_url: str
    docs_url: str
    models: int = 0

    @property
    def outputs(self) -> list[gr.Component]:
        return [self.banner, self.timer]

    def connected(self) -> list[Any]:
        return status_outputs(after_answer(self.api_url, self.models, self.docs_url))

    def waking(self, step: Waiting) -> list[Any]:
        return status_outputs(while_waking(step, self.api_url))

    def failed(self, error: ApiError) -> list[Any]:
        return status_outputs(after_error(error, self.api_url, models=self.models, docs_url=self.docs_url))
