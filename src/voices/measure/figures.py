"""The measure charts: each an Altair chart drawn to SVG on the server, with a
plain-English summary and the numbers behind it (see :mod:`voices.charts`).

Every function takes the plain rows the measure service returns (or published rows), so a
page, its report and its JSON twin show the same numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import altair as alt
import polars as pl
import vl_convert as vlc

from voices.charts import NHS_BLUE, Figure, theme

GREY = "#768692"
RED = "#d5281b"
GREEN = "#007f3b"
ORANGE = "#ed8b00"
FLAG_COLOURS = {"above 99.8% limit": GREEN, "above 95% limit": "#78be20",
                "within limits": NHS_BLUE, "below 95% limit": ORANGE,
                "below 99.8% limit": RED}


@dataclass(frozen=True)
class PrintableFigure(Figure):
    """A figure with a PNG of its chart too, for PDF reports."""

    png: bytes = b""


_SVG_CACHE: OrderedDict[str, str] = OrderedDict()
_SVG_CACHE_SIZE = 256


def _svg(spec: dict) -> str:
    """The SVG of a chart specification, remembered for the most recent charts: pages are
    viewed again and again on the same figures, and drawing costs far more than a look-up."""
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    svg = _SVG_CACHE.get(key)
    if svg is None:
        svg = vlc.vegalite_to_svg(spec)
        _SVG_CACHE[key] = svg
        while len(_SVG_CACHE) > _SVG_CACHE_SIZE:
            _SVG_CACHE.popitem(last=False)
    else:
        _SVG_CACHE.move_to_end(key)
    return svg


def _finish(chart: alt.Chart, png: bool, *, title: str, summary: str,
            columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Figure:
    spec = theme(chart).to_dict()
    made = Figure(title, summary, _svg(spec), list(columns), [list(r) for r in rows])
    if not png:
        return made
    # vl-convert draws no text in a PNG for a font it cannot find (such as Arial)
    spec.setdefault("config", {})["font"] = "sans-serif"
    return PrintableFigure(made.title, made.summary, made.svg, made.columns, made.rows,
                           png=vlc.vegalite_to_png(spec, scale=2.0))


def pct(value: float | None, digits: int = 1) -> str:
    return "*" if value is None else f"{value:.{digits}f}%"


def interval(lower: float | None, upper: float | None) -> str:
    if lower is None or upper is None:
        return "*"
    return f"{lower:.1f}% to {upper:.1f}%"


def points(value: float | None) -> str:
    return "*" if value is None else f"{value:+.1f} points"


def _frame(rows: Sequence[dict], columns: dict[str, Callable[[dict], object]]) -> pl.DataFrame:
    return pl.DataFrame({name: [get(r) for r in rows] for name, get in columns.items()},
                        strict=False)


def trend_figure(rows: Sequence[dict], *, title: str, what: str = "good experience",
                 counts: Callable[[dict], str] | None = None, png: bool = False) -> Figure | None:
    """% positive month by month with its 95% interval as a band.

    ``rows`` have ``period``, ``period_name`` (optional), ``pct_positive``,
    ``pct_positive_lower``, ``pct_positive_upper``; ``counts`` formats a row's number of
    responses for the table (leave out for none).
    """
    usable = [r for r in rows if r.get("pct_positive") is not None]
    if not usable:
        return None
    data = _frame(usable, {"month": lambda r: r.get("period_name") or r["period"],
                           "order": lambda r: r["period"],
                           "pct": lambda r: round(r["pct_positive"], 2),
                           "lower": lambda r: r.get("pct_positive_lower"),
                           "upper": lambda r: r.get("pct_positive_upper")})
    order = data.sort("order")["month"].to_list()
    low = max(0.0, min(v for v in data["lower"].to_list() + data["pct"].to_list()
                       if v is not None) - 3)
    x = alt.X("month:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40))
    y = alt.Y("pct:Q", title=f"% {what}", scale=alt.Scale(domain=[low, 100]))
    band = alt.Chart(data).mark_area(opacity=0.2, color=NHS_BLUE).encode(
        x=x, y=alt.Y("lower:Q", scale=alt.Scale(domain=[low, 100]), title=f"% {what}"),
        y2="upper:Q")
    line = alt.Chart(data).mark_line(point=True, color=NHS_BLUE).encode(x=x, y=y)
    chart = (band + line).properties(width=560, height=260)
    first, last = usable[0], usable[-1]
    best = max(usable, key=lambda r: r["pct_positive"])
    worst = min(usable, key=lambda r: r["pct_positive"])
    name = (lambda r: r.get("period_name") or r["period"])
    summary = (f"{pct(first['pct_positive'])} of people reported a {what} in {name(first)} "
               f"and {pct(last['pct_positive'])} in {name(last)}. Highest {pct(best['pct_positive'])} "
               f"({name(best)}), lowest {pct(worst['pct_positive'])} ({name(worst)}). The band "
               "shows the 95% confidence interval.")
    columns = ["Month", f"% {what}", "95% interval"] + (["Responses"] if counts else [])
    table = [[name(r), pct(r.get("pct_positive")),
              interval(r.get("pct_positive_lower"), r.get("pct_positive_upper"))]
             + ([counts(r)] if counts else []) for r in rows]
    return _finish(chart, png, title=title, summary=summary, columns=columns, rows=table)


def services_figure(rows: Sequence[dict], *, title: str, overall: float | None = None,
                    counts: Callable[[dict], str] | None = None, png: bool = False) -> Figure | None:
    """Each service's % positive with its 95% interval, lowest first."""
    usable = sorted([r for r in rows if r.get("pct_positive") is not None],
                    key=lambda r: r["pct_positive"])
    if not usable:
        return None
    data = _frame(usable, {"service": lambda r: r.get("service") or r.get("label"),
                           "pct": lambda r: round(r["pct_positive"], 2),
                           "lower": lambda r: r.get("pct_positive_lower"),
                           "upper": lambda r: r.get("pct_positive_upper")})
    order = data["service"].to_list()
    low = max(0.0, min(v for v in data["lower"].to_list() if v is not None) - 3)
    y = alt.Y("service:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    scale = alt.Scale(domain=[low, 100])
    bars = alt.Chart(data).mark_rule(color=GREY, strokeWidth=2).encode(
        y=y, x=alt.X("lower:Q", scale=scale, title="% good experience"), x2="upper:Q")
    dots = alt.Chart(data).mark_point(filled=True, size=70, color=NHS_BLUE).encode(
        y=y, x=alt.X("pct:Q", scale=scale))
    layers = [bars, dots]
    if overall is not None:
        layers.append(alt.Chart(pl.DataFrame({"overall": [overall]})).mark_rule(
            color=ORANGE, strokeDash=[6, 4]).encode(x=alt.X("overall:Q", scale=scale)))
    chart = alt.layer(*layers).properties(width=460, height=max(120, 22 * len(usable)))
    top, bottom = usable[-1], usable[0]
    label = (lambda r: r.get("service") or r.get("label"))
    summary = (f"{len(usable)} services. Highest: {label(top)} ({pct(top['pct_positive'])}); "
               f"lowest: {label(bottom)} ({pct(bottom['pct_positive'])}). Lines show 95% "
               "confidence intervals" + (f"; the dashed line is the overall figure "
                                         f"({pct(overall)})." if overall is not None else "."))
    columns = ["Service", "% good experience", "95% interval"] + (["Responses"] if counts else [])
    table = [[label(r), pct(r["pct_positive"]),
              interval(r.get("pct_positive_lower"), r.get("pct_positive_upper"))]
             + ([counts(r)] if counts else []) for r in reversed(usable)]
    return _finish(chart, png, title=title, summary=summary, columns=columns, rows=table)


def groups_figure(rows: Sequence[dict], *, title: str, reference: str, what: str,
                  value: str = "pct", lower: str = "lower", upper: str = "upper",
                  counts: Callable[[dict], str] | None = None, png: bool = False) -> Figure | None:
    """Each group's figure with its 95% interval, in the dimension's order."""
    usable = [r for r in rows if r.get(value) is not None]
    if not usable:
        return None
    data = _frame(usable, {"group": lambda r: r["label"],
                           "pct": lambda r: round(r[value], 2),
                           "lower": lambda r: r.get(lower), "upper": lambda r: r.get(upper),
                           "kind": lambda r: "Reference group" if r.get("is_reference")
                           else "Group"})
    order = data["group"].to_list()
    finite = [v for v in data["lower"].to_list() + data["pct"].to_list() if v is not None]
    scale = alt.Scale(domain=[max(0.0, min(finite) - 3), min(100.0, max(
        [v for v in data["upper"].to_list() + data["pct"].to_list() if v is not None]) + 3)])
    y = alt.Y("group:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    bars = alt.Chart(data).mark_rule(color=GREY, strokeWidth=2).encode(
        y=y, x=alt.X("lower:Q", scale=scale, title=f"% {what}"), x2="upper:Q")
    dots = alt.Chart(data).mark_point(filled=True, size=80).encode(
        y=y, x=alt.X("pct:Q", scale=scale),
        color=alt.Color("kind:N", scale=alt.Scale(domain=["Group", "Reference group"],
                                                  range=[NHS_BLUE, ORANGE]),
                        legend=alt.Legend(title=None, orient="bottom")),
        shape=alt.Shape("kind:N", scale=alt.Scale(domain=["Group", "Reference group"],
                                                  range=["circle", "diamond"]), legend=None))
    chart = alt.layer(bars, dots).properties(width=440, height=max(100, 26 * len(usable)))
    known = [r for r in usable if not r.get("is_unknown")] or usable
    top = max(known, key=lambda r: r[value])
    bottom = min(known, key=lambda r: r[value])
    summary = (f"Highest: {top['label']} ({pct(top[value])}); lowest: {bottom['label']} "
               f"({pct(bottom[value])}). The reference group is {reference}. Lines show 95% "
               "confidence intervals.")
    columns = ["Group", f"% {what}", "95% interval"] + (["Responses"] if counts else [])
    table = [[r["label"], pct(r.get(value)), interval(r.get(lower), r.get(upper))]
             + ([counts(r)] if counts else []) for r in rows]
    return _finish(chart, png, title=title, summary=summary, columns=columns, rows=table)


def funnel_figure(data: dict, *, title: str, png: bool = False) -> Figure | None:
    """Services' % positive against their number of responses, with the 95% and 99.8%
    limits around the overall figure."""
    pts = data.get("points") or []
    if not pts or not data.get("limits"):
        return None
    frame = _frame(pts, {"service": lambda r: r["service"], "responses": lambda r: r["responses"],
                         "pct": lambda r: round(r["pct_positive"], 2),
                         "flag": lambda r: r["flag"]})
    limits = pl.DataFrame(data["limits"])
    long = limits.unpivot(index="responses", variable_name="limit", value_name="pct")
    long = long.with_columns(
        pl.col("limit").replace_strict({"lower_95": "95% limits", "upper_95": "95% limits",
                                        "lower_998": "99.8% limits",
                                        "upper_998": "99.8% limits"}).alias("level"),
        pl.col("limit").str.starts_with("upper").alias("upper"))
    low = max(0.0, min(long["pct"].min(), frame["pct"].min()) - 2)
    x = alt.X("responses:Q", title="Responses in the month", scale=alt.Scale(
        type="log", nice=False, domain=[float(limits["responses"].min()),
                                        float(limits["responses"].max())]))
    yscale = alt.Scale(domain=[low, 100])
    lines = alt.Chart(long).mark_line(color=GREY).encode(
        x=x, y=alt.Y("pct:Q", scale=yscale, title="% good experience"),
        detail="limit:N",
        strokeDash=alt.StrokeDash("level:N", scale=alt.Scale(
            domain=["95% limits", "99.8% limits"], range=[[6, 4], [1, 0]]),
            legend=alt.Legend(title=None, orient="bottom")))
    target = alt.Chart(pl.DataFrame({"target": [data["target_pct"]]})).mark_rule(
        color=ORANGE).encode(y=alt.Y("target:Q", scale=yscale))
    flags = list(FLAG_COLOURS)
    dots = alt.Chart(frame).mark_point(filled=True, size=70).encode(
        x=x, y=alt.Y("pct:Q", scale=yscale),
        color=alt.Color("flag:N", scale=alt.Scale(domain=flags, range=list(FLAG_COLOURS.values())),
                        legend=alt.Legend(title=None, orient="bottom", columns=3)),
        shape=alt.Shape("flag:N", scale=alt.Scale(domain=flags, range=[
            "triangle-up", "triangle-up", "circle", "triangle-down", "triangle-down"]),
            legend=None))
    chart = alt.layer(lines, target, dots).properties(width=560, height=320)
    outside = [p for p in pts if p["flag"] not in ("within limits", "")]
    summary = (f"{len(pts)} services compared with the overall figure of "
               f"{pct(data['target_pct'])}. ")
    if outside:
        summary += "Outside the limits: " + "; ".join(
            f"{p['service']} ({pct(p['pct_positive'])}, {p['flag']})" for p in outside) + "."
    else:
        summary += "Every service is within the 95% limits."
    columns = ["Service", "Responses", "% good experience", "95% limits", "99.8% limits", "Flag"]
    table = [[p["service"], f"{p['responses']:,}", pct(p["pct_positive"]),
              interval(p["lower_95"], p["upper_95"]), interval(p["lower_998"], p["upper_998"]),
              p["flag"]] for p in sorted(pts, key=lambda p: p["pct_positive"])]
    return _finish(chart, png, title=title, summary=summary, columns=columns, rows=table)


def _value_text(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    return pct(value) if unit == "%" else f"{value:.1f} {unit}".strip()


def scorecard_figure(rows: Sequence[dict], *, title: str, png: bool = False) -> Figure | None:
    """Each measure's monthly values over the trend window, with its target."""
    long = [{"measure": r["title"], "month": p, "value": v, "target": r["target"]}
            for r in rows for p, v in zip(r["trend_periods"], r["trend_values"], strict=True)
            if v is not None]
    if not long:
        return None
    data = pl.DataFrame(long)
    line = alt.Chart().mark_line(point=True, color=NHS_BLUE).encode(
        x=alt.X("month:N", title=None, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)))
    target = alt.Chart().mark_rule(color=ORANGE, strokeDash=[6, 4]).encode(
        y=alt.Y("mean(target):Q", scale=alt.Scale(zero=False)))
    order = [r["title"] for r in rows]
    chart = alt.layer(line, target, data=data).properties(width=260, height=120).facet(
        facet=alt.Facet("measure:N", title=None, sort=order,
                        header=alt.Header(labelLimit=300, labelFontSize=12)),
        columns=2).resolve_scale(y="independent")
    parts = [f"{r['title']}: {r['trend'].lower()}" for r in rows if r["trend_values"]]
    summary = "Trend of each measure over the last months, dashed line the target. " + \
        "; ".join(parts) + "."
    columns = ["Measure", "Month", "Value"]
    table = [[r["title"], p, _value_text(v, r["unit"])] for r in rows
             for p, v in zip(r["trend_periods"], r["trend_values"], strict=True)]
    return _finish(chart, png, title=title, summary=summary, columns=columns, rows=table)
