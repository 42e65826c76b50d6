"""`voices involve panel`: the JSON interface, the draw, and one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from voices.cli import app

runner = CliRunner()


def pool_args(shared_data, name="example_small_20", k="20"):
    folder = shared_data / "sortition" / "pools" / name
    return ["involve", "panel", "select", "--people", str(folder / "people.csv"),
            "--features", str(folder / "features.csv"), "--k", k]


def test_select_json_has_the_documented_fields(shared_data):
    result = runner.invoke(app, [*pool_args(shared_data), "--algorithm", "leximin", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"algorithm", "n", "k", "seconds", "min_probability", "max_probability",
            "probabilities", "panels"} <= set(data)
    assert data["n"] == 200 and data["k"] == 20 and data["algorithm"] == "leximin"
    assert abs(data["min_probability"] - 0.1) < 1e-6 and len(data["probabilities"]) == 200
    assert "panel" not in data


def test_draw_adds_the_panel_and_can_be_repeated_from_the_ticket_file(shared_data, tmp_path):
    tickets = tmp_path / "tickets.txt"
    result = runner.invoke(app, [*pool_args(shared_data), "--json", "--draw", "--seed", "42",
                                 "--tickets-out", str(tickets)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["panel"]) == 20 and data["draw"]["tickets"] == 1000
    again = runner.invoke(app, ["involve", "panel", "draw", "--tickets", str(tickets),
                                "--seed", "42", "--json"])
    assert again.exit_code == 0, again.output
    redo = json.loads(again.stdout)
    assert redo["panel"] == data["panel"] and redo["sha256"] == data["draw"]["sha256"]


def test_legacy_runs_from_the_cli(shared_data):
    result = runner.invoke(app, [*pool_args(shared_data), "--algorithm", "legacy", "--runs",
                                 "300", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["algorithm"] == "legacy"


def test_errors_are_one_located_line_with_exit_code_2(shared_data):
    result = runner.invoke(app, pool_args(shared_data, k="500"))
    assert result.exit_code == 2
    assert "panel size 500 is out of range" in result.output
    assert "Traceback" not in result.output
    bad = runner.invoke(app, [*pool_args(shared_data), "--algorithm", "random"])
    assert bad.exit_code == 2 and "unknown algorithm" in bad.output


def test_panels_out_lists_the_lottery_over_panels(shared_data, tmp_path):
    out = tmp_path / "panels.json"
    result = runner.invoke(app, [*pool_args(shared_data), "--panels-out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    panels = json.loads(out.read_text())
    assert abs(sum(p["weight"] for p in panels) - 1) < 1e-9
    assert all(sum(g["count"] for g in p["groups"]) == 20 for p in panels)
    assert len(panels) == json.loads(result.stdout)["panels"]
