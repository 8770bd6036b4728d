"""The page's one connection state: the banner's words for each state of the API, and what each event does.

Every call a page makes (loading the cards, a prediction, a sweep, a CSV)
reports what it learnt about the API through :class:`ConnectionUpdate`, so the
banner never says "connected" while a result box says the API is waking, or the
reverse. Each front applies an update in its own way (a Gradio output and timer,
Streamlit's session state and a re-running fragment); what the update says is
decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from demo_app.cards import Card, ServedModel
from demo_app.client import ApiAuthError, ApiDownError, ApiError, ApiRejectedError
from demo_app.waking import Waiting

__all__ = [
    "RECHECK_SECONDS",
    "TYPICAL_WAKE_SECONDS",
    "ConnectionUpdate",
    "after_answer",
    "after_error",
    "banner_connected",
    "banner_connecting",
    "banner_for_error",
    "banner_waking",
    "copy_note",
    "failed_model_banner",
    "short_title",
    "while_waking",
]

# Free instances usually answer within this long after a request wakes them (Render: 30-90 s).
TYPICAL_WAKE_SECONDS = 90.0
# How often a page whose API is down checks again (one quick GET /models each time).
RECHECK_SECONDS = 10.0


@dataclass(frozen=True)
class ConnectionUpdate:
    """What one event does to the page's state: the banner to show (None: leave it) and whether the
    page should re-check a down API every RECHECK_SECONDS (True: start, False: stop, None: leave it)."""

    banner: str | None
    recheck: bool | None


def after_answer(api_url: str, models: int, docs_url: str) -> ConnectionUpdate:
    """The API answered: connected, and no more re-checking."""
    return ConnectionUpdate(banner_connected(api_url, models, docs_url), recheck=False)


def while_waking(step: Waiting, api_url: str) -> ConnectionUpdate:
    """A call is waiting for a sleeping API: the banner shows the wait's progress."""
    return ConnectionUpdate(banner_waking(step, api_url), recheck=None)


def after_error(error: ApiError, api_url: str, *, models: int, docs_url: str) -> ConnectionUpdate:
    """Down: say so and start re-checking. Key refused: say so (re-checking cannot help). A refused input:
    the API is up and answering. Anything else (a 5xx) says nothing about the connection."""
    if isinstance(error, ApiDownError):
        return ConnectionUpdate(banner_for_error(error, api_url), recheck=True)
    if isinstance(error, ApiAuthError):
        return ConnectionUpdate(banner_for_error(error, api_url), recheck=False)
    if isinstance(error, ApiRejectedError):
        return after_answer(api_url, models, docs_url)
    return ConnectionUpdate(None, None)


# -- the banner's words ----------------------------------------------------------
def banner_connecting(api_url: str) -> str:
    """Before the first answer of a visit."""
    return f'<div class="fp-banner fp-waking" role="status">Connecting to the API at {escape(api_url)}…</div>'


def banner_waking(step: Waiting, api_url: str) -> str:
    """The API is asleep or starting: say so, with a progress bar instead of an error."""
    # The bar fills towards a typical wake-up, not towards giving up; it never claims to be done.
    ready = min(step.elapsed / TYPICAL_WAKE_SECONDS, 0.95)
    return (
        '<div class="fp-banner fp-waking" role="status">'
        f"<b>Waking up the API…</b> Free servers sleep when nobody uses them; most are ready within "
        f"{TYPICAL_WAKE_SECONDS:.0f} s. {step.elapsed:.0f} s so far."
        f'<div class="fp-progress"><div style="width:{ready * 100:.0f}%"></div></div>'
        f'<details class="fp-muted fp-small"><summary>Details</summary>{escape(api_url)} · attempt {step.attempt} · '
        f"{escape(step.reason)} · this page stops waiting after {step.limit:.0f} s</details></div>"
    )


def banner_connected(api_url: str, models: int, docs_url: str) -> str:
    return (
        '<div class="fp-banner fp-ok" role="status"><span class="fp-dot"></span>'
        f"API connected · {models} model{'s' if models != 1 else ''} · "
        f'<a href="{escape(docs_url)}" target="_blank" rel="noopener">API docs</a>'
        f' <span class="fp-muted fp-small">{escape(api_url)}</span></div>'
    )


def banner_for_error(error: ApiError, api_url: str, card: Card | None = None) -> str:
    """A clear sentence for each way the API can fail, with what to do next (fields named by ``card``'s labels)."""
    if isinstance(error, ApiDownError):
        return (
            '<div class="fp-banner fp-down" role="alert"><b>The API is not answering.</b> '
            f"{escape(str(error))} It may be down or still deploying. This page keeps checking every few "
            "seconds and picks it up as soon as it answers; or press <b>Try again</b>."
            f'<div class="fp-muted fp-small">{escape(api_url)}</div></div>'
        )
    if isinstance(error, ApiAuthError):
        return f'<div class="fp-banner fp-down" role="alert"><b>Access refused.</b> {escape(str(error))}</div>'
    if isinstance(error, ApiRejectedError):
        items = "".join(
            f"<li><b>{escape(card.title_of(d.field) if card and d.field else d.field or 'request')}</b>: "
            f"{escape(d.message)}"
            f"{' — ' + escape(d.hint) if d.hint else ''}</li>"
            for d in error.details
        )
        return (
            f'<div class="fp-banner fp-invalid" role="alert"><b>The API refused these inputs.</b> '
            f"{escape(str(error))}{f'<ul>{items}</ul>' if items else ''}</div>"
        )
    return f'<div class="fp-banner fp-down" role="alert"><b>Something went wrong.</b> {escape(str(error))}</div>'


def copy_note(source: str) -> str:
    """Over forms built from a copy of the cards: where they come from, and that Predict waits for the API."""
    return (
        f'<p class="fp-section-note fp-copy-note">The API is not awake yet: the forms below come from {source}. '
        "Fill them in now; <b>Predict</b> waits for the API and answers as soon as it is up.</p>"
    )


def failed_model_banner(served: ServedModel) -> str:
    """In place of a model's panel when the API could not load it."""
    return (
        f'<div class="fp-banner fp-down" role="alert"><b>{escape(served.name)} is not serving</b> '
        f"(state: {escape(served.state)}). {escape(served.error or 'Its card could not be read.')}</div>"
    )


def short_title(served: ServedModel) -> str:
    """The model picker's name for a model: ``Flight delay: will it arrive 15+ minutes late?`` → ``Flight delay``."""
    return served.card.title.split(":")[0] if served.card else served.name
