"""Signing in and out, sessions, CSRF and the login throttle, through the real pages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from support import DEMO_EMAILS, csrf_from, sign_in
from voices.core.models import Account, WebSession
from voices.demo import DEMO_PASSWORD


def test_sign_in_see_admin_and_sign_out(client, demo_core):
    page = sign_in(client, DEMO_EMAILS["admin"])
    assert page.status_code == 200 and page.url.path == "/admin"
    assert "<h1>Admin</h1>" in page.text
    cookie = client.cookies.get("voices_session")
    assert cookie
    logout_page = client.get("/logout")
    done = client.post("/logout", data={"csrf_token": csrf_from(logout_page.text)},
                       follow_redirects=True)
    assert "You have signed out" in done.text
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_session_cookie_is_httponly_samesite_and_rotated(client, demo_core, database):
    page = client.get("/login")
    response = client.post("/login", data={"email": DEMO_EMAILS["analyst"],
                                            "password": DEMO_PASSWORD,
                                            "csrf_token": csrf_from(page.text)},
                           follow_redirects=False)
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" not in header
    first = client.cookies.get("voices_session")
    sign_in(client, DEMO_EMAILS["analyst"])
    second = client.cookies.get("voices_session")
    assert first != second
    with database.sessionmaker() as s:  # the old session was ended, not left behind
        assert s.scalar(select(func.count()).select_from(WebSession)) == 1


def test_secure_cookie_and_hsts_over_https(settings, database, demo_core):
    from fastapi.testclient import TestClient

    from voices.web.app import create_app

    settings.https = True
    with TestClient(create_app(settings, database), base_url="https://testserver") as c:
        page = c.get("/login")
        assert "max-age" in page.headers["strict-transport-security"]
        response = c.post("/login", data={"email": DEMO_EMAILS["admin"],
                                          "password": DEMO_PASSWORD,
                                          "csrf_token": csrf_from(page.text)},
                          follow_redirects=False)
        assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_shows_an_error_summary_and_signs_no_one_in(client, demo_core):
    page = client.get("/login")
    response = client.post("/login", data={"email": DEMO_EMAILS["admin"],
                                            "password": "not-the-right-one",
                                            "csrf_token": csrf_from(page.text)})
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert "The email address or password is not right" in response.text
    assert 'href="#email"' in response.text and "<title>Error:" in response.text
    assert "Traceback" not in response.text
    assert client.cookies.get("voices_session") is None


def test_a_forged_csrf_token_is_refused_and_changes_nothing(client, demo_core, database):
    client.get("/login")
    response = client.post("/login", data={"email": DEMO_EMAILS["admin"],
                                            "password": DEMO_PASSWORD,
                                            "csrf_token": "forged"})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert client.cookies.get("voices_session") is None
    sign_in(client, DEMO_EMAILS["admin"])
    before = _count_orgs(database)
    response = client.post("/admin/organisations/new", data={
        "ods_code": "RZ8", "name": "Forged", "kind": "trust", "csrf_token": "x" * 64})
    assert response.status_code == 403
    api = client.post("/api/v1/organisations", json={"ods_code": "RZ8", "name": "Forged"})
    assert api.status_code == 403 and api.json()["error"]["code"] == "csrf_failed"
    assert _count_orgs(database) == before


def _count_orgs(database):
    from voices.core.models import Organisation

    with database.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(Organisation))


def test_an_expired_session_asks_to_sign_in_again(client, demo_core, database):
    sign_in(client, DEMO_EMAILS["analyst"])
    with database.session() as s:
        s.execute(update(WebSession).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    response = client.get("/admin", follow_redirects=True)
    assert response.url.path == "/login"
    assert "Your session has ended. Sign in again." in response.text
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.json()["error"]["code"] in {"session_expired",
                                                                       "sign_in_required"}


def test_repeated_failures_lock_the_account(client, demo_core, database):
    for _ in range(5):
        page = client.get("/login")
        client.post("/login", data={"email": DEMO_EMAILS["partner"], "password": "wrong-guess-00",
                                    "csrf_token": csrf_from(page.text)})
    response = sign_in(client, DEMO_EMAILS["partner"])
    assert "locked" in response.text
    with database.sessionmaker() as s:
        account = s.scalar(select(Account).where(Account.email == DEMO_EMAILS["partner"]))
        assert account.locked_until is not None


def test_sign_in_attempts_are_throttled_per_client(client, demo_core):
    statuses = []
    for _ in range(12):
        page = client.get("/login")
        statuses.append(client.post("/login", data={
            "email": "nobody@voices.example", "password": "wrong-guess-00",
            "csrf_token": csrf_from(page.text)}).status_code)
    assert statuses[:10] == [422] * 10 and statuses[-1] == 429


def test_one_throttled_email_does_not_block_colleagues_at_the_same_address(client, demo_core):
    for _ in range(11):
        page = client.get("/login")
        client.post("/login", data={"email": "nobody@voices.example", "password": "wrong-00",
                                    "csrf_token": csrf_from(page.text)})
    response = sign_in(client, DEMO_EMAILS["analyst"])
    assert response.status_code == 200 and "Sign out" in response.text


def test_next_only_follows_local_paths(client, demo_core):
    page = client.get("/login?next=https://evil.example/")
    response = client.post("/login", data={"email": DEMO_EMAILS["admin"],
                                            "password": DEMO_PASSWORD, "next": "//evil.example",
                                            "csrf_token": csrf_from(page.text)},
                           follow_redirects=False)
    assert response.headers["location"] == "/admin"
