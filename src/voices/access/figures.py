"""Charts for the access pages: each an image with a plain-English summary and its numbers
(:func:`voices.charts.figure`), drawn on the server, so no JavaScript is needed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt

from voices.charts import Figure, figure


def _num(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _interval(lower, upper, digits: int = 1) -> str:
    if lower is None or upper is None:
        return ""
    return f"{_num(lower, digits)} to {_num(upper, digits)}"


def groups_figure(rows: Sequence[dict], *, title: str, what: str, axis: str,
                  overall: float | None = None, intervals: bool = True) -> Figure | None:
    """A bar for each group's percentage (with its interval where given) and a line for
    the list as a whole.

    ``rows`` have ``label``, ``value`` (percent; ``None`` or ``"*"`` when hidden) and,
    with ``intervals``, ``lower`` and ``upper``.
    """
    data = [{"group": r["label"], "percent": r["value"], "lower": r.get("lower"),
             "upper": r.get("upper")} for r in rows
            if isinstance(r.get("value"), (int, float)) and math.isfinite(r["value"])]
    if not data:
        return None
    order = [d["group"] for d in data]
    tilt = -35 if max(len(g) for g in order) > 5 else 0
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("group:N", sort=order, title=axis,
                axis=alt.Axis(labelAngle=tilt, labelLimit=160, labelAlign="right" if tilt
                              else "center")))
    chart = base.mark_bar(color="#005eb8").encode(
        y=alt.Y("percent:Q", title=f"{what} (%)"))
    if intervals:
        chart = chart + base.mark_rule(color="#212b32", strokeWidth=2).encode(
            y="lower:Q", y2="upper:Q")
    if overall is not None:
        chart = chart + alt.Chart(alt.Data(values=[{"overall": overall}])).mark_rule(
            color="#d5281b", strokeDash=[6, 4], strokeWidth=2).encode(y="overall:Q")
    chart = chart.properties(width=max(300, 56 * len(data)), height=240)
    highest = max(data, key=lambda d: d["percent"])
    lowest = min(data, key=lambda d: d["percent"])
    summary = (f"{what} by {axis.lower()}: highest {_num(highest['percent'])}% "
               f"({highest['group']}), lowest {_num(lowest['percent'])}% ({lowest['group']})")
    if overall is not None:
        summary += f"; the whole list {_num(overall)}% (dashed line)"
    summary += "." + (" Black lines are 95% intervals." if intervals else "")
    columns = [axis, f"{what} (%)"] + (["95% interval"] if intervals else [])
    table = [[d["group"], _num(d["percent"])] + ([_interval(d["lower"], d["upper"])]
                                                 if intervals else []) for d in data]
    return figure(chart, title=f"{what} by {axis.lower()}", summary=summary, columns=columns,
                  rows=table)


# --------------------------------------------------------------------------- simulations


def _policy_colour(policies: Sequence[str]) -> alt.Color:
    return alt.Color("policy:N", title="Policy", sort=list(policies),
                     legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0))


def quintile_figure(payload: dict) -> Figure | None:
    """Simulated share waiting over 52 weeks at the end, by deprivation quintile."""
    policies = payload["policies"]
    data = [{"policy": r["policy"], "quintile": r["group"], "percent": r["mean"],
             "lower": r["lower"], "upper": r["upper"]} for r in payload.get("quintiles", [])
            if r["measure"] == "pct_over_52" and r["group"] != "not_known"
            and r["mean"] is not None]
    if not data:
        return None
    data.sort(key=lambda d: (policies.index(d["policy"]), d["quintile"]))
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("quintile:N", title="Deprivation quintile (1 = most deprived)",
                axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("policy:N", sort=list(policies)), color=_policy_colour(policies))
    chart = (base.mark_bar().encode(y=alt.Y("percent:Q", title="Waiting over 52 weeks (%)"))
             + base.mark_rule(color="#212b32").encode(y="lower:Q", y2="upper:Q")
             ).properties(width=460, height=260)
    parts = []
    for policy in policies:
        mine = [d for d in data if d["policy"] == policy]
        if mine:
            parts.append(f"{policy}: " + ", ".join(
                f"quintile {d['quintile']} {_num(d['percent'])}%" for d in mine))
    weeks = payload["settings"]["weeks"]
    summary = (f"Share of the list waiting over 52 weeks after {weeks} weeks, by deprivation "
               "quintile, for each policy (means across replications; lines are 95% "
               "intervals). " + "; ".join(parts) + ".")
    return figure(chart, title="Waiting over 52 weeks at the end, by deprivation",
                  summary=summary, columns=["Policy", "Quintile", "Over 52 weeks (%)",
                                            "95% interval"],
                  rows=[[d["policy"], d["quintile"], _num(d["percent"]),
                         _interval(d["lower"], d["upper"])] for d in data])


def series_figure(payload: dict) -> Figure | None:
    """Simulated pathways waiting over 52 weeks, week by week, for each policy."""
    policies = payload["policies"]
    data = [r for r in payload.get("series", []) if r["over_52"] is not None]
    if not data:
        return None
    chart = alt.Chart(alt.Data(values=data)).mark_line(strokeWidth=3).encode(
        x=alt.X("week:Q", title="Weeks from the snapshot"),
        y=alt.Y("over_52:Q", title="Pathways waiting over 52 weeks"),
        color=_policy_colour(policies), strokeDash=alt.StrokeDash("policy:N", legend=None,
                                                                  sort=list(policies)),
    ).properties(width=460, height=260)
    parts, rows = [], []
    for policy in policies:
        mine = sorted((r for r in data if r["policy"] == policy), key=lambda r: r["week"])
        if mine:
            parts.append(f"{policy}: {_num(mine[0]['over_52'], 0)} at the start, "
                         f"{_num(mine[-1]['over_52'], 0)} after {_num(mine[-1]['week'], 0)} weeks")
            step = max(1, len(mine) // 13)
            rows.extend([policy, _num(r["week"], 0), _num(r["over_52"], 0)]
                        for r in mine[::step])
    summary = ("Pathways waiting over 52 weeks at the end of each week (means across "
               "replications). " + "; ".join(parts) + ".")
    return figure(chart, title="Pathways waiting over 52 weeks, week by week", summary=summary,
                  columns=["Policy", "Week", "Waiting over 52 weeks"], rows=rows)


BREACHES = {"breaches_18": "18 weeks", "breaches_52": "52 weeks", "breaches_65": "65 weeks"}


def breaches_figure(payload: dict) -> Figure | None:
    """Simulated pathways that waited over 18, 52 and 65 weeks at some point, by policy."""
    policies = payload["policies"]
    data = [{"policy": r["policy"], "wait": BREACHES[r["measure"]], "pathways": r["mean"],
             "lower": r["lower"], "upper": r["upper"]} for r in payload["comparison"]
            if r["measure"] in BREACHES and r["mean"] is not None]
    if not data:
        return None
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("wait:N", title="Waited over", sort=list(BREACHES.values()),
                axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("policy:N", sort=list(policies)), color=_policy_colour(policies))
    chart = (base.mark_bar().encode(y=alt.Y("pathways:Q", title="Pathways"))
             + base.mark_rule(color="#212b32").encode(y="lower:Q", y2="upper:Q")
             ).properties(width=460, height=260)
    parts = [f"{d['policy']}: {_num(d['pathways'], 0)} over {d['wait']}" for d in data]
    summary = ("Pathways that waited longer than 18, 52 and 65 weeks at some point during the "
               "simulation (means across replications; lines are 95% intervals). "
               + "; ".join(parts) + ".")
    return figure(chart, title="Long waits during the simulation", summary=summary,
                  columns=["Policy", "Waited over", "Pathways", "95% interval"],
                  rows=[[d["policy"], d["wait"], _num(d["pathways"], 0),
                         _interval(d["lower"], d["upper"], 0)] for d in data])
