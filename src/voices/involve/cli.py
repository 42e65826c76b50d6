"""`voices involve`: lived-experience partners, opportunities and fair panels."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voices.errors import VoicesError

app = typer.Typer(help="Lived-experience partners, opportunities and panels chosen by fair lottery.",
                  no_args_is_help=True)
panel_app = typer.Typer(help="Choose a panel by fair lottery and run a public, checkable draw.",
                        no_args_is_help=True)
app.add_typer(panel_app, name="panel")

err = Console(stderr=True)


def _fail(error: VoicesError) -> None:
    """One located line on stderr and exit code 2 (never a traceback)."""
    err.print(f"[red]Error:[/red] {error.message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def _progress(label: str, quiet: bool):
    """A Rich progress bar on stderr; yields a ``progress(done, total)`` callback."""
    if quiet:
        yield None
        return
    bar = Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeElapsedColumn(), console=err, transient=True)
    task = bar.add_task(label, total=1)
    with bar:
        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, 1))
        yield update


def _run(action: Callable[[], None]) -> None:
    try:
        action()
    except VoicesError as error:
        _fail(error)


@panel_app.command("select")
def select(
    people: Path = typer.Option(..., "--people", help="People CSV: an id column and one column per feature."),
    features: Path = typer.Option(..., "--features", help="Quotas CSV: feature,value,min,max."),
    k: int = typer.Option(..., "--k", help="Panel size."),
    algorithm: str = typer.Option("leximin", "--algorithm", help="leximin or legacy."),
    id_column: str = typer.Option("id", "--id-column", help="Column holding each person's id."),
    cap: str = typer.Option(None, "--cap", help="LEXIMIN: cap the greatest chance (a number or 'auto')."),
    runs: int = typer.Option(10_000, "--runs", help="LEGACY: runs used to estimate chances."),
    rng_seed: int = typer.Option(0, "--rng-seed", help="Seed for LEGACY runs and for dealing tickets."),
    draw: bool = typer.Option(False, "--draw", help="Round to tickets and draw one panel."),
    seed: str = typer.Option(None, "--seed", help="The public random value for the draw."),
    tickets: int = typer.Option(1000, "--tickets", help="Number of equally likely tickets."),
    tickets_out: Path = typer.Option(None, "--tickets-out", help="Write the ticket list to publish."),
    probabilities_out: Path = typer.Option(None, "--probabilities-out", help="Write id,probability."),
    selected_out: Path = typer.Option(None, "--selected-out", help="Write the drawn panel (all columns)."),
    panels_out: Path = typer.Option(None, "--panels-out", help="Write the lottery over panels (JSON)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Work out everyone's chance of selection; optionally run the public draw."""
    from voices.errors import ValidationError
    from voices.involve.sortition import select_panel
    from voices.involve.sortition_csv import (
        read_pool,
        read_quotas,
        write_pool,
        write_probabilities,
        write_text,
    )

    def action() -> None:
        if draw and not seed:
            raise ValidationError("--draw needs --seed", column="seed",
                                  expected="the public random value announced before the draw")
        cap_value: float | str | None = None
        if cap is not None:
            try:
                cap_value = "auto" if cap == "auto" else float(cap)
            except ValueError:
                raise ValidationError(f"'{cap}' is not a cap", column="cap",
                                      expected="a number between 0 and 1, or 'auto'") from None
        quotas = read_quotas(features)
        pool = read_pool(people, quotas, id_column=id_column)
        with _progress(f"{algorithm.upper()} ", as_json) as progress:
            selection = select_panel(pool, quotas, k, algorithm, cap=cap_value, runs=runs,
                                     seed=rng_seed, progress=progress)
        summary = selection.summary()
        result = {**summary, "probabilities": dict(zip(pool.ids, map(float, selection.probabilities),
                                                       strict=True))}
        if algorithm == "leximin":
            result["maximin"] = selection.details["maximin"]
            result["cap"] = selection.details["cap"]
        if probabilities_out:
            write_probabilities(probabilities_out, pool.ids, selection.probabilities)
        if panels_out:
            write_text(panels_out, json.dumps(selection.panel_records(), indent=1) + "\n")
        if draw:
            lottery = selection.lottery(tickets, rng_seed)
            number, panel = lottery.draw(seed)
            if tickets_out:
                write_text(tickets_out, lottery.text())
            if selected_out:
                index = {person: i for i, person in enumerate(pool.ids)}
                write_pool(selected_out, pool, sorted(index[p] for p in panel))
            result["panel"] = list(panel)
            result["draw"] = {"tickets": lottery.m, "sha256": lottery.digest, "seed": seed,
                              "ticket": number, "max_change": lottery.max_change}
        if as_json:
            typer.echo(json.dumps(result))
            return
        table = Table(title=f"{algorithm.upper()} panel of {k} from {pool.n}")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key in ("seconds", "min_probability", "max_probability", "gini", "panels"):
            table.add_row(key.replace("_", " "), f"{summary[key]:.6g}")
        Console().print(table)
        if draw:
            info = result["draw"]
            Console().print(f"Ticket list SHA-256 {info['sha256']} ({info['tickets']} tickets); "
                            f"seed '{seed}' draws ticket {info['ticket']}:")
            Console().print(", ".join(result["panel"]), highlight=False)

    _run(action)


@panel_app.command("draw")
def redraw(
    tickets: Path = typer.Option(..., "--tickets", help="The published ticket list."),
    seed: str = typer.Option(..., "--seed", help="The public random value."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Repeat a published draw: check the ticket list's fingerprint and show the winner."""
    import hashlib

    from voices.errors import ValidationError
    from voices.involve.sortition_lottery import draw_ticket

    def action() -> None:
        try:
            data = tickets.read_bytes()
        except OSError:
            raise ValidationError("cannot read the ticket list", file=str(tickets)) from None
        lines = data.decode("utf-8").splitlines()
        if not lines:
            raise ValidationError("the ticket list is empty", file=str(tickets),
                                  expected="one line per ticket")
        digest = hashlib.sha256(data).hexdigest()
        number = draw_ticket(digest, seed, len(lines))
        panel = lines[number - 1].split(",")
        if as_json:
            typer.echo(json.dumps({"sha256": digest, "tickets": len(lines), "seed": seed,
                                   "ticket": number, "panel": panel}))
        else:
            Console().print(f"SHA-256 {digest} ({len(lines)} tickets); ticket {number}:")
            Console().print(", ".join(panel), highlight=False)

    _run(action)


# --- partner community (erasure, drafts, payment levels) -------------------------------


@app.command("erase")
def erase_command(
    email: str = typer.Argument(..., help="The partner's email address"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Erase a partner everywhere: their record, account, consents, interests and credits.
    Involvement log entries stay for project totals, without the partner."""
    from rich.console import Console

    from voices.db import get_database
    from voices.involve import service as involve
    from voices.settings import get_settings

    database = get_database(get_settings().database_url)
    with database.session() as session:
        partner = involve.find_partner_by_email(session, email)
        if not yes:
            typer.confirm(f"Erase partner {partner.reference} and everything that identifies "
                          "them? This cannot be undone", abort=True)
        result = involve.erase_partner(session, partner, actor=None)
    Console().print(f"Erased partner {result.partner_id}: {result.consents} consents, "
                    f"{result.interests} interests and {result.drafts} unfinished sign-ups "
                    f"deleted; {result.log_entries_kept} log entries kept without the partner.")


@app.command("purge-drafts")
def purge_drafts_command() -> None:
    """Delete unfinished sign-ups nobody has touched for a day (they hold personal data)."""
    from rich.console import Console

    from voices.db import get_database
    from voices.involve import service as involve
    from voices.settings import get_settings

    with get_database(get_settings().database_url).session() as session:
        count = involve.purge_drafts(session)
    Console().print(f"Deleted {count} unfinished sign-up{'s' if count != 1 else ''}.")


@app.command("payment-levels")
def payment_levels_command(
    json_output: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Show the involvement levels and what each pays (NHS England's PPV partner policy)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from voices.involve.payments import money, read_policy

    policy = read_policy()
    if json_output:
        typer.echo(json.dumps({"source": policy.source, "version": policy.version, "levels": [
            {"code": lv.code, "name": lv.name, "expenses": lv.expenses,
             "half_day_pence": lv.half_day_pence, "full_day_pence": lv.full_day_pence,
             "half_day_hours": lv.half_day_hours} for lv in policy.levels]}))
        return
    table = Table(title="Involvement levels", caption=policy.source)
    for column in ("Code", "Level", "Expenses", "Up to half a day", "Full day"):
        table.add_column(column)
    for lv in policy.levels:
        table.add_row(lv.code, lv.name, "yes" if lv.expenses else "no",
                      money(lv.half_day_pence), money(lv.full_day_pence))
    Console().print(table)
