"""Scorecards: an organisation's own "measures of success", scored per service and period.

A scorecard is a YAML file listing measures, each with a direction and a target:

.. code-block:: yaml

    title: Measures of success
    trend_periods: 12                # how many months the trend looks back (2-36)
    measures:
      - id: good_experience          # letters, digits and _; unique
        title: People who said their experience was good
        group: experience            # experience, inequality or activity
        source: fft                  # fft, sii, equity_gap or activity
        statistic: pct_positive      # which figure (see SOURCES)
        direction: higher            # higher, lower or closer_to_zero is better
        target: 90
        unit: "%"                    # optional, for the words
        dimension: ethnic_group      # equity_gap only
        min_responses: 30            # equity_gap only: ignore smaller groups (default 30)

Mistakes are refused with the file, the line and the key path named (for example
``measures[2].direction``). A default scorecard that puts experience and inequality
first ships in ``voices/measure/scorecards/default.yaml``.

Scoring, for each service (or organisation) and measure:

- **value** in the latest period, with its 95% interval where the measure has one;
- **status** against the target, in plain English: *Better than target* or *Worse than
  target* when the whole interval is on one side, *About on target* when the interval
  includes the target, *Meeting target* / *Not meeting target* for figures without an
  interval (imported activity), *No data*;
- **trend** over the last ``trend_periods`` months: the least-squares slope of the
  monthly values, called *Improving* or *Getting worse* when its 95% t-interval excludes
  no change, otherwise *No clear change* (fewer than 3 months: *Not enough data yet*).

References
----------
Least-squares trend with a Student's t interval on the slope: Armitage P, Berry G,
Matthews JNS. *Statistical Methods in Medical Research*, 4th ed., 2002, section 11.3.
Measures and intervals: :mod:`voices.measure.fft`, :mod:`voices.measure.inequality`,
:mod:`voices.measure.intervals`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import yaml
from scipy.stats import t as student_t

from voices.equity.dimensions import DIMENSIONS
from voices.errors import Problem, ValidationError

GROUPS = ("experience", "inequality", "activity")
DIRECTIONS = ("higher", "lower", "closer_to_zero")
#: Statistics each source offers (``activity`` takes any measure name in the activity file).
SOURCES: dict[str, tuple[str, ...]] = {
    "fft": ("pct_positive", "pct_negative"),
    "sii": ("sii_pct_points", "rii"),
    "equity_gap": ("largest_gap",),
    "activity": (),
}
STATUS = ("Better than target", "About on target", "Worse than target", "Meeting target",
          "Not meeting target", "No data")
TREND = ("Improving", "No clear change", "Getting worse", "Not enough data yet")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_KEYS = {"id", "title", "group", "source", "statistic", "direction", "target", "unit",
         "dimension", "min_responses", "description"}


@dataclass(frozen=True)
class ScorecardMeasure:
    """One measure of success."""

    id: str
    title: str
    group: str
    source: str
    statistic: str
    direction: str
    target: float
    unit: str = ""
    dimension: str | None = None
    min_responses: int = 30
    description: str = ""


@dataclass(frozen=True)
class Scorecard:
    """A parsed, checked scorecard."""

    title: str
    measures: tuple[ScorecardMeasure, ...]
    trend_periods: int = 12
    description: str = ""
    source: str | None = None


# ------------------------------------------------------------------------- parsing


def _lines(node, path: str = "", out: dict | None = None) -> dict[str, int]:
    """Key path -> 1-based line number, from a composed YAML node tree."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            out[child] = key.start_mark.line + 1
            _lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, f"{path}[{i}]", out)
    return out


def parse_scorecard(text: str, *, source: str | None = None) -> Scorecard:
    """Parse and check a scorecard from YAML text.

    Raises
    ------
    ValidationError
        Every problem found, each with the file, the line and the key path (in
        ``column``), and what was expected.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                              file=source, row=mark.line + 1 if mark else None,
                              expected="a YAML scorecard (see docs/measure.md)") from None
    except (ValueError, RecursionError):  # a value YAML cannot build, e.g. date 0000-00-00
        raise ValidationError("not valid YAML: a value cannot be read (an impossible date?)",
                              file=source, expected="a YAML scorecard (see docs/measure.md)") \
            from None
    lines = _lines(node) if node is not None else {}
    problems: list[Problem] = []

    def problem(path: str, message: str, expected: str) -> None:
        parent = path
        while parent and parent not in lines:
            parent = parent.rsplit(".", 1)[0] if "." in parent else ""
        problems.append(Problem(f"{path}: {message}" if path else message, file=source,
                                row=lines.get(parent), column=path or None, expected=expected))

    if not isinstance(data, dict):
        raise ValidationError("a scorecard must be a mapping with 'title' and 'measures'",
                              file=source, row=1, expected="title: ... and measures: [...]")
    for key in sorted(set(data) - {"title", "description", "trend_periods", "measures"}):
        problem(str(key), "unknown key", "title, description, trend_periods, measures")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problem("title", "missing or empty", "a title for the scorecard")
    trend_periods = data.get("trend_periods", 12)
    if isinstance(trend_periods, bool) or not isinstance(trend_periods, int) \
            or not 2 <= trend_periods <= 36:
        problem("trend_periods", f"{trend_periods!r} is not allowed", "a whole number, 2 to 36")
    raw_measures = data.get("measures")
    measures: list[ScorecardMeasure] = []
    if not isinstance(raw_measures, list) or not raw_measures:
        problem("measures", "missing or empty", "a list of measures")
        raw_measures = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_measures):
        path = f"measures[{i}]"
        if not isinstance(raw, dict):
            problem(path, "not a mapping", "id, title, group, source, statistic, direction, "
                                           "target")
            continue
        measure = _parse_measure(raw, path, problem)
        if measure is None:
            continue
        if measure.id in seen:
            problem(f"{path}.id", f"'{measure.id}' is used twice", "a unique id")
        seen.add(measure.id)
        measures.append(measure)
    if problems:
        raise ValidationError(problems=problems)
    return Scorecard(title=title.strip(), measures=tuple(measures),
                     trend_periods=trend_periods,
                     description=str(data.get("description") or "").strip(), source=source)


def _parse_measure(raw: dict, path: str, problem) -> ScorecardMeasure | None:
    for key in sorted(set(raw) - _KEYS):
        problem(f"{path}.{key}", "unknown key", ", ".join(sorted(_KEYS)))

    def text(key: str, required: bool = True) -> str:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                problem(f"{path}.{key}", "missing", f"a value for {key}")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            problem(f"{path}.{key}", f"{value!r} is not text", f"text for {key}")
            return ""
        return str(value).strip()

    def choice(key: str, allowed: tuple[str, ...]) -> str:
        value = text(key)
        if value and value not in allowed:
            problem(f"{path}.{key}", f"'{value}' is not allowed", " or ".join(allowed))
        return value

    mid = text("id")
    if mid and not _ID.match(mid):
        problem(f"{path}.id", f"'{mid}' is not a valid id",
                "lower-case letters, digits and _, starting with a letter")
    title = text("title")
    group = choice("group", GROUPS)
    source = choice("source", tuple(SOURCES))
    direction = choice("direction", DIRECTIONS)
    statistic = text("statistic")
    if source in SOURCES and SOURCES[source] and statistic and statistic not in SOURCES[source]:
        problem(f"{path}.statistic", f"'{statistic}' is not a statistic of {source}",
                " or ".join(SOURCES[source]))
    target = raw.get("target")
    if isinstance(target, bool) or not isinstance(target, int | float) \
            or not math.isfinite(float(target)):
        problem(f"{path}.target", "missing or not a number", "a number, such as 90")
        target = float("nan")
    if direction == "closer_to_zero" and isinstance(target, int | float) and target < 0:
        problem(f"{path}.target", "must not be negative for closer_to_zero",
                "the largest acceptable distance from zero")
    dimension = raw.get("dimension")
    if source == "equity_gap":
        if dimension not in DIMENSIONS:
            problem(f"{path}.dimension", f"{dimension!r} is not an equity dimension",
                    "one of " + ", ".join(DIMENSIONS))
    elif dimension is not None:
        problem(f"{path}.dimension", "only used with source: equity_gap", "no dimension here")
    min_responses = raw.get("min_responses", 30)
    if isinstance(min_responses, bool) or not isinstance(min_responses, int) or min_responses < 1:
        problem(f"{path}.min_responses", f"{min_responses!r} is not allowed",
                "a whole number, 1 or more")
        min_responses = 30
    if not (mid and title and group in GROUPS and source in SOURCES and statistic
            and direction in DIRECTIONS):
        return None
    return ScorecardMeasure(id=mid, title=title, group=group, source=source,
                            statistic=statistic, direction=direction, target=float(target),
                            unit=text("unit", required=False),
                            dimension=dimension if source == "equity_gap" else None,
                            min_responses=int(min_responses),
                            description=text("description", required=False))


def load_scorecard(path: str | Path) -> Scorecard:
    """Read a scorecard YAML file (thin wrapper over :func:`parse_scorecard`)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError("scorecard file not found", file=str(path),
                              expected="a YAML scorecard file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"could not read the file: {exc}", file=str(path),
                              expected="a UTF-8 YAML file") from None
    return parse_scorecard(text, source=str(path))


def default_scorecard_text() -> str:
    """The YAML of the scorecard that ships with Voices."""
    ref = resources.files("voices.measure").joinpath("scorecards/default.yaml")
    return ref.read_text(encoding="utf-8")


def default_scorecard() -> Scorecard:
    """The scorecard that ships with Voices (experience and inequality first)."""
    return parse_scorecard(default_scorecard_text(), source="default.yaml")


# ------------------------------------------------------------------------ activity


def read_activity(path: str | Path) -> pl.DataFrame:
    """Read activity KPIs (CSV or Parquet) for a scorecard.

    Columns: ``service``, ``period`` (``YYYY-MM``), ``measure``, ``value``; optional
    ``organisation``, ``lower`` and ``upper`` (an interval, if the figure has one). A row
    with an empty ``service`` is the organisation's own figure (used by organisation-level
    scorecards; figures are never averaged across services).
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise ValidationError("file not found", file=name, expected="a CSV or Parquet file")
    try:
        frame = (pl.read_parquet(path, glob=False) if path.suffix.lower() == ".parquet"
                 else pl.read_csv(path, infer_schema=False, glob=False))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ValidationError(f"could not read the file: {str(exc).splitlines()[0][:200]}",
                              file=name, expected="a readable CSV or Parquet file") from None
    return validate_activity(frame, source=name,
                             first_row=1 if path.suffix.lower() == ".parquet" else 2)


def validate_activity(frame: pl.DataFrame, *, source: str | None = None,
                      first_row: int = 2) -> pl.DataFrame:
    """Check an activity table; return it with ``value``, ``lower``, ``upper`` as numbers."""
    missing = [c for c in ("service", "period", "measure", "value") if c not in frame.columns]
    if missing:
        raise ValidationError(f"missing column '{missing[0]}'", file=source, column=missing[0],
                              expected="columns service, period, measure, value")
    problems = []
    numbers = {}
    for column in ("value", "lower", "upper"):
        if column not in frame.columns:
            continue
        number = frame[column].cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        bad = (number.is_null() & frame[column].is_not_null()) if column != "value" \
            else number.is_null()
        for row in bad.arg_true().head(20):
            problems.append(Problem("not a number", file=source, row=int(row) + first_row,
                                    column=column, expected="a number, such as 87.5"))
        numbers[column] = number
    period = frame["period"].cast(pl.String).str.strip_chars()
    for row in (~period.str.contains(r"^\d{4}-(0[1-9]|1[0-2])$").fill_null(False)) \
            .arg_true().head(20):
        problems.append(Problem("period is not a month in the form YYYY-MM", file=source,
                                row=int(row) + first_row, column="period",
                                expected="a month such as 2026-04"))
    if problems:
        raise ValidationError(problems=problems)
    keys = [c for c in ("organisation", "service") if c in frame.columns]
    return frame.select(
        *[pl.col(c).cast(pl.String).str.strip_chars() for c in keys],
        period.alias("period"), pl.col("measure").cast(pl.String).str.strip_chars(),
        *[pl.Series(c, v) for c, v in numbers.items()])


# ------------------------------------------------------------------------- scoring


def _month(period: str) -> int:
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def _series_for(measure: ScorecardMeasure, tables: dict[str, pl.DataFrame], level: str,
                keys: list[str], activity: pl.DataFrame | None) -> pl.DataFrame:
    """One row per entity and period: keys, period, value, lower, upper, detail."""
    empty = pl.DataFrame(schema={**{k: pl.String for k in keys}, "period": pl.String,
                                 "value": pl.Float64, "lower": pl.Float64,
                                 "upper": pl.Float64, "detail": pl.String})
    if measure.source == "fft":
        table = tables.get(f"fft_{level}")
        if table is None:
            return empty
        stat = measure.statistic
        return table.select(*keys, "period", pl.col(stat).alias("value"),
                            pl.col(f"{stat}_lower_95").alias("lower"),
                            pl.col(f"{stat}_upper_95").alias("upper"),
                            pl.lit("").alias("detail"))
    if measure.source == "sii":
        table = tables.get(f"sii_{level}")
        if table is None:
            return empty
        stat = measure.statistic
        prefix = "sii" if stat == "sii_pct_points" else "rii"
        return table.select(*keys, "period", pl.col(stat).alias("value"),
                            pl.col(f"{prefix}_lower_95").alias("lower"),
                            pl.col(f"{prefix}_upper_95").alias("upper"),
                            pl.col("method").alias("detail"))
    if measure.source == "equity_gap":
        table = tables.get(f"equity_{level}")
        if table is None:
            return empty
        groups = (table.filter((pl.col("dimension") == measure.dimension)
                               & pl.col("gap_pct_points").is_not_nan()
                               & (pl.col("responses") >= measure.min_responses)
                               & (pl.col("reference_group_responses") >= measure.min_responses)))
        # The largest shortfall against the reference group (0 if no group is below it).
        worst = (groups.sort("gap_pct_points")
                 .group_by([*keys, "period"], maintain_order=True).first())
        return worst.select(
            *keys, "period",
            pl.max_horizontal(-pl.col("gap_pct_points"), pl.lit(0.0)).alias("value"),
            (-pl.col("gap_upper_95")).alias("lower"), (-pl.col("gap_lower_95")).alias("upper"),
            pl.format("{} ({})", pl.col("group_label"), pl.col("group")).alias("detail"))
    if activity is None:
        return empty
    rows = activity.filter(pl.col("measure") == measure.statistic)
    service = pl.col("service").fill_null("")
    if level == "organisation":
        # An organisation's own figure is a row with no service; never an average.
        if "organisation" not in rows.columns:
            return empty
        rows = rows.filter(service == "")
    else:
        rows = rows.filter(service != "")
        if "organisation" not in rows.columns:
            rows = rows.join(tables["fft_service"].select("organisation", "service").unique(),
                             on="service", how="inner")
    return rows.select(*keys, "period", pl.col("value"),
                       (pl.col("lower") if "lower" in rows.columns
                        else pl.lit(None, pl.Float64)).alias("lower"),
                       (pl.col("upper") if "upper" in rows.columns
                        else pl.lit(None, pl.Float64)).alias("upper"),
                       pl.lit("").alias("detail"))


def target_status(value: float, lower: float | None, upper: float | None, target: float,
                  direction: str) -> str:
    """Plain-English status of a value against its target (see the module docstring)."""
    if value is None or not math.isfinite(value):
        return "No data"
    has_interval = lower is not None and upper is not None and math.isfinite(lower) \
        and math.isfinite(upper)
    if direction == "closer_to_zero":
        if not has_interval:
            return "Meeting target" if abs(value) <= target else "Not meeting target"
        if -target <= lower and upper <= target:
            return "Better than target"
        if lower > target or upper < -target:
            return "Worse than target"
        return "About on target"
    good = value >= target if direction == "higher" else value <= target
    if not has_interval:
        return "Meeting target" if good else "Not meeting target"
    if direction == "higher":
        return ("Better than target" if lower > target else
                "Worse than target" if upper < target else "About on target")
    return ("Better than target" if upper < target else
            "Worse than target" if lower > target else "About on target")


def trend_of(periods: list[str], values: list[float], direction: str) -> str:
    """Improving, getting worse or no clear change: a least-squares slope with a 95%
    t-interval over the months given (see the module docstring)."""
    pairs = [(_month(p), v) for p, v in zip(periods, values)
             if v is not None and math.isfinite(v)]
    if len(pairs) < 3:
        return "Not enough data yet"
    x = np.array([p for p, _ in pairs], dtype=float)
    y = np.array([v for _, v in pairs], dtype=float)
    if direction == "closer_to_zero":
        y = np.abs(y)
    x -= x.mean()
    sxx = float((x * x).sum())
    if sxx == 0:
        return "Not enough data yet"
    slope = float((x * (y - y.mean())).sum() / sxx)
    resid = y - y.mean() - slope * x
    dof = len(y) - 2
    se = math.sqrt(float((resid * resid).sum()) / dof / sxx)
    half = float(student_t.ppf(0.975, dof)) * se
    if slope - half > 0 or slope + half < 0:
        better = slope > 0 if direction == "higher" else slope < 0
        return "Improving" if better else "Getting worse"
    return "No clear change"


def _fmt(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "no data"
    number = f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.2f}"
    return f"{number}%" if unit == "%" else f"{number} {unit}".strip()


def _summary(measure: ScorecardMeasure, value, period, status, trend, months) -> str:
    target = _fmt(measure.target, measure.unit)
    if status == "No data":
        return f"{measure.title}: no data yet (target {target})."
    aim = {"higher": "or more", "lower": "or less", "closer_to_zero": "either way at most"}
    trend_words = {"Improving": "improving", "Getting worse": "getting worse",
                   "No clear change": "no clear change",
                   "Not enough data yet": "not enough months yet to see a trend"}[trend]
    return (f"{measure.title}: {_fmt(value, measure.unit)} in {period} "
            f"(target {target} {aim[measure.direction]}). {status}; {trend_words}"
            + (f" over the last {months} months." if trend != "Not enough data yet" else "."))


def compute_scorecard(card: Scorecard, tables: dict[str, pl.DataFrame], *,
                      level: str = "service", activity: pl.DataFrame | None = None,
                      period: str | None = None) -> pl.DataFrame:
    """Score every measure of a scorecard for each service (or organisation).

    Parameters
    ----------
    card : Scorecard
    tables : dict of polars.DataFrame
        The measure tables (``MeasureSet.tables`` from :mod:`voices.measure.compute`).
    level : "service" or "organisation"
    activity : polars.DataFrame, optional
        Activity KPIs (see :func:`read_activity`).
    period : str, optional
        The month to score (``YYYY-MM``); default the latest month in the tables.

    Returns
    -------
    polars.DataFrame
        One row per entity and measure, in scorecard order: the keys, ``measure_id``,
        ``title``, ``group``, ``period``, ``value``, ``lower_95``, ``upper_95``,
        ``target``, ``direction``, ``unit``, ``status``, ``trend``, ``trend_periods`` and
        ``trend_values`` (lists, oldest first), ``detail`` and ``summary``.
    """
    if level not in ("service", "organisation"):
        raise ValidationError(f"unknown level '{level}'", expected="service or organisation")
    keys = ["organisation", "service"] if level == "service" else ["organisation"]
    fft = tables.get(f"fft_{level}")
    entities = (fft.select(keys).unique().sort(keys) if fft is not None
                else pl.DataFrame(schema={k: pl.String for k in keys}))
    all_periods = sorted(set(fft["period"].to_list())) if fft is not None else []
    if activity is not None:
        all_periods = sorted(set(all_periods) | set(activity["period"].to_list()))
    if period is None:
        period = all_periods[-1] if all_periods else None
    elif not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise ValidationError(f"'{period}' is not a month", column="period",
                              expected="a month such as 2026-10")
    window = [p for p in all_periods if period is not None and p <= period][-card.trend_periods:]
    rows = []
    for order, measure in enumerate(card.measures):
        series = _series_for(measure, tables, level, keys, activity)
        series = series.filter(pl.col("period").is_in(window)).sort("period")
        by_entity = series.partition_by(keys, as_dict=True, maintain_order=True) \
            if series.height else {}
        for entity in entities.iter_rows():
            frame = by_entity.get(tuple(entity))
            trend_periods = frame["period"].to_list() if frame is not None else []
            trend_values = frame["value"].to_list() if frame is not None else []
            latest = frame.filter(pl.col("period") == period) if frame is not None else None
            if latest is not None and latest.height:
                value, lower, upper, detail = latest.select(
                    "value", "lower", "upper", "detail").row(0)
            else:
                value = lower = upper = None
                detail = ""
            status = target_status(value, lower, upper, measure.target, measure.direction)
            trend = trend_of(trend_periods, trend_values, measure.direction)
            rows.append({
                **dict(zip(keys, entity)), "order": order, "measure_id": measure.id,
                "title": measure.title, "group": measure.group, "period": period,
                "value": value, "lower_95": lower, "upper_95": upper,
                "target": measure.target, "direction": measure.direction,
                "unit": measure.unit, "status": status, "trend": trend,
                "trend_periods": trend_periods, "trend_values": trend_values,
                "detail": detail or "",
                "summary": _summary(measure, value, period, status, trend, len(window)),
            })
    schema = {**{k: pl.String for k in keys}, "order": pl.Int64, "measure_id": pl.String,
              "title": pl.String, "group": pl.String, "period": pl.String,
              "value": pl.Float64, "lower_95": pl.Float64, "upper_95": pl.Float64,
              "target": pl.Float64, "direction": pl.String, "unit": pl.String,
              "status": pl.String, "trend": pl.String, "trend_periods": pl.List(pl.String),
              "trend_values": pl.List(pl.Float64), "detail": pl.String, "summary": pl.String}
    out = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    return out.sort([*keys, "order"]).drop("order")


def add_scorecard_tables(measures, card: Scorecard, activity: pl.DataFrame | None = None):
    """A copy of a :class:`~voices.measure.compute.MeasureSet` with ``scorecard_service``
    and ``scorecard_organisation`` tables added (trend lists written as text, so the
    tables can be saved as CSV)."""
    tables = dict(measures.tables)
    for level in ("service", "organisation"):
        frame = compute_scorecard(card, measures.tables, level=level, activity=activity)
        tables[f"scorecard_{level}"] = frame.with_columns(
            pl.col("trend_periods").list.join(";"),
            pl.col("trend_values").list.eval(pl.element().round(3).cast(pl.String))
            .list.join(";"))
    return replace(measures, tables=tables)
