"""A number in a path that no record could have (beyond the databases' 64-bit ids) is
"not found" on every route, never a server error (SQLite's driver cannot even bind it)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from support import DEMO_EMAILS
from voices.web.app import id_path_params

TOO_BIG = [str(2 ** 63), str(-(2 ** 63) - 1), "9" * 30]


def routes_with_ids(app):
    """(path, route) for every route with an integer in its path, in every area."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if hasattr(route, "dependant") and id_path_params(route.dependant):
            yield context.path, route


@pytest.mark.parametrize("value", TOO_BIG)
def test_an_id_beyond_64_bits_is_not_found_on_every_route(demo_site, value):
    app = demo_site.app
    admin = demo_site.client(DEMO_EMAILS["admin"])
    checked = 0
    for template, route in routes_with_ids(app):
        ids = id_path_params(route.dependant)
        path = re.sub(r"{(\w+)(:\w+)?}", lambda m, ids=ids: value if m.group(1) in ids else "x",
                      template)
        for method in sorted(route.methods - {"HEAD"}):
            headers = {"X-CSRF-Token": admin.csrf}
            response = admin.request(method, path, headers=headers)
            assert response.status_code == 404, (method, path, response.status_code,
                                                  response.text[:200])
            checked += 1
    assert checked >= 60  # every id route of every area (63 today), not an empty loop


def test_the_largest_id_a_record_can_have_still_reaches_the_route(demo_site):
    """2**63 - 1 is a possible id: the route itself answers (its own "not found")."""
    admin = demo_site.client(DEMO_EMAILS["admin"])
    response = admin.get(f"/api/v1/jobs/{2 ** 63 - 1}")
    assert response.status_code == 404
    assert "job" in response.json()["error"]["message"]
