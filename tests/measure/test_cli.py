"""`voices measure compute` on files, through the real `voices` command."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
from typer.testing import CliRunner

from voices.cli import app
from voices.measure.fft import FFT_ANSWERS

runner = CliRunner()


def _responses(path, rows=3000):
    rng = np.random.default_rng(7)
    pl.DataFrame({
        "organisation": "RBD",
        "service": rng.choice(["Ward 1", "Ward 2"], rows),
        "period": rng.choice(["2026-04", "2026-05"], rows),
        "response": np.array(FFT_ANSWERS)[rng.choice(6, rows, p=[.5, .3, .07, .05, .04, .04])],
        "imd_decile": rng.integers(1, 11, rows),
        "ethnic_group": rng.choice(["White", "Asian", "Black", ""], rows),
    }).write_csv(path)
    return path


def test_compute_writes_every_table_and_a_manifest(tmp_path):
    src = _responses(tmp_path / "responses.csv")
    out = tmp_path / "out"
    result = runner.invoke(app, ["measure", "compute", str(src), "--out", str(out),
                                 "--simulations", "2000", "--format", "both", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["responses"] == 3000
    for name in ("fft_service", "fft_organisation", "equity_service", "sii_service",
                 "funnel_service"):
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.parquet").is_file()
    fft = pl.read_csv(out / "fft_all.csv")
    assert fft["responses"].sum() == 3000


def test_compute_with_the_default_scorecard(tmp_path):
    src = _responses(tmp_path / "responses.csv")
    out = tmp_path / "out"
    card = "src/voices/measure/scorecards/default.yaml"
    result = runner.invoke(app, ["measure", "compute", str(src), "--out", str(out),
                                 "--simulations", "2000", "--scorecard", card])
    assert result.exit_code == 0, result.output
    sc = pl.read_csv(out / "scorecard_service.csv")
    assert sc["measure_id"][0] == "good_experience" and sc["summary"][0].startswith("People")


def test_bad_file_exits_2_with_a_located_message_and_writes_nothing(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("organisation,service,period,response,count\n"
                   "RBD,Ward 1,2026-04,Good,1\nRBD,Ward 1,2026-04,Good,-3\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["measure", "compute", str(src), "--out", str(out)])
    assert result.exit_code == 2
    assert "bad.csv" in result.output and "row 3" in result.output
    assert "count" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_bad_options_exit_2(tmp_path):
    src = _responses(tmp_path / "responses.csv", rows=50)
    for extra in (["--format", "xlsx"], ["--reference", "sex"],
                  ["--reference", "ethnic_group=purple"]):
        result = runner.invoke(app, ["measure", "compute", str(src), "--out",
                                     str(tmp_path / "o"), *extra])
        assert result.exit_code == 2, (extra, result.output)
