"""`voices measure`: experience and inequality measures, funnel plots, scorecards, reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from voices.errors import ValidationError

app = typer.Typer(help="Experience and inequality measures, funnel plots, scorecards and reports.",
                  no_args_is_help=True)

out = Console()
err = Console(stderr=True)


def _references(pairs: list[str]) -> dict[str, str]:
    refs = {}
    for pair in pairs:
        dim, sep, code = pair.partition("=")
        if not sep or not dim.strip() or not code.strip():
            raise ValidationError(f"--reference '{pair}' is not dimension=code",
                                  column="--reference", expected="for example imd_decile=10")
        refs[dim.strip()] = code.strip()
    return refs


def _formats(value: str) -> tuple[str, ...]:
    choice = value.strip().lower()
    if choice == "both":
        return ("csv", "parquet")
    if choice in ("csv", "parquet"):
        return (choice,)
    raise ValidationError(f"--format '{value}' is not known", column="--format",
                          expected="csv, parquet or both")


@app.command("compute")
def compute(
    file: Annotated[Path, typer.Argument(
        help="Responses file (.csv or .parquet); see docs/measure.md for the columns.")],
    out_dir: Annotated[Path, typer.Option(
        "--out", "-o", help="Folder to write the measures into (created; an earlier "
                            "measure set there is replaced).")],
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or both.")] = "csv",
    scorecard: Annotated[Path | None, typer.Option(
        "--scorecard", help="A scorecard YAML file; adds scorecard_service and "
                            "scorecard_organisation.")] = None,
    activity: Annotated[Path | None, typer.Option(
        "--activity", help="Activity KPIs for the scorecard (.csv or .parquet: service, "
                           "period, measure, value).")] = None,
    simulations: Annotated[int, typer.Option(
        help="Simulated draws for the SII/RII intervals.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed for the SII/RII intervals.")] = 0,
    reference: Annotated[list[str] | None, typer.Option(
        "--reference", help="Reference group for an equity dimension, e.g. "
                            "--reference ethnic_group=white (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print a JSON summary instead of a table.")] = False,
) -> None:
    """Compute every measure on a file of FFT responses, without a database."""
    from voices.measure.compute import MeasureOptions, compute_measures, write_measures
    from voices.measure.responses import read_responses
    from voices.measure.scorecard import add_scorecard_tables, load_scorecard, read_activity

    formats = _formats(fmt)
    options = MeasureOptions(simulations=simulations, seed=seed,
                             references=_references(reference or []))
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"Reading and checking {file.name}", total=None)
        card = load_scorecard(scorecard) if scorecard else None
        kpis = read_activity(activity) if activity else None
        responses = read_responses(file)
        progress.update(task, description=f"Computing measures on {responses.frame.height:,} rows")
        measures = compute_measures(responses, options)
        if card is not None:
            progress.update(task, description="Scoring the scorecard")
            measures = add_scorecard_tables(measures, card, kpis)
        progress.update(task, description=f"Writing to {out_dir}")
        written = write_measures(measures, out_dir, formats)
    if as_json:
        out.print_json(json.dumps({"file": str(file), "out": str(out_dir),
                                   "rows": measures.rows, "responses": measures.responses,
                                   "tables": {k: v.height for k, v in measures.tables.items()},
                                   "files": [str(p) for p in written]}))
        return
    table = Table(title=f"Measures from {file.name} ({measures.responses:,} responses)")
    table.add_column("Table")
    table.add_column("Rows", justify="right")
    for name, frame in measures.tables.items():
        table.add_row(name, f"{frame.height:,}")
    out.print(table)
    out.print(f"Written to {out_dir} ({len(written)} files).")


def _database():
    from voices.db import get_database
    from voices.settings import get_settings

    return get_database(get_settings().database_url)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(
        help="Response counts or activity figures (.csv, .xlsx or .parquet); see "
             "docs/measure.md for the columns.")],
    kind: Annotated[str | None, typer.Option(
        "--kind", help="responses or activity (default: worked out from the columns).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Import FFT returns, survey aggregates or activity figures into the database.

    All or nothing: any problem is reported with the file, row and column and nothing is
    stored. Importing the same file again replaces what it covers, never adds to it.
    """
    from voices.measure.service import import_file

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, transient=True, disable=as_json) as progress:
        progress.add_task(f"Checking and importing {file.name}", total=None)
        with _database().session() as session:
            result = import_file(session, file, kind=kind)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    periods = result.periods
    span = periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}"
    out.print(f"Imported {result.rows:,} rows of {result.kind} from {file.name}: "
              f"{result.services} services, {span}"
              + (f"; replaced {result.replaced} earlier figures." if result.replaced else "."))


@app.command("report")
def report_command(
    org: Annotated[str, typer.Option("--org", help="The organisation's ODS code, e.g. RZ1.")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    period: Annotated[str | None, typer.Option(
        "--period", help="The month, YYYY-MM (default: the latest with figures).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
) -> None:
    """Write a board report: experience and inequality first, then measures of success and
    activity. Every figure in it is disclosure-controlled."""
    from voices.measure.report import write_report

    fmt = fmt.strip().lower()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        progress.add_task(f"Writing the {fmt.upper()} report for {org}", total=None)
        with _database().session() as session:
            written = write_report(session, org, period, fmt, out_file)
    out.print(f"Report written to {written}.")
