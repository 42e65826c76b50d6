"""The full measure set agrees with direct calculations on the same responses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from voices.errors import ValidationError
from voices.measure import compute as compute_module
from voices.measure.compute import MeasureOptions, compute_measures, write_measures
from voices.measure.fft import FFT_ANSWERS
from voices.measure.funnel import ProportionFunnel
from voices.measure.inequality import slope_index_of_inequality
from voices.measure.intervals import difference_interval, wilson_interval
from voices.measure.responses import validate_responses

POSITIVE = ["Very good", "Good"]


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    rng = np.random.default_rng(42)
    n = 40_000
    decile = rng.integers(1, 11, n)
    p_pos = 0.6 + 0.025 * decile                    # better experience in richer areas
    answer = np.where(rng.random(n) < p_pos, rng.integers(0, 2, n), rng.integers(2, 6, n))
    return pl.DataFrame({
        "icb": rng.choice(["QVV", "QSL"], n),
        "organisation": "",
        "service": rng.choice(["Ward 1", "Ward 2", "Ward 3", "Clinic"], n),
        "period": rng.choice(["2026-01", "2026-02", "2026-03"], n),
        "response": np.array(FFT_ANSWERS)[answer],
        "count": rng.integers(1, 3, n),
        "imd_decile": decile.astype(str),
        "sex": rng.choice(["1", "2", "X"], n, p=[0.45, 0.5, 0.05]),
    }).with_columns(
        # each ICB's services belong to one organisation, so a service has one ICB
        pl.when(pl.col("icb") == "QVV").then(pl.lit("RBD")).otherwise(pl.lit("RXQ"))
        .alias("organisation"))


@pytest.fixture(scope="module")
def measures(raw):
    return compute_measures(validate_responses(raw), MeasureOptions(simulations=20_000))


def test_fft_per_service_matches_a_direct_count(raw, measures):
    direct = (raw.group_by("organisation", "service", "period")
              .agg(pl.col("count").sum().alias("n"),
                   pl.col("count").filter(pl.col("response").is_in(POSITIVE)).sum().alias("pos")))
    got = measures["fft_service"].join(direct, on=["organisation", "service", "period"])
    assert got.height == direct.height == measures["fft_service"].height
    assert (got["responses"] == got["n"]).all()
    assert np.allclose(got["pct_positive"], 100 * got["pos"] / got["n"])


def test_organisation_and_icb_levels_are_sums_of_their_services(measures):
    services = measures["fft_service"]
    for level, key in (("fft_organisation", "organisation"), ("fft_icb", "icb")):
        summed = services.group_by(key, "period").agg(pl.col("responses", "positive").sum())
        got = measures[level].join(summed, on=[key, "period"], suffix="_sum")
        assert (got["responses"] == got["responses_sum"]).all()
        assert np.allclose(got["pct_positive"], 100 * got["positive_sum"] / got["responses_sum"])
    assert measures["fft_all"]["responses"].sum() == services["responses"].sum()


def test_equity_breakdown_and_gap_match_direct_calculation(raw, measures):
    sex = measures["equity_service"].filter(pl.col("dimension") == "sex")
    here = ((pl.col("organisation") == "RBD") & (pl.col("service") == "Ward 2")
            & (pl.col("period") == "2026-02"))
    row = sex.filter(here & (pl.col("group") == "1")).row(0, named=True)
    part = raw.filter(here)

    def counts(code):
        g = part.filter(pl.col("sex") == code)
        return (g.filter(pl.col("response").is_in(POSITIVE))["count"].sum(), g["count"].sum())

    x1, n1 = counts("1")
    x2, n2 = counts("2")                    # women are the reference group for sex
    assert row["reference_group"] == "2" and row["responses"] == n1
    lo, _ = wilson_interval(x1, n1, 0.95)
    assert row["pct_positive_lower_95"] == pytest.approx(100 * lo)
    d, dlo, dhi = difference_interval(x1, n1, x2, n2)
    assert row["gap_pct_points"] == pytest.approx(100 * d)
    assert (row["gap_lower_95"], row["gap_upper_95"]) == pytest.approx((100 * dlo, 100 * dhi))
    ref = sex.filter(here & (pl.col("group") == "2")).row(0, named=True)
    assert ref["is_reference"] and np.isnan(ref["gap_pct_points"])
    unknown = sex.filter(pl.col("group") == "X")
    assert unknown["gap_pct_points"].is_nan().all()


def test_sii_per_service_is_the_single_set_calculation(raw, measures):
    here = ((pl.col("organisation") == "RXQ") & (pl.col("service") == "Clinic")
            & (pl.col("period") == "2026-03"))
    part = raw.filter(here)
    by_decile = (part.group_by("imd_decile")
                 .agg(pl.col("count").sum().alias("n"),
                      pl.col("count").filter(pl.col("response").is_in(POSITIVE)).sum()
                      .alias("pos"))
                 .with_columns(pl.col("imd_decile").cast(pl.Int64)).sort("imd_decile"))
    n, pos = by_decile["n"].to_numpy(), by_decile["pos"].to_numpy()
    lo, hi = wilson_interval(pos, n, 0.95)
    one = slope_index_of_inequality(pos / n, n, value_lower=lo, value_upper=hi,
                                    kind="proportion", transform=True, simulations=20_000)
    row = measures["sii_service"].filter(here).row(0, named=True)
    assert row["method"] == "logit"
    assert row["sii_pct_points"] == pytest.approx(100 * one.sii)
    assert row["sii_lower_95"] == pytest.approx(100 * one.sii_lower)
    assert row["rii_upper_95"] == pytest.approx(one.rii_upper)
    # the data were built with experience improving from decile 1 to 10
    assert row["sii_pct_points"] > 0


def test_sii_needs_every_decile_and_survives_a_decile_at_100_percent():
    rows = [("RBD", "Ward 1", "2026-01", "Good", d, 5) for d in range(1, 11)]
    rows += [("RBD", "Ward 1", "2026-01", "Poor", d, 2) for d in range(2, 11)]
    rows += [("RBD", "Ward 2", "2026-01", "Good", d, 5) for d in range(1, 10)]
    frame = pl.DataFrame(rows, schema=["organisation", "service", "period", "response",
                                       "imd_decile", "count"], orient="row")
    sii = compute_measures(validate_responses(frame),
                           MeasureOptions(simulations=2000))["sii_service"].sort("service")
    ward1, ward2 = sii.row(0, named=True), sii.row(1, named=True)
    assert ward1["method"] == "empirical logit" and np.isfinite(ward1["sii_pct_points"])
    assert ward2["deciles_with_responses"] == 9 and np.isnan(ward2["sii_pct_points"])
    assert "all 10" in ward2["note"]


def test_funnel_uses_each_period_services(measures):
    month = measures["fft_service"].filter(pl.col("period") == "2026-01").sort("service",
                                                                              "organisation")
    funnel = ProportionFunnel(overdispersion="additive").fit(month["positive"],
                                                             month["responses"])
    got = (measures["funnel_service"].filter(pl.col("period") == "2026-01")
           .sort("service", "organisation"))
    assert got["target_pct"][0] == pytest.approx(100 * funnel.target_)
    assert got["tau2"][0] == pytest.approx(funnel.tau2_)
    assert np.allclose(got["additive_upper_95"],
                       100 * funnel.limits(month["responses"].to_numpy())["upper_95"])


def test_unknown_reference_group_is_refused(raw):
    with pytest.raises(ValidationError):
        compute_measures(validate_responses(raw), MeasureOptions(references={"sex": "7"}))


def test_written_set_is_complete_and_replaces_an_earlier_one(measures, tmp_path):
    out = tmp_path / "measures"
    written = write_measures(measures, out, ("csv", "parquet"))
    assert {p.name for p in written} == {p.name for p in out.iterdir()}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["fft_service"]["rows"] == measures["fft_service"].height
    assert pl.read_csv(out / "fft_all.csv")["responses"].sum() == measures.responses
    write_measures(measures, out, ("csv",))
    assert not list(out.glob("*.parquet"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_nothing_is_half_written_when_writing_fails(measures, tmp_path, monkeypatch):
    out = tmp_path / "measures"
    write_measures(measures, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = {"n": 0}
    real = pl.DataFrame.write_csv

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_csv", failing)
    with pytest.raises(OSError):
        write_measures(measures, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["measures"]


def test_folder_with_other_files_is_not_overwritten(measures, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValidationError):
        write_measures(measures, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_module_has_no_database_or_web_imports():
    source = Path(compute_module.__file__).read_text()
    assert "voices.db" not in source and "voices.web" not in source
