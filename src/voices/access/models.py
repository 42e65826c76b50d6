"""Stored access data: waiting-list snapshots (side by side by date), imported RTT figures,
prioritisation policies under version control, and simulation results.

- A **snapshot** is one organisation's waiting list on one date; its pathways are rows of
  ``access_pathway`` keyed by (snapshot, pathway id), so a list of 100,000 pathways is
  100,000 narrow rows read back in one indexed range scan. Importing the same date again
  replaces the snapshot (idempotent); other dates are kept beside it.
- **RTT figures** are NHS England's published waiting-list summaries per period and
  provider, for the whole list (the ``C_999`` rows) or per treatment function (the other
  rows): the ``level`` column says which, so the two are never added together.
- A **policy** belongs to an organisation and has numbered versions: each save adds a
  version with its YAML, who saved it, when and why; nothing is overwritten. The version in
  use for an organisation is recorded separately (``access_active_policy``), so saving a
  draft never changes the list until someone makes it active.
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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voices.core.models import Account, Organisation
from voices.db import Base, UTCDateTime, utcnow


class WaitingListSnapshot(Base):
    """One organisation's waiting list on one date."""

    __tablename__ = "access_snapshot"
    __table_args__ = (UniqueConstraint("organisation_id", "snapshot_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    snapshot_date: Mapped[dt.date] = mapped_column(Date)
    file_name: Mapped[str] = mapped_column(String(255))      # the file's name, no folders
    sha256: Mapped[str] = mapped_column(String(64))
    pathways: Mapped[int] = mapped_column(Integer)
    missing_columns: Mapped[list] = mapped_column(JSON, default=list)
    unknowns: Mapped[dict] = mapped_column(JSON, default=dict)   # column -> pathways not known
    notes: Mapped[list] = mapped_column(JSON, default=list)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)

    organisation: Mapped[Organisation] = relationship()
    importer: Mapped[Account | None] = relationship()


class Pathway(Base):
    """One open referral-to-treatment pathway in a snapshot, as the trust sent it (checked).

    Values not known are NULL, never guessed. Deprivation is the IMD decile (1 = most
    deprived); the LSOA code is kept when the file gave one."""

    __tablename__ = "access_pathway"
    __table_args__ = (
        CheckConstraint("imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10",
                        name="imd_decile_range"),
        CheckConstraint("age IS NULL OR age BETWEEN 0 AND 130", name="age_range"),
    )

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("access_snapshot.id", ondelete="CASCADE"), primary_key=True)
    pathway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    treatment_function_code: Mapped[str] = mapped_column(String(3))
    clock_start_date: Mapped[dt.date] = mapped_column(Date)
    clinical_priority: Mapped[str] = mapped_column(String(3))
    procedure: Mapped[str | None] = mapped_column(Text)
    age: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[str | None] = mapped_column(String(1))
    ethnic_category: Mapped[str | None] = mapped_column(String(2))
    lsoa: Mapped[str | None] = mapped_column(String(9))
    imd_decile: Mapped[int | None] = mapped_column(SmallInteger)
    learning_disability: Mapped[bool | None] = mapped_column(Boolean)
    interpreter_needed: Mapped[bool | None] = mapped_column(Boolean)
    carer: Mapped[bool | None] = mapped_column(Boolean)


class RttImport(Base):
    """One imported RTT full CSV extract (or the demo's synthetic figures)."""

    __tablename__ = "access_rtt_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    periods: Mapped[list] = mapped_column(JSON, default=list)
    providers: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)


class RttFigure(Base):
    """A provider's waiting list (RTT Part 2) in one period, for its whole list
    (``level='total'``, from the ``C_999`` rows) or one treatment function
    (``level='specialty'``). Re-importing a period replaces that period's figures."""

    __tablename__ = "access_rtt_figure"
    __table_args__ = (
        UniqueConstraint("period", "provider_code", "level", "treatment_function_code"),
        Index("ix_access_rtt_figure_provider", "provider_code", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("access_rtt_import.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(40))
    provider_code: Mapped[str] = mapped_column(String(10))
    provider_name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(10))               # total, specialty
    treatment_function_code: Mapped[str] = mapped_column(String(10))
    treatment_function_name: Mapped[str] = mapped_column(String(200), default="")
    pathways: Mapped[int] = mapped_column(Integer)
    unknown_clock_start: Mapped[int | None] = mapped_column(Integer)
    within_18: Mapped[int] = mapped_column(Integer)
    over_52: Mapped[int] = mapped_column(Integer)
    over_65: Mapped[int | None] = mapped_column(Integer)  # not known in older extracts
    over_78: Mapped[int | None] = mapped_column(Integer)  # not known in older extracts
    over_104: Mapped[int | None] = mapped_column(Integer)  # not known in older extracts
    median_weeks: Mapped[float | None] = mapped_column(Float)
    p92_weeks: Mapped[float | None] = mapped_column(Float)


class PrioritisationPolicy(Base):
    """A prioritisation policy of an organisation; its text lives in its versions."""

    __tablename__ = "access_policy"
    __table_args__ = (UniqueConstraint("organisation_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)

    organisation: Mapped[Organisation] = relationship()
    versions: Mapped[list[PolicyVersion]] = relationship(
        back_populates="policy", order_by="PolicyVersion.version.desc()",
        cascade="all, delete-orphan", passive_deletes=True)


class PolicyVersion(Base):
    """One saved version of a policy: the YAML exactly as saved, who, when and why."""

    __tablename__ = "access_policy_version"
    __table_args__ = (UniqueConstraint("policy_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("access_policy.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    yaml_text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    saved_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)

    policy: Mapped[PrioritisationPolicy] = relationship(back_populates="versions")
    author: Mapped[Account | None] = relationship()


class ActivePolicy(Base):
    """The policy version an organisation's list is ordered by."""

    __tablename__ = "access_active_policy"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("access_policy_version.id", ondelete="RESTRICT"), index=True)
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"),
                                               index=True)

    version: Mapped[PolicyVersion] = relationship()


class Simulation(Base):
    """A comparison of policy versions on a simulated list, run as a background job.
    ``result`` holds the comparison table, the results by deprivation quintile and the
    week-by-week series (all modelled averages across replications, no pathway data)."""

    __tablename__ = "access_simulation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_snapshot.id", ondelete="SET NULL"), index=True)
    version_ids: Mapped[list] = mapped_column(JSON)
    settings: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, done, failed
    job_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    snapshot: Mapped[WaitingListSnapshot | None] = relationship()
    author: Mapped[Account | None] = relationship()
