"""The page's one connection state: the banner at the top, and the timer that re-checks a down API.

Every call the page makes (loading the cards, a prediction, a sweep, a CSV)
reports what it learnt about the API here, so the banner never says
"connected" while a result box says the API is waking, or the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from demo_app.client import ApiAuthError, ApiDownError, ApiError, ApiRejectedError
from demo_app.results import banner_connected, banner_for_error, banner_waking
from demo_app.waking import Waiting

__all__ = ["PageStatus"]


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
        return [banner_connected(self.api_url, self.models, self.docs_url), gr.Timer(active=False)]

    def waking(self, step: Waiting) -> list[Any]:
        return [banner_waking(step, self.api_url), gr.skip()]

    def failed(self, error: ApiError) -> list[Any]:
        """Down: say so and start re-checking. Key refused: say so. A refused input: the API is up and answering."""
        if isinstance(error, ApiDownError):
            return [banner_for_error(error, self.api_url), gr.Timer(active=True)]
        if isinstance(error, ApiAuthError):
            return [banner_for_error(error, self.api_url), gr.Timer(active=False)]
        if isinstance(error, ApiRejectedError):
            return self.connected()
        return [gr.skip(), gr.skip()]
