"""Helpers for the co-design conversation tests (importable as `codesign_support`)."""

from __future__ import annotations

import re

from support import csrf_from

STATEMENTS = [f"Statement number {i} about waiting" for i in range(10)]


def open_conversation(session, demo, *, statements=STATEMENTS, moderation=True,
                      demographics=(), closes_at=None, slug=None):
    """A conversation of the demo's first trust, opened by the demo lead."""
    from voices.codesign import service

    conversation = service.create_conversation(
        session, organisation_id=demo.trusts[0].id, question="How should waiting be fairer?",
        background="Tell us what you think.", seed_statements=list(statements),
        moderation=moderation, demographics=list(demographics), closes_at=closes_at,
        slug=slug, actor=demo.accounts["involvement_lead"])
    session.commit()
    return conversation


def join(client, slug: str) -> str:
    """Join a conversation through its page as an anonymous participant; returns the
    CSRF token for later forms."""
    page = client.get(f"/codesign/c/{slug}")
    token = csrf_from(page.text)
    response = client.post(f"/codesign/c/{slug}/join", data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return token


def shown_statement(html: str) -> int | None:
    """The number of the statement a voting page (or fragment) asks about."""
    match = re.search(r'name="statement" value="(\d+)"', html)
    return int(match.group(1)) if match else None


def vote_rows(session, conversation_id: int) -> list[tuple[int, int, int, bool]]:
    """(participant id, statement id, vote, unclear) for every stored vote."""
    from sqlalchemy import select

    from voices.codesign.models import Vote

    session.expire_all()
    return [tuple(r) for r in session.execute(
        select(Vote.participant_id, Vote.statement_id, Vote.vote, Vote.unclear)
        .where(Vote.conversation_id == conversation_id)
        .order_by(Vote.participant_id, Vote.statement_id)).all()]
