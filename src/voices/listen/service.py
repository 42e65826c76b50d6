"""Storing and reading feedback: the public pages, the API, imports, services' replies,
original text, and the frames the ``measure`` area reads.

Every comment goes through :func:`prepare_text` before it is stored: cleaned and flagged
(:func:`voices.listen.pipeline.prepare_comment`), then redacted
(:class:`voices.listen.redaction.Redactor`). Only redacted text reaches the analysis
columns. The original is encrypted and kept only when ``keep_original_text`` is on.

For the ``measure`` area
------------------------
:func:`responses_frame` returns one row per stored response (``organisation`` ODS code,
``service`` name, ``period`` ``YYYY-MM``, ``rating`` FFT answer, and the equity columns
``age_band``, ``sex``, ``ethnic_group``, ``disability``, ``carer``, ``imd_decile``,
``imd_quintile`` as dimension codes, null when not known). :func:`comments_frame` returns
one row per classified comment (``comment_id``, ``organisation``, ``service``, ``period``,
``question``, ``rating``, ``themes`` list, ``sentiment`` 1–5, ``sentiment_3``,
``i_statement_themes`` list). Both take ``organisation_ids`` (``None``: all) and
``periods`` (``None``: all).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from voices.core import audit
from voices.core.models import Account, Organisation, Role, Service
from voices.db import utcnow
from voices.equity.dimensions import imd_quintile
from voices.equity.imd import ImdLookup
from voices.errors import Conflict, NotFound, PermissionDenied, ValidationError
from voices.listen import importing
from voices.listen.models import (
    CommentLabel,
    CommentTheme,
    FeedbackComment,
    FeedbackResponse,
    ImportMapping,
    ImportRun,
    OriginalTextReader,
    ServiceReply,
)
from voices.listen.originals import OriginalText
from voices.listen.pipeline import prepare_comment
from voices.listen.postcodes import Postcode, PostcodeLookup, parse_postcode
from voices.listen.questions import (
    EQUALITY_QUESTIONS,
    QUESTION_BY_FIELD,
    dimension_code,
    equality_answer,
    fft_answer,
)
from voices.listen.redaction import Redactor
from voices.settings import Settings

LONDON = ZoneInfo("Europe/London")
#: How long a person may go back and change their answers on the feedback pages.
EDIT_WINDOW = dt.timedelta(hours=2)
MAX_API_CHARS = 100_000
#: The equality answers stored on each response (besides deprivation).
EQUITY_COLUMNS = ("age_band", "sex", "ethnic_group", "disability", "carer")


class ListenSettings(BaseSettings):
    """Listen's own settings (environment variables with the ``VOICES_`` prefix)."""

    model_config = SettingsConfigDict(env_prefix="VOICES_", env_file=".env", extra="ignore")

    postcode_lsoa_path: Path | None = Field(None, description=(
        "A postcode → LSOA lookup CSV (ONS Postcode Directory columns such as pcds and "
        "lsoa21cd). Without it (or data_dir/postcode_lsoa21.csv), only the postcode district "
        "is kept and deprivation is not known."))


# --------------------------------------------------------------------- configuration


def original_text(settings: Settings) -> OriginalText | None:
    """The encrypter for originals, or None when originals are not kept (the default)."""
    if not settings.keep_original_text:
        return None
    return OriginalText(settings.resolved_secret_key())


def postcode_lookup_path(settings: Settings) -> Path | None:
    configured = getattr(settings, "postcode_lsoa_path", None) or \
        ListenSettings().postcode_lsoa_path
    if configured:
        return Path(configured)
    default = Path(settings.data_dir) / "postcode_lsoa21.csv"
    return default if default.is_file() else None


@lru_cache(maxsize=2)
def _postcode_lookup(path: str, mtime: float) -> PostcodeLookup:
    return PostcodeLookup.from_csv(path)


@lru_cache(maxsize=2)
def _imd_lookup(path: str, mtime: float) -> ImdLookup:
    return ImdLookup.from_csv(path)


@dataclass(frozen=True)
class Deprivation:
    """Where a postcode leads: the district always; LSOA and decile only with lookups."""

    district: str | None
    lsoa: str | None
    decile: int | None


def deprivation(postcode: Postcode | None, settings: Settings) -> Deprivation:
    """Look a postcode up to its LSOA and IMD decile when both lookups are configured."""
    if postcode is None:
        return Deprivation(None, None, None)
    lsoa = decile = None
    path = postcode_lookup_path(settings)
    if postcode.full and path is not None and path.is_file() and settings.imd_path \
            and Path(settings.imd_path).is_file():
        lsoa = _postcode_lookup(str(path), path.stat().st_mtime).lsoa(postcode)
        if lsoa:
            imd = Path(settings.imd_path)
            decile = _imd_lookup(str(imd), imd.stat().st_mtime).decile(lsoa)
    return Deprivation(postcode.district, lsoa, decile)


_REDACTOR = Redactor()


def period_of(moment: dt.datetime) -> str:
    """The month (``YYYY-MM``) a moment falls in, in UK time."""
    return moment.astimezone(LONDON).strftime("%Y-%m")


# -------------------------------------------------------------------- storing text


@dataclass(frozen=True)
class PreparedText:
    text: str
    kinds: str
    flags: str
    words: int
    original: bytes | None


def prepare_text(raw: str, cipher: OriginalText | None) -> PreparedText:
    """Clean, flag and redact one comment (and encrypt the original if originals are kept)."""
    prepared = prepare_comment(raw)
    redacted = _REDACTOR.redact(prepared.text)
    return PreparedText(redacted.text, ",".join(sorted(set(redacted.kinds()))),
                        ",".join(prepared.flags), len(str(raw).split()),
                        cipher.encrypt(str(raw)) if cipher is not None else None)


def set_comment(session: Session, response: FeedbackResponse, question: str, raw: str | None,
                cipher: OriginalText | None) -> FeedbackComment | None:
    """Store (or replace, or with blank text remove) the answer to one comment question."""
    existing = session.scalar(select(FeedbackComment).where(
        FeedbackComment.response_id == response.id, FeedbackComment.question == question))
    if raw is None or not str(raw).strip():
        if existing is not None:
            session.delete(existing)
        return None
    prepared = prepare_text(str(raw), cipher)
    if existing is None:
        existing = FeedbackComment(response_id=response.id, question=question)
        session.add(existing)
    elif existing.coded_at is not None or existing.model_version is not None:
        session.execute(delete(CommentLabel).where(CommentLabel.comment_id == existing.id))
        session.execute(delete(CommentTheme).where(CommentTheme.comment_id == existing.id))
    existing.text, existing.redacted_kinds = prepared.text, prepared.kinds
    existing.flags, existing.words = prepared.flags, prepared.words
    existing.original_encrypted = prepared.original
    for name in ("model_version", "classified_at", "confidence", "sentiment",
                 "sentiment_probability", "sentiment_source", "explanation", "coded_at",
                 "coded_by"):
        setattr(existing, name, None)
    session.flush()
    return existing


# ------------------------------------------------------------ the public feedback pages


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_web_response(session: Session, service: Service, rating: str, *,
                       now: dt.datetime | None = None) -> tuple[FeedbackResponse, str]:
    """Store a new response from the feedback page as soon as the rating is given.

    Returns the response and a secret the browser keeps (in a signed cookie) so the same
    person can add comments and answers on the next pages; only its hash is stored."""
    answer = fft_answer(rating, column="rating")
    if answer is None:
        raise ValidationError("Select how your experience of our service was", column="rating",
                              code="required")
    now = now or utcnow()
    secret = secrets.token_urlsafe(24)
    response = FeedbackResponse(service_id=service.id, period=period_of(now), submitted_at=now,
                                source="web", rating=answer, edit_token_hash=_token_hash(secret),
                                created_at=now)
    session.add(response)
    session.flush()
    return response, f"{response.id}.{secret}"


def web_response(session: Session, service: Service, token: str | None, *,
                 now: dt.datetime | None = None) -> FeedbackResponse | None:
    """The response this browser started for this service, if it may still change it."""
    if not token or "." not in token:
        return None
    head, _, secret = token.partition(".")
    if not head.isdigit():
        return None
    response = session.get(FeedbackResponse, int(head))
    now = now or utcnow()
    if response is None or response.service_id != service.id or not response.edit_token_hash \
            or not hmac.compare_digest(response.edit_token_hash, _token_hash(secret)) \
            or now - response.created_at > EDIT_WINDOW:
        return None
    return response


def set_rating(response: FeedbackResponse, rating: str) -> None:
    answer = fft_answer(rating, column="rating")
    if answer is None:
        raise ValidationError("Select how your experience of our service was", column="rating",
                              code="required")
    response.rating = answer


def set_equality(response: FeedbackResponse, field: str, value: str | None) -> None:
    """Record one equality answer (blank: skipped, stored as not answered)."""
    if field not in QUESTION_BY_FIELD:
        raise ValidationError(f"'{field}' is not an equality question", column="field")
    setattr(response, field, equality_answer(field, value, column=field))


def set_postcode(response: FeedbackResponse, text: str | None, settings: Settings, *,
                 prefer_not: bool = False) -> Deprivation:
    """Record where someone lives: the district, and deprivation when lookups allow."""
    if prefer_not:
        place = Deprivation(None, None, None)
    else:
        place = deprivation(parse_postcode(text, column="postcode"), settings)
    response.postcode_district, response.lsoa_code = place.district, place.lsoa
    response.imd_decile = place.decile
    return place


def finish_web_response(response: FeedbackResponse) -> None:
    """The person reached the thank-you page: the response can no longer be changed."""
    response.completed_at = response.completed_at or utcnow()
    response.edit_token_hash = None


def feedback_services(session: Session, query: str = "") -> list[Service]:
    """Active services for the public list, optionally those whose name or organisation
    matches every word of ``query``."""
    stmt = (select(Service).join(Service.organisation).where(Service.active.is_(True))
            .options(selectinload(Service.organisation))
            .order_by(Organisation.name, Service.name))
    services = list(session.scalars(stmt))
    words = query.casefold().split()[:6]
    if words:
        services = [s for s in services if all(
            w in f"{s.name} {s.organisation.name} {s.organisation.ods_code}".casefold()
            for w in words)]
    return services


# --------------------------------------------------------------------------- the API


def _request_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _service_for(session: Session, account: Account, slug: str, column: str = "service"
                 ) -> Service:
    from voices.web.access import visible_organisations

    svc = session.scalar(select(Service).where(Service.slug == str(slug).strip().lower()))
    scope = visible_organisations(session, account)
    if svc is None or not svc.active or (scope is not None and svc.organisation_id not in scope):
        raise ValidationError(f"No service you can send feedback for has the short link "
                              f"'{str(slug)[:80]}'", column=column, code="unknown_service")
    return svc


def submit_api_feedback(session: Session, account: Account, body: dict, *,
                        idempotency_key: str | None, settings: Settings
                        ) -> tuple[int, dict, bool]:
    """Store feedback sent by a kiosk, text-message or survey supplier.

    With an ``Idempotency-Key``, a retry of the same request returns the original answer
    and stores nothing; the same key with a different body is refused (409).

    Returns
    -------
    (status, reply, replayed)
    """
    digest = _request_hash(body)
    if idempotency_key is not None:
        key = idempotency_key.strip()
        if not key or len(key) > 200 or not key.isprintable():
            raise ValidationError("The Idempotency-Key header must be 1 to 200 printable "
                                  "characters", column="Idempotency-Key", code="invalid_key")
        earlier = _earlier(session, account, key)
        if earlier is not None:
            return _replay(earlier, digest)
    else:
        key = None
    problems: list = []
    svc = None
    try:
        svc = _service_for(session, account, body.get("service") or "")
    except ValidationError as exc:
        problems += exc.problems
    rating = None
    try:
        rating = fft_answer(body.get("rating"), column="rating")
    except ValidationError as exc:
        problems += exc.problems
    equality = {}
    for question in EQUALITY_QUESTIONS:
        try:
            equality[question.field] = equality_answer(question.field, body.get(question.field))
        except ValidationError as exc:
            problems += exc.problems
    postcode = None
    try:
        postcode = parse_postcode(body.get("postcode"))
    except ValidationError as exc:
        problems += exc.problems
    texts = {"what_good": body.get("what_was_good"),
             "could_improve": body.get("what_could_be_better"), "other": body.get("comment")}
    for question, text in texts.items():
        if text is not None and len(str(text)) > MAX_API_CHARS:
            problems.append(ValidationError(
                "The comment is too long", column=question,
                expected=f"at most {MAX_API_CHARS:,} characters").problems[0])
    if rating is None and not any(t and str(t).strip() for t in texts.values()) and not problems:
        problems.append(ValidationError("Send a rating or a comment", column="rating",
                                        expected="a rating or a comment").problems[0])
    if problems:
        raise ValidationError(problems=problems, code="invalid_feedback")
    submitted = body.get("submitted_at") or utcnow()
    if submitted.tzinfo is None:
        submitted = submitted.replace(tzinfo=dt.UTC)
    if submitted > utcnow() + dt.timedelta(days=1):
        raise ValidationError("The time is in the future", column="submitted_at",
                              code="invalid_time")
    place = deprivation(postcode, settings)
    response = FeedbackResponse(
        service_id=svc.id, period=period_of(submitted), submitted_at=submitted, source="api",
        rating=rating, postcode_district=place.district, lsoa_code=place.lsoa,
        imd_decile=place.decile, api_account_id=account.id, idempotency_key=key,
        request_hash=digest, completed_at=utcnow(),
        **{k: v for k, v in equality.items() if v is not None})
    session.add(response)
    try:
        session.flush()
    except IntegrityError:
        # Another request with the same key got there first: answer as it was answered.
        session.rollback()
        earlier = _earlier(session, account, key) if key else None
        if earlier is None:
            raise
        return _replay(earlier, digest)
    cipher = original_text(settings)
    stored = [c for q, t in texts.items() if (c := set_comment(session, response, q, t, cipher))]
    reply = {"id": response.id, "service": svc.slug, "period": response.period,
             "rating": rating,
             "deprivation": "known" if place.decile is not None else "not known",
             "comments": [{"question": c.question, "text": c.text,
                           "redacted": c.redacted_kinds.split(",") if c.redacted_kinds else [],
                           "flags": c.flag_list} for c in stored]}
    response.api_reply = reply
    audit.record(session, "listen.feedback.api", actor=account, record_type="listen_response",
                 record_id=response.id, organisation_id=svc.organisation_id)
    return 201, reply, False


def _earlier(session: Session, account: Account, key: str) -> FeedbackResponse | None:
    return session.scalar(select(FeedbackResponse).where(
        FeedbackResponse.api_account_id == account.id,
        FeedbackResponse.idempotency_key == key))


def _replay(earlier: FeedbackResponse, digest: str) -> tuple[int, dict, bool]:
    if earlier.request_hash != digest:
        raise Conflict("This Idempotency-Key was already used for a different request. Use a "
                       "new key for new feedback.", code="idempotency_key_reused")
    return 201, dict(earlier.api_reply or {}), True


# -------------------------------------------------------------------------- imports


def mapping_from_row(row: ImportMapping) -> importing.ColumnMapping:
    return importing.ColumnMapping(row.name, row.supplier, dict(row.columns or {}),
                                   dict(row.rating_values or {}), row.date_format,
                                   row.encoding, row.service.slug if row.service else None)


def list_mappings(session: Session) -> list[ImportMapping]:
    return list(session.scalars(select(ImportMapping).order_by(ImportMapping.name)))


def get_mapping(session: Session, name: str) -> ImportMapping:
    row = session.scalar(select(ImportMapping).where(ImportMapping.name == str(name).strip()))
    if row is None:
        known = ", ".join(m.name for m in list_mappings(session)) or "none yet"
        raise ValidationError(f"No mapping is called '{str(name)[:80]}'", column="--mapping",
                              expected=f"a saved mapping ({known})", code="unknown_mapping")
    return row


def save_mapping(session: Session, mapping: importing.ColumnMapping, *,
                 actor: Account | None = None, mapping_id: int | None = None,
                 organisation_ids: set[int] | None = None) -> ImportMapping:
    """Create or change a supplier's mapping (checked first; a bad mapping changes nothing)."""
    mapping = importing.check_mapping(mapping)
    service = None
    if mapping.service:
        service = session.scalar(select(Service).where(Service.slug == mapping.service))
        if service is None or (organisation_ids is not None
                               and service.organisation_id not in organisation_ids):
            raise ValidationError(f"No service has the short link '{mapping.service}'",
                                  column="service_id", code="unknown_service")
    clash = session.scalar(select(ImportMapping).where(ImportMapping.name == mapping.name))
    if mapping_id is None:
        if clash is not None:
            raise Conflict(f"A mapping called '{mapping.name}' already exists",
                           code="duplicate_mapping")
        row = ImportMapping(name=mapping.name, created_by=actor.id if actor else None)
        session.add(row)
    else:
        row = session.get(ImportMapping, mapping_id)
        if row is None:
            raise NotFound("We could not find that mapping.")
        if clash is not None and clash.id != row.id:
            raise Conflict(f"A mapping called '{mapping.name}' already exists",
                           code="duplicate_mapping")
        row.name = mapping.name
    row.supplier, row.columns = mapping.supplier, dict(mapping.columns)
    row.rating_values, row.date_format = dict(mapping.rating_values), mapping.date_format
    row.encoding, row.service = mapping.encoding, service
    row.updated_at = utcnow()
    session.flush()
    audit.record(session, "listen.mapping.save", actor=actor, record_type="listen_mapping",
                 record_id=row.id)
    return row


def service_finder(session: Session, organisation_ids: set[int] | None
                   ) -> Callable[[str], int | None]:
    """Match a service cell to a service: short link, name (if unique), or 'ODS: name'."""
    services = core_services(session, organisation_ids)
    by_slug = {s.slug: s.id for s in services}
    by_name: dict[str, list[int]] = {}
    for s in services:
        by_name.setdefault(s.name.casefold(), []).append(s.id)
        by_name.setdefault(f"{s.organisation.ods_code}: {s.name}".casefold(), []).append(s.id)

    def find(text: str) -> int | None:
        key = " ".join(text.split())
        if key.lower() in by_slug:
            return by_slug[key.lower()]
        ids = by_name.get(key.casefold(), [])
        return ids[0] if len(ids) == 1 else None

    return find


def core_services(session: Session, organisation_ids: set[int] | None) -> list[Service]:
    stmt = select(Service).options(selectinload(Service.organisation)).order_by(Service.name)
    if organisation_ids is not None:
        stmt = stmt.where(Service.organisation_id.in_(sorted(organisation_ids)))
    return list(session.scalars(stmt))


@dataclass
class ImportResult:
    import_id: int
    file: str
    rows: int
    added: int
    skipped: int
    encoding: str | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def import_file(session: Session, path: str | Path, mapping_name: str, *,
                settings: Settings, actor: Account | None = None,
                organisation_ids: set[int] | None = None, display_name: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import a supplier's file through its saved mapping, all or nothing.

    Every row is checked first (a bad file changes nothing and reports every problem with
    row and column); then responses and redacted comments are stored in the caller's
    transaction. Rows whose response id this supplier has already sent are skipped, so the
    same file imported twice adds nothing. The caller commits.
    """
    row = get_mapping(session, mapping_name)
    mapping = mapping_from_row(row)
    path = Path(path)
    table = importing.read_table(path, encoding=mapping.encoding, display_name=display_name)
    default = row.service_id
    if default is not None and organisation_ids is not None and \
            row.service.organisation_id not in organisation_ids:
        raise PermissionDenied("This mapping is for a service you cannot import for.")
    checked = importing.check_rows(table, mapping,
                                   find_service=service_finder(session, organisation_ids),
                                   default_service=default)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    known = set()
    ids = [r.response_id for r in checked]
    for start in range(0, len(ids), 500):
        known.update(session.scalars(select(FeedbackResponse.supplier_response_id).where(
            FeedbackResponse.supplier == mapping.supplier,
            FeedbackResponse.supplier_response_id.in_(ids[start:start + 500]))))
    # Redact first (the slow part, with progress), then write everything in one short burst:
    # a long write transaction would also block progress updates on SQLite.
    cipher = original_text(settings)
    fresh = [r for r in checked if r.response_id not in known]
    now = utcnow()
    responses, comments = [], []
    for done, item in enumerate(fresh, start=1):
        place = deprivation(item.postcode, settings)
        responses.append({
            "service_id": item.service_id, "period": period_of(item.submitted_at),
            "submitted_at": item.submitted_at, "source": "import", "rating": item.rating,
            "postcode_district": place.district, "lsoa_code": place.lsoa,
            "imd_decile": place.decile, "supplier": mapping.supplier,
            "supplier_response_id": item.response_id, "completed_at": now, "created_at": now,
            **{field: item.equality.get(field) for field in EQUITY_COLUMNS}})
        comments.append([(question, prepare_text(text, cipher))
                         for question, text in item.comments.items()])
        if progress is not None and (done % 50 == 0 or done == len(fresh)):
            progress(done, len(fresh))
    run = ImportRun(mapping_id=row.id, file_name=table.file[:255], sha256=digest,
                    rows=len(checked), added=len(fresh), skipped=len(checked) - len(fresh),
                    imported_by=actor.id if actor else None)
    session.add(run)
    session.flush()
    for values in responses:
        values["import_id"] = run.id
    ids = list(session.scalars(insert(FeedbackResponse).returning(
        FeedbackResponse.id, sort_by_parameter_order=True), responses)) if responses else []
    rows = [{"response_id": rid, "question": question, "text": p.text,
             "redacted_kinds": p.kinds, "flags": p.flags, "words": p.words,
             "original_encrypted": p.original, "created_at": now}
            for rid, answers in zip(ids, comments, strict=True) for question, p in answers]
    if rows:
        session.execute(insert(FeedbackComment), rows)
    audit.record(session, "listen.import", actor=actor, record_type="listen_import",
                 record_id=run.id, summary=f"Imported {run.added} responses "
                 f"({run.skipped} already there)")
    return ImportResult(run.id, table.file, len(checked), run.added, run.skipped, table.encoding)


def list_imports(session: Session, limit: int = 20) -> list[ImportRun]:
    return list(session.scalars(select(ImportRun).options(selectinload(ImportRun.mapping))
                                .order_by(ImportRun.id.desc()).limit(limit)))


# -------------------------------------------------------------------------- replies


def save_reply(session: Session, comment: FeedbackComment, *, text: str, changed: bool,
               publish: bool, actor: Account) -> ServiceReply:
    """Write (or change) the service's reply to a comment; publish or withdraw it."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("Enter your reply", column="reply_text", code="required")
    if len(text) > 2000:
        raise ValidationError("Your reply must be 2,000 characters or fewer",
                              column="reply_text", code="too_long")
    reply = comment.reply or ServiceReply(comment_id=comment.id, author_id=actor.id)
    reply.text, reply.changed_something = text, bool(changed)
    reply.published_at = (reply.published_at or utcnow()) if publish else None
    reply.updated_at = utcnow()
    session.add(reply)
    session.flush()
    audit.record(session, "listen.reply.save", actor=actor, record_type="listen_comment",
                 record_id=comment.id,
                 organisation_id=comment.response.service.organisation_id,
                 summary="Published a reply" if publish else "Saved a reply (not published)")
    return reply


def published_replies(session: Session, service: Service, limit: int = 50) -> list[dict]:
    """The service's published replies with the (redacted) comments they answer."""
    rows = session.execute(
        select(ServiceReply, FeedbackComment, FeedbackResponse.period)
        .join(FeedbackComment, FeedbackComment.id == ServiceReply.comment_id)
        .join(FeedbackResponse, FeedbackResponse.id == FeedbackComment.response_id)
        .where(FeedbackResponse.service_id == service.id, ServiceReply.published_at.is_not(None))
        .order_by(ServiceReply.published_at.desc()).limit(limit)).all()
    return [{"said": c.text, "question": c.question, "reply": r.text,
             "changed": r.changed_something, "published": r.published_at, "period": period}
            for r, c, period in rows]


# ------------------------------------------------------------------------ originals


def can_read_originals(session: Session, account: Account) -> bool:
    """The patient-experience permission: an administrator or analyst listed as a reader."""
    if account.role not in (Role.admin, Role.analyst):
        return False
    return session.get(OriginalTextReader, account.id) is not None


def grant_original_reader(session: Session, account: Account, *, actor: Account | None,
                          grant: bool = True) -> None:
    if grant and account.role not in (Role.admin, Role.analyst):
        raise ValidationError("Only administrators and analysts can be given the "
                              "patient-experience permission", column="email",
                              code="wrong_role")
    row = session.get(OriginalTextReader, account.id)
    if grant and row is None:
        session.add(OriginalTextReader(account_id=account.id,
                                       granted_by=actor.id if actor else None))
    elif not grant and row is not None:
        session.delete(row)
    audit.record(session, "listen.originals.grant" if grant else "listen.originals.revoke",
                 actor=actor, record_type="account", record_id=account.id)


def read_original(session: Session, account: Account, comment: FeedbackComment,
                  settings: Settings) -> str | None:
    """The original text of a comment for the patient-experience role (audited)."""
    if not can_read_originals(session, account):
        raise PermissionDenied("Only the patient-experience team can read original comments.")
    if comment.original_encrypted is None or not settings.keep_original_text:
        return None
    audit.record(session, "listen.original.view", actor=account, record_type="listen_comment",
                 record_id=comment.id,
                 organisation_id=comment.response.service.organisation_id)
    return OriginalText(settings.resolved_secret_key()).decrypt(comment.original_encrypted)


# ------------------------------------------------------------------ for the measure area

def _scoped(stmt, organisation_ids: set[int] | None, periods: list[str] | None):
    if organisation_ids is not None:
        stmt = stmt.where(Service.organisation_id.in_(sorted(organisation_ids)))
    if periods is not None:
        stmt = stmt.where(FeedbackResponse.period.in_(sorted(set(periods))))
    return stmt


def responses_frame(session: Session, organisation_ids: set[int] | None = None,
                    periods: list[str] | None = None) -> pl.DataFrame:
    """One row per stored response with a rating (see the module docstring)."""
    stmt = _scoped(
        select(Organisation.ods_code, Service.name, FeedbackResponse.period,
               FeedbackResponse.rating, *[getattr(FeedbackResponse, c) for c in EQUITY_COLUMNS],
               FeedbackResponse.imd_decile)
        .join(Service, Service.id == FeedbackResponse.service_id)
        .join(Organisation, Organisation.id == Service.organisation_id)
        .where(FeedbackResponse.rating.is_not(None)), organisation_ids, periods)
    rows = session.execute(stmt).all()
    data = {"organisation": [], "service": [], "period": [], "rating": [],
            **{c: [] for c in EQUITY_COLUMNS}, "imd_decile": [], "imd_quintile": []}
    for row in rows:
        org, svc, period, rating, *equity, decile = row
        data["organisation"].append(org)
        data["service"].append(svc)
        data["period"].append(period)
        data["rating"].append(rating)
        for name, value in zip(EQUITY_COLUMNS, equity):
            data[name].append(dimension_code(name, value))
        data["imd_decile"].append(None if decile is None else str(decile))
        quintile = imd_quintile(decile)
        data["imd_quintile"].append(None if quintile is None else str(quintile))
    return pl.DataFrame(data, schema={k: pl.String for k in data})


def labels_and_themes(session: Session, ids: list[int]
                      ) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """The theme labels and I-statement themes of each comment (fetched in chunks)."""
    labels: dict[int, list[str]] = {i: [] for i in ids}
    themes: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for cid, label in session.execute(select(CommentLabel.comment_id, CommentLabel.label)
                                          .where(CommentLabel.comment_id.in_(chunk))):
            labels[cid].append(label)
        for cid, theme in session.execute(select(CommentTheme.comment_id, CommentTheme.theme)
                                          .where(CommentTheme.comment_id.in_(chunk))):
            themes[cid].append(theme)
    return labels, themes


def comments_frame(session: Session, organisation_ids: set[int] | None = None,
                   periods: list[str] | None = None) -> pl.DataFrame:
    """One row per classified (or coded) comment (see the module docstring)."""
    from voices.listen.classifier import SENTIMENT_3

    stmt = _scoped(
        select(FeedbackComment.id, Organisation.ods_code, Service.name, FeedbackResponse.period,
               FeedbackComment.question, FeedbackResponse.rating, FeedbackComment.sentiment)
        .join(FeedbackResponse, FeedbackResponse.id == FeedbackComment.response_id)
        .join(Service, Service.id == FeedbackResponse.service_id)
        .join(Organisation, Organisation.id == Service.organisation_id)
        .where(FeedbackComment.classified_at.is_not(None) | FeedbackComment.coded_at.is_not(None))
        .order_by(FeedbackComment.id), organisation_ids, periods)
    rows = session.execute(stmt).all()
    ids = [r[0] for r in rows]
    labels, themes = labels_and_themes(session, ids)
    return pl.DataFrame({
        "comment_id": ids,
        "organisation": [r[1] for r in rows], "service": [r[2] for r in rows],
        "period": [r[3] for r in rows], "question": [r[4] for r in rows],
        "rating": [r[5] for r in rows],
        "themes": [sorted(labels[i]) for i in ids],
        "sentiment": [r[6] for r in rows],
        "sentiment_3": [SENTIMENT_3.get(r[6]) if r[6] else None for r in rows],
        "i_statement_themes": [sorted(themes[i]) for i in ids],
    }, schema={"comment_id": pl.Int64, "organisation": pl.String, "service": pl.String,
               "period": pl.String, "question": pl.String, "rating": pl.String,
               "themes": pl.List(pl.String), "sentiment": pl.Int64, "sentiment_3": pl.String,
               "i_statement_themes": pl.List(pl.String)})


# ------------------------------------------------------------------------- overview


def overview(session: Session, organisation_ids: set[int] | None) -> dict:
    """Counts for the listen landing page."""
    base = (select(func.count()).select_from(FeedbackComment)
            .join(FeedbackResponse, FeedbackResponse.id == FeedbackComment.response_id)
            .join(Service, Service.id == FeedbackResponse.service_id))
    responses = select(func.count()).select_from(FeedbackResponse).join(
        Service, Service.id == FeedbackResponse.service_id)
    if organisation_ids is not None:
        base = base.where(Service.organisation_id.in_(sorted(organisation_ids)))
        responses = responses.where(Service.organisation_id.in_(sorted(organisation_ids)))
    return {
        "responses": session.scalar(responses) or 0,
        "comments": session.scalar(base) or 0,
        "unclassified": session.scalar(base.where(FeedbackComment.classified_at.is_(None),
                                                  FeedbackComment.coded_at.is_(None))) or 0,
        "to_review": session.scalar(base.where(FeedbackComment.classified_at.is_not(None),
                                               FeedbackComment.coded_at.is_(None))) or 0,
        "reviewed": session.scalar(base.where(FeedbackComment.coded_at.is_not(None))) or 0,
    }
