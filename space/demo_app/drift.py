"""Are recent inputs still like the training data? The API's drift report as a sentence and one chart.

The API does the measuring (GET /models/{name}/drift); this says what it found
in plain words and draws one bar per input: how far its spread has moved from
training. Both fronts show the same words and hand the chart to their own plotting.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from demo_app.cards import Card
from demo_app.charts import CHART_HEIGHT, UPRIGHT_LABELS_CHART_HEIGHT, ChartSpec, upright_labels
from demo_app.client import ApiAuthError, ApiClient, ApiRejectedError

__all__ = ["DRIFT_NOTE", "DRIFT_TITLE", "DriftView", "check_drift", "drift_view"]

DRIFT_TITLE = "Are recent inputs like the training data?"
DRIFT_NOTE = (
    '<p class="fp-section-note">A model is only as good as the match between what it is asked and what '
    "it learned from. The API compares the inputs of its recent predictions with the training data, input "
    "by input: each bar is how far that input's spread has moved (the population stability index; under "
    "0.1 is steady, 0.25 or more has drifted).</p>"
)
# What the API's statuses mean to a visitor, in the chart's legend.
VERDICTS = {"stable": "steady", "shifting": "shifting", "drifted": "drifted", "too_few": "too few to judge"}
SHIFT = "how far from training"


@dataclass(frozen=True)
class DriftView:
    """What to show: a sentence (HTML), and the chart when there were enough predictions to judge."""

    summary: str
    chart: ChartSpec | None = None


def check_drift(client: ApiClient, card: Card) -> DriftView:
    """Ask the API for ``card``'s drift report. A sleeping API raises, as every call does (the fronts wait);
    a report the demo may not read or the model cannot give is said in words."""
    try:
        reply = client.drift(card.name)
    except ApiAuthError:
        return DriftView(_said(
            "The drift report is behind the API's admin key, which a public demo does not hold. Ask the API "
            f"yourself: <code>curl -H \"X-API-Key: $ADMIN_API_KEY\" {escape(client.base_url)}/models/"
            f"{escape(card.name)}/drift</code>"
        ))
    except ApiRejectedError as exc:  # e.g. a card saved before the training profile was recorded
        return DriftView(_said(escape(exc.message)))
    return drift_view(card, reply.data)


def drift_view(card: Card, report: dict[str, Any]) -> DriftView:
    """The sentence and the chart for one report."""
    count, days = report["predictions"], f"{report['window_days']:g}"
    window = f"{days} day" + ("" if days == "1" else "s")
    if not report["enough_data"]:
        needed = report["thresholds"]["min_predictions"]
        return DriftView(_said(
            f"Only {count:,} prediction{'' if count == 1 else 's'} in the last {window}: "
            f"at least {needed:,} are needed to judge."
        ))
    titles = {f.name: f.title for f in card.features}
    drifted = [titles.get(name, name) for name in report["drifted"]]
    if drifted:
        names = ", ".join(f"<b>{escape(t)}</b>" for t in drifted)
        inputs = "input no longer looks" if len(drifted) == 1 else "inputs no longer look"
        summary = _said(
            f"Of the last {count:,} predictions ({window}), {len(drifted)} {inputs} like the training data: "
            f"{names}. The model's answers may be less reliable than its held-out record says."
        )
    else:
        summary = _said(f"The last {count:,} predictions ({window}) look like the training data: no input has drifted.")
    return DriftView(summary, _chart(card, report))


def _said(html: str) -> str:
    return f'<p class="fp-drift-summary">{html}</p>'


def _chart(card: Card, report: dict[str, Any]) -> ChartSpec:
    titles = {f.name: f.title for f in card.features}
    features = report["features"]
    frame = pd.DataFrame({
        "input": [titles.get(f["name"], f["name"]) for f in features],
        SHIFT: [f["psi"] or 0.0 for f in features],
        "verdict": [VERDICTS.get(f["status"], f["status"]) for f in features],
    })
    upright = upright_labels(list(frame["input"]))
    # At least past the drifted threshold, so a steady model's short bars read as short.
    top = max(report["thresholds"]["psi_drifted"] * 1.2, float(frame[SHIFT].max()) * 1.05)
    return ChartSpec(
        kind="bar",
        frame=frame,
        x="input",
        y=SHIFT,
        color="verdict",
        x_title="input",
        y_title=f"{SHIFT} (PSI)",
        x_order=list(frame["input"]),
        y_domain=(0.0, top),
        upright_labels=upright,
        height=UPRIGHT_LABELS_CHART_HEIGHT if upright else CHART_HEIGHT,
    )
