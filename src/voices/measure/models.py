"""Stored measure data: imported response counts and activity figures, and each
organisation's scorecard (versioned, so who changed it when is never lost).

Response counts are *aggregates*, as NHS England's monthly FFT returns and survey
suppliers send them: for one service, month and answer, either the total (``dimension``
and ``group`` are both ``all``) or the count for one group of one equity dimension (for
example ``imd_decile`` / ``3``). Each dimension is a separate breakdown of the same total;
people whose group is not known make up the difference.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voices.core.models import Account, Organisation, Service
from voices.db import Base, UTCDateTime, utcnow

ALL = "all"


class MeasureImport(Base):
    """One imported file (or the demo): where a set of figures came from.

    Importing the same file again reuses its row (matched by kind and checksum)."""

    __tablename__ = "measure_import"
    __table_args__ = (Index("ix_measure_import_checksum", "kind", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))           # responses, activity
    file_name: Mapped[str] = mapped_column(String(255))     # the file's name, no folders
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)


class ResponseCount(Base):
    """How many people gave one FFT answer for one service and month, in total or in one
    group of one equity dimension."""

    __tablename__ = "measure_response_count"
    __table_args__ = (
        UniqueConstraint("service_id", "period", "dimension", "group_code", "response",
                         name="uq_measure_response_count_slice"),
        CheckConstraint("count >= 0", name="count_not_negative"),
        Index("ix_measure_response_count_period", "period", "service_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))          # YYYY-MM
    response: Mapped[str] = mapped_column(String(32))       # one of the six FFT answers
    dimension: Mapped[str] = mapped_column(String(32), default=ALL)
    group_code: Mapped[str] = mapped_column(String(32), default=ALL)
    count: Mapped[int] = mapped_column(Integer)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("measure_import.id", ondelete="SET NULL"), index=True)

    service: Mapped[Service] = relationship()


class ActivityFigure(Base):
    """An activity figure a scorecard sits beside (for example % waiting under 18 weeks),
    for a service, or for the organisation itself when ``service_id`` is empty."""

    __tablename__ = "measure_activity"
    __table_args__ = (
        Index("ix_measure_activity_lookup", "organisation_id", "period", "measure"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    measure: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("measure_import.id", ondelete="SET NULL"), index=True)


class ScorecardVersion(Base):
    """One saved version of an organisation's scorecard (YAML). The newest is in force;
    older versions are kept, with who saved them and when."""

    __tablename__ = "measure_scorecard_version"
    __table_args__ = (UniqueConstraint("organisation_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    yaml_text: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    saved_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)

    organisation: Mapped[Organisation] = relationship()
    author: Mapped[Account | None] = relationship()
