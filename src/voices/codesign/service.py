"""Co-design conversations in the database: opening them, joining, voting one statement at
a time, adding and moderating statements, and keeping the opinion map up to date.

Routes and CLI commands call these functions. Each validates its input, changes nothing
when it refuses (the caller commits or rolls back), and writes the audit log for every
view or export of personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import BigInteger, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voices import jobs
from voices.codesign.models import (
    Conversation,
    OpinionMapRecord,
    Participant,
    Review,
    Statement,
    StatementStatus,
    Vote,
)
from voices.codesign.opinion import MapState, OpinionMap
from voices.codesign.results import QUESTIONS, UNKNOWN_ANSWERS, summarise_map
from voices.codesign.votes import VoteMatrix
from voices.core import audit
from voices.core.models import Account, Organisation
from voices.core.service import _text, slugify
from voices.db import utcnow
from voices.equity.dimensions import (
    AGE_BANDS_BROAD,
    DIMENSIONS,
    ETHNIC_GROUPS,
    NOT_KNOWN,
    PREFER_NOT_TO_SAY,
    YES_NO,
)
from voices.errors import Conflict, NotFound, ValidationError, VoicesError

#: the longest statement, in characters (Pol.is allows 140)
STATEMENT_LENGTH = 140
MAP_JOB = "codesign.map"
CHOICES = {"agree": (1, False), "disagree": (-1, False), "pass": (0, False),
           "unclear": (0, True)}


class ConversationClosed(VoicesError):
    code = "conversation_closed"
    status = 409


def map_job_key(conversation_id: int) -> str:
    return f"{MAP_JOB}:{conversation_id}"


# ----------------------------------------------------------------- conversations


def _statement_text(value: object, field: str = "text") -> str:
    """A statement as people will read it: one line, 1 to 140 characters."""
    text = re.sub(r"\s+", " ", "" if value is None else str(value)).strip()
    if not text:
        raise ValidationError("Enter your statement", column=field, code="required")
    if len(text) > STATEMENT_LENGTH:
        raise ValidationError(f"Your statement must be {STATEMENT_LENGTH} characters or fewer. "
                              f"It has {len(text)}.", column=field, code="too_long",
                              expected=f"at most {STATEMENT_LENGTH} characters")
    if any(ord(c) < 32 for c in text):
        raise ValidationError("Your statement must not contain control characters",
                              column=field, code="invalid_characters")
    return text


def _unique_slug(db: Session, text: str) -> str:
    base = slugify(text)[:60].strip("-") or "conversation"
    slug, n = base, 2
    while db.scalar(select(Conversation.id).where(Conversation.slug == slug)):
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_conversation(db: Session, *, organisation_id: int, question: str,
                        background: str = "", seed_statements: Sequence[str] = (),
                        opens_at: dt.datetime | None = None,
                        closes_at: dt.datetime | None = None, moderation: bool = True,
                        demographics: Sequence[str] = (), slug: str | None = None,
                        actor: Account | None = None, source: str = "voices") -> Conversation:
    """Open a conversation with its seed statements (shown to voters straight away)."""
    if db.get(Organisation, organisation_id) is None:
        raise ValidationError("Choose the organisation running this conversation",
                              column="organisation_id", code="unknown_organisation")
    question = _text(question, "question", "the question", max_length=300)
    background = (background or "").replace("\r\n", "\n").strip()
    if len(background) > 5000:
        raise ValidationError("The background must be 5,000 characters or fewer",
                              column="background", code="too_long")
    unknown = [q for q in demographics if q not in QUESTIONS]
    if unknown:
        raise ValidationError(f"'{unknown[0][:30]}' is not a question Voices can ask",
                              column="demographics", expected="one of " + ", ".join(QUESTIONS))
    opens_at = opens_at or utcnow()
    if closes_at is not None and closes_at <= opens_at:
        raise ValidationError("The closing date must be after the opening date",
                              column="closes_at", code="invalid_dates")
    seeds, seen = [], set()
    problems = []
    for i, raw in enumerate(seed_statements, start=1):
        if not str(raw).strip():
            continue
        try:
            text = _statement_text(raw, "seed_statements")
        except ValidationError as exc:
            problems.append(f"Seed statement {i}: {exc.problems[0].message}")
            continue
        if text.lower() not in seen:
            seen.add(text.lower())
            seeds.append(text)
    if problems:
        raise ValidationError(problems[0], column="seed_statements", code="invalid_statement")
    if slug:
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{1,78}[a-z0-9])", slug):
            raise ValidationError("The short link must be 3 to 80 lower-case letters, numbers "
                                  "and hyphens", column="slug", code="invalid_slug")
        if db.scalar(select(Conversation.id).where(Conversation.slug == slug)):
            raise Conflict(f"The short link '{slug}' is already in use", code="duplicate_slug")
    conversation = Conversation(
        organisation_id=organisation_id, slug=slug or _unique_slug(db, question),
        question=question, background=background, opens_at=opens_at, closes_at=closes_at,
        moderation=bool(moderation), demographics=list(dict.fromkeys(demographics)),
        created_by=actor.id if actor else None, source=source)
    db.add(conversation)
    db.flush()
    now = min(utcnow(), opens_at)
    for number, text in enumerate(seeds):
        db.add(Statement(conversation_id=conversation.id, number=number, text=text, seed=True,
                         status=StatementStatus.accepted, created_at=now, moderated_at=now,
                         moderated_by=actor.id if actor else None))
    db.flush()
    audit.record(db, "codesign.conversation.create", actor=actor,
                 record_type="codesign_conversation", record_id=conversation.id,
                 organisation_id=organisation_id, summary="Opened a co-design conversation")
    return conversation


def list_conversations(db: Session, organisation_ids: set[int] | None) -> list[Conversation]:
    query = select(Conversation).order_by(Conversation.opens_at.desc(), Conversation.id.desc())
    if organisation_ids is not None:
        query = query.where(Conversation.organisation_id.in_(organisation_ids))
    return list(db.scalars(query))


def open_conversations(db: Session, now: dt.datetime | None = None) -> list[Conversation]:
    now = now or utcnow()
    return list(db.scalars(select(Conversation).where(
        Conversation.opens_at <= now,
        (Conversation.closes_at.is_(None)) | (Conversation.closes_at > now),
    ).order_by(Conversation.opens_at.desc())))


def get_conversation(db: Session, conversation_id: int,
                     organisation_ids: set[int] | None = None) -> Conversation:
    """A conversation by id, refused as not found outside the account's organisations."""
    conversation = db.get(Conversation, conversation_id)
    if conversation is None or (organisation_ids is not None
                                and conversation.organisation_id not in organisation_ids):
        raise NotFound("We could not find that conversation.")
    return conversation


def conversation_by_slug(db: Session, slug: str) -> Conversation:
    conversation = db.scalar(select(Conversation).where(Conversation.slug == slug[:80]))
    if conversation is None:
        raise NotFound("We could not find that conversation. Check the link you were given.")
    return conversation


def close_conversation(db: Session, conversation: Conversation, actor: Account) -> None:
    now = utcnow()
    conversation.closes_at = max(conversation.opens_at, now)
    audit.record(db, "codesign.conversation.close", actor=actor,
                 record_type="codesign_conversation", record_id=conversation.id,
                 organisation_id=conversation.organisation_id, summary="Closed the conversation")


def set_population(db: Session, conversation: Conversation, population: dict,
                   actor: Account | None = None) -> None:
    """Set the local population that who took part is compared with:
    ``{question: {answer code: percent}}``; each question's percentages add up to about 100."""
    clean: dict[str, dict[str, float]] = {}
    for question, shares in (population or {}).items():
        if question not in QUESTIONS:
            raise ValidationError(f"'{str(question)[:30]}' is not a question Voices asks",
                                  column="population", expected=", ".join(QUESTIONS))
        spec = DIMENSIONS[question]
        values = {}
        for code, share in (shares or {}).items():
            if code not in spec.codes or code in UNKNOWN_ANSWERS:
                raise ValidationError(f"'{str(code)[:30]}' is not an answer to the "
                                      f"{spec.label.lower()} question", column=question,
                                      expected=", ".join(spec.known_codes()))
            try:
                number = float(share)
            except (TypeError, ValueError):
                raise ValidationError(f"'{str(share)[:20]}' is not a percentage",
                                      column=f"{question}.{code}",
                                      expected="a number from 0 to 100") from None
            if not 0 <= number <= 100:
                raise ValidationError(f"{number:g} is not a percentage",
                                      column=f"{question}.{code}",
                                      expected="a number from 0 to 100")
            values[code] = number
        if values and not 95 <= sum(values.values()) <= 105:
            raise ValidationError(f"The {spec.label.lower()} percentages add up to "
                                  f"{sum(values.values()):g}", column=question,
                                  expected="percentages that add up to 100")
        if values:
            clean[question] = values
    conversation.population = clean or None
    audit.record(db, "codesign.conversation.population", actor=actor,
                 record_type="codesign_conversation", record_id=conversation.id,
                 organisation_id=conversation.organisation_id,
                 summary="Set the local population to compare with")


# ------------------------------------------------------------------ participants


def key_hash(key: str) -> str:
    """What is stored for an anonymous participant: a hash of the random id in their cookie."""
    return hashlib.sha256(("codesign:" + key).encode()).hexdigest()


def find_participant(db: Session, conversation: Conversation, *, key: str | None = None,
                     account: Account | None = None) -> Participant | None:
    if account is not None:
        return db.scalar(select(Participant).where(
            Participant.conversation_id == conversation.id, Participant.account_id == account.id))
    if key:
        return db.scalar(select(Participant).where(
            Participant.conversation_id == conversation.id,
            Participant.key_hash == key_hash(key)))
    return None


def _next_number(db: Session, model, conversation_id: int) -> int:
    """The next per-conversation number (Pol.is ids start at 0)."""
    top = db.scalar(select(func.max(model.number)).where(model.conversation_id == conversation_id))
    return 0 if top is None else top + 1


def _add_numbered(db: Session, model, conversation_id: int, **values):
    """Insert a row with the next number, retrying if someone else took it meanwhile. On
    PostgreSQL a transaction lock on "numbering this conversation's rows" makes people who
    join at the same moment wait their turn (a few ms) instead of colliding (under load,
    eight collisions in a row were common)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(func.pg_advisory_xact_lock(func.hashtext(model.__tablename__),
                                                     conversation_id)))
    for _ in range(8):
        row = model(conversation_id=conversation_id,
                    number=_next_number(db, model, conversation_id), **values)
        try:
            with db.begin_nested():
                db.add(row)
                db.flush()
            return row
        except IntegrityError:
            continue
    raise Conflict("Too many people are joining at once. Try again in a moment.",
                   code="busy")


def check_open(conversation: Conversation, now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    if conversation.has_closed(now):
        raise ConversationClosed("This conversation has closed, so it no longer takes votes "
                                 "or statements. Thank you for your interest.")
    if not conversation.is_open(now):
        raise ConversationClosed("This conversation has not opened yet. Come back on "
                                 f"{conversation.opens_at:%d %B %Y}.")


def join(db: Session, conversation: Conversation, *, key: str | None = None,
         account: Account | None = None) -> Participant:
    """Join a conversation (or return the existing participant): anonymous with the random
    ``key`` from the browser's cookie, or as a signed-in account."""
    check_open(conversation)
    if account is None and not key:
        raise ValidationError("Joining needs a participant id", code="no_participant")
    existing = find_participant(db, conversation, key=key, account=account)
    if existing is not None:
        return existing
    values = {"account_id": account.id} if account is not None else {"key_hash": key_hash(key)}
    try:
        return _add_numbered(db, Participant, conversation.id, **values)
    except Conflict:
        existing = find_participant(db, conversation, key=key, account=account)
        if existing is None:
            raise
        return existing


@dataclass(frozen=True)
class Question:
    """One optional question about the participant."""

    name: str
    title: str
    why: str
    options: list[tuple[str, str]]    # (code, label); "prefer_not_to_say" last
    free_text: bool = False


IMD_SELF_REPORT = [("1", "One of the poorest areas"), ("2", "Poorer than most areas"),
                   ("3", "About average"), ("4", "Better off than most areas"),
                   ("5", "One of the best-off areas"), ("not_sure", "I'm not sure")]


def question(name: str, *, postcode_lookup: bool = False) -> Question:
    """The wording of an optional question (plain English, with why we ask)."""
    prefer = (PREFER_NOT_TO_SAY, "Prefer not to say")
    if name == "age_band":
        options = [(c, label) for c, label in AGE_BANDS_BROAD.items() if c != NOT_KNOWN]
        return Question(name, "How old are you?", DIMENSIONS[name].why_we_ask,
                        options + [prefer])
    if name == "ethnic_group":
        options = [(c, label) for c, label in ETHNIC_GROUPS.items() if c != NOT_KNOWN]
        return Question(name, "What is your ethnic group?", DIMENSIONS["ethnic_category"]
                        .why_we_ask, options + [prefer])
    if name == "disability":
        options = [(c, label) for c, label in YES_NO.items() if c in ("yes", "no")]
        return Question(name, "Do you have a disability or long-term health condition?",
                        DIMENSIONS[name].why_we_ask, options + [prefer])
    if name == "imd_quintile":
        why = ("To check that people from poorer areas are heard as much as everyone else.")
        if postcode_lookup:
            return Question(name, "What is your postcode?",
                            why + " We use your postcode only to find how well-off your area "
                            "is, then we forget it: it is never stored.", [prefer],
                            free_text=True)
        return Question(name, "Compared with the rest of England, how well-off is the area "
                        "you live in?", why, IMD_SELF_REPORT + [prefer])
    raise NotFound("We could not find that question.")


_LSOA = re.compile(r"E0[12][0-9]{6}")
_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}")


@lru_cache(maxsize=4)
def _imd_lookup(path: str):
    from voices.equity.imd import ImdLookup

    return ImdLookup.from_csv(Path(path))


@lru_cache(maxsize=2)
def _postcode_lookup(path: str) -> dict[str, str]:
    frame = pl.read_csv(path, infer_schema=False, glob=False)
    columns = {c.lower(): c for c in frame.columns}
    postcode = next((columns[c] for c in ("pcds", "postcode", "pcd") if c in columns), None)
    lsoa = next((columns[c] for c in ("lsoa21cd", "lsoa21", "lsoa_code", "lsoa") if c in columns),
                None)
    if postcode is None or lsoa is None:
        raise ValidationError("the postcode lookup needs a postcode and an LSOA column",
                              file=path, expected="pcds and lsoa21cd columns")
    keys = frame[postcode].str.replace_all(" ", "").str.to_uppercase().to_list()
    return dict(zip(keys, frame[lsoa].to_list()))


def postcode_lookup_path(data_dir: Path) -> Path:
    """Where an ONS postcode → LSOA (2021) lookup is looked for, beside Voices' other data."""
    return Path(data_dir) / "postcode_lsoa21.csv"


def area_quintile(text: str, *, imd_path: Path, data_dir: Path) -> str:
    """The IMD quintile of a postcode or LSOA code (the postcode itself is never kept)."""
    value = re.sub(r"\s+", " ", text.strip().upper())
    lookup = _imd_lookup(str(imd_path))
    lsoa = value if _LSOA.fullmatch(value) else None
    if lsoa is None:
        if not _POSTCODE.fullmatch(value):
            raise ValidationError("Enter a full postcode, like LS1 4AP", column="answer",
                                  code="invalid_postcode")
        path = postcode_lookup_path(data_dir)
        if path.is_file():
            lsoa = _postcode_lookup(str(path)).get(value.replace(" ", ""))
    decile = lookup.decile(lsoa) if lsoa else None
    if decile is None:
        return NOT_KNOWN
    return str((decile + 1) // 2)


def answer(db: Session, participant: Participant, name: str, value: str, *,
           imd_path: Path | None = None, data_dir: Path | None = None) -> None:
    """Record the answer to an optional question (validated against its options)."""
    spec = question(name, postcode_lookup=imd_path is not None)
    value = (value or "").strip()
    if spec.free_text and value != PREFER_NOT_TO_SAY:
        if not value:
            raise ValidationError("Enter your postcode, or choose 'Prefer not to say'",
                                  column="answer", code="required")
        participant.imd_quintile = area_quintile(value, imd_path=imd_path,
                                                 data_dir=data_dir or Path("."))
        participant.imd_source = "postcode"
        return
    allowed = {code for code, _ in spec.options}
    if value not in allowed:
        raise ValidationError("Choose one of the answers, or 'Prefer not to say'",
                              column="answer", code="required")
    setattr(participant, name, value)
    if name == "imd_quintile":
        participant.imd_source = "self"


# ------------------------------------------------------------------------ voting


def next_statement(db: Session, conversation: Conversation,
                   participant: Participant | None) -> Statement | None:
    """The next statement for this participant: one they have not voted on, in an order
    shuffled differently for each participant (so no statement is always seen first)."""
    query = select(Statement).where(Statement.conversation_id == conversation.id,
                                    Statement.status == StatementStatus.accepted)
    salt = 0
    if participant is not None:
        voted = select(Vote.statement_id).where(Vote.participant_id == participant.id)
        query = query.where(Statement.id.not_in(voted))
        salt = participant.id
    # a permutation of the statements that differs from one participant to the next:
    # multiplying by a participant-dependent factor modulo a prime (64-bit arithmetic)
    factor = (salt * 2654435761 + 12345) % 1000003 or 1
    order = (cast(Statement.id, BigInteger) * factor) % 1000003
    return db.scalar(query.order_by(order, Statement.id).limit(1))


def current_vote(db: Session, participant: Participant, statement: Statement) -> str | None:
    """This participant's vote on a statement: agree, disagree, pass, unclear or None."""
    row = db.execute(select(Vote.vote, Vote.unclear).where(
        Vote.participant_id == participant.id, Vote.statement_id == statement.id)).first()
    if row is None:
        return None
    return "unclear" if row.unclear else {1: "agree", -1: "disagree", 0: "pass"}[row.vote]


def progress(db: Session, conversation: Conversation,
             participant: Participant | None) -> tuple[int, int]:
    """(statements voted on, statements there are to vote on) for a participant."""
    total = db.scalar(select(func.count()).select_from(Statement).where(
        Statement.conversation_id == conversation.id,
        Statement.status == StatementStatus.accepted)) or 0
    if participant is None:
        return 0, total
    voted = db.scalar(select(func.count()).select_from(Vote).join(
        Statement, Statement.id == Vote.statement_id).where(
        Vote.participant_id == participant.id,
        Statement.status == StatementStatus.accepted)) or 0
    return voted, total


def _upsert_vote(db: Session, values: dict) -> None:
    """Insert a vote, or change the existing vote of this participant on this statement."""
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Vote).values(**values)
    db.execute(statement.on_conflict_do_update(
        index_elements=["participant_id", "statement_id"],
        set_={"vote": statement.excluded.vote, "unclear": statement.excluded.unclear,
              "voted_at": statement.excluded.voted_at}))


def cast_vote(db: Session, conversation: Conversation, participant: Participant,
              statement_number: object, choice: str) -> Statement:
    """Store a vote (latest wins) and ask for the opinion map to be updated.

    Refuses, changing nothing: a closed conversation, a choice that is not agree /
    disagree / pass / unclear, and a statement that does not exist or is not shown to
    voters (waiting for moderation, or moderated out).
    """
    if choice not in CHOICES:
        raise ValidationError("Choose agree, disagree, pass or 'I don't understand this'",
                              column="vote", code="invalid_vote",
                              expected="agree, disagree, pass or unclear")
    check_open(conversation)
    try:
        number = int(str(statement_number))
    except ValueError:
        number = None
    statement = None if number is None else db.scalar(select(Statement).where(
        Statement.conversation_id == conversation.id, Statement.number == number))
    if statement is None or statement.status is not StatementStatus.accepted:
        raise NotFound("That statement is not in this conversation, or is not open for "
                       "votes yet.", code="statement_not_found")
    vote, unclear = CHOICES[choice]
    _upsert_vote(db, {"participant_id": participant.id, "statement_id": statement.id,
                      "conversation_id": conversation.id, "vote": vote, "unclear": unclear,
                      "voted_at": utcnow()})
    if unclear and statement.review is Review.none:
        db.execute(update(Statement).where(Statement.id == statement.id,
                                           Statement.review == Review.none)
                   .values(review=Review.needed))
    jobs.enqueue(db, MAP_JOB, {"conversation_id": conversation.id},
                 key=map_job_key(conversation.id), organisation_id=conversation.organisation_id)
    return statement


# -------------------------------------------------------------------- statements


#: what the redactor's kinds of personal detail are called on the moderation page
PERSONAL_DETAILS = {"NAME": "a name", "PHONE": "a phone number", "EMAIL": "an email address",
                    "POSTCODE": "a postcode", "ADDRESS": "an address",
                    "NHS_NUMBER": "an NHS number", "DATE_OF_BIRTH": "a date of birth"}


def personal_details(text: str) -> list[str]:
    """What personal details a statement may hold, in words ("a phone number"), as found by
    the redactor that Listen uses on feedback (names, NHS numbers, phone numbers, emails,
    postcodes, addresses, dates of birth). Place names can be found as addresses: this is
    a reason for a person to read the statement, not a verdict."""
    from voices.listen import service as listen

    kinds = listen.prepare_text(text, None).kinds
    return [PERSONAL_DETAILS.get(kind, kind.lower()) for kind in kinds.split(",") if kind]


def add_statement(db: Session, conversation: Conversation, text: str, *,
                  participant: Participant | None = None, actor: Account | None = None,
                  seed: bool = False) -> Statement:
    """Add a statement. A participant's statement waits for moderation when the
    conversation is moderated, or when it may hold personal details (a name, a phone
    number...), so that nobody's details are shown to other voters unread; a lead's (seed)
    statement is shown straight away."""
    text = _statement_text(text)
    if not seed:
        check_open(conversation)
    duplicate = db.scalar(select(Statement.id).where(
        Statement.conversation_id == conversation.id,
        func.lower(Statement.text) == text.lower(),
        Statement.status != StatementStatus.rejected))
    if duplicate is not None:
        raise Conflict("That statement is already in the conversation. You can vote on it.",
                       code="duplicate_statement")
    accepted = seed or (not conversation.moderation and not personal_details(text))
    now = utcnow()
    statement = _add_numbered(
        db, Statement, conversation.id, text=text, seed=seed,
        author_id=participant.id if participant else None,
        status=StatementStatus.accepted if accepted else StatementStatus.pending,
        created_at=now, moderated_at=now if seed else None,
        moderated_by=actor.id if seed and actor else None)
    if actor is not None:
        audit.record(db, "codesign.statement.add", actor=actor,
                     record_type="codesign_statement", record_id=statement.id,
                     organisation_id=conversation.organisation_id,
                     summary="Added a seed statement")
    return statement


def waiting_statements(db: Session, conversation: Conversation, actor: Account,
                       everything: list[Statement]) -> list[tuple[Statement, list[str]]]:
    """The statements of ``everything`` (the conversation's, as :func:`statements` reads
    them) waiting for moderation, each with the personal details it may hold. A lead
    seeing any that may hold personal details is written to the audit log."""
    waiting = [(s, personal_details(s.text)) for s in everything
               if s.status is StatementStatus.pending]
    flagged = [s.id for s, details in waiting if details]
    if flagged:
        audit.record(db, "codesign.statement.view", actor=actor,
                     record_type="codesign_conversation", record_id=conversation.id,
                     organisation_id=conversation.organisation_id,
                     summary=f"Viewed {len(flagged)} statements that may hold personal details",
                     detail={"statements": flagged})
    return waiting


def statements(db: Session, conversation: Conversation,
               status: StatementStatus | None = None) -> list[Statement]:
    query = select(Statement).where(Statement.conversation_id == conversation.id)
    if status is not None:
        query = query.where(Statement.status == status)
    return list(db.scalars(query.order_by(Statement.number)))


def get_statement(db: Session, conversation: Conversation, statement_id: int) -> Statement:
    statement = db.get(Statement, statement_id)
    if statement is None or statement.conversation_id != conversation.id:
        raise NotFound("We could not find that statement.")
    return statement


def moderate(db: Session, statement: Statement, accept: bool, actor: Account) -> None:
    """Accept (show to voters) or reject (hide) a statement."""
    statement.status = StatementStatus.accepted if accept else StatementStatus.rejected
    statement.moderated_at = utcnow()
    statement.moderated_by = actor.id
    conversation = db.get(Conversation, statement.conversation_id)
    audit.record(db, "codesign.statement.moderate", actor=actor,
                 record_type="codesign_statement", record_id=statement.id,
                 organisation_id=conversation.organisation_id,
                 summary="Accepted a statement" if accept else "Rejected a statement")
    if db.scalar(select(Vote.statement_id).where(Vote.statement_id == statement.id).limit(1)):
        jobs.enqueue(db, MAP_JOB, {"conversation_id": conversation.id},
                     key=map_job_key(conversation.id), actor=actor,
                     organisation_id=conversation.organisation_id)


def unclear_counts(db: Session, conversation: Conversation) -> dict[int, int]:
    """How many people said they did not understand each statement."""
    rows = db.execute(select(Vote.statement_id, func.count()).where(
        Vote.conversation_id == conversation.id, Vote.unclear.is_(True))
        .group_by(Vote.statement_id)).all()
    return {statement_id: count for statement_id, count in rows}


def review(db: Session, conversation: Conversation, statement: Statement, actor: Account, *,
           new_text: str | None = None) -> Statement | None:
    """Finish the plain-English review of a statement: keep it as it is, or reword it (the
    reworded statement is added and shown; the old one is moderated out, with its votes)."""
    replacement = None
    if new_text is not None and new_text.strip():
        replacement = add_statement(db, conversation, new_text, actor=actor, seed=True)
        moderate(db, statement, False, actor)
    statement.review = Review.done
    return replacement


# ----------------------------------------------------------------- opinion map


def vote_matrix(db: Session, conversation_id: int) -> VoteMatrix:
    """Every participant's latest votes in a conversation, as the opinion map reads them
    (rows are participant ids, columns statement ids)."""
    # Straight from the driver's cursor, in the session's transaction: a million votes come
    # back in about a second this way, against several through SQLAlchemy's row objects
    # (see benchmarks/codesign_store.py).
    db.flush()
    query = select(Vote.participant_id, Vote.statement_id, Vote.vote).where(
        Vote.conversation_id == int(conversation_id))
    sql = str(query.compile(dialect=db.get_bind().dialect,
                            compile_kwargs={"literal_binds": True}))
    cursor = db.connection().connection.cursor()
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return VoteMatrix.from_events([], [], [])
    data = np.fromiter(chain.from_iterable(rows), dtype=np.int64,
                       count=3 * len(rows)).reshape(-1, 3)
    return VoteMatrix.from_events(data[:, 0], data[:, 1], data[:, 2])


def _attributes(db: Session, conversation: Conversation, participants: np.ndarray) -> dict:
    asked = [q for q in QUESTIONS if q in (conversation.demographics or [])]
    if not asked or len(participants) == 0:
        return {}
    columns = [getattr(Participant, q) for q in asked]
    answers = {row[0]: row[1:] for row in db.execute(
        select(Participant.id, *columns).where(Participant.conversation_id == conversation.id))}
    return {q: [answers.get(int(p), (None,) * len(asked))[i] for p in participants.tolist()]
            for i, q in enumerate(asked)}


def _one_update_at_a_time(db: Session, conversation_id: int) -> None:
    """On PostgreSQL, wait for any other update of this conversation's map to finish (a row
    lock on the conversation, held until the caller commits), so the background job and
    ``voices codesign update`` never run at once and each starts from the other's map.
    FOR NO KEY UPDATE does not block votes (their foreign keys take only a key-share lock).
    On SQLite the job queue's key is what keeps updates to one at a time."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(Conversation.id).where(Conversation.id == conversation_id)
                   .with_for_update(key_share=True))


def update_map(db: Session, conversation_id: int, *, progress=None) -> OpinionMapRecord | None:
    """Update the conversation's opinion map from all votes so far (warm-started from the
    last map) and store it with the time. Returns None when nobody has voted."""
    conversation = db.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("We could not find that conversation.")
    _one_update_at_a_time(db, conversation_id)
    started = time.perf_counter()
    votes = vote_matrix(db, conversation_id)
    if votes.n_votes == 0:
        return None
    if progress:
        progress(0.2, "Read the votes")
    record = db.get(OpinionMapRecord, conversation_id, populate_existing=True)
    state = MapState.from_dict(record.state) if record is not None and record.state else None
    moderated_out = list(db.scalars(select(Statement.id).where(
        Statement.conversation_id == conversation_id,
        Statement.status == StatementStatus.rejected)))
    result = OpinionMap().update(votes, state, moderated_out=moderated_out)
    if progress:
        progress(0.7, "Placed people and found the opinion groups")
    summary = summarise_map(result, moderated_out=moderated_out,
                            attributes=_attributes(db, conversation, votes.participants))
    if record is None:
        record = OpinionMapRecord(conversation_id=conversation_id)
        db.add(record)
    record.updated_at = utcnow()
    record.votes_counted = votes.n_votes
    record.participants = summary["participants"]
    record.placed = summary["placed"]
    record.group_count = summary["group_count"]
    record.seconds = round(time.perf_counter() - started, 3)
    record.state = result.state.to_dict()
    record.summary = summary
    db.flush()
    return record


def opinion_map(db: Session, conversation: Conversation) -> OpinionMapRecord | None:
    return db.get(OpinionMapRecord, conversation.id)


def map_update_waiting(db: Session, conversation: Conversation) -> str | None:
    """Whether an update of the conversation's map is "running" or "queued" (None: the
    map is up to date with the votes)."""
    from voices.core.models import Job, JobStatus

    statuses = set(db.scalars(select(Job.status).where(
        Job.key == map_job_key(conversation.id),
        Job.status.in_([JobStatus.queued, JobStatus.running]))))
    return ("running" if JobStatus.running in statuses
            else "queued" if JobStatus.queued in statuses else None)


def request_map_update(db: Session, conversation: Conversation, actor: Account | None = None):
    return jobs.enqueue(db, MAP_JOB, {"conversation_id": conversation.id},
                        key=map_job_key(conversation.id), actor=actor,
                        organisation_id=conversation.organisation_id)


def participation_profile(db: Session, conversation: Conversation) -> dict[str, dict[str, int]]:
    """``{question: {answer: people}}`` for the questions this conversation asks, counting
    everyone who voted (exact counts: publish only through disclosure control)."""
    profile: dict[str, dict[str, int]] = {}
    voted = select(Vote.participant_id).where(Vote.conversation_id == conversation.id) \
        .distinct().scalar_subquery()
    for name in QUESTIONS:
        if name not in (conversation.demographics or []):
            continue
        column = getattr(Participant, name)
        rows = db.execute(select(column, func.count()).where(
            Participant.conversation_id == conversation.id, Participant.id.in_(voted))
            .group_by(column)).all()
        profile[name] = {(code or NOT_KNOWN): count for code, count in rows}
    return profile


def statement_texts(db: Session, conversation: Conversation) -> tuple[dict, dict]:
    """Texts and numbers of the statements shown to voters, by statement id."""
    rows = db.execute(select(Statement.id, Statement.number, Statement.text).where(
        Statement.conversation_id == conversation.id,
        Statement.status == StatementStatus.accepted)).all()
    return {r.id: r.text for r in rows}, {r.id: r.number for r in rows}


@dataclass
class ConversationCounts:
    participants: int
    voters: int
    votes: int
    statements: int
    pending: int
    review: int


def counts(db: Session, conversation: Conversation) -> ConversationCounts:
    """Exact counts for the lead's overview (not published)."""
    cid = conversation.id
    by_status = dict(db.execute(select(Statement.status, func.count()).where(
        Statement.conversation_id == cid).group_by(Statement.status)).all())
    return ConversationCounts(
        participants=db.scalar(select(func.count()).select_from(Participant).where(
            Participant.conversation_id == cid)) or 0,
        voters=db.scalar(select(func.count(func.distinct(Vote.participant_id))).where(
            Vote.conversation_id == cid)) or 0,
        votes=db.scalar(select(func.count()).select_from(Vote).where(
            Vote.conversation_id == cid)) or 0,
        statements=by_status.get(StatementStatus.accepted, 0),
        pending=by_status.get(StatementStatus.pending, 0),
        review=db.scalar(select(func.count()).select_from(Statement).where(
            Statement.conversation_id == cid, Statement.review == Review.needed,
            Statement.status == StatementStatus.accepted)) or 0)
