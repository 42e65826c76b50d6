"""Core tables: organisation, service, account, API token, web session, audit event."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (JSON, Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer,
                        String, Text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voices.db import Base, UTCDateTime, utcnow


class Role(str, enum.Enum):
    """What an account may do. Analysts and involvement leads work within one organisation
    (or, with no organisation, across the whole system); partners see only their own record."""

    admin = "admin"
    analyst = "analyst"
    involvement_lead = "involvement_lead"
    partner = "partner"

    @property
    def label(self) -> str:
        return {"admin": "Administrator", "analyst": "Analyst",
                "involvement_lead": "Involvement lead", "partner": "Partner"}[self.value]


class OrganisationKind(str, enum.Enum):
    icb = "icb"
    trust = "trust"
    primary_care = "primary_care"
    local_authority = "local_authority"
    charity = "charity"
    healthwatch = "healthwatch"
    other = "other"

    @property
    def label(self) -> str:
        return {"icb": "Integrated care board", "trust": "NHS trust",
                "primary_care": "Primary care", "local_authority": "Local authority",
                "charity": "Charity", "healthwatch": "Healthwatch", "other": "Other"}[self.value]


class ServiceType(str, enum.Enum):
    """Service types, following the settings NHS England reports the Friends and Family Test by."""

    inpatient = "inpatient"
    outpatient = "outpatient"
    emergency = "emergency"
    maternity = "maternity"
    mental_health = "mental_health"
    community = "community"
    ambulance = "ambulance"
    gp = "gp"
    dental = "dental"
    other = "other"

    @property
    def label(self) -> str:
        return {"inpatient": "Inpatient", "outpatient": "Outpatient",
                "emergency": "Urgent and emergency care", "maternity": "Maternity",
                "mental_health": "Mental health", "community": "Community health",
                "ambulance": "Ambulance", "gp": "GP practice", "dental": "Dental",
                "other": "Other"}[self.value]


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    return Enum(kind, name=name, native_enum=False, length=32, validate_strings=True,
                values_callable=lambda k: [m.value for m in k])


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    ods_code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind, "organisation_kind"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])
    services: Mapped[list[Service]] = relationship(back_populates="organisation",
                                                   order_by="Service.name")


class Service(Base):
    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint("length(slug) >= 3", name="slug_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    service_type: Mapped[ServiceType] = mapped_column(_enum(ServiceType, "service_type"))
    treatment_function_code: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="services")


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "account_role"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship()

    @property
    def display_name(self) -> str:
        return self.name or self.email


class ApiToken(Base):
    """A token for machine clients. Only a SHA-256 hash of the secret is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class WebSession(Base):
    """A signed-in browser. The cookie carries the id; only its SHA-256 hash is stored."""

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class AuditEvent(Base):
    """Who did what to which record, when. Rows are only ever added (the database refuses
    updates and deletes). ``actor_id`` is deliberately not a foreign key, so erasing an
    account keeps the history without the identity."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict | None] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text, default="")


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Job(Base):
    """Long work (classification, simulation, panel selection, opinion updates) in a durable
    queue in the same database: a restart resumes or cleanly fails it, never drops it."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_claim", "status", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(200), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"),
                                              default=JobStatus.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
