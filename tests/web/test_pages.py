"""The shared pages, errors and headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from support import DEMO_EMAILS, csrf_from, sign_in


def test_home_page_says_what_voices_is_and_works_without_javascript(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "work with the people who use" in page.text
    assert 'href="#maincontent"' in page.text and 'id="maincontent"' in page.text
    for link in ("/accessibility", "/privacy"):
        assert f'href="{link}"' in page.text
        assert client.get(link).status_code == 200
    assert "<noscript" not in page.text  # nothing hides behind JavaScript
    assert 'href="/assets/nhsuk-frontend.min.css"' in page.text


def test_assets_are_served_by_the_app_not_a_cdn(client):
    page = client.get("/")
    assert "https://" not in "".join(
        line for line in page.text.splitlines() if "<script" in line or "<link" in line)
    css = client.get("/assets/nhsuk-frontend.min.css")
    assert css.status_code == 200 and "assets.nhs.uk" not in css.text
    assert client.get("/assets/htmx.min.js").status_code == 200
    assert client.get("/assets/images/favicon.svg").status_code == 200


def test_security_headers_are_sent(client):
    headers = client.get("/").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in headers  # only over HTTPS


def test_pages_have_no_inline_script(client, demo_core):
    sign_in(client, DEMO_EMAILS["admin"])
    for path in ("/", "/admin", "/login", "/nope"):
        text = client.get(path).text
        for chunk in text.split("<script")[1:]:
            assert chunk.split(">", 1)[0].strip().startswith("src=") or " src=" in \
                chunk.split(">", 1)[0], f"inline script on {path}"


def test_healthz_checks_the_database(client):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_not_found_is_a_friendly_page_and_json_for_the_api(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "Page not found" in page.text
    assert "Go to the home page" in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_a_crash_shows_a_friendly_page_without_a_stack_trace(app, caplog):
    from voices.web.access import PUBLIC

    from fastapi import Depends

    @app.get("/boom-test", dependencies=[Depends(PUBLIC)])
    def boom():
        raise RuntimeError("secret internals: NHS number 9434765919")

    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/boom-test")
        assert page.status_code == 500
        assert "Sorry, there is a problem with the service" in page.text
        assert "Traceback" not in page.text and "9434765919" not in page.text
        api = c.get("/boom-test", headers={"accept": "application/json"})
        assert api.json()["error"]["code"] == "server_error"


def test_forbidden_is_a_friendly_page(client, demo_core):
    sign_in(client, DEMO_EMAILS["partner"])
    page = client.get("/admin")
    assert page.status_code == 403
    assert "You do not have permission to see this page" in page.text


@pytest.mark.parametrize("ods,message", [("NOTODS", "is not an ODS code"),
                                         ("", "Enter an ODS code")])
def test_a_malformed_ods_code_is_shown_beside_the_field(client, demo_core, database, ods,
                                                        message):
    sign_in(client, DEMO_EMAILS["admin"])
    form = client.get("/admin/organisations/new")
    response = client.post("/admin/organisations/new", data={
        "ods_code": ods, "name": "Test", "kind": "trust", "parent_id": "",
        "csrf_token": csrf_from(form.text)})
    assert response.status_code == 422
    assert "There is a problem" in response.text and 'href="#ods_code"' in response.text
    assert message in response.text
    assert 'id="ods_code-error"' in response.text


def test_admin_adds_an_organisation_service_and_account(client, demo_core):
    sign_in(client, DEMO_EMAILS["admin"])
    token = csrf_from(client.get("/admin/organisations/new").text)
    done = client.post("/admin/organisations/new", data={
        "ods_code": "rz7", "name": "New Trust", "kind": "trust", "parent_id": "",
        "csrf_token": token}, follow_redirects=True)
    assert "Organisation added" in done.text and "RZ7" in done.text
    page = client.get("/admin/services/new")
    org_id = page.text.split('New Trust (RZ7)')[0].rsplit('value="', 1)[1].split('"')[0]
    done = client.post("/admin/services/new", data={
        "organisation_id": org_id, "name": "Ward 1", "service_type": "inpatient",
        "treatment_function_code": "110", "slug": "", "csrf_token": token},
        follow_redirects=True)
    assert "Service added" in done.text and "/f/rz7-ward-1" in done.text
    dup = client.post("/admin/accounts/new", data={
        "email": DEMO_EMAILS["analyst"], "name": "", "role": "analyst", "organisation_id": "",
        "password": "harbour-lantern-meadow", "csrf_token": token})
    assert dup.status_code == 422
    assert "An account with this email address already exists" in dup.text
    weak = client.post("/admin/accounts/new", data={
        "email": "new@voices.example", "name": "", "role": "analyst", "organisation_id": "",
        "password": "password1234", "csrf_token": token})
    assert weak.status_code == 422 and "too common" in weak.text
