"""Stored involve data: partners and their consents, sign-up drafts, opportunities and
interest in them, the involvement log, the practice library, notifications, population
figures for comparisons, and panels chosen by lottery.

Personal data lives in ``involve_partner`` (and the account it is linked to), the partner's
consents, interests, credits in the library, notifications, and unfinished sign-up drafts.
Erasing a partner deletes all of those; the involvement log keeps its hours and payments
with ``partner_id`` set to null, so totals per project survive without the identity.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voices.core.models import Account, Organisation
from voices.db import Base, UTCDateTime, utcnow


def partner_reference(partner_id: int) -> str:
    """A partner's short reference, like P000123."""
    return f"P{partner_id:06d}"


class Partner(Base):
    """A lived-experience partner: what they told us when they joined (and since)."""

    __tablename__ = "involve_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_method: Mapped[str] = mapped_column(String(16), default="email")
    phone: Mapped[str | None] = mapped_column(String(30))
    postal_address: Mapped[str | None] = mapped_column(Text)
    # lived experience
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    conditions_other: Mapped[str] = mapped_column(String(300), default="")
    services_used: Mapped[list] = mapped_column(JSON, default=list)
    caring_role: Mapped[str | None] = mapped_column(String(16))
    interests: Mapped[list] = mapped_column(JSON, default=list)
    # access needs and availability
    formats: Mapped[list] = mapped_column(JSON, default=list)
    venue_needs: Mapped[list] = mapped_column(JSON, default=list)
    times: Mapped[list] = mapped_column(JSON, default=list)
    adjustments: Mapped[str] = mapped_column(Text, default="")
    availability: Mapped[str | None] = mapped_column(String(16))
    # equality monitoring (only with consent; each may be 'prefer_not_to_say')
    age_band: Mapped[str | None] = mapped_column(String(24))
    sex: Mapped[str | None] = mapped_column(String(24))
    ethnic_category: Mapped[str | None] = mapped_column(String(24))
    disability: Mapped[str | None] = mapped_column(String(24))
    carer: Mapped[str | None] = mapped_column(String(24))
    area: Mapped[str | None] = mapped_column(String(24))
    postcode_district: Mapped[str | None] = mapped_column(String(8))
    lsoa: Mapped[str | None] = mapped_column(String(9))
    imd_decile: Mapped[int | None] = mapped_column(Integer)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    consents: Mapped[list[Consent]] = relationship(
        back_populates="partner", order_by="Consent.at", cascade="all, delete-orphan",
        passive_deletes=True)

    @property
    def reference(self) -> str:
        """A short reference that is not personal data (for finance and panels)."""
        return partner_reference(self.id)


class Consent(Base):
    """One answer to one consent question: given or not, to which wording, when.
    Rows are added, never changed, so the history of what someone agreed to is kept."""

    __tablename__ = "involve_consent"
    __table_args__ = (Index("ix_involve_consent_partner", "partner_id", "purpose", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("involve_partner.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))        # contact, matching, equality
    given: Mapped[bool] = mapped_column(Boolean)
    wording_version: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="consents")


class SignupDraft(Base):
    """Answers given so far by someone joining, kept between pages. The browser holds a
    signed cookie with the draft's id; only a hash of the id is stored. Drafts are deleted
    when sign-up finishes, and unfinished ones after a day."""

    __tablename__ = "involve_signup_draft"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Opportunity(Base):
    """A way to get involved that a lead has posted."""

    __tablename__ = "involve_opportunity"
    __table_args__ = (CheckConstraint("hours_per_month IS NULL OR hours_per_month >= 0",
                                      name="hours_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    project: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    time_needed: Mapped[str] = mapped_column(String(200))
    hours_per_month: Mapped[float | None] = mapped_column(Float)
    formats: Mapped[list] = mapped_column(JSON, default=list)
    venue_provides: Mapped[list] = mapped_column(JSON, default=list)
    times: Mapped[list] = mapped_column(JSON, default=list)
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    services: Mapped[list] = mapped_column(JSON, default=list)
    carers: Mapped[bool] = mapped_column(Boolean, default=False)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    payment_level: Mapped[str] = mapped_column(String(16))
    closing_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")   # open, closed
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    interests: Mapped[list[Interest]] = relationship(
        back_populates="opportunity", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Interest.created_at")


class Interest(Base):
    """A partner saying they are interested in an opportunity, and what came of it."""

    __tablename__ = "involve_interest"
    __table_args__ = (UniqueConstraint("opportunity_id", "partner_id",
                                       name="uq_involve_interest_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("involve_opportunity.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("involve_partner.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="interested")
    # interested, selected, took_part, withdrawn
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    opportunity: Mapped[Opportunity] = relationship(back_populates="interests")
    partner: Mapped[Partner] = relationship()


class LogEntry(Base):
    """Time someone gave, what they did, and what they were paid and paid back. After the
    partner is erased the entry stays, without ``partner_id``, for project totals."""

    __tablename__ = "involve_log_entry"
    __table_args__ = (
        CheckConstraint("hours >= 0", name="hours_not_negative"),
        CheckConstraint("payment_pence >= 0", name="payment_not_negative"),
        CheckConstraint("expenses_pence >= 0", name="expenses_not_negative"),
        Index("ix_involve_log_entry_project", "organisation_id", "project"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("involve_opportunity.id", ondelete="SET NULL"), index=True)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("involve_partner.id", ondelete="SET NULL"), index=True)
    project: Mapped[str] = mapped_column(String(200))
    activity: Mapped[str] = mapped_column(String(200))
    activity_date: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float, default=0.0)
    payment_level: Mapped[str] = mapped_column(String(16))
    payment_pence: Mapped[int] = mapped_column(Integer, default=0)
    expenses_pence: Mapped[int] = mapped_column(Integer, default=0)
    expenses_note: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    opportunity: Mapped[Opportunity | None] = relationship()
    partner: Mapped[Partner | None] = relationship()


class LibraryEntry(Base):
    """A case study, method or resource in the practice library."""

    __tablename__ = "involve_library_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    topics: Mapped[list] = mapped_column(JSON, default=list)
    settings: Mapped[list] = mapped_column(JSON, default=list)
    populations: Mapped[list] = mapped_column(JSON, default=list)
    other_organisations: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    people: Mapped[list[LibraryPerson]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", passive_deletes=True)
    organisations: Mapped[list[LibraryOrganisation]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", passive_deletes=True)


class LibraryPerson(Base):
    """A partner credited on a library entry. Their name is shown only once they agree."""

    __tablename__ = "involve_library_person"
    __table_args__ = (UniqueConstraint("entry_id", "partner_id",
                                       name="uq_involve_library_person_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("involve_library_entry.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("involve_partner.id", ondelete="CASCADE"), index=True)
    contribution: Mapped[str] = mapped_column(String(200), default="")
    consent: Mapped[str] = mapped_column(String(16), default="asked")  # asked, given, declined
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[LibraryEntry] = relationship(back_populates="people")
    partner: Mapped[Partner] = relationship()


class LibraryOrganisation(Base):
    """An organisation involved in a library entry."""

    __tablename__ = "involve_library_organisation"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("involve_library_entry.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)

    entry: Mapped[LibraryEntry] = relationship(back_populates="organisations")
    organisation: Mapped[Organisation] = relationship()


class Notification(Base):
    """A message for someone in the app (for example: you have been selected for a panel)."""

    __tablename__ = "involve_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PopulationShares(Base):
    """The population an organisation compares its partner community with (uploaded)."""

    __tablename__ = "involve_population"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), unique=True)
    source: Mapped[str] = mapped_column(String(300), default="")
    shares: Mapped[dict] = mapped_column(JSON, default=dict)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)


class Panel(Base):
    """A panel chosen by lottery: the pool, the quotas, the selection's result and the
    public draw. People in the pool are referred to by partner reference or by the id in
    an uploaded file, never by name."""

    __tablename__ = "involve_panel"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("involve_opportunity.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))           # opportunity, upload
    k: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(16), default="leximin")
    pool: Mapped[dict] = mapped_column(JSON, default=dict)    # features and people
    quotas: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # draft, running, ready, published, drawn, failed
    job_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict | None] = mapped_column(JSON)
    panels_hash: Mapped[str | None] = mapped_column(String(64))
    seed_source: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[str | None] = mapped_column(String(200))
    selected: Mapped[list | None] = mapped_column(JSON)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    drawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    opportunity: Mapped[Opportunity | None] = relationship()
