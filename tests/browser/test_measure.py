"""The measure pages in a real browser: no accessibility violations, charts readable
without JavaScript, and no small count on the published page."""

from __future__ import annotations

import re

import pytest

from browser_support import assert_no_axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.mark.parametrize("path", ["/measure", "/measure?dimension=ethnic_group",
                                  "/measure/funnel", "/measure/inequality",
                                  "/measure/scorecard", "/measure/scorecard/edit"])
def test_analyst_pages_have_no_accessibility_violations(page, path):
    sign_in(page, "analyst@voices.example")
    page.goto(path)
    assert page.get_by_role("heading", level=1).count() == 1
    assert_no_axe_violations(page)


def test_the_scorecard_editor_with_errors_has_no_accessibility_violations(page):
    sign_in(page, "trust.analyst@voices.example")
    page.goto("/measure/scorecard/edit")
    page.get_by_label("Scorecard (YAML)").fill("title: Ours\nmeasures:\n  - id: Good\n")
    page.get_by_role("button", name="Save a new version").click()
    summary = page.get_by_role("alert")
    assert "Line 4" in summary.inner_text() or "Line 3" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "scorecard_yaml"
    assert_no_axe_violations(page)


def test_the_published_page_is_accessible_and_shows_no_small_count(page):
    page.goto("/")
    page.get_by_role("link", name="See how people rate our services").click()
    assert page.url.endswith("/measure/published")
    assert_no_axe_violations(page)
    cells = page.locator("main table td").all_inner_texts()
    assert len(cells) > 100
    counts = [c.strip() for c in cells if re.fullmatch(r"\d[\d,]*", c.strip())]
    assert counts and not [c for c in counts if 1 <= int(c.replace(",", "")) <= 7]
    assert "*" in [c.strip() for c in cells]
    # every chart has words, and its numbers are one click away without JavaScript
    image = page.locator("main img.voices-chart").first
    assert len(image.get_attribute("alt")) > 40
    page.get_by_text("Show the numbers in this chart").first.click()
    assert page.locator("main details[open] table").count() == 1


def test_the_published_page_works_from_the_keyboard(page):
    page.goto("/measure/published")
    page.get_by_label("Organisation").focus()
    page.keyboard.press("End")          # the last organisation in the list
    chosen = page.get_by_label("Organisation").input_value()
    page.keyboard.press("Tab")          # the month
    page.keyboard.press("Tab")          # the Show button
    assert page.evaluate("document.activeElement.textContent.trim()") == "Show"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"organisation={chosen}" in page.url
    assert_no_axe_violations(page)
