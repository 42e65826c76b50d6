"""The web shell in a real browser: sign in, admin, sign out; axe on the shared pages."""

from __future__ import annotations

import pytest

from browser_support import assert_no_axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_sign_in_see_admin_and_sign_out(page):
    sign_in(page, "admin@voices.example")
    assert page.url.endswith("/admin")
    assert page.get_by_role("heading", level=1).inner_text() == "Admin"
    assert page.get_by_role("cell", name="RZ1", exact=True).count() >= 1
    page.get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    assert "/login" in page.url
    assert "You have signed out" in page.content()
    page.goto("/admin")
    assert "/login" in page.url


def test_the_skip_link_is_first_and_the_keyboard_reaches_main_content(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#maincontent"


@pytest.mark.parametrize("path", ["/", "/login", "/accessibility", "/privacy",
                                  "/no-such-page"])
def test_public_pages_have_no_accessibility_violations(page, path):
    page.goto(path)
    assert_no_axe_violations(page)


def test_login_errors_have_no_accessibility_violations(page):
    page.goto("/login")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").count() >= 1
    assert_no_axe_violations(page)


@pytest.mark.parametrize("path", ["/", "/admin", "/admin/organisations/new",
                                  "/admin/accounts/new", "/admin/audit"])
def test_admin_pages_have_no_accessibility_violations(page, path):
    sign_in(page, "admin@voices.example")
    page.goto(path)
    assert_no_axe_violations(page)


def test_forbidden_page_has_no_accessibility_violations(page):
    sign_in(page, "partner@voices.example")
    response = page.goto("/admin")
    assert response.status == 403
    assert_no_axe_violations(page)
