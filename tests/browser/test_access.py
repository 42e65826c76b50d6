"""The access pages in a real browser: no accessibility violations on the dashboard, the
policy editor showing an error, the ranked list and a simulation's results; errors link
to their fields; charts can be read without JavaScript."""

from __future__ import annotations

import re

import pytest

from access_support import UNSAFE_POLICY
from browser_support import assert_no_axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _open_latest_rz1_list(page) -> None:
    page.goto("/access")
    page.get_by_role("link", name=re.compile(r"Who waits longest\s*: RZ1")).first.click()
    page.wait_for_load_state()


@pytest.mark.parametrize("email", ["analyst@voices.example", "lead@voices.example"])
def test_the_dashboard_has_no_accessibility_violations(page, email):
    sign_in(page, email)
    _open_latest_rz1_list(page)
    assert page.get_by_role("heading", level=1).inner_text().endswith("Who waits longest")
    if email.startswith("lead"):
        assert "rounded to the nearest 5" in page.content()
    else:
        assert page.get_by_text("Exact figures").count() == 1
    image = page.locator("main img.voices-chart").first
    assert "Waiting over 52 weeks by deprivation decile" in image.get_attribute("alt")
    assert_no_axe_violations(page)


def test_the_policy_editor_with_an_error_has_no_accessibility_violations(page):
    sign_in(page, "trust.analyst@voices.example")
    page.goto("/access/policies")
    page.get_by_role("link", name="Accumulating priority", exact=True).click()
    page.get_by_role("button", name="Change this policy").click()
    page.get_by_label("Policy (YAML)").fill(UNSAFE_POLICY)
    page.get_by_label("Why are you making this change?").fill("See what happens")
    page.get_by_role("button", name="Save a new version").click()
    summary = page.get_by_role("alert")
    assert "Line 7: P4 pathways gain priority faster" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "yaml"
    assert_no_axe_violations(page)


def test_the_ranked_list_has_no_accessibility_violations(page):
    sign_in(page, "trust.analyst@voices.example")
    _open_latest_rz1_list(page)
    page.get_by_role("link", name="See the ranked list, with each position explained").click()
    rows = page.locator("main table tbody tr")
    assert rows.count() == 50
    assert re.search(r"; position 1 of 24,000$", rows.first.locator("td").last.inner_text())
    assert_no_axe_violations(page)
    page.get_by_role("link", name=re.compile("Next")).click()
    assert "page=2" in page.url
    assert "position 51 of 24,000" in page.locator("main table tbody tr").first.inner_text()


def test_a_simulation_result_has_no_accessibility_violations(page):
    sign_in(page, "analyst@voices.example")
    page.goto("/access")
    page.get_by_role("link", name=re.compile(r"^Simulation \d+")).first.click()
    assert page.get_by_role("heading", level=1).inner_text().endswith("Simulation of 2 policies")
    assert page.locator("main img.voices-chart").count() == 3
    page.get_by_text("Show the numbers in this chart").first.click()
    assert page.locator("main details[open] table").count() == 1
    assert_no_axe_violations(page)


def test_the_import_page_with_errors_has_no_accessibility_violations(page, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("pathway_id,treatment_function_code,clock_start_date,clinical_priority\n"
                   "A1,110,2026-01-05,P9\n")
    sign_in(page, "trust.analyst@voices.example")
    page.goto("/access/import")
    page.get_by_label("Date the list was taken").fill("2026-10-31")
    page.locator("input[type=file][name=file]").set_input_files(str(bad))
    page.get_by_role("button", name="Import the list").click()
    summary = page.get_by_role("alert")
    assert "row 2, column 'clinical_priority': 'P9' is not a clinical priority code" in \
        summary.inner_text()
    assert_no_axe_violations(page)


def test_the_calculator_works_from_the_keyboard(page):
    sign_in(page, "lead@voices.example")
    page.goto("/access/calculator")
    page.get_by_label("Referrals a week").focus()
    page.keyboard.type("30")
    page.keyboard.press("Tab")                      # the target
    page.keyboard.press("Control+A")
    page.keyboard.type("52 weeks")
    page.get_by_label("Pathways waiting now (optional)").fill("1200")
    page.get_by_role("button", name="Calculate").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "about 390 pathways" in page.content() and "61.2 treatments a week" in page.content()
    assert_no_axe_violations(page)


@pytest.mark.parametrize("path, heading", [
    ("/access", "Who waits longest, and what if we prioritised differently?"),
    ("/access/policies", "Prioritisation policies"),
    ("/access/simulate", "Test policies on a simulated list"),
    ("/access/rtt", "Compare with other providers"),
    ("/access/import", "Import a waiting list"),
])
def test_the_other_access_pages_have_no_accessibility_violations(page, path, heading):
    sign_in(page, "analyst@voices.example")
    page.goto(path)
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert_no_axe_violations(page)


def test_a_policy_shows_who_changed_it_and_what_changed_without_violations(page):
    sign_in(page, "analyst@voices.example")
    page.goto("/access/policies")
    page.get_by_role("link", name="Accumulating priority", exact=True).click()
    history = page.locator("main h2:text('History') + ul").inner_text()
    # who put which version in use, and when, newest or oldest first
    for said in ("Saved version 1 of the policy 'Accumulating priority'",
                 "Saved version 2 of the policy 'Accumulating priority'",
                 "Put version 2 of the policy 'Accumulating priority' in use"):
        assert re.search(r"\d{4}.*: \S.* – " + re.escape(said), history), history
    assert_no_axe_violations(page)
    page.get_by_role("link", name="What changed in version 2").click()
    assert page.get_by_role("heading", level=1).inner_text().endswith(
        "What changed from version 1 to version 2")
    assert_no_axe_violations(page)
