"""Demo data for co-design: a finished conversation, "How should our hospital make waiting
fairer?", with about 800 participants, 60 statements and three real opinion groups (votes
drawn from latent group opinions), its opinion map, and one idea carried to an agreed
proposal; plus a small open conversation to try voting on.

Deterministic from the seed, idempotent (it checks for its own conversations first) and
quick. Everyone in it is made up.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from voices.codesign import ideas, service
from voices.codesign.models import (
    Conversation,
    Participant,
    Review,
    Statement,
    StatementStatus,
    Vote,
)
from voices.db import utcnow

WAITING_SLUG = "fairer-waiting"
LETTERS_SLUG = "clearer-letters"
PARTICIPANTS = 800

WAITING_BACKGROUND = (
    "Thousands of people are waiting for planned care at Northshire Teaching Hospitals: "
    "operations, scans and outpatient appointments. Some people wait much longer than "
    "others, and waiting is harder for some people than for others.\n\n"
    "We want to know what you think would make waiting fairer. Your answers will help us "
    "decide how we run our waiting lists and what support we offer while people wait. We "
    "will publish what people said when the conversation closes.")

# (statement, chance of agreeing in latent groups: need first, barriers, choice)
WAITING_STATEMENTS = [
    ("Tell people how long they are likely to wait, and tell them if it changes.", .93, .92, .94),
    ("People waiting in pain should get help with their pain while they wait.", .9, .93, .86),
    ("Letters about waiting should be written in plain English.", .86, .91, .86),
    ("There should be one phone number to call with questions about your wait.", .87, .9, .82),
    ("People who need an interpreter should get one at every appointment.", .82, .93, .8),
    ("The hospital should check on people who have waited a long time.", .86, .91, .82),
    ("Waiting times should be published for each part of the hospital.", .82, .8, .88),
    ("Staff should ask people what support they need to get to appointments.", .78, .92, .8),
    ("Clinical need should be the only thing that decides who is seen first.", .93, .18, .5),
    ("People from the poorest areas should be seen sooner if their need is the same.", .15, .88, .4),
    ("Carers should get appointment times that fit around their caring.", .4, .92, .62),
    ("Within each level of urgency, it should be first come, first served.", .9, .3, .42),
    ("People who cannot work while they wait should be seen sooner.", .28, .82, .48),
    ("Giving some groups priority is unfair on everyone else.", .84, .12, .38),
    ("The hospital should pay travel costs for people on low incomes.", .32, .91, .5),
    ("People whose condition is getting worse should be moved up the list.", .92, .74, .72),
    ("I would go to another hospital if it meant being seen sooner.", .45, .28, .93),
    ("Evening and weekend appointments would make it easier to attend.", .4, .56, .91),
    ("I should be able to see my place on the waiting list online.", .5, .34, .93),
    ("Video appointments are fine for follow-ups.", .52, .3, .86),
    ("The NHS should pay private hospitals to shorten waits.", .5, .18, .77),
    ("A text message is enough to tell me about an appointment.", .46, .24, .86),
    ("People with a learning disability should get longer appointments.", .55, .9, .6),
    ("Missing two appointments should not put you back to the end of the list.", .3, .86, .55),
    ("Doctors, not managers, should decide the order of the waiting list.", .9, .45, .5),
    ("The hospital should look at who waits longest by ethnic group.", .35, .88, .5),
    ("Some people wait longer because of where they live, and that should stop.", .45, .9, .6),
    ("I would take a cancellation at short notice.", .55, .35, .92),
    ("People should be able to choose which surgeon they see, even if it takes longer.", .3, .35, .8),
    ("Community groups should help people who are struggling while they wait.", .5, .9, .58),
    ("Older people should not be made to use apps to manage their appointments.", .62, .9, .3),
    ("Being open about waiting times would build trust in the hospital.", .8, .82, .88),
    ("Children should be seen before adults when their need is the same.", .5, .7, .55),
    ("The hospital should work with GPs to support people on the list.", .78, .86, .76),
    ("People should be asked how waiting affects their life, not only their symptoms.", .45, .9, .6),
    ("Priority for deprived areas would just move the problem somewhere else.", .8, .15, .45),
    ("If you can pay to be seen privately, you should not lose your NHS place.", .45, .2, .8),
    ("Mental health should count when deciding who is seen first.", .55, .88, .62),
    ("Appointments should be booked with you, not just sent to you.", .6, .82, .9),
    ("Everyone on the list should have a named person to contact.", .75, .88, .7),
    ("The hospital should share its waiting list data with local people.", .6, .78, .74),
    ("Patients should be able to swap appointment slots with each other.", .3, .3, .82),
    ("Free parking for people attending many appointments.", .55, .88, .6),
    ("A fair waiting list treats everyone exactly the same.", .88, .2, .46),
    ("People who have waited over a year should be seen before anyone else.", .7, .55, .62),
    ("I trust the hospital to decide fairly who goes first.", .72, .3, .5),
    ("Waiting lists should be checked regularly to remove people who no longer need care.", .88, .5, .8),
    ("Hospital transport should be easier to book.", .55, .9, .58),
    ("Information about waiting should come in easy read and large print.", .7, .92, .66),
    ("The hospital should pay extra to run more operations at weekends.", .7, .55, .88),
    ("People should be told why someone else was seen before them.", .45, .55, .66),
    ("Homeless people should get extra help to keep their place on the list.", .35, .9, .5),
    ("Workers who can prove they are losing income should be seen sooner.", .2, .5, .55),
    ("Everyone should get a check-up call every three months while waiting.", .62, .86, .64),
    ("The list should favour people who have not used the NHS much.", .2, .3, .3),
    ("GPs should be able to ask for a patient to be moved up the list.", .6, .82, .6),
    ("I would rather wait longer for a hospital closer to home.", .5, .8, .18),
    ("The validation of the PTL should happen every quarter.", .62, .45, .55),
    ("RTT clocks should stop when patients cancel their appointment.", .7, .3, .48),
    ("The hospital should ask people like me how to make waiting fairer.", .7, .92, .72),
]
JARGON = {57, 58}   # statements many people say they do not understand

WRITTEN_PENDING = [
    "Bus routes to the hospital should match appointment times.",
    "Give people a rough date for their operation, not just 'soon'.",
    # holds personal details: the moderation page marks it for checking
    ("Let people say if things change. My husband John waited 14 months: ring me on "
     "07700 900461."),
]
WRITTEN_REJECTED = "Dr Smith on ward 7 was rude to me."

# latent groups: shares, and the answers of their members to the optional questions
GROUPS = [0.4, 0.35, 0.25]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84", "85+"]
AGE_BY_GROUP = [[.06, .12, .15, .18, .2, .16, .1, .03], [.07, .12, .13, .15, .17, .18, .14, .04],
                [.2, .26, .22, .15, .1, .05, .02, .0]]
ETHNIC = ["white", "asian", "black", "mixed", "other"]
ETHNIC_BY_GROUP = [[.88, .06, .03, .02, .01], [.7, .14, .09, .05, .02], [.78, .12, .05, .03, .02]]
QUINTILE_BY_GROUP = [[.12, .16, .22, .24, .26], [.42, .26, .16, .1, .06], [.16, .18, .22, .22, .22]]
DISABLED_BY_GROUP = [.18, .38, .1]

POPULATION = {
    "age_band": {"18-24": 11, "25-34": 16, "35-44": 16, "45-54": 16, "55-64": 16, "65-74": 13,
                 "75-84": 9, "85+": 3},
    "ethnic_group": {"white": 82, "asian": 9, "black": 4, "mixed": 3, "other": 2},
    "imd_quintile": {"1": 24, "2": 21, "3": 19, "4": 18, "5": 18},
    "disability": {"yes": 19, "no": 81},
}

PROPOSAL = (
    "Everyone waiting for planned care at Northshire Teaching Hospitals will be told how "
    "long they are likely to wait, in plain English, when they join the list. They will "
    "hear from us again every three months, and straight away if their expected wait "
    "changes by more than a month.\n\n"
    "Messages will come by letter, text or email, as each person chooses, and in easy "
    "read, large print or another language on request. Each message gives one phone "
    "number to call with questions.\n\n"
    "Lived-experience partners wrote the message templates with the waiting list team, "
    "and Northshire Healthwatch tested them with 40 local people. We will check after six "
    "months whether people feel better informed, looking separately at people from the "
    "most deprived areas, disabled people and people of each ethnic group.")

LETTERS_STATEMENTS = [
    "Letters should say clearly what the appointment is for.",
    "Letters should say how to get to the clinic, with a map.",
    "Letters should not use medical words without explaining them.",
    "I would like my letters by email instead of post.",
    "Letters should say who to call if the time does not suit me.",
    "Letters should say how long the appointment will take.",
    "Letters should be sent at least two weeks before the appointment.",
    "Letters should say if I can bring someone with me.",
    "Letters are often too long.",
    "I want letters in my own language.",
    "Letters should tell me what tests I might have.",
    "Letters should say whether parking is free.",
]


def _choice(rng: np.random.Generator, options: list[str], weights: list[float]) -> str:
    weights = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))]


def _answers(rng: np.random.Generator, group: int) -> dict:
    """Answers to the optional questions; about one in ten people prefer not to say."""
    def maybe(value: str) -> str:
        return "prefer_not_to_say" if rng.random() < 0.1 else value

    return {"age_band": maybe(_choice(rng, AGE_BANDS, AGE_BY_GROUP[group])),
            "ethnic_group": maybe(_choice(rng, ETHNIC, ETHNIC_BY_GROUP[group])),
            "imd_quintile": maybe(_choice(rng, ["1", "2", "3", "4", "5"],
                                          QUINTILE_BY_GROUP[group])),
            "imd_source": "self",
            "disability": maybe("yes" if rng.random() < DISABLED_BY_GROUP[group] else "no")}


def _waiting_conversation(session: Session, context, rng: np.random.Generator) -> Conversation:
    lead = context.accounts["involvement_lead"]
    trust = context.trusts[0]
    now = utcnow().replace(microsecond=0)
    opens, closes = now - dt.timedelta(days=75), now - dt.timedelta(days=21)
    conversation = service.create_conversation(
        session, organisation_id=trust.id, question="How should our hospital make waiting fairer?",
        background=WAITING_BACKGROUND, seed_statements=[s[0] for s in WAITING_STATEMENTS],
        opens_at=opens, closes_at=closes, moderation=True,
        demographics=["age_band", "ethnic_group", "imd_quintile", "disability"],
        slug=WAITING_SLUG, actor=lead)
    service.set_population(session, conversation, POPULATION, actor=lead)
    statements = service.statements(session, conversation)
    probabilities = np.array([s[1:] for s in WAITING_STATEMENTS])

    # participants, each from a latent opinion group, joining over the seven weeks
    group = rng.choice(len(GROUPS), size=PARTICIPANTS, p=GROUPS)
    span = (closes - opens).total_seconds()
    joined = np.sort(rng.uniform(0, span * 0.95, size=PARTICIPANTS))
    rows = [{"conversation_id": conversation.id, "number": i,
             "key_hash": service.key_hash(f"demo-{context.seed}-{i}"),
             "joined_at": opens + dt.timedelta(seconds=float(joined[i])),
             **_answers(rng, int(group[i]))} for i in range(PARTICIPANTS)]
    session.execute(insert(Participant), rows)
    people = list(session.scalars(select(Participant.id).where(
        Participant.conversation_id == conversation.id).order_by(Participant.number)))

    # votes: each person sees 15 to 60 statements; agree with their group's chance,
    # otherwise mostly disagree, sometimes pass; jargon often "I don't understand this"
    votes = []
    for i, person in enumerate(people):
        seen = rng.permutation(len(statements))[:int(rng.integers(15, 61))]
        start = joined[i]
        for order, j in enumerate(seen):
            draw = rng.random()
            p = probabilities[j, group[i]]
            unclear = j in JARGON and rng.random() < 0.3
            value = 0 if unclear else (1 if draw < p else (-1 if draw < p + (1 - p) * 0.8
                                                           else 0))
            votes.append({"participant_id": person, "statement_id": statements[j].id,
                          "conversation_id": conversation.id, "vote": value,
                          "unclear": bool(unclear),
                          "voted_at": opens + dt.timedelta(seconds=float(start + 20 * order))})
    for begin in range(0, len(votes), 10_000):
        session.execute(insert(Vote), votes[begin:begin + 10_000])
    session.flush()
    for number in JARGON:
        statements[number].review = Review.needed

    # statements people wrote: some waiting for moderation, one rejected (it names someone)
    for k, text in enumerate(WRITTEN_PENDING + [WRITTEN_REJECTED]):
        statement = Statement(conversation_id=conversation.id, number=len(statements) + k,
                              text=text, author_id=people[(k * 97) % len(people)],
                              status=StatementStatus.pending,
                              created_at=closes - dt.timedelta(days=3 + k))
        session.add(statement)
        if text == WRITTEN_REJECTED:
            statement.status = StatementStatus.rejected
            statement.moderated_at = closes - dt.timedelta(days=2)
            statement.moderated_by = lead.id
    session.flush()
    service.update_map(session, conversation.id)
    return conversation


def _idea(session: Session, context, conversation: Conversation) -> None:
    """The statement with the most support across the groups, carried to an agreed proposal."""
    lead, partner = context.accounts["involvement_lead"], context.accounts["partner"]
    record = service.opinion_map(session, conversation)
    broad = record.summary["broad_support"]
    statement = session.get(Statement, broad[0])
    idea = ideas.idea_from_statement(session, conversation, statement, actor=lead)
    ideas.move_stage(session, idea, "investigate",
                     "It had the most support in every opinion group, and people from the most "
                     "deprived areas agreed as strongly as everyone else.", actor=lead)
    ideas.add_supporter(session, idea, organisation_id=context.trusts[0].id,
                        contribution="Runs the waiting lists and will send the updates.",
                        actor=lead)
    ideas.add_supporter(session, idea, name="Northshire Healthwatch",
                        contribution="Will test the messages with local people.", actor=lead)
    ideas.add_partner(session, idea, partner.id, role="Co-wrote the message templates.",
                      actor=lead)
    ideas.move_stage(session, idea, "propose",
                     "The waiting list team confirmed they can send updates every three months.",
                     actor=lead)
    ideas.edit(session, idea, title="Tell everyone how long they are likely to wait",
               summary=idea.summary, proposal=PROPOSAL,
               why="First full draft, written with our lived-experience partner.", actor=lead)
    ideas.move_stage(session, idea, "agreed",
                     "Agreed by the trust's patient experience committee.", actor=lead)


def _letters_conversation(session: Session, context) -> None:
    service.create_conversation(
        session, organisation_id=context.trusts[0].id,
        question="What would make our outpatient letters easier to understand?",
        background="We send thousands of appointment letters every week. Tell us what would "
                   "make them clearer and more useful.",
        seed_statements=LETTERS_STATEMENTS, moderation=True,
        demographics=["age_band", "disability"], slug=LETTERS_SLUG,
        actor=context.accounts["involvement_lead"])


def load_demo(session: Session, context) -> None:
    """Add the co-design demo (nothing if it is already there)."""
    existing = set(session.scalars(select(Conversation.slug).where(
        Conversation.slug.in_([WAITING_SLUG, LETTERS_SLUG]))))
    rng = np.random.default_rng(context.seed + 7)
    if WAITING_SLUG not in existing:
        context.progress("codesign: a finished conversation of 800 people and its opinion map")
        conversation = _waiting_conversation(session, context, rng)
        _idea(session, context, conversation)
    if LETTERS_SLUG not in existing:
        _letters_conversation(session, context)
    session.flush()
