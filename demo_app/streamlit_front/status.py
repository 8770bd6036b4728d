"""The Streamlit page's connection state: the banner at the top, kept in session state across reruns,
and every call to the API made through it, so a sleeping API shows one waking message everywhere.

What each event means is decided in demo_app.connection; this module applies a
:class:`~demo_app.connection.ConnectionUpdate` the Streamlit way: the banner is
an ``st.empty`` slot drawn first and rewritten while a call waits further down
the page, and "re-check a down API" is a fragment that re-runs on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import streamlit as st

from demo_app.client import ApiClient, ApiError
from demo_app.connection import ConnectionUpdate, after_answer, after_error, while_waking
from demo_app.waking import Waiting, call_until_awake

__all__ = ["AUTH_REFUSED", "BANNER", "DOWN", "PageStatus"]

T = TypeVar("T")

BANNER = "fp:banner"  # the banner's HTML, as the last event left it
DOWN = "fp:down"  # True while the API is down (gave up waking): the page re-checks instead of waiting again
AUTH_REFUSED = "fp:auth-refused"  # True once the API refused the key: no retry can help until Try again


@dataclass
class PageStatus:
    """The banner slot at the top of this run, and the API's state as this visit knows it."""

    slot: st.delta_generator.DeltaGenerator
    client: ApiClient
    wake_seconds: float
    models: int = 0
    # Called when a call finds the API asleep: cached cards then no longer mean "the API answers".
    on_asleep: Callable[[], None] = field(default=lambda: None)

    def show(self) -> None:
        """Draw the banner as the last event left it."""
        if BANNER in st.session_state:
            self.slot.html(st.session_state[BANNER])

    def apply(self, update: ConnectionUpdate) -> None:
        """Keep what ``update`` says for the next reruns, and show it now."""
        if update.banner is not None:
            st.session_state[BANNER] = update.banner
            self.slot.html(update.banner)
        if update.recheck is not None:
            st.session_state[DOWN] = update.recheck

    def connected(self) -> None:
        self.apply(after_answer(self.client.base_url, self.models, self.client.docs_url))

    def failed(self, error: ApiError) -> None:
        self.apply(after_error(error, self.client.base_url, models=self.models, docs_url=self.client.docs_url))

    @property
    def down(self) -> bool:
        return bool(st.session_state.get(DOWN))

    def call(self, call: Callable[[], T], box: st.delta_generator.DeltaGenerator | None = None) -> T:
        """``call()``, waiting for a sleeping API with the wake-up's progress in the banner (and in ``box``,
        where the visitor is looking). Raises the call's ApiError, ApiDownError past the wake-up limit;
        the banner says what happened either way."""
        asleep = False
        try:
            for step in call_until_awake(call, limit=self.wake_seconds):
                if isinstance(step, Waiting):
                    if not asleep:
                        asleep = True
                        self.on_asleep()
                    update = while_waking(step, self.client.base_url)
                    self.apply(update)
                    if box is not None:
                        box.html(update.banner or "")
                    continue
                self.connected()
                return step.value
        except ApiError as exc:
            self.failed(exc)  # a down API is re-checked from the end of this run on (see app.py)
            raise
        raise AssertionError("call_until_awake ended without an answer")  # it always answers or raises
