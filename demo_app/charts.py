"""How a what-if sweep is drawn, decided once for both fronts: axes, ticks, scale, and the words above it.

Each front hands a :class:`ChartSpec` to its own plotting (Gradio's LinePlot and
BarPlot, Altair in Streamlit); what the chart shows is settled here.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import pandas as pd

from demo_app.cards import Card
from demo_app.whatif import Sweep

__all__ = [
    "CHART_HEIGHT",
    "UPRIGHT_LABELS_CHART_HEIGHT",
    "WHATIF_NOTE",
    "ChartSpec",
    "chart_spec",
    "sweep_caption",
    "upright_labels",
]

WHATIF_NOTE = (
    '<p class="fp-section-note">Pick an input: the model answers again for every value it saw in '
    "training, with everything else as in the form, and the chart shows how its answer moves.</p>"
)
# Whole-number inputs with at most this many values get one tick per value.
MAX_WHOLE_TICKS = 24
# How many characters of category names, all bars together, sit level under a phone-wide chart.
FLAT_LABEL_CHARACTERS = 40
CHART_HEIGHT = 320
UPRIGHT_LABELS_CHART_HEIGHT = 460  # upright names take up to about 160 px below the bars


@dataclass(frozen=True)
class ChartSpec:
    """One sweep's chart: a line over a numeric input, bars over categories (or True/False)."""

    kind: str  # line | bar
    frame: pd.DataFrame
    x: str
    y: str
    color: str | None
    x_title: str
    y_title: str
    # The x values in the order drawn, when x is drawn as text: one tick per whole number, or ranked bars.
    x_order: list[str] | None = None
    whole_numbers: bool = False  # an integer axis with too many values for a tick each: ticks without decimals
    y_domain: tuple[float, float] | None = None
    upright_labels: bool = False  # bar names too long to sit side by side on a phone
    height: int = CHART_HEIGHT


def upright_labels(names: list[str]) -> bool:
    """Whether bars named ``names`` need their names upright to fit a phone-wide chart.

    Upright rather than slanted: a slanted name reaches left past the axis and narrows the bars
    until neighbouring names overlap on a phone.
    """
    return len(names) * max(map(len, names), default=0) > FLAT_LABEL_CHARACTERS


def chart_spec(card: Card, item: Sweep) -> ChartSpec:
    """How to draw ``item``: whole-number ticks for a few whole numbers, chances from 0 to 1, bars from zero."""
    feature = item.feature
    frame = item.frame
    x_order = item.order
    whole_numbers = False
    if feature.type == "integer" and frame[feature.name].nunique() <= MAX_WHOLE_TICKS:
        # A few whole numbers: one tick per value (as text, in their order), never a tick at 1.5.
        values = sorted(frame[feature.name].unique())
        frame = frame.assign(**{feature.name: frame[feature.name].map(str)})
        x_order = [str(v) for v in values]
    elif feature.type == "integer":
        whole_numbers = True
    y_domain: tuple[float, float] | None = None
    if card.is_classifier:
        y_domain = (0.0, 1.0)
    elif not item.numeric:  # bars start at zero, or small differences look huge
        y_domain = (0.0, float(frame[item.y].max()) * 1.05)
    upright = not item.numeric and upright_labels([str(name) for name in frame[feature.name].unique()])
    return ChartSpec(
        kind="line" if item.numeric else "bar",
        frame=frame,
        x=feature.name,
        y=item.y,
        color=item.color,
        x_title=feature.title,
        y_title="chance" if card.is_classifier else card.target_title,
        x_order=x_order,
        whole_numbers=whole_numbers,
        y_domain=y_domain,
        upright_labels=upright,
        height=UPRIGHT_LABELS_CHART_HEIGHT if upright else CHART_HEIGHT,
    )


def sweep_caption(card: Card, item: Sweep) -> str:
    """Above the chart: what it shows, how many values were tried, how long the API took."""
    shown = (f", showing the {len(item.order) // 2} highest and {len(item.order) // 2} lowest"
             if item.trimmed and item.order else "")
    what = f"chance of each {card.target_title}" if card.is_classifier else card.target_title
    return (
        f'<p class="fp-section-note fp-sweep-title"><b>{escape(what.capitalize())} as '
        f"{escape(item.feature.title)} changes</b><br>{item.values_tried} values tried{shown}, "
        f"answered in {item.seconds * 1000:,.0f} ms.</p>"
    )
