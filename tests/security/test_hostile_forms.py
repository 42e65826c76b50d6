"""Every form of the site, public and staff, takes hostile text without harm.

The forms are found the way a person finds them: each kind of account walks the full demo
from the home page (and through the public step-by-step journeys: feedback, joining the
partner community, joining a conversation) and every POST form it is offered is recorded.
Each form is then sent with hostile text (HTML and script, SQL fragments, a 1 MB string,
control characters, right-to-left overrides, a spreadsheet formula) in its free-text
fields, and again with every field tampered with (hidden fields and choices too). For each
answer: no server error; no page shows the hostile markup raw (so nothing can run); a
refusal is a clean 4xx with a message next to the field and adds or removes no row. At the end the pages that show what was stored are read again, by every account, to
check that it is shown escaped.

A new form that the walk does not reach fails ``test_every_form_is_reached``.
"""

from __future__ import annotations

import pytest
from fastapi.routing import iter_route_contexts

from hostile_support import PAYLOADS, Form, crawl, raw_markers, read_page, route_matcher

pytestmark = pytest.mark.xdist_group("hostile_forms")

ACCOUNTS = {
    "anonymous": None,
    "admin": "admin@voices.example",
    "analyst": "analyst@voices.example",
    "trust_analyst": "trust.analyst@voices.example",
    "lead": "lead@voices.example",
    "partner": "partner@voices.example",
}
# The accounts that walk the site (the administrator may use every staff page; the others
# see only the public pages or their own).
WALKERS = ("anonymous", "admin", "partner")
START = ["/", "/feedback", "/codesign/join", "/admin", "/listen", "/measure",
         "/access", "/involve", "/codesign", "/involve/me", "/involve/panels",
         "/measure/scorecard/edit", "/involve/community", "/involve/manage/1",
         "/codesign/conversations/1/results", "/codesign/conversations/1/moderation"]

# Journeys gone through one step at a time (each step's form appears only after the one
# before is answered), each by a new visitor (or the account named).
JOURNEYS = [(None, ["/f/rz1-emergency-department"]),
            (None, ["/involve/join", "/involve/join/password"]),
            (None, ["/codesign/c/clearer-letters", "/codesign/c/clearer-letters/statements/new"]),
            ("lead", ["/involve/panels/new"])]

# POST routes that are not forms of a page, with the reason.
NOT_FORMS = {
    "/logout": "no text, only signs out (CSRF-checked elsewhere)",
    "/admin/tokens/{token_id}/revoke": "a button without fields; the demo has no token",
    "/involve/me/credits/{link_id}": "a yes/no button shown only when a partner is credited",
    "/listen/comments/{comment_id}/original": "a button without fields",
    "/involve/panels/{panel_id}/check": "shown once a panel's quotas are set (no text)",
    "/involve/panels/{panel_id}/draw": "shown only after the job queue has run a panel",
    "/involve/panels/{panel_id}/publish": "shown only after the job queue has run a panel",
}
# Hidden fields and choices are tampered with these (the others are free text only).
TAMPERED = ("html", "control", "sql")
# Forms sent last: they close or erase what other forms are on.
LAST = ("/involve/me/erase", "/codesign/conversations/{conversation_id}/close",
        "/involve/manage/{opportunity_id}/close")


def _routes() -> list[tuple[str, set[str]]]:
    """Every route of the app: its path and methods."""
    from voices.settings import Settings
    from voices.web.app import create_app

    app = create_app(Settings(database_url="sqlite://", secret_key="x", run_jobs_in_app=False,
                              _env_file=None))
    return [(ctx.path, set(ctx.methods or ())) for ctx in iter_route_contexts(app.routes)]


ROUTES = _routes()
POST_ROUTES = sorted({p for p, methods in ROUTES if "POST" in methods and
                      not p.startswith("/api/")}, key=lambda p: (p in LAST, p))
FORM_ROUTES = [p for p in POST_ROUTES if p not in NOT_FORMS]
page_route = route_matcher([p for p, methods in ROUTES if "GET" in methods])
form_route = route_matcher(POST_ROUTES)


def _journey(client, start: str, found: dict) -> None:
    """Answer each step of a journey plainly, recording the forms on the way."""
    url = start
    for _ in range(40):
        forms, _links = read_page(client.get(url).text)
        if not forms:
            return
        for form in forms:
            found.setdefault(form_route(form.action or url), (url, form))
        form = forms[0]
        answer = client.post(form.action or url, data=form.data(None), follow_redirects=False)
        location = answer.headers.get("location")
        if answer.status_code != 303 or not location or location == url:
            return
        url = location


@pytest.fixture(scope="module")
def site(demo_site):
    """The demo, and for each form: who was offered it, on which page, and the form."""
    where: dict[str, tuple[object, str, Form]] = {}
    clients = {name: demo_site.client(email) for name, email in ACCOUNTS.items()}
    for name in WALKERS:
        for route, (url, form) in crawl(clients[name], START, page_route, form_route,
                                        per_route=1).items():
            where.setdefault(route, (clients[name], url, form))
    for account, starts in JOURNEYS:
        client = demo_site.client(ACCOUNTS[account] if account else None)
        found: dict = {}
        for start in starts:
            _journey(client, start, found)
        for route, (url, form) in found.items():
            where.setdefault(route, (client, url, form))
    return {"site": demo_site, "where": where, "clients": clients, "sent": set()}


def test_every_form_is_reached(site):
    missing = [p for p in FORM_ROUTES if p not in site["where"]]
    assert not missing, f"forms the walk never reached (add a start page or a journey): " \
                        f"{missing}"
    cases = len(FORM_ROUTES) * (len(PAYLOADS) + len(TAMPERED))
    print(f"\nhostile forms: {len(FORM_ROUTES)} forms, {cases} hostile submissions")


def _counts(site) -> dict:
    """How many rows each table holds (sessions, jobs and the audit log aside)."""
    from sqlalchemy import inspect, text

    with site.database.engine.connect() as conn:
        tables = [t for t in inspect(conn).get_table_names()
                  if t not in ("web_session", "audit_event", "job")]
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}


def _problems(response, what: str) -> list[str]:
    out = []
    if response.status_code >= 500:
        out.append(f"{what}: server error {response.status_code}")
    shown = raw_markers(response.text)
    if shown:
        out.append(f"{what}: shows {shown} unescaped")
    return out


@pytest.mark.parametrize("route", FORM_ROUTES)
def test_hostile_text_in_every_form(site, route):
    if route not in site["where"]:
        pytest.skip(f"{route} was not reached (see test_every_form_is_reached)")
    client, url, first = site["where"][route]
    failures: list[str] = []
    for kind, payload in PAYLOADS.items():
        for tamper in (False, True) if kind in TAMPERED else (False,):
            what = f"{kind}{' (tampered)' if tamper else ''}"
            # the form as the page shows it now, or as it was first offered (a one-off
            # form, such as joining, is still sent again, as an attacker would)
            form = next((f for f in read_page(client.get(url).text)[0]
                         if form_route(f.action or url) == route), first)
            before = _counts(site["site"])
            answer = client.post(form.action or url, data=form.data(payload, tamper=tamper),
                                 follow_redirects=False)
            failures += _problems(answer, what)
            status = answer.status_code
            if 400 <= status < 500:
                failures += _refusal_problems(site, answer, before, what, tamper)
            elif status in (302, 303) and answer.headers.get("location", "").startswith("/"):
                failures += _problems(client.get(answer.headers["location"]), what + " then")
    site["sent"].add(route)
    assert not failures, f"POST {route} (form on {url}): " + "; ".join(failures)


def _refusal_problems(site, answer, before, what, tamper) -> list[str]:
    """A refusal says what is wrong (beside the field, when only the free text was
    hostile: a tampered hidden field or choice may get the general "not right" page) and
    adds or removes no row."""
    out = []
    shown = answer.text
    if not tamper and answer.status_code == 422 and "text/html" in answer.headers.get(
            "content-type", "") and "nhsuk-error-summary" not in shown and \
            "nhsuk-error-message" not in shown:
        out.append(f"{what}: refused ({answer.status_code}) without saying what is wrong")
    if _counts(site["site"]) != before:
        out.append(f"{what}: refused ({answer.status_code}) but rows were added or removed")
    return out


def test_what_was_stored_is_shown_escaped_everywhere(site):
    """After every form took hostile text, the pages that show what was stored (each form's
    own page, and the lists and overviews of every account) show none of it raw."""
    failures: list[str] = []
    for route in FORM_ROUTES:  # forms whose test ran in another process (pytest -n)
        if route in site["where"] and route not in site["sent"] and route not in LAST:
            client, url, form = site["where"][route]
            client.post(form.action or url, data=form.data(PAYLOADS["html"]))
    pages = {(id(client), url): client for client, url, _ in site["where"].values()}
    for (_key, url), client in pages.items():
        failures += _problems(client.get(url), url)
    for name, client in site["clients"].items():
        for url in START:
            failures += _problems(client.get(url), f"{name} {url}")
    assert not failures, "; ".join(sorted(set(failures))[:20])
