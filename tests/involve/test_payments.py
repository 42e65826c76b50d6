"""Involvement levels, payments and the finance export (formula injection neutralised)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from voices.errors import ValidationError
from voices.involve.payments import (
    FORMULA_STARTS,
    FinanceRow,
    finance_csv,
    finance_xlsx,
    involvement_payment,
    neutralise,
    parse_policy,
    parse_pounds,
    read_policy,
)


def test_the_levels_follow_nhs_englands_ppv_policy():
    policy = read_policy()
    assert [lv.code for lv in policy.levels] == ["level_1", "level_2", "level_3", "level_4"]
    assert "NHS England" in policy.source and "PAR869" in policy.source
    level4 = policy.get("level_4")
    assert (level4.half_day_pence, level4.full_day_pence, level4.half_day_hours) == \
        (7500, 15000, 4.0)
    assert not policy.get("level_1").expenses and policy.get("level_2").expenses
    assert not any(policy.get(c).pays for c in ("level_1", "level_2", "level_3"))


@pytest.mark.parametrize("hours, pence", [(0, 0), (1.5, 7500), (4, 7500), (4.25, 15000),
                                          (7.5, 15000)])
def test_level_4_pays_half_a_day_up_to_4_hours_then_a_full_day(hours, pence):
    assert involvement_payment(read_policy().get("level_4"), hours) == pence


def test_levels_without_a_payment_pay_nothing():
    assert involvement_payment(read_policy().get("level_2"), 6) == 0


def test_an_unknown_level_is_a_located_error():
    with pytest.raises(ValidationError) as caught:
        read_policy().get("level_9")
    assert caught.value.column == "payment_level" and "level_4" in caught.value.expected


def test_a_bad_levels_file_reports_every_problem():
    with pytest.raises(ValidationError) as caught:
        parse_policy({"levels": [{"code": "a", "half_day_pence": -5},
                                 {"code": "a", "full_day_pence": 1.5},
                                 {"name": "no code"}]}, file="levels.yaml")
    messages = [p.message for p in caught.value.problems]
    assert caught.value.file == "levels.yaml"
    assert any("half_day_pence" in m for m in messages)
    assert any("used twice" in m for m in messages)
    assert any("no code" in m for m in messages)


@pytest.mark.parametrize("text, pence", [("12.50", 1250), ("£7", 700), ("1,234.5", 123450),
                                         ("", 0), ("0", 0)])
def test_amounts_in_pounds(text, pence):
    assert parse_pounds(text, "expenses", "the expenses") == pence


@pytest.mark.parametrize("text", ["-1", "12.345", "abc", "1e9", "NaN", "100001"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(ValidationError) as caught:
        parse_pounds(text, "expenses", "the expenses")
    assert caught.value.column == "expenses"


@given(st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False))
def test_any_amount_in_pounds_and_pence_round_trips(amount):
    assert parse_pounds(f"{amount:.2f}", "payment", "the payment") == int(amount * 100)


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_text_that_a_spreadsheet_would_run_is_neutralised(start):
    assert neutralise(start + "SUM(A1:A2)") == "'" + start + "SUM(A1:A2)"


def test_other_values_are_left_alone():
    assert neutralise("Check and Challenge") == "Check and Challenge"
    assert neutralise(-5) == -5 and neutralise(Decimal("1.50")) == Decimal("1.50")


ROWS = [
    FinanceRow(1, dt.date(2026, 3, 2), "=HYPERLINK(\"http://evil\",\"x\")", "P000001", "QZ9",
               "+Planned care", "@SUM(1,2)", "Level 4: partner", 3.0, 7500, 680,
               "-bus fare\tand tea", ),
    FinanceRow(2, dt.date(2026, 3, 9), "Ann Example", "P000002", "QZ9", "Planned care",
               "Meeting", "Level 4: partner", 5.0, 15000, 0, "\rtaxi"),
]


def test_the_csv_export_neutralises_every_dangerous_cell():
    text = finance_csv(ROWS).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Entry" and len(rows) == 3
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), cell
    assert rows[1][2] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert rows[1][9:] == ["75.00", "6.80", "'-bus fare\tand tea", "81.80"]


def test_the_excel_export_stores_text_as_text_and_money_as_numbers():
    book = load_workbook(io.BytesIO(finance_xlsx(ROWS)))
    sheet = book.active
    assert [c.value for c in sheet[1]][:3] == ["Entry", "Date", "Partner"]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                assert not cell.value.startswith(FORMULA_STARTS)
    assert sheet["C2"].value == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert sheet["J2"].value == 75.0 and sheet["M3"].value == 150.0
    assert sheet["B2"].value.date() == dt.date(2026, 3, 2)
