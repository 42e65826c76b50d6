"""Involve in a real browser: joining by keyboard alone, axe on the public, partner and lead
pages (with and without errors)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_support import assert_no_axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _focus_and_type(page, selector: str, text: str) -> None:
    page.focus(selector)
    page.keyboard.type(text)


def _press_continue(page, selector: str = "main button.nhsuk-button") -> None:
    """Move the focus to the form's button and press Enter (no mouse)."""
    page.focus(selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_joining_works_with_the_keyboard_alone_and_every_page_passes_axe(page):
    page.goto("/involve/join")
    assert_no_axe_violations(page)
    _press_continue(page)
    checked = set()
    # a wrong answer first: the error page must pass axe too
    assert page.url.endswith("/involve/join/q/name")
    _press_continue(page)
    assert page.get_by_role("alert").count() >= 1
    assert_no_axe_violations(page)
    typed = {"name": "Kit Keyboard", "email": "kit.keyboard@example.org",
             "adjustments": "", "phone": "07700 900123"}
    ticks = {"conditions": "#conditions", "services_used": "#services_used",
             "interests": "#interests", "formats": "#formats", "venue_needs": "#venue_needs",
             "times": "#times"}
    radios = {"contact_method": "#contact_method-3", "caring_role": "#caring_role",
              "availability": "#availability-2", "consent_contact": "#consent_contact",
              "consent_matching": "#consent_matching", "consent_equality": "#consent_equality",
              "age_band": "#age_band", "sex": "#sex", "ethnic_category": "#ethnic_category",
              "disability": "#disability", "carer": "#carer"}
    for _ in range(30):
        match = re.search(r"/involve/join/q/(\w+)", page.url)
        if not match:
            break
        key = match.group(1)
        if key not in checked:
            assert_no_axe_violations(page)
            checked.add(key)
        if key in typed:
            _focus_and_type(page, f"#{key}", typed[key])
        elif key in ticks:
            page.focus(ticks[key])
            page.keyboard.press("Space")
        elif key in radios:
            page.focus(radios[key])
            page.keyboard.press("Space")
        elif key == "area":
            _focus_and_type(page, "#area", "NS3 1AA")
        _press_continue(page)
    assert page.url.endswith("/involve/join/check"), page.url
    assert {"age_band", "area", "phone"} <= checked
    assert_no_axe_violations(page)
    assert "Kit Keyboard" in page.content() and "NS3" in page.content()
    _press_continue(page, "main a.nhsuk-button")
    _focus_and_type(page, "#password", "short")
    _press_continue(page)
    assert page.get_by_role("alert").count() >= 1
    assert_no_axe_violations(page)
    _focus_and_type(page, "#password", "quiet violet harbour lamp")
    _press_continue(page)
    assert page.url.endswith("/involve/join/done")
    assert_no_axe_violations(page)
    page.goto("/involve/me")
    assert "Kit Keyboard" in page.content()


PARTNER_PAGES = ["/involve/me", "/involve/opportunities", "/involve/me/download",
                 "/involve/me/erase", "/involve/library", "/involve/me/change/times"]
LEAD_PAGES = ["/involve", "/involve/community", "/involve/community/makeup",
              "/involve/community/population", "/involve/manage", "/involve/manage/new",
              "/involve/manage/1", "/involve/log", "/involve/log/new", "/involve/library",
              "/involve/library/1", "/involve/library/new", "/involve/community/1",
              "/involve/panels", "/involve/panels/new", "/involve/panels/1"]


def _check_pages(page, paths: list[str]) -> None:
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert page.get_by_role("heading", level=1).count() == 1, path
        assert_no_axe_violations(page)


def test_partner_pages_have_no_accessibility_violations(page):
    sign_in(page, "partner@voices.example")
    _check_pages(page, PARTNER_PAGES)


def test_a_partner_says_they_are_interested(page):
    sign_in(page, "partner@voices.example")
    page.goto("/involve/opportunities")
    page.get_by_role("link", name="Workshop participant").click()
    assert_no_axe_violations(page)
    page.get_by_label("Tell us why you are interested (optional)").fill("I use this clinic")
    page.get_by_role("button", name="I am interested").click()
    assert "The involvement team will be in touch" in page.content()
    assert_no_axe_violations(page)


@pytest.mark.parametrize("path", ["/involve/erased", "/involve/panels/1/public"])
def test_public_involve_pages_have_no_accessibility_violations(page, path):
    page.goto(path)
    assert_no_axe_violations(page)


def test_lead_pages_have_no_accessibility_violations(page):
    sign_in(page, "lead@voices.example")
    _check_pages(page, LEAD_PAGES)


def test_lead_form_errors_have_no_accessibility_violations(page):
    sign_in(page, "lead@voices.example")
    page.goto("/involve/manage/new")
    page.get_by_role("button", name="Save opportunity").click()
    assert page.get_by_role("alert").count() >= 1
    assert_no_axe_violations(page)
    page.goto("/involve/log/new")
    page.get_by_label("Hours").fill("lots")
    page.get_by_role("button", name="Add entry").click()
    assert page.get_by_role("alert").count() >= 1
    assert_no_axe_violations(page)
    page.goto("/involve/log")
    page.get_by_label("From").fill("next week")
    page.get_by_role("button", name="Download CSV").click()
    assert page.get_by_role("alert").count() >= 1
    assert_no_axe_violations(page)


def test_quotas_are_checked_as_they_are_typed(page):
    sign_in(page, "lead@voices.example")
    page.goto("/involve/panels/new")
    page.get_by_label("Name of the panel").fill("Live check panel")
    page.get_by_label("Opportunity", exact=True).select_option(
        label="Member of the Check and Challenge group, Planned care recovery programme")
    page.get_by_role("button", name="Continue").click()
    assert re.search(r"/involve/panels/\d+$", page.url) and "These quotas work" in page.content()
    address = page.url
    page.focus("#min-0")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("99")
    page.keyboard.press("Tab")                         # leaving the field checks the quotas
    expect(page.locator("#feasibility")).to_contain_text("cannot all be met")
    assert page.url == address                         # checked in place, nothing saved
    assert_no_axe_violations(page)
    page.reload()
    assert page.input_value("#min-0") != "99" and "These quotas work" in page.content()
