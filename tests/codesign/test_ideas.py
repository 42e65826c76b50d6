"""Ideas move through the stages of co-design with a reason for every change, gather
supporters and partners, and keep a history the database will not let anyone rewrite."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from codesign_support import open_conversation
from voices.codesign import ideas, service
from voices.codesign.models import Stage
from voices.errors import Conflict, ValidationError


def test_an_idea_goes_through_every_stage_with_reasons_and_a_history_nobody_can_rewrite(session,
                                                                             demo_core):
    lead, partner = demo_core.accounts["involvement_lead"], demo_core.accounts["partner"]
    conversation = open_conversation(session, demo_core)
    statement = service.statements(session, conversation)[0]
    idea = ideas.idea_from_statement(session, conversation, statement, actor=lead)
    assert ideas.idea_from_statement(session, conversation, statement, actor=lead) is idea
    assert (idea.stage, idea.title) == (Stage.explore, statement.text)

    refusals = [("propose", "Because", "skipped_stage"), ("investigate", " ", "required"),
                ("explore", "Because", "same_stage"), ("finished", "Because", "invalid_choice")]
    for stage, why, code in refusals:
        with pytest.raises(ValidationError) as caught:
            ideas.move_stage(session, idea, stage, why, actor=lead)
        assert caught.value.code == code
    ideas.move_stage(session, idea, "investigate", "Support in every group", actor=lead)
    with pytest.raises(ValidationError) as caught:
        ideas.move_stage(session, idea, "propose", "Ready", actor=lead)
    assert caught.value.code == "no_supporters"

    ideas.add_supporter(session, idea, organisation_id=demo_core.trusts[1].id,
                        contribution="Shares its waiting list team", actor=lead)
    ideas.add_supporter(session, idea, name="Coastline Carers", actor=lead)
    with pytest.raises(Conflict):
        ideas.add_supporter(session, idea, name="coastline carers", actor=lead)
    with pytest.raises(ValidationError):
        ideas.add_partner(session, idea, lead.id, actor=lead)   # not a partner
    ideas.add_partner(session, idea, partner.id, role="Co-writes the proposal", actor=lead)
    ideas.move_stage(session, idea, "propose", "Supporters found", actor=lead)
    with pytest.raises(ValidationError) as caught:
        ideas.move_stage(session, idea, "agreed", "Done", actor=lead)
    assert caught.value.code == "no_proposal"
    with pytest.raises(ValidationError) as caught:
        ideas.edit(session, idea, title=idea.title, summary=idea.summary, proposal="We will.",
                   why="", actor=lead)
    assert caught.value.problems[0].column == "edit_why"
    ideas.edit(session, idea, title=idea.title, summary=idea.summary, proposal="We will.",
               why="First draft", actor=lead)
    ideas.move_stage(session, idea, "agreed", "Agreed by the board", actor=lead)
    ideas.move_stage(session, idea, "investigate", "The board asked for costs", actor=lead)
    session.commit()

    events = ideas.history(session, idea)
    assert [(e.kind, e.stage, e.from_stage) for e in events] == [
        ("created", "explore", None), ("stage", "investigate", "explore"),
        ("supporter", "investigate", None), ("supporter", "investigate", None),
        ("partner", "investigate", None), ("stage", "propose", "investigate"),
        ("edited", "propose", None), ("stage", "agreed", "propose"),
        ("stage", "investigate", "agreed")]
    assert events[-1].why == "The board asked for costs"
    assert events[6].what == "Changed the proposal"
    # the history never names the partner
    assert not any(partner.display_name in e.what for e in events)

    # the history is append-only in the database itself
    session.commit()
    for statement in (f"UPDATE codesign_idea_event SET why = 'rewritten' WHERE id = {events[0].id}",
                      f"DELETE FROM codesign_idea_event WHERE id = {events[0].id}"):
        with pytest.raises(DBAPIError):
            session.execute(text(statement))
        session.rollback()
    assert [e.why for e in ideas.history(session, idea)] == [e.why for e in events]


def test_erasing_a_partner_account_keeps_their_votes_and_the_history_without_them(session,
                                                                                   demo_core):
    """What erasing a partner (voices involve erase) does to co-design: the account row is
    deleted, so their votes stay, anonymous, and the idea keeps its history."""
    from sqlalchemy import func, select

    from voices.codesign import report
    from voices.codesign.models import IdeaEvent, IdeaPartner, Participant, Vote
    from voices.core.models import Account

    lead, partner = demo_core.accounts["involvement_lead"], demo_core.accounts["partner"]
    conversation = open_conversation(session, demo_core)
    person = service.join(session, conversation, account=partner)
    for number in range(3):
        service.cast_vote(session, conversation, person, number, "agree")
    idea = ideas.idea_from_statement(session, conversation,
                                     service.statements(session, conversation)[0], actor=lead)
    ideas.add_partner(session, idea, partner.id, role="Co-author", actor=lead)
    session.commit()
    events = session.scalar(select(func.count()).select_from(IdeaEvent))

    session.delete(session.get(Account, partner.id))
    session.commit()
    session.expire_all()
    kept = session.scalar(select(Participant))
    assert (kept.account_id, kept.key_hash) == (None, None)
    assert session.scalar(select(func.count()).select_from(Vote)) == 3
    assert session.scalar(select(func.count()).select_from(IdeaPartner)) == 0
    assert session.scalar(select(func.count()).select_from(IdeaEvent)) == events
    assert service.update_map(session, conversation.id).participants == 1
    assert report.proposal_document(session, idea, "html").startswith(b"<!DOCTYPE html>")
