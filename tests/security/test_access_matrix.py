"""Who may use every page and API route, including those with ids in the path.

For each route (all methods, all areas) and each kind of account, the test asks the app
itself on the full demo: the route's declared rule decides who gets in (anyone else is sent
to sign in, 401, or refused, 403); a record of an organisation outside the account's scope
is *not found* (404), exactly as an id that does not exist, so ids cannot be probed; and a
made-up id is a 404 too, never an error. Ids are filled from the demo data: a record of a
trust, so that one account sees it and another organisation's account does not.

State-changing requests (POST) are sent only where they must be refused (wrong role, or
another organisation's record); the database must be unchanged afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import text

from voices.core.models import Role
from voices.web.access import Access

FRAMEWORK = {"/api/v1/openapi.json", "/docs", "/docs/oauth2-redirect"}

# Routes whose records every allowed account may see, whatever its organisation (the
# reason is the design's, and is checked by the areas' own tests).
SHARED = {
    "/involve/library/{entry_id}": "the library of past involvement is shared knowledge",
    "/involve/opportunities/{opportunity_id}": "partners see their community's opportunities",
}


def _rule(route) -> Access | None:
    found = []

    def walk(dependant):
        for dep in dependant.dependencies:
            if isinstance(dep.call, Access):
                found.append(dep.call)
            walk(dep)

    walk(route.dependant)
    return found[0] if found else None


def _app():
    from voices.settings import Settings
    from voices.web.app import create_app

    return create_app(Settings(database_url="sqlite://", secret_key="x", run_jobs_in_app=False,
                               _env_file=None))


def _routes(app=None):
    """(method, path, access rule or None) for every route of the app."""
    app = app or _app()
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not hasattr(route, "dependant") or ctx.path in FRAMEWORK:
            continue
        for method in sorted(ctx.methods or []):
            if method != "HEAD":
                out.append((method, ctx.path, _rule(route)))
    return out


ROUTES = _routes()


@dataclass(frozen=True)
class Viewer:
    name: str
    email: str | None
    role: Role | None
    org: str | None  # ODS code of the account's organisation


VIEWERS = [
    Viewer("anonymous", None, None, None),
    Viewer("admin", "admin@voices.example", Role.admin, None),
    Viewer("icb_analyst", "analyst@voices.example", Role.analyst, "QZ9"),
    Viewer("rz1_analyst", "trust.analyst@voices.example", Role.analyst, "RZ1"),
    Viewer("rz2_analyst", "analyst.rz2@security.example", Role.analyst, "RZ2"),
    Viewer("icb_lead", "lead@voices.example", Role.involvement_lead, "QZ9"),
    Viewer("rz2_lead", "lead.rz2@security.example", Role.involvement_lead, "RZ2"),
    Viewer("partner", "partner@voices.example", Role.partner, None),
]

# A record for each kind of id: (SQL giving id and its organisation, preferred first).
TRUSTS_FIRST = "ORDER BY CASE WHEN org IN (SELECT id FROM organisation WHERE parent_id " \
               "IS NOT NULL) THEN 0 ELSE 1 END, id"
PRIMARY = {
    "snapshot_id": "SELECT id, organisation_id AS org FROM access_snapshot",
    "policy_id": "SELECT id, organisation_id AS org FROM access_policy",
    "simulation_id": "SELECT id, organisation_id AS org FROM access_simulation",
    "conversation_id": "SELECT c.id, c.organisation_id AS org FROM codesign_conversation c "
                       "WHERE EXISTS (SELECT 1 FROM codesign_statement s "
                       "WHERE s.conversation_id = c.id)",
    "idea_id": "SELECT id, organisation_id AS org FROM codesign_idea",
    "partner_id": "SELECT id, organisation_id AS org FROM involve_partner",
    "entry_id": "SELECT id, organisation_id AS org FROM involve_library_entry",
    "panel_id": "SELECT id, organisation_id AS org FROM involve_panel",
    "comment_id": "SELECT c.id, s.organisation_id AS org FROM listen_comment c JOIN "
                  "listen_response r ON r.id = c.response_id JOIN service s "
                  "ON s.id = r.service_id",
    "mapping_id": "SELECT m.id, s.organisation_id AS org FROM listen_mapping m "
                  "LEFT JOIN service s ON s.id = m.service_id",
    "job_id": "SELECT id, organisation_id AS org FROM job",
    "token_id": "SELECT id, NULL AS org FROM api_token",
    "opportunity_id": "SELECT o.id, o.organisation_id AS org FROM involve_opportunity o "
                      "WHERE o.status = 'open' AND EXISTS (SELECT 1 FROM involve_interest i "
                      "WHERE i.opportunity_id = o.id)",
    "link_id": "SELECT id, NULL AS org FROM involve_library_person",
    "service_slug": "SELECT slug AS id, organisation_id AS org FROM service",
    "conversation_slug": "SELECT slug AS id, organisation_id AS org FROM codesign_conversation",
}
# Ids that belong to the record chosen for the primary id.
SECONDARY = {
    "statement_id": "SELECT id FROM codesign_statement WHERE conversation_id = "
                    ":conversation_id ORDER BY id",
    "interest_id": "SELECT id FROM involve_interest WHERE opportunity_id = :opportunity_id "
                   "ORDER BY id",
}
# What a record must have for the page to exist for it (else it is rightly not found).
NEEDS = {"/access/policies/{policy_id}/diff": "EXISTS (SELECT 1 FROM access_policy_version v "
                                             "WHERE v.policy_id = records.id AND v.version > 1)"}
FIXED = {"step": "good", "kind": "svg", "fmt": "html", "action": "stage", "name": "age_band",
         "key": "age_band"}


def _primary(path: str, params: list[str]) -> str | None:
    if "slug" in params:
        return "service_slug" if path.startswith(("/f/", "/listen/")) else "conversation_slug"
    return next((p for p in params if p in PRIMARY), None)


def _fill(db, path: str, within: set[int] | None = None) -> tuple[dict, int | None, str | None]:
    """Values for the path's ids from the demo, the record's organisation, and which id is
    the record's own. With ``within``, the record must belong to one of those
    organisations (None values when the demo has no such record)."""
    params = re.findall(r"{(\w+)}", path)
    primary = _primary(path, params)
    values: dict[str, object] = {}
    org = None
    if primary:
        sql = f"SELECT id, org FROM ({PRIMARY[primary]}) records WHERE 1 = 1"
        if within is not None:
            sql += f" AND org IN ({', '.join(str(int(o)) for o in within)})"
        if path in NEEDS:
            sql += f" AND {NEEDS[path]}"
        row = db.execute(text(f"SELECT id, org FROM ({sql}) chosen {TRUSTS_FIRST}")).first()
        if row is None and within is not None:
            return {}, None, None
        assert row is not None, f"the demo has no record for {primary} ({path})"
        values[_key(primary)], org = row
    for name, sql in SECONDARY.items():
        if name in params:
            values[name] = db.execute(text(sql), values).scalar()
    for name in params:
        values.setdefault(name, FIXED.get(name))
        if values[name] is None and within is not None:
            return {}, None, None
        assert values[name] is not None, f"no value for {{{name}}} in {path}"
    return values, org, primary


def _key(primary: str) -> str:
    return "slug" if primary.endswith("_slug") else primary


def _url(path: str, values: dict) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path


@pytest.fixture(scope="module")
def matrix(demo_site):
    """Extra accounts of a second trust, a token and jobs, and a client for every viewer."""
    from voices import jobs
    from voices.core import service as core
    from voices.core.models import Account, Organisation
    from voices.demo import DEMO_PASSWORD

    with demo_site.session() as db:
        orgs = {o.ods_code: o.id for o in db.query(Organisation)}
        for viewer in VIEWERS:
            if viewer.email and viewer.email.endswith("@security.example"):
                core.create_account(db, email=viewer.email, password=DEMO_PASSWORD,
                                    role=viewer.role.value, name=viewer.name,
                                    organisation_id=orgs[viewer.org])
        admin = db.query(Account).filter_by(email="admin@voices.example").one()
        core.create_api_token(db, admin, "matrix")
        for code in ("RZ1", "RZ2"):
            jobs.enqueue(db, "security.nothing", {}, organisation_id=orgs[code])
        db.commit()
        scopes = {}
        for viewer in VIEWERS:
            if viewer.org:
                scopes[viewer.name] = core.organisation_scope(db, orgs[viewer.org])
        filled = {}
        for method, path, rule in ROUTES:
            filled[(method, path)] = _fill(db, path) if "{" in path else ({}, None, None)
    clients = {v.name: demo_site.client(v.email) for v in VIEWERS}
    return {"clients": clients, "scopes": scopes, "filled": filled, "site": demo_site}


def _expected(method: str, path: str, rule: Access, viewer: Viewer, org: int | None,
              scopes: dict) -> str:
    if rule.roles is None:
        return "open"
    if viewer.role is None:
        return "sign_in"
    if viewer.role not in rule.roles:
        return "forbidden"
    scope = None if viewer.role is Role.admin else scopes.get(viewer.name)
    if org is not None and scope is not None and org not in scope and path not in SHARED:
        return "not_found"
    return "allowed"


def _check(response, expectation: str, method: str, path: str) -> str | None:
    status = response.status_code
    location = response.headers.get("location", "")
    if status >= 500:
        return f"server error {status}"
    if expectation == "sign_in":
        if path.startswith("/api/") or method != "GET":
            return None if status == 401 else f"expected 401, got {status}"
        return None if status == 303 and location.startswith("/login?next=") else \
            f"expected a redirect to sign in, got {status} {location}"
    if expectation == "forbidden":
        return None if status == 403 else f"expected 403, got {status}"
    if expectation == "not_found":
        return None if status == 404 else f"expected 404 (another organisation's record), " \
                                          f"got {status}"
    if status in (401, 403) or location.startswith("/login"):
        return f"refused ({status} {location})"
    if status == 404 and expectation == "allowed":
        return "not found, but the record is in the account's scope"
    return None


def _send(client, method: str, url: str):
    if method == "GET":
        return client.get(url, follow_redirects=False)
    return client.request(method, url, data={"csrf_token": client.csrf},
                          headers={"x-csrf-token": client.csrf}, follow_redirects=False)


def _viewers_checked(method: str, path: str, rule: Access, org, scopes) -> list[Viewer]:
    """The viewers a route is tried with: all of them for GET; for POST only those who must
    be refused (the shared demo is never changed; the areas' tests make the changes)."""
    return [v for v in VIEWERS if method == "GET" or
            _expected(method, path, rule, v, org, scopes) not in ("allowed", "open")]


@pytest.mark.parametrize("method,path,rule", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_each_account_gets_exactly_what_the_route_allows(matrix, method, path, rule):
    assert rule is not None, f"{method} {path} has no access rule"
    values, org, primary = matrix["filled"][(method, path)]
    url = _url(path, values)
    failures = []
    for viewer in _viewers_checked(method, path, rule, org, matrix["scopes"]):
        expectation = _expected(method, path, rule, viewer, org, matrix["scopes"])
        response = _send(matrix["clients"][viewer.name], method, url)
        problem = _check(response, expectation, method, path)
        if problem:
            failures.append(f"{viewer.name}: {problem}")
    if _made_up_checked(method, rule, primary):
        made_up = _url(path, {**values, _key(primary): "no-such-thing" if primary.endswith(
            "_slug") else 2147483000})
        status = matrix["clients"]["admin"].get(made_up, follow_redirects=False).status_code
        if status != 404:
            failures.append(f"a made-up id ({made_up}) gave {status}, not 404")
    assert not failures, f"{method} {path} ({url}): " + "; ".join(failures)


def _made_up_checked(method: str, rule: Access, primary: str | None) -> bool:
    return bool(primary) and method == "GET" and primary not in ("service_slug", "link_id") \
        and (rule.roles is None or Role.admin in rule.roles)


def test_nothing_was_changed_by_refused_requests(matrix):
    """Every refused POST changes nothing (sessions, jobs and the audit log aside)."""
    from voices.backup import fingerprint

    site = matrix["site"]
    before = _without_logs(fingerprint(site.url))
    for method, path, rule in ROUTES:
        if method == "GET":
            continue
        values, org, _ = matrix["filled"][(method, path)]
        for viewer in _viewers_checked(method, path, rule, org, matrix["scopes"]):
            _send(matrix["clients"][viewer.name], method, _url(path, values))
    assert _without_logs(fingerprint(site.url)) == before


def test_the_matrix_covers_every_route(matrix):
    checks = sum(len(_viewers_checked(m, p, r, matrix["filled"][(m, p)][1], matrix["scopes"]))
                 + _made_up_checked(m, r, matrix["filled"][(m, p)][2]) for m, p, r in ROUTES)
    with_ids = [p for _, p, _ in ROUTES if "{" in p]
    assert len(with_ids) > 50 and checks > 5 * len(ROUTES)
    print(f"\naccess matrix: {len(ROUTES)} routes (method and path), {len(with_ids)} with ids, "
          f"{len(VIEWERS)} kinds of account, {checks} route x account checks")


def _without_logs(prints: dict) -> dict:
    return {t: v for t, v in prints.items() if t not in ("web_session", "audit_event", "job")}


ANALYST_ROUTES = [(m, p, r) for m, p, r in ROUTES
                  if m == "GET" and "{" in p and r is not None and r.roles is not None
                  and Role.analyst in r.roles and p not in SHARED]


@pytest.mark.parametrize("owner,other", [("rz1_analyst", "rz2_analyst"),
                                         ("rz2_analyst", "rz1_analyst")])
def test_a_trusts_analyst_cannot_open_another_trusts_records(matrix, owner, other):
    """For every page and API route with an id that analysts may use: a record of one trust
    opens for that trust's analyst and is not found (404) for the other trust's analyst."""
    scopes = matrix["scopes"]
    only_owner = scopes[owner] - scopes[other]
    failures, checked = [], 0
    with matrix["site"].session() as db:
        records = {(m, p): _fill(db, p, within=only_owner) for m, p, _ in ANALYST_ROUTES}
    for method, path, _ in ANALYST_ROUTES:
        values, org, primary = records[(method, path)]
        if primary is None or org is None:
            continue  # no id of an organisation's record, or the demo has none of this trust
        url = _url(path, values)
        mine = matrix["clients"][owner].get(url, follow_redirects=False)
        theirs = matrix["clients"][other].get(url, follow_redirects=False)
        checked += 1
        if _check(mine, "allowed", method, path):
            failures.append(f"{owner} on {url}: {_check(mine, 'allowed', method, path)}")
        if theirs.status_code != 404:
            failures.append(f"{other} on {url}: {theirs.status_code}, not 404")
    assert not failures, "; ".join(failures[:10])
    assert checked >= 10, f"only {checked} routes had a record of {owner}'s trust"
    print(f"\n{owner}'s records: {checked} routes, refused to {other} on all")


def test_a_route_without_an_access_rule_fails_the_matrix():
    """A page added without declaring who may use it is reported (so the matrix test for
    it fails), whatever router it is on."""
    from fastapi import APIRouter

    app = _app()

    @app.get("/reports/new")
    def new_page():
        return {}

    extra = APIRouter(prefix="/api/v1/extra")

    @extra.post("/things/{thing_id}")
    def new_api(thing_id: int):
        return {"id": thing_id}

    app.include_router(extra)
    missing = sorted((m, p) for m, p, rule in _routes(app) if rule is None)
    assert missing == [("GET", "/reports/new"), ("POST", "/api/v1/extra/things/{thing_id}")]
    rules = {(m, p): r for m, p, r in _routes(app)}
    with pytest.raises(AssertionError, match="GET /reports/new has no access rule"):
        test_each_account_gets_exactly_what_the_route_allows(
            None, "GET", "/reports/new", rules[("GET", "/reports/new")])


def test_a_partner_sees_and_changes_only_their_own_record(fresh_site):
    """A partner's pages, API and data download show their own record and no one else's;
    another partner's credit cannot be answered (not found, nothing changed); staff pages
    about partners are refused."""
    from sqlalchemy import select

    from voices.involve.models import LibraryPerson, Partner

    me = fresh_site.account("partner@voices.example")
    with fresh_site.session() as db:
        mine = db.scalar(select(Partner).where(Partner.account_id == me.id))
        link = db.scalars(select(LibraryPerson).where(LibraryPerson.partner_id != mine.id)
                          .order_by(LibraryPerson.id)).first()
        others = db.scalars(select(Partner).where(Partner.id != mine.id)
                            .order_by(Partner.id).limit(50)).all()
        other = db.get(Partner, link.partner_id)
        before = (link.consent, link.answered_at)
        names = {p.name for p in others} - {mine.name}
    client = fresh_site.client("partner@voices.example")
    pages = [client.get("/involve/me"), client.get("/involve/me/download/file"),
             client.get("/api/v1/involve/me")]
    for page in pages:
        assert page.status_code == 200, page.request.url
        assert mine.name in page.text
        seen = [n for n in names if n in page.text]
        assert not seen, f"{page.request.url} shows other partners: {seen[:3]}"
    assert client.get("/api/v1/involve/me").json()["partner"]["id"] == mine.id

    answer = client.post(f"/involve/me/credits/{link.id}",
                         data={"csrf_token": client.csrf, "agree": "yes"},
                         follow_redirects=False)
    assert answer.status_code == 404
    with fresh_site.session() as db:
        assert (db.get(LibraryPerson, link.id).consent,
                db.get(LibraryPerson, link.id).answered_at) == before
    assert client.get(f"/involve/community/{other.id}", follow_redirects=False) \
        .status_code == 403
