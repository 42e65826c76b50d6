"""Files of response counts and activity figures: good ones read in any format, bad ones
refused with the file, row and column named."""

from __future__ import annotations

import string

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voices.errors import ValidationError
from voices.measure.fft import FFT_ANSWERS
from voices.measure.imports import (
    breakdown_problems,
    read_table,
    validate_activity_rows,
    validate_counts,
)

GOOD = """organisation,service,period,response,count,dimension,group
rz1,Emergency Department,2026-10,Very good,120,all,all
RZ1,Emergency Department,2026-10,don\u2019t know,4,,
RZ1,Emergency Department,2026-10,Very good,12,imd_decile,1
RZ1,Emergency Department,2026-10,Very good,9,ethnic_group,Asian or Asian British
RZ1,Emergency Department,2026-10,POOR,3,disability,Y
"""


def refused(frame, first_row=2):
    with pytest.raises(ValidationError) as info:
        validate_counts(frame, source="counts.csv", first_row=first_row)
    return info.value


def csv_frame(tmp_path, text):
    path = tmp_path / "counts.csv"
    path.write_text(text, encoding="utf-8")
    return read_table(path)


def test_a_good_file_is_read_into_codes(tmp_path):
    frame, first = csv_frame(tmp_path, GOOD)
    checked = validate_counts(frame, first_row=first)
    assert checked["row"].to_list() == [2, 3, 4, 5, 6]
    assert checked["organisation"].to_list() == ["RZ1"] * 5
    assert checked["response"].to_list() == ["Very good", "Don't know", "Very good",
                                             "Very good", "Poor"]
    assert checked["dimension"].to_list() == ["all", "all", "imd_decile", "ethnic_group",
                                              "disability"]
    assert checked["group"].to_list() == ["all", "all", "1", "asian", "yes"]
    assert checked["count"].to_list() == [120, 4, 12, 9, 3]


def test_excel_and_parquet_give_the_same_table_as_csv(tmp_path):
    from openpyxl import Workbook

    frame, first = csv_frame(tmp_path, GOOD)
    expected = validate_counts(frame, first_row=first).drop("row")
    book = Workbook()
    sheet = book.active
    sheet.append(frame.columns)
    for row in frame.rows():
        values = list(row)
        values[4] = int(values[4])          # counts typed as numbers, as Excel keeps them
        sheet.append(values)
    book.save(tmp_path / "counts.xlsx")
    xlsx, xlsx_first = read_table(tmp_path / "counts.xlsx")
    assert validate_counts(xlsx, first_row=xlsx_first).drop("row").equals(expected)
    frame.with_columns(pl.col("count").cast(pl.Int64)).write_parquet(tmp_path / "c.parquet")
    parquet, parquet_first = read_table(tmp_path / "c.parquet")
    assert parquet_first == 1
    assert validate_counts(parquet, first_row=1).drop("row").equals(expected)


def test_excel_turns_a_typed_month_into_a_date_and_it_still_reads(tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["organisation", "service", "period", "response", "count"])
    sheet.append(["RZ1", "Podiatry", dt.datetime(2026, 10, 1), "Good", 7.0])
    book.save(tmp_path / "m.xlsx")
    frame, first = read_table(tmp_path / "m.xlsx")
    checked = validate_counts(frame, first_row=first)
    assert checked["period"].to_list() == ["2026-10"] and checked["count"].to_list() == [7]


@pytest.mark.parametrize("line, column, words", [
    ("RZ1,Ward 1,2026-10,Excellent,3,all,all", "response", "unknown response"),
    ("RZ1,Ward 1,2026-10,Good,-2,all,all", "count", "negative"),
    ("RZ1,Ward 1,2026-10,Good,2.5,all,all", "count", "not a whole number"),
    ("RZ1,Ward 1,10/2026,Good,2,all,all", "period", "YYYY-MM"),
    ("RZ1,Ward 1,2026-13,Good,2,all,all", "period", "YYYY-MM"),
    ("RZ1,,2026-10,Good,2,all,all", "service", "empty"),
    ("RZ1,Ward 1,2026-10,Good,2,religion,christian", "dimension", "not an equity dimension"),
    ("RZ1,Ward 1,2026-10,Good,2,imd_decile,11", "group", "not a group of imd_decile"),
    ("RZ1,Ward 1,2026-10,Good,2,all,women", "group", "not a group of all"),
])
def test_each_bad_cell_is_refused_with_its_row_and_column(tmp_path, line, column, words):
    text = "organisation,service,period,response,count,dimension,group\n" \
           "RZ1,Ward 1,2026-10,Good,5,all,all\n" + line + "\n"
    frame, first = csv_frame(tmp_path, text)
    error = refused(frame, first)
    assert (error.file, error.row, error.column) == ("counts.csv", 3, column)
    assert words in error.message
    assert "counts.csv, row 3, column" in str(error.problems[0])


def test_a_missing_column_is_named_and_every_problem_is_listed(tmp_path):
    frame, first = csv_frame(tmp_path, "organisation,service,period,count\nRZ1,A,2026-10,3\n")
    error = refused(frame, first)
    assert error.column == "response" and "missing column 'response'" in error.message
    frame, first = csv_frame(tmp_path, "organisation,service,period,response,count\n"
                                       "RZ1,A,2026-1,Good,3\nRZ1,A,2026-10,Great,-1\n")
    error = refused(frame, first)
    assert [(p.row, p.column) for p in error.problems] == [(2, "period"), (3, "response"),
                                                           (3, "count")]


def test_a_repeated_row_is_refused_at_the_repeat(tmp_path):
    frame, first = csv_frame(tmp_path, "organisation,service,period,response,count\n"
                                       "RZ1,A,2026-10,Good,3\nRZ1,a,2026-10,good,4\n")
    error = refused(frame, first)
    assert (error.row, error.column) == (3, "response") and "repeats row 2" in error.message


def test_dimension_needs_group_beside_it(tmp_path):
    frame, first = csv_frame(tmp_path, "organisation,service,period,response,count,dimension\n"
                                       "RZ1,A,2026-10,Good,3,all\n")
    assert refused(frame, first).column == "group"


def test_unreadable_and_unknown_files_are_refused(tmp_path):
    with pytest.raises(ValidationError) as info:
        read_table(tmp_path / "none.csv")
    assert "not found" in info.value.message
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(ValidationError) as info:
        read_table(tmp_path / "a.json")
    assert ".xlsx" in info.value.expected
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValidationError) as info:
        read_table(tmp_path / "bad.parquet")
    assert "could not read" in info.value.message


def test_breakdowns_must_have_a_total_and_fit_inside_it():
    def frame(rows):
        return pl.DataFrame(rows, schema=["service_id", "period", "response", "dimension",
                                          "group", "count", "row"], orient="row")

    fine = frame([(1, "2026-10", "Good", "all", "all", 10, 2),
                  (1, "2026-10", "Good", "sex", "1", 4, 3),
                  (1, "2026-10", "Good", "sex", "2", 6, 4)])
    assert breakdown_problems(fine) == []
    over = frame([(1, "2026-10", "Good", "all", "all", 10, None),   # stored total
                  (1, "2026-10", "Good", "sex", "1", 7, 5),
                  (1, "2026-10", "Good", "sex", "2", 6, 6)])
    [(row, column, message)] = breakdown_problems(over)
    assert (row, column) == (5, "count") and "13" in message and "total of 10" in message
    orphan = frame([(2, "2026-09", "Good", "sex", "1", 3, 9)])
    [(row, column, message)] = breakdown_problems(orphan)
    assert (row, column) == (9, "dimension") and "no total" in message


ACTIVITY = """organisation,service,period,measure,value,lower,upper
RZ1,Cardiology Outpatients,2026-10,rtt_within_18_weeks_pct,61.5,,
RZ1,,2026-10,rtt_within_18_weeks_pct,63.2,60,66
RZ1,,2026-09,beds_open,"1,204",,
"""


def test_activity_rows_are_checked(tmp_path):
    path = tmp_path / "kpis.csv"
    path.write_text(ACTIVITY)
    frame, first = read_table(path)
    checked = validate_activity_rows(frame, first_row=first)
    assert checked["value"].to_list() == [61.5, 63.2, 1204.0]
    assert checked["service"].to_list() == ["Cardiology Outpatients", "", ""]
    bad = (ACTIVITY.replace("61.5", "lots").replace("2026-10,rtt", "2026/10,rtt", 1)
           .replace("63.2,60", "\"63,2\",60").replace("beds_open", "Beds open"))
    path.write_text(bad)
    frame, first = read_table(path)
    with pytest.raises(ValidationError) as info:
        validate_activity_rows(frame, source="kpis.csv", first_row=first)
    assert {(p.row, p.column) for p in info.value.problems} == {
        (2, "period"), (2, "value"), (3, "value"), (4, "measure")}


# ----------------------------------------------------------------- property tests

label = st.text(alphabet=string.ascii_letters + " -", min_size=1, max_size=12).filter(
    lambda s: s.strip() != "")
month = st.tuples(st.integers(2000, 2099), st.integers(1, 12)).map(
    lambda ym: f"{ym[0]:04d}-{ym[1]:02d}")
row = st.tuples(st.sampled_from(["RZ1", "RZ2", "QZ9"]), label, month,
                st.sampled_from(FFT_ANSWERS), st.integers(0, 10**6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=30, unique_by=lambda r: (r[0], r[1].strip().casefold(),
                                                                   r[2], r[3])))
def test_any_valid_table_is_read_back_exactly(rows):
    frame = pl.DataFrame([[str(v) for v in r] for r in rows], orient="row",
                         schema=["organisation", "service", "period", "response", "count"])
    checked = validate_counts(frame, first_row=2)
    assert checked["count"].to_list() == [r[4] for r in rows]
    assert checked["period"].to_list() == [r[2] for r in rows]
    assert checked["response"].to_list() == [r[3] for r in rows]
    assert checked["row"].to_list() == list(range(2, len(rows) + 2))


BAD = {"period": st.sampled_from(["2026-00", "26-10", "2026/10", "October", "2026-1", ""]),
       "response": st.sampled_from(["Great", "Very bad", "5", "", "Goodish"]),
       "count": st.one_of(st.integers(-10**6, -1).map(str),
                          st.sampled_from(["1.5", "three", "", "1e3x"]))}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=20, unique_by=lambda r: (r[0], r[1].strip().casefold(),
                                                                   r[2], r[3])),
       st.data())
def test_one_bad_cell_anywhere_is_found_at_its_row_and_column(rows, data):
    column = data.draw(st.sampled_from(sorted(BAD)))
    bad_value = data.draw(BAD[column])
    at = data.draw(st.integers(0, len(rows) - 1))
    cells = [[str(v) for v in r] for r in rows]
    cells[at][["organisation", "service", "period", "response", "count"].index(column)] = \
        bad_value
    frame = pl.DataFrame(cells, orient="row",
                         schema=["organisation", "service", "period", "response", "count"])
    with pytest.raises(ValidationError) as info:
        validate_counts(frame, source="f.csv", first_row=2)
    assert [(p.row, p.column) for p in info.value.problems] == [(at + 2, column)]
