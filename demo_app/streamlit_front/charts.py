"""The what-if and drift charts as Altair charts, drawn as the core decided (demo_app.charts, demo_app.drift)."""

from __future__ import annotations

from typing import Any

import altair as alt

from demo_app.charts import ChartSpec

__all__ = ["sweep_chart"]


def sweep_chart(spec: ChartSpec) -> alt.Chart:
    """A line over a numeric input or bars over categories, with the spec's titles, ticks and scale."""
    # Plain column names: Vega-Lite reads "." and "[" in a field name as a path into the row.
    columns = {spec.x: "x", spec.y: "y", **({spec.color: "series"} if spec.color else {})}
    frame = spec.frame.rename(columns=columns)[list(columns.values())]
    nominal = spec.kind == "bar" or spec.x_order is not None
    axis: dict[str, Any] = {"labelAngle": -90 if spec.upright_labels else 0}
    if spec.whole_numbers:
        axis["format"] = "d"
        axis["tickMinStep"] = 1
    x = alt.X("x", type="nominal" if nominal else "quantitative", title=spec.x_title,
              sort=spec.x_order if nominal else "ascending", axis=alt.Axis(**axis))
    scale = alt.Scale(domain=list(spec.y_domain)) if spec.y_domain else alt.Undefined
    y = alt.Y("y", type="quantitative", title=spec.y_title, scale=scale,
              axis=alt.Axis(format="%") if spec.y_title == "chance" else alt.Axis())
    chart = alt.Chart(frame)
    chart = chart.mark_line(point=True) if spec.kind == "line" else chart.mark_bar()
    encodings: dict[str, Any] = {"x": x, "y": y}
    if spec.color:
        encodings["color"] = alt.Color("series", type="nominal", title=None, legend=alt.Legend(orient="bottom"))
        encodings["tooltip"] = ["x", "series", alt.Tooltip("y", format=".0%" if spec.y_title == "chance" else ".2f")]
    else:
        encodings["tooltip"] = ["x", "y"]
    return chart.encode(**encodings).properties(height=spec.height)

