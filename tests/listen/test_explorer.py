"""The feedback explorer: filters with the counts behind them, search, scope, exports that
are redacted, formula-safe, disclosure-controlled and audited; and the frames `measure`
reads."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from support import DEMO_EMAILS, sign_in
from voices.errors import ValidationError
from voices.listen import analysis
from voices.listen import service as listen
from voices.listen.explorer import Filters, highlight, safe_cell


def _frame(database) -> pl.DataFrame:
    with database.sessionmaker() as session:
        return listen.comments_frame(session)


def test_the_count_beside_each_choice_is_the_number_of_comments_it_shows(database,
                                                                          listen_demo):
    frame = _frame(database)
    with database.sessionmaker() as session:
        labels = analysis.framework_labels(session)
        everything = analysis.explore(session, None, Filters())
        facets = everything.facets
        assert everything.total == frame.height
        # Checked against the comments frame (a separate path through the database).
        themes = Counter(t for ts in frame["themes"].to_list() for t in ts)
        assert {o["value"]: o["count"] for o in facets["theme"] if o["count"]} == dict(themes)
        ratings = Counter(r for r in frame["rating"].to_list() if r)
        assert {o["value"]: o["count"] for o in facets["rating"] if o["count"]} == dict(ratings)
        three = Counter(s for s in frame["sentiment_3"].to_list() if s)
        assert {o["value"]: o["count"] for o in facets["sentiment"] if o["count"]} == dict(three)
        # Every other choice: the count shown is what choosing it gives.
        for name in ("service", "i_theme", "question", "equity", "organisation"):
            for option in facets[name]:
                chosen = analysis.explore(session, None, Filters(**{name: option["value"]}))
                assert chosen.total == option["count"], (name, option)
        # With a filter chosen, the other filters' counts are within it.
        some = next(o["value"] for o in facets["theme"] if o["count"])
        within = analysis.explore(session, None, Filters(theme=some, sentiment="negative"))
        assert within.total == next(o["count"] for o in within.facets["sentiment"]
                                    if o["value"] == "negative")
        assert set(labels) >= {o["value"] for o in facets["theme"]}


def test_search_finds_comments_with_every_word(database, listen_demo):
    frame = _frame(database)
    with database.sessionmaker() as session:
        texts = {c.id: c.text.lower() for c in session.scalars(
            select(listen.FeedbackComment))}
        postgres = session.get_bind().dialect.name == "postgresql"
        found = set()
        page = 1
        while True:
            result = analysis.explore(session, None, Filters(q="parking expensive"), page=page,
                                      per_page=50)
            found |= {c["id"] for c in result.comments}
            if page >= result.pages:
                break
            page += 1
    both = {i for i, t in texts.items() if "parking" in t and "expensive" in t}
    assert both and both <= found
    # SQLite matches the words themselves; PostgreSQL matches their English stems.
    stems = ("parking", "expensive") if not postgres else ("park", "expens")
    assert all(all(s in texts[i] for s in stems) for i in found)
    assert frame.height > len(found)


def test_an_analyst_sees_only_their_organisations(client, database, listen_demo):
    sign_in(client, DEMO_EMAILS["trust_analyst"])
    listed = client.get("/api/v1/listen/comments").json()
    assert listed["total"] > 0
    with database.sessionmaker() as session:
        rz1 = {s.name for s in listen.core_services(session, None)
               if s.organisation.ods_code == "RZ1"}
        other = session.scalar(select(listen.FeedbackComment.id)
                               .join(listen.FeedbackResponse)
                               .join(listen.Service)
                               .join(listen.Organisation)
                               .where(listen.Organisation.ods_code == "RZ2").limit(1))
    assert {c["service"] for c in listed["comments"]} <= rz1
    assert client.get(f"/listen/comments/{other}").status_code == 404
    assert "Rivermouth" not in client.get("/listen/explorer").text


def test_unknown_filters_are_refused_with_the_parameter_named(sqlite_client):
    sign_in(sqlite_client, DEMO_EMAILS["analyst"])
    refused = sqlite_client.get("/api/v1/listen/comments?rating=Brilliant&period_from=2026-13")
    assert refused.status_code == 422
    assert {p["column"] for p in refused.json()["error"]["problems"]} == {"rating",
                                                                         "period_from"}
    page = sqlite_client.get("/listen/explorer?equity=age_band:100-110")
    assert page.status_code == 422 and 'href="#equity"' in page.text
    with pytest.raises(ValidationError):
        Filters.from_query({"sentiment": "grumpy"})


def test_exports_are_redacted_formula_safe_disclosed_and_audited(client, database,
                                                                 listen_demo):
    from voices.core.models import AuditEvent
    from voices.equity.disclosure import published_counts_are_safe

    with database.session() as session:
        response = session.scalars(select(listen.FeedbackResponse)).first()
        listen.set_comment(session, response, "other",
                           '=HYPERLINK("http://evil.example","Nurse Jane rang 07700 900123")',
                           None)
    sign_in(client, DEMO_EMAILS["analyst"])
    exported = client.get("/listen/explorer/export?format=csv")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert not {"age_band", "sex", "ethnic_group", "postcode_district"} & set(header)
    comments = [r[header.index("comment")] for r in body]
    evil = next(c for c in comments if "HYPERLINK" in c)
    assert evil.startswith("'=") and "Jane" not in evil and "07700" not in evil
    assert not any(c.startswith(("=", "+", "-", "@")) for r in body for c in r)

    openpyxl = pytest.importorskip("openpyxl")
    workbook = client.get("/listen/explorer/export?format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    sheet = book["comments"]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(not (isinstance(c.value, str) and c.value.startswith("=")) for c in cells)
    assert all(c.data_type != "f" for c in cells)
    counts = [c.value for row in book["counts"].iter_rows(min_row=2) for c in row[1:]]
    assert counts and published_counts_are_safe(counts)
    assert all(v == "*" or v % 5 == 0 for v in counts)
    with database.sessionmaker() as session:
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "listen.export")).all()
        assert [e.detail["format"] for e in events] == ["csv", "xlsx"]
        assert all(e.detail["rows"] == len(body) for e in events)


@given(st.text(max_size=80), st.lists(st.text(min_size=1, max_size=8), max_size=4))
def test_highlighting_never_changes_the_text(text, words):
    pieces = highlight(text, words)
    assert "".join(p for p, _ in pieces) == text


@given(st.text(max_size=20))
def test_no_exported_text_can_start_a_formula(text):
    value = safe_cell(text)
    assert not str(value).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert str(value).removeprefix("'") == text or value == text


def test_the_responses_frame_feeds_the_measure_counts(database, listen_demo):
    from voices.measure.aggregates import counts_from_responses

    with database.sessionmaker() as session:
        frame = listen.responses_frame(session)
        rated = session.scalars(select(listen.FeedbackResponse).where(
            listen.FeedbackResponse.rating.is_not(None))).all()
    assert frame.height == len(rated)
    counts = counts_from_responses(frame.rename({"rating": "response"}))
    totals = counts.filter(pl.col("dimension") == "all")
    assert totals["count"].sum() == len(rated)
    by_decile = counts.filter(pl.col("dimension") == "imd_decile")
    assert by_decile["count"].sum() == len(rated)     # the not-known group makes it whole
    assert set(frame.columns) >= {"organisation", "service", "period", "rating", "age_band",
                                  "sex", "ethnic_group", "disability", "carer", "imd_decile"}


def test_the_demo_has_the_inequality_it_promises():
    from voices.listen.demo import _respondent

    rng = random.Random(5)
    people = [_respondent(rng, "RZ2", "Podiatry") for _ in range(6000)]

    def positive(group):
        rated = [p for p in group if p["rating"] != "Don't know"]
        return sum(p["rating"] in ("Very good", "Good") for p in rated) / len(rated)

    deprived = positive([p for p in people if p["decile"] <= 2])
    affluent = positive([p for p in people if p["decile"] >= 9])
    disabled = positive([p for p in people if p["disability"] == "yes"])
    others = positive([p for p in people if p["disability"] == "no"])
    assert deprived < affluent - 0.05 and disabled < others - 0.03


def test_running_the_demo_again_adds_nothing(database, listen_demo, listen_model, tmp_path):
    from voices.listen.demo import load_demo

    before = _frame(database).height
    with database.sessionmaker() as session:
        responses = len(listen.responses_frame(session))
        load_demo(session, listen_demo, data_dir=tmp_path, responses_per_service=5,
                  model_dir=listen_model)
        assert len(listen.responses_frame(session)) == responses
    assert _frame(database).height == before
