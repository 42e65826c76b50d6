"""Partners: joining one question per page, their profile, downloading everything held
about them, erasing it all, and who may see what."""

from __future__ import annotations

import json
import re

from sqlalchemy import JSON, String, Text, create_engine, func, inspect, select, text
from typer.testing import CliRunner

from involve_support import ANSWERS, PASSWORD, join, post
from support import DEMO_EMAILS, sign_in
from voices.core import service as core
from voices.core.models import Account, AuditEvent, Organisation
from voices.involve import pages_lead, questions
from voices.involve import service as involve
from voices.involve.models import (
    Consent,
    Interest,
    LibraryEntry,
    LogEntry,
    Opportunity,
    Partner,
    SignupDraft,
)


def _partner(session, email=ANSWERS["email"]) -> Partner:
    return session.scalar(select(Partner).join(Partner.account).where(Account.email == email))


def _draft_with(session, answers: dict) -> tuple[str, SignupDraft]:
    """A finished sign-up draft (and its raw id), made through the same checks as the
    pages, without going through every page."""
    org = session.scalar(select(Organisation).where(Organisation.ods_code == "QZ9"))
    raw, draft = involve.start_draft(session, org)
    while (question := questions.next_question(draft.answers)) is not None:
        value = answers[question.key]
        involve.save_answer(session, draft, question,
                            {question.key: value if isinstance(value, list) else [value]})
    return raw, draft


def _new_partner(session, **changes) -> Partner:
    partner = involve.complete_signup(session, _draft_with(session, {**ANSWERS, **changes})[1],
                                      PASSWORD)
    session.commit()
    return partner


def _signed_in_partner(client, session, **changes) -> Partner:
    partner = _new_partner(session, **changes)
    sign_in(client, partner.account.email, PASSWORD)
    return partner


def test_joining_asks_one_question_per_page_and_records_each_consent(client, demo_core,
                                                                     session):
    asked = join(client)
    assert asked == [q.key for q in questions.questions_for(
        {**ANSWERS, "formats": ["in_person", "online"]})]
    partner = _partner(session)
    assert partner.name == "Zebedee Quinnell" and partner.account.role.value == "partner"
    assert partner.organisation.ods_code == "QZ9"
    assert partner.phone == "07700900461" and partner.postcode_district == "LS12"
    assert partner.area == "LS12"                       # never the whole postcode
    assert partner.ethnic_category == "N" and partner.disability == "prefer_not_to_say"
    consents = {c.purpose: c for c in partner.consents}
    assert set(consents) == {"contact", "matching", "equality"}
    for purpose, c in consents.items():
        assert c.given and c.wording_version.startswith(purpose) and c.at is not None
    assert session.scalar(select(func.count()).select_from(SignupDraft)) == 0
    # signed in straight away, as a partner
    assert client.get("/involve/join/done").status_code == 200
    assert "Zebedee Quinnell" in client.get("/involve/me").text


def test_each_question_page_is_one_question_with_its_heading(client, demo_core):
    post(client, "/involve/join", {"organisation": "QZ9"})
    page = client.get("/involve/join/q/conditions").text
    assert len(re.findall(r"<h1", page)) == 1
    assert "Which health conditions do you have experience of?" in page
    assert 'name="conditions"' in page and 'name="email"' not in page
    assert 'novalidate' in page and "<script>" not in page
    assert re.search(r"<button[^>]*>\s*Continue\s*</button>", page)


def test_answers_are_kept_on_the_server_not_in_the_cookie(client, demo_core, session):
    post(client, "/involve/join", {"organisation": "QZ9"})
    post(client, "/involve/join/q/name", {"name": ANSWERS["name"]})
    cookie = client.cookies.get("voices_involve_join")
    assert cookie and "Zebedee" not in cookie
    session.expire_all()
    drafts = session.scalars(select(SignupDraft)).all()
    assert [d.answers for d in drafts] == [{"name": "Zebedee Quinnell"}]
    assert drafts[0].id_hash not in cookie              # only a hash of the id is stored
    # a tampered cookie is no draft at all: back to the start
    client.cookies.set("voices_involve_join", cookie[:-2] + "xx")
    response = client.get("/involve/join/q/email", follow_redirects=False)
    assert response.headers["location"] == "/involve/join?expired=1"


def test_a_wrong_answer_is_shown_beside_the_field_and_changes_nothing(client, demo_core,
                                                                       session):
    post(client, "/involve/join", {"organisation": "QZ9"})
    post(client, "/involve/join/q/name", {"name": "Ann"})
    post(client, "/involve/join/q/email", {"email": "ann@example.org"})
    post(client, "/involve/join/q/contact_method", {"contact_method": "phone"})
    response = post(client, "/involve/join/q/phone", {"phone": "call me maybe"})
    assert response.status_code == 422
    assert 'href="#phone"' in response.text and "Enter a UK phone number" in response.text
    assert "Error:" in response.text.split("</title>")[0]
    session.expire_all()
    draft = session.scalars(select(SignupDraft)).one()
    assert "phone" not in draft.answers and draft.answers["contact_method"] == "phone"


def test_an_email_that_already_has_an_account_is_refused_early(client, demo_core):
    post(client, "/involve/join", {"organisation": "QZ9"})
    response = post(client, "/involve/join/q/email", {"email": DEMO_EMAILS["analyst"]})
    assert response.status_code == 422 and "already an account" in response.text


def test_a_weak_password_creates_nothing(client, app, demo_core, session):
    raw, _ = _draft_with(session, ANSWERS)
    session.commit()
    client.cookies.set("voices_involve_join", app.state.keys.sign(raw))
    response = post(client, "/involve/join/password", {"password": "password123!"})
    assert response.status_code == 422 and "too common" in response.text
    assert 'href="#password"' in response.text
    session.expire_all()
    assert _partner(session) is None
    assert session.scalar(select(Account).where(Account.email == ANSWERS["email"])) is None
    assert session.scalar(select(func.count()).select_from(SignupDraft)) == 1  # still there
    response = post(client, "/involve/join/password", {"password": PASSWORD})
    assert response.headers["location"] == "/involve/join/done"


def test_without_equality_consent_no_equality_question_is_asked_or_kept(demo_core, session):
    _, draft = _draft_with(session, {**ANSWERS, "consent_equality": "no"})
    assert not set(draft.answers) & set(questions.EQUALITY_KEYS)
    partner = involve.complete_signup(session, draft, PASSWORD)
    assert all(getattr(partner, c) is None for c in involve.EQUALITY_COLUMNS)


def test_partners_change_their_answers_and_withdraw_consent(client, demo_core, session):
    _signed_in_partner(client, session)
    response = post(client, "/involve/me/change/contact_method", {"contact_method": "post"})
    # a letter needs an address: that question comes next
    assert response.headers["location"] == "/involve/me/change/postal_address"
    post(client, "/involve/me/change/postal_address", {"postal_address": "1 Demo Road, LS12"})
    response = post(client, "/involve/me/change/consent_equality", {"consent_equality": "no"})
    assert response.headers["location"] == "/involve/me?done=saved"
    session.expire_all()
    partner = _partner(session)
    assert partner.contact_method == "post" and partner.phone is None
    assert partner.postal_address == "1 Demo Road, LS12"
    assert partner.age_band is None and partner.area is None and partner.ethnic_category is None
    history = [(c.purpose, c.given) for c in partner.consents if c.purpose == "equality"]
    assert history == [("equality", True), ("equality", False)]
    bad = post(client, "/involve/me/change/email", {"email": DEMO_EMAILS["admin"]})
    assert bad.status_code == 422
    session.expire_all()
    assert _partner(session).account.email == ANSWERS["email"]


def test_download_everything_as_a_page_and_as_json(client, demo_core, session):
    _signed_in_partner(client, session)
    page = client.get("/involve/me/download")
    assert page.status_code == 200
    for expected in ("Zebedee Quinnell", "zebedee.quinnell@example.org", "LS12",
                     "contact-2026-01", "partner.join", "account.login"):
        assert expected in page.text
    response = client.get("/involve/me/download/file")
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["account"]["email"] == ANSWERS["email"]
    assert document["partner"]["conditions"] == ["diabetes", "kidney"]
    assert {c["purpose"] for c in document["consents"]} == {"contact", "matching", "equality"}
    assert all(c["wording"] for c in document["consents"])
    assert "password_hash" not in json.dumps(document)
    assert client.get("/api/v1/involve/me").json()["partner"]["name"] == "Zebedee Quinnell"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "partner.export")) == 3


def _text_values(url: str) -> dict[str, list[str]]:
    """Every value of every text-like column of every table (JSON as its text)."""
    engine = create_engine(url)
    found: dict[str, list[str]] = {}
    try:
        inspector = inspect(engine)
        with engine.connect() as conn:
            for table in inspector.get_table_names():
                columns = [c["name"] for c in inspector.get_columns(table)
                           if isinstance(c["type"], (String, Text, JSON))
                           or "CHAR" in str(c["type"]).upper() or "TEXT" in str(c["type"]).upper()
                           or "JSON" in str(c["type"]).upper()]
                for column in columns:
                    rows = conn.execute(text(f'SELECT "{column}" FROM "{table}"')).scalars()
                    found.setdefault(table, []).extend(
                        json.dumps(v) if not isinstance(v, str) else v for v in rows
                        if v is not None)
    finally:
        engine.dispose()
    return found


def _involve_everything(session, partner: Partner, lead: Account) -> None:
    """Give the partner an interest, a log entry, a library credit and a notification."""
    opportunity = Opportunity(organisation_id=partner.organisation_id, project="Planned care",
                              role="Panel member", time_needed="2 hours",
                              formats=["in_person"], payment_level="level_4",
                              closing_date=__import__("datetime").date(2099, 1, 1))
    session.add(opportunity)
    session.flush()
    involve.express_interest(session, opportunity, partner, "Zebedee knows this well")
    involve.add_log_entry(session, partner.organisation_id, {
        "project": "Planned care", "activity": "Meeting", "hours": 3.0,
        "activity_date": __import__("datetime").date(2026, 1, 5), "payment_level": "level_4",
        "payment_pence": 7500, "expenses_pence": 420,
        "expenses_note": "Bus for Zebedee Quinnell"}, partner=partner,
        opportunity=opportunity, actor=lead)
    entry = involve.save_library_entry(session, partner.organisation_id, {
        "kind": "case_study", "title": "Clinic redesign", "summary": "What worked"}, actor=lead)
    involve.credit_partner(session, entry, partner, "Co-designed it", actor=lead)
    session.commit()


def test_erasing_an_account_leaves_nothing_personal_in_any_table(client, demo_core, session,
                                                                 db_url):
    partner = _signed_in_partner(client, session)
    lead = session.scalar(select(Account).where(Account.email == DEMO_EMAILS["involvement_lead"]))
    _involve_everything(session, partner, lead)
    client.get("/involve/me/download")
    totals_before = involve.project_totals(session, None)
    needles = [ANSWERS["name"], "Zebedee", "Quinnell", ANSWERS["email"], "07700900461"]
    before = _text_values(db_url)
    assert any(n in v for vs in before.values() for v in vs for n in needles)

    page = client.get("/involve/me/erase")
    assert page.status_code == 200
    refused = post(client, "/involve/me/erase", {})
    assert refused.status_code == 422                # must tick that they understand
    response = post(client, "/involve/me/erase", {"confirm": "yes"})
    assert response.headers["location"] == "/involve/erased"
    assert client.get("/involve/me", follow_redirects=False).status_code == 303  # signed out

    after = _text_values(db_url)
    leftovers = {t: [v for v in vs if any(n.lower() in v.lower() for n in needles)]
                 for t, vs in after.items()}
    assert not any(leftovers.values()), leftovers
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Partner)) == 0
    assert session.scalar(select(func.count()).select_from(Consent)) == 0
    assert session.scalar(select(func.count()).select_from(Interest)) == 0
    entry = session.scalars(select(LogEntry)).one()
    assert entry.partner_id is None and entry.hours == 3.0 and entry.payment_pence == 7500
    after_totals = involve.project_totals(session, None)          # aggregates kept
    assert [(t.project, t.entries, t.hours, t.payment_pence, t.expenses_pence)
            for t in after_totals] == [(t.project, t.entries, t.hours, t.payment_pence,
                                        t.expenses_pence) for t in totals_before]
    assert session.scalar(select(func.count()).select_from(LibraryEntry)) == 1
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "partner.erase"))


def test_the_cli_erases_by_email_and_refuses_an_unknown_one(demo_core, session, db_url,
                                                            monkeypatch, tmp_path):
    from voices.cli import app
    from voices.settings import get_settings

    partner = _new_partner(session)
    monkeypatch.setenv("VOICES_DATABASE_URL", db_url)
    monkeypatch.setenv("VOICES_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["involve", "erase", "nobody@example.org", "--yes"])
        assert result.exit_code == 2 and "No partner has that email address" in result.output
        result = runner.invoke(app, ["involve", "erase", ANSWERS["email"].upper(), "--yes"])
        assert result.exit_code == 0, result.output
        assert f"Erased partner {partner.id}" in result.output
    finally:
        get_settings.cache_clear()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Partner)) == 0
    assert session.scalar(select(Account).where(Account.email == ANSWERS["email"])) is None




def test_a_partner_sees_only_their_own_record(client, demo_core, session):
    other = _new_partner(session, email="other.person@example.org", name="Other Person")
    _signed_in_partner(client, session)
    me = client.get("/involve/me").text
    assert "Zebedee Quinnell" in me and "Other Person" not in me
    assert "Other Person" not in client.get("/involve/me/download").text
    assert client.get(f"/involve/community/{other.id}").status_code == 403
    assert client.get("/involve/community").status_code == 403
    assert client.get("/api/v1/involve/community/makeup").status_code == 403


def test_leads_see_only_their_organisations_partners(client, demo_core, session):
    partner = _new_partner(session)
    rz2 = session.scalar(select(Organisation).where(Organisation.ods_code == "RZ2"))
    core.create_account(session, email="lead.rz2@voices.example", password=PASSWORD,
                        role="involvement_lead", organisation_id=rz2.id)
    session.commit()
    sign_in(client, DEMO_EMAILS["involvement_lead"])          # the ICB's lead
    assert "Zebedee Quinnell" in client.get("/involve/community").text
    page = client.get(f"/involve/community/{partner.id}")
    assert page.status_code == 200 and "Papers a week early please" in page.text
    assert "Black or Black British" not in page.text        # equality answers stay private
    client.cookies.clear()
    sign_in(client, "lead.rz2@voices.example", PASSWORD)
    assert "Zebedee Quinnell" not in client.get("/involve/community").text
    assert client.get(f"/involve/community/{partner.id}").status_code == 404


def test_community_filters(client, demo_core, session, monkeypatch):
    _new_partner(session)
    _new_partner(session, email="b@example.org", name="Bea Online", conditions=["heart"],
                 formats=["online"])
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    page = client.get("/involve/community?condition=heart").text
    assert "Bea Online" in page and "Zebedee" not in page
    page = client.get("/involve/community?format=in_person&name=zeb").text
    assert "Zebedee" in page and "Bea Online" not in page
    assert client.get("/involve/community?condition=%3Cscript%3E").status_code == 200
    # the whole community can be read a page at a time, the filters kept between pages
    monkeypatch.setattr(pages_lead, "COMMUNITY_PER_PAGE", 1)
    first = client.get("/involve/community?format=online").text
    assert "2 partners" in first and "Showing 1 to 1" in first
    assert "Bea Online" in first and "Zebedee" not in first
    assert 'href="/involve/community?format=online&amp;page=2"' in first
    second = client.get("/involve/community?format=online&page=2").text
    assert "Zebedee" in second and "Bea Online" not in second and "Page 1 of 2" in second
    assert "Zebedee" in client.get("/involve/community?format=online&page=99").text
    only = client.get("/involve/community?format=in_person").text
    assert "1 partner" in only and "Showing" not in only and "Page 2" not in only
