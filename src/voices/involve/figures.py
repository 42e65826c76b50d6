"""Involve's charts, drawn on the server (see :mod:`voices.charts`): the community's make-up
beside the population, and (for panels) each person's chance of selection."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence

import altair as alt
import polars as pl
import vl_convert as vlc

from voices.charts import NHS_BLUE, Figure, theme
from voices.involve.community import DimensionMakeup

GREY = "#768692"
_SVG: OrderedDict[str, str] = OrderedDict()


def figure(chart: alt.Chart, *, title: str, summary: str, columns: Sequence[str],
           rows: Sequence[Sequence[object]]) -> Figure:
    """As :func:`voices.charts.figure`, remembering the most recent drawings: the same
    figures are viewed again and again, and drawing costs far more than a look-up."""
    spec = theme(chart).to_dict()
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    svg = _SVG.get(key)
    if svg is None:
        svg = _SVG[key] = vlc.vegalite_to_svg(spec)
        while len(_SVG) > 128:
            _SVG.popitem(last=False)
    return Figure(title, summary, svg, list(columns), [list(r) for r in rows])


def _pct(value: float | None) -> str:
    return "*" if value is None else f"{100 * value:.0f}%"


def makeup_figure(dim: DimensionMakeup) -> Figure | None:
    """Community share beside population share for each group of one dimension (None when
    the population has no figures for it)."""
    rows = [r for r in dim.rows if r.population_share is not None]
    if not rows:
        return None
    data = []
    for r in rows:
        data.append({"group": r.label, "who": "Partner community",
                     "share": 100 * (r.community_share or 0.0)})
        data.append({"group": r.label, "who": "Population", "share": 100 * r.population_share})
    order = [r.label for r in rows]
    chart = alt.Chart(pl.DataFrame(data)).mark_bar().encode(
        y=alt.Y("group:N", sort=order, title=None),
        yOffset=alt.YOffset("who:N", sort=["Partner community", "Population"]),
        x=alt.X("share:Q", title="Per cent"),
        color=alt.Color("who:N", title=None, sort=["Partner community", "Population"],
                        scale=alt.Scale(range=[NHS_BLUE, GREY]),
                        legend=alt.Legend(orient="bottom")),
    ).properties(width=420, height=alt.Step(14))
    under = [r.label for r in dim.under_represented]
    summary = (f"{dim.label}: partner community compared with the population. "
               + (f"Under-represented (less than four-fifths of their population share): "
                  f"{', '.join(under)}." if under else "No group is under-represented by the "
                                                        "four-fifths rule."))
    return figure(chart, title=f"{dim.label}: community and population", summary=summary,
                  columns=["Group", "Partners", "Community", "Population", "Difference"],
                  rows=[[r.label, r.count, _pct(r.community_share), _pct(r.population_share),
                         "*" if r.difference is None else f"{r.difference:+.0f} points"]
                        for r in rows])


def probability_figure(probabilities: Sequence[float], k: int, n: int, *,
                       title: str = "Each person's chance of selection") -> Figure:
    """The selection probabilities, sorted from lowest to highest, with the line k/n that
    a uniform lottery would give everyone."""
    values = sorted(float(p) for p in probabilities)
    frame = pl.DataFrame({"person": list(range(1, len(values) + 1)), "probability": values})
    top = min(1.0, max(0.5, 1.1 * max(values), 1.2 * k / n))
    bars = alt.Chart(frame).mark_area(color=NHS_BLUE, opacity=0.8, interpolate="step-after"
                                      ).encode(
        x=alt.X("person:Q", title="People in the pool, from lowest to highest chance",
                scale=alt.Scale(domain=[1, len(values)], nice=False)),
        y=alt.Y("probability:Q", title="Chance of selection",
                scale=alt.Scale(domain=[0, top], nice=False)))
    rule = alt.Chart(pl.DataFrame({"k_over_n": [k / n]})).mark_rule(
        color="#d5281b", strokeDash=[6, 3], size=2).encode(y="k_over_n:Q")
    chart = (bars + rule).properties(width=480, height=220)
    low, high = values[0], values[-1]
    summary = (f"Chances of selection for {n} people, sorted. The lowest is {low:.3f} and the "
               f"highest {high:.3f}; the dashed line is {k}/{n} = {k / n:.3f}, the chance "
               "everyone would have in a lottery with no quotas.")
    step = max(1, len(values) // 20)
    rows = [[i + 1, f"{values[i]:.4f}"] for i in range(0, len(values), step)]
    if rows[-1][0] != len(values):
        rows.append([len(values), f"{values[-1]:.4f}"])
    return figure(chart, title=title, summary=summary,
                  columns=["Person (sorted)", "Chance of selection"], rows=rows)
