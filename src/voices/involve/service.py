"""Reading and writing involve records: the partner community (joining, profiles, consents,
downloading and erasing), what leads see of it, opportunities and interest, the
involvement log, the practice library and notifications.

Every function validates its input and changes nothing when it refuses. Every view or
export of personal data is written to the audit log, which names records by type and id
only. Routes and the CLI call these functions; the logic lives in the pure modules
(:mod:`questions`, :mod:`consent`, :mod:`matching`, :mod:`community`, :mod:`payments`,
:mod:`library`, :mod:`opportunities`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.orm import Session, selectinload

from voices.core import audit
from voices.core import service as core
from voices.core.models import Account, AuditEvent, Organisation, Role
from voices.db import utcnow
from voices.equity.imd import ImdLookup
from voices.errors import Conflict, NotFound, ValidationError
from voices.involve import community as community_logic
from voices.involve import consent as consent_logic
from voices.involve import library as library_logic
from voices.involve import matching, questions
from voices.involve.models import (
    Consent,
    Interest,
    LibraryEntry,
    LibraryOrganisation,
    LibraryPerson,
    LogEntry,
    Notification,
    Opportunity,
    Partner,
    PopulationShares,
    SignupDraft,
)
from voices.involve.opportunities import needs_of
from voices.involve.payments import FinanceRow, PaymentPolicy, read_policy

DRAFT_HOURS = 24
PROFILE_KEYS = tuple(q.key for q in questions.QUESTIONS if q.key not in questions.CONSENT_KEYS)
EQUALITY_COLUMNS = ("age_band", "sex", "ethnic_category", "disability", "carer", "area",
                    "postcode_district", "lsoa", "imd_decile")


@lru_cache(maxsize=1)
def payment_policy() -> PaymentPolicy:
    return read_policy()


@lru_cache(maxsize=4)
def _imd_lookup(path: str) -> ImdLookup:
    return ImdLookup.from_csv(Path(path))


def imd_lookup(imd_path: Path | None) -> ImdLookup | None:
    """The configured IoD File 7 lookup (``VOICES_IMD_PATH``), or None."""
    if imd_path is None or not Path(imd_path).is_file():
        return None
    return _imd_lookup(str(imd_path))


def get_row(db: Session, model, row_id: object):
    """A row by id, or None — also for ids no database column could hold (so a made-up
    id in an address is 'not found', never an error)."""
    if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 < row_id < 2**31:
        return None
    return db.get(model, row_id)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# ------------------------------------------------------------------------- scoping


def community_organisation(db: Session, ods_code: str | None = None) -> Organisation | None:
    """Whose community someone joins: the organisation named, or — when there is just one
    organisation at the top (an integrated care board) — that one."""
    if ods_code:
        org = db.scalar(select(Organisation).where(
            Organisation.ods_code == ods_code.strip().upper()[:10]))
        if org is None:
            raise NotFound("We could not find that community")
        return org
    tops = db.scalars(select(Organisation).where(Organisation.parent_id.is_(None))
                      .order_by(Organisation.id).limit(2)).all()
    return tops[0] if len(tops) == 1 else None


def top_organisations(db: Session) -> list[Organisation]:
    return list(db.scalars(select(Organisation).where(Organisation.parent_id.is_(None))
                           .order_by(Organisation.name)))


def partner_scope(db: Session, partner: Partner | None) -> set[int] | None:
    """The organisations whose opportunities a partner sees: their community's organisation
    and those below it (None = every organisation)."""
    if partner is None or partner.organisation_id is None:
        return None
    return core.organisation_scope(db, partner.organisation_id)


def _in_scope(column, scope: set[int] | None):
    return True if scope is None else column.in_(scope or {-1})


# ------------------------------------------------------------------- sign-up drafts


def start_draft(db: Session, organisation: Organisation | None) -> tuple[str, SignupDraft]:
    """A new, empty draft; returns the raw id for the browser's signed cookie."""
    purge_drafts(db)
    raw = secrets.token_urlsafe(32)
    draft = SignupDraft(id_hash=_digest(raw), answers={},
                        organisation_id=organisation.id if organisation else None)
    db.add(draft)
    db.flush()
    return raw, draft


def get_draft(db: Session, raw: str | None) -> SignupDraft | None:
    if not raw:
        return None
    draft = db.get(SignupDraft, _digest(raw))
    if draft is None:
        return None
    if draft.updated_at < utcnow() - dt.timedelta(hours=DRAFT_HOURS):
        db.delete(draft)
        db.flush()
        return None
    return draft


def purge_drafts(db: Session, *, now: dt.datetime | None = None) -> int:
    """Delete sign-up drafts nobody has touched for a day (they hold personal data)."""
    cutoff = (now or utcnow()) - dt.timedelta(hours=DRAFT_HOURS)
    result = db.execute(delete(SignupDraft).where(SignupDraft.updated_at < cutoff))
    return result.rowcount or 0


def save_answer(db: Session, draft: SignupDraft, question: questions.Question,
                form: questions.Form) -> dict[str, object]:
    """Check one page's answer and keep it in the draft (nothing is kept if it is wrong)."""
    parsed = questions.parse_answer(question, form)
    if question.key == "email":
        _check_email_free(db, str(parsed["email"]))
    answers = dict(draft.answers or {})
    answers.update(parsed)
    draft.answers = questions.relevant_answers(answers)
    draft.updated_at = utcnow()
    db.flush()
    return parsed


def _check_email_free(db: Session, email: str, account_id: int | None = None) -> None:
    existing = db.scalar(select(Account.id).where(Account.email == email))
    if existing is not None and existing != account_id:
        raise ValidationError("There is already an account with this email address. Sign "
                              "in instead, or use a different email address.", column="email",
                              code="duplicate_email")


def _apply_answers(partner: Partner, answers: Mapping[str, object],
                   lookup: ImdLookup | None, *, area_changed: bool = True) -> None:
    """Copy profile answers onto a partner record (equality answers only with consent)."""
    simple = ("name", "contact_method", "conditions_other", "caring_role", "availability",
              "adjustments")
    for key in simple:
        if key in answers:
            setattr(partner, key, answers[key] if answers[key] is not None else "")
    for key in ("conditions", "services_used", "interests", "formats", "venue_needs", "times"):
        if key in answers:
            setattr(partner, key, list(answers[key] or []))
    partner.phone = answers.get("phone") if answers.get("contact_method") in (
        "phone", "text") else None
    partner.postal_address = answers.get("postal_address") if answers.get(
        "contact_method") == "post" else None
    if "formats" in answers and "in_person" not in (answers.get("formats") or []):
        partner.venue_needs = []
    if answers.get("consent_equality") == "yes":
        for key in ("age_band", "sex", "ethnic_category", "disability", "carer", "area"):
            if key in answers:
                setattr(partner, key, answers[key])
        if area_changed:
            place = {"postcode_district": None, "lsoa": None}
            if partner.area and partner.area != questions.PREFER_NOT:
                place = questions.parse_area(partner.area)
            partner.postcode_district, partner.lsoa = place["postcode_district"], place["lsoa"]
            partner.imd_decile = lookup.decile(partner.lsoa) if (lookup and partner.lsoa) \
                else None
    else:
        for column in EQUALITY_COLUMNS:
            setattr(partner, column, None)
    partner.updated_at = utcnow()


def complete_signup(db: Session, draft: SignupDraft, password: str, *,
                    lookup: ImdLookup | None = None) -> Partner:
    """Create the partner's account and record from a finished draft, record their three
    consents with the wording they saw, and delete the draft.

    Raises ValidationError (column = the question to go back to) if an answer is missing,
    or for a password that breaks the platform's rules."""
    answers = questions.relevant_answers(draft.answers or {})
    missing = questions.next_question(answers)
    if missing is not None:
        raise ValidationError(f"Answer the question '{missing.title}'", column=missing.key,
                              code="unanswered")
    _check_email_free(db, str(answers["email"]))
    account = core.create_account(db, email=str(answers["email"]), password=password,
                                  role=Role.partner.value, name=str(answers["name"]))
    partner = Partner(account=account, organisation_id=draft.organisation_id,
                      name=str(answers["name"]), joined_at=utcnow())
    _apply_answers(partner, answers, lookup)
    db.add(partner)
    db.flush()
    now = utcnow()
    for purpose, key in consent_logic.QUESTION_KEYS.items():
        db.add(Consent(partner_id=partner.id, purpose=purpose, given=answers[key] == "yes",
                       wording_version=consent_logic.WORDINGS[purpose].version, at=now))
    db.delete(draft)
    audit.record(db, "partner.join", actor=account, record_type="partner",
                 record_id=partner.id, organisation_id=partner.organisation_id,
                 summary="Joined the partner community")
    db.flush()
    return partner


# --------------------------------------------------------------------- partners


def partner_for_account(db: Session, account: Account) -> Partner | None:
    return db.scalar(select(Partner).where(Partner.account_id == account.id))


def consent_events(partner: Partner) -> list[consent_logic.ConsentEvent]:
    return [consent_logic.ConsentEvent(c.purpose, c.given, c.wording_version, c.at)
            for c in partner.consents]


def consents_now(partner: Partner) -> dict[str, consent_logic.ConsentEvent | None]:
    return consent_logic.current(consent_events(partner))


def partner_answers(partner: Partner) -> dict[str, object]:
    """A partner's record as answers to the sign-up questions (for the profile page)."""
    answers: dict[str, object] = {
        "name": partner.name, "email": partner.account.email,
        "contact_method": partner.contact_method, "phone": partner.phone,
        "postal_address": partner.postal_address, "conditions": list(partner.conditions),
        "conditions_other": partner.conditions_other,
        "services_used": list(partner.services_used), "caring_role": partner.caring_role,
        "interests": list(partner.interests), "formats": list(partner.formats),
        "venue_needs": list(partner.venue_needs), "times": list(partner.times),
        "adjustments": partner.adjustments, "availability": partner.availability,
    }
    for purpose, key in consent_logic.QUESTION_KEYS.items():
        event = consents_now(partner)[purpose]
        answers[key] = "yes" if event and event.given else "no"
    for key in ("age_band", "sex", "ethnic_category", "disability", "carer", "area"):
        answers[key] = getattr(partner, key)
    return {k: v for k, v in answers.items() if v is not None}


def profile_of(partner: Partner) -> matching.PartnerProfile:
    """What matching may use about a partner (nothing without their matching consent)."""
    return matching.PartnerProfile(
        conditions=frozenset(partner.conditions), services_used=frozenset(partner.services_used),
        caring_role=partner.caring_role, interests=frozenset(partner.interests),
        formats=frozenset(partner.formats), venue_needs=frozenset(partner.venue_needs),
        times=frozenset(partner.times), availability=partner.availability,
        adjustments=partner.adjustments or "",
        matching_consent=consent_logic.is_given(consent_events(partner), "matching"))


def update_answer(db: Session, partner: Partner, question: questions.Question,
                  form: questions.Form, *, actor: Account,
                  lookup: ImdLookup | None = None) -> None:
    """Change one answer on a partner's profile (the same checks as when joining).
    Changing a consent records a new consent event; withdrawing equality consent deletes
    the equality answers."""
    parsed = questions.parse_answer(question, form)
    if question.key == "email":
        _check_email_free(db, str(parsed["email"]), partner.account_id)
        partner.account.email = str(parsed["email"])
    if question.key == "name":
        partner.account.name = str(parsed["name"])
    answers = partner_answers(partner)
    answers.update(parsed)
    answers = questions.relevant_answers(answers)
    if question.key in questions.CONSENT_KEYS:
        purpose = question.key.removeprefix("consent_")
        set_consent(db, partner, purpose, parsed[question.key] == "yes", actor=actor)
    _apply_answers(partner, answers, lookup, area_changed=question.key == "area")
    audit.record(db, "partner.update", actor=actor, record_type="partner",
                 record_id=partner.id, organisation_id=partner.organisation_id,
                 summary=f"Changed the answer to '{question.key}'")
    db.flush()


def set_consent(db: Session, partner: Partner, purpose: str, given: bool, *,
                actor: Account) -> Consent:
    if purpose not in consent_logic.WORDINGS:
        raise ValidationError(f"'{purpose[:30]}' is not a consent", column="purpose",
                              code="unknown_consent")
    event = Consent(partner_id=partner.id, purpose=purpose, given=given,
                    wording_version=consent_logic.WORDINGS[purpose].version, at=utcnow())
    db.add(event)
    partner.consents.append(event)
    if purpose == "equality" and not given:
        for column in EQUALITY_COLUMNS:
            setattr(partner, column, None)
    audit.record(db, "partner.consent", actor=actor, record_type="partner",
                 record_id=partner.id, organisation_id=partner.organisation_id,
                 summary=f"Consent to {purpose} {'given' if given else 'withdrawn'}")
    db.flush()
    return event


def _iso(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def export_partner(db: Session, partner: Partner, *, actor: Account) -> dict:
    """Everything Voices holds about a partner, as one JSON-ready document."""
    account = partner.account
    record = {c.key: _iso(getattr(partner, c.key))
              for c in inspect(Partner).mapper.column_attrs}
    interests = db.scalars(select(Interest).where(Interest.partner_id == partner.id)
                           .order_by(Interest.created_at)).all()
    log = db.scalars(select(LogEntry).where(LogEntry.partner_id == partner.id)
                     .order_by(LogEntry.activity_date)).all()
    credits = db.scalars(select(LibraryPerson).where(LibraryPerson.partner_id == partner.id)
                         ).all()
    notes = db.scalars(select(Notification).where(Notification.account_id == account.id)
                       .order_by(Notification.created_at)).all()
    events = db.scalars(select(AuditEvent).where(
        ((AuditEvent.record_type == "partner") & (AuditEvent.record_id == str(partner.id))) |
        ((AuditEvent.record_type == "account") & (AuditEvent.record_id == str(account.id))))
        .order_by(AuditEvent.at)).all()
    document = {
        "about": "Everything Voices holds about you, as of " + utcnow().isoformat(),
        "account": {"email": account.email, "name": account.name, "role": account.role.value,
                    "created_at": _iso(account.created_at),
                    "last_login_at": _iso(account.last_login_at)},
        "partner": record,
        "organisation": partner.organisation.name if partner.organisation else None,
        "consents": [{"purpose": c.purpose, "given": c.given,
                      "wording_version": c.wording_version,
                      "wording": consent_logic.WORDINGS[c.purpose].text
                      if consent_logic.WORDINGS[c.purpose].version == c.wording_version
                      else None, "at": _iso(c.at)} for c in partner.consents],
        "interests": [{"opportunity_id": i.opportunity_id, "project": i.opportunity.project,
                       "role": i.opportunity.role, "status": i.status, "note": i.note,
                       "at": _iso(i.created_at)} for i in interests],
        "involvement_log": [{"date": _iso(e.activity_date), "project": e.project,
                             "activity": e.activity, "hours": e.hours,
                             "payment_level": e.payment_level,
                             "payment_pence": e.payment_pence,
                             "expenses_pence": e.expenses_pence,
                             "expenses_note": e.expenses_note} for e in log],
        "library_credits": [{"entry_id": c.entry_id, "title": c.entry.title,
                             "contribution": c.contribution, "consent": c.consent}
                            for c in credits],
        "notifications": [{"text": n.text, "link": n.link, "at": _iso(n.created_at),
                           "read": n.read_at is not None} for n in notes],
        "activity": [{"action": e.action, "at": _iso(e.at)} for e in events],
    }
    audit.record(db, "partner.export", actor=actor, record_type="partner",
                 record_id=partner.id, organisation_id=partner.organisation_id,
                 summary="Downloaded everything held about a partner")
    return document


@dataclass(frozen=True)
class Erasure:
    partner_id: int
    log_entries_kept: int
    interests: int
    consents: int
    drafts: int


def find_partner_by_email(db: Session, email: str) -> Partner:
    address = core.normalise_email(email)
    partner = db.scalar(select(Partner).join(Partner.account).where(Account.email == address))
    if partner is None:
        raise NotFound("No partner has that email address", code="unknown_partner")
    return partner


def erase_partner(db: Session, partner: Partner, *, actor: Account | None) -> Erasure:
    """Remove a partner's personal data everywhere: their record, account (and sessions
    and tokens), consents, interests, library credits, notifications and any unfinished
    sign-up under their email. Involvement log entries stay for project totals, without
    the partner and with the free-text expenses note cleared."""
    account = partner.account
    email, pid, aid, org = account.email, partner.id, account.id, partner.organisation_id
    kept = db.execute(update(LogEntry).where(LogEntry.partner_id == pid).values(
        partner_id=None, expenses_note="")).rowcount or 0
    interests = db.execute(delete(Interest).where(Interest.partner_id == pid)).rowcount or 0
    consents = len(partner.consents)          # deleted with the partner (cascade)
    db.execute(delete(LibraryPerson).where(LibraryPerson.partner_id == pid))
    db.execute(delete(Notification).where(Notification.account_id == aid))
    drafts = 0
    for draft in db.scalars(select(SignupDraft)).all():
        if str((draft.answers or {}).get("email", "")).lower() == email:
            db.delete(draft)
            drafts += 1
    db.delete(partner)
    db.flush()
    db.delete(account)
    db.flush()
    audit.record(db, "partner.erase", actor=actor, record_type="partner", record_id=pid,
                 organisation_id=org, summary="Erased a partner's personal data",
                 detail={"log_entries_kept": kept, "interests": interests})
    return Erasure(pid, kept, interests, consents, drafts)


# ---------------------------------------------------------------- notifications


def notify(db: Session, account_id: int, text: str, link: str = "") -> Notification:
    note = Notification(account_id=account_id, text=text[:500], link=link[:300])
    db.add(note)
    db.flush()
    return note


def notifications(db: Session, account: Account, *, unread_only: bool = False
                  ) -> list[Notification]:
    query = select(Notification).where(Notification.account_id == account.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(db.scalars(query.order_by(Notification.created_at.desc()).limit(50)))


def mark_read(db: Session, account: Account) -> int:
    return db.execute(update(Notification).where(
        Notification.account_id == account.id, Notification.read_at.is_(None)
    ).values(read_at=utcnow())).rowcount or 0


# ------------------------------------------------------------------ the community


@dataclass(frozen=True)
class CommunityFilter:
    condition: str | None = None
    service: str | None = None
    interest: str | None = None
    format: str | None = None
    time: str | None = None
    availability: str | None = None
    name: str | None = None

    def matches(self, p: Partner) -> bool:
        checks = ((self.condition, p.conditions), (self.service, p.services_used),
                  (self.interest, p.interests), (self.format, p.formats),
                  (self.time, p.times))
        if any(value and value not in (have or []) for value, have in checks):
            return False
        if self.availability and p.availability != self.availability:
            return False
        return not (self.name and self.name.lower() not in p.name.lower())


def list_partners(db: Session, scope: set[int] | None, filters: CommunityFilter, *,
                  actor: Account) -> list[Partner]:
    """Partners in the organisations a lead may see, filtered; the view is audited."""
    query = select(Partner).order_by(Partner.name, Partner.id)
    if scope is not None:
        query = query.where(Partner.organisation_id.in_(scope or {-1}))
    partners = [p for p in db.scalars(query) if filters.matches(p)]
    audit.record(db, "partner.list", actor=actor, record_type="partner",
                 organisation_id=actor.organisation_id,
                 summary=f"Viewed the partner community ({len(partners)} shown)")
    return partners


def get_partner_for_lead(db: Session, partner_id: int, scope: set[int] | None, *,
                         actor: Account) -> Partner:
    partner = get_row(db, Partner, partner_id)
    if partner is None or (scope is not None and partner.organisation_id not in scope):
        raise NotFound("We could not find that page.")
    audit.record(db, "partner.view", actor=actor, record_type="partner",
                 record_id=partner.id, organisation_id=partner.organisation_id)
    return partner


def equality_answer_columns() -> list:
    """The partner columns :func:`equality_groups` reads, to select without whole rows."""
    return [getattr(Partner, c) for c in EQUALITY_COLUMNS]


def equality_groups(answers) -> dict:
    """A partner's group on each equity dimension, from their answers in the order of
    :func:`equality_answer_columns`."""
    return community_logic.partner_groups(dict(zip(EQUALITY_COLUMNS, answers, strict=True)))


def community_counts(db: Session, scope: set[int] | None) -> dict:
    """Counts per equity dimension and group among partners who agreed to equality
    monitoring (the rest count as not answered)."""
    query = select(*equality_answer_columns())
    if scope is not None:
        query = query.where(Partner.organisation_id.in_(scope or {-1}))
    return community_logic.count_groups([equality_groups(row) for row in db.execute(query)])


def population_for(db: Session, organisation: Organisation | None
                   ) -> tuple[community_logic.Population, PopulationShares | None]:
    """The uploaded population of the organisation (or the nearest one above it), else
    the documented default."""
    org = organisation
    while org is not None:
        stored = db.scalar(select(PopulationShares).where(
            PopulationShares.organisation_id == org.id))
        if stored is not None:
            return community_logic.Population(stored.shares, stored.source), stored
        org = org.parent
    return community_logic.default_population(), None


def save_population(db: Session, organisation: Organisation, content: bytes, file_name: str,
                    *, actor: Account) -> PopulationShares:
    population = community_logic.parse_population(content, Path(file_name).name[:200])
    stored = db.scalar(select(PopulationShares).where(
        PopulationShares.organisation_id == organisation.id))
    if stored is None:
        stored = PopulationShares(organisation_id=organisation.id)
        db.add(stored)
    stored.shares = {d: dict(g) for d, g in population.shares.items()}
    stored.source = population.source[:300]
    stored.uploaded_at = utcnow()
    stored.uploaded_by = actor.id
    db.flush()
    audit.record(db, "involve.population", actor=actor, record_type="organisation",
                 record_id=organisation.id, organisation_id=organisation.id,
                 summary="Uploaded population figures")
    return stored


# -------------------------------------------------------------------- opportunities


def create_opportunity(db: Session, organisation_id: int, values: Mapping[str, object], *,
                       actor: Account) -> Opportunity:
    if get_row(db, Organisation, organisation_id) is None:
        raise ValidationError("Choose an organisation", column="organisation_id",
                              code="unknown_organisation")
    opportunity = Opportunity(organisation_id=organisation_id, created_by=actor.id,
                              status="open", **values)
    db.add(opportunity)
    db.flush()
    audit.record(db, "opportunity.create", actor=actor, record_type="opportunity",
                 record_id=opportunity.id, organisation_id=organisation_id)
    return opportunity


def update_opportunity(db: Session, opportunity: Opportunity, values: Mapping[str, object],
                       *, actor: Account) -> None:
    for key, value in values.items():
        setattr(opportunity, key, value)
    audit.record(db, "opportunity.update", actor=actor, record_type="opportunity",
                 record_id=opportunity.id, organisation_id=opportunity.organisation_id)
    db.flush()


def list_opportunities(db: Session, scope: set[int] | None, *, open_only: bool = False,
                       today: dt.date | None = None) -> list[Opportunity]:
    query = select(Opportunity).where(_in_scope(Opportunity.organisation_id, scope))
    if open_only:
        query = query.where(Opportunity.status == "open",
                            Opportunity.closing_date >= (today or dt.date.today()))
    return list(db.scalars(query.order_by(Opportunity.closing_date, Opportunity.id)))


def get_opportunity(db: Session, opportunity_id: int, scope: set[int] | None) -> Opportunity:
    """An opportunity the caller may see; anything else is 'not found' (ids cannot be
    probed across organisations)."""
    opportunity = get_row(db, Opportunity, opportunity_id)
    if opportunity is None or (scope is not None and opportunity.organisation_id not in scope):
        raise NotFound("We could not find that page.")
    return opportunity


def interest_of(db: Session, opportunity: Opportunity, partner: Partner) -> Interest | None:
    return db.scalar(select(Interest).where(Interest.opportunity_id == opportunity.id,
                                            Interest.partner_id == partner.id))


def express_interest(db: Session, opportunity: Opportunity, partner: Partner, note: str, *,
                     today: dt.date | None = None) -> Interest:
    if opportunity.status != "open" or opportunity.closing_date < (today or dt.date.today()):
        raise Conflict("This opportunity has closed", code="opportunity_closed")
    note = questions.clean_text(note, "note", "Your message", 1000, multiline=True)
    interest = interest_of(db, opportunity, partner)
    if interest is None:
        interest = Interest(opportunity_id=opportunity.id, partner_id=partner.id, note=note)
        db.add(interest)
    else:
        interest.status, interest.note = "interested", note
    interest.updated_at = utcnow()
    db.flush()
    audit.record(db, "interest.create", actor=partner.account, record_type="opportunity",
                 record_id=opportunity.id, organisation_id=opportunity.organisation_id)
    return interest


def interests_for(db: Session, partner: Partner | None) -> list[Interest]:
    if partner is None:
        return []
    return list(db.scalars(select(Interest).where(Interest.partner_id == partner.id)
                           .order_by(Interest.created_at.desc())))


def withdraw_interest(db: Session, opportunity: Opportunity, partner: Partner) -> None:
    interest = interest_of(db, opportunity, partner)
    if interest is None:
        raise NotFound("You have not said you are interested in this")
    interest.status = "withdrawn"
    interest.updated_at = utcnow()
    audit.record(db, "interest.withdraw", actor=partner.account, record_type="opportunity",
                 record_id=opportunity.id, organisation_id=opportunity.organisation_id)
    db.flush()


@dataclass(frozen=True)
class RankedInterest:
    interest: Interest
    rank: int | None
    match: matching.Match


def ranked_interest(db: Session, opportunity: Opportunity, *, actor: Account
                    ) -> list[RankedInterest]:
    """The partners interested in an opportunity (not withdrawn), ranked with reasons."""
    interests = list(db.scalars(
        select(Interest).where(Interest.opportunity_id == opportunity.id,
                               Interest.status != "withdrawn")
        .options(selectinload(Interest.partner).selectinload(Partner.consents))
        .order_by(Interest.created_at)))
    by_id = {i.id: i for i in interests}
    ranked = matching.rank([(i.id, profile_of(i.partner), i.created_at) for i in interests],
                           needs_of(opportunity))
    audit.record(db, "interest.list", actor=actor, record_type="opportunity",
                 record_id=opportunity.id, organisation_id=opportunity.organisation_id,
                 summary=f"Viewed {len(interests)} interested partners")
    return [RankedInterest(by_id[r.key], r.rank, r.match) for r in ranked]


INTEREST_STATUSES = {"interested": "Interested", "selected": "Invited",
                     "took_part": "Took part", "withdrawn": "Withdrawn"}


def set_interest_status(db: Session, opportunity: Opportunity, interest_id: int, status: str,
                        *, actor: Account) -> Interest:
    """Record what came of someone's interest (invited, took part). Inviting someone tells
    them in the app."""
    if status not in ("interested", "selected", "took_part"):
        raise ValidationError("Choose what happened", column="status", code="invalid_choice")
    interest = get_row(db, Interest, interest_id)
    if interest is None or interest.opportunity_id != opportunity.id:
        raise NotFound("We could not find that page.")
    previous, interest.status = interest.status, status
    interest.updated_at = utcnow()
    if status == "selected" and previous != "selected":
        notify(db, interest.partner.account_id,
               f"You have been invited to take part: {opportunity.role}, {opportunity.project}.",
               f"/involve/opportunities/{opportunity.id}")
    audit.record(db, "interest.status", actor=actor, record_type="opportunity",
                 record_id=opportunity.id, organisation_id=opportunity.organisation_id,
                 summary=f"Marked an interested partner as {status}")
    db.flush()
    return interest


# -------------------------------------------------------------------- involvement log


def add_log_entry(db: Session, organisation_id: int, values: Mapping[str, object], *,
                  partner: Partner | None, opportunity: Opportunity | None,
                  actor: Account) -> LogEntry:
    entry = LogEntry(organisation_id=organisation_id, partner_id=partner.id if partner else None,
                     opportunity_id=opportunity.id if opportunity else None,
                     created_by=actor.id, **values)
    db.add(entry)
    db.flush()
    audit.record(db, "log.create", actor=actor, record_type="log_entry", record_id=entry.id,
                 organisation_id=organisation_id)
    return entry


def list_log(db: Session, scope: set[int] | None, *, project: str | None = None,
             partner_id: int | None = None) -> list[LogEntry]:
    query = select(LogEntry).where(_in_scope(LogEntry.organisation_id, scope))
    if project:
        query = query.where(LogEntry.project == project)
    if partner_id:
        query = query.where(LogEntry.partner_id == partner_id)
    return list(db.scalars(query.order_by(LogEntry.activity_date.desc(), LogEntry.id.desc())))


@dataclass(frozen=True)
class ProjectTotal:
    project: str
    entries: int
    people: int
    hours: float
    payment_pence: int
    expenses_pence: int


def _log_sums():
    """Entries, hours, payments and expenses of a group of log entries."""
    return (func.count(LogEntry.id), func.coalesce(func.sum(LogEntry.hours), 0.0),
            func.coalesce(func.sum(LogEntry.payment_pence), 0),
            func.coalesce(func.sum(LogEntry.expenses_pence), 0))


def project_totals(db: Session, scope: set[int] | None) -> list[ProjectTotal]:
    """Hours and money per project (kept after partners are erased)."""
    entries, hours, paid, expenses = _log_sums()
    rows = db.execute(select(
        LogEntry.project, entries, func.count(func.distinct(LogEntry.partner_id)), hours, paid,
        expenses,
    ).where(_in_scope(LogEntry.organisation_id, scope)).group_by(LogEntry.project)
        .order_by(LogEntry.project)).all()
    return [ProjectTotal(r[0], int(r[1]), int(r[2]), float(r[3]), int(r[4]), int(r[5]))
            for r in rows]


@dataclass(frozen=True)
class PartnerTotal:
    """One partner's involvement (``partner`` None: entries of erased partners or entries
    logged without one, together)."""
    partner: Partner | None
    projects: int
    entries: int
    hours: float
    payment_pence: int
    expenses_pence: int


def partner_totals(db: Session, scope: set[int] | None, *,
                   partner_id: int | None = None) -> list[PartnerTotal]:
    """Hours and money per partner, most hours first (entries without a partner last)."""
    entries, hours, paid, expenses = _log_sums()
    query = select(LogEntry.partner_id, func.count(func.distinct(LogEntry.project)), entries,
                   hours, paid, expenses).where(_in_scope(LogEntry.organisation_id, scope))
    if partner_id is not None:
        query = query.where(LogEntry.partner_id == partner_id)
    rows = db.execute(query.group_by(LogEntry.partner_id)).all()
    ids = [r[0] for r in rows if r[0] is not None]
    people = {p.id: p for p in db.scalars(select(Partner).where(Partner.id.in_(ids)))} \
        if ids else {}
    totals = [PartnerTotal(people.get(r[0]), int(r[1]), int(r[2]), float(r[3]), int(r[4]),
                           int(r[5])) for r in rows]
    return sorted(totals, key=lambda t: (t.partner is None, -t.hours,
                                         t.partner.name if t.partner else "",
                                         t.partner.id if t.partner else 0))


def finance_rows(db: Session, scope: set[int] | None, *, actor: Account,
                 since: dt.date | None = None, until: dt.date | None = None
                 ) -> list[FinanceRow]:
    """The log as rows for the finance export (audited: it names people)."""
    policy = payment_policy()
    query = select(LogEntry).where(_in_scope(LogEntry.organisation_id, scope))
    if since:
        query = query.where(LogEntry.activity_date >= since)
    if until:
        query = query.where(LogEntry.activity_date <= until)
    rows = []
    query = query.options(selectinload(LogEntry.partner), selectinload(LogEntry.organisation))
    for e in db.scalars(query.order_by(LogEntry.activity_date, LogEntry.id)):
        try:
            level = policy.get(e.payment_level).name
        except ValidationError:
            level = e.payment_level
        rows.append(FinanceRow(
            e.id, e.activity_date, e.partner.name if e.partner else "No partner on record",
            e.partner.reference if e.partner else "", e.organisation.ods_code, e.project,
            e.activity, level, e.hours, e.payment_pence, e.expenses_pence, e.expenses_note))
    audit.record(db, "log.export", actor=actor, record_type="log_entry",
                 organisation_id=actor.organisation_id,
                 summary=f"Exported {len(rows)} involvement log entries for finance")
    return rows


# ----------------------------------------------------------------- practice library


def save_library_entry(db: Session, organisation_id: int, values: Mapping[str, object], *,
                       actor: Account, entry: LibraryEntry | None = None,
                       organisation_ids: list[int] | None = None) -> LibraryEntry:
    if entry is None:
        entry = LibraryEntry(organisation_id=organisation_id, created_by=actor.id)
        db.add(entry)
    for key, value in values.items():
        setattr(entry, key, value)
    entry.updated_at = utcnow()
    db.flush()
    if organisation_ids is not None:
        entry.organisations.clear()
        db.flush()
        for org_id in dict.fromkeys(organisation_ids):
            if get_row(db, Organisation, org_id) is not None:
                entry.organisations.append(LibraryOrganisation(organisation_id=org_id))
    db.flush()
    audit.record(db, "library.save", actor=actor, record_type="library_entry",
                 record_id=entry.id, organisation_id=organisation_id)
    return entry


def library_items(db: Session) -> list[tuple[LibraryEntry, library_logic.LibraryItem]]:
    entries = db.scalars(select(LibraryEntry).order_by(LibraryEntry.id)).all()
    return [(e, library_logic.LibraryItem(
        e.id, e.kind, e.title, e.summary, e.body,
        {"topics": e.topics, "settings": e.settings, "populations": e.populations},
        e.created_at)) for e in entries]


def search_library(db: Session, query: str = "", *, kind: str | None = None,
                   tags: Mapping[str, str | None] | None = None) -> list[LibraryEntry]:
    pairs = library_items(db)
    by_key = {item.key: entry for entry, item in pairs}
    hits = library_logic.search([item for _, item in pairs], query, kind=kind, tags=tags)
    return [by_key[h.item.key] for h in hits]


def get_library_entry(db: Session, entry_id: int) -> LibraryEntry:
    entry = get_row(db, LibraryEntry, entry_id)
    if entry is None:
        raise NotFound("We could not find that page.")
    return entry


def credit_partner(db: Session, entry: LibraryEntry, partner: Partner, contribution: str, *,
                   actor: Account) -> LibraryPerson:
    """Ask a partner whether they agree to be named on a library entry (shown only once
    they say yes)."""
    contribution = questions.clean_text(contribution, "contribution", "Their contribution", 200)
    link = db.scalar(select(LibraryPerson).where(LibraryPerson.entry_id == entry.id,
                                                 LibraryPerson.partner_id == partner.id))
    if link is None:
        link = LibraryPerson(entry_id=entry.id, partner_id=partner.id, consent="asked")
        db.add(link)
        notify(db, partner.account_id, f"You have been credited on '{entry.title}' in the "
               "practice library. Do you agree to your name being shown?",
               "/involve/me#credits")
    link.contribution = contribution
    db.flush()
    audit.record(db, "library.credit", actor=actor, record_type="library_entry",
                 record_id=entry.id, organisation_id=entry.organisation_id)
    return link


def answer_credit(db: Session, partner: Partner, link_id: int, agree: bool) -> LibraryPerson:
    link = get_row(db, LibraryPerson, link_id)
    if link is None or link.partner_id != partner.id:
        raise NotFound("We could not find that page.")
    link.consent = "given" if agree else "declined"
    link.answered_at = utcnow()
    audit.record(db, "library.credit_answer", actor=partner.account,
                 record_type="library_entry", record_id=link.entry_id,
                 summary=f"Credit {'agreed' if agree else 'declined'}")
    db.flush()
    return link


def credits_for(db: Session, partner: Partner) -> list[LibraryPerson]:
    return list(db.scalars(select(LibraryPerson).where(LibraryPerson.partner_id == partner.id)
                           .order_by(LibraryPerson.id)))
