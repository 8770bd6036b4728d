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
    "model_summary",
    "prediction_meta",
    "probabilities",
    "regression_value",
]

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


def _metric_chips(card: Card) -> list[str]:
    chips = [f"{escape(metric_label(k))} <b>{v:.3f}</b>" for k, v in card.metrics.items()]
    if chips and card.metrics_rows:
        chips.append(f"on {card.metrics_rows:,} held-out rows")
    return chips


def model_summary(card: Card) -> str:
    """The model's card in brief: what it predicts, from what, and how well it did on held-out data."""
    task = (
        f"classifies <b>{escape(card.target)}</b> into {len(card.classes)} classes"
        if card.is_classifier
        else f"predicts <b>{escape(card.target)}</b> (a number)"
    )
    chips = _metric_chips(card) or ["no held-out metrics recorded"]
    trained = f" · trained on {card.training_rows:,} rows" if card.training_rows else ""
    return (
        f'<div class="fp-summary"><h3>{escape(card.title)}</h3>'
        f"<p>{escape(card.description)}</p>"
        f'<p class="fp-muted">This model {task} from {len(card.features)} inputs{trained}. '
        f"{escape(card.estimator)} · version <code>{escape(card.version)}</code></p>"
        f'<div class="fp-chips">{_chips(chips)}</div></div>'
    )


def probabilities(response: dict[str, Any]) -> dict[str, float]:
    """A classifier's answer → ``{class: probability}`` for a gr.Label bar chart."""
    return {str(k): float(v) for k, v in response.get("probabilities", {}).items()}


def regression_value(card: Card, response: dict[str, Any]) -> str:
    """A regressor's answer as a big number, with the typical error from the held-out metrics."""
    value = float(response["prediction"])
    typical = card.metrics.get("mae")
    spread = (
        f'<div class="fp-muted">typically within ± {format_prediction(typical)} '
        f"(mean absolute error on held-out data)</div>"
        if typical is not None
        else ""
    )
    return (
        f'<div class="fp-value"><div class="fp-value-label">predicted {escape(card.target)}</div>'
        f'<div class="fp-value-number" data-testid="prediction-value">{escape(format_prediction(value))}</div>'
        f"{spread}</div>"
    )


def prediction_meta(card: Card, response: dict[str, Any], seconds: float) -> str:
    """The credentials under a prediction: model version, held-out metrics, the API's round trip."""
    headline = ""
    if card.is_classifier:
        chance = probabilities(response).get(str(response.get("prediction")), 0.0)
        headline = (
            f'<p class="fp-headline">Most likely <b>{escape(str(response.get("prediction")))}</b> '
            f"({chance:.0%})</p>"
        )
    chips = [
        f"model version <code>{escape(str(response.get('version', card.version)))}</code>",
        *_metric_chips(card),
        f"API answered in <b>{seconds * 1000:,.0f} ms</b>",
    ]
    # The API serves values outside the training range and names them: the model extrapolates there.
    outside = [str(name) for name in response.get("out_of_range") or ()]
    if outside:
        chips.insert(0, f"outside the training range: <b>{escape(', '.join(outside))}</b>")
    request_id = response.get("request_id")
    footer = f'<div class="fp-muted fp-small">request id {escape(str(request_id))}</div>' if request_id else ""
    return f'<div class="fp-meta">{headline}<div class="fp-chips">{_chips(chips)}</div>{footer}</div>'


# -- the API's state ----------------------------------------------------------
def banner_waking(step: Waiting, api_url: str) -> str:
    """The API is asleep or starting: say so, with a progress bar instead of an error."""
    return (
        '<div class="fp-banner fp-waking" role="status">'
        f"<b>Waking up the API…</b> Free servers sleep when nobody uses them and take 30–90 s to wake. "
        f"{step.elapsed:.0f} s so far (attempt {step.attempt}; giving up after {step.limit:.0f} s)."
        f'<div class="fp-progress"><div style="width:{step.fraction * 100:.0f}%"></div></div>'
        f'<div class="fp-muted fp-small">{escape(api_url)} · {escape(step.reason)}</div></div>'
    )


def banner_connected(api_url: str, models: int, docs_url: str) -> str:
    return (
        '<div class="fp-banner fp-ok" role="status"><span class="fp-dot"></span>'
        f"API connected · {models} model{'s' if models != 1 else ''} · "
        f'<a href="{escape(docs_url)}" target="_blank" rel="noopener">API docs</a>'
        f' <span class="fp-muted fp-small">{escape(api_url)}</span></div>'
    )


def banner_for_error(error: ApiError, api_url: str) -> str:
    """A clear sentence for each way the API can fail, with what to do next."""
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
            f"<li><b>{escape(d.field or 'request')}</b>: {escape(d.message)}"
            f"{' — ' + escape(d.hint) if d.hint else ''}</li>"
            for d in error.details
        )
        return (
            f'<div class="fp-banner fp-invalid" role="alert"><b>The API refused these inputs.</b> '
            f"{escape(str(error))}{f'<ul>{items}</ul>' if items else ''}</div>"
        )
    return f'<div class="fp-banner fp-down" role="alert"><b>Something went wrong.</b> {escape(str(error))}</div>'
