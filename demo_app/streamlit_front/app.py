"""The whole Streamlit page: a header, the API's state, a model picker, and the chosen model's panel.

Streamlit runs this script top to bottom on every visit and every click. The
cards come from ``GET /models`` through ``st.cache_data`` (a short TTL, so a
retrained model shows up within a minute, and a quick timeout, so a sleeping
API never holds the page). When the API does not answer, the forms are drawn
from a copy of the cards (the API's last answer to this process, else the cards
shipped with the demo) and, at the end of the run, the page waits for the API
with progress in the banner; once it answers the page is drawn again from its
cards. Past the wake-up limit it says the API is down, and a fragment checks
again every few seconds, so the page recovers on its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from demo_app.cards import CardCopies, ServedModel, parse_models
from demo_app.client import ApiAuthError, ApiClient, ApiError
from demo_app.connection import RECHECK_SECONDS, banner_connecting, copy_note, failed_model_banner, short_title
from demo_app.look import FRAGMENT_CSS
from demo_app.settings import DemoSettings
from demo_app.streamlit_front.model_panel import show_model
from demo_app.streamlit_front.status import AUTH_REFUSED, BANNER, DOWN, PageStatus

__all__ = ["CARDS_TTL_SECONDS", "read_settings", "run_app"]

# Long enough that a page's reruns do not each ask the API; short enough that a new model appears soon.
CARDS_TTL_SECONDS = 60
# The first look at the API in a run: an awake API answers in milliseconds, a sleeping one is waited
# for at the end of the run, with the forms already on screen.
_QUICK_TIMEOUT = (3.0, 5.0)

STREAMLIT_CSS = """
.fp-header h1 { padding: 0; }
/* The form's notes sit tight under their field, like help text. */
.stForm .stElementContainer:has(.fp-note) { margin-top: -0.6rem; }
"""


def read_settings(secrets: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> DemoSettings:
    """The demo's one settings object, from the app's secrets (Community Cloud: the app's Settings → Secrets,
    locally .streamlit/secrets.toml) over the environment. Top-level TOML keys only: ``API_URL = "…"``."""
    env = dict(os.environ if environ is None else environ)
    if secrets is None:
        try:
            secrets = dict(st.secrets)
        except (StreamlitSecretNotFoundError, FileNotFoundError):  # no secrets file: the environment alone
            secrets = {}
    env.update({name: str(value) for name, value in secrets.items() if not isinstance(value, Mapping)})
    return DemoSettings.from_env(env)


@st.cache_resource(show_spinner=False)
def _client(api_url: str, api_key: str | None) -> ApiClient:
    """One HTTP client per API for the whole process (its connection pool is shared by every visit)."""
    return ApiClient(api_url, api_key)


@st.cache_resource(show_spinner=False)
def _copies(cards_dir: Path | None) -> CardCopies:
    """The process's copies of the cards: the API's last answer, and the shipped ones."""
    return CardCopies.from_folder(cards_dir)


@st.cache_data(ttl=CARDS_TTL_SECONDS, show_spinner=False)
def _fetch_cards(api_url: str, _client: ApiClient) -> list[dict[str, Any]]:
    """``GET /models``, answered from the cache for CARDS_TTL_SECONDS (a failure is never cached)."""
    return _client.fetch_models(timeout=_QUICK_TIMEOUT)


def run_app(*, default_cards: Path | None = None) -> None:
    """Draw the page for the API in the settings; ``default_cards`` is the shipped cards' folder
    when DEMO_CARDS_DIR does not name one."""
    settings = read_settings()
    if settings.cards_dir is None and default_cards is not None and default_cards.is_dir():
        settings = replace(settings, cards_dir=default_cards)
    st.set_page_config(page_title=settings.title, page_icon="🚢")
    st.html(f"<style>{FRAGMENT_CSS}{STREAMLIT_CSS}</style>")
    st.html(f'<div class="fp-header"><div class="fp-kicker">scikit-learn models · live API</div>'
            f"<h1>{escape(settings.title)}</h1></div>")
    st.markdown(settings.description)

    client = _client(settings.api_url, settings.api_key)
    copies = _copies(settings.cards_dir)
    # A call that finds the API asleep empties the cards' cache, so the next visitor is told it sleeps
    # rather than shown "connected" from a cached answer.
    status = PageStatus(st.container(key="fp-api-status").empty(), client, settings.wake_seconds,
                        on_asleep=_fetch_cards.clear)
    st.session_state.setdefault(BANNER, banner_connecting(settings.api_url))
    status.show()
    retry = st.empty()
    note = st.empty()

    live = _live_cards(client, status, copies)
    shown = live
    if live is None and (best := copies.best()) is not None:
        shown, source = best
        note.html(f'<div id="fp-copy-note">{copy_note(source)}</div>')
    if shown:
        _show_models(parse_models(shown), client, status, with_key=bool(settings.api_key))
    if live is None and not status.down and not _auth_refused():
        _wait_for_api(client, status, copies, shown, note)
    if status.down:
        retry.button("Try again", key="fp:retry", on_click=_try_again)
        st.fragment(_recheck, run_every=RECHECK_SECONDS)(client)


def _live_cards(client: ApiClient, status: PageStatus, copies: CardCopies) -> list[dict[str, Any]] | None:
    """The API's cards if it answers at once (or the cache holds them), else None: the run goes on without."""
    if status.down or _auth_refused():
        return None  # the re-check fragment (or Try again) looks, not every rerun
    try:
        payload = _fetch_cards(client.base_url, client)
    except ApiAuthError as exc:
        status.failed(exc)
        st.session_state[AUTH_REFUSED] = True
        return None
    except ApiError:
        return None
    copies.remember(payload)
    status.models = sum(m.ready for m in parse_models(payload))
    status.connected()
    return payload


def _auth_refused() -> bool:
    return bool(st.session_state.get(AUTH_REFUSED))


def _show_models(served: list[ServedModel], client: ApiClient, status: PageStatus, *, with_key: bool) -> None:
    """A wrapping row of model names (no model hides behind a menu on a phone), then the chosen one's panel."""
    status.models = sum(m.ready for m in served)
    names = [m.name for m in served]
    titles = {m.name: short_title(m) for m in served}
    if st.session_state.get("fp:model") not in names:
        st.session_state["fp:model"] = names[0]
    chosen = st.radio("Pick a model", names, format_func=titles.get, horizontal=True, key="fp:model")
    # Streamlit forgets the state of widgets it did not draw in a run: keep the other models' forms as typed.
    for key in [k for k in st.session_state if isinstance(k, str) and ":field:" in k]:
        st.session_state[key] = st.session_state[key]
    model = next(m for m in served if m.name == chosen)
    with st.container(key=f"fp-model-{model.name}"):
        if model.ready and model.card is not None:
            show_model(model.card, client, status, with_key=with_key)
        else:
            st.html(failed_model_banner(model))


def _wait_for_api(client: ApiClient, status: PageStatus, copies: CardCopies,
                  shown: list[dict[str, Any]] | None, note: Any) -> None:
    """The API did not answer at once: wait for it, with progress in the banner, the forms already drawn."""
    try:
        payload = status.call(client.fetch_models)
    except ApiAuthError:
        st.session_state[AUTH_REFUSED] = True  # retrying with the same key cannot help
        st.rerun()
    except ApiError:
        st.rerun()  # down: the banner says so, and the page offers Try again and re-checks
    copies.remember(payload)
    if shown is None or parse_models(shown) != parse_models(payload):
        st.rerun()  # the live cards differ from the copy on screen: draw the page from them
    note.empty()  # the same cards: the forms stay as the visitor left them, only the note goes


def _try_again() -> None:
    st.session_state[DOWN] = False
    st.session_state.pop(AUTH_REFUSED, None)


def _recheck(client: ApiClient) -> None:
    """Every RECHECK_SECONDS while the API is down: one quick look; the whole page is drawn again when it answers."""
    try:
        client.fetch_models(timeout=_QUICK_TIMEOUT)
    except ApiError:
        return
    _try_again()
    st.rerun(scope="app")
