"""Charts of simulation results: Altair specifications with their data and text alternative.

Every chart comes with a plain-English text alternative and the table it was drawn
from, so that it can be read without seeing it. :func:`write_chart` turns one into an
SVG file (through ``vl-convert``, no browser or JavaScript needed) with the text
alternative inside it (``<title>`` and ``<desc>``) and beside it (``.txt``), and the
data beside it (``.csv``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import polars as pl

from voices.access.simulation import SimulationResult


@dataclass(frozen=True)
class Chart:
    """A chart ready to draw: its name, title, Altair chart, data and text alternative."""

    name: str
    title: str
    chart: alt.TopLevelMixin
    data: pl.DataFrame
    description: str


_LEGEND = alt.Legend(orient="bottom", direction="vertical", labelLimit=0)


def _fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def long_waits_by_deprivation(result: SimulationResult) -> Chart:
    """Percentage waiting over 52 weeks at the end, by deprivation quintile and policy."""
    table = result.groups("imd_quintile").filter(
        (pl.col("measure") == "pct_over_52") & (pl.col("group") != "not_known")
    ).select("policy", pl.col("group").alias("quintile"), pl.col("mean").alias("percent"),
             pl.col("lower"), pl.col("upper"))
    title = "Waiting over 52 weeks at the end, by deprivation"
    base = alt.Chart(table).encode(
        x=alt.X("quintile:N", title="Deprivation quintile (1 = most deprived)",
                axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("policy:N"),
        color=alt.Color("policy:N", title="Policy", legend=_LEGEND))
    chart = (base.mark_bar().encode(y=alt.Y("percent:Q", title="Waiting over 52 weeks (%)"))
             + base.mark_rule(color="black").encode(y="lower:Q", y2="upper:Q")).properties(
        title=title, width=420, height=260)
    intro = (f"{title}, after {result.settings['weeks']} weeks "
             f"({result.settings['replications']} replications; bars are means, lines "
             "95% intervals).")
    lines = [intro]
    for policy in result.policies:
        rows = table.filter(pl.col("policy") == policy).sort("quintile")
        parts = [f"quintile {r['quintile']}: {_fmt(r['percent'])}%"
                 for r in rows.iter_rows(named=True)]
        lines.append(f"{policy}: " + ", ".join(parts) + ".")
    return Chart("long_waits_by_deprivation", title, chart, table, " ".join(lines))


def long_waits_over_time(result: SimulationResult) -> Chart:
    """Pathways waiting over 52 weeks at the end of each week, by policy."""
    table = result.series.group_by(["policy", "week"], maintain_order=True).agg(
        pl.col("over_52").mean().alias("over_52"),
        pl.col("waiting").mean().alias("waiting")).sort(["policy", "week"])
    title = "Pathways waiting over 52 weeks, week by week"
    chart = alt.Chart(table).mark_line().encode(
        x=alt.X("week:Q", title="Weeks from the snapshot"),
        y=alt.Y("over_52:Q", title="Pathways waiting over 52 weeks"),
        color=alt.Color("policy:N", title="Policy", legend=_LEGEND),
    ).properties(title=title, width=420, height=260)
    lines = [f"{title} (mean of {result.settings['replications']} replications)."]
    for policy in result.policies:
        rows = table.filter(pl.col("policy") == policy)
        if rows.height:
            start, end = rows["over_52"][0], rows["over_52"][-1]
            lines.append(f"{policy}: {_fmt(start, 0)} at the start, {_fmt(end, 0)} after "
                         f"{_fmt(rows['week'][-1], 0)} weeks.")
    return Chart("long_waits_over_time", title, chart, table, " ".join(lines))


def simulation_charts(result: SimulationResult) -> list[Chart]:
    """The charts of a simulation comparison."""
    return [long_waits_by_deprivation(result), long_waits_over_time(result)]


def write_chart(chart: Chart, folder: Path) -> list[Path]:
    """Write ``<name>.svg`` (with title and description inside), ``.txt`` and ``.csv``."""
    import vl_convert

    folder.mkdir(parents=True, exist_ok=True)
    svg = vl_convert.vegalite_to_svg(chart.chart.to_json())
    label = (f'<title>{html.escape(chart.title)}</title>'
             f'<desc>{html.escape(chart.description)}</desc>')
    head, rest = svg.split(">", 1)
    svg = f'{head} role="img" aria-label="{html.escape(chart.title, quote=True)}">{label}{rest}'
    paths = [folder / f"{chart.name}.svg", folder / f"{chart.name}.txt",
             folder / f"{chart.name}.csv"]
    paths[0].write_text(svg, encoding="utf-8")
    paths[1].write_text(chart.description + "\n", encoding="utf-8")
    chart.data.write_csv(paths[2])
    return paths
