"""What the visitor sees about a model and its answers: the card in words, a prediction, a refusal.

Every function returns plain data or an HTML fragment (escaped: card text and
API messages are never trusted as markup), so the rendering can be tested
without a browser, and both fronts show the same words (the API's state is
demo_app.connection's).
"""

from __future__ import annotations

from html import escape
from typing import Any

from demo_app.cards import Card
from demo_app.client import ApiRejectedError
from demo_app.field_notes import unplaced_details

__all__ = [
    "PLACEHOLDER",
    "api_note",
    "field_names_table",
    "format_prediction",
    "metric_label",
    "metric_sentence",
    "model_summary",
    "plain_target",
    "prediction_meta",
    "probabilities",
    "refusal_box",
    "regression_value",
    "technical_details",
]

PLACEHOLDER = '<div class="fp-placeholder">Press <b>Predict</b>, or pick an example above.</div>'
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
    """A classifier's answer → ``{class: probability}``, drawn as one bar per class."""
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
    outside = [card.title_of(str(name)) for name in response.get("out_of_range") or ()]
    if outside:
        chips.insert(0, f"outside the training range: <b>{escape(', '.join(outside))}</b>")
    return f'<div class="fp-meta">{headline}<div class="fp-chips">{_chips(chips)}</div></div>'


def refusal_box(card: Card, error: ApiRejectedError) -> str:
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


def field_names_table(card: Card) -> str:
    """The API's names for the inputs beside the labels the form shows: the one place raw names appear."""
    rows = "".join(f"<tr><td><code>{escape(f.name)}</code></td><td>{escape(f.title)}</td></tr>" for f in card.features)
    return f'<table class="fp-technical fp-field-names"><tr><th>API field</th><th>In the form</th></tr>{rows}</table>'


def api_note(docs_url: str, *, with_key: bool) -> str:
    """Over the snippets: what they are, where the full reference is, and where the key comes from."""
    return (
        '<p class="fp-section-note">The same call the form makes, with its current inputs. '
        f'Every field, type and range is in the <a href="{escape(docs_url)}" target="_blank" '
        'rel="noopener">interactive API docs (/docs)</a>.'
        f"{' The key is read from the API_KEY environment variable.' if with_key else ''}</p>"
    )
