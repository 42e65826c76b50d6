"""The co-design pages and JSON API: joining by link, voting one statement per page with
and without htmx, refusals with clear messages that change nothing, and who may see what."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from sqlalchemy import func, select

from codesign_support import STATEMENTS, join, open_conversation, shown_statement, vote_rows
from support import DEMO_EMAILS, csrf_from, sign_in
from voices.codesign import service
from voices.codesign.models import Conversation, Idea, Participant, Statement, StatementStatus
from voices.core.models import AuditEvent
from voices.db import utcnow
from voices.web.access import Access
from voices.web.security import RateLimit


def test_joining_by_link_and_voting_one_statement_per_page_without_javascript(
        client, session, demo_core):
    conversation = open_conversation(session, demo_core, demographics=["age_band", "disability"])
    slug = conversation.slug
    token = join(client, slug)
    assert "voices_participant" in client.cookies
    page = client.get(f"/codesign/c/{slug}/about/age_band")
    assert page.status_code == 200 and "Prefer not to say" in page.text
    answered = client.post(f"/codesign/c/{slug}/about/age_band",
                           data={"csrf_token": token, "answer": "not-an-age"})
    assert answered.status_code == 422 and "Choose one of the answers" in answered.text
    client.post(f"/codesign/c/{slug}/about/age_band", data={"csrf_token": token,
                                                             "answer": "25-34"})
    skipped = client.post(f"/codesign/c/{slug}/about/disability",
                          data={"csrf_token": token, "skip": "1"}, follow_redirects=False)
    assert skipped.headers["location"] == f"/codesign/c/{slug}/vote"
    person = session.scalar(select(Participant))
    session.refresh(person)
    assert (person.age_band, person.disability) == ("25-34", "prefer_not_to_say")

    page = client.get(f"/codesign/c/{slug}/vote")
    assert page.text.count('name="statement"') == 1
    first = shown_statement(page.text)
    voted = client.post(f"/codesign/c/{slug}/vote", data={
        "csrf_token": token, "statement": str(first), "vote": "agree"}, follow_redirects=False)
    assert voted.status_code == 303
    assert [r[2] for r in vote_rows(session, conversation.id)] == [1]   # stored already
    following = client.get(voted.headers["location"])
    assert "Your vote is saved" in following.text and shown_statement(following.text) != first

    again = client.get(f"/codesign/c/{slug}/vote?statement={first}")
    assert shown_statement(again.text) == first and "You said: <strong>Agree" in again.text
    client.post(f"/codesign/c/{slug}/vote", data={"csrf_token": token, "statement": str(first),
                                                   "vote": "disagree"})
    assert [r[2] for r in vote_rows(session, conversation.id)] == [-1]


def test_with_htmx_a_vote_returns_just_the_next_statement(client, session, demo_core):
    conversation = open_conversation(session, demo_core)
    token = join(client, conversation.slug)
    first = shown_statement(client.get(f"/codesign/c/{conversation.slug}/vote").text)
    fragment = client.post(f"/codesign/c/{conversation.slug}/vote",
                           data={"statement": str(first), "vote": "pass"},
                           headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="voting">') and "<html" not in fragment.text
    assert 'role="status"' in fragment.text and "autofocus" in fragment.text
    assert shown_statement(fragment.text) not in (None, first)
    assert len(vote_rows(session, conversation.id)) == 1
    refused = client.post(f"/codesign/c/{conversation.slug}/vote",
                          data={"statement": "999", "vote": "agree"},
                          headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert refused.status_code == 200 and "not in this conversation" in refused.text
    assert len(vote_rows(session, conversation.id)) == 1


def test_bad_input_gets_a_clear_message_and_changes_nothing(client, session, app, demo_core):
    conversation = open_conversation(session, demo_core)
    slug = conversation.slug
    outsider = client.post(f"/codesign/c/{slug}/vote", data={
        "csrf_token": csrf_from(client.get(f"/codesign/c/{slug}").text), "statement": "0",
        "vote": "agree"})
    assert outsider.status_code == 404 and "Start the conversation first" in outsider.text
    token = join(client, slug)
    pending = service.add_statement(session, conversation, "Waiting for a lead to read it")
    session.commit()

    def state():
        session.expire_all()
        return (vote_rows(session, conversation.id),
                session.scalar(select(func.count()).select_from(Statement)))

    before = state()
    pages = [
        ("statements/new", {"text": ""}, 422, "Enter your statement"),
        ("statements/new", {"text": "x" * 141}, 422, "140 characters or fewer"),
        ("vote", {"statement": "999", "vote": "agree"}, 404, "not in this conversation"),
        ("vote", {"statement": str(pending.number), "vote": "agree"}, 404,
         "not open for votes yet"),
        ("vote", {"statement": "0", "vote": "maybe"}, 422, "Choose agree, disagree"),
    ]
    for path, data, status, message in pages:
        response = client.post(f"/codesign/c/{slug}/{path}", data={"csrf_token": token, **data})
        assert (response.status_code, message in response.text) == (status, True), path
        assert state() == before
    api = client.post(f"/api/v1/codesign/conversations/{slug}/votes",
                      json={"statement": 999, "vote": "agree"}, headers={"X-CSRF-Token": token})
    assert (api.status_code, api.json()["error"]["code"]) == (404, "statement_not_found")
    api = client.post(f"/api/v1/codesign/conversations/{slug}/votes",
                      json={"statement": 0, "vote": "strongly agree"},
                      headers={"X-CSRF-Token": token})
    assert api.status_code == 422 and state() == before

    app.state.codesign_vote_limit = RateLimit(limit=3, seconds=60)
    codes = [client.post(f"/codesign/c/{slug}/vote", data={
        "csrf_token": token, "statement": str(n), "vote": "agree"}, follow_redirects=False
    ).status_code for n in range(5)]
    assert codes == [303, 303, 303, 429, 429]
    slow_down = client.post(f"/codesign/c/{slug}/vote", data={
        "csrf_token": token, "statement": "4", "vote": "agree"})
    assert slow_down.status_code == 429 and slow_down.headers["Retry-After"] == "60"
    assert "There is a problem" in slow_down.text and "going too fast" in slow_down.text
    assert shown_statement(slow_down.text) == 4                # the same statement, to retry
    flooded = client.post(f"/api/v1/codesign/conversations/{slug}/votes",
                          json={"statement": 4, "vote": "agree"},
                          headers={"X-CSRF-Token": token})
    assert flooded.status_code == 429 and flooded.headers["Retry-After"] == "60"
    assert len(vote_rows(session, conversation.id)) == 3
    app.state.codesign_statement_limit = RateLimit(limit=0, seconds=600)
    too_many = client.post(f"/codesign/c/{slug}/statements/new",
                           data={"csrf_token": token, "text": "Tell us the wait by text"})
    assert too_many.status_code == 429 and "going too fast" in too_many.text
    assert ">Tell us the wait by text</textarea>" in too_many.text   # what they wrote is kept
    assert state()[1] == before[1]
    app.state.codesign_statement_limit = RateLimit(limit=100, seconds=600)

    conversation.closes_at = utcnow() - dt.timedelta(minutes=1)
    session.commit()
    app.state.codesign_vote_limit = RateLimit(limit=100, seconds=60)
    before = state()
    closed = client.post(f"/codesign/c/{slug}/vote", data={
        "csrf_token": token, "statement": "5", "vote": "agree"})
    assert closed.status_code == 409 and "has closed" in closed.text
    closed = client.post(f"/codesign/c/{slug}/statements/new",
                         data={"csrf_token": token, "text": "A late idea"})
    assert closed.status_code == 409 and "has closed" in closed.text
    api = client.post(f"/api/v1/codesign/conversations/{slug}/votes",
                      json={"statement": 5, "vote": "agree"}, headers={"X-CSRF-Token": token})
    assert api.json()["error"]["code"] == "conversation_closed" and state() == before
    assert "See what people said" in client.get(f"/codesign/c/{slug}").text


def test_a_signed_in_partner_votes_as_themselves_and_refusals_show_a_clear_page(
        client, session, app, demo_core):
    conversation = open_conversation(session, demo_core)
    slug = conversation.slug
    sign_in(client, DEMO_EMAILS["partner"])
    token = join(client, slug)
    assert "voices_participant" not in client.cookies        # known by their account
    person = session.scalar(select(Participant))
    assert (person.account_id, person.key_hash) == (demo_core.accounts["partner"].id, None)
    first = shown_statement(client.get(f"/codesign/c/{slug}/vote").text)
    app.state.codesign_vote_limit = RateLimit(limit=1, seconds=60)
    client.post(f"/codesign/c/{slug}/vote", data={"csrf_token": token, "statement": str(first),
                                                   "vote": "agree"})
    assert [r[:3] for r in vote_rows(session, conversation.id)] == [
        (person.id, service.statements(session, conversation)[first].id, 1)]
    before = vote_rows(session, conversation.id)
    flooded = client.post(f"/codesign/c/{slug}/vote", data={
        "csrf_token": token, "statement": str(first), "vote": "pass"})
    assert flooded.status_code == 429 and "You are going too fast" in flooded.text
    assert "Morgan" in flooded.text                  # the page still knows who is signed in
    app.state.codesign_vote_limit = RateLimit(limit=100, seconds=60)
    conversation.closes_at = utcnow() - dt.timedelta(minutes=1)
    session.commit()
    pages = [("vote", {"statement": str(first), "vote": "pass"}),
             ("statements/new", {"text": "Too late"})]
    for path, data in pages:
        closed = client.post(f"/codesign/c/{slug}/{path}", data={"csrf_token": token, **data})
        assert closed.status_code == 409 and "has closed" in closed.text, path
    assert vote_rows(session, conversation.id) == before


def _app_with_limits(settings, database, **limits: int):
    """The app with the given rate-limit settings changed, as an operator would set them."""
    from voices.web.app import create_app

    return create_app(settings.model_copy(update=limits), database)


def _from_address(app, address: str):
    from fastapi.testclient import TestClient

    return TestClient(app, base_url="http://testserver", client=(address, 50000))


def _vote(client, slug: str, token: str, number: int):
    return client.post(f"/codesign/c/{slug}/vote", data={
        "csrf_token": token, "statement": str(number), "vote": "agree"},
        follow_redirects=False)


def test_joining_again_and_again_from_one_address_gets_no_more_through_than_it_allows(
        settings, database, session, demo_core):
    conversation = open_conversation(session, demo_core)
    slug = conversation.slug
    app = _app_with_limits(settings, database, votes_per_address_per_minute=5,
                           statements_per_address_per_ten_minutes=2)
    codes, statements = [], []
    with _from_address(app, "192.0.2.7") as flood:
        for _ in range(4):                  # four new participants, each far under their own
            flood.cookies.clear()           # limit of 60 votes a minute
            token = join(flood, slug)
            codes += [_vote(flood, slug, token, n).status_code for n in range(2)]
            statements.append(flood.post(f"/codesign/c/{slug}/statements/new", data={
                "csrf_token": token, "text": f"Idea {len(statements)}"},
                follow_redirects=False).status_code)
        slow_down = _vote(flood, slug, token, 3)
        api = flood.post(f"/api/v1/codesign/conversations/{slug}/votes",
                         json={"statement": 3, "vote": "agree"},
                         headers={"X-CSRF-Token": token})
    assert codes == [303] * 5 + [429] * 3
    assert slow_down.status_code == 429 and slow_down.headers["Retry-After"] == "60"
    assert "going too fast" in slow_down.text and shown_statement(slow_down.text) == 3
    assert (api.status_code, api.json()["error"]["code"]) == (429, "rate_limited")
    assert len(vote_rows(session, conversation.id)) == 5           # nothing past the cap
    assert len({row[0] for row in vote_rows(session, conversation.id)}) == 3
    assert statements == [303, 303, 429, 429]
    added = session.scalar(select(func.count()).select_from(Statement).where(
        Statement.conversation_id == conversation.id, Statement.author_id.is_not(None)))
    assert added == 2


def test_people_at_another_address_are_not_held_back_by_a_flood(
        settings, database, session, demo_core):
    conversation = open_conversation(session, demo_core)
    slug = conversation.slug
    app = _app_with_limits(settings, database, votes_per_address_per_minute=3,
                           statements_per_address_per_ten_minutes=1)
    with _from_address(app, "192.0.2.7") as flood, _from_address(app, "198.51.100.4") as other:
        flood_token, other_token = join(flood, slug), join(other, slug)
        assert [_vote(flood, slug, flood_token, n).status_code for n in range(4)] == \
            [303, 303, 303, 429]
        assert [_vote(other, slug, other_token, n).status_code for n in range(3)] == [303] * 3
        assert _vote(flood, slug, flood_token, 5).status_code == 429   # still held back
    assert len(vote_rows(session, conversation.id)) == 6


def test_a_statement_with_personal_details_waits_for_a_lead_even_without_moderation(
        client, session, demo_core):
    conversation = open_conversation(session, demo_core, moderation=False)
    slug = conversation.slug
    token = join(client, slug)
    written = {"plain": "Phone people when the clinic runs late",
               "personal": "Ring Mrs Jones on 07700 900123, she waited a year"}
    for text in written.values():
        added = client.post(f"/codesign/c/{slug}/statements/new",
                            data={"csrf_token": token, "text": text})
        assert added.status_code == 200
    assert "Someone from the team will read it" in added.text
    status = {s.text: s.status for s in service.statements(session, conversation)}
    assert status[written["plain"]] is StatementStatus.accepted
    assert status[written["personal"]] is StatementStatus.pending     # not shown to voters
    shown = set()
    for _ in range(12):
        page = client.get(f"/codesign/c/{slug}/vote").text
        if shown_statement(page) is None:
            break
        assert "07700" not in page
        shown.add(shown_statement(page))
        client.post(f"/codesign/c/{slug}/vote", data={
            "csrf_token": token, "statement": str(shown_statement(page)), "vote": "pass"})
    assert len(shown) == len(STATEMENTS) + 1

    client.cookies.clear()
    lead_token = _lead(client)
    moderation = client.get(f"/codesign/conversations/{conversation.id}/moderation").text
    assert "Check for personal details" in moderation
    assert "It may contain a name and a phone number." in moderation
    assert "only statements that may contain personal details wait here" in moderation
    held = session.scalar(select(Statement).where(Statement.text == written["personal"]))
    seen = session.scalar(select(AuditEvent).where(AuditEvent.action == "codesign.statement.view"))
    assert seen.detail == {"statements": [held.id]} and "07700" not in str(seen.summary)
    client.post(f"/codesign/conversations/{conversation.id}/statements/{held.id}/moderate",
                data={"csrf_token": lead_token, "decision": "reject"})
    session.refresh(held)
    assert held.status is StatementStatus.rejected


def test_the_json_api_votes_one_small_request_at_a_time(client, session, demo_core):
    conversation = open_conversation(session, demo_core, moderation=False)
    base = f"/api/v1/codesign/conversations/{conversation.slug}"
    listed = client.get("/api/v1/codesign/conversations").json()
    assert [c["slug"] for c in listed] == [conversation.slug]
    first = client.get(base).json()
    assert first["joined"] is False and first["total"] == 10
    headers = {"X-CSRF-Token": first["csrf_token"]}
    joined = client.post(f"{base}/join", headers=headers)
    assert joined.status_code == 200 and "voices_participant" in joined.cookies
    headers = {"X-CSRF-Token": joined.json()["csrf_token"]}
    statement = joined.json()["next"]["number"]
    for choice in ("agree", "disagree"):
        vote = client.post(f"{base}/votes", json={"statement": statement, "vote": choice},
                           headers=headers)
        assert vote.status_code == 200 and vote.json()["stored"] is True
    assert vote.json()["next"]["number"] != statement
    assert [r[2] for r in vote_rows(session, conversation.id)] == [-1]
    added = client.post(f"{base}/statements", json={"text": "Phone me, do not write"},
                        headers=headers)
    assert added.status_code == 201 and added.json() == {"number": 10, "status": "accepted"}
    assert client.get(base).json()["voted"] == 1


def _lead(client):
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    return csrf_from(client.get("/codesign/conversations/new").text)


def test_a_lead_opens_moderates_and_publishes_a_conversation(client, session, demo_core):
    token = _lead(client)
    refused = client.post("/codesign/conversations/new", data={
        "csrf_token": token, "question": "", "organisation_id": str(demo_core.trusts[0].id),
        "closes-day": "31", "closes-month": "2", "closes-year": "2027"})
    assert refused.status_code == 422
    assert 'href="#question"' in refused.text and 'href="#closes-day"' in refused.text
    assert session.scalar(select(func.count()).select_from(Conversation)) == 0
    created = client.post("/codesign/conversations/new", data={
        "csrf_token": token, "question": "What would make clinics kinder?",
        "background": "We are asking.\n\nThank you.", "moderation": "on",
        "seed_statements": "Say hello.\nExplain delays.\nOffer water.",
        "organisation_id": str(demo_core.trusts[0].id), "demographics": ["age_band"]},
        follow_redirects=False)
    assert created.status_code == 303
    conversation = session.scalar(select(Conversation))
    assert conversation.demographics == ["age_band"] and conversation.moderation
    overview = client.get(created.headers["location"])
    assert "The conversation is open" in overview.text and f"/codesign/c/{conversation.slug}" \
        in overview.text

    people = [service.join(session, conversation, key=f"k{i}") for i in range(20)]
    written = service.add_statement(session, conversation, "Fix the chairs", participant=people[0])
    for i, person in enumerate(people):
        for number in range(3):
            service.cast_vote(session, conversation, person, number,
                              "agree" if (i + number) % 3 else "disagree")
    session.commit()
    moderation = client.get(f"/codesign/conversations/{conversation.id}/moderation")
    assert "Fix the chairs" in moderation.text
    client.post(f"/codesign/conversations/{conversation.id}/statements/{written.id}/moderate",
                data={"csrf_token": token, "decision": "accept"})
    session.refresh(written)
    assert written.status is StatementStatus.accepted

    assert "no results yet" in client.get(
        f"/codesign/conversations/{conversation.id}/results").text
    queued = client.post(f"/codesign/conversations/{conversation.id}/map",
                         data={"csrf_token": token}, follow_redirects=False)
    assert queued.headers["location"].startswith("/jobs/")
    from voices import jobs

    overview = client.get(f"/codesign/conversations/{conversation.id}").text
    assert "Not made yet" in overview and "An update for newer votes is waiting" in overview
    jobs.run_pending(client.app.state.database)
    overview = client.get(f"/codesign/conversations/{conversation.id}").text
    assert "Last updated" in overview and "from 60 votes" in overview
    assert "waiting to run" not in overview
    results = client.get(f"/codesign/conversations/{conversation.id}/results")
    assert "The opinion map was last updated on" in results.text
    assert "Show the numbers in this chart" in results.text
    html_report = client.get(f"/codesign/conversations/{conversation.id}/report.html")
    pdf_report = client.get(f"/codesign/conversations/{conversation.id}/report.pdf")
    assert html_report.headers["content-type"].startswith("text/html")
    assert "attachment" in html_report.headers["content-disposition"]
    assert pdf_report.content.startswith(b"%PDF")
    exported = client.get(f"/codesign/conversations/{conversation.id}/polis.zip")
    names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert names == ["comments.csv", "votes.csv", "participants-votes.csv"]
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"codesign.results.export", "codesign.conversation.export"} <= actions

    assert client.get(f"/codesign/c/{conversation.slug}/results").status_code == 404
    client.post(f"/codesign/conversations/{conversation.id}/close", data={"csrf_token": token})
    jobs.run_pending(client.app.state.database)
    client.cookies.clear()
    public = client.get(f"/codesign/c/{conversation.slug}/results")
    assert public.status_code == 200 and "What people said" in public.text
    assert "Download the report" not in public.text


def test_a_lead_carries_an_idea_to_a_proposal_through_the_pages(client, session, demo_core):
    conversation = open_conversation(session, demo_core)
    token = _lead(client)
    statement = service.statements(session, conversation)[2]
    made = client.post(f"/codesign/conversations/{conversation.id}/ideas",
                       data={"csrf_token": token, "statement_id": str(statement.id)},
                       follow_redirects=False)
    idea_url = made.headers["location"].split("?")[0]
    refused = client.post(f"{idea_url}/stage", data={"csrf_token": token,
                                                     "stage": "investigate", "why": ""})
    assert refused.status_code == 422 and 'href="#why"' in refused.text
    steps = [("stage", {"stage": "investigate", "why": "Broad support"}),
             ("supporter", {"supporter_name": "Coastline Carers", "contribution": "Volunteers"}),
             ("partner", {"partner_id": str(demo_core.accounts["partner"].id),
                          "partner_role": "Co-author"}),
             ("stage", {"stage": "propose", "why": "Ready to write"}),
             ("edit", {"title": "Kinder clinics", "summary": "", "proposal": "We will.",
                       "edit_why": "Draft"}),
             ("stage", {"stage": "agreed", "why": "Agreed"})]
    for action, data in steps:
        response = client.post(f"{idea_url}/{action}", data={"csrf_token": token, **data},
                               follow_redirects=False)
        assert response.status_code == 303, (action, response.text[:300])
    idea = session.scalar(select(Idea))
    session.refresh(idea)
    assert (idea.title, idea.stage.value) == ("Kinder clinics", "agreed")
    page = client.get(idea_url)
    assert "Agreed (current stage)" in page.text and "Coastline Carers" in page.text
    proposal = client.get(f"{idea_url}/proposal")
    assert "We will." in proposal.text and "Not a proposal yet" not in proposal.text
    assert client.get(f"{idea_url}/proposal.pdf").content.startswith(b"%PDF")


def test_polis_files_upload_as_a_conversation(client, session, demo_core, shared_data):
    token = _lead(client)
    folder = shared_data / "polis" / "london.youth.policing"
    files = {"comments": ("comments.csv", (folder / "comments.csv").read_bytes(), "text/csv"),
             "votes": ("votes.csv", (folder / "votes.csv").read_bytes(), "text/csv")}
    data = {"csrf_token": token, "question": "Policing and young people",
            "organisation_id": str(demo_core.trusts[0].id)}
    broken = dict(files, votes=("votes.csv", b"timestamp,comment-id,voter-id,vote\n1,0,0,9\n",
                                "text/csv"))
    refused = client.post("/codesign/import", data=data, files=broken)
    assert refused.status_code == 422 and "votes.csv, row 2, column &#39;vote&#39;" in refused.text
    assert session.scalar(select(func.count()).select_from(Conversation)) == 0
    imported = client.post("/codesign/import", data=data, files=files, follow_redirects=False)
    assert imported.status_code == 303
    conversation = session.scalar(select(Conversation))
    assert conversation.question == "Policing and young people"
    assert service.opinion_map(session, conversation) is not None


def test_another_organisations_conversation_is_not_found(client, session, demo_core):
    rz2 = open_conversation(session, demo_core, slug="rivermouth")
    rz2.organisation_id = demo_core.trusts[1].id
    session.commit()
    sign_in(client, DEMO_EMAILS["trust_analyst"])   # RZ1 only
    assert client.get(f"/codesign/conversations/{rz2.id}").status_code == 404
    assert client.get(f"/codesign/conversations/{rz2.id}/results").status_code == 404
    assert client.get("/api/v1/codesign/conversations/rivermouth/map").status_code == 404
    assert "rivermouth" not in client.get("/codesign").text


EXPECTED = {
    "/codesign": {"admin", "analyst", "involvement_lead"},
    "/codesign/join": {"anonymous", "admin", "analyst", "involvement_lead", "partner"},
    "/codesign/conversations/new": {"admin", "involvement_lead"},
    "/codesign/import": {"admin", "involvement_lead"},
    "/codesign/ideas": {"admin", "analyst", "involvement_lead"},
    "/codesign/c/{slug}/vote": {"anonymous", "admin", "analyst", "involvement_lead", "partner"},
    "/codesign/conversations/{conversation_id}/moderation": {"admin", "involvement_lead"},
    "/codesign/conversations/{conversation_id}/results": {"admin", "analyst",
                                                          "involvement_lead"},
    "/codesign/conversations/{conversation_id}/polis.zip": {"admin", "involvement_lead"},
    "/api/v1/codesign/conversations": {"anonymous", "admin", "analyst", "involvement_lead",
                                       "partner"},
    "/api/v1/codesign/conversations/{slug}/map": {"admin", "analyst", "involvement_lead"},
}


def test_codesign_routes_allow_exactly_the_intended_roles(sqlite_url, tmp_path):
    from fastapi.routing import iter_route_contexts

    from voices.settings import Settings
    from voices.web.app import create_app

    app = create_app(Settings(database_url=sqlite_url, data_dir=tmp_path, secret_key="k" * 40,
                              run_jobs_in_app=False, _env_file=None))

    roles = {"anonymous", "admin", "analyst", "involvement_lead", "partner"}
    declared = {}
    for ctx in iter_route_contexts(app.routes):
        if ctx.path in EXPECTED and "GET" in (ctx.methods or ()):
            rules = [d.call for d in ctx.original_route.dependant.dependencies
                     if isinstance(d.call, Access)]
            assert len(rules) == 1, ctx.path
            declared[ctx.path] = roles if rules[0].roles is None else \
                {r.value for r in rules[0].roles}
    assert declared == EXPECTED


def test_a_room_of_fifty_on_one_network_can_all_join_and_vote(settings, database, session,
                                                             demo_core):
    """A workshop where 50 people scan the same link on the venue's wifi (one address):
    with the default limits everyone joins and votes at once; the join ceiling still holds
    for someone joining again and again."""
    conversation = open_conversation(session, demo_core)
    slug = conversation.slug
    app = _app_with_limits(settings, database)
    assert app.state.codesign_join_limit.limit == settings.joins_per_address_per_minute
    with _from_address(app, "192.0.2.50") as room:
        codes = []
        for _ in range(50):
            room.cookies.clear()             # each person's own phone: a new participant
            token = join(room, slug)
            codes.append(_vote(room, slug, token, 0).status_code)
    assert codes == [303] * 50
    assert len(vote_rows(session, conversation.id)) == 50
    small = _app_with_limits(settings, database, joins_per_address_per_minute=3)
    with _from_address(small, "192.0.2.51") as flood:
        for _ in range(3):
            flood.cookies.clear()
            join(flood, slug)
        flood.cookies.clear()
        page = flood.get(f"/codesign/c/{slug}")
        refused = flood.post(f"/codesign/c/{slug}/join", data={"csrf_token": csrf_from(page.text)},
                             follow_redirects=False)
    assert refused.status_code == 429 and "going too fast" in refused.text
    joined = session.scalar(select(func.count()).select_from(Participant).where(
        Participant.conversation_id == conversation.id))
    assert joined == 53
