"""Demo feedback: a year of synthetic responses and comments for the demo services.

Comments are written from templates — no real person's words — each template carrying the
QDC themes and the sentiment it expresses, so the same generator also writes a labelled set
to train the demo model on. Responses carry equality answers with a realistic inequality:
people from more deprived areas, disabled people, younger adults and some ethnic groups rate
their care lower (the same pattern as the ``measure`` demo). A few comments are odd on
purpose (emoji, HTML, another script, very long, personal details that get redacted), so the
flags and redaction show. The stored comments are classified by a model trained on the
labelled set, some are reviewed by the demo analyst (so the agreement chart has months to
show), and some have published replies.

Deterministic from the seed, idempotent (nothing is added if demo feedback exists), and
quick (a few seconds).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, insert, select

from voices.demo import DemoContext
from voices.equity.dimensions import PREFER_NOT_TO_SAY
from voices.listen.models import (
    Coding,
    CommentLabel,
    CommentTheme,
    FeedbackComment,
    FeedbackResponse,
    ImportMapping,
    ServiceReply,
)

LAST_PERIOD = "2026-10"
MONTHS = 12
RESPONSES_PER_SERVICE = 110

STAFF = ["nurses", "doctors", "midwives", "reception staff", "porters", "healthcare assistants",
         "physios", "staff"]
KIND = ["kind", "caring", "friendly", "patient", "helpful", "reassuring", "professional",
        "lovely"]
NAMES = ["Amira", "Tomasz", "Grace", "Oluwaseun", "Priya", "Callum", "Siobhan", "Mei"]
SURNAMES = ["Okafor", "Kowalski", "Hughes", "Begum", "Fraser", "Nguyen"]

POS, NEG = "what_good", "could_improve"

# (text, themes, sentiment 1 very positive … 5 very negative, question)
TEMPLATES: list[tuple[str, tuple[str, ...], int, str]] = [
    ("The {staff} were {kind} and {kind2}.", ("Staff manner & personal attributes",), 1, POS),
    ("Everyone was so {kind}, nothing was too much trouble.",
     ("Staff manner & personal attributes",), 1, POS),
    ("Nurse {name} was {kind} and made me feel at ease.",
     ("Staff manner & personal attributes",), 1, POS),
    ("The doctor explained everything clearly before my procedure.",
     ("Information directly from staff during care",), 1, POS),
    ("They explained my results and what happens next in a way I could understand.",
     ("Information directly from staff during care",), 2, POS),
    ("I was seen quickly and hardly had to wait.", ("Timeliness of care",), 1, POS),
    ("Seen on time, in and out in half an hour.", ("Timeliness of care",), 2, POS),
    ("The ward was spotless and really clean.",
     ("Cleanliness, tidiness & infection control",), 2, POS),
    ("The food was {food} and there was plenty of choice.",
     ("Food & drink provision & facilities",), 2, POS),
    ("They listened to me and involved me in decisions about my care.",
     ("Staff listening, understanding & involving patients",), 1, POS),
    ("I felt listened to and my family were kept involved.",
     ("Staff listening, understanding & involving patients", "Interaction with family/ carers"),
     1, POS),
    ("Easy to book the appointment online and I got a text reminder.",
     ("Appointment arrangements", "Appointment method"), 2, POS),
    ("Parking was easy and close to the entrance.", ("Parking",), 2, POS),
    ("Excellent service, thank you to everyone.", ("Positive experience & gratitude",), 1, POS),
    ("Brilliant care from start to finish, thank you.", ("Positive experience & gratitude",),
     1, POS),
    ("I felt safe and well looked after.", ("Feeling safe",), 1, POS),
    ("My pain was managed really well after the operation.", ("Pain management",), 1, POS),
    ("Going home was well organised and I knew what to do next.", ("Discharge",), 2, POS),
    ("The treatment has made a real difference, I can walk again.",
     ("Impact of treatment/ care",), 1, POS),
    ("Very efficient, everything ran smoothly.", ("Organisation & efficiency",), 2, POS),
    ("I waited {hours} hours to be seen.", ("Timeliness of care",), 5, NEG),
    ("The wait was far too long and nobody said why.",
     ("Timeliness of care", "Being kept informed, clarity & consistency of information"), 4,
     NEG),
    ("Nobody told me what was happening or how long it would take.",
     ("Being kept informed, clarity & consistency of information",), 4, NEG),
    ("One of the {staff} was rude and dismissive when I asked a question.",
     ("Staff manner & personal attributes",), 5, NEG),
    ("There were not enough staff on the ward, they were rushed off their feet.",
     ("Number & deployment of staff",), 4, NEG),
    ("I pressed the buzzer and nobody came for a long time.", ("Staff responsiveness",), 4, NEG),
    ("Parking is impossible and far too expensive.", ("Parking",), 4, NEG),
    ("The food was cold and there was no choice.", ("Food & drink provision & facilities",),
     4, NEG),
    ("I could not get through on the phone to change my appointment.",
     ("Contacting services",), 4, NEG),
    ("My appointment was cancelled twice with no explanation.",
     ("Appointment arrangements",), 5, NEG),
    ("I was sent home without my medication and nobody explained the plan.",
     ("Discharge", "Supplying & understanding medication"), 5, NEG),
    ("The toilets were dirty and had run out of soap.",
     ("Cleanliness, tidiness & infection control",), 4, NEG),
    ("No interpreter was offered even though I asked for one.",
     ("Equality, Diversity & Inclusion", "Staff listening, understanding & involving patients"),
     5, NEG),
    ("I did not feel listened to, they had made up their minds.",
     ("Staff listening, understanding & involving patients",), 4, NEG),
    ("The waiting room was too hot and noisy.", ("Environment & Facilities",
                                                  "Sensory experience"), 4, NEG),
    ("It would help to have my care plan written down so I know what to expect.",
     ("Care plans",), 3, NEG),
    ("My referral got lost and I had to start again.", ("Referals & continuity of care",),
     4, NEG),
    ("I saw a different doctor every time and had to repeat my story.",
     ("Staff continuity",), 4, NEG),
    ("Nothing, it was all fine.", ("Positive experience & gratitude",), 2, NEG),
    ("Nothing to improve, keep up the good work.", ("Positive experience & gratitude",), 1, NEG),
    ("More signs to find the clinic would help.", ("Environment & Facilities",), 3, NEG),
]
MIXED = [
    ("The {staff} were {kind} but the wait was too long.",
     ("Staff manner & personal attributes", "Timeliness of care"), 3),
    ("Good care once I was seen, but parking was a nightmare.",
     ("Positive experience & gratitude", "Parking"), 3),
]
ODD = [
    ("👍👍 great 😀", ("Positive experience & gratitude",), 1, POS),
    ("<p>Very <b>good</b> care</p>", ("Positive experience & gratitude",), 1, POS),
    ("Bardzo dobra opieka, dziękuję.", ("Positive experience & gratitude",), 1, POS),
    ("بہت اچھا علاج، شکریہ", ("Positive experience & gratitude",), 1, POS),
    ("Please ring me on 07700 900{digits} about my complaint, my name is {name} {surname}.",
     ("Contacting services",), 4, NEG),
]


@dataclass(frozen=True)
class SyntheticComment:
    text: str
    labels: tuple[str, ...]
    sentiment: int
    question: str


def _fill(template: str, rng: random.Random) -> str:
    staff = rng.choice(STAFF)
    kind, kind2 = rng.sample(KIND, 2)
    return template.format(staff=staff, kind=kind, kind2=kind2, name=rng.choice(NAMES),
                           surname=rng.choice(SURNAMES), hours=rng.choice([3, 4, 5, 6, 8]),
                           food=rng.choice(["lovely", "hot and tasty", "good"]),
                           digits=f"{rng.randrange(1000):03d}")


def write_comment(rng: random.Random, question: str, *, odd: float = 0.0) -> SyntheticComment:
    """One synthetic comment answering ``question``: one or two templates (sometimes a
    mixed one), with the union of their themes and a combined sentiment."""
    if odd and rng.random() < odd:
        choices = [t for t in ODD if t[3] == question] or ODD
        text, labels, sentiment, _ = rng.choice(choices)
        return SyntheticComment(_fill(text, rng), labels, sentiment, question)
    if rng.random() < 0.08:
        text, labels, sentiment = rng.choice(MIXED)
        return SyntheticComment(_fill(text, rng), labels, sentiment, question)
    pool = [t for t in TEMPLATES if t[3] == question]
    first = rng.choice(pool)
    parts = [first]
    if rng.random() < 0.3:
        second = rng.choice(pool)
        if second is not first:
            parts.append(second)
    labels = tuple(dict.fromkeys(label for p in parts for label in p[1]))
    sentiments = [p[2] for p in parts]
    sentiment = min(sentiments) if question == POS else max(sentiments)
    return SyntheticComment(" ".join(_fill(p[0], rng) for p in parts), labels, sentiment,
                            question)


def labelled_comments(n: int, seed: int):
    """A labelled training set (the engine's :class:`Comments`) written from the templates."""
    from voices.listen.comments_file import Comments
    from voices.listen.frameworks import builtin_framework

    rng = random.Random(seed)
    labels = builtin_framework("qdc").labels
    rows = [write_comment(rng, POS if rng.random() < 0.5 else NEG) for _ in range(n)]
    columns = {lab: np.array([int(lab in r.labels) for r in rows], dtype=np.int8)
               for lab in labels}
    questions = {POS: "What was good?", NEG: "What could be better?"}
    return Comments("demo-training", [r.text for r in rows], [f"t{k}" for k in range(n)],
                    [f"r{k}" for k in range(n)], [questions[r.question] for r in rows],
                    [None] * n, [r.sentiment for r in rows], columns)


# ---------------------------------------------------------------------- respondents

ETHNIC = (["white", "asian", "black", "mixed", "other", PREFER_NOT_TO_SAY],
          [0.76, 0.09, 0.06, 0.03, 0.02, 0.04])
ETHNIC_EFFECT = {"white": 0.0, "asian": -0.45, "black": -0.6, "mixed": -0.25, "other": -0.3,
                 PREFER_NOT_TO_SAY: -0.1}
AGE = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84", "85+"]
AGE_EFFECT = {"18-24": -0.4, "25-34": -0.2, "35-44": -0.1, "45-54": 0.0, "55-64": 0.1,
              "65-74": 0.25, "75-84": 0.2, "85+": 0.0}
DECILE_WEIGHTS = {"RZ1": [16, 14, 12, 11, 10, 9, 8, 7, 7, 6],
                  "RZ2": [8, 9, 10, 10, 11, 11, 11, 10, 10, 10],
                  "RZ3": [12, 12, 11, 10, 10, 10, 9, 9, 9, 8]}
DISTRICTS = {d: f"NS{d}" for d in range(1, 11)}   # made-up districts, one per decile
WEAK_SERVICES = {"Ward 3 – General Medicine": -0.9, "Emergency Department": -0.5,
                 "Urgent Treatment Centre": -0.4}


def _months() -> list[str]:
    year, month = map(int, LAST_PERIOD.split("-"))
    out = []
    for _ in range(MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _respondent(rng: random.Random, trust: str, service_name: str) -> dict:
    decile = rng.choices(range(1, 11), weights=DECILE_WEIGHTS.get(trust, [10] * 10))[0]
    answered = rng.random() < 0.7              # most people answer the questions about them
    person = {"decile": decile, "answered": answered}
    ethnic = rng.choices(*ETHNIC)[0]
    age = rng.choice(AGE)
    disability = rng.choices(["yes", "no", PREFER_NOT_TO_SAY], [0.22, 0.74, 0.04])[0]
    carer = rng.choices(["yes", "no", PREFER_NOT_TO_SAY], [0.12, 0.84, 0.04])[0]
    sex = rng.choices(["1", "2", PREFER_NOT_TO_SAY], [0.45, 0.52, 0.03])[0]
    score = 2.1 + 0.13 * (decile - 5.5) + ETHNIC_EFFECT[ethnic] + AGE_EFFECT[age] \
        - (0.5 if disability == "yes" else 0.0) + WEAK_SERVICES.get(service_name, 0.0)
    good = rng.random() < 1 / (1 + np.exp(-score))
    if rng.random() < 0.03:
        rating = "Don't know"
    elif good:
        rating = "Very good" if rng.random() < 0.7 else "Good"
    else:
        rating = rng.choices(["Neither good nor poor", "Poor", "Very poor"], [0.4, 0.35, 0.25])[0]
    person.update(rating=rating, ethnic_group=ethnic, age_band=age, disability=disability,
                  carer=carer, sex=sex)
    return person


# ------------------------------------------------------------------------ loading


def load_demo(session, context: DemoContext, *, data_dir: Path | None = None,
              responses_per_service: int = RESPONSES_PER_SERVICE,
              training_comments: int = 1000, model_dir: Path | None = None) -> None:
    """Add the demo feedback (see the module docstring). Does nothing if it is there.

    ``model_dir``: a model already trained (on :func:`labelled_comments`) to use instead of
    training one."""
    from voices.listen import analysis
    from voices.listen.service import prepare_text

    if session.scalar(select(FeedbackResponse.id).where(FeedbackResponse.source == "demo")
                      .limit(1)) is not None:
        if analysis.active_model(session) is None:   # an earlier run stopped half way
            _model_and_classify(session, context, data_dir, training_comments, model_dir)
        return
    rng = random.Random(context.seed * 7 + 3)
    months = _months()
    context.progress("listen: writing feedback")
    trust_of = {t.id: t.ods_code for t in context.trusts}
    response_rows, comment_rows = [], []
    for svc in context.services:
        trust = trust_of.get(svc.organisation_id, "RZ1")
        n = responses_per_service + rng.randrange(-20, 21) if responses_per_service > 20 \
            else responses_per_service
        for _ in range(n):
            month = rng.choice(months)
            year, mon = map(int, month.split("-"))
            when = dt.datetime(year, mon, rng.randint(1, 28), rng.randint(8, 20),
                               rng.randint(0, 59), tzinfo=dt.UTC)
            person = _respondent(rng, trust, svc.name)
            good = person["rating"] in ("Very good", "Good")
            response = {"service_id": svc.id, "period": month, "submitted_at": when,
                        "source": "demo", "rating": person["rating"], "completed_at": when,
                        "created_at": when}
            if person["answered"]:
                response.update({k: person[k] for k in ("ethnic_group", "age_band",
                                                        "disability", "carer", "sex")})
                response["postcode_district"] = DISTRICTS[person["decile"]]
                response["imd_decile"] = person["decile"]
            comments = []
            if rng.random() < (0.75 if good else 0.45):
                comments.append(write_comment(rng, POS, odd=0.02))
            if rng.random() < (0.35 if good else 0.85):
                comments.append(write_comment(rng, NEG, odd=0.02))
            response_rows.append(response)
            comment_rows.append(comments)
    keys = ("ethnic_group", "age_band", "disability", "carer", "sex", "postcode_district",
            "imd_decile")
    for row in response_rows:
        for key in keys:
            row.setdefault(key, None)
    ids = list(session.scalars(insert(FeedbackResponse).returning(
        FeedbackResponse.id, sort_by_parameter_order=True), response_rows)) \
        if response_rows else []
    context.progress("listen: redacting comments")
    stored = []
    for response_id, row, comments in zip(ids, response_rows, comment_rows):
        for c in comments:
            prepared = prepare_text(c.text, None)
            stored.append({"response_id": response_id, "question": c.question,
                           "text": prepared.text, "redacted_kinds": prepared.kinds,
                           "flags": prepared.flags, "words": prepared.words,
                           "created_at": row["created_at"]})
    if stored:
        session.execute(insert(FeedbackComment), stored)
    session.add(ImportMapping(
        name="demo-survey-co", supplier="Survey Co (demo)",
        columns={"response_id": "Response ID", "date": "Date", "service": "Service",
                 "rating": "Q1 Overall", "what_good": "Q2 What was good",
                 "could_improve": "Q3 What could be better", "age": "Age",
                 "postcode": "Postcode"},
        rating_values={"Extremely good": "Very good"}))
    session.commit()

    _model_and_classify(session, context, data_dir, training_comments, model_dir)
    _review_some(session, context, rng, months)
    _reply_to_some(session, context, rng)
    session.commit()


def _model_and_classify(session, context: DemoContext, data_dir: Path | None,
                        training_comments: int, model_dir: Path | None) -> None:
    from voices.db import Database
    from voices.listen import analysis
    from voices.settings import get_settings

    if model_dir is None:
        context.progress("listen: training the demo model")
        model_dir = Path(data_dir or get_settings().data_dir) / "models" / "listen" / "demo"
        train_demo_model(model_dir, n=training_comments, seed=context.seed)
    analysis.register_model(session, model_dir, actor=context.accounts.get("admin"))
    session.commit()
    context.progress("listen: classifying comments")
    database = Database(session.get_bind().url.render_as_string(hide_password=False))
    try:
        analysis.classify_stored(database, batch_size=2000)
    finally:
        database.dispose()
    session.expire_all()


def train_demo_model(folder: Path, *, n: int = 1000, seed: int = 2026) -> Path:
    """Train the default model on ``n`` labelled synthetic comments and save it."""
    from threadpoolctl import threadpool_limits

    from voices.listen.frameworks import builtin_framework
    from voices.listen.training import train

    with threadpool_limits(1):  # one BLAS thread: much faster on a busy shared machine
        model, card = train(labelled_comments(n, seed), builtin_framework("qdc"),
                            data_hash=f"synthetic-seed-{seed}")
    card["data"]["file"] = "synthetic demo comments (voices.listen.demo)"
    return model.save(folder, card)


def _review_some(session, context: DemoContext, rng: random.Random, months: list[str]) -> None:
    """The demo analyst reviews some comments over the last six months, getting better
    agreement as time goes on (as coders and the model learn)."""
    from voices.listen.agreement import label_agreement
    from voices.listen.analysis import i_statements

    coder = context.accounts.get("analyst")
    if coder is None:
        return
    candidates = list(session.scalars(select(FeedbackComment).where(
        FeedbackComment.classified_at.is_not(None)).order_by(FeedbackComment.id)))
    picked = rng.sample(candidates, min(180, len(candidates) // 10))
    labels_all = [t[1][0] for t in TEMPLATES]
    for k, comment in enumerate(picked):
        month = months[-6 + k * 6 // len(picked)]
        year, mon = map(int, month.split("-"))
        when = dt.datetime(year, mon, rng.randint(1, 28), 10, tzinfo=dt.UTC)
        explanation = comment.explanation or {}
        model_labels = list(explanation.get("predicted") or [])
        model_sentiment = explanation.get("sentiment")
        accept = rng.random() < 0.6 + 0.05 * (k * 6 // len(picked))
        labels = model_labels if accept else sorted(set(model_labels[:1]) |
                                                     {rng.choice(labels_all)})
        sentiment = model_sentiment
        session.add(Coding(comment_id=comment.id, coder_id=coder.id, coded_at=when,
                           action="accept" if accept else "correct", labels=sorted(labels),
                           sentiment=sentiment, model_labels=sorted(model_labels),
                           model_sentiment=model_sentiment, model_version=comment.model_version,
                           agreement=label_agreement(model_labels, labels)))
        session.execute(delete(CommentLabel).where(CommentLabel.comment_id == comment.id))
        session.execute(delete(CommentTheme).where(CommentTheme.comment_id == comment.id))
        probabilities = explanation.get("probabilities") or {}
        session.execute(insert(CommentLabel), [
            {"comment_id": comment.id, "label": lab, "probability": probabilities.get(lab),
             "source": "model" if accept else "coder"} for lab in labels])
        links = i_statements().link(labels, comment.text)
        if links:
            session.execute(insert(CommentTheme), [
                {"comment_id": comment.id, "theme": t.theme, "via_labels": list(t.via_labels),
                 "via_words": list(t.via_words)} for t in links])
        comment.coded_at, comment.coded_by = when, coder.id


REPLIES = {
    POS: [("Thank you for your kind words. We have passed them on to the team.", False),
          ("Thank you. We shared your comment at our team meeting.", False)],
    NEG: [("Thank you. We have added two more nurses to the evening shift.", True),
          (("We have changed how we tell people about waiting times: a screen in the waiting "
            "room now shows how long the wait is."), True),
          (("We now check every patient has their medicines and a written plan before they go "
            "home."), True),
          (("We are sorry. We have asked our booking team to always explain why an appointment "
            "changes."), True)],
}


def _reply_to_some(session, context: DemoContext, rng: random.Random) -> None:
    author = context.accounts.get("analyst")
    for svc in context.services[:6]:
        rows = session.scalars(
            select(FeedbackComment).join(FeedbackResponse)
            .where(FeedbackResponse.service_id == svc.id, FeedbackComment.flags == "",
                   FeedbackComment.redacted_kinds == "")
            .order_by(FeedbackComment.id).limit(3)).all()
        for comment in rows:
            text, changed = rng.choice(REPLIES.get(comment.question, REPLIES[NEG]))
            session.add(ServiceReply(comment_id=comment.id, text=text, changed_something=changed,
                                     published_at=comment.created_at + dt.timedelta(days=9),
                                     author_id=author.id if author else None))
