"""What the visitor sees after a call: the prediction, the model's credentials, and the API's state.

Every function returns plain data or an HTML fragment (escaped: card text and
API messages are never trusted as markup), so the rendering can be tested
without a browser.
"""

from __future__ import annotations

from html import escape
from typing import Any

from demo_app.cards import Card
from demo_app.client import ApiAuthError, ApiDownError, ApiError, ApiRejectedError
from demo_app.waking import Waiting

__all__ = [
    "banner_connected",
    "banner_for_error",
    "banner_waking",
    "format_prediction",
    "metric_label",
    "metric_sentence",
    "model_summary",
    "plain_target",
    "prediction_meta",
    "probabilities",
    "regression_value",
    "technical_details",
]

# Free instances usually answer within this long after a request wakes them (Render: 30-90 s).
TYPICAL_WAKE_SECONDS = 90.0
_METRIC_NAMES = {"accuracy": "accuracy", "roc_auc": "ROC AUC", "mae": "MAE", "rmse": "RMSE", "r2": "R²"}


def metric_label(name: str) -> str:
    """``roc_auc`` → ``ROC AUC``; unknown metric names are shown as they are."""
    return _METRIC_NAMES.get(name, name.replace("_", " "))


def format_prediction(value: float) -> str:
    """Enough digits to be useful, not so many that they look precise: 1,234.5 · 24.31 · 0.0421."""
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:,.1f}"
    if size >= 1 or size == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _chips(items: list[str]) -> str:
    return "".join(f'<span class="fp-chip">{item}</span>' for item in items)


def plain_target(card: Card) -> str:
    """The target as words: the card's label (``outcome``), else ``miles_per_gallon`` → ``miles per gallon``."""
    return card.target_title


def metric_sentence(card: Card, name: str, value: float) -> str:
    """One held-out metric as a sentence a visitor can weigh, e.g. ``right about 77 % of the time``."""
    unit = plain_target(card)
    sentences = {
        "accuracy": f"right about {value * 100:.0f} % of the time",
        "roc_auc": f"tells the outcomes apart with a score of {value:.2f}, where 0.5 is a coin toss and 1 is perfect",
        "mae": f"typically off by {format_prediction(value)} {unit}",
        "rmse": f"off by {format_prediction(value)} {unit} when big misses are counted more heavily",
        "r2": f"explains about {max(value, 0) * 100:.0f} % of the differences in {unit} from one case to the next",
    }
    return sentences.get(name, f"{metric_label(name)} {value:.3g}")


def _metric_sentences(card: Card) -> str:
    if not card.metrics:
        return "No test on held-out data was recorded for this model."
    said = "; ".join(metric_sentence(card, k, v) for k, v in card.metrics.items())
    tested = f"Tested on {card.metrics_rows:,} examples it had never seen" if card.metrics_rows else "On held-out data"
    return f"{tested}: {escape(said)}."


def model_summary(card: Card) -> str:
    """The model's card in brief, in plain words: what it predicts, from what, and how well it did."""
    task = (
        f"It gives the chance of each {escape(plain_target(card))}: "
        f"{escape(', '.join(card.classes))}."
        if card.is_classifier
        else f"It predicts {escape(plain_target(card))} (a number)."
    )
    learned = f" It learned from {card.training_rows:,} examples." if card.training_rows else ""
    return (
        f'<div class="fp-summary"><h3>{escape(card.title)}</h3>'
        f"<p>{escape(card.description)}</p>"
        f"<p>{task}{learned} {_metric_sentences(card)}</p></div>"
    )


def technical_details(card: Card, response: dict[str, Any] | None = None) -> str:
    """What a developer wants and a visitor does not need first: estimator, version, raw metrics, request id."""
    rows = [
        ("estimator", escape(card.estimator)),
        ("model version", f"<code>{escape(str((response or {}).get('version', card.version)))}</code>"),
        *((escape(metric_label(k)), f"{v:.3f}") for k, v in card.metrics.items()),
    ]
    if card.metrics_rows:
        rows.append(("held-out rows", f"{card.metrics_rows:,}"))
    if response and response.get("request_id"):
        rows.append(("request id", f"<code>{escape(str(response['request_id']))}</code>"))
    cells = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return f'<table class="fp-technical">{cells}</table>'


def probabilities(response: dict[str, Any]) -> dict[str, float]:
    """A classifier's answer → ``{class: probability}`` for a gr.Label bar chart."""
    return {str(k): float(v) for k, v in response.get("probabilities", {}).items()}


def regression_value(card: Card, response: dict[str, Any]) -> str:
    """A regressor's answer as a big number, with the typical error from the held-out metrics."""
    value = float(response["prediction"])
    typical = card.metrics.get("mae")
    spread = (
        f'<div class="fp-muted">give or take about {format_prediction(typical)} '
        f"(its typical miss on cases it had not seen)</div>"
        if typical is not None
        else ""
    )
    return (
        f'<div class="fp-value"><div class="fp-value-label">predicted {escape(plain_target(card))}</div>'
        f'<div class="fp-value-number" data-testid="prediction-value">{escape(format_prediction(value))}</div>'
        f"{spread}</div>"
    )


def prediction_meta(card: Card, response: dict[str, Any], seconds: float) -> str:
    """Under a prediction: the most likely class in words, any input outside the training range, the time."""
    headline = ""
    if card.is_classifier:
        chance = probabilities(response).get(str(response.get("prediction")), 0.0)
        headline = (
            f'<p class="fp-headline">Most likely <b>{escape(str(response.get("prediction")))}</b> '
            f"({chance:.0%})</p>"
        )
    chips = [f"answered in <b>{seconds * 1000:,.0f} ms</b>"]
    # The API serves values outside the training range and names them: the model extrapolates there.
    outside = [_feature_title(card, str(name)) for name in response.get("out_of_range") or ()]
    if outside:
        chips.insert(0, f"outside the training range: <b>{escape(', '.join(outside))}</b>")
    return f'<div class="fp-meta">{headline}<div class="fp-chips">{_chips(chips)}</div></div>'


def _feature_title(card: Card, name: str) -> str:
    try:
        return card.feature(name).title
    except KeyError:
        return name


# -- the API's state ----------------------------------------------------------
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
            f"<li><b>{escape(_feature_title(card, d.field) if card and d.field else d.field or 'request')}</b>: "
            f"{escape(d.message)}"
            f"{' — ' + escape(d.hint) if d.hint else ''}</li>"
            for d in error.details
        )
        return (
            f'<div class="fp-banner fp-invalid" role="alert"><b>The API refused these inputs.</b> '
            f"{escape(str(error))}{f'<ul>{items}</ul>' if items else ''}</div>"
        )
    return f'<div class="fp-banner fp-down" role="alert"><b>Something went wrong.</b> {escape(str(error))}</div>'
