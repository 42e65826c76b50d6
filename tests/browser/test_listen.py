"""Listen in a real browser: the whole feedback journey by keyboard (errors included), the
coder's one-key accept, and axe on every public page and the main staff pages."""

from __future__ import annotations

import pytest

from browser_support import assert_no_axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SLUG = "rz2-rheumatology-clinic"


@pytest.fixture(scope="module")
def analyst_page(browser, live_server):
    """One signed-in analyst for the staff pages (signing in once keeps well under the
    sign-in rate limit)."""
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    sign_in(page, "analyst@voices.example")
    yield page
    context.close()


def _tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"the keyboard never reached {selector}")


def _continue(page) -> None:
    _tab_to(page, "button.nhsuk-button:not(.nhsuk-button--secondary)")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_whole_feedback_journey_by_keyboard(page):
    page.goto(f"/f/{SLUG}")
    assert_no_axe_violations(page)
    _continue(page)                                   # no answer: the error is shown
    assert page.get_by_role("alert").count() >= 1
    assert "Select how your experience of our service was" in page.content()
    assert_no_axe_violations(page)
    _tab_to(page, "#rating")                          # the first answer, "Very good"
    page.keyboard.press("ArrowDown")                  # arrow keys move within the radios
    assert page.evaluate("document.activeElement.value") == "Good"
    page.keyboard.press("Space")
    _continue(page)
    assert page.url.endswith(f"/f/{SLUG}/good")
    assert_no_axe_violations(page)
    _tab_to(page, "#comment")
    page.keyboard.type("The physio Sam Okoro was brilliant")
    _continue(page)
    _tab_to(page, "#comment")
    page.keyboard.insert_text("x" * 5001)             # too long: the error is shown
    _continue(page)
    assert "5,000 characters or fewer" in page.content()
    assert_no_axe_violations(page)
    _tab_to(page, "#comment")
    page.keyboard.press("Control+A")
    page.keyboard.type("Parking was hard")
    _continue(page)
    assert page.url.endswith("/about-you")
    assert_no_axe_violations(page)
    _continue(page)
    for step in ("age", "sex", "ethnic-group", "disability", "carer"):
        assert page.url.endswith(f"/{step}")
        assert_no_axe_violations(page)
        _tab_to(page, "#answer")
        page.keyboard.press("Space")
        _continue(page)
    assert page.url.endswith("/postcode")
    _tab_to(page, "#postcode")
    page.keyboard.type("not a postcode")
    _continue(page)
    assert "Enter a postcode in the right format" in page.content()
    assert_no_axe_violations(page)
    _tab_to(page, "#postcode")
    page.keyboard.press("Control+A")
    page.keyboard.type("LS1")
    _continue(page)
    assert page.url.endswith("/thank-you")
    assert "Thank you for your feedback" in page.content()
    assert_no_axe_violations(page)


@pytest.mark.parametrize("path", ["/feedback", "/feedback?q=ward",
                                  f"/f/{SLUG}/you-said-we-did",
                                  "/f/rz1-emergency-department/you-said-we-did"])
def test_public_listen_pages_have_no_accessibility_violations(page, path):
    page.goto(path)
    assert_no_axe_violations(page)


@pytest.mark.parametrize("path", ["/listen", "/listen/explorer",
                                  "/listen/explorer?theme=Parking&sentiment=negative",
                                  "/listen/explorer?period_from=2026-13", "/listen/review",
                                  "/listen/imports", "/listen/mappings", "/listen/mappings/new",
                                  "/listen/services", "/listen/models"])
def test_staff_listen_pages_have_no_accessibility_violations(analyst_page, path):
    analyst_page.goto(path)
    assert "/login" not in analyst_page.url
    assert_no_axe_violations(analyst_page)


def test_a_comment_page_and_its_reply_form(analyst_page):
    page = analyst_page
    page.goto("/listen/explorer")
    page.locator(".nhsuk-card__heading a").first.click()
    assert "/listen/comments/" in page.url
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Publish reply").click()
    assert "Enter your reply" in page.content()
    assert_no_axe_violations(page)


def test_one_key_accepts_the_models_themes(page):
    sign_in(page, "trust.analyst@voices.example")
    page.goto("/listen/review")
    first = page.locator("#review-form").get_attribute("action")
    page.locator("h1").click()                  # focus on the page, not in a field
    page.keyboard.press("1")                    # number keys tick and untick themes
    assert not page.locator("#label-1").is_checked()
    page.keyboard.press("1")
    assert page.locator("#label-1").is_checked()
    with page.expect_navigation():
        page.keyboard.press("a")
    assert "done=accepted" in page.url
    assert page.locator("#review-form").get_attribute("action") != first
    assert_no_axe_violations(page)
