"""Co-design in a real browser: joining and voting with JavaScript (htmx, no reload) and
without it, the keyboard path, and axe on the public and staff pages."""

from __future__ import annotations

import re

import pytest

from browser_support import assert_no_axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LETTERS = "/codesign/c/clearer-letters"
QUESTION = "What would make our outpatient letters easier to understand?"


def _start(page) -> None:
    """Join the demo's open conversation and skip the questions about you."""
    page.goto("/codesign/join")
    page.get_by_role("link", name=QUESTION).click()
    page.get_by_role("button", name="Start").click()
    for _ in range(2):
        page.get_by_role("button", name="Skip this question").click()
    assert page.url.endswith(f"{LETTERS}/vote")


def _statement(page) -> str:
    return page.locator("#statement-heading").inner_text()


def test_with_javascript_a_vote_swaps_in_the_next_statement_without_a_reload(page):
    _start(page)
    assert_no_axe_violations(page)
    page.evaluate("window.voicesMarker = 'same page'")
    first = _statement(page)
    page.get_by_role("button", name="Agree", exact=True).click()
    page.get_by_role("status").filter(has_text="Your vote is saved").wait_for()
    assert _statement(page) != first
    assert page.evaluate("window.voicesMarker") == "same page"          # no reload
    assert page.evaluate("document.activeElement.id") == "statement-heading"
    assert_no_axe_violations(page)
    second = _statement(page)
    page.get_by_role("button", name="I don't understand this").click()
    page.wait_for_function("(text) => document.querySelector('#statement-heading')"
                           ".innerText !== text", arg=second)
    page.get_by_role("link", name="Change your last vote").click()
    assert "You said: I don't understand this" in page.locator("#voting").inner_text()


def test_without_javascript_each_vote_is_a_plain_form_and_a_new_page(browser, live_server):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        _start(page)
        first = _statement(page)
        with page.expect_navigation():
            page.get_by_role("button", name="Disagree").click()
        assert "saved=1" in page.url and "Your vote is saved" in page.content()
        assert _statement(page) != first
        page.get_by_role("link", name="Add your own statement").click()
        page.get_by_role("button", name="Add statement").click()
        assert page.get_by_text("Enter your statement").count() >= 1
    finally:
        context.close()


def test_the_keyboard_alone_joins_answers_and_votes(page):
    page.goto(LETTERS)
    page.get_by_role("button", name="Start").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/about/age_band$"))
    page.get_by_label("25 to 34").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Continue").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/about/disability$"))
    page.get_by_label("Prefer not to say").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")   # submits the form from the radio
    page.wait_for_url(re.compile(r"/vote$"))
    first = _statement(page)
    page.get_by_role("button", name="Pass or unsure").focus()
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="Your vote is saved").wait_for()
    assert _statement(page) != first


@pytest.mark.parametrize("path", ["/codesign/join", LETTERS, f"{LETTERS}/about/age_band",
                                  "/codesign/c/fairer-waiting",
                                  "/codesign/c/fairer-waiting/results"])
def test_public_codesign_pages_have_no_accessibility_violations(page, path):
    if "/about/" in path:
        page.goto(LETTERS)
        page.get_by_role("button", name="Start").click()
    page.goto(path)
    assert_no_axe_violations(page)


def test_form_errors_have_no_accessibility_violations(page):
    page.goto(LETTERS)
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Continue").click()
    assert "Choose one of the answers" in page.locator("main").inner_text()
    assert_no_axe_violations(page)
    page.goto(f"{LETTERS}/statements/new")
    page.get_by_label("Add your own statement").fill("x" * 150)
    page.get_by_role("button", name="Add statement").click()
    assert page.get_by_role("alert").count() >= 1
    assert_no_axe_violations(page)


def test_staff_codesign_pages_have_no_accessibility_violations(page):
    sign_in(page, "lead@voices.example")
    page.goto("/codesign")
    assert_no_axe_violations(page)
    page.get_by_role("link", name="How should our hospital make waiting fairer?").click()
    overview = page.url
    assert_no_axe_violations(page)
    for link in ("See the results", "Moderation and review"):
        page.goto(overview)
        page.get_by_role("button", name=link).click()
        assert_no_axe_violations(page)
    assert page.get_by_text("Check for personal details").count() == 1   # the demo's phone number
    page.goto(f"{overview}/population")
    assert_no_axe_violations(page)
    page.goto("/codesign/ideas")
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Tell everyone how long they are likely to wait").click()
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Read the proposal document").click()
    assert_no_axe_violations(page)
    page.goto("/codesign/conversations/new")
    page.get_by_role("button", name="Open the conversation").click()
    assert page.get_by_role("alert").count() >= 1
    assert_no_axe_violations(page)
    page.goto("/codesign/import")
    assert_no_axe_violations(page)
