"""`voices access`: waiting-list equity, prioritisation and simulation."""

from __future__ import annotations

import functools
import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voices.errors import ValidationError, VoicesError
from voices.exports import write_frame

app = typer.Typer(help="Waiting-list equity, transparent prioritisation and policy simulation.",
                  no_args_is_help=True)

out = Console()
err = Console(stderr=True)


def _fails_cleanly(command):
    """Show a Voices error as one located line and exit with code 2; when a file has
    several problems, every one is listed first (the last line repeats the first)."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except VoicesError as error:
            if isinstance(error, ValidationError) and len(error.problems) > 1:
                for problem in error.problems:
                    err.print(f"  {problem}", highlight=False, soft_wrap=True, markup=False)
            err.print(f"[red]error:[/red] {escape(error.message)}", highlight=False,
                      soft_wrap=True)
            raise typer.Exit(2) from None
    return wrapper


def _day(text: str | None) -> date:
    """The snapshot date of a file (default today): a real date, not in the future."""
    if text is None:
        err.print(f"No --date given, so the list is taken to be from today "
                  f"({date.today()}).", highlight=False)
        return date.today()
    return _checked_day(text)


def _snapshot(path: Path, day: str | None, imd: Path | None):
    from voices.access.snapshot import read_snapshot
    from voices.equity.imd import ImdLookup

    lookup = ImdLookup.from_csv(imd) if imd is not None else None
    return read_snapshot(path, snapshot_date=_day(day), imd_lookup=lookup)


def _json(data) -> None:
    def default(value):
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    sys.stdout.write(json.dumps(data, default=default, allow_nan=False) + "\n")


def _num(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _write_table(frame: pl.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_frame(frame, path)  # formula-safe (voices.exports)
    elif suffix == ".parquet":
        frame.write_parquet(path)
    elif suffix == ".xlsx":
        _write_xlsx(frame, path)
    else:
        raise ValidationError(f"cannot write files ending '{suffix or '(none)'}'",
                              file=path.name, expected="a .csv, .xlsx or .parquet file")


_EXCEL_ROWS = 1_048_576


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    """Write a frame to one Excel sheet (text stored as text, formula-safe)."""
    if frame.height >= _EXCEL_ROWS:
        raise ValidationError(f"{frame.height:,} rows do not fit in an Excel sheet",
                              file=path.name, expected="a .csv or .parquet file")
    write_frame(frame, path)


SnapshotDate = Annotated[str | None, typer.Option(
    "--date", help="Snapshot date (YYYY-MM-DD; default today).")]
ImdFile = Annotated[Path | None, typer.Option(
    "--imd", help="IMD File 7 CSV to find deciles from LSOA codes.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command()
@_fails_cleanly
def rank(
    snapshot: Annotated[Path, typer.Argument(help="Waiting-list snapshot (.csv, .xlsx, .parquet).")],
    policy: Annotated[Path, typer.Option("--policy", help="Policy YAML file.")],
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the ordered list (.csv, .xlsx or .parquet; default "
                      "<snapshot name>-ranked.csv in the current folder).")] = None,
    day: SnapshotDate = None,
    imd: ImdFile = None,
    as_json: AsJson = False,
    show: Annotated[int, typer.Option("--show", help="Pathways to show from the top.")] = 10,
) -> None:
    """Order a waiting list by a policy and explain every position."""
    from voices.access.policy import rank as rank_list
    from voices.access.policy import read_policy

    if out_file is None:
        out_file = Path(f"{snapshot.stem}-ranked.csv")
    chosen = read_policy(policy)
    with err.status(f"Reading {escape(snapshot.name)}") as status:
        snap = _snapshot(snapshot, day, imd)
        status.update(f"Ranking {snap.size:,} pathways")
        ranked = rank_list(snap, chosen)
        status.update(f"Writing {escape(str(out_file))}")
        _write_table(ranked, out_file)
    if as_json:
        _json({"policy": chosen.name, "snapshot": snap.summary(), "written": str(out_file),
               "top": ranked.head(max(show, 0)).select(
                   "position", "pathway_id", "explanation").to_dicts()})
        return
    table = Table(title=f"{escape(chosen.name)}: the first {min(show, ranked.height)} of "
                        f"{ranked.height:,} pathways")
    for column in ("Position", "Pathway", "Specialty", "Why"):
        table.add_column(column, overflow="fold")
    for row in ranked.head(max(show, 0)).iter_rows(named=True):
        table.add_row(f"{row['position']:,}", escape(row["pathway_id"]),
                      escape(row["treatment_function_code"]), escape(row["explanation"]))
    out.print(table)
    _unknowns(snap)
    out.print(f"Wrote the ordered list to {escape(str(out_file))}")


def _unknowns(snap) -> None:
    missing = {k: v for k, v in snap.unknowns.items() if v}
    if missing:
        out.print("Not known (never guessed): " + ", ".join(
            f"{k.replace('_', ' ')} {v:,}" for k, v in missing.items()))
    for note in snap.notes:
        out.print(f"Note: {escape(note)}")


@app.command()
@_fails_cleanly
def simulate(
    snapshot: Annotated[Path, typer.Option("--snapshot", help="Waiting-list snapshot.")],
    policies: Annotated[list[Path], typer.Option(
        "--policies", help="Policy YAML files, one or more (the first is the baseline).")],
    more: Annotated[list[Path] | None, typer.Argument(hidden=True)] = None,
    weeks: Annotated[int, typer.Option("--weeks", help="Weeks to simulate.")] = 52,
    replications: Annotated[int, typer.Option("--replications", help="Replications.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    step: Annotated[str, typer.Option("--step", help="Step length: week or day.")] = "week",
    referrals: Annotated[float | None, typer.Option(
        "--referrals",
        help="Referrals a week (default: estimated from the snapshot's last 4 weeks).")] = None,
    capacity: Annotated[float | None, typer.Option(
        "--capacity", help="Treatments a week (default: equal to referrals).")] = None,
    flows: Annotated[Path | None, typer.Option(
        "--flows", help="CSV of treatment_function_code, referrals_per_week, "
                        "capacity_per_week (instead of --referrals/--capacity).")] = None,
    removal_rate: Annotated[float, typer.Option(
        "--removal-rate", help="Chance a week of removal for other reasons.")] = 0.007,
    charts: Annotated[Path, typer.Option("--charts", help="Folder for the charts.")] = Path(
        "access-charts"),
    day: SnapshotDate = None,
    imd: ImdFile = None,
    as_json: AsJson = False,
) -> None:
    """Compare policies on a simulated waiting list (same random numbers for each)."""
    from voices.access.charts import simulation_charts, write_chart
    from voices.access.policy import read_policy
    from voices.access.simulation import MEASURE_LABELS, WaitingListSimulator, read_flows

    chosen = [read_policy(p) for p in list(policies) + list(more or [])]
    if flows is not None and (referrals is not None or capacity is not None):
        raise ValidationError("give --flows or --referrals/--capacity, not both",
                              column="--flows")
    with err.status(f"Reading {escape(snapshot.name)}"):
        snap = _snapshot(snapshot, day, imd)
    if flows is not None:
        referrals, capacity = (rates or None for rates in read_flows(
            flows, specialties=snap.frame["treatment_function_code"].unique().to_list()))
    simulator = WaitingListSimulator(weeks=weeks, replications=replications, seed=seed,
                                     step=step, referrals_per_week=referrals,
                                     capacity_per_week=capacity,
                                     removal_rate=removal_rate).fit(snap)
    total = replications * len(chosen) * simulator.steps
    with Progress(TextColumn("Simulating"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("simulate", total=total)
        result = simulator.run(chosen, progress=lambda n: bar.advance(task, n))
    written = []
    for chart in simulation_charts(result):
        written.extend(write_chart(chart, charts))
    if as_json:
        _json(result.to_dict())
        err.print(f"Charts written to {escape(str(charts))}/")
        return
    comparison = result.comparison()
    settings = result.settings
    table = Table(title=f"{weeks} weeks, {replications} replications, "
                        f"{settings['pathways_at_start']:,} pathways at the start, "
                        f"{settings['referrals_per_week']:,.0f} referrals and "
                        f"{settings['capacity_per_week']:,.0f} treatments a week",
                  caption="Mean across replications [95% interval]; change from the first "
                          "policy with its paired interval.")
    table.add_column("Measure")
    for name in result.policies:
        table.add_column(escape(name), overflow="fold")
    for measure, label in MEASURE_LABELS.items():
        cells = []
        for name in result.policies:
            row = comparison.filter((pl.col("policy") == name)
                                    & (pl.col("measure") == measure))
            if row.height == 0:
                cells.append("–")
                continue
            r = row.row(0, named=True)
            text = f"{_num(r['mean'])} [{_num(r['lower'])}, {_num(r['upper'])}]"
            if name != result.policies[0]:
                text += (f"\nchange {_num(r['change'])} [{_num(r['change_lower'])}, "
                         f"{_num(r['change_upper'])}]")
            cells.append(text)
        table.add_row(label, *cells)
    out.print(table)
    out.print("Charts (SVG, with text descriptions and data) written to "
              f"{escape(str(charts))}/")


@app.command()
@_fails_cleanly
def waits(
    snapshot: Annotated[Path, typer.Argument(help="Waiting-list snapshot.")],
    day: SnapshotDate = None,
    imd: ImdFile = None,
    long_wait: Annotated[int, typer.Option(
        "--long-wait", help="Long wait to test groups on: 18, 52, 65 or 78 weeks.")] = 52,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the full table.")] = None,
    as_json: AsJson = False,
) -> None:
    """Who waits longest: waits by deprivation, ethnicity, age, sex and disability."""
    from voices.access.waits import wait_equity

    with err.status(f"Reading {escape(snapshot.name)}") as status:
        snap = _snapshot(snapshot, day, imd)
        status.update(f"Working out waits for {snap.size:,} pathways")
        result = wait_equity(snap, long_wait_weeks=long_wait)
    if out_file is not None:
        _write_table(result.table, out_file)
    if as_json:
        _json(result.to_dict())
        return
    table = Table(title=f"Waits on {snap.snapshot_date} ({snap.size:,} pathways); exact counts, "
                        "not for publication without disclosure control")
    for column in ("Group", "Pathways", "Median weeks", "92nd percentile",
                   f"Over {long_wait} weeks", ""):
        table.add_column(column)
    shown = ("list", "imd_quintile", "ethnic_group", "age_band", "sex", "learning_disability")
    for row in result.table.filter(pl.col("dimension").is_in(shown)).iter_rows(named=True):
        table.add_row(
            f"{row['dimension'].replace('_', ' ')}: {row['group']}", f"{row['pathways']:,}",
            f"{_num(row['median_weeks'])} [{_num(row['median_weeks_lower'])}, "
            f"{_num(row['median_weeks_upper'])}]",
            _num(row["p92_weeks"]),
            f"{_num(row[f'pct_over_{long_wait}'])}% [{_num(row[f'pct_over_{long_wait}_lower'])}, "
            f"{_num(row[f'pct_over_{long_wait}_upper'])}]",
            "higher than the rest" if row["flagged"] else "")
    out.print(table)
    for name, label in (("pct_over_52", "over 52 weeks (points)"),
                        ("mean_weeks", "mean wait (weeks)")):
        sii = result.sii.get(name)
        if sii is not None:
            out.print(f"Slope index of inequality across deprivation deciles, {label}: "
                      f"{_num(sii.sii, 2)} [{_num(sii.sii_lower, 2)}, {_num(sii.sii_upper, 2)}] "
                      "(negative: the most deprived wait longer)")
    _unknowns(snap)


@app.command()
@_fails_cleanly
def rtt(
    extract: Annotated[Path, typer.Argument(help="NHS England RTT full CSV extract.")],
    part: Annotated[str, typer.Option("--part", help="RTT part (Part_2: waiting list).")] = "Part_2",
    level: Annotated[str, typer.Option("--level", help="total (C_999 rows) or specialty.")] = "total",
    as_json: AsJson = False,
) -> None:
    """Summarise an RTT full CSV extract without double counting."""
    from voices.access.rtt import read_rtt_extract, waiting_list_summary

    summary = waiting_list_summary(read_rtt_extract(extract), part=part, level=level)
    if as_json:
        _json(summary.to_dicts())
        return
    table = Table(title=escape(f"{extract.name}: {part}, {level}"))
    columns = [c for c in ("provider_code", "treatment_function_code") if c in summary.columns]
    for column in columns + ["Pathways", "Within 18 weeks", "Over 52 weeks", "Median",
                             "92nd percentile"]:
        table.add_column(column)
    for row in summary.iter_rows(named=True):
        table.add_row(*[escape(row[c] or "") for c in columns], f"{row['pathways']:,}",
                      f"{_num(row['pct_within_18'])}%", f"{row['over_52']:,}",
                      _num(row["median_weeks"]), _num(row["p92_weeks"]))
    out.print(table)


@app.command()
@_fails_cleanly
def targets(
    demand: Annotated[float, typer.Option("--demand", help="Referrals a week.")],
    target: Annotated[str, typer.Option(
        "--target", help="Target, e.g. '92% within 18 weeks' or '52'.")],
    factor: Annotated[float | None, typer.Option(
        "--factor", help="Mean wait = target / factor (default 4; not with a % target).")] = None,
    queue_size: Annotated[float | None, typer.Option(
        "--queue-size", help="Pathways waiting now.")] = None,
    capacity: Annotated[float | None, typer.Option(
        "--capacity", help="Treatments a week now.")] = None,
    cv_demand: Annotated[float, typer.Option("--cv-demand")] = 1.0,
    cv_capacity: Annotated[float, typer.Option("--cv-capacity")] = 1.0,
    time_to_target: Annotated[float, typer.Option(
        "--time-to-target", help="Weeks to reach the target size.")] = 26,
    as_json: AsJson = False,
) -> None:
    """Queueing targets for a waiting list (NHSRwaitinglist's formulas, in weeks)."""
    from voices.access import queueing as q

    goal = q.parse_wait_target(target, name="--target")
    result = {"target": str(goal),
              "target_mean_wait_weeks": q.target_mean_wait(goal, factor),
              "target_queue_size": q.target_queue_size(demand, goal, factor),
              "target_capacity_per_week": q.target_capacity(demand, goal, factor, cv_demand,
                                                            cv_capacity)}
    if capacity is not None:
        result["load"] = q.queue_load(demand, capacity)
    if queue_size is not None:
        result["relief_capacity_per_week"] = q.relief_capacity(
            demand, queue_size, result["target_queue_size"], time_to_target)
    if as_json:
        _json(result)
        return
    table = Table(title=f"Demand {demand:,g} a week, target {goal}")
    table.add_column("Measure")
    table.add_column("Value")
    for key, value in result.items():
        if key != "target":
            table.add_row(key.replace("_", " "), _num(value, 2))
    out.print(table)


# --------------------------------------------------------------- stored lists (database)


def _database():
    from voices.db import get_database
    from voices.settings import get_settings

    return get_database(get_settings().database_url)


@app.command("import")
@_fails_cleanly
def import_snapshot(
        snapshot: Annotated[Path, typer.Argument(help="Waiting-list snapshot (.csv, .xlsx, "
                                                      ".parquet).")],
        org: Annotated[str, typer.Option("--org", help="ODS code of the organisation.")],
        day: Annotated[str, typer.Option("--date", help="Date the list was taken "
                                                        "(YYYY-MM-DD).")],
        imd: ImdFile = None, as_json: AsJson = False) -> None:
    """Store a waiting list in the database (the same date again replaces it)."""
    from voices.access import service
    from voices.settings import get_settings

    imd_path = imd or get_settings().imd_path
    checked_day = _checked_day(day)
    with _database().session() as session:
        organisation = service.organisation_by_code(session, org, column="--org")
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("Importing", total=1.0)
            result = service.import_snapshot(
                session, snapshot, organisation=organisation, snapshot_date=checked_day,
                imd_path=imd_path,
                progress=lambda f, m: bar.update(task, completed=f, description=m))
        record = result.snapshot
        summary = {**result.summary, "snapshot_id": record.id,
                   "organisation": organisation.ods_code, "replaced": result.replaced}
    if as_json:
        _json(summary)
        return
    out.print(f"Imported {record.pathways:,} pathways for {escape(organisation.name)} on "
              f"{record.snapshot_date}" + (" (replacing the earlier import of that date)"
                                           if result.replaced else "") + ".", highlight=False)
    missing = {k: v for k, v in (record.unknowns or {}).items() if v}
    if missing:
        out.print("Not known (never guessed): " + ", ".join(
            f"{k.replace('_', ' ')} {v:,}" for k, v in missing.items()), highlight=False)
    for note in record.notes or []:
        out.print(f"Note: {escape(note)}", highlight=False)


def _checked_day(text: str) -> date:
    from voices.access.snapshot import check_snapshot_date

    try:
        return check_snapshot_date(text)
    except ValidationError as error:
        first = error.problems[0]
        raise ValidationError(first.message, column="--date", expected=first.expected) \
            from None


@app.command("import-rtt")
@_fails_cleanly
def import_rtt(extract: Annotated[Path, typer.Argument(help="NHS England RTT full CSV "
                                                            "extract.")],
               as_json: AsJson = False) -> None:
    """Store NHS England's RTT figures for comparing providers (C_999 never double counted)."""
    from voices.access import service

    with _database().session() as session:
        with err.status("Reading the extract"):
            result = service.import_rtt(session, extract)
        summary = {"import_id": result.record.id, "periods": result.periods,
                   "providers": result.providers, "figures": result.figures,
                   "replaced": result.replaced}
    if as_json:
        _json(summary)
        return
    out.print(f"Imported {result.figures:,} figures for {result.providers:,} provider(s) in "
              f"{', '.join(result.periods)}" + (f", replacing {result.replaced:,} imported "
                                                "before" if result.replaced else "") + ".",
              highlight=False)
