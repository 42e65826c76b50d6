"""Co-design tables: conversations, participants, statements, votes, the stored opinion
map, and ideas carried through the stages of co-design to a proposal.

Anonymous participants are known only by a random id kept in a signed cookie; the
database stores a SHA-256 hash of it, never the id itself, and nothing else that names
them. Votes keep only the latest vote of a participant on a statement (the primary key is
participant × statement), so voting again changes the vote and never adds one.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
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

from voices.core.models import Account, Organisation, _enum
from voices.db import Base, UTCDateTime, utcnow


class StatementStatus(str, enum.Enum):
    """Moderation: a statement is shown to voters only once accepted."""

    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "Waiting for moderation", "accepted": "Shown to voters",
                "rejected": "Not shown"}[self.value]


class Review(str, enum.Enum):
    """Plain-English review, asked for when voters say they do not understand a statement."""

    none = "none"
    needed = "needed"
    done = "done"


class Stage(str, enum.Enum):
    """The stages of co-design an idea moves through, in order."""

    explore = "explore"
    investigate = "investigate"
    propose = "propose"
    agreed = "agreed"

    @property
    def label(self) -> str:
        return {"explore": "Explore", "investigate": "Investigate", "propose": "Propose",
                "agreed": "Agreed"}[self.value]

    @property
    def description(self) -> str:
        return {
            "explore": "Understand the idea and who it matters to.",
            "investigate": "Gather evidence, costs and what people with lived experience say.",
            "propose": "Write the proposal with partners and supporting organisations.",
            "agreed": "The proposal has been agreed and is being put into practice.",
        }[self.value]


STAGES = list(Stage)


class Conversation(Base):
    __tablename__ = "codesign_conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    question: Mapped[str] = mapped_column(String(300))
    background: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    moderation: Mapped[bool] = mapped_column(Boolean, default=True)
    # which optional questions about the participant to ask (names of equity dimensions)
    demographics: Mapped[list] = mapped_column(JSON, default=list)
    # the local population to compare who took part with: {dimension: {code: percent}}
    population: Mapped[dict | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16), default="voices")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()

    def is_open(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        return self.opens_at <= now and (self.closes_at is None or now < self.closes_at)

    def has_closed(self, now: dt.datetime | None = None) -> bool:
        return self.closes_at is not None and (now or utcnow()) >= self.closes_at


class Participant(Base):
    __tablename__ = "codesign_participant"
    __table_args__ = (
        UniqueConstraint("conversation_id", "number"),
        UniqueConstraint("conversation_id", "key_hash"),
        UniqueConstraint("conversation_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("codesign_conversation.id", ondelete="CASCADE"), index=True)
    # the participant's number in this conversation (Pol.is "voter-id")
    number: Mapped[int] = mapped_column(Integer)
    key_hash: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    age_band: Mapped[str | None] = mapped_column(String(24))
    ethnic_group: Mapped[str | None] = mapped_column(String(24))
    imd_quintile: Mapped[str | None] = mapped_column(String(24))
    imd_source: Mapped[str | None] = mapped_column(String(16))
    disability: Mapped[str | None] = mapped_column(String(24))
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Statement(Base):
    __tablename__ = "codesign_statement"
    __table_args__ = (UniqueConstraint("conversation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("codesign_conversation.id", ondelete="CASCADE"), index=True)
    # the statement's number in this conversation (Pol.is "comment-id")
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    seed: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("codesign_participant.id", ondelete="SET NULL"), index=True)
    status: Mapped[StatementStatus] = mapped_column(
        _enum(StatementStatus, "codesign_statement_status"), default=StatementStatus.pending)
    review: Mapped[Review] = mapped_column(_enum(Review, "codesign_review"),
                                           default=Review.none)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    moderated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    moderated_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)


class Vote(Base):
    """The latest vote of one participant on one statement: +1 agree, -1 disagree, 0 pass.
    "I don't understand this" is stored as a pass with ``unclear`` set."""

    __tablename__ = "codesign_vote"
    __table_args__ = (
        CheckConstraint("vote IN (-1, 0, 1)", name="vote_value"),
        Index("ix_codesign_vote_conversation", "conversation_id", "voted_at"),
        Index("ix_codesign_vote_statement", "statement_id"),
    )

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("codesign_participant.id", ondelete="CASCADE"), primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("codesign_statement.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("codesign_conversation.id", ondelete="CASCADE"))
    vote: Mapped[int] = mapped_column(SmallInteger)
    unclear: Mapped[bool] = mapped_column(Boolean, default=False)
    voted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpinionMapRecord(Base):
    """The latest opinion map of a conversation: the engine's state (to warm-start the
    next update) and a summary for pages and reports. Exact counts: published views go
    through disclosure control when shown."""

    __tablename__ = "codesign_opinion_map"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("codesign_conversation.id", ondelete="CASCADE"), primary_key=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    votes_counted: Mapped[int] = mapped_column(Integer, default=0)
    participants: Mapped[int] = mapped_column(Integer, default=0)
    placed: Mapped[int] = mapped_column(Integer, default=0)
    group_count: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)


class Idea(Base):
    __tablename__ = "codesign_idea"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("codesign_conversation.id", ondelete="SET NULL"), index=True)
    statement_id: Mapped[int | None] = mapped_column(
        ForeignKey("codesign_statement.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[Stage] = mapped_column(_enum(Stage, "codesign_stage"), default=Stage.explore)
    proposal: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation | None] = relationship()
    statement: Mapped[Statement | None] = relationship()
    organisation: Mapped[Organisation] = relationship()
    supporters: Mapped[list[IdeaSupporter]] = relationship(
        back_populates="idea", order_by="IdeaSupporter.id")
    partners: Mapped[list[IdeaPartner]] = relationship(
        back_populates="idea", order_by="IdeaPartner.id")


class IdeaSupporter(Base):
    """An organisation supporting an idea (a partnership): one of Voices' organisations
    or another named one (a charity, a community group)."""

    __tablename__ = "codesign_idea_supporter"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("codesign_idea.id", ondelete="CASCADE"),
                                         index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contribution: Mapped[str] = mapped_column(String(500), default="")
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    idea: Mapped[Idea] = relationship(back_populates="supporters")


class IdeaPartner(Base):
    """A lived-experience partner (a partner account) working on an idea."""

    __tablename__ = "codesign_idea_partner"
    __table_args__ = (UniqueConstraint("idea_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("codesign_idea.id", ondelete="CASCADE"),
                                         index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    role: Mapped[str] = mapped_column(String(300), default="")
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    idea: Mapped[Idea] = relationship(back_populates="partners")
    account: Mapped[Account] = relationship()


class IdeaEvent(Base):
    """What changed in an idea and why. Rows are only ever added: the database refuses
    updates and deletes. ``actor_id`` is not a foreign key, so erasing an account keeps
    the history without the identity; ``what`` never holds personal data."""

    __tablename__ = "codesign_idea_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("codesign_idea.id", ondelete="RESTRICT"),
                                         index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    what: Mapped[str] = mapped_column(String(500))
    why: Mapped[str] = mapped_column(Text, default="")
