"""Conversations in the database: opening, joining, voting one statement at a time,
statements and moderation, the background opinion map, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest
from sqlalchemy import func, select

from codesign_support import STATEMENTS, open_conversation, vote_rows
from support import at_once
from voices import jobs
from voices.codesign import service
from voices.codesign.models import (
    Conversation,
    OpinionMapRecord,
    Participant,
    Review,
    Statement,
    StatementStatus,
    Vote,
)
from voices.core.models import Job
from voices.db import utcnow
from voices.errors import Conflict, NotFound, ValidationError


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_opening_a_conversation_checks_everything_and_keeps_the_seed_statements(session,
                                                                              demo_core):
    org = demo_core.trusts[0].id
    lead = demo_core.accounts["involvement_lead"]
    refusals = [
        ({"question": "  "}, "question"),
        ({"question": "Q?", "seed_statements": ["x" * 141]}, "seed_statements"),
        ({"question": "Q?", "demographics": ["shoe_size"]}, "demographics"),
        ({"question": "Q?", "opens_at": utcnow(), "closes_at": utcnow() - dt.timedelta(days=1)},
         "closes_at"),
        ({"question": "Q?", "organisation_id": 999_999}, "organisation_id"),
    ]
    for kwargs, column in refusals:
        with pytest.raises(ValidationError) as caught:
            service.create_conversation(session, **{"organisation_id": org, **kwargs},
                                        actor=lead)
        assert caught.value.problems[0].column == column
        session.rollback()
    assert _count(session, Conversation) == 0 and _count(session, Statement) == 0

    conversation = service.create_conversation(
        session, organisation_id=org, question="How should waiting be fairer?",
        seed_statements=["Tell people how long they will wait.", "", ("tell people how long "
                         "they will   wait."), "Help people in pain."], actor=lead)
    session.commit()
    seeds = service.statements(session, conversation)
    assert [(s.number, s.text, s.status, s.seed) for s in seeds] == [
        (0, "Tell people how long they will wait.", StatementStatus.accepted, True),
        (1, "Help people in pain.", StatementStatus.accepted, True)]
    assert conversation.slug == "how-should-waiting-be-fairer" and conversation.is_open()

    # the local population that who took part is compared with
    for population, column in (({"shoe_size": {"9": 100}}, "population"),
                               ({"age_band": {"200-300": 100}}, "age_band"),
                               ({"disability": {"yes": "lots", "no": 50}}, "disability.yes"),
                               ({"disability": {"yes": 20, "no": 50}}, "disability")):
        with pytest.raises(ValidationError) as caught:
            service.set_population(session, conversation, population)
        assert caught.value.problems[0].column == column
    service.set_population(session, conversation, {"disability": {"yes": 18.5, "no": 81.5}})
    assert conversation.population == {"disability": {"yes": 18.5, "no": 81.5}}


def test_joining_twice_is_the_same_participant_and_voting_again_changes_the_vote(
        session, demo_core, shared_data, tmp_path):
    conversation = open_conversation(session, demo_core)
    key = "random-browser-id-123456"
    first = service.join(session, conversation, key=key)
    again = service.join(session, conversation, key=key)
    partner = service.join(session, conversation, account=demo_core.accounts["partner"])
    session.commit()
    assert first.id == again.id and partner.id != first.id
    assert [p.number for p in session.scalars(select(Participant).order_by(Participant.id))] \
        == [0, 1]
    stored = session.execute(select(Participant.__table__)).all()
    assert not any(key in str(value) for row in stored for value in row)
    assert first.key_hash == service.key_hash(key) and partner.account_id is not None

    # deprivation from a postcode or LSOA when the IMD lookup is configured: only the
    # quintile is kept, never what was typed
    imd = shared_data / "imd" / "imd2025_england_lsoa21.csv"
    service.answer(session, first, "imd_quintile", "e01000001", imd_path=imd, data_dir=tmp_path)
    assert (first.imd_quintile, first.imd_source) == ("4", "postcode")   # decile 8
    service.answer(session, first, "imd_quintile", "LS1 4AP", imd_path=imd, data_dir=tmp_path)
    assert first.imd_quintile == "not_known"        # no postcode lookup in the data folder
    with pytest.raises(ValidationError):
        service.answer(session, first, "imd_quintile", "not a postcode", imd_path=imd,
                       data_dir=tmp_path)
    service.answer(session, partner, "imd_quintile", "2")     # self-reported without lookup
    assert (partner.imd_quintile, partner.imd_source) == ("2", "self")
    with pytest.raises(ValidationError):
        service.answer(session, partner, "age_band", "200-300")

    person = first
    statement = service.statements(session, conversation)[3]
    for choice in ("agree", "disagree", "agree", "unclear"):
        service.cast_vote(session, conversation, person, statement.number, choice)
        session.commit()
    assert vote_rows(session, conversation.id) == [(person.id, statement.id, 0, True)]
    session.refresh(statement)
    assert statement.review is Review.needed
    assert service.current_vote(session, person, statement) == "unclear"


def test_people_see_every_statement_once_in_their_own_order(session, demo_core):
    conversation = open_conversation(session, demo_core)
    service.add_statement(session, conversation, "Waiting for moderation, never shown")
    session.commit()
    orders = []
    for key in ("first", "second"):
        person = service.join(session, conversation, key=key)
        order = []
        while (statement := service.next_statement(session, conversation, person)) is not None:
            order.append(statement.number)
            service.cast_vote(session, conversation, person, statement.number, "pass")
            session.commit()
        assert service.progress(session, conversation, person) == (10, 10)
        orders.append(order)
    assert sorted(orders[0]) == sorted(orders[1]) == list(range(len(STATEMENTS)))
    assert orders[0] != orders[1]


def test_refused_votes_change_nothing(session, demo_core):
    conversation = open_conversation(session, demo_core)
    person = service.join(session, conversation, key="k1")
    pending = service.add_statement(session, conversation, "A statement nobody moderated yet",
                                    participant=person)
    rejected = service.add_statement(session, conversation, "A statement a lead rejected",
                                     participant=person)
    service.moderate(session, rejected, False, demo_core.accounts["involvement_lead"])
    service.cast_vote(session, conversation, person, 0, "agree")
    session.commit()
    before = (vote_rows(session, conversation.id), _count(session, Job))
    cases = [(999, "agree", NotFound, "statement_not_found"),
             ("not a number", "agree", NotFound, "statement_not_found"),
             (pending.number, "agree", NotFound, "statement_not_found"),
             (rejected.number, "agree", NotFound, "statement_not_found"),
             (1, "maybe", ValidationError, "invalid_vote")]
    for number, choice, error, code in cases:
        with pytest.raises(error) as caught:
            service.cast_vote(session, conversation, person, number, choice)
        assert caught.value.code == code
        session.rollback()
    conversation.closes_at = utcnow() - dt.timedelta(seconds=1)
    session.commit()
    with pytest.raises(service.ConversationClosed):
        service.cast_vote(session, conversation, person, 1, "agree")
    session.rollback()
    assert (vote_rows(session, conversation.id), _count(session, Job)) == before


def test_statements_wait_for_moderation_only_when_it_is_on_and_can_be_reworded(session,
                                                                               demo_core):
    moderated = open_conversation(session, demo_core, slug="moderated")
    open_door = open_conversation(session, demo_core, moderation=False, slug="unmoderated")
    lead = demo_core.accounts["involvement_lead"]
    for conversation, expected in ((moderated, StatementStatus.pending),
                                   (open_door, StatementStatus.accepted)):
        person = service.join(session, conversation, key="k")
        added = service.add_statement(session, conversation, "  Text me   when clinics run "
                                      "late. ", participant=person)
        session.commit()
        assert (added.text, added.status, added.number) == (
            "Text me when clinics run late.", expected, len(STATEMENTS))
    before = _count(session, Statement)
    for text, code in (("", "required"), ("x" * 141, "too_long"),
                       ("TEXT ME WHEN CLINICS RUN LATE.", "duplicate_statement")):
        with pytest.raises((ValidationError, Conflict)) as caught:
            service.add_statement(session, moderated, text)
        assert caught.value.code == code
        session.rollback()
    assert _count(session, Statement) == before
    waiting = service.statements(session, moderated, StatementStatus.pending)[0]
    person = service.join(session, moderated, key="voter")
    shown = set()
    while (statement := service.next_statement(session, moderated, person)) is not None:
        shown.add(statement.id)
        service.cast_vote(session, moderated, person, statement.number, "pass")
    assert waiting.id not in shown
    service.moderate(session, waiting, True, lead)
    session.commit()
    assert service.next_statement(session, moderated, person).id == waiting.id

    # a plain-English review: reword a statement people did not understand
    conversation = open_door
    person = service.join(session, conversation, key="puzzled")
    old = service.statements(session, conversation)[0]
    service.cast_vote(session, conversation, person, old.number, "unclear")
    session.commit()
    assert service.counts(session, conversation).review == 1
    assert service.unclear_counts(session, conversation) == {old.id: 1}
    new = service.review(session, conversation, old, lead, new_text="Tell people their wait.")
    session.commit()
    assert (old.status, old.review, new.status) == (StatementStatus.rejected, Review.done,
                                                    StatementStatus.accepted)
    assert service.counts(session, conversation).review == 0


def _map_jobs(session, conversation) -> list[str]:
    session.expire_all()
    return sorted(job.status.value for job in session.scalars(select(Job).where(
        Job.key == service.map_job_key(conversation.id))))


def test_votes_while_the_map_updates_queue_one_more_update_and_no_more(
        session, database, demo_core):
    conversation = open_conversation(session, demo_core)
    people = [service.join(session, conversation, key=f"p{i}") for i in range(3)]
    service.cast_vote(session, conversation, people[0], 0, "agree")
    session.commit()
    assert _map_jobs(session, conversation) == ["queued"]
    assert jobs.claim(database, "w1") is not None                    # the update starts
    for person in people:                                            # each vote on its own
        service.cast_vote(session, conversation, person, 1, "agree")
        session.commit()
    assert _map_jobs(session, conversation) == ["queued", "running"]
    assert jobs.claim(database, "w2") is None          # it waits for the running one


def test_votes_arriving_at_the_same_moment_queue_one_map_update(session, database, demo_core):
    conversation = open_conversation(session, demo_core)
    people = [service.join(session, conversation, key=f"p{i}").id for i in range(2)]
    session.commit()

    def vote(participant_id):
        def cast():
            with database.session() as s:
                service.cast_vote(s, s.get(Conversation, conversation.id),
                                  s.get(Participant, participant_id), 0, "agree")
                time.sleep(0.3)                      # still not committed
        return cast

    at_once(vote(people[0]), vote(people[1]))
    assert len(vote_rows(session, conversation.id)) == 2
    assert _map_jobs(session, conversation) == ["queued"]


def _two_camps(session, conversation, people=30):
    """Half the people agree with the even statements and disagree with the odd ones; the
    other half the reverse."""
    statements = service.statements(session, conversation)
    for i in range(people):
        person = service.join(session, conversation, key=f"p{i}")
        for statement in statements:
            agree = (statement.number % 2 == 0) == (i % 2 == 0)
            service.cast_vote(session, conversation, person, statement.number,
                              "agree" if agree else "disagree")
    session.commit()


def test_votes_queue_one_map_update_per_conversation_and_it_finds_the_camps(
        session, database, demo_core):
    conversation = open_conversation(session, demo_core, demographics=["disability"])
    _two_camps(session, conversation)
    queued = session.scalars(select(Job).where(Job.kind == "codesign.map")).all()
    assert [job.key for job in queued] == [f"codesign.map:{conversation.id}"]
    assert jobs.run_pending(database) == 1
    session.expire_all()
    record = session.get(OpinionMapRecord, conversation.id)
    assert record is not None and record.updated_at <= utcnow()
    assert (record.participants, record.placed, record.group_count, record.votes_counted) == (
        30, 30, 2, 300)
    people = dict(session.execute(select(Participant.id, Participant.number)).all())
    membership = {people[int(p)]: g for p, g in record.summary["membership"].items()}
    camps = {number % 2: {g for n, g in membership.items() if n % 2 == number % 2}
             for number in range(2)}
    assert len(camps[0]) == len(camps[1]) == 1 and camps[0] != camps[1]
    # the stored counts are the votes themselves
    first = service.statements(session, conversation)[0]
    agree = session.scalar(select(func.count()).where(Vote.statement_id == first.id,
                                                      Vote.vote == 1))
    assert record.summary["statements"][str(first.id)]["agree"] == agree == 15
    # a second update warm-starts from the stored state and keeps the groups
    updates, before = record.state["updates"], dict(record.summary["membership"])
    service.update_map(session, conversation.id)
    session.commit()
    assert record.state["updates"] == updates + 1
    assert record.summary["membership"] == before


def test_two_updates_of_one_map_never_run_at_once_on_postgresql(session, database,
                                                                demo_core):
    """The background job and `voices codesign update` may be asked at the same moment:
    the second waits for the first and starts from its map."""
    import threading

    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite relies on the job queue's key (one writer at a time)")
    conversation = open_conversation(session, demo_core)
    _two_camps(session, conversation, people=20)
    service.update_map(session, conversation.id)          # holds the lock until commit
    finished = threading.Event()

    def second_update() -> None:
        with database.session() as other:
            service.update_map(other, conversation.id)
        finished.set()

    worker = threading.Thread(target=second_update)
    worker.start()
    try:
        assert not finished.wait(1.5)                      # waiting for the first
        # a vote still goes in while an update holds the lock
        with database.session() as voter:
            person = service.join(voter, voter.get(Conversation, conversation.id), key="late")
            service.cast_vote(voter, voter.get(Conversation, conversation.id), person, 0,
                              "agree")
    finally:
        session.commit()
        worker.join(30)
    assert finished.is_set()
    session.expire_all()
    record = session.get(OpinionMapRecord, conversation.id)
    assert record.state["updates"] == 2 and record.votes_counted == 20 * 10 + 1


def test_the_demo_is_idempotent_and_its_map_finds_the_designed_opinions(session, demo_core):
    from voices.codesign import demo
    from voices.codesign.models import Idea, IdeaEvent, Stage

    demo.load_demo(session, demo_core)
    session.commit()
    counts = [_count(session, m) for m in (Conversation, Participant, Statement, Vote, Idea,
                                           IdeaEvent)]
    demo.load_demo(session, demo_core)
    session.commit()
    assert [_count(session, m) for m in (Conversation, Participant, Statement, Vote, Idea,
                                         IdeaEvent)] == counts
    waiting = service.conversation_by_slug(session, demo.WAITING_SLUG)
    record = service.opinion_map(session, waiting)
    assert (record.participants, record.group_count) == (800, 3)
    numbers = {s.id: s.number for s in service.statements(session, waiting)}
    broad = {numbers[s] for s in record.summary["broad_support"]}
    designed_common_ground = set(range(8))
    divisive = {8, 9, 11, 13, 14, 16, 20}
    assert len(broad & designed_common_ground) >= 6 and not broad & divisive
    distinctive = {g: {numbers[item["statement"]] for item in items}
                   for g, items in record.summary["repness"].items()}
    # each latent group's own statements set one map group apart
    for own in ({8, 11, 13, 43}, {9, 12, 14, 51}, {16, 18, 21, 27}):
        assert any(len(own & found) >= 2 for found in distinctive.values()), (own, distinctive)
    idea = session.scalar(select(Idea))
    assert idea.stage is Stage.agreed and idea.proposal and len(idea.supporters) == 2
    assert len(service.statements(session, waiting, StatementStatus.pending)) == 3


def test_published_results_hide_small_counts_and_round_the_rest(session, demo_core):
    from voices.codesign.results import published_results
    from voices.equity.disclosure import published_counts_are_safe

    conversation = open_conversation(session, demo_core, demographics=["age_band"])
    _two_camps(session, conversation, people=24)
    for person in session.scalars(select(Participant)):
        person.age_band = "25-34" if person.number < 20 else "85+"
    service.update_map(session, conversation.id)
    session.commit()
    record = service.opinion_map(session, conversation)
    texts, numbers = service.statement_texts(session, conversation)
    published = published_results(record.summary, texts=texts, numbers=numbers,
                                  profile=service.participation_profile(session, conversation))
    shown = [published.participants, published.placed]
    shown += [g.members for g in published.groups]
    for s in published.statements:
        shown += [s.voted, s.agree.agreed, s.disagree.agreed] + [b.agreed for b in s.by_group]
    for item in published.participation:
        shown += [row[1] for row in item.rows] + [item.not_answered, item.total]
    numbers_shown = [v for v in shown if v != "*"]
    assert published_counts_are_safe(shown) and all(v % 5 == 0 for v in numbers_shown)
    # 4 people aged 85+ are hidden, and so is the 20 beside them (else 25 - 20 gives it away)
    assert published.participation[0].rows == [("25 to 34", "*", None, None),
                                                ("85 and over", "*", None, None)]
    assert published.participation[0].total == 25
    # 12 of 24 agree with statement 0: rounded 10 of 25, so 40%
    assert published.statements[0].agree.percent == 40.0
    assert np.isclose(published.statements[0].agree.low, 23.4, atol=0.1)


def test_a_share_with_hidden_counts_is_a_band_only_when_the_total_is_large():
    from voices.codesign.results import share_of

    shown = [(share_of(a, t).text, share_of(a, t).voted) for a, t in
             ((270, 275), (5, 200), (4, 50), (100, 200))]
    # 275 voters, 5 did not agree: counts hidden, but the total says it is 90% or more
    # 4 of 50: too few voters for a band, so only the (rounded) total is shown
    assert shown == [("90% or more", 275), ("10% or less", 200), ("*", 50),
                     ("50% (43% to 57%)", 200)]
