"""The `voices` command: one root Typer app with every area mounted as a sub-command.

Errors a user can cause (a bad file, a duplicate email) are printed as one located line and
exit with status 2, never as a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError, OperationalError
from typer.core import TyperGroup

from voices import __version__
from voices.access.cli import app as access_app
from voices.codesign.cli import app as codesign_app
from voices.errors import VoicesError
from voices.involve.cli import app as involve_app
from voices.listen.cli import app as listen_app
from voices.measure.cli import app as measure_app

err = Console(stderr=True)
out = Console()


class VoicesGroup(TyperGroup):
    """The root command group: turns Voices' own errors into a one-line message, exit 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except VoicesError as exc:
            typer.echo(f"Error: {exc.message}", err=True)  # one line, never wrapped
            problems = getattr(exc, "problems", [])
            for problem in problems[1:20]:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(2) from None
        except DBAPIError as exc:
            typer.echo(f"Error: {database_problem(exc)}", err=True)
            raise typer.Exit(2) from None


def database_problem(exc: DBAPIError) -> str:
    """A plain sentence for a database error a person can fix (no SQL, no parameters)."""
    text = str(exc.orig).lower()
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return ("the database has not been set up for this version of Voices: "
                "run 'voices db upgrade' first")
    if isinstance(exc, OperationalError):
        return ("cannot use the database: check VOICES_DATABASE_URL and that the database "
                "server is running (" + str(exc.orig).splitlines()[0][:200] + ")")
    return "the database refused the change (" + str(exc.orig).splitlines()[0][:200] + ")"


app = typer.Typer(cls=VoicesGroup, help="Voices: work with the people who use health and care "
                  "services.", no_args_is_help=True, pretty_exceptions_show_locals=False,
                  rich_markup_mode=None)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voices {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Show the version and exit.")) -> None:
    """Voices: listen, measure, access, involve and co-design."""


# ----------------------------------------------------------------------------- db

db_app = typer.Typer(help="Create and upgrade the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _settings():  # noqa: D103
    from voices.settings import get_settings

    return get_settings()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Apply every migration (creates the database if it is new)."""
    from voices.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    out.print(f"Database is up to date ({_safe_url(settings.database_url)}).")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Undo migrations down to REVISION."""
    from voices.migrate import downgrade

    downgrade(_settings().database_url, revision)
    out.print(f"Database downgraded to {revision}.")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -------------------------------------------------------------------------- users

users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create(
    email: str = typer.Argument(..., help="The account's email address."),
    role: str = typer.Option(..., "--role", help="admin, analyst, involvement_lead or partner."),
    name: str = typer.Option("", "--name", help="The person's name."),
    organisation: str | None = typer.Option(None, "--organisation",
                                            help="ODS code of their organisation."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 help="At least 12 characters; prompted for if not given."),
) -> None:
    """Create an account (prompts for the password)."""
    from voices.core import service as core
    from voices.db import get_database

    db = get_database(_settings().database_url)
    with db.session() as session:
        org_id = core.get_organisation(session, organisation).id if organisation else None
        account = core.create_account(session, email=email, password=password, role=role,
                                      name=name, organisation_id=org_id)
        out.print(f"Created {account.role.value} account {account.email}.")


# ------------------------------------------------------------------ serve, demo

@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8000, help="Port to listen on."),
          workers: int = typer.Option(1, help="Worker processes."),
          reload: bool = typer.Option(False, help="Restart when code changes (development).")
          ) -> None:
    """Serve the web app."""
    import uvicorn

    from voices.web import assets

    if not assets.ready():
        assets.build()
    out.print(f"Voices is running at http://{host}:{port}  (press Ctrl+C to stop)")
    uvicorn.run("voices.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, reload=reload, log_level="info", proxy_headers=False)


@app.command()
def demo(seed: int = typer.Option(2026, help="Seed for the synthetic data."),
         area: list[str] | None = typer.Option(None, "--area",
                                               help="Only these areas (repeatable)."),
         core_only: bool = typer.Option(False, "--core-only",
                                        help="Only organisations, services and accounts.")
         ) -> None:
    """Load the synthetic demo data for every area (running it twice adds nothing)."""
    from voices.db import get_database
    from voices.demo import DEMO_PASSWORD, load
    from voices.demo.core import AREAS

    unknown = sorted(set(area or []) - set(AREAS))
    if unknown:
        raise VoicesError(f"Unknown area {', '.join(unknown)}: choose from {', '.join(AREAS)}")
    chosen = () if core_only else (tuple(area) if area else AREAS)
    db = get_database(_settings().database_url)
    started = time.perf_counter()
    with db.sessionmaker() as session, out.status("Loading demo data…") as status:
        def progress(message: str) -> None:
            status.update(f"Loading demo data: {message}")
            err.print(f"  {message}", highlight=False)

        load(session, seed=seed, areas=chosen, progress=progress)
    out.print(f"Demo data ready in {time.perf_counter() - started:.1f} s.")
    out.print(f"Sign in as admin@voices.example (or analyst@, lead@, partner@) with the "
              f"password: {DEMO_PASSWORD}")


@app.command("backup")
def backup_command(target: Path = typer.Argument(..., help="The backup file to write.")) -> None:
    """Back up the database (SQLite online backup, or pg_dump for PostgreSQL)."""
    from voices.backup import backup, fingerprint

    url = _settings().database_url
    written = backup(url, target)
    rows = sum(count for count, _ in fingerprint(url).values())
    out.print(f"Backed up {rows:,} rows to {written} ({written.stat().st_size:,} bytes).")


@app.command("restore")
def restore_command(source: Path = typer.Argument(..., help="A file made by voices backup."),
                    yes: bool = typer.Option(False, "--yes", help="Do not ask to confirm.")
                    ) -> None:
    """Restore the database from a backup, replacing what is there."""
    from voices.backup import fingerprint, restore

    url = _settings().database_url
    if not yes:
        typer.confirm(f"Replace everything in {_safe_url(url)} with {source}?", abort=True)
    restore(url, source)
    rows = sum(count for count, _ in fingerprint(url).values())
    out.print(f"Restored {rows:,} rows from {source}.")


@app.command()
def worker(poll: float = typer.Option(1.0, help="Seconds between looks at the queue.")) -> None:
    """Run background jobs (classification, simulation, panels, opinion maps) until stopped."""
    from voices.db import get_database
    from voices.jobs import Worker

    runner = Worker(get_database(_settings().database_url), poll_seconds=poll)
    out.print("Running background jobs (press Ctrl+C to stop).")
    runner.start()
    try:
        while runner.is_alive():
            runner.join(1.0)
    except KeyboardInterrupt:
        runner.stop()


@app.command()
def assets() -> None:
    """Copy the NHS design system and htmx from node_modules into the app (no CDN)."""
    from voices.web import assets as web_assets

    written = web_assets.build()
    out.print(f"Copied {len(written)} front-end files into {web_assets.VENDOR}.")


# ------------------------------------------------------------------------- equity

equity_app = typer.Typer(help="Equity lookups (IMD).", no_args_is_help=True)
app.add_typer(equity_app, name="equity")


@equity_app.command("fetch-imd")
def fetch_imd(year: int = typer.Option(2025, help="2019 (LSOA 2011) or 2025 (LSOA 2021)."),
              folder: Path | None = typer.Option(None, help="Where to save it (data folder)."),
              url: str | None = typer.Option(None, help="The File 7 CSV address, if known.")
              ) -> None:
    """Download MHCLG's IoD "File 7" CSV from GOV.UK into the data folder."""
    import httpx

    from voices.equity.imd import PUBLICATION_PAGES, ImdLookup, find_file7_url

    if year not in PUBLICATION_PAGES:
        raise VoicesError(f"No English Indices of Deprivation for {year}: use 2019 or 2025")
    folder = folder or _settings().data_dir / "imd"
    folder.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=120, follow_redirects=True) as client:
        if url is None:
            page = client.get(f"https://www.gov.uk/api/content/{PUBLICATION_PAGES[year]}")
            page.raise_for_status()
            url = find_file7_url(page.text)
        target = folder / f"imd{year}_file7.csv"
        partial = target.with_suffix(".part")
        with client.stream("GET", url) as response, partial.open("wb") as fh:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                fh.write(chunk)
    lookup = ImdLookup.from_csv(partial)
    partial.replace(target)
    out.print(f"Saved {len(lookup):,} LSOAs (IoD {lookup.year}) to {target}. "
              f"Set VOICES_IMD_PATH={target} to use it.")


app.add_typer(listen_app, name="listen")
app.add_typer(measure_app, name="measure")
app.add_typer(access_app, name="access")
app.add_typer(involve_app, name="involve")
app.add_typer(codesign_app, name="codesign")
