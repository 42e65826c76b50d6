"""Leads' work: opportunities and the ranked interest in them, the involvement log and its
finance export, the practice library, and the community's make-up."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from involve_support import ANSWERS, PASSWORD, post
from support import DEMO_EMAILS, sign_in
from voices.core import service as core
from voices.core.models import AuditEvent, Organisation
from voices.equity.disclosure import published_counts_are_safe
from voices.involve import pages_lead, questions
from voices.involve import service as involve
from voices.involve.models import (
    LibraryPerson,
    LogEntry,
    Notification,
    Opportunity,
    Partner,
    PopulationShares,
)

NEXT_YEAR = dt.date.today().year + 1
OPPORTUNITY = {
    "organisation_id": "", "project": "Diabetes clinic redesign",
    "role": "Check and Challenge member", "description": "Monthly meetings.",
    "time_needed": "3 hours a month", "hours_per_month": "3", "formats": ["in_person"],
    "venue_provides": ["step_free"], "times": ["weekday_evening"],
    "conditions": ["diabetes", "kidney"], "services": [], "topics": ["waiting"],
    "payment_level": "level_4", "closing_date-day": "31", "closing_date-month": "3",
    "closing_date-year": str(NEXT_YEAR),
}


def _partner(session, **changes) -> Partner:
    org = session.scalar(select(Organisation).where(Organisation.ods_code == "QZ9"))
    _, draft = involve.start_draft(session, org)
    answers = {**ANSWERS, **changes}
    while (question := questions.next_question(draft.answers)) is not None:
        value = answers[question.key]
        involve.save_answer(session, draft, question,
                            {question.key: value if isinstance(value, list) else [value]})
    partner = involve.complete_signup(session, draft, PASSWORD)
    session.commit()
    return partner


def _as_lead(client, session) -> int:
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    return session.scalar(select(Organisation.id).where(Organisation.ods_code == "QZ9"))


def test_a_lead_posts_an_opportunity_and_bad_input_changes_nothing(client, demo_core, session):
    org_id = _as_lead(client, session)
    bad = {**OPPORTUNITY, "organisation_id": str(org_id), "role": "", "formats": [],
           "closing_date-year": "2001", "hours_per_month": "-3", "payment_level": "level_9"}
    response = post(client, "/involve/manage/new", bad)
    assert response.status_code == 422
    for field in ("role", "formats", "closing_date", "hours_per_month", "payment_level"):
        assert f'href="#{field}"' in response.text, field
    assert 'value="Diabetes clinic redesign"' in response.text     # what was typed is kept
    assert session.scalar(select(func.count()).select_from(Opportunity)) == 0
    response = post(client, "/involve/manage/new", {**OPPORTUNITY, "organisation_id": str(org_id)})
    assert response.status_code == 303
    opportunity = session.scalars(select(Opportunity)).one()
    assert opportunity.closing_date == dt.date(NEXT_YEAR, 3, 31)
    assert opportunity.conditions == ["diabetes", "kidney"] and opportunity.hours_per_month == 3
    page = client.get(f"/involve/manage/{opportunity.id}")
    assert "Level 4: partner" in page.text and "£75.00" in page.text


def test_partners_say_they_are_interested_and_the_lead_sees_a_ranked_list_with_reasons(
        client, demo_core, session, monkeypatch):
    best = _partner(session)                                      # diabetes and kidney
    weaker = _partner(session, email="w@example.org", name="Wyn Weaker", conditions=["heart"])
    private = _partner(session, email="p@example.org", name="Pat Private",
                       consent_matching="no")
    org_id = session.scalar(select(Organisation.id).where(Organisation.ods_code == "QZ9"))
    values = {k: v for k, v in OPPORTUNITY.items() if k in (
        "project", "role", "time_needed", "formats", "venue_provides", "times", "conditions",
        "topics", "payment_level")}
    values.update(closing_date=dt.date(NEXT_YEAR, 3, 31), hours_per_month=3.0)
    lead = session.scalar(select(core.Account).where(
        core.Account.email == DEMO_EMAILS["involvement_lead"]))
    opportunity = involve.create_opportunity(session, org_id, values, actor=lead)
    session.commit()
    for partner in (private, weaker, best):                       # the best asks last
        sign_in(client, partner.account.email, PASSWORD)
        listing = client.get("/involve/opportunities").text
        assert "Check and Challenge member" in listing
        response = post(client, f"/involve/opportunities/{opportunity.id}",
                        {"action": "interest", "note": "I know this clinic"})
        assert response.status_code == 303
        client.cookies.clear()
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    page = client.get(f"/involve/manage/{opportunity.id}").text
    assert page.index("Zebedee Quinnell") < page.index("Wyn Weaker") < page.index("Pat Private")
    assert "Experience of diabetes and kidneys (2 of the 2 areas you asked for)" in page
    assert "None of the experience you asked for" in page
    assert "Has not agreed to their answers being used" in page
    ranked = client.get(f"/api/v1/involve/opportunities/{opportunity.id}/interest").json()
    assert [r["name"] for r in ranked] == ["Zebedee Quinnell", "Wyn Weaker", "Pat Private"]
    assert [r["rank"] for r in ranked] == [1, 2, None] and ranked[2]["score"] is None
    assert ranked[0]["score"] > ranked[1]["score"]
    # a long list comes a page at a time, best suited first, keeping each rank
    monkeypatch.setattr(pages_lead, "INTEREST_PER_PAGE", 2)
    first = client.get(f"/involve/manage/{opportunity.id}").text
    assert "Zebedee Quinnell" in first and "Wyn Weaker" in first and "Pat Private" not in first
    assert "Showing 1 to 2" in first and f'href="/involve/manage/{opportunity.id}?page=2"' in first
    second = client.get(f"/involve/manage/{opportunity.id}?page=2").text
    assert "Pat Private" in second and "Zebedee Quinnell" not in second
    assert "Showing 3 to 3" in second and "Page 1 of 2" in second
    assert "Pat Private" in client.get(f"/involve/manage/{opportunity.id}?page=9").text
    assert client.get(f"/involve/manage/{opportunity.id}?page=0").status_code == 422
    saved = post(client, f"/involve/manage/{opportunity.id}/interest/{ranked[2]['interest_id']}",
                 {"status": "interested", "page": "2"},
                 page=f"/involve/manage/{opportunity.id}?page=2")
    assert saved.headers["location"].startswith(f"/involve/manage/{opportunity.id}?page=2&")
    # the lead invites the best match: they are told in the app
    interest_id = ranked[0]["interest_id"]
    post(client, f"/involve/manage/{opportunity.id}/interest/{interest_id}",
         {"status": "selected"}, page=f"/involve/manage/{opportunity.id}")
    post(client, f"/involve/manage/{opportunity.id}/interest/{interest_id}",
         {"status": "took_part"}, page=f"/involve/manage/{opportunity.id}")
    assert session.scalar(select(func.count()).select_from(Notification).where(
        Notification.account_id == best.account_id)) == 1
    client.cookies.clear()
    sign_in(client, best.account.email, PASSWORD)
    me = client.get("/involve/me").text
    assert "You have been invited to take part" in me and "Took part" in me


def test_leads_cannot_reach_another_organisations_opportunities_by_id(client, demo_core,
                                                                      session):
    rz1, rz2 = (session.scalar(select(Organisation).where(Organisation.ods_code == c))
                for c in ("RZ1", "RZ2"))
    for org, email in ((rz1, "lead.rz1@voices.example"), (rz2, "lead.rz2@voices.example")):
        core.create_account(session, email=email, password=PASSWORD, role="involvement_lead",
                            organisation_id=org.id)
    lead = session.scalar(select(core.Account).where(
        core.Account.email == "lead.rz1@voices.example"))
    opportunity = involve.create_opportunity(session, rz1.id, {
        "project": "Eye clinic", "role": "Reader", "time_needed": "1 hour",
        "formats": ["email"], "payment_level": "level_2",
        "closing_date": dt.date(NEXT_YEAR, 1, 1)}, actor=lead)
    session.commit()
    sign_in(client, "lead.rz2@voices.example", PASSWORD)
    for path in (f"/involve/manage/{opportunity.id}", f"/involve/manage/{opportunity.id}/edit",
                 f"/api/v1/involve/opportunities/{opportunity.id}/interest"):
        assert client.get(path).status_code == 404, path
    assert post(client, f"/involve/manage/{opportunity.id}/close", {},
                page="/involve/manage/new").status_code == 404
    assert "Eye clinic" not in client.get("/involve/manage").text
    for made_up in ("/involve/manage/99999999999999999999", "/involve/library/-1",
                    "/involve/community/18446744073709551616", "/involve/panels/0"):
        assert client.get(made_up).status_code == 404, made_up
    assert client.get("/api/v1/involve/opportunities").json() == []
    client.cookies.clear()
    sign_in(client, "lead.rz1@voices.example", PASSWORD)
    assert client.get(f"/involve/manage/{opportunity.id}").status_code == 200
    # the ICB's lead sees the trusts below it
    client.cookies.clear()
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    assert client.get(f"/involve/manage/{opportunity.id}").status_code == 200


def test_the_involvement_log_and_its_finance_export(client, demo_core, session, monkeypatch):
    partner = _partner(session)
    org_id = _as_lead(client, session)
    entry = {"organisation_id": str(org_id), "partner": partner.reference,
             "project": "=cmd|' /C calc'!A0", "activity": "@SUM(1+1)",
             "activity_date-day": "3", "activity_date-month": "2", "activity_date-year": "2026",
             "hours": "5", "payment_level": "level_4", "payment": "", "expenses": "6.80",
             "expenses_note": "+bus"}
    bad = post(client, "/involve/log/new", {**entry, "hours": "30", "expenses": "-1",
                                            "partner": "P999999"})
    assert bad.status_code == 422
    for field in ("hours", "expenses", "partner"):
        assert f'href="#{field}"' in bad.text
    assert session.scalar(select(func.count()).select_from(LogEntry)) == 0
    assert post(client, "/involve/log/new", entry).status_code == 303
    assert post(client, "/involve/log/new", {**entry, "partner": "", "hours": "2",
                                             "payment": "0", "project": "Other"}
                ).status_code == 303
    logged = session.scalars(select(LogEntry).order_by(LogEntry.id)).all()
    assert [(e.payment_pence, e.expenses_pence) for e in logged] == [(15000, 680), (0, 680)]
    assert "£156.80" in client.get("/involve/log").text
    text = client.get("/involve/log/export.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["Partner"] == "Zebedee Quinnell" and rows[0]["Partner reference"] == \
        partner.reference
    assert rows[0]["Project"] == "'=cmd|' /C calc'!A0" and rows[0]["Activity"] == "'@SUM(1+1)"
    assert rows[0]["Expenses note"] == "'+bus" and rows[0]["Total (£)"] == "156.80"
    book = load_workbook(io.BytesIO(client.get("/involve/log/export.xlsx").content))
    cells = [c for row in book.active.iter_rows(min_row=2) for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "log.export")) == 2
    assert "Zebedee" not in " ".join(e.summary for e in session.scalars(select(AuditEvent)))
    # totals per partner as well as per project, on the log and on the partner's page
    by_partner = client.get("/involve/log").text.split('id="people"')[1]
    assert by_partner.index("Zebedee Quinnell") < by_partner.index("No partner on record")
    assert "£150.00" in by_partner and "£6.80" in by_partner
    monkeypatch.setattr(pages_lead, "LOG_PEOPLE_PER_PAGE", 1)
    first, second = (client.get(f"/involve/log?page={n}").text.split('id="people"')[1]
                     .split("Latest entries")[0] for n in (1, 2))
    assert "Zebedee Quinnell" in first and "No partner on record" not in first
    assert "No partner on record" in second and "Zebedee Quinnell" not in second
    assert "5 hours, £150.00 paid and £6.80 expenses" in client.get(
        f"/involve/community/{partner.id}").text

    # finance can take one period only; wrong dates are shown beside the fields
    def exported(query: str) -> list[dict]:
        response = client.get(f"/involve/log/export.csv?{query}")
        assert response.status_code == 200, response.text[:500]
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(exported("since=2026-02-03&until=2026-02-03")) == 2
    assert exported("since=2026-02-04&until=") == []
    assert len(exported("since=&until=2026-02-03")) == 2
    exports_before = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "log.export"))
    wrong = client.get("/involve/log/export.xlsx?since=2026-13-01&until=yesterday")
    assert wrong.status_code == 422 and "Totals by project" in wrong.text
    assert 'href="#since"' in wrong.text and 'href="#until"' in wrong.text
    backwards = client.get("/involve/log/export.csv?since=2026-03-01&until=2026-02-01")
    assert backwards.status_code == 422 and 'href="#until"' in backwards.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "log.export")) == exports_before      # nothing exported


def test_library_entries_credit_partners_only_with_their_agreement(client, demo_core, session):
    partner = _partner(session)
    org_id = _as_lead(client, session)
    bad = post(client, "/involve/library/new", {"organisation_id": str(org_id), "kind": "x",
                                                "title": "", "link": "javascript:alert(1)"})
    assert bad.status_code == 422 and 'href="#link"' in bad.text and 'href="#kind"' in bad.text
    response = post(client, "/involve/library/new", {
        "organisation_id": str(org_id), "kind": "case_study", "title": "The carers' café",
        "summary": "Carers shaped discharge planning.", "topics": ["leaving_hospital"],
        "populations": ["carers"]})
    entry_id = int(response.headers["location"].split("/")[3].split("?")[0])
    response = post(client, f"/involve/library/{entry_id}/credit",
                    {"partner": partner.account.email, "contribution": "Ran the café"},
                    page=f"/involve/library/{entry_id}")
    assert response.status_code == 303
    found = client.get("/involve/library?q=carer&population=carers").text
    assert f'href="/involve/library/{entry_id}"' in found
    assert f'href="/involve/library/{entry_id}"' not in client.get(
        "/involve/library?q=carer&population=young_people").text
    client.cookies.clear()
    sign_in(client, DEMO_EMAILS["analyst"])
    assert "Zebedee" not in client.get(f"/involve/library/{entry_id}").text   # not yet agreed
    client.cookies.clear()
    sign_in(client, partner.account.email, PASSWORD)
    link = session.scalars(select(LibraryPerson)).one()
    assert "Can we show your name" in client.get("/involve/me").text
    post(client, f"/involve/me/credits/{link.id}", {"agree": "yes"}, page="/involve/me")
    client.cookies.clear()
    sign_in(client, DEMO_EMAILS["analyst"])
    assert "Zebedee Quinnell: Ran the café" in client.get(f"/involve/library/{entry_id}").text


def test_the_community_make_up_is_disclosure_controlled_and_uses_uploaded_figures(
        client, demo_core, session):
    for i in range(12):
        _partner(session, email=f"p{i}@example.org", name=f"Person {i}",
                 age_band="65-74" if i < 9 else "18-24")
    _as_lead(client, session)
    page = client.get("/involve/community/makeup")
    assert page.status_code == 200 and "Census 2021" in page.text
    rows = list(csv.DictReader(io.StringIO(client.get("/involve/community/makeup.csv").text)))
    assert published_counts_are_safe([r["partners"] for r in rows])
    assert {r["partners"] for r in rows if r["dimension"] == "age_band"} <= {"0", "*", "10"}
    bad = "dimension,group,share\nage_band,18-24,0.2\nage_band,teen,0.8\n"
    response = post(client, "/involve/community/population", {"organisation_id": ""},
                    files={"file": ("area.csv", bad.encode(), "text/csv")})
    assert response.status_code == 422 and "row 3" in response.text
    assert session.scalar(select(func.count()).select_from(PopulationShares)) == 0
    good = "dimension,group,percent\nage_band,18-24,40\nage_band,65-74,60\n"
    response = post(client, "/involve/community/population", {"organisation_id": ""},
                    files={"file": ("area.csv", good.encode(), "text/csv")},
                    page="/involve/community/population")
    assert response.status_code == 303
    made = client.get("/api/v1/involve/community/makeup").json()
    assert made["population_source"] == "area.csv"
    age = next(d for d in made["dimensions"] if d["dimension"] == "age_band")
    young = next(g for g in age["groups"] if g["group"] == "18-24")
    assert young["partners"] == "*" and young["under_represented"]    # 3 of 12 vs 40%
