"""Classified comments in the database: classifying stored comments, the coder's queue and
decisions, the explorer's queries and exports.

The model is the engine's :class:`~voices.listen.classifier.FeedbackClassifier`; this module
stores what it says (labels with probabilities, sentiment, the model version and the words
that drove each label) and what coders decide. Coders' decisions go to ``listen_coding``,
which only grows; :func:`training_files` turns them into the ``--corrections`` file that
``voices listen train`` reads, so the next model learns from them and its card says how many
it used.

Full-text search: on PostgreSQL, ``to_tsvector('english', text) @@
plainto_tsquery('english', words)`` (English stemming: "waiting" finds "waited"); on SQLite,
a portable fallback where every word must appear in the comment (case-insensitive ``LIKE``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, selectinload

from voices.core import audit
from voices.core.models import Account, Organisation, Service
from voices.db import Database, utcnow
from voices.equity import disclose
from voices.equity.dimensions import DIMENSIONS
from voices.errors import NotFound, ValidationError
from voices.listen.agreement import Review, agreement_by_period, label_agreement
from voices.listen.classifier import THREE_CLASSES, FeedbackClassifier
from voices.listen.explorer import (
    EQUITY_DIMENSIONS,
    QUESTION_WORDS,
    SENTIMENT_WORDS,
    SENTIMENTS,
    Filters,
    highlight,
    write_csv,
    write_xlsx,
)
from voices.listen.frameworks import IStatementFramework, builtin_framework
from voices.listen.models import (
    ClassifierModel,
    Coding,
    CommentLabel,
    CommentTheme,
    FeedbackComment,
    FeedbackResponse,
    ServiceReply,
)
from voices.listen.questions import FFT_ANSWERS, FFT_CODES
from voices.listen.service import labels_and_themes, period_of

RATING_CODE = {answer: code for code, answer in FFT_CODES.items()}
QUESTION_TEXT = {"what_good": "What was good?", "could_improve": "What could be better?",
                 "other": ""}
EXPORT_LIMIT = 50_000
ABOUT_REDACTION = ("Comments are redacted: names, contact details and other personal details "
                   "are replaced by [NAME], [PHONE] and so on.")
ABOUT_COUNTS = ("Counts of 1 to 7 are shown as *, others are rounded to the nearest 5, and "
                "some further cells are hidden so that no hidden count can be worked out.")


# ------------------------------------------------------------------------- models


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> FeedbackClassifier:
    return FeedbackClassifier.load(path)


def load_model(path: str | Path) -> FeedbackClassifier:
    """A saved model (kept in memory while its files do not change)."""
    folder = Path(path)
    marker = folder / "model.npz"
    if not marker.is_file():
        raise ValidationError("No model is saved here", file=str(folder),
                              expected="a folder written by 'voices listen train'",
                              code="model_missing")
    return _load(str(folder.resolve()), marker.stat().st_mtime)


@lru_cache(maxsize=1)
def i_statements() -> IStatementFramework:
    framework = builtin_framework("i_statements")
    assert isinstance(framework, IStatementFramework)
    return framework


def register_model(session: Session, path: str | Path, *, actor: Account | None = None,
                   framework: str = "qdc", activate: bool = True) -> ClassifierModel:
    """Record a trained model so stored comments can be classified with it."""
    import json

    folder = Path(path).resolve()
    model = load_model(folder)
    card_path = folder / "card.json"
    card = json.loads(card_path.read_text("utf-8")) if card_path.is_file() else None
    if card and isinstance(card.get("framework"), dict):
        framework = card["framework"].get("name") or framework
    row = session.scalar(select(ClassifierModel).where(ClassifierModel.version == model.version))
    if row is None:
        row = ClassifierModel(version=model.version, framework=framework, path=str(folder),
                              card=card, registered_by=actor.id if actor else None)
        session.add(row)
    else:
        row.path, row.card = str(folder), card
    if activate:
        session.execute(update(ClassifierModel).values(active=False))
        row.active = True
    session.flush()
    audit.record(session, "listen.model.register", actor=actor, record_type="listen_model",
                 record_id=row.id, summary=f"Model {model.version}")
    return row


def active_model(session: Session) -> ClassifierModel | None:
    return session.scalar(select(ClassifierModel).where(ClassifierModel.active.is_(True)))


def list_models(session: Session) -> list[ClassifierModel]:
    return list(session.scalars(select(ClassifierModel)
                                .order_by(ClassifierModel.registered_at.desc())))


# ------------------------------------------------------------------ classification


def _in_scope(stmt, organisation_ids: set[int] | None):
    if organisation_ids is None:
        return stmt
    return stmt.where(Service.organisation_id.in_(sorted(organisation_ids)))


def _comment_join(stmt):
    return (stmt.join(FeedbackResponse, FeedbackResponse.id == FeedbackComment.response_id)
            .join(Service, Service.id == FeedbackResponse.service_id))


def classify_stored(database: Database, *, model_path: str | Path | None = None,
                    batch_size: int = 500, reclassify: bool = False,
                    organisation_ids: set[int] | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    actor_id: int | None = None, engine: str = "local",
                    ray_address: str | None = None, workers: int | None = None) -> dict:
    """Classify stored comments in batches, committing each batch.

    Comments a coder has reviewed keep the coder's labels. Without ``reclassify``, only
    comments not yet classified by this model are done, so an interrupted run carries on
    where it stopped.

    ``engine="ray"`` classifies each batch on a Ray cluster (``ray_address``; default a
    local Ray instance with ``workers`` CPUs): Ray starts and the model ships once, each
    batch is spread over the workers, and what is stored is exactly what the single-process
    path stores (see :mod:`voices.listen.scale`).

    Returns
    -------
    dict
        ``classified``, ``model_version`` and ``seconds``.
    """
    import time

    from voices.listen.scale import ENGINES, open_engine

    if engine not in ENGINES:
        raise ValidationError(f"unknown engine '{engine}'", column="--engine",
                              expected=" or ".join(ENGINES))
    started = time.perf_counter()
    with database.session() as session:
        if model_path is None:
            row = active_model(session)
            if row is None:
                raise ValidationError("No model is registered for classifying stored comments",
                                      column="--model", expected="a model folder: voices "
                                      "listen classify --model FOLDER", code="no_model")
            model_path = row.path
        else:
            register_model(session, model_path)
    model = load_model(model_path)
    with database.session() as session:
        todo = _comment_join(select(FeedbackComment.id)).where(FeedbackComment.coded_at.is_(None))
        if not reclassify:
            todo = todo.where(or_(FeedbackComment.model_version.is_(None),
                                  FeedbackComment.model_version != model.version))
        ids = list(session.scalars(_in_scope(todo, organisation_ids).order_by(FeedbackComment.id)))
    done = 0
    if progress is not None:
        progress(0, len(ids))
    if not ids:  # nothing to do: do not start an engine (Ray takes seconds to start)
        return {"classified": 0, "model_version": model.version, "engine": engine,
                "seconds": round(time.perf_counter() - started, 2), "actor": actor_id}
    with open_engine(model, engine=engine, i_statements=i_statements(), address=ray_address,
                     workers=workers) as classify:
        for start in range(0, len(ids), batch_size):
            chunk = ids[start:start + batch_size]
            with database.session() as session:
                rows = session.execute(
                    select(FeedbackComment.id, FeedbackComment.text, FeedbackComment.question,
                           FeedbackResponse.rating)
                    .join(FeedbackResponse, FeedbackResponse.id == FeedbackComment.response_id)
                    .where(FeedbackComment.id.in_(chunk)).order_by(FeedbackComment.id)).all()
                results = classify([r.text for r in rows],
                                   question=[QUESTION_TEXT[r.question] for r in rows],
                                   rating=[RATING_CODE.get(r.rating) for r in rows])
                _store_predictions(session, [r.id for r in rows], results)
            done += len(chunk)
            if progress is not None:
                progress(done, len(ids))
    return {"classified": done, "model_version": model.version, "engine": engine,
            "seconds": round(time.perf_counter() - started, 2), "actor": actor_id}


def _store_predictions(session: Session, ids: list[int], results: list) -> None:
    """Write one batch of results (Core statements run as executemany: several times
    faster than the ORM's bulk update for thousands of rows)."""
    now = utcnow()
    updates, labels, themes = [], [], []
    for cid, item in zip(ids, results, strict=True):
        p = item.prediction
        updates.append({
            "comment_id": cid, "text": item.redacted_text, "model_version": p.model_version,
            "classified_at": now, "confidence": float(p.confidence),
            "sentiment": p.sentiment, "sentiment_probability": p.sentiment_probability,
            "sentiment_source": "model" if p.sentiment is not None else None,
            "explanation": {
                "predicted": list(p.labels), "probabilities": p.probabilities,
                "sentiment": p.sentiment,
                "words": {k: [[w, round(c, 4)] for w, c in v] for k, v in p.explanation.items()},
                "character_share": p.character_share},
        })
        labels += [{"comment_id": cid, "label": label, "probability": p.probabilities.get(label),
                    "source": "model"} for label in p.labels]
        themes += [{"comment_id": cid, "theme": t.theme, "via_labels": list(t.via_labels),
                    "via_words": list(t.via_words)} for t in item.i_statements]
    comments = FeedbackComment.__table__
    session.execute(comments.update().where(comments.c.id == bindparam("comment_id")), updates)
    session.execute(delete(CommentLabel).where(CommentLabel.comment_id.in_(ids)))
    session.execute(delete(CommentTheme).where(CommentTheme.comment_id.in_(ids)))
    if labels:
        session.execute(CommentLabel.__table__.insert(), labels)
    if themes:
        session.execute(CommentTheme.__table__.insert(), themes)


# --------------------------------------------------------------------- the coder's queue


def queue(session: Session, organisation_ids: set[int] | None, *, limit: int = 10,
          offset: int = 0) -> list[FeedbackComment]:
    """Classified comments no coder has reviewed, least confident first."""
    stmt = _in_scope(_comment_join(select(FeedbackComment)), organisation_ids).where(
        FeedbackComment.classified_at.is_not(None), FeedbackComment.coded_at.is_(None)
    ).order_by(FeedbackComment.confidence.asc(), FeedbackComment.id.asc())
    stmt = stmt.options(selectinload(FeedbackComment.labels),
                        selectinload(FeedbackComment.response).selectinload(
                            FeedbackResponse.service))
    return list(session.scalars(stmt.offset(max(0, offset)).limit(limit)))


def queue_length(session: Session, organisation_ids: set[int] | None) -> int:
    stmt = _in_scope(_comment_join(select(func.count(FeedbackComment.id))), organisation_ids)
    return session.scalar(stmt.where(FeedbackComment.classified_at.is_not(None),
                                     FeedbackComment.coded_at.is_(None))) or 0


@dataclass
class ReviewItem:
    """What the coder sees for one comment."""

    comment: FeedbackComment
    pieces: list[tuple[str, bool]]
    predicted: list[dict]           # label, probability, words
    choices: list[dict]             # the numbered checkboxes: label, checked, key
    others: list[str]               # every other label of the framework
    sentiment: int | None
    model_version: str | None
    history: list[Coding] = field(default_factory=list)


def framework_labels(session: Session) -> list[str]:
    """The labels coders choose from: the active model's, or the QDC framework's."""
    row = active_model(session)
    if row is not None:
        try:
            return list(load_model(row.path).labels)
        except ValidationError:
            pass
    return builtin_framework("qdc").labels  # type: ignore[union-attr]


def review_item(session: Session, comment: FeedbackComment) -> ReviewItem:
    """The comment with its predicted labels, the words that drove them highlighted, and
    the next most likely labels as candidates (numbered 1–9 for the keyboard)."""
    explanation = comment.explanation or {}
    predicted_labels = list(explanation.get("predicted") or [])
    current = [lab.label for lab in comment.labels]
    probabilities = explanation.get("probabilities") or {}
    words = explanation.get("words") or {}
    predicted = [{"label": lab, "probability": probabilities.get(lab),
                  "words": [w for w, _ in words.get(lab, [])]} for lab in predicted_labels]
    every = framework_labels(session)
    candidates = _candidates(session, comment, exclude=set(predicted_labels) | set(current))
    ordered = list(dict.fromkeys(current + predicted_labels + candidates))[:9]
    choices = [{"label": lab, "checked": lab in current, "key": str(k)}
               for k, lab in enumerate(ordered, start=1)]
    others = [lab for lab in every if lab not in ordered]
    marked = [w for p in predicted for w in p["words"]]
    history = list(session.scalars(select(Coding).where(Coding.comment_id == comment.id)
                                   .order_by(Coding.id.desc())))
    return ReviewItem(comment, highlight(comment.text, marked), predicted, choices, others,
                      comment.sentiment, comment.model_version, history)


def _candidates(session: Session, comment: FeedbackComment, *, exclude: set[str],
                top: int = 4) -> list[str]:
    row = active_model(session)
    if row is None or not comment.text:
        return []
    try:
        model = load_model(row.path)
    except ValidationError:
        return []
    proba = model.predict_proba([comment.text],
                                question=[QUESTION_TEXT.get(comment.question, "")])[0]
    order = np.argsort(-proba)
    return [model.labels[j] for j in order if model.labels[j] not in exclude
            and proba[j] >= 0.05][:top]


def record_coding(session: Session, comment: FeedbackComment, coder: Account, *,
                  labels: list[str] | None, sentiment: int | None = None) -> Coding:
    """Store a coder's decision (``labels=None`` accepts the model's labels as they are).

    The decision is appended to ``listen_coding`` with who and when; the comment's labels,
    sentiment and I-statement themes become the coder's.
    """
    explanation = comment.explanation or {}
    model_labels = list(explanation.get("predicted") or [])
    model_sentiment = explanation.get("sentiment")
    allowed = set(framework_labels(session))
    chosen = model_labels if labels is None else list(dict.fromkeys(labels))
    unknown = [lab for lab in chosen if lab not in allowed]
    if unknown:
        raise ValidationError(f"'{unknown[0][:80]}' is not a theme of the framework",
                              column="labels", code="unknown_label")
    if not chosen:
        raise ValidationError("Choose at least one theme", column="labels", code="required")
    if sentiment is not None and sentiment not in (1, 2, 3, 4, 5):
        raise ValidationError("Choose a sentiment from 1 to 5", column="sentiment",
                              code="invalid_sentiment")
    final_sentiment = sentiment if sentiment is not None else comment.sentiment
    accepted = set(chosen) == set(model_labels) and final_sentiment == model_sentiment
    now = utcnow()
    coding = Coding(comment_id=comment.id, coder_id=coder.id, coded_at=now,
                    action="accept" if accepted else "correct", labels=sorted(chosen),
                    sentiment=final_sentiment, model_labels=sorted(model_labels),
                    model_sentiment=model_sentiment, model_version=comment.model_version,
                    agreement=label_agreement(model_labels, chosen))
    session.add(coding)
    probabilities = explanation.get("probabilities") or {}
    session.execute(delete(CommentLabel).where(CommentLabel.comment_id == comment.id))
    session.execute(delete(CommentTheme).where(CommentTheme.comment_id == comment.id))
    session.execute(insert(CommentLabel), [
        {"comment_id": comment.id, "label": lab, "probability": probabilities.get(lab),
         "source": "model" if lab in model_labels and accepted else "coder"} for lab in chosen])
    links = i_statements().link(chosen, comment.text)
    if links:
        session.execute(insert(CommentTheme), [
            {"comment_id": comment.id, "theme": t.theme, "via_labels": list(t.via_labels),
             "via_words": list(t.via_words)} for t in links])
    if final_sentiment != comment.sentiment or sentiment is not None:
        comment.sentiment_source = "coder" if final_sentiment != model_sentiment else "model"
    comment.sentiment = final_sentiment
    comment.coded_at, comment.coded_by = now, coder.id
    session.flush()
    session.expire(comment, ["labels", "themes"])
    audit.record(session, "listen.coding", actor=coder, record_type="listen_comment",
                 record_id=comment.id,
                 organisation_id=comment.response.service.organisation_id,
                 summary="Accepted the model's labels" if accepted else "Corrected the labels")
    return coding


def agreement_report(session: Session, organisation_ids: set[int] | None) -> list:
    """Coder–model agreement by month (see :mod:`voices.listen.agreement`)."""
    stmt = _in_scope(
        select(Coding.coded_at, Coding.action, Coding.agreement, Coding.model_sentiment,
               Coding.sentiment)
        .join(FeedbackComment, FeedbackComment.id == Coding.comment_id)
        .join(FeedbackResponse, FeedbackResponse.id == FeedbackComment.response_id)
        .join(Service, Service.id == FeedbackResponse.service_id), organisation_ids)
    reviews = [Review(period_of(at), action == "accept", float(agreement), model_s, coder_s)
               for at, action, agreement, model_s, coder_s in session.execute(stmt)]
    return agreement_by_period(reviews)


def agreement_figure(rows: list):
    """A small line chart of agreement by month (image, summary and data table)."""
    import altair as alt

    from voices.charts import figure

    if not rows:
        return None
    data = pl.DataFrame({
        "month": [r.period for r in rows] * 2,
        "measure": ["Accepted unchanged"] * len(rows) + ["Label agreement"] * len(rows),
        "percent": [round(100 * r.accepted_share, 1) for r in rows]
                   + [round(100 * r.mean_agreement, 1) for r in rows]})
    chart = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("month:O", title="Month"),
        y=alt.Y("percent:Q", title="Per cent", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("measure:N", title=""),
    ).properties(width=480, height=200)
    last = rows[-1]
    summary = (f"In {last.period}, coders reviewed {last.reviewed} comments and accepted "
               f"{100 * last.accepted_share:.0f}% exactly as the model had them; label "
               f"agreement averaged {100 * last.mean_agreement:.0f}%.")
    return figure(chart, title="Coder and model agreement by month", summary=summary,
                  columns=["Month", "Reviewed", "Accepted unchanged", "Label agreement",
                           "Same sentiment"],
                  rows=[[r.period, r.reviewed, f"{100 * r.accepted_share:.0f}%",
                         f"{100 * r.mean_agreement:.0f}%",
                         "–" if r.sentiment_share is None else f"{100 * r.sentiment_share:.0f}%"]
                        for r in rows])


def training_files(session: Session, labels: list[str]) -> tuple[list[str], list[list],
                                                                   list[list]]:
    """What ``voices listen train`` needs to learn from coders' decisions.

    Returns
    -------
    (header, comment_rows, correction_rows)
        A comments table (``id``, ``comment`` (redacted), ``question``, ``rating``,
        ``sentiment`` and one 0/1 column per label, as the model first labelled each
        reviewed comment) and corrections (``comment_id``, ``label``, ``value``) from the
        latest decision on each comment: every label the coder added (1) or removed (0),
        plus ``sentiment`` when the coder changed it.
    """
    latest = (select(Coding.comment_id, func.max(Coding.id).label("last"))
              .group_by(Coding.comment_id).subquery())
    rows = session.execute(
        select(Coding, FeedbackComment.text, FeedbackComment.question, FeedbackResponse.rating)
        .join(latest, latest.c.last == Coding.id)
        .join(FeedbackComment, FeedbackComment.id == Coding.comment_id)
        .join(FeedbackResponse, FeedbackResponse.id == FeedbackComment.response_id)
        .order_by(Coding.comment_id)).all()
    header = ["id", "comment", "question", "rating", "sentiment", *labels]
    comments, corrections = [], []
    for coding, text, question, rating in rows:
        cid = f"listen-{coding.comment_id}"
        model = set(coding.model_labels or [])
        comments.append([cid, text, QUESTION_TEXT.get(question, ""), RATING_CODE.get(rating, ""),
                         coding.model_sentiment or "", *[int(lab in model) for lab in labels]])
        coder = set(coding.labels or [])
        for lab in sorted(model | coder):
            if lab in labels and (lab in coder) != (lab in model):
                corrections.append([cid, lab, int(lab in coder)])
        if coding.sentiment and coding.sentiment != coding.model_sentiment:
            corrections.append([cid, "sentiment", coding.sentiment])
    return header, comments, corrections


# -------------------------------------------------------------------------- explorer


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _text_match(session: Session, words: list[str]):
    if _is_postgres(session):
        return func.to_tsvector("english", FeedbackComment.text).op("@@")(
            func.plainto_tsquery("english", " ".join(words)))
    conditions = []
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(func.lower(FeedbackComment.text).like(f"%{escaped}%", escape="\\"))
    return and_(*conditions)


def _quintile_expr():
    return (FeedbackResponse.imd_decile + 1) // 2


def _sentiment3_expr():
    return case((FeedbackComment.sentiment.in_((1, 2)), "positive"),
                (FeedbackComment.sentiment == 3, "neutral_mixed"),
                (FeedbackComment.sentiment.in_((4, 5)), "negative"), else_=None)


def _apply(session: Session, stmt: Select, filters: Filters, skip: str | None = None) -> Select:
    if filters.organisation and skip != "organisation":
        stmt = stmt.where(Organisation.ods_code == filters.organisation.upper())
    if filters.service and skip != "service":
        stmt = stmt.where(Service.slug == filters.service)
    if filters.period_from and skip != "period":
        stmt = stmt.where(FeedbackResponse.period >= filters.period_from)
    if filters.period_to and skip != "period":
        stmt = stmt.where(FeedbackResponse.period <= filters.period_to)
    if filters.theme and skip != "theme":
        stmt = stmt.where(exists().where(CommentLabel.comment_id == FeedbackComment.id,
                                         CommentLabel.label == filters.theme))
    if filters.i_theme and skip != "i_theme":
        stmt = stmt.where(exists().where(CommentTheme.comment_id == FeedbackComment.id,
                                         CommentTheme.theme == filters.i_theme))
    if filters.sentiment and skip != "sentiment":
        stmt = stmt.where(FeedbackComment.sentiment.in_(SENTIMENTS[filters.sentiment]))
    if filters.rating and skip != "rating":
        stmt = stmt.where(FeedbackResponse.rating == filters.rating)
    if filters.question and skip != "question":
        stmt = stmt.where(FeedbackComment.question == filters.question)
    pair = filters.equity_pair
    if pair and skip != "equity":
        dimension, code = pair
        stmt = stmt.where(_equity_condition(dimension, code))
    words = filters.search_words()
    if words and skip != "q":
        stmt = stmt.where(_text_match(session, words))
    return stmt


def _equity_condition(dimension: str, code: str):
    if dimension == "imd_quintile":
        if code == "not_known":
            return FeedbackResponse.imd_decile.is_(None)
        q = int(code)
        return FeedbackResponse.imd_decile.in_((2 * q - 1, 2 * q))
    column = getattr(FeedbackResponse, dimension)
    dim = DIMENSIONS[dimension]
    if code == dim.validate(None):   # "not known" also holds unanswered and other answers
        return or_(column.is_(None), column == code, ~column.in_(list(dim.codes)))
    return column == code


def _base(organisation_ids: set[int] | None, columns) -> Select:
    stmt = (select(*columns).select_from(FeedbackComment)
            .join(FeedbackResponse, FeedbackResponse.id == FeedbackComment.response_id)
            .join(Service, Service.id == FeedbackResponse.service_id)
            .join(Organisation, Organisation.id == Service.organisation_id))
    return _in_scope(stmt, organisation_ids)


@dataclass
class ExplorerPage:
    total: int
    comments: list[dict]
    facets: dict[str, list[dict]]
    page: int
    pages: int


def _count_by(session, organisation_ids, filters, skip, key, extra_join=None) -> dict:
    stmt = _base(organisation_ids, [key, func.count(FeedbackComment.id.distinct())])
    if extra_join is not None:
        stmt = stmt.join(*extra_join)
    stmt = _apply(session, stmt, filters, skip).group_by(key)
    return {k: n for k, n in session.execute(stmt)}


def facets(session: Session, organisation_ids: set[int] | None, filters: Filters,
           labels: list[str]) -> dict[str, list[dict]]:
    """For each filter, its choices with how many comments each would show (given every
    other filter), so the counts behind every filter are visible before choosing."""
    out: dict[str, list[dict]] = {}
    orgs = session.execute(_in_scope(select(Organisation.ods_code, Organisation.name)
                                     .join(Service, Service.organisation_id == Organisation.id)
                                     .distinct().order_by(Organisation.name),
                                     organisation_ids)).all()
    counts = _count_by(session, organisation_ids, filters, "organisation", Organisation.ods_code)
    out["organisation"] = [{"value": code, "text": name, "count": counts.get(code, 0)}
                           for code, name in orgs]
    svc_stmt = _in_scope(select(Service.slug, Service.name).join(Organisation).order_by(
        Service.name), organisation_ids)
    if filters.organisation:
        svc_stmt = svc_stmt.where(Organisation.ods_code == filters.organisation.upper())
    counts = _count_by(session, organisation_ids, filters, "service", Service.slug)
    out["service"] = [{"value": slug, "text": name, "count": counts.get(slug, 0)}
                      for slug, name in session.execute(svc_stmt)]
    counts = _count_by(session, organisation_ids, filters, "period", FeedbackResponse.period)
    out["period"] = [{"value": p, "text": p, "count": counts[p]} for p in sorted(counts)]
    counts = _count_by(session, organisation_ids, filters, "theme", CommentLabel.label,
                       (CommentLabel, CommentLabel.comment_id == FeedbackComment.id))
    out["theme"] = [{"value": lab, "text": lab, "count": counts.get(lab, 0)} for lab in labels]
    counts = _count_by(session, organisation_ids, filters, "i_theme", CommentTheme.theme,
                       (CommentTheme, CommentTheme.comment_id == FeedbackComment.id))
    out["i_theme"] = [{"value": t.id, "text": t.name, "count": counts.get(t.id, 0)}
                      for t in i_statements().themes]
    counts = _count_by(session, organisation_ids, filters, "sentiment", _sentiment3_expr())
    out["sentiment"] = [{"value": k, "text": SENTIMENT_WORDS[k], "count": counts.get(k, 0)}
                        for k in THREE_CLASSES]
    counts = _count_by(session, organisation_ids, filters, "rating", FeedbackResponse.rating)
    out["rating"] = [{"value": a, "text": a, "count": counts.get(a, 0)} for a in FFT_ANSWERS]
    counts = _count_by(session, organisation_ids, filters, "question", FeedbackComment.question)
    out["question"] = [{"value": k, "text": v, "count": counts.get(k, 0)}
                       for k, v in QUESTION_WORDS.items()]
    equity = []
    for dimension in EQUITY_DIMENSIONS:
        key = _quintile_expr() if dimension == "imd_quintile" else \
            getattr(FeedbackResponse, dimension)
        counts = _count_by(session, organisation_ids, filters, "equity", key)
        dim = DIMENSIONS[dimension]
        for code, label in dim.codes.items():
            n = sum(v for k, v in counts.items() if _same_group(dimension, k, code))
            equity.append({"value": f"{dimension}:{code}", "text": f"{dim.label}: {label}",
                           "count": n})
    out["equity"] = equity
    return out


def _same_group(dimension: str, stored, code: str) -> bool:
    dim = DIMENSIONS[dimension]
    if stored is None or (str(stored) not in dim.codes):
        return code == dim.validate(None)
    return str(stored) == code


def explore(session: Session, organisation_ids: set[int] | None, filters: Filters, *,
            page: int = 1, per_page: int = 20) -> ExplorerPage:
    """One page of comments matching the filters, newest first, with facet counts."""
    total = session.scalar(_apply(session, _base(organisation_ids,
                                                 [func.count(FeedbackComment.id)]), filters)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    stmt = _apply(session, _base(organisation_ids, [FeedbackComment]), filters)
    stmt = stmt.order_by(FeedbackResponse.submitted_at.desc(), FeedbackComment.id.desc())
    stmt = stmt.options(selectinload(FeedbackComment.labels),
                        selectinload(FeedbackComment.themes),
                        selectinload(FeedbackComment.reply),
                        selectinload(FeedbackComment.response).selectinload(
                            FeedbackResponse.service))
    found = session.scalars(stmt.offset((page - 1) * per_page).limit(per_page)).all()
    words = filters.search_words()
    comments = [_comment_view(c, words) for c in found]
    return ExplorerPage(total, comments,
                        facets(session, organisation_ids, filters, framework_labels(session)),
                        page, pages)


def _comment_view(comment: FeedbackComment, words: list[str]) -> dict:
    from voices.listen.classifier import SENTIMENT_3

    response = comment.response
    return {
        "id": comment.id, "pieces": highlight(comment.text, words), "text": comment.text,
        "question": QUESTION_WORDS.get(comment.question, comment.question),
        "service": response.service.name, "period": response.period, "rating": response.rating,
        "labels": [lab.label for lab in comment.labels],
        "themes": [t.theme for t in comment.themes],
        "sentiment": SENTIMENT_WORDS.get(SENTIMENT_3.get(comment.sentiment, ""), ""),
        "flags": comment.flag_list, "coded": comment.coded_at is not None,
        "reply": comment.reply is not None and comment.reply.published_at is not None,
    }


def export_comments(session: Session, account: Account, organisation_ids: set[int] | None,
                    filters: Filters, fmt: str) -> tuple[bytes, str, int]:
    """The filtered comments as CSV or XLSX (redacted text only; audited).

    Equality answers are not exported beside the comments (they could identify a person
    when read with the text). The XLSX file adds a sheet of counts by theme and sentiment
    that has been through disclosure control. Returns (content, media type, rows).
    """
    from voices.listen.classifier import SENTIMENT_3

    if fmt not in ("csv", "xlsx"):
        raise ValidationError(f"'{fmt[:10]}' is not an export format", column="format",
                              expected="csv or xlsx", code="invalid_format")
    stmt = _apply(session, _base(organisation_ids, [
        FeedbackComment.id, Organisation.ods_code, Service.name, FeedbackResponse.period,
        FeedbackComment.question, FeedbackResponse.rating, FeedbackComment.sentiment,
        FeedbackComment.flags, FeedbackComment.text]), filters)
    rows = session.execute(stmt.order_by(FeedbackComment.id).limit(EXPORT_LIMIT)).all()
    ids = [r[0] for r in rows]
    labels, themes = labels_and_themes(session, ids)
    replies: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for cid, text in session.execute(select(ServiceReply.comment_id, ServiceReply.text)
                                         .where(ServiceReply.comment_id.in_(chunk),
                                                ServiceReply.published_at.is_not(None))):
            replies[cid] = text
    header = ["comment_id", "organisation", "service", "period", "question", "rating",
              "sentiment", "themes", "i_statement_themes", "flags", "comment", "our_reply"]
    out_rows = [[cid, org, svc, period, QUESTION_WORDS.get(q, q), rating or "",
                 SENTIMENT_WORDS.get(SENTIMENT_3.get(sent, ""), ""),
                 "; ".join(sorted(labels[cid])), "; ".join(sorted(themes[cid])),
                 flags.replace(",", "; "), text, replies.get(cid, "")]
                for cid, org, svc, period, q, rating, sent, flags, text in rows]
    audit.record(session, "listen.export", actor=account, record_type="listen_comment",
                 summary=f"Exported {len(out_rows)} comments as {fmt.upper()}",
                 detail={"format": fmt, "rows": len(out_rows),
                         "filters": sorted(k for k, v in filters.__dict__.items() if v)})
    if fmt == "csv":
        return write_csv(header, out_rows), "text/csv; charset=utf-8", len(out_rows)
    counts = _theme_counts(out_rows)
    published = disclose(counts, label="theme", counts=["positive", "neutral or mixed",
                                                        "negative", "no sentiment"])
    count_rows = [[name, *values] for name, values in zip(published.row_labels,
                                                          published.values)]
    content = write_xlsx({
        "comments": (header, out_rows),
        "counts": (["theme", *published.column_labels], count_rows),
        "about": (["note"], [[ABOUT_REDACTION], [ABOUT_COUNTS]]),
    })
    return content, ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), \
        len(out_rows)


def _theme_counts(rows: list[list]) -> pl.DataFrame:
    columns = {"Positive": "positive", "Neutral or mixed": "neutral or mixed",
               "Negative": "negative", "": "no sentiment"}
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        themes = row[7].split("; ") if row[7] else ["(no theme)"]
        for theme in themes:
            cell = table.setdefault(theme, dict.fromkeys(columns.values(), 0))
            cell[columns[row[6]]] += 1
    names = sorted(table)
    return pl.DataFrame({"theme": names, **{c: [table[n][c] for n in names]
                                            for c in columns.values()}},
                        schema={"theme": pl.String, **dict.fromkeys(columns.values(),
                                                                    pl.Int64)})


def get_comment(session: Session, comment_id: int, organisation_ids: set[int] | None
                ) -> FeedbackComment:
    comment = session.get(FeedbackComment, comment_id)
    if comment is None or (organisation_ids is not None and
                           comment.response.service.organisation_id not in organisation_ids):
        raise NotFound("We could not find that comment.")
    return comment
