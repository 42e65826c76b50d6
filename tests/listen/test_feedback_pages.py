"""The public feedback pages: one question per page, stored as soon as the rating is given,
redacted, with optional equality questions, a honeypot and a rate limit."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from listen_support import answer, count, start_feedback
from support import DEMO_EMAILS, csrf_from, sign_in
from voices.listen.models import FeedbackComment, FeedbackResponse

SLUG = "rz1-emergency-department"


def _responses(database):
    with database.sessionmaker() as session:
        return session.scalars(select(FeedbackResponse).order_by(FeedbackResponse.id)).all()


def test_the_whole_journey_stores_each_answer_as_it_is_given(client, database, demo_core):
    page = client.get(f"/f/{SLUG}")
    assert "Overall, how was your experience of our service?" in page.text
    for answer_text in ("Very good", "Good", "Neither good nor poor", "Poor", "Very poor",
                        "Don't know"):
        assert f'value="{answer_text}"' in page.text.replace("&#39;", "'")
    assert start_feedback(client, SLUG, "Poor").headers["location"] == f"/f/{SLUG}/good"
    # Already committed: another connection sees it before any later page is answered.
    stored = _responses(database)
    assert [(r.rating, r.source) for r in stored] == [("Poor", "web")]

    assert answer(client, SLUG, "good", comment="Dr Patel was kind, ring me on 07700 900123"
                  ).headers["location"] == f"/f/{SLUG}/better"
    assert answer(client, SLUG, "better", comment="   ").status_code == 303
    assert answer(client, SLUG, "about-you").headers["location"] == f"/f/{SLUG}/age"
    assert answer(client, SLUG, "age", answer="25-34").status_code == 303
    assert answer(client, SLUG, "sex", answer="prefer_not_to_say").status_code == 303
    assert answer(client, SLUG, "ethnic-group", skip="1").status_code == 303
    assert answer(client, SLUG, "disability", answer="yes").status_code == 303
    assert answer(client, SLUG, "carer", answer="no").headers["location"] == \
        f"/f/{SLUG}/postcode"
    assert answer(client, SLUG, "postcode", postcode="ls1 4ap").headers["location"] == \
        f"/f/{SLUG}/thank-you"
    thanks = client.get(f"/f/{SLUG}/thank-you")
    assert "Thank you for your feedback" in thanks.text

    with database.sessionmaker() as session:
        response = session.scalars(select(FeedbackResponse)).one()
        comments = session.scalars(select(FeedbackComment)).all()
        assert (response.age_band, response.sex, response.ethnic_group, response.disability,
                response.carer) == ("25-34", "prefer_not_to_say", None, "yes", "no")
        # No lookup is configured: only the district is kept and deprivation is not known.
        assert (response.postcode_district, response.lsoa_code, response.imd_decile) == \
            ("LS1", None, None)
        assert response.completed_at is not None
        assert [(c.question, c.text) for c in comments] == [
            ("what_good", "Dr [NAME] was kind, ring me on [PHONE]")]
        assert comments[0].original_encrypted is None  # originals are not kept by default
    # The journey is over: this browser can no longer change the response.
    late = answer(client, SLUG, "good", comment="changed my mind")
    assert late.headers["location"].startswith(f"/f/{SLUG}?restart=1")


def test_each_page_asks_one_question_in_plain_words(sqlite_client):
    """Every page of the journey shows its question, says it is optional where it is, and
    shows nothing a person should not see (no template machinery)."""
    start_feedback(sqlite_client, SLUG)
    wanted = {"good": ("What was good?", "something a member of staff did"),
              "better": ("What could be better?", "what we could do differently"),
              "age": ("How old are you?", "Why we ask"),
              "sex": ("What is your sex?", "Prefer not to say"),
              "ethnic-group": ("What is your ethnic group?", "Prefer not to say"),
              "disability": ("Do you have a disability", "Prefer not to say"),
              "carer": ("Do you look after or help someone", "Prefer not to say"),
              "postcode": ("What is your postcode?", "Prefer not to say")}
    for step, (question, words) in wanted.items():
        page = sqlite_client.get(f"/f/{SLUG}/{step}")
        assert page.status_code == 200, step
        text = page.text.replace("&#39;", "'")
        assert question in text and words in text, step
        assert text.count("<h1") == 1 and "Macro" not in text and "undefined" not in text, step
        if step not in ("good", "better"):
            assert "This question is optional" in text, step


def test_a_missing_rating_is_shown_as_an_error_and_nothing_is_stored(sqlite_client, sqlite_app):
    response = start_feedback(sqlite_client, SLUG, rating="")
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert 'href="#rating"' in response.text
    assert "Select how your experience of our service was" in response.text
    assert start_feedback(sqlite_client, SLUG, rating="Brilliant").status_code == 422
    assert count(sqlite_app.state.database, FeedbackResponse) == 0


def test_the_honeypot_thanks_robots_and_stores_nothing(sqlite_client, sqlite_app):
    page = sqlite_client.get(f"/f/{SLUG}")
    assert 'class="voices-honeypot"' in page.text and "Leave this field empty" in page.text
    response = start_feedback(sqlite_client, SLUG, "Very good", voices_hp="http://spam.example")
    assert response.headers["location"] == f"/f/{SLUG}/thank-you"
    assert count(sqlite_app.state.database, FeedbackResponse) == 0


def test_one_address_can_start_only_so_many_responses(sqlite_client, sqlite_app):
    from voices.web.security import RateLimit

    sqlite_app.state.listen_new_responses = RateLimit(limit=2, seconds=300)
    for _ in range(2):
        assert start_feedback(sqlite_client, SLUG).status_code == 303
        sqlite_client.cookies.delete("voices_feedback")
    refused = start_feedback(sqlite_client, SLUG)
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert count(sqlite_app.state.database, FeedbackResponse) == 2


def test_another_browser_cannot_change_a_response(sqlite_client, sqlite_app):
    from fastapi.testclient import TestClient

    start_feedback(sqlite_client, SLUG)
    with TestClient(sqlite_app, base_url="http://testserver") as other:
        page = other.get(f"/f/{SLUG}/good")
        assert page.headers.get("location", "") == "" and "start again" in page.text
    assert count(sqlite_app.state.database, FeedbackComment) == 0


def test_bad_answers_are_refused_beside_the_field(sqlite_client, sqlite_app):
    start_feedback(sqlite_client, SLUG)
    long = answer(sqlite_client, SLUG, "good", comment="word " * 1200)
    assert long.status_code == 422 and "5,000 characters or fewer" in long.text
    bad = answer(sqlite_client, SLUG, "postcode", postcode="not a postcode")
    assert bad.status_code == 422 and 'href="#postcode"' in bad.text
    assert "Enter a postcode in the right format" in bad.text
    odd = answer(sqlite_client, SLUG, "age", answer="very old")
    assert odd.status_code == 422
    assert count(sqlite_app.state.database, FeedbackComment) == 0
    with sqlite_app.state.database.sessionmaker() as session:
        response = session.scalars(select(FeedbackResponse)).one()
        assert (response.postcode_district, response.age_band) == (None, None)


def test_a_full_postcode_finds_deprivation_when_lookups_are_configured(
        sqlite_url, tmp_path, shared_data):
    from fastapi.testclient import TestClient

    from voices.db import Database
    from voices.demo import load
    from voices.equity.imd import ImdLookup
    from voices.settings import Settings
    from voices.web.app import create_app

    imd_path = shared_data / "imd" / "imd2025_england_lsoa21.csv"
    data = tmp_path / "data"
    data.mkdir()
    (data / "postcode_lsoa21.csv").write_text("pcds,lsoa21cd\nZZ1 1ZZ,E01000001\n"
                                              "ZZ9 9ZZ,E01033768\n")
    database = Database(sqlite_url)
    with database.sessionmaker() as session:
        load(session, areas=())
    settings = Settings(database_url=sqlite_url, data_dir=data, imd_path=imd_path,
                        secret_key="listen-tests-secret-key", run_jobs_in_app=False,
                        _env_file=None)
    with TestClient(create_app(settings, database), base_url="http://testserver") as client:
        start_feedback(client, SLUG)
        answer(client, SLUG, "postcode", postcode="zz11zz")
    expected = ImdLookup.from_csv(imd_path).decile("E01000001")
    with database.sessionmaker() as session:
        first = session.scalars(select(FeedbackResponse).order_by(FeedbackResponse.id)).first()
        assert (first.postcode_district, first.lsoa_code, first.imd_decile) == \
            ("ZZ1", "E01000001", expected)
    database.dispose()


def test_originals_are_encrypted_and_readable_only_by_the_patient_experience_role(
        db_url, tmp_path, caplog):
    from fastapi.testclient import TestClient

    from voices.core.models import Account, AuditEvent
    from voices.db import Database
    from voices.demo import load
    from voices.listen import service as listen
    from voices.settings import Settings
    from voices.web.app import create_app

    secret_text = "Sister Aoife Byrne on Ward 9 was wonderful"
    database = Database(db_url)
    with database.sessionmaker() as session:
        load(session, areas=())
    settings = Settings(database_url=db_url, data_dir=tmp_path, keep_original_text=True,
                        secret_key="listen-tests-secret-key", run_jobs_in_app=False,
                        _env_file=None)
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings, database), base_url="http://testserver") as client:
        start_feedback(client, SLUG)
        answer(client, SLUG, "good", comment=secret_text)
        with database.sessionmaker() as session:
            comment = session.scalars(select(FeedbackComment)).one()
            assert secret_text.encode() not in comment.original_encrypted
            assert "Aoife" not in comment.text
            comment_id = comment.id
        client.cookies.clear()
        sign_in(client, DEMO_EMAILS["analyst"])
        page = client.get(f"/listen/comments/{comment_id}")
        assert "Show the original text" not in page.text
        refused = client.post(f"/listen/comments/{comment_id}/original",
                              data={"csrf_token": csrf_from(page.text)})
        assert refused.status_code == 403
        with database.session() as session:
            analyst = session.scalar(select(Account).where(
                Account.email == DEMO_EMAILS["analyst"]))
            listen.grant_original_reader(session, analyst, actor=None)
        page = client.get(f"/listen/comments/{comment_id}")
        shown = client.post(f"/listen/comments/{comment_id}/original",
                            data={"csrf_token": csrf_from(page.text)})
        assert shown.status_code == 200 and secret_text in shown.text
    with database.sessionmaker() as session:
        views = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "listen.original.view")).all()
        assert len(views) == 1 and "Aoife" not in (views[0].summary + str(views[0].detail))
    assert not any("Aoife" in record.getMessage() for record in caplog.records)
    database.dispose()


def test_the_index_finds_services_and_you_said_we_did_shows_only_published_replies(
        sqlite_client, sqlite_app):
    from voices.core.models import Account
    from voices.listen import service as listen

    index = sqlite_client.get("/feedback?q=podiatry")
    assert index.status_code == 200 and "Podiatry" in index.text
    assert "Emergency Department" not in index.text
    start_feedback(sqlite_client, SLUG)
    answer(sqlite_client, SLUG, "good", comment="Lovely staff")
    answer(sqlite_client, SLUG, "better", comment="The car park needs more spaces")
    database = sqlite_app.state.database
    with database.session() as session:
        good, better = session.scalars(select(FeedbackComment).order_by(FeedbackComment.id))
        admin = session.scalar(select(Account).where(Account.email == DEMO_EMAILS["admin"]))
        listen.save_reply(session, good, text="Thank you, we told the team.", changed=False,
                          publish=False, actor=admin)
        listen.save_reply(session, better, text="We opened 40 more spaces in March.",
                          changed=True, publish=True, actor=admin)
    page = sqlite_client.get(f"/f/{SLUG}/you-said-we-did")
    assert "The car park needs more spaces" in page.text
    assert "We opened 40 more spaces in March." in page.text
    assert "We changed something because of this" in page.text
    assert "Lovely staff" not in page.text and "we told the team" not in page.text


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_qr_codes_encode_the_service_link(sqlite_client, kind):
    import io
    import re

    from voices.listen.qr import qr_matrix

    sign_in(sqlite_client, DEMO_EMAILS["involvement_lead"])
    assert "/listen/services/" + SLUG + "/qr.svg" in sqlite_client.get("/listen/services").text
    response = sqlite_client.get(f"/listen/services/{SLUG}/qr.{kind}")
    assert response.status_code == 200
    matrix = qr_matrix(f"http://127.0.0.1:8000/f/{SLUG}")
    dark = {(x, y) for y, row in enumerate(matrix) for x, v in enumerate(row) if v}
    if kind == "png":
        image = pytest.importorskip("PIL.Image").open(io.BytesIO(response.content))
        scale = image.size[0] // len(matrix)
        drawn = {(x, y) for y in range(len(matrix)) for x in range(len(matrix))
                 if image.getpixel((x * scale + scale // 2, y * scale + scale // 2)) == 0}
    else:
        drawn = set()
        for x, y, width in re.findall(r"M(\d+),(\d+)h(\d+)", response.text):
            drawn |= {(int(x) + k, int(y)) for k in range(int(width))}
    assert drawn == dark
