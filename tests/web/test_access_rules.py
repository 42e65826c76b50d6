"""Every route declares who may use it, and the app enforces exactly that for every role."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from support import DEMO_EMAILS, sign_in
from voices.web.access import Access

ROLES = ["anonymous", "admin", "analyst", "involvement_lead", "partner"]

# The design's intent for the core routes (areas add their own tables in their tests).
EXPECTED = {
    "/": set(ROLES), "/login": set(ROLES), "/accessibility": set(ROLES),
    "/privacy": set(ROLES), "/healthz": set(ROLES),
    "/logout": {"admin", "analyst", "involvement_lead", "partner"},
    "/admin": {"admin"}, "/admin/audit": {"admin"}, "/admin/organisations/new": {"admin"},
    "/admin/services/new": {"admin"}, "/admin/accounts/new": {"admin"},
    "/api/v1/me": {"admin", "analyst", "involvement_lead", "partner"},
    "/api/v1/organisations": {"admin", "analyst", "involvement_lead"},
    "/api/v1/services": {"admin", "analyst", "involvement_lead"},
}
FRAMEWORK = {"/api/v1/openapi.json", "/docs", "/docs/oauth2-redirect"}


def _access_rules(route) -> list[Access]:
    found = []

    def walk(dependant):
        for dep in dependant.dependencies:
            if isinstance(dep.call, Access):
                found.append(dep.call)
            walk(dep)

    walk(route.dependant)
    return found


def routes_with_rules(app):
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not hasattr(route, "dependant"):
            continue
        yield ctx.path, sorted(ctx.methods or []), _access_rules(route)


def test_every_route_has_exactly_one_access_rule(app):
    missing, ambiguous = [], []
    for path, methods, rules in routes_with_rules(app):
        if path in FRAMEWORK:
            continue
        distinct = {id(r) for r in rules}
        if not distinct:
            missing.append(f"{methods} {path}")
        elif len(distinct) > 1:
            ambiguous.append(f"{methods} {path}: {rules}")
    assert not missing, "routes without an access rule: " + ", ".join(missing)
    assert not ambiguous, "routes with several access rules: " + ", ".join(ambiguous)


def test_core_routes_allow_exactly_the_intended_roles(app):
    declared = {path: rules[0] for path, methods, rules in routes_with_rules(app)
                if "GET" in methods and rules}
    for path, roles in EXPECTED.items():
        rule = declared[path]
        allowed = set(ROLES) if rule.roles is None else {r.value for r in rule.roles}
        assert allowed == roles, f"{path}: declared {allowed}, intended {roles}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_its_rule_allows(client, demo_core, app, role):
    if role != "anonymous":
        sign_in(client, DEMO_EMAILS[role])
    checked = 0
    for path, methods, rules in routes_with_rules(app):
        if "GET" not in methods or "{" in path or path in FRAMEWORK or not rules:
            continue
        if path == "/logout" and role != "anonymous":
            continue  # its page is harmless, but keep the session for the other routes
        rule = rules[0]
        allowed = rule.roles is None or (role != "anonymous" and
                                         role in {r.value for r in rule.roles})
        response = client.get(path, follow_redirects=False)
        if allowed:
            assert response.status_code in (200, 303, 307) or \
                (response.status_code == 404 and path.startswith("/api")), \
                f"{role} refused {path}: {response.status_code}"
            if response.status_code == 303:
                assert not response.headers["location"].startswith("/login"), path
        elif role == "anonymous":
            if path.startswith("/api/"):
                assert response.status_code == 401, path
            else:
                assert response.status_code == 303, path
                assert response.headers["location"].startswith("/login?next="), path
        else:
            assert response.status_code == 403, f"{role} was let into {path}"
        checked += 1
    assert checked >= len(EXPECTED) - 1


def test_an_analyst_sees_only_their_organisations(client, demo_core):
    sign_in(client, DEMO_EMAILS["trust_analyst"])
    codes = {o["ods_code"] for o in client.get("/api/v1/organisations").json()}
    assert codes == {"RZ1"}
    services = client.get("/api/v1/services").json()
    assert services and {s["organisation_ods_code"] for s in services} == {"RZ1"}
    client.cookies.clear()
    sign_in(client, DEMO_EMAILS["analyst"])  # ICB analyst: the ICB and its trusts
    codes = {o["ods_code"] for o in client.get("/api/v1/organisations").json()}
    assert codes == {"QZ9", "RZ1", "RZ2", "RZ3"}
    assert re.fullmatch(r"[A-Z0-9]+", "QZ9")
