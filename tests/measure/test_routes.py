"""The measure pages and their JSON twins: who may see what, exact counts only for
analysts, the published page safe for everyone, and the scorecard editor."""

from __future__ import annotations

import re

import pytest

from support import DEMO_EMAILS, csrf_from, sign_in
from voices.web.access import ANALYSTS, PUBLIC, STAFF

ROUTES = {
    "/measure": STAFF, "/measure/funnel": ANALYSTS, "/measure/inequality": ANALYSTS,
    "/measure/scorecard": ANALYSTS, "/measure/scorecard/edit": ANALYSTS,
    "/measure/published": PUBLIC,
    "/api/v1/measure/dashboard": ANALYSTS, "/api/v1/measure/funnel": ANALYSTS,
    "/api/v1/measure/inequality": ANALYSTS, "/api/v1/measure/scorecard": ANALYSTS,
    "/api/v1/measure/published": PUBLIC,
}


def test_each_measure_route_has_the_intended_rule(app):
    from fastapi.routing import iter_route_contexts

    found = {}
    for ctx in iter_route_contexts(app.routes):
        if ctx.path.startswith(("/measure", "/api/v1/measure")) and "GET" in (ctx.methods or []):
            deps = [d.call for d in ctx.original_route.dependant.dependencies]
            found[ctx.path] = next(d for d in deps if d in (STAFF, ANALYSTS, PUBLIC))
    assert found == ROUTES


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", " ", c).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", html, flags=re.DOTALL)]


def small_counts(html: str) -> list[str]:
    """Table cells that are a bare whole number from 1 to 7."""
    return [c for c in cells(html)
            if re.fullmatch(r"[0-9][0-9,]*", c) and 1 <= int(c.replace(",", "")) <= 7]


def test_the_published_page_is_for_everyone_and_shows_no_small_count(demo_client):
    page = demo_client.get("/measure/published")
    assert page.status_code == 200
    assert "How people rate our services" in page.text
    assert "NHS Northshire and Coast Integrated Care Board" in page.text
    assert small_counts(page.text) == []
    assert "*" in cells(page.text)                  # some small groups are hidden
    trust = demo_client.get("/measure/published?organisation=RZ3&period=2026-06")
    assert trust.status_code == 200 and small_counts(trust.text) == []
    data = demo_client.get("/api/v1/measure/published?organisation=RZ3").json()
    for row in data["services"] + [r for d in data["dimensions"] for r in d["rows"]]:
        for key in ("positive", "negative", "other", "responses"):
            assert row[key] == "*" or (row[key] % 5 == 0 and not 1 <= row[key] <= 7)


def test_the_home_page_links_signed_out_visitors_to_the_published_measures(demo_client):
    assert 'href="/measure/published"' in demo_client.get("/").text


def test_analysts_see_exact_figures_for_their_organisations_only(demo_client):
    sign_in(demo_client, DEMO_EMAILS["trust_analyst"])       # RZ1 only
    page = demo_client.get("/measure?dimension=ethnic_group")
    assert page.status_code == 200
    assert "Northshire Teaching Hospitals" in page.text and "Podiatry" not in page.text
    data = demo_client.get("/api/v1/measure/dashboard").json()
    assert data["scope"]["organisation"] == "RZ1"
    assert {s["organisation"] for s in data["services"]} == {"RZ1"}
    assert data["headline"]["responses"] == sum(s["responses"] for s in data["services"])
    assert demo_client.get("/measure?organisation=RZ2").status_code == 404
    assert demo_client.get("/api/v1/measure/funnel?organisation=RZ3").status_code == 404
    assert demo_client.get("/measure/scorecard?service=rz2-urgent-treatment-centre") \
        .status_code == 404


@pytest.mark.parametrize("path", ["/measure/funnel?method=multiplicative",
                                  "/measure/inequality?measure=pct_negative&months=3",
                                  "/measure/scorecard?organisation=RZ1",
                                  "/measure?service=rz1-emergency-department"])
def test_analyst_pages_show_their_charts_with_words_and_numbers(demo_client, path):
    sign_in(demo_client, DEMO_EMAILS["analyst"])
    page = demo_client.get(path)
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.text
    assert "Show the numbers in this chart" in page.text
    assert "<script" not in page.text.split("</main>")[0].split("<main")[1]


def test_involvement_leads_are_sent_to_the_published_view(demo_client):
    sign_in(demo_client, DEMO_EMAILS["involvement_lead"])
    response = demo_client.get("/measure", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/measure/published"
    assert demo_client.get("/measure/funnel").status_code == 403


def test_the_scorecard_editor_shows_every_located_problem_and_saves_versions(demo_client):
    sign_in(demo_client, DEMO_EMAILS["trust_analyst"])
    form = demo_client.get("/measure/scorecard/edit")
    assert form.status_code == 200 and "Version 1" in form.text
    bad = ("title: Ours\nmeasures:\n  - id: good\n    title: Good\n    group: experience\n"
           "    source: fft\n    statistic: pct_positive\n    direction: up\n    target: 90\n"
           "  - id: gap\n    title: Gap\n    group: inequality\n    source: sii\n"
           "    statistic: slope\n    direction: lower\n    target: high\n")
    response = demo_client.post("/measure/scorecard/edit", data={
        "csrf_token": csrf_from(form.text), "organisation": "RZ1", "scorecard_yaml": bad})
    assert response.status_code == 422
    assert "There is a problem" in response.text
    summary = response.text.split("nhsuk-error-summary__list")[1].split("</ul>")[0]
    assert "Line 8: measures[0].direction" in summary
    assert "Line 14: measures[1].statistic" in summary and "Line 16: measures[1].target" in summary
    good = bad.replace("direction: up", "direction: higher").replace(
        "statistic: slope", "statistic: sii_pct_points").replace("target: high", "target: 3")
    saved = demo_client.post("/measure/scorecard/edit", data={
        "csrf_token": csrf_from(form.text), "organisation": "RZ1", "scorecard_yaml": good},
        follow_redirects=False)
    assert saved.status_code == 303 and "saved=2" in saved.headers["location"]
    page = demo_client.get(saved.headers["location"])
    assert "Scorecard version 2 saved" in page.text and "<h1>Ours" in page.text
    refused = demo_client.post("/measure/scorecard/edit", data={
        "organisation": "RZ1", "scorecard_yaml": good})
    assert refused.status_code == 403                          # no CSRF token
    other = demo_client.post("/measure/scorecard/edit", data={
        "csrf_token": csrf_from(form.text), "organisation": "RZ2", "scorecard_yaml": good})
    assert other.status_code == 404                            # not their organisation


def test_a_scorecard_can_be_uploaded_as_a_file_or_sent_as_json(demo_client):
    sign_in(demo_client, DEMO_EMAILS["analyst"])
    form = demo_client.get("/measure/scorecard/edit?organisation=RZ2")
    text = ("title: Rivermouth\nmeasures:\n  - id: good\n    title: Good\n    group: experience\n"
            "    source: fft\n    statistic: pct_positive\n    direction: higher\n    target: 95\n")
    saved = demo_client.post("/measure/scorecard/edit", data={
        "csrf_token": csrf_from(form.text), "organisation": "RZ2", "scorecard_yaml": ""},
        files={"scorecard_file": ("ours.yaml", text.encode(), "text/yaml")},
        follow_redirects=False)
    assert saved.status_code == 303
    card = demo_client.get("/api/v1/measure/scorecard?organisation=RZ2").json()
    assert card["title"] == "Rivermouth" and card["version"] == 1
    assert [r["measure_id"] for r in card["place"]] == ["good"]
    response = demo_client.post("/api/v1/measure/scorecard", json={
        "organisation": "RZ2", "yaml": text.replace("95", "96")},
        headers={"X-CSRF-Token": csrf_from(form.text)})
    assert response.status_code == 201 and response.json()["version"] == 2
    bad = demo_client.post("/api/v1/measure/scorecard", json={
        "organisation": "RZ2", "yaml": "title: [unclosed"},
        headers={"X-CSRF-Token": csrf_from(form.text)})
    assert bad.status_code == 422 and bad.json()["error"]["problems"][0]["row"] == 1


def test_bad_filters_are_refused_clearly(demo_client):
    sign_in(demo_client, DEMO_EMAILS["analyst"])
    assert demo_client.get("/api/v1/measure/dashboard?period=2026-13").status_code == 422
    response = demo_client.get("/api/v1/measure/dashboard?dimension=religion")
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["column"] == "dimension"
    assert demo_client.get("/api/v1/measure/funnel?method=wide").status_code == 422


def test_views_of_exact_counts_by_group_are_audited(demo_client, demo_database):
    from sqlalchemy import select

    from voices.core.models import AuditEvent

    sign_in(demo_client, DEMO_EMAILS["trust_analyst"])
    demo_client.get("/measure")                                  # no groups: not audited
    demo_client.get("/measure?dimension=disability")
    demo_client.get("/api/v1/measure/inequality")
    with demo_database.sessionmaker() as session:
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "measure.groups.view")).all()
    assert len(events) == 2 and {e.organisation_id for e in events} == {
        events[0].organisation_id} and events[0].organisation_id is not None


def test_classified_comments_from_listen_show_on_the_dashboard(demo_client, monkeypatch):
    """The contract with the listen area's ``comments_frame``: one row per classified
    comment with its QDC themes, its 3-way sentiment and the I-statement themes listen
    found (by id); measure names the themes and scores them."""
    import sys
    import types

    import polars as pl

    comments = pl.DataFrame({
        "comment_id": [1, 2, 3, 4], "organisation": ["RZ1"] * 4,
        "service": ["Emergency Department"] * 3 + ["Podiatry"], "period": ["2026-10"] * 4,
        "question": ["best"] * 4, "rating": ["Good"] * 4,
        "themes": [["Staff manner & personal attributes"], ["Discharge", "Waiting time"],
                   ["Waiting time"], ["Discharge"]],
        "sentiment": [1, 5, 4, 1], "sentiment_3": ["positive", "negative", "negative",
                                                   "positive"],
        "i_statement_themes": [["communication"], ["transitions"], [], ["transitions"]]},
        schema_overrides={"sentiment": pl.Int64})
    fake = types.ModuleType("voices.listen.service")
    fake.comments_frame = lambda session, organisation_ids, periods: comments
    monkeypatch.setitem(sys.modules, "voices.listen.service", fake)
    monkeypatch.setattr("voices.listen.service", fake, raising=False)
    sign_in(demo_client, DEMO_EMAILS["trust_analyst"])
    data = demo_client.get("/api/v1/measure/dashboard?service=rz1-emergency-department").json()
    said = data["comments"]
    assert said["comments"] == 3
    assert said["sentiment"]["negative"] == pytest.approx(200 / 3)
    assert said["themes"][0] == {"theme": "Waiting time", "mentions": 2,
                                 "pct_mentions": pytest.approx(200 / 3), "pct_positive": 0.0,
                                 "pct_negative": 100.0}
    assert [(d["domain"], d["net_score"]) for d in said["domains"]] == [
        ("Communication", 100.0), ("Transitions", -100.0)]
    page = demo_client.get("/measure?service=rz1-emergency-department")
    assert "What people said in their comments" in page.text and "Waiting time" in page.text
