"""Stored feedback: responses, their comments (redacted), what the model and coders said
about each comment, services' replies, import mappings and runs, and registered models.

A **response** is one person's answer to the Friends and Family Test for one service: the
rating, optional equality answers and up to two comments ("What was good?", "What could be
better?"). Only redacted comment text is stored in the analysis columns; the original is
kept, encrypted, only when ``keep_original_text`` is on (see :mod:`voices.listen.originals`).

Deletion: a response's comments, labels, themes, codings and replies go with it
(``ON DELETE CASCADE``), so a response can be erased everywhere with one delete. Codings are
append-only (the database refuses updates; see the migration).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voices.core.models import Service
from voices.db import Base, UTCDateTime, utcnow

#: Where a response came from.
SOURCES = ("web", "api", "import", "demo")
#: Which question a comment answers.
QUESTIONS = {"what_good": "What was good?", "could_improve": "What could be better?",
             "other": "Other comment"}


class ImportMapping(Base):
    """A supplier's saved column mapping: which of their columns holds each field."""

    __tablename__ = "listen_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    supplier: Mapped[str] = mapped_column(String(80))
    columns: Mapped[dict] = mapped_column(JSON, default=dict)
    rating_values: Mapped[dict] = mapped_column(JSON, default=dict)
    date_format: Mapped[str | None] = mapped_column(String(40))
    encoding: Mapped[str | None] = mapped_column(String(20))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("service.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    service: Mapped[Service | None] = relationship()


class ImportRun(Base):
    """One imported file: how many rows it had, added and skipped as already imported."""

    __tablename__ = "listen_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    mapping_id: Mapped[int | None] = mapped_column(
        ForeignKey("listen_mapping.id", ondelete="SET NULL"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)

    mapping: Mapped[ImportMapping | None] = relationship()


class FeedbackResponse(Base):
    """One person's feedback about one service."""

    __tablename__ = "listen_response"
    __table_args__ = (
        UniqueConstraint("supplier", "supplier_response_id", name="uq_listen_response_supplier"),
        UniqueConstraint("api_account_id", "idempotency_key",
                         name="uq_listen_response_idempotency"),
        Index("ix_listen_response_service_period", "service_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="RESTRICT"))
    period: Mapped[str] = mapped_column(String(7), index=True)          # YYYY-MM
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16))
    rating: Mapped[str | None] = mapped_column(String(32))             # an FFT answer
    age_band: Mapped[str | None] = mapped_column(String(32))
    sex: Mapped[str | None] = mapped_column(String(32))
    ethnic_group: Mapped[str | None] = mapped_column(String(32))
    disability: Mapped[str | None] = mapped_column(String(32))
    carer: Mapped[str | None] = mapped_column(String(32))
    postcode_district: Mapped[str | None] = mapped_column(String(8))
    lsoa_code: Mapped[str | None] = mapped_column(String(9))
    imd_decile: Mapped[int | None] = mapped_column(Integer)
    supplier: Mapped[str | None] = mapped_column(String(80))
    supplier_response_id: Mapped[str | None] = mapped_column(String(120))
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("listen_import.id", ondelete="SET NULL"), index=True)
    api_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    api_reply: Mapped[dict | None] = mapped_column(JSON)
    edit_token_hash: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    service: Mapped[Service] = relationship()
    comments: Mapped[list[FeedbackComment]] = relationship(
        back_populates="response", order_by="FeedbackComment.id", passive_deletes=True)


class FeedbackComment(Base):
    """One free-text answer, redacted, with what the model (and any coder) said about it."""

    __tablename__ = "listen_comment"
    __table_args__ = (
        UniqueConstraint("response_id", "question", name="uq_listen_comment_question"),
        Index("ix_listen_comment_queue", "coded_at", "confidence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("listen_response.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")                # redacted
    original_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    redacted_kinds: Mapped[str] = mapped_column(String(200), default="")
    flags: Mapped[str] = mapped_column(String(200), default="")
    words: Mapped[int] = mapped_column(Integer, default=0)
    model_version: Mapped[str | None] = mapped_column(String(64))
    classified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confidence: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[int | None] = mapped_column(Integer)
    sentiment_probability: Mapped[float | None] = mapped_column(Float)
    sentiment_source: Mapped[str | None] = mapped_column(String(8))
    explanation: Mapped[dict | None] = mapped_column(JSON)
    coded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    coded_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    response: Mapped[FeedbackResponse] = relationship(back_populates="comments")
    labels: Mapped[list[CommentLabel]] = relationship(
        order_by="CommentLabel.label", viewonly=True)
    themes: Mapped[list[CommentTheme]] = relationship(
        order_by="CommentTheme.theme", viewonly=True)
    reply: Mapped[ServiceReply | None] = relationship(
        back_populates="comment", passive_deletes=True)

    @property
    def flag_list(self) -> list[str]:
        return [f for f in self.flags.split(",") if f]


class CommentLabel(Base):
    """A theme label a comment has now: the model's, or a coder's once reviewed."""

    __tablename__ = "listen_comment_label"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("listen_comment.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(120), primary_key=True, index=True)
    probability: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8))                     # model, coder


class CommentTheme(Base):
    """An I-statement theme a comment speaks to, and which labels and words linked it."""

    __tablename__ = "listen_comment_theme"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("listen_comment.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    via_labels: Mapped[list] = mapped_column(JSON, default=list)
    via_words: Mapped[list] = mapped_column(JSON, default=list)


class Coding(Base):
    """A coder's decision on a comment: accepted as the model had it, or corrected.

    Append-only: the database refuses updates. ``coder_id`` is deliberately not a foreign
    key (as in the audit log), so removing an account keeps the history of decisions."""

    __tablename__ = "listen_coding"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("listen_comment.id", ondelete="CASCADE"), index=True)
    coder_id: Mapped[int | None] = mapped_column(Integer, index=True)
    coded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(8))                     # accept, correct
    labels: Mapped[list] = mapped_column(JSON, default=list)
    sentiment: Mapped[int | None] = mapped_column(Integer)
    model_labels: Mapped[list] = mapped_column(JSON, default=list)
    model_sentiment: Mapped[int | None] = mapped_column(Integer)
    model_version: Mapped[str | None] = mapped_column(String(64))
    agreement: Mapped[float] = mapped_column(Float)


class ServiceReply(Base):
    """A service's public reply to a comment ("You said, we did")."""

    __tablename__ = "listen_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("listen_comment.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    changed_something: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    comment: Mapped[FeedbackComment] = relationship(back_populates="reply")


class ClassifierModel(Base):
    """A trained model registered for classifying stored comments (files in ``path``)."""

    __tablename__ = "listen_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    framework: Mapped[str] = mapped_column(String(80))
    path: Mapped[str] = mapped_column(String(500))
    card: Mapped[dict | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)


class OriginalTextReader(Base):
    """The patient-experience permission: an analyst (or administrator) listed here may read
    the encrypted original text of comments, when originals are kept at all."""

    __tablename__ = "listen_original_reader"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by: Mapped[int | None] = mapped_column(Integer)
