"""Who may use each listen page: the intended roles, declared once per route."""

from __future__ import annotations

from fastapi.routing import iter_route_contexts

from voices.web.access import Access

ROLES = {"anonymous", "admin", "analyst", "involvement_lead", "partner"}
ANALYSTS = {"admin", "analyst"}
STAFF = {"admin", "analyst", "involvement_lead"}
INTENDED = {
    "/feedback": ROLES, "/f/{slug}": ROLES, "/f/{slug}/{step}": ROLES,
    "/listen": STAFF, "/listen/services": STAFF, "/listen/services/{slug}/qr.{kind}": STAFF,
    "/listen/review.js": ROLES,
    "/listen/explorer": ANALYSTS, "/listen/explorer/export": ANALYSTS,
    "/listen/review": ANALYSTS, "/listen/review/{comment_id}": ANALYSTS,
    "/listen/comments/{comment_id}": ANALYSTS, "/listen/comments/{comment_id}/reply": ANALYSTS,
    "/listen/comments/{comment_id}/original": ANALYSTS,
    "/listen/imports": ANALYSTS, "/listen/mappings": ANALYSTS,
    "/listen/mappings/new": ANALYSTS, "/listen/mappings/{mapping_id}": ANALYSTS,
    "/listen/models": ANALYSTS, "/listen/classify": ANALYSTS,
    "/api/v1/feedback": ANALYSTS, "/api/v1/listen/comments": ANALYSTS,
}


def _rules(route) -> list[Access]:
    found = []

    def walk(dependant):
        for dep in dependant.dependencies:
            if isinstance(dep.call, Access):
                found.append(dep.call)
            walk(dep)

    walk(route.dependant)
    return found


def test_every_listen_route_allows_exactly_the_intended_roles(sqlite_app):
    seen = set()
    for ctx in iter_route_contexts(sqlite_app.routes):
        path = ctx.path
        if path not in INTENDED and not path.startswith(("/listen", "/f/", "/api/v1/listen")):
            continue
        rules = {id(r): r for r in _rules(ctx.original_route)}
        assert len(rules) == 1, f"{path} has {len(rules)} access rules"
        rule = next(iter(rules.values()))
        allowed = ROLES if rule.roles is None else {r.value for r in rule.roles}
        assert path in INTENDED, f"{path} is not in the intended table"
        assert allowed == INTENDED[path], f"{path}: {allowed} != {INTENDED[path]}"
        seen.add(path)
    assert seen == set(INTENDED)
