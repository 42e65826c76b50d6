"""Reading and checking waiting-list snapshots."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voices.access.snapshot import PRIORITIES, read_snapshot, validate_snapshot
from voices.equity.imd import ImdLookup
from voices.errors import ValidationError

DAY = date(2024, 11, 30)

GOOD = """Pathway ID,Treatment function code,Clock start date,Priority,Age,Sex,Ethnicity,IMD decile,Learning disability,Interpreter,Notes
A1,110,2024-01-02,P2,54,M,A,1,N,,x
A2,C_110,03/02/2024,p4,,F,Z,,Y,yes,
A3,120,2024-06-01,P3,80,2,H,10,,,
A4,101,2024-11-30,P1b,7,X,99,5,no,0,
"""


def write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_a_good_snapshot_with_types_waits_and_unknowns(tmp_path):
    snap = read_snapshot(write(tmp_path, GOOD), snapshot_date=DAY)
    f = snap.frame
    assert f["pathway_id"].to_list() == ["A1", "A2", "A3", "A4"]
    assert f["treatment_function_code"].to_list() == ["110", "110", "120", "101"]
    assert f["clock_start_date"].to_list() == [date(2024, 1, 2), date(2024, 2, 3),
                                               date(2024, 6, 1), DAY]
    assert f["clinical_priority"].cast(pl.String).to_list() == ["P2", "P4", "P3", "P1b"]
    assert f["days_waited"].to_list() == [333, 301, 182, 0]
    assert f["weeks_waited"][2] == pytest.approx(26.0)
    assert f["imd_quintile"].to_list() == [1, None, 5, 3]
    assert f["ethnic_group"].to_list() == ["white", None, "asian", None]
    assert f["sex"].to_list() == ["1", "2", "2", None]
    assert f["learning_disability"].to_list() == [False, True, None, False]
    assert f["interpreter_needed"].to_list() == [None, True, None, False]
    # Unknowns are counted, never filled in.
    assert snap.unknowns["age"] == 1
    assert snap.unknowns["imd_decile"] == 1
    assert snap.unknowns["ethnic_category"] == 2  # Z (not stated) and 99 (not known)
    assert snap.unknowns["carer"] == 4
    assert set(snap.missing_columns) == {"procedure", "lsoa", "carer"}
    assert any("Notes" in note for note in snap.notes)


def problems_of(excinfo) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.message) for p in excinfo.value.problems]


def test_refuses_future_clock_starts_unknown_priorities_and_duplicates_with_locations(tmp_path):
    text = ("pathway_id,treatment_function_code,clock_start_date,clinical_priority\n"
            "A1,110,2024-01-02,P2\n"
            "A2,110,2024-12-01,P3\n"     # after the snapshot date
            "A3,110,2024-01-02,P7\n"     # not an FSSA code
            "A1,120,2024-03-02,P4\n")    # duplicate id
    path = write(tmp_path, text)
    with pytest.raises(ValidationError) as excinfo:
        read_snapshot(path, snapshot_date=DAY)
    found = problems_of(excinfo)
    assert all(p.file == "list.csv" for p in excinfo.value.problems)
    assert (3, "clock_start_date") in [(r, c) for r, c, _ in found]
    assert any(r == 3 and "after the snapshot date" in m for r, _, m in found)
    assert any(r == 4 and c == "clinical_priority" and "'P7'" in m for r, c, m in found)
    assert any(r == 5 and c == "pathway_id" and "first at row 2" in m for r, c, m in found)
    assert len(found) == 3


def test_reports_the_header_people_used(tmp_path):
    text = "Pathway ID,TFC,Clock start,Priority\nA1,110,2024-01-02,urgent\n"
    with pytest.raises(ValidationError) as excinfo:
        read_snapshot(write(tmp_path, text), snapshot_date=DAY)
    assert problems_of(excinfo) == [(2, "Priority", "'urgent' is not a clinical priority code")]


@pytest.mark.parametrize("column, value, fragment", [
    ("age", "abc", "is not an age"), ("age", "131", "is not an age"),
    ("sex", "Q", "is not a sex code"), ("ethnic_category", "Y", "ethnic category"),
    ("lsoa", "E1234", "is not an LSOA code"), ("imd_decile", "11", "IMD decile"),
    ("carer", "maybe", "is not yes or no"), ("clock_start_date", "2024-13-01", "is not a date"),
    ("treatment_function_code", "1100", "treatment function code"),
])
def test_refuses_unreadable_values(tmp_path, column, value, fragment):
    row = {"pathway_id": "A1", "treatment_function_code": "110",
           "clock_start_date": "2024-01-02", "clinical_priority": "P2", column: value}
    text = ",".join(row) + "\n" + ",".join(row.values()) + "\n"
    with pytest.raises(ValidationError) as excinfo:
        read_snapshot(write(tmp_path, text), snapshot_date=DAY)
    (row_number, col, message), = problems_of(excinfo)
    assert row_number == 2 and col == column and fragment in message


def test_missing_required_columns_are_named(tmp_path):
    with pytest.raises(ValidationError) as excinfo:
        read_snapshot(write(tmp_path, "pathway_id,age\nA1,4\n"), snapshot_date=DAY)
    missing = {c for _, c, _ in problems_of(excinfo)}
    assert missing == {"treatment_function_code", "clock_start_date", "clinical_priority"}


def test_every_priority_code_is_accepted_in_any_case(tmp_path):
    rows = "".join(f"X{i},110,2024-01-01,{p.lower()}\n" for i, p in enumerate(PRIORITIES))
    snap = read_snapshot(write(tmp_path, "pathway_id,tfc,clock_start_date,priority\n" + rows),
                         snapshot_date=DAY)
    assert snap.frame["clinical_priority"].cast(pl.String).to_list() == list(PRIORITIES)


def test_xlsx_and_parquet_give_the_same_snapshot(tmp_path):
    from openpyxl import Workbook

    csv_snap = read_snapshot(write(tmp_path, GOOD), snapshot_date=DAY)
    book = Workbook()
    sheet = book.active
    for line in GOOD.strip().splitlines():
        sheet.append([cell if cell else None for cell in line.split(",")])
    sheet["C2"].value = date(2024, 1, 2)  # a real Excel date cell
    sheet["E2"].value = 54                # a number cell
    book.save(tmp_path / "list.xlsx")
    xlsx_snap = read_snapshot(tmp_path / "list.xlsx", snapshot_date=DAY)
    assert xlsx_snap.frame.equals(csv_snap.frame)

    typed = pl.read_csv(tmp_path / "list.csv", infer_schema=False).with_columns(
        pl.col("Clock start date").str.replace("03/02/2024", "2024-02-03").str.to_date(),
        pl.col("Age").cast(pl.Int64), pl.col("IMD decile").cast(pl.Int8))
    typed.write_parquet(tmp_path / "list.parquet")
    parquet_snap = read_snapshot(tmp_path / "list.parquet", snapshot_date=DAY)
    assert parquet_snap.frame.equals(csv_snap.frame)


@pytest.mark.parametrize("name", ["list [final].csv", "list*.csv", "list?.parquet"])
def test_a_file_name_with_pattern_characters_is_read_as_that_file(tmp_path, name):
    # Uploads keep the name people gave them; "[", "*" and "?" are not patterns here.
    csv_snap = read_snapshot(write(tmp_path, GOOD), snapshot_date=DAY)
    path = tmp_path / name
    if name.endswith(".parquet"):
        pl.read_csv(tmp_path / "list.csv", infer_schema=False).write_parquet(path)
    else:
        write(tmp_path, GOOD, name)
    snap = read_snapshot(path, snapshot_date=DAY)
    assert snap.source == name and snap.frame.equals(csv_snap.frame)


def test_parquet_rows_are_numbered_from_one(tmp_path):
    pl.DataFrame({"pathway_id": ["A", "A"], "treatment_function_code": ["110", "110"],
                  "clock_start_date": [date(2024, 1, 1)] * 2,
                  "clinical_priority": ["P2", "P2"]}).write_parquet(tmp_path / "l.parquet")
    with pytest.raises(ValidationError) as excinfo:
        read_snapshot(tmp_path / "l.parquet", snapshot_date=DAY)
    assert problems_of(excinfo)[0][0] == 2
    assert "first at row 1" in problems_of(excinfo)[0][2]


def test_deciles_come_from_lsoa_codes_and_codes_not_found_are_reported(tmp_path, shared_data):
    lookup = ImdLookup.from_csv(shared_data / "imd" / "imd2019_england_lsoa11.csv")
    text = ("pathway_id,treatment_function_code,clock_start_date,clinical_priority,lsoa,"
            "imd_decile\n"
            "A1,110,2024-01-02,P2,E01000001,\n"       # City of London: decile 9
            "A2,110,2024-01-02,P2,E01000002,3\n"      # a decile given wins
            "A3,110,2024-01-02,P2,W01000001,\n"       # Welsh: not in the English index
            "A4,110,2024-01-02,P2,,\n")
    snap = read_snapshot(write(tmp_path, text), snapshot_date=DAY, imd_lookup=lookup)
    assert snap.frame["imd_decile"].to_list() == [9, 3, None, None]
    assert snap.unknowns["imd_decile"] == 2
    assert any("W01000001" in note for note in snap.notes)


@pytest.mark.parametrize("name, content", [
    ("list.csv", ""), ("list.json", "{}"), ("list.xlsx", "not a workbook"),
    ("list.parquet", "nope"),
    ("list.csv", "pathway_id,treatment_function_code,clock_start_date,clinical_priority\n")])
def test_unreadable_or_empty_files_are_refused(tmp_path, name, content):
    with pytest.raises(ValidationError) as excinfo:
        read_snapshot(write(tmp_path, content, name), snapshot_date=DAY)
    assert excinfo.value.file == name


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="not found"):
        read_snapshot(tmp_path / "nothing.csv", snapshot_date=DAY)


_cells = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(
    ["P2", "p4", "P1a", "2024-01-01", "31/12/2023", "110", "E01000001", "1", "Y", "99"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_cells, _cells, _cells, _cells, _cells, _cells), min_size=0,
                max_size=8))
def test_validator_raises_nothing_but_validation_errors(rows):
    columns = ["pathway_id", "treatment_function_code", "clock_start_date",
               "clinical_priority", "age", "imd_decile"]
    raw = pl.DataFrame(rows, schema={c: pl.String for c in columns}, orient="row")
    try:
        snap = validate_snapshot(raw, snapshot_date=DAY)
    except ValidationError:
        return
    assert snap.size == len(rows)
    assert snap.frame["pathway_id"].n_unique() == snap.size
    assert (snap.frame["days_waited"] >= 0).all()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_reader_raises_nothing_but_validation_errors_on_any_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "list.csv"
    path.write_bytes(data)
    try:
        read_snapshot(path, snapshot_date=DAY)
    except ValidationError:
        pass
