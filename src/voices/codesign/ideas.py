"""Ideas: statements with broad support, carried through the stages of co-design
(explore → investigate → propose → agreed) with supporting organisations and
lived-experience partners, to a proposal.

Every change is recorded in the idea's history (``codesign_idea_event``, append-only):
what changed, at which stage, by whom (an account id) and why. Moving stage needs a reason.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from voices.codesign.models import (
    STAGES,
    Conversation,
    Idea,
    IdeaEvent,
    IdeaPartner,
    IdeaSupporter,
    Stage,
    Statement,
)
from voices.core import audit
from voices.core.models import Account, Organisation, Role
from voices.core.service import _text
from voices.db import utcnow
from voices.errors import Conflict, NotFound, ValidationError


def _record(db: Session, idea: Idea, kind: str, what: str, *, why: str = "",
            actor: Account | None = None, from_stage: Stage | None = None) -> IdeaEvent:
    event = IdeaEvent(idea_id=idea.id, at=utcnow(), actor_id=actor.id if actor else None,
                      kind=kind, stage=idea.stage.value,
                      from_stage=from_stage.value if from_stage else None, what=what[:500],
                      why=why)
    db.add(event)
    idea.updated_at = event.at
    return event


def _why(value: str, *, required: bool = True, field: str = "why") -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if required and not text:
        raise ValidationError("Say why: the history of the idea keeps the reason",
                              column=field, code="required")
    if len(text) > 2000:
        raise ValidationError("The reason must be 2,000 characters or fewer", column=field,
                              code="too_long")
    return text


def create_idea(db: Session, *, organisation_id: int, title: str, summary: str = "",
                conversation: Conversation | None = None, statement: Statement | None = None,
                actor: Account | None = None, why: str = "") -> Idea:
    """Start an idea at the explore stage."""
    if db.get(Organisation, organisation_id) is None:
        raise ValidationError("Choose the organisation taking the idea forward",
                              column="organisation_id", code="unknown_organisation")
    idea = Idea(organisation_id=organisation_id, title=_text(title, "title", "a title"),
                summary=(summary or "").strip()[:5000], stage=Stage.explore,
                conversation_id=conversation.id if conversation else None,
                statement_id=statement.id if statement else None,
                created_by=actor.id if actor else None)
    db.add(idea)
    db.flush()
    _record(db, idea, "created", "Started the idea" + (
        f" from statement {statement.number} of a conversation" if statement else ""),
        why=why, actor=actor)
    audit.record(db, "codesign.idea.create", actor=actor, record_type="codesign_idea",
                 record_id=idea.id, organisation_id=organisation_id, summary="Started an idea")
    return idea


def idea_from_statement(db: Session, conversation: Conversation, statement: Statement, *,
                        actor: Account | None = None) -> Idea:
    """Make an idea of a statement (one idea per statement)."""
    existing = db.scalar(select(Idea).where(Idea.statement_id == statement.id))
    if existing is not None:
        return existing
    return create_idea(db, organisation_id=conversation.organisation_id, title=statement.text,
                       summary=f"From the conversation \u201c{conversation.question}\u201d.",
                       conversation=conversation, statement=statement, actor=actor,
                       why="The statement had support across the opinion groups.")


def list_ideas(db: Session, organisation_ids: set[int] | None) -> list[Idea]:
    query = select(Idea).order_by(Idea.updated_at.desc(), Idea.id.desc())
    if organisation_ids is not None:
        query = query.where(Idea.organisation_id.in_(organisation_ids))
    return list(db.scalars(query))


def get_idea(db: Session, idea_id: int, organisation_ids: set[int] | None = None) -> Idea:
    idea = db.get(Idea, idea_id)
    if idea is None or (organisation_ids is not None
                        and idea.organisation_id not in organisation_ids):
        raise NotFound("We could not find that idea.")
    return idea


def history(db: Session, idea: Idea) -> list[IdeaEvent]:
    return list(db.scalars(select(IdeaEvent).where(IdeaEvent.idea_id == idea.id)
                           .order_by(IdeaEvent.at, IdeaEvent.id)))


def next_stage(stage: Stage) -> Stage | None:
    index = STAGES.index(stage)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


def move_stage(db: Session, idea: Idea, stage: str, why: str, *,
               actor: Account | None = None) -> None:
    """Move an idea one stage on (or back to any earlier stage), saying why.

    An idea reaches 'propose' only with at least one supporting organisation or partner,
    and 'agreed' only with a written proposal."""
    try:
        target = Stage(stage)
    except ValueError:
        raise ValidationError("Choose a stage", column="stage", code="invalid_choice",
                              expected=", ".join(s.value for s in Stage)) from None
    reason = _why(why)
    current = idea.stage
    if target == current:
        raise ValidationError(f"The idea is already at the {current.label.lower()} stage",
                              column="stage", code="same_stage")
    forward = STAGES.index(target) > STAGES.index(current)
    if forward and target != next_stage(current):
        raise ValidationError(f"Move to the {next_stage(current).label.lower()} stage first: "
                              "an idea goes through every stage", column="stage",
                              code="skipped_stage")
    if forward and target is Stage.propose and not (idea.supporters or idea.partners):
        raise ValidationError("Add a supporting organisation or a lived-experience partner "
                              "before writing the proposal", column="stage",
                              code="no_supporters")
    if forward and target is Stage.agreed and not idea.proposal.strip():
        raise ValidationError("Write the proposal before it can be agreed", column="stage",
                              code="no_proposal")
    idea.stage = target
    _record(db, idea, "stage", f"Moved from {current.label} to {target.label}", why=reason,
            actor=actor, from_stage=current)


def edit(db: Session, idea: Idea, *, title: str, summary: str, proposal: str, why: str,
         actor: Account | None = None) -> None:
    """Change the idea's title, summary or proposal, saying why."""
    title = _text(title, "title", "a title")
    summary = (summary or "").replace("\r\n", "\n").strip()
    proposal = (proposal or "").replace("\r\n", "\n").strip()
    if len(summary) > 5000 or len(proposal) > 20000:
        raise ValidationError("The summary (5,000 characters) or proposal (20,000 "
                              "characters) is too long", column="proposal", code="too_long")
    changed = [name for name, old, new in (("title", idea.title, title),
                                           ("summary", idea.summary, summary),
                                           ("proposal", idea.proposal, proposal)) if old != new]
    if not changed:
        raise ValidationError("Nothing has changed", column="title", code="no_change")
    reason = _why(why, field="edit_why")
    idea.title, idea.summary, idea.proposal = title, summary, proposal
    _record(db, idea, "edited", "Changed the " + " and the ".join(changed), why=reason,
            actor=actor)


def add_supporter(db: Session, idea: Idea, *, organisation_id: int | None = None,
                  name: str = "", contribution: str = "", actor: Account | None = None
                  ) -> IdeaSupporter:
    """Add a supporting organisation (a partnership)."""
    organisation = db.get(Organisation, organisation_id) if organisation_id else None
    if organisation_id and organisation is None:
        raise ValidationError("Choose an organisation from the list",
                              column="supporter_organisation_id")
    name = organisation.name if organisation else _text(name, "supporter_name",
                                                        "the organisation's name")
    if any(s.name.lower() == name.lower() for s in idea.supporters):
        raise Conflict(f"{name} already supports this idea", code="duplicate_supporter")
    supporter = IdeaSupporter(idea_id=idea.id, organisation_id=organisation.id if organisation
                              else None, name=name,
                              contribution=_text(contribution, "contribution",
                                                 "what they bring", max_length=500,
                                                 required=False))
    db.add(supporter)
    idea.supporters.append(supporter)
    _record(db, idea, "supporter", f"Added {name} as a supporting organisation",
            why=supporter.contribution, actor=actor)
    return supporter


def partner_accounts(db: Session) -> list[Account]:
    return list(db.scalars(select(Account).where(Account.role == Role.partner,
                                                  Account.active.is_(True))
                           .order_by(Account.name, Account.email)))


def add_partner(db: Session, idea: Idea, account_id: int | None, *, role: str = "",
                actor: Account | None = None) -> IdeaPartner:
    """Add a lived-experience partner (a partner's account) to the idea."""
    account = db.get(Account, account_id) if account_id else None
    if account is None or account.role is not Role.partner:
        raise ValidationError("Choose a lived-experience partner from the list",
                              column="partner_id", code="unknown_partner")
    if any(p.account_id == account.id for p in idea.partners):
        raise Conflict("That partner is already working on this idea", code="duplicate_partner")
    partner = IdeaPartner(idea_id=idea.id, account_id=account.id,
                          role=_text(role, "partner_role", "their role", max_length=300,
                                     required=False))
    db.add(partner)
    idea.partners.append(partner)
    # the history names no one: the partner is referred to by their record
    _record(db, idea, "partner", f"Added a lived-experience partner (partner record "
            f"{account.id})", why=partner.role, actor=actor)
    return partner
