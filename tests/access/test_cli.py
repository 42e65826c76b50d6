"""`voices access` commands, end to end on files."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from voices.access.synthetic import synthetic_waiting_list
from voices.cli import app

from .conftest import POLICIES

runner = CliRunner()
DAY = "2024-11-30"


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "list.csv"
    synthetic_waiting_list(3000, snapshot_date=date(2024, 11, 30), seed=5).write_csv(path)
    return path


def run(*args):
    return runner.invoke(app, ["access", *map(str, args)])


def test_rank_writes_the_ordered_list_with_explanations(snapshot_file, tmp_path):
    out = tmp_path / "ranked.csv"
    result = run("rank", snapshot_file, "--policy", POLICIES / "equity_weighted.yaml",
                 "--out", out, "--date", DAY)
    assert result.exit_code == 0, result.output
    ranked = pl.read_csv(out)
    assert ranked.height == 3000
    assert ranked["position"].to_list() == list(range(1, 3001))
    assert ranked["explanation"][0].endswith("position 1 of 3,000")
    assert "Not known (never guessed)" in result.stdout


def test_rank_without_out_writes_into_the_current_folder(snapshot_file, tmp_path,
                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("rank", snapshot_file, "--policy", POLICIES / "clinical_fifo.yaml",
                 "--date", DAY)
    assert result.exit_code == 0, result.output
    assert "Wrote the ordered list to list-ranked.csv" in result.stdout
    assert pl.read_csv(tmp_path / "list-ranked.csv")["position"].to_list()[-1] == 3000
    assert "No --date given" not in result.stderr


def test_without_a_date_the_list_is_taken_as_of_today_and_says_so(snapshot_file):
    result = run("waits", snapshot_file, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["snapshot_date"] == date.today().isoformat()
    assert f"No --date given, so the list is taken to be from today ({date.today()})" in \
        result.stderr


def test_rank_writes_excel_and_parquet(snapshot_file, tmp_path):
    for name in ("ranked.xlsx", "ranked.parquet"):
        result = run("rank", snapshot_file, "--policy", POLICIES / "clinical_fifo.yaml",
                     "--out", tmp_path / name, "--date", DAY, "--json")
        assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "ranked.xlsx", read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("position", "pathway_id") and len(rows) == 3001
    assert pl.read_parquet(tmp_path / "ranked.parquet")["pathway_id"].to_list() == \
        [r[1] for r in rows[1:]]


def test_rank_refuses_a_bad_snapshot_with_one_located_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("pathway_id,treatment_function_code,clock_start_date,clinical_priority\n"
                   "A,110,2030-01-01,P2\n")
    result = run("rank", bad, "--policy", POLICIES / "clinical_fifo.yaml", "--out",
                 tmp_path / "o.csv", "--date", DAY)
    assert result.exit_code == 2
    assert "bad.csv, row 2, column 'clock_start_date'" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.csv").exists()


def test_every_problem_in_a_file_is_listed_and_the_last_line_is_located(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("pathway_id,treatment_function_code,clock_start_date,clinical_priority\n"
                   "A1,110,2025-01-05,P2\nA2,110,2024-01-05,P7\nA1,120,2024-02-01,P3\n")
    result = run("waits", bad, "--date", DAY)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert [line.strip().split(":")[0] for line in lines[:3]] == [
        "bad.csv, row 2, column 'clock_start_date'", "bad.csv, row 3, column "
        "'clinical_priority'", "bad.csv, row 4, column 'pathway_id'"]
    assert lines[-1].startswith("error: bad.csv, row 2") and "(and 2 more problems)" in lines[-1]


def test_names_with_square_brackets_are_printed_as_they_are(tmp_path):
    bad = tmp_path / "[v2] list.csv"
    bad.write_text("pathway_id,treatment_function_code,clock_start_date,clinical_priority\n"
                   "[x]1,110,2025-01-05,P2\n")
    result = run("waits", bad, "--date", DAY)
    assert result.exit_code == 2
    assert "error: [v2] list.csv, row 2, column 'clock_start_date'" in result.stderr


@pytest.mark.parametrize("command", ["waits", "rank", "simulate"])
def test_a_snapshot_date_in_the_future_is_refused(snapshot_file, tmp_path, command):
    later = date.fromordinal(date.today().toordinal() + 1).isoformat()
    args = {"waits": ["waits", snapshot_file],
            "rank": ["rank", snapshot_file, "--policy", POLICIES / "clinical_fifo.yaml",
                     "--out", tmp_path / "o.csv"],
            "simulate": ["simulate", "--snapshot", snapshot_file, "--policies",
                         POLICIES / "clinical_fifo.yaml", "--charts", tmp_path / "c"]}[command]
    result = run(*args, "--date", later)
    assert result.exit_code == 2
    assert f"column '--date': The snapshot date {later} is in the future" in result.stderr
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "c").exists()


def test_rank_refuses_a_policy_that_breaks_its_safeguard(snapshot_file, tmp_path):
    text = (POLICIES / "accumulating_priority.yaml").read_text().replace(
        "P4: {rate: 1, head_start: 10}", "P4: {rate: 2.5, head_start: 10}")
    policy = tmp_path / "loose.yaml"
    policy.write_text(text)
    result = run("rank", snapshot_file, "--policy", policy, "--out", tmp_path / "o.csv",
                 "--date", DAY)
    assert result.exit_code == 2
    assert "loose.yaml" in result.stderr and "clinical_priorities.P4.rate" in result.stderr


def test_simulate_prints_json_and_writes_charts(snapshot_file, tmp_path):
    charts = tmp_path / "charts"
    result = run("simulate", "--snapshot", snapshot_file, "--policies",
                 POLICIES / "clinical_fifo.yaml", POLICIES / "equity_weighted.yaml",
                 "--weeks", 8, "--replications", 3, "--date", DAY, "--charts", charts, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["policies"] == ["Clinical priority, then longest wait",
                                "Equity-weighted accumulating priority"]
    assert data["settings"]["replications"] == 3
    measures = {row["measure"] for row in data["comparison"]}
    assert {"pct_over_52", "breaches_18", "gap_over_52", "sii_over_52"} <= measures
    for name in ("long_waits_by_deprivation", "long_waits_over_time"):
        svg = (charts / f"{name}.svg").read_text()
        assert svg.startswith("<svg") and "<desc>" in svg
        assert (charts / f"{name}.txt").read_text().strip()
        assert pl.read_csv(charts / f"{name}.csv").height > 0


def test_simulate_prints_a_comparison_table(snapshot_file, tmp_path):
    result = run("simulate", "--snapshot", snapshot_file, "--policies",
                 POLICIES / "clinical_fifo.yaml", POLICIES / "accumulating_priority.yaml",
                 "--weeks", 4, "--replications", 2, "--date", DAY, "--charts", tmp_path)
    assert result.exit_code == 0, result.output
    assert "Treated" in result.stdout and "change" in result.stdout
    assert "Accumulating" in result.stdout


def test_waits_reports_groups_and_the_sii(snapshot_file):
    result = run("waits", snapshot_file, "--date", DAY, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    dimensions = {g["dimension"] for g in data["groups"]}
    assert {"imd_quintile", "ethnic_group", "ethnic_group_by_imd_quintile"} <= dimensions
    assert data["sii"]["pct_over_52"]["sii"] is not None


def test_rtt_summary_matches_the_check_figures(shared_data):
    result = run("rtt", shared_data / "rtt" / "rtt_full_extract_sample_RBD_2024-11.csv",
                 "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert (row["pathways"], row["over_52"], round(row["pct_within_18"], 1)) == \
        (21_702, 647, 57.8)


def test_targets_take_a_percentile_target():
    result = run("targets", "--demand", 30, "--target", "92% within 18 weeks",
                 "--queue-size", 1200, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["target_mean_wait_weeks"] == pytest.approx(7.1267, abs=1e-4)
    bad = run("targets", "--demand", 30, "--target", "soon")
    assert bad.exit_code == 2 and "--target" in bad.stderr


def test_simulate_takes_flows_by_treatment_function(snapshot_file, tmp_path):
    codes = pl.read_csv(snapshot_file, infer_schema=False)["treatment_function_code"].unique()
    flows = tmp_path / "flows.csv"
    pl.DataFrame({"treatment_function_code": codes,
                  "referrals_per_week": [10.0] * codes.len(),
                  "capacity_per_week": [12.0] * codes.len()}).write_csv(flows)
    result = run("simulate", "--snapshot", snapshot_file, "--policies",
                 POLICIES / "clinical_fifo.yaml", "--weeks", 4, "--replications", 2,
                 "--date", DAY, "--charts", tmp_path / "c", "--flows", flows, "--json")
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert settings["referrals_per_week"] == pytest.approx(10.0 * codes.len())
    assert settings["capacity_per_week"] == pytest.approx(12.0 * codes.len())

    flows.write_text("treatment_function_code,referrals_per_week\n110,lots\n")
    bad = run("simulate", "--snapshot", snapshot_file, "--policies",
              POLICIES / "clinical_fifo.yaml", "--weeks", 4, "--date", DAY, "--flows", flows)
    assert bad.exit_code == 2
    assert "flows.csv, row 2, column 'referrals_per_week'" in bad.stderr

    flows.write_text("treatment_function_code,referrals_per_week\n110,5\nZZZ,5\n")
    unknown = run("simulate", "--snapshot", snapshot_file, "--policies",
                  POLICIES / "clinical_fifo.yaml", "--weeks", 4, "--date", DAY, "--flows", flows)
    assert unknown.exit_code == 2
    assert ("flows.csv, row 3, column 'treatment_function_code': treatment function 'ZZZ' "
            "is not in the snapshot") in unknown.stderr
