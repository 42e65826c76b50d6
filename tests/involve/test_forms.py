"""What leads type for opportunities, log entries and library entries: good input is kept,
anything else is refused with every problem named by its field."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voices.errors import ValidationError
from voices.involve.opportunities import (
    parse_library_entry,
    parse_log_entry,
    parse_opportunity,
    parse_period,
)
from voices.involve.payments import read_policy

TODAY = dt.date(2026, 11, 23)
POLICY = read_policy()

OPPORTUNITY = {"project": ["Clinic redesign"], "role": ["Reader"], "time_needed": ["2 hours"],
               "formats": ["email", "paper"], "payment_level": ["level_3"],
               "closing_date-day": ["1"], "closing_date-month": ["2"],
               "closing_date-year": ["2027"], "hours_per_month": ["2.5"]}


def test_a_good_opportunity_is_kept_as_typed():
    values = parse_opportunity(OPPORTUNITY, POLICY, today=TODAY)
    assert values["closing_date"] == dt.date(2027, 2, 1) and values["hours_per_month"] == 2.5
    assert values["formats"] == ["paper", "email"] and values["carers"] is False


def test_every_problem_with_an_opportunity_is_named_at_once():
    with pytest.raises(ValidationError) as caught:
        parse_opportunity({"project": ["x" * 201], "formats": ["carrier pigeon"],
                           "closing_date-day": ["31"], "closing_date-month": ["2"],
                           "closing_date-year": ["2027"], "hours_per_month": ["-1"]},
                          POLICY, today=TODAY)
    columns = {p.column for p in caught.value.problems}
    assert {"project", "role", "time_needed", "formats", "payment_level", "closing_date",
            "hours_per_month"} <= columns


def test_a_log_entry_works_out_the_payment_unless_told_otherwise():
    entry = {"project": ["P"], "activity": ["Meeting"], "activity_date": ["2026-11-02"],
             "hours": ["5"], "payment_level": ["level_4"], "expenses": ["£6.80"]}
    values = parse_log_entry(entry, POLICY, today=TODAY)
    assert (values["payment_pence"], values["expenses_pence"]) == (15000, 680)
    values = parse_log_entry({**entry, "payment": ["0"]}, POLICY, today=TODAY)
    assert values["payment_pence"] == 0
    with pytest.raises(ValidationError) as caught:
        parse_log_entry({**entry, "payment_level": ["level_1"]}, POLICY, today=TODAY)
    assert caught.value.column == "expenses"            # level 1 pays no expenses
    with pytest.raises(ValidationError) as caught:
        parse_log_entry({**entry, "activity_date": ["2027-01-01"]}, POLICY, today=TODAY)
    assert caught.value.column == "activity_date"       # not in the future


def test_library_links_must_be_web_addresses():
    good = {"kind": ["method"], "title": ["T"], "summary": ["S"],
            "link": ["https://example.org/a"], "topics": ["fairness"]}
    assert parse_library_entry(good)["link"] == "https://example.org/a"
    for bad in ("javascript:alert(1)", "ftp://x.org", "https://exa mple.org"):
        with pytest.raises(ValidationError) as caught:
            parse_library_entry({**good, "link": [bad]})
        assert caught.value.column == "link"


fields = st.dictionaries(
    st.sampled_from(["project", "role", "description", "time_needed", "hours_per_month",
                     "formats", "venue_provides", "times", "conditions", "services", "topics",
                     "carers", "payment_level", "closing_date", "closing_date-day",
                     "closing_date-month", "closing_date-year", "activity", "activity_date",
                     "hours", "payment", "expenses", "expenses_note", "kind", "title",
                     "summary", "body", "link", "settings", "populations"]),
    st.lists(st.one_of(st.text(max_size=40), st.sampled_from(
        ["level_4", "in_person", "2026-11-01", "3", "case_study", "yes", "12.50"])),
        max_size=3), max_size=12)


@settings(max_examples=150)
@given(fields)
def test_any_form_is_kept_or_refused_with_located_problems(form):
    for parse in (lambda f: parse_opportunity(f, POLICY, today=TODAY),
                  lambda f: parse_log_entry(f, POLICY, today=TODAY), parse_library_entry):
        try:
            values = parse(form)
        except ValidationError as exc:
            assert exc.problems and all(p.column for p in exc.problems)
            continue
        for key, value in values.items():
            if isinstance(value, str):
                assert "\x00" not in value
            if key.endswith("_pence"):
                assert isinstance(value, int) and value >= 0


def test_an_export_period_may_be_open_at_either_end_and_wrong_dates_are_named():
    assert parse_period("1/4/2026", "2026-04-30") == (dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    assert parse_period("", None) == (None, None)
    assert parse_period(" 2026-04-01 ", "") == (dt.date(2026, 4, 1), None)
    with pytest.raises(ValidationError) as caught:
        parse_period("31/2/2026", "soon")
    assert [p.column for p in caught.value.problems] == ["since", "until"]
    with pytest.raises(ValidationError) as caught:
        parse_period("2026-05-01", "2026-04-30")
    assert [p.column for p in caught.value.problems] == ["until"]
