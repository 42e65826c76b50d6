"""`voices listen`: collect, protect and understand patient feedback."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from voices.errors import ValidationError

app = typer.Typer(help="Collect, redact and understand patient feedback.", no_args_is_help=True)
err = Console(stderr=True)


def _framework(name: str):
    from voices.listen.frameworks import coding_framework

    return coding_framework(name)


def _corrections(path: Path | None):
    if path is None:
        return None
    import polars as pl

    try:
        return pl.read_csv(path, infer_schema=False, glob=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ValidationError(f"cannot read corrections ({exc.__class__.__name__})", file=str(path),
                              expected="a CSV with comment_id, label, value") from None


@app.command()
def train(
    data: list[Path] = typer.Option(..., "--data", metavar="FILE", help="Labelled comments (CSV or XLSX); "
                                    "repeat to train on several files, such as your labelled "
                                    "file and the comments coders reviewed (export-training)."),
    framework: str = typer.Option("qdc", "--framework", help="qdc, or your own framework YAML."),
    out: Path = typer.Option(..., "--out", help="Folder to write the model and its card to."),
    corrections: Path = typer.Option(None, "--corrections", help="Coders' corrections CSV."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of a CSV file."),
    tune_thresholds: bool = typer.Option(False, "--tune-thresholds",
                                         help="Tune per-label thresholds by 3-fold CV (slower)."),
    metrics: bool = typer.Option(True, "--metrics/--no-metrics",
                                 help="Also train on 80% of respondents and score the other "
                                      "20%, for the model card (about doubles the time)."),
) -> None:
    """Train the default theme and sentiment model and write it with a model card."""
    from voices.listen.classifier import Settings
    from voices.listen.comments_file import combine_comments, read_comments
    from voices.listen.training import card_metrics, files_sha256, train as fit

    fw = _framework(framework)
    comments = combine_comments([read_comments(path, encoding=encoding, labels=fw.labels,
                                               require_labels=True) for path in data])
    settings = Settings(threshold_folds=3 if tune_thresholds else 0)
    fixes = _corrections(corrections)
    with err.status(f"Training on {len(comments)} comments..."):
        model, card = fit(comments, fw, corrections=fixes, settings=settings,
                          data_hash=files_sha256(data))
    if metrics:
        with err.status("Scoring on held-out respondents for the model card..."):
            card["metrics"] = card_metrics(comments, fw, corrections=fixes, settings=settings)
    model.save(out, card)
    err.print(f"Model {model.version} written to {out} "
              f"({card['train_seconds']} s, {card['coder_corrections_used']} corrections used).")


@app.command()
def evaluate(
    data: Path = typer.Option(..., "--data", help="Labelled comments (CSV or XLSX)."),
    split: str = typer.Option("respondent", "--split", help="How to split: respondent."),
    seed: int = typer.Option(42, "--seed"),
    framework: str = typer.Option("qdc", "--framework"),
    encoding: str = typer.Option("utf-8", "--encoding"),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Train on 80% of respondents and score the other 20% (duplicate texts removed)."""
    from voices.listen.comments_file import read_comments
    from voices.listen.training import evaluate as run

    if split != "respondent":
        raise ValidationError(f"unknown split '{split}'", column="--split", expected="respondent")
    fw = _framework(framework)
    comments = read_comments(data, encoding=encoding, labels=fw.labels, require_labels=True)
    with err.status("Training and scoring..."):
        result = run(comments, fw, seed=seed)
    keys = ("macro_f1", "micro_f1", "hamming_loss", "sentiment_accuracy_3class", "labels",
            "per_label_f1")
    shown = {k: result[k] for k in keys}
    if as_json:
        typer.echo(json.dumps(shown))
        return
    for k in keys[:5]:
        typer.echo(f"{k}: {shown[k]}")
    for label, f1 in sorted(shown["per_label_f1"].items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {f1:.3f}  {label}")


@app.command()
def classify(
    data: Path = typer.Option(None, "--data", help="Comments to label (CSV or XLSX). Leave "
                              "out to classify the comments stored in the database."),
    model: Path = typer.Option(None, "--model", help="A model folder written by 'train' "
                               "(stored comments: registers it; default the registered one)."),
    out: Path = typer.Option(None, "--out", help="Where to write the results (.csv or .xlsx)."),
    encoding: str = typer.Option("utf-8", "--encoding"),
    batch_size: int = typer.Option(1000, "--batch-size", min=1),
    i_statements: str = typer.Option("i_statements", "--i-statements",
                                     help="I-statement framework to link comments to."),
    engine: str = typer.Option("local", "--engine",
                               help="local (this process) or ray (a Ray cluster; the scale extra)."),
    ray_address: str = typer.Option(None, "--ray-address",
                                    help="Ray cluster to use (default: a local Ray instance)."),
    workers: int = typer.Option(None, "--workers", min=1,
                                help="Ray workers (default: every CPU of the cluster)."),
    reclassify: bool = typer.Option(False, "--reclassify", help="Stored comments: classify "
                                    "again those this model has already done."),
) -> None:
    """Redact and label a file of comments in batches (only redacted text is written), or,
    without --data, the comments stored in the database."""
    _check_engine(engine, ray_address, workers)
    if data is None:
        from voices.listen.commands import classify_stored

        return classify_stored(model, batch_size=batch_size, reclassify=reclassify,
                               engine=engine, ray_address=ray_address, workers=workers)
    if model is None or out is None:
        raise ValidationError("--model and --out are needed with --data", column="--out",
                              expected="--model FOLDER --out FILE")
    from contextlib import ExitStack

    from voices.listen.classifier import FeedbackClassifier
    from voices.listen.comments_file import read_comments, write_rows
    from voices.listen.frameworks import IStatementFramework, load_framework
    from voices.listen.pipeline import classify_batches

    if out.resolve() == data.resolve():
        raise ValidationError("the output would overwrite the input", file=str(out))
    fitted = FeedbackClassifier.load(model)
    links = load_framework(i_statements)
    if not isinstance(links, IStatementFramework):
        raise ValidationError("not an I-statement framework", file=i_statements,
                              expected="a framework with themes")
    comments = read_comments(data, encoding=encoding)
    rows = []
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=err) as progress, ExitStack() as stack:
        task = progress.add_task("Classifying", total=len(comments))
        context = {"question": comments.question, "rating": comments.rating,
                   "batch_size": batch_size}
        if engine == "ray":
            from voices.listen.scale import RayClassifier

            progress.update(task, description="Starting Ray")
            pool = stack.enter_context(RayClassifier(fitted, i_statements=links,
                                                     address=ray_address, workers=workers))
            progress.update(task, description="Classifying on Ray")
            batches = pool.classify_batches(comments.comment, **context, progress=lambda done, _:
                                            progress.update(task, completed=done))
        else:
            batches = classify_batches(comments.comment, fitted, i_statements=links, **context)
        for offset, batch in _batches(batches, batch_size):
            for k, item in enumerate(batch):
                p = item.prediction
                rows.append([
                    comments.id[offset + k], item.redacted_text, "; ".join(p.labels),
                    json.dumps(p.probabilities), p.sentiment, p.sentiment_3,
                    p.sentiment_probability, "; ".join(t.theme for t in item.i_statements),
                    json.dumps({k2: [w for w, _ in v] for k2, v in p.explanation.items()}),
                    "; ".join(item.flags), "; ".join(sorted(set(item.redacted_kinds))),
                    p.model_version,
                ])
            if engine == "local":
                progress.advance(task, len(batch))
    header = ["id", "redacted_comment", "labels", "label_probabilities", "sentiment",
              "sentiment_3", "sentiment_probability", "i_statement_themes", "explanation",
              "flags", "redacted", "model_version"]
    write_rows(out, header, rows)
    err.print(f"{len(rows)} comments labelled and written to {out}.")


def _check_engine(engine: str, address: str | None, workers: int | None) -> None:
    if engine not in ("local", "ray"):
        raise ValidationError(f"unknown engine '{engine}'", column="--engine", expected="local or ray")
    if engine == "local" and (address or workers):
        raise ValidationError("--ray-address and --workers need --engine ray", column="--engine",
                              expected="ray")


def _batches(batches, size):
    offset = 0
    for batch in batches:
        yield offset, batch
        offset += len(batch)


from voices.listen.commands import register as _register_database_commands  # noqa: E402

_register_database_commands(app)
