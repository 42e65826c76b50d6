"""The security headers, on every kind of response of every area, over HTTP and HTTPS.

tests/web/test_pages.py checks the home page; here every area's pages (as the accounts that
use them), errors, API answers and downloads carry a Content Security Policy that allows no
inline script and no framing, a referrer policy, no-sniffing, and over HTTPS a
Strict-Transport-Security header and Secure cookies. No page holds an inline script (the
policy would block it, so the page would break).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

PAGES = [
    (None, "/"), (None, "/login"), (None, "/f/rz1-emergency-department"), (None, "/feedback"),
    (None, "/involve/join"), (None, "/codesign/c/clearer-letters"), (None, "/no-such-page"),
    (None, "/api/v1/no-such-thing"), (None, "/healthz"),
    ("admin@voices.example", "/admin"), ("admin@voices.example", "/admin/audit"),
    ("analyst@voices.example", "/listen/explorer"), ("analyst@voices.example", "/measure"),
    ("analyst@voices.example", "/access"), ("analyst@voices.example", "/listen/review"),
    ("analyst@voices.example", "/listen/explorer/export"),
    ("analyst@voices.example", "/api/v1/me"),
    ("lead@voices.example", "/involve/community"), ("lead@voices.example", "/codesign"),
    ("lead@voices.example", "/involve/log/export.xlsx"),
    ("partner@voices.example", "/involve/me"),
]


def _check(response, https: bool) -> list[str]:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    problems = []
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
        problems.append("the policy allows inline or evaluated script")
    if directives.get("script-src") != "'self'" or directives.get("object-src") != "'none'":
        problems.append(f"scripts not limited to the site's own files: {csp!r}")
    if directives.get("frame-ancestors") != "'none'" or headers.get("x-frame-options") != "DENY":
        problems.append("the page may be framed")
    if headers.get("referrer-policy") not in ("same-origin", "no-referrer",
                                              "strict-origin-when-cross-origin"):
        problems.append("no referrer policy")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("no nosniff")
    hsts = headers.get("strict-transport-security", "")
    if https and not re.match(r"max-age=(\d+)", hsts or ""):
        problems.append("no HSTS over HTTPS")
    if https and int(re.match(r"max-age=(\d+)", hsts).group(1)) < 31536000:
        problems.append("HSTS shorter than a year")
    if not https and hsts:
        problems.append("HSTS over plain HTTP")
    if "text/html" in headers.get("content-type", ""):
        for tag in re.findall(r"<script\b[^>]*>", response.text):
            if "src=" not in tag:
                problems.append(f"inline script {tag}")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", response.text):
            problems.append("an inline event handler (onclick=...)")
    return problems


@pytest.fixture(scope="module")
def https_app(demo_site):
    from voices.web.app import create_app

    settings = demo_site.settings.model_copy(update={"https": True})
    return create_app(settings, demo_site.database)


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_kind_of_response_has_the_security_headers(demo_site, https_app, https):
    failures = []
    for email, url in PAGES:
        client = demo_site.client(email)
        if https:
            cookies = client.cookies
            client = TestClient(https_app, base_url="https://testserver",
                                raise_server_exceptions=False)
            client.cookies = cookies
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        failures += [f"{url}: {p}" for p in _check(response, https)]
    assert not failures, "; ".join(failures)


def test_cookies_are_secure_over_https(demo_site, https_app):
    from support import csrf_from
    from voices.demo import DEMO_PASSWORD

    client = TestClient(https_app, base_url="https://testserver")
    page = client.get("/login")
    signed_in = client.post("/login", data={
        "email": "admin@voices.example", "password": DEMO_PASSWORD,
        "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    cookies = [v for k, v in signed_in.headers.multi_items() if k == "set-cookie"]
    assert cookies, "signing in set no cookie"
    for cookie in cookies:
        lowered = cookie.lower()
        assert "secure" in lowered and "httponly" in lowered and "samesite=lax" in lowered, \
            cookie


def test_the_api_explorer_is_not_framed_either(demo_site):
    response = demo_site.client().get("/docs")
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and response.headers["x-frame-options"] == "DENY"
