"""`voices listen` commands that work on the database: import files through a supplier's
mapping, manage mappings, classify stored comments, export coders' decisions for training,
QR codes, and the patient-experience permission. (``train``, ``evaluate`` and classifying a
file are in :mod:`voices.listen.cli`.)"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voices.errors import ValidationError

err = Console(stderr=True)
mapping_app = typer.Typer(help="Suppliers' column mappings for imports.", no_args_is_help=True)
originals_app = typer.Typer(help="Who may read the original (unredacted) text of comments.",
                            no_args_is_help=True)


def _database():
    from voices.db import get_database
    from voices.settings import get_settings

    return get_database(get_settings().database_url)


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err)


def import_command(
    file: Path = typer.Argument(..., help="A CSV or XLSX file from a supplier."),
    mapping: str = typer.Option(..., "--mapping", help="The supplier's saved mapping."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Import an FFT export or survey file, all or nothing. Rows already imported from the
    same supplier are skipped, so importing a file twice adds nothing."""
    from voices.listen import service as listen
    from voices.settings import get_settings

    with _bar() as bar, _database().session() as session:
        task = bar.add_task("Importing", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = listen.import_file(session, file, mapping, settings=get_settings(),
                                    progress=step)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    err.print(f"{result.file}: {result.rows:,} rows, {result.added:,} added, "
              f"{result.skipped:,} already imported.")


def classify_stored(model: Path | None, *, batch_size: int, reclassify: bool,
                    engine: str = "local", ray_address: str | None = None,
                    workers: int | None = None) -> None:
    """Classify the comments stored in the database, in batches, with a progress bar
    (here, or with ``engine="ray"`` on a Ray cluster)."""
    from voices.listen import analysis

    with _bar() as bar:
        task = bar.add_task("Classifying" if engine == "local" else "Classifying on Ray",
                            total=None)
        result = analysis.classify_stored(
            _database(), model_path=model, batch_size=batch_size, reclassify=reclassify,
            engine=engine, ray_address=ray_address, workers=workers,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    where = "" if engine == "local" else " on Ray"
    err.print(f"{result['classified']:,} comments classified{where} with model "
              f"{result['model_version']} in {result['seconds']} s.")


def export_training(
    out: Path = typer.Option(..., "--out", help="A folder for comments.csv and corrections.csv."),
    framework: str = typer.Option("qdc", "--framework", help="qdc, or your own framework YAML."),
) -> None:
    """Write the comments coders have reviewed, and their corrections, for 'voices listen
    train --data OUT/comments.csv --corrections OUT/corrections.csv'."""
    from voices.listen import analysis
    from voices.listen.comments_file import write_rows
    from voices.listen.frameworks import coding_framework

    labels = coding_framework(framework).labels
    with _database().session() as session:
        header, comments, corrections = analysis.training_files(session, labels)
    out.mkdir(parents=True, exist_ok=True)
    write_rows(out / "comments.csv", header, comments)
    write_rows(out / "corrections.csv", ["comment_id", "label", "value"], corrections)
    err.print(f"{len(comments):,} reviewed comments and {len(corrections):,} corrections "
              f"written to {out}.")


def qr_command(
    service: str = typer.Argument(..., help="The service's short link, e.g. rz1-podiatry."),
    out: Path = typer.Option(..., "--out", help="A .svg or .png file to write."),
) -> None:
    """Write the QR code of a service's feedback link."""
    from voices.core import service as core
    from voices.listen.qr import qr_png, qr_svg
    from voices.settings import get_settings

    suffix = out.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise ValidationError("The QR code file must end .svg or .png", file=str(out))
    with _database().session() as session:
        svc = core.get_service_by_slug(session, service)
        url = f"{get_settings().base_url.rstrip('/')}/f/{svc.slug}"
        name = svc.name
    if suffix == ".svg":
        out.write_text(qr_svg(url, title=f"QR code for feedback about {name}"), encoding="utf-8")
    else:
        out.write_bytes(qr_png(url))
    err.print(f"QR code for {url} written to {out}.")


# --------------------------------------------------------------------------- mappings


@mapping_app.command("list")
def mapping_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the saved mappings."""
    from voices.listen import service as listen

    with _database().session() as session:
        rows = [{"name": m.name, "supplier": m.supplier, "columns": m.columns,
                 "service": m.service.slug if m.service else None}
                for m in listen.list_mappings(session)]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("name", "supplier", "columns", "service")
    for row in rows:
        table.add_row(row["name"], row["supplier"],
                      ", ".join(f"{k}={v}" for k, v in row["columns"].items()),
                      row["service"] or "(named on each row)")
    Console().print(table)


@mapping_app.command("save")
def mapping_save(
    name: str = typer.Argument(..., help="The mapping's name, e.g. survey-co."),
    supplier: str = typer.Option(None, "--supplier", help="Who sends the files."),
    column: list[str] = typer.Option([], "--column", help="FIELD=Their column name "
                                     "(repeat). Fields: response_id, date, service, rating, "
                                     "what_good, could_improve, comment, age, sex, "
                                     "ethnic_group, disability, carer, postcode."),
    rating_value: list[str] = typer.Option([], "--rating-value", help="Their word=FFT answer, "
                                           "e.g. 'Excellent=Very good' (repeat)."),
    date_format: str = typer.Option(None, "--date-format", help="strptime codes, e.g. %d.%m.%Y"),
    encoding: str = typer.Option(None, "--encoding", help="Their CSV encoding if not UTF-8."),
    service: str = typer.Option(None, "--service", help="The one service every row is about."),
    from_file: Path = typer.Option(None, "--from", help="A JSON or YAML file with the same "
                                   "keys: supplier, columns, rating_values, date_format, "
                                   "encoding, service."),
) -> None:
    """Create a mapping, or change one (options given replace what was saved)."""
    from voices.listen import importing
    from voices.listen import service as listen
    from voices.listen.models import ImportMapping

    spec = _read_spec(from_file) if from_file else {}
    with _database().session() as session:
        existing = session.query(ImportMapping).filter_by(name=name).one_or_none()
        base = listen.mapping_from_row(existing) if existing else None
        columns = dict(spec.get("columns") or (base.columns if base else {}))
        columns.update(importing.mapping_from_pairs(column))
        ratings = dict(spec.get("rating_values") or (base.rating_values if base else {}))
        ratings.update(importing.mapping_from_pairs(rating_value, what="--rating-value"))
        mapping = importing.ColumnMapping(
            name, supplier or spec.get("supplier") or (base.supplier if base else ""), columns,
            ratings, date_format or spec.get("date_format") or (base.date_format if base
                                                                 else None),
            encoding or spec.get("encoding") or (base.encoding if base else None),
            service or spec.get("service") or (base.service if base else None))
        row = listen.save_mapping(session, mapping, mapping_id=existing.id if existing else None)
        err.print(f"Mapping '{row.name}' saved ({len(row.columns)} columns).")


def _read_spec(path: Path) -> dict:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"The mapping file cannot be read ({type(exc).__name__})",
                              file=str(path)) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise ValidationError("The mapping file is not valid JSON or YAML", file=str(path),
                              expected="keys supplier, columns, rating_values …") from None
    if not isinstance(data, dict):
        raise ValidationError("The mapping file must hold a set of keys and values",
                              file=str(path), expected="supplier, columns, …")
    return data


@mapping_app.command("show")
def mapping_show(name: str = typer.Argument(...)) -> None:
    """Print one mapping as JSON."""
    from voices.listen import service as listen

    with _database().session() as session:
        row = listen.get_mapping(session, name)
        typer.echo(json.dumps({"name": row.name, "supplier": row.supplier,
                               "columns": row.columns, "rating_values": row.rating_values,
                               "date_format": row.date_format, "encoding": row.encoding,
                               "service": row.service.slug if row.service else None}, indent=2))


# -------------------------------------------------------------------------- originals


def _grant(email: str, grant: bool) -> None:
    from voices.core.models import Account
    from voices.core.service import normalise_email
    from voices.errors import NotFound
    from voices.listen import service as listen

    with _database().session() as session:
        account = session.query(Account).filter_by(email=normalise_email(email)).one_or_none()
        if account is None:
            raise NotFound(f"No account has the email address {email}")
        listen.grant_original_reader(session, account, actor=None, grant=grant)
    err.print(f"{email} {'may now' if grant else 'may no longer'} read original comments.")


@originals_app.command("grant")
def originals_grant(email: str = typer.Argument(..., help="An administrator or analyst.")) -> None:
    """Give an account the patient-experience permission to read original comments."""
    _grant(email, True)


@originals_app.command("revoke")
def originals_revoke(email: str = typer.Argument(...)) -> None:
    """Take the patient-experience permission away."""
    _grant(email, False)


def register(app: typer.Typer) -> None:
    """Add these commands to the ``voices listen`` app."""
    app.command("import")(import_command)
    app.command("export-training")(export_training)
    app.command("qr")(qr_command)
    app.add_typer(mapping_app, name="mapping")
    app.add_typer(originals_app, name="originals")
