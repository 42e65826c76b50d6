"""Reading a responses file: good files are accepted, bad ones refused with a location."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from voices.errors import ValidationError
from voices.measure.responses import read_responses, validate_responses

GOOD = """organisation,service,period,response,count,imd_decile,ethnic_group,disability
RBD,Ward 1,2026-04,Very good,3,1,White,yes
RBD,Ward 1,2026-04,don\u2019t know,1,10,asian,No
RBD,Ward 2,2026-05,  POOR ,2,,,
"""


def write(tmp_path, text, name="responses.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path):
    with pytest.raises(ValidationError) as info:
        read_responses(path)
    return info.value


def test_good_file_is_read_into_codes(tmp_path):
    r = read_responses(write(tmp_path, GOOD))
    f = r.frame
    assert f.height == 3 and r.equity == ("imd_decile", "ethnic_group", "disability")
    assert f["response"].cast(pl.String).to_list() == ["Very good", "Don't know", "Poor"]
    assert f["count"].to_list() == [3, 1, 2]
    assert f["imd_decile"].cast(pl.String).to_list() == ["1", "10", "not_known"]
    assert f["ethnic_group"].cast(pl.String).to_list() == ["white", "asian", "not_known"]
    assert f["disability"].cast(pl.String).to_list() == ["yes", "no", "not_known"]
    assert r.periods == ["2026-04", "2026-05"]


@pytest.mark.parametrize("name", ["responses [Nov].csv", "responses*?.csv"])
def test_a_file_name_with_pattern_characters_is_read_as_it_is(tmp_path, name):
    frame = pl.read_csv(write(tmp_path, GOOD).as_posix())
    frame.write_parquet(tmp_path / name.replace(".csv", ".parquet"))
    assert read_responses(write(tmp_path, GOOD, name)).frame.height == 3
    assert read_responses(tmp_path / name.replace(".csv", ".parquet")).frame.height == 3


def test_missing_column_is_named(tmp_path):
    error = refused(write(tmp_path, "organisation,service,response\nRBD,Ward 1,Good\n"))
    assert error.column == "period" and "missing column" in error.message
    assert error.file.endswith("responses.csv")


def test_unknown_response_label_names_file_row_and_column(tmp_path):
    error = refused(write(tmp_path, "organisation,service,period,response\n"
                                    "RBD,Ward 1,2026-04,Good\nRBD,Ward 1,2026-04,Brilliant\n"))
    assert (error.row, error.column) == (3, "response")
    assert "Very good" in error.expected and error.file.endswith("responses.csv")


def test_negative_count_is_refused(tmp_path):
    error = refused(write(tmp_path, "organisation,service,period,response,count\n"
                                    "RBD,Ward 1,2026-04,Good,-2\n"))
    assert (error.row, error.column) == (2, "count") and "negative" in error.message


def test_count_that_is_not_a_whole_number_is_refused(tmp_path):
    error = refused(write(tmp_path, "organisation,service,period,response,count\n"
                                    "RBD,Ward 1,2026-04,Good,2.5\n"))
    assert (error.row, error.column) == (2, "count")


@pytest.mark.parametrize("period", ["2026-4", "04/2026", "2026-13", "April 2026", ""])
def test_period_in_the_wrong_format_is_refused(tmp_path, period):
    error = refused(write(tmp_path, "organisation,service,period,response\n"
                                    f"RBD,Ward 1,2026-03,Good\nRBD,Ward 1,{period},Good\n"))
    assert (error.row, error.column) == (3, "period") and "YYYY-MM" in error.message


def test_every_problem_is_reported_at_once(tmp_path):
    error = refused(write(tmp_path, "organisation,service,period,response,imd_decile\n"
                                    "RBD,Ward 1,2026-13,Good,1\n"
                                    ",Ward 1,2026-01,Great,2\n"
                                    "RBD,Ward 1,2026-01,Good,11\n"))
    located = {(p.row, p.column) for p in error.problems}
    assert located == {(2, "period"), (3, "organisation"), (3, "response"),
                       (4, "imd_decile")}


def test_parquet_rows_count_from_one_and_dates_are_months(tmp_path):
    path = tmp_path / "responses.parquet"
    pl.DataFrame({"organisation": ["RBD", "RBD"], "service": ["Ward 1", "Ward 1"],
                  "period": [date(2026, 4, 1), date(2026, 4, 30)],
                  "response": ["Good", "Awful"], "count": [1, 2]}).write_parquet(path)
    error = refused(path)
    assert (error.row, error.column) == (2, "response")
    good = path.with_name("good.parquet")
    pl.DataFrame({"organisation": ["RBD"], "service": ["Ward 1"],
                  "period": [date(2026, 4, 9)], "response": ["Good"]}).write_parquet(good)
    assert read_responses(good).periods == ["2026-04"]


def test_a_service_under_two_icbs_is_refused():
    frame = pl.DataFrame({"organisation": ["RBD", "RBD"], "service": ["Ward 1", "Ward 1"],
                          "icb": ["QVV", "QSL"], "period": ["2026-04"] * 2,
                          "response": ["Good"] * 2})
    with pytest.raises(ValidationError) as info:
        validate_responses(frame, source="x.csv")
    assert info.value.column == "icb" and info.value.row == 2


def test_unreadable_or_unknown_files_are_refused(tmp_path):
    assert "not found" in refused(tmp_path / "nope.csv").message
    assert "cannot read" in refused(write(tmp_path, "x", "responses.xlsx")).message
    bad = tmp_path / "binary.csv"
    bad.write_bytes(b"organisation,service\n\xff\xfe\x00bad")
    assert refused(bad).file.endswith("binary.csv")
