"""`voices codesign`: conversations, opinion maps and ideas carried to proposals."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voices.codesign.opinion import OpinionMap, update_schedule
from voices.codesign.polis_formats import read_polis_export
from voices.codesign.summary import map_summary
from voices.errors import VoicesError

app = typer.Typer(help="Co-design conversations, opinion maps and proposals.", no_args_is_help=True)


def _fail(error: VoicesError) -> None:
    Console(stderr=True).print(f"[red]Error:[/red] {error.message}", soft_wrap=True,
                               highlight=False, markup=True)
    raise typer.Exit(2)


@app.command("map")
def map_command(
    polis_export: Annotated[Path, typer.Option("--polis-export", help=(
        "Folder with a Pol.is open-data export: comments.csv (optional) and votes.csv "
        "or participants-votes.csv."))],
    json_output: Annotated[bool, typer.Option("--json", help="Print the map as JSON.")] = False,
    replay: Annotated[bool, typer.Option("--replay/--no-replay", help=(
        "Replay votes.csv in time order, updating the map as Pol.is did (default), or "
        "make the map once from the final votes."))] = True,
    seed: Annotated[int, typer.Option("--seed", help=(
        "Start of the eigen solver (does not change the groups beyond rounding)."))] = 0,
) -> None:
    """Find the opinion groups, the common ground and what sets each group apart."""
    started = time.perf_counter()
    try:
        export = read_polis_export(polis_export)
        engine = OpinionMap(seed=seed)
        moderated_out = export.moderated_out
        if replay and export.votes is not None:
            events = export.votes
            timestamps = events["timestamp"].to_numpy()
            schedule = update_schedule(timestamps)
            with Progress(TextColumn("Replaying votes"), BarColumn(), TextColumn(
                    "{task.completed}/{task.total} updates"), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True) as progress:
                task = progress.add_task("replay", total=len(schedule))
                result = engine.replay(
                    events["voter-id"].to_numpy(), events["comment-id"].to_numpy(),
                    events["vote"].to_numpy(), timestamps, moderated_out=moderated_out,
                    schedule=schedule,
                    progress=lambda done, total: progress.update(task, completed=done))
        else:
            result = engine.fit(export.vote_matrix(), moderated_out=moderated_out)
        summary = map_summary(result, moderated_out=moderated_out,
                              seconds=time.perf_counter() - started)
    except VoicesError as error:
        _fail(error)
        return
    if json_output:
        typer.echo(json.dumps(summary))
        return
    _print_summary(summary, export)


def _print_summary(summary: dict, export) -> None:
    console = Console()
    texts = {}
    if export.comments is not None:
        texts = dict(zip(export.comments["comment-id"].to_list(),
                         export.comments["comment-body"].to_list()))
    sizes: dict[int, int] = {}
    for group in summary["membership"].values():
        sizes[group] = sizes.get(group, 0) + 1
    console.print(f"{summary['participants']} people voted; {summary['in_conversation']} "
                  f"voted enough to be placed, in {summary['groups']} opinion groups "
                  f"({summary['seconds']:.1f} s).")
    table = Table(title="Opinion groups")
    table.add_column("Group", justify="right")
    table.add_column("People", justify="right")
    table.add_column("What sets this group apart (statement ids)")
    for group, statements in summary["repness"].items():
        table.add_row(group, str(sizes.get(int(group), 0)),
                      ", ".join(str(s) for s in statements))
    console.print(table)
    common = Table(title="Common ground across all groups (best first)")
    common.add_column("Statement", justify="right")
    common.add_column("Text")
    for statement in summary["consensus"][:5]:
        common.add_row(str(statement), str(texts.get(statement, "")))
    console.print(common)


# ------------------------------------------------ conversations in the database


def _working(what: str) -> Progress:
    """A running bar on stderr for work that takes more than a moment (no known end); only
    on a terminal, so errors stay one line where a program reads them."""
    console = Console(stderr=True)
    progress = Progress(TextColumn(what), BarColumn(), TimeElapsedColumn(), console=console,
                        transient=True, disable=not console.is_terminal)
    progress.add_task(what, total=None)
    return progress


def _database():
    from voices.db import get_database
    from voices.settings import get_settings

    return get_database(get_settings().database_url)


def _conversation(session, slug: str):
    from voices.codesign import service

    return service.conversation_by_slug(session, slug)


@app.command("conversations")
def conversations_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the conversations, with how many people voted and when the map was updated."""
    from voices.codesign import service

    with _database().session() as session:
        rows = []
        for conversation in service.list_conversations(session, None):
            counts = service.counts(session, conversation)
            record = service.opinion_map(session, conversation)
            rows.append({"slug": conversation.slug, "question": conversation.question,
                         "status": "open" if conversation.is_open() else
                         "closed" if conversation.has_closed() else "not open yet",
                         "voters": counts.voters, "votes": counts.votes,
                         "statements": counts.statements, "pending": counts.pending,
                         "map_updated": record.updated_at.isoformat() if record else None})
    if json_output:
        typer.echo(json.dumps(rows))
        return
    table = Table(title="Co-design conversations")
    for column in ("Link", "Question", "Status", "Voters", "Votes", "Map updated"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["slug"], row["question"], row["status"], str(row["voters"]),
                      str(row["votes"]), (row["map_updated"] or "not yet")[:16])
    Console().print(table)


@app.command("import")
def import_command(
    folder: Annotated[Path, typer.Argument(help="Folder with a Pol.is open-data export.")],
    organisation: Annotated[str, typer.Option("--organisation", help=(
        "ODS code of the organisation the conversation belongs to."))],
    question: Annotated[str, typer.Option("--question", help="What the conversation asked.")
                        ] = "Imported Pol.is conversation",
    slug: Annotated[str | None, typer.Option("--slug", help=(
        "Short link (default: polis-<folder name>)."))] = None,
) -> None:
    """Import a Pol.is export (comments.csv, votes.csv, participants-votes.csv) as a
    closed conversation, with its opinion map. A bad file imports nothing."""
    from voices.codesign import service, transfer
    from voices.core import service as core

    with _working("Importing"), _database().session() as session:
        org = core.get_organisation(session, organisation)
        conversation = transfer.import_polis(session, folder, organisation_id=org.id,
                                             question=question, slug=slug)
        counts = service.counts(session, conversation)
        slug_done = conversation.slug
    typer.echo(f"Imported '{slug_done}': {counts.voters} people, {counts.statements} "
               f"statements shown, {counts.votes} votes.")


@app.command("export")
def export_command(
    slug: Annotated[str, typer.Argument(help="The conversation's short link.")],
    folder: Annotated[Path, typer.Argument(help="Folder to write the three files to.")],
) -> None:
    """Export a conversation as Pol.is open data: comments.csv, votes.csv and
    participants-votes.csv (participants by number, never by name)."""
    from voices.codesign import transfer

    with _working("Exporting"), _database().session() as session:
        paths = transfer.export_polis(session, _conversation(session, slug), folder)
    typer.echo("Wrote " + ", ".join(str(p) for p in paths))


@app.command("update")
def update_command(
    slug: Annotated[str, typer.Argument(help="The conversation's short link.")],
) -> None:
    """Update a conversation's opinion map now (the web app does this as votes arrive)."""
    from voices.codesign import service

    with Progress(TextColumn("Updating the opinion map"), BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("map", total=1.0)
        with _database().session() as session:
            conversation = _conversation(session, slug)
            record = service.update_map(
                session, conversation.id,
                progress=lambda fraction, message="": progress.update(task, completed=fraction))
    if record is None:
        typer.echo("Nobody has voted yet: there is no map to make.")
        return
    typer.echo(f"{record.participants} people voted; {record.placed} placed in "
               f"{record.group_count} opinion groups ({record.seconds:.2f} s).")


@app.command("report")
def report_command(
    slug: Annotated[str, typer.Argument(help="The conversation's short link.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
) -> None:
    """Write the published results report (counts rounded, small ones hidden)."""
    from voices.codesign import report

    if out.is_dir():
        raise VoicesError(f"{out} is a folder: give a file name such as results.{fmt}")
    with _working("Writing the report"), _database().session() as session:
        content = report.results_report(session, _conversation(session, slug), fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    typer.echo(f"Wrote {out} ({len(content):,} bytes)")
