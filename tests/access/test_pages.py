"""The access pages and their JSON twins: who may see what, exact figures for analysts and
disclosure-controlled ones for everyone else, audited views and exports, located errors."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from access_support import BAD_FILES, DAY, HEADER, UNSAFE_POLICY, stored_lists, write_list
from support import DEMO_EMAILS, csrf_from, sign_in
from voices.access.models import Pathway, PolicyVersion, Simulation
from voices.core.models import AuditEvent
from voices.equity.disclosure import published_counts_are_safe

ROLES = ["anonymous", "admin", "analyst", "involvement_lead", "partner"]
STAFF = {"admin", "analyst", "involvement_lead"}
ANALYSTS = {"admin", "analyst"}
INTENDED = {
    "/access": STAFF, "/access/policies": STAFF, "/access/calculator": STAFF,
    "/access/rtt": STAFF, "/access/import": ANALYSTS, "/access/simulate": ANALYSTS,
    "/access/policies/new": ANALYSTS, "/access/snapshots/{snapshot_id}": STAFF,
    "/access/snapshots/{snapshot_id}/ranked": ANALYSTS,
    "/access/snapshots/{snapshot_id}/ranked.csv": ANALYSTS,
    "/access/snapshots/{snapshot_id}/waits.csv": STAFF,
    "/access/policies/{policy_id}": STAFF, "/access/policies/{policy_id}/edit": ANALYSTS,
    "/access/simulations/{simulation_id}": STAFF,
    "/api/v1/access/snapshots": STAFF, "/api/v1/access/snapshots/{snapshot_id}/waits": STAFF,
    "/api/v1/access/snapshots/{snapshot_id}/ranked": ANALYSTS,
    "/api/v1/access/policies": STAFF,
}


@pytest.fixture
def lists(database, tmp_path):
    with database.sessionmaker() as session:
        return {k: v for k, v in stored_lists(session, tmp_path).items()
                if k not in ("context", "trusts")}


def _audit(database, action: str) -> int:
    with database.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action))


def test_each_access_route_allows_exactly_the_intended_roles(app):
    from fastapi.routing import iter_route_contexts

    from voices.web.access import Access

    declared = {}
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        inside = ctx.path == "/access" or ctx.path.startswith(("/access/", "/api/v1/access/"))
        if inside and "GET" in (ctx.methods or []):
            rules = [d.call for d in route.dependant.dependencies if isinstance(d.call, Access)]
            declared[ctx.path] = {r.value for r in rules[0].roles}
    for path, roles in INTENDED.items():
        assert declared[path] == roles, path
    assert set(declared) - set(INTENDED) <= {
        "/access/policies/{policy_id}/diff", "/api/v1/access/policies/{policy_id}",
        "/api/v1/access/simulations/{simulation_id}", "/api/v1/access/rtt"}


def test_analysts_see_exact_figures_and_everyone_else_disclosed_ones(client, database, lists):
    snapshot = lists["rz1"]
    sign_in(client, DEMO_EMAILS["analyst"])
    page = client.get(f"/access/snapshots/{snapshot}")
    assert page.status_code == 200 and "Exact figures" in page.text
    exact = client.get(f"/api/v1/access/snapshots/{snapshot}/waits").json()
    assert exact["exact"] and exact["headline"]["pathways"] == 400
    assert _audit(database, "access.waits.view") == 2
    deciles = next(d for d in exact["dimensions"] if d["dimension"] == "imd_decile")
    assert {r["label"] for r in deciles["rows"]} >= {"Decile 1 (most deprived)", "Not known"}
    assert "pct_over_52_lower" in deciles["rows"][0]
    assert len(exact["trend"]) == 2          # the same trust's lists side by side by date

    client.cookies.clear()
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    shown = client.get(f"/api/v1/access/snapshots/{snapshot}/waits").json()
    assert not shown["exact"]
    values = [shown["headline"]["pathways"]] + [
        r[key] for d in shown["dimensions"] for r in d["rows"]
        for key in ("pathways", "over_18", "over_52", "over_65", "over_78")]
    assert published_counts_are_safe(values) and "*" in values
    assert all(v == "*" or v % 5 == 0 for v in values)
    assert all("pct_over_52_lower" not in r for d in shown["dimensions"] for r in d["rows"])
    page = client.get(f"/access/snapshots/{snapshot}")
    assert "rounded to the nearest 5" in page.text and "Exact figures" not in page.text
    assert client.get(f"/access/snapshots/{snapshot}/ranked").status_code == 403
    assert _audit(database, "access.waits.view") == 2
    exported = client.get(f"/access/snapshots/{snapshot}/waits.csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    counts = [int(c) for r in rows[1:] for c in r[2:11:2] if c.isdigit()]
    assert counts and published_counts_are_safe(counts)
    assert _audit(database, "access.waits.export") == 1


def test_an_analyst_sees_only_their_organisations_lists(client, lists):
    sign_in(client, DEMO_EMAILS["trust_analyst"])
    listed = {s["organisation"] for s in client.get("/api/v1/access/snapshots").json()}
    assert listed == {"RZ1"}
    other = lists["rz2"]
    for path in (f"/access/snapshots/{other}", f"/api/v1/access/snapshots/{other}/waits",
                 f"/access/snapshots/{other}/ranked.csv"):
        assert client.get(path).status_code == 404, path


def test_the_ranked_list_explains_positions_and_exports_formula_safe_csv(client, database,
                                                                        lists, tmp_path):
    from voices.access import service

    hostile = {"=HYPERLINK(\"http://x\")": "P2", "+1": "P3", "-2": "P4", "@SUM(A1)": "P4"}
    path = tmp_path / "hostile.csv"
    old = (DAY.replace(year=DAY.year - 1)).isoformat()
    path.write_text(HEADER + "".join(f'"{p.replace(chr(34), chr(34) * 2)}",110,{old},{c}\n'
                                     for p, c in hostile.items()))
    with database.sessionmaker() as session:
        rz1 = service.organisation_by_code(session, "RZ1")
        hostile_id = service.import_snapshot(session, path, organisation=rz1,
                                             snapshot_date=DAY - timedelta(days=1)).snapshot.id
        session.commit()
    sign_in(client, DEMO_EMAILS["trust_analyst"])
    page = client.get(f"/access/snapshots/{lists['rz1']}/ranked")
    assert page.status_code == 200
    assert re.search(r"P\w+; waiting \d+ weeks?[^<]*; position 1 of 400<", page.text)
    second = client.get(f"/api/v1/access/snapshots/{lists['rz1']}/ranked",
                        params={"page": 2, "policy": lists["candidate"]}).json()
    assert second["policy"] == "Equity-weighted accumulating priority"
    assert [r["position"] for r in second["rows"]] == list(range(51, 101))
    assert second["rows"][0]["explanation"].endswith("position 51 of 400")
    exported = client.get(f"/access/snapshots/{hostile_id}/ranked.csv")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {r["pathway_id"] for r in rows} == {"'" + p for p in hostile}
    assert _audit(database, "access.ranked.view") == 2
    assert _audit(database, "access.ranked.export") == 1


def test_the_policy_editor_refuses_an_unsafe_policy_and_keeps_history(client, database, lists):
    sign_in(client, DEMO_EMAILS["trust_analyst"])
    policy = lists["policy"]
    form = client.get(f"/access/policies/{policy}/edit")
    token = csrf_from(form.text)
    refused = client.post(f"/access/policies/{policy}/edit", data={
        "csrf_token": token, "yaml": UNSAFE_POLICY, "reason": "Try a faster P4"})
    assert refused.status_code == 422
    summary = refused.text.split("nhsuk-error-summary", 1)[1].split("</div>", 3)
    assert "Line 7:" in "".join(summary) and 'href="#yaml"' in "".join(summary)
    assert "P4 pathways gain priority faster" in refused.text
    no_reason = client.post(f"/access/policies/{policy}/edit", data={
        "csrf_token": token, "yaml": UNSAFE_POLICY.replace("P4: {rate: 3", "P4: {rate: 1")
        .replace("min_extra_weeks: 13", "min_extra_weeks: 3"), "reason": ""})
    assert no_reason.status_code == 422 and "Say why you are making this change" in no_reason.text
    with database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 2
    text = form.text.split('name="yaml"', 1)[1].split(">", 1)[1].split("</textarea>")[0]
    import html

    changed = html.unescape(text).replace("P3: {rate: 1.5", "P3: {rate: 1.4")
    saved = client.post(f"/access/policies/{policy}/edit", data={
        "csrf_token": token, "yaml": changed, "reason": "P3 a little slower",
        "make_active": "yes"}, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get(saved.headers["location"])
    assert "Version 2" in page.text and "P3 a little slower" in page.text
    assert "Jordan Trust-Analyst" in page.text and "Put version 1 in use" in page.text
    diff = client.get(f"/access/policies/{policy}/diff?from=1&to=2")
    assert "\u00a0\u00a0<del>P3: {rate: 1.5, head_start: 25}</del>" in diff.text
    assert "\u00a0\u00a0<ins>P3: {rate: 1.4, head_start: 25}</ins>" in diff.text
    assert "unchanged lines not shown" in diff.text
    back = client.post(f"/access/policies/{policy}/activate",
                       data={"csrf_token": token, "version": "1"}, follow_redirects=True)
    assert "The policy version is now in use" in back.text
    versions = client.get(f"/api/v1/access/policies/{policy}").json()
    assert versions["in_use_version"] == 1 and [v["version"] for v in versions["versions"]] == [2, 1]
    assert versions["versions"][0]["reason"] == "P3 a little slower"
    assert _audit(database, "access.policy.activate") == 3


def test_the_import_page_refuses_bad_files_on_the_page_and_imports_good_ones(
        client, database, lists, tmp_path, monkeypatch):
    from voices import jobs
    from voices.access import routes

    sign_in(client, DEMO_EMAILS["trust_analyst"])
    token = csrf_from(client.get("/access/import").text)
    form = {"csrf_token": token, "organisation": "RZ1", "snapshot_date": DAY.isoformat()}
    for what, (text, row, column, words) in BAD_FILES.items():
        answer = client.post("/access/import", data=form,
                             files={"file": (f"{what}.csv", text.encode(), "text/csv")})
        assert answer.status_code == 422, what
        assert f"row {row}, column &#39;{column}&#39;" in answer.text and words in answer.text
    future = client.post("/access/import", data={**form, "snapshot_date": "2999-01-01"},
                         files={"file": ("x.csv", b"x", "text/csv")})
    assert future.status_code == 422 and "is in the future" in future.text
    with database.sessionmaker() as session:
        before = session.scalar(select(func.count()).select_from(Pathway))
    good = write_list(tmp_path, 120, seed=21)
    # the name a person gave the file, square brackets and all, is not a pattern
    done = client.post("/access/import", data=form, follow_redirects=False,
                       files={"file": ("list [Nov].csv", good.read_bytes(), "text/csv")})
    assert done.status_code == 303 and "imported=replaced" in done.headers["location"]
    # a large file goes to a background job with a progress page
    monkeypatch.setattr(routes, "INLINE_IMPORT_BYTES", 10)
    queued = client.post("/access/import", data=form, follow_redirects=False,
                         files={"file": ("big.csv", BAD_FILES["unknown priority"][0].encode(),
                                         "text/csv")})
    assert queued.headers["location"].startswith("/jobs/")
    jobs.run_pending(database)
    failed = client.get(queued.headers["location"]).text
    assert "did not finish" in failed and "row 3, column" in failed
    with database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Pathway)) == before - 400 + 120


def test_a_simulation_from_the_page_runs_in_the_background(client, database, lists):
    from voices import jobs

    sign_in(client, DEMO_EMAILS["trust_analyst"])
    token = csrf_from(client.get("/access/simulate").text)
    refused = client.post("/access/simulate", data={
        "csrf_token": token, "snapshot": str(lists["rz1"]), "weeks": "many",
        "replications": "2", "versions": [str(lists["version"])]})
    assert refused.status_code == 422 and "whole number" in refused.text
    started = client.post("/access/simulate", follow_redirects=False, data={
        "csrf_token": token, "snapshot": str(lists["rz1"]), "weeks": "4", "replications": "2",
        "versions": [str(lists["version"]), str(lists["candidate"])]})
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    assert jobs.run_pending(database) == 1
    with database.sessionmaker() as session:
        sim_id = session.scalar(select(Simulation.id))
    page = client.get(f"/access/simulations/{sim_id}")
    assert "Waited over 52 weeks at some point" in page.text
    assert page.text.count('class="voices-chart"') == 3
    result = client.get(f"/api/v1/access/simulations/{sim_id}").json()
    assert result["status"] == "done" and result["settings"]["weeks"] == 4


def test_the_calculator_matches_nhsrwaitinglist_and_explains_itself(client, demo_core):
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    page = client.get("/access/calculator", params={
        "demand": "30", "target": "52", "queue_size": "1200", "time_to_target": "26"})
    assert page.status_code == 200
    assert "390" in page.text and "61.15" in page.text and "Little" in page.text
    wrong = client.get("/access/calculator", params={"demand": "lots", "target": "soon"})
    assert wrong.status_code == 422
    assert 'href="#demand"' in wrong.text and 'href="#target"' in wrong.text
    token = csrf_from(client.get("/logout").text)
    answer = client.post("/api/v1/access/calculator", headers={"X-CSRF-Token": token},
                         json={"demand": 30, "target": "52", "cv_demand": 3, "cv_capacity": 1.1})
    assert answer.status_code == 200, answer.text
    values = {m["key"]: m["value"] for m in answer.json()["measures"]}
    assert values["target_queue_size"] == pytest.approx(390)
    # Kingman, by hand: 30 + (3² + 1.1²) / 2 × 4 / 52
    assert values["target_capacity"] == pytest.approx(30 + (9 + 1.21) / 2 * 4 / 52)
