"""Waiting times by equity group."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from voices.access.snapshot import validate_snapshot
from voices.access.synthetic import synthetic_waiting_list
from voices.access.waits import holm, quantile_interval, wait_equity
from voices.errors import ValidationError
from voices.measure.inequality import slope_index_of_inequality
from voices.measure.intervals import wilson_interval

from .conftest import snapshot_of

DAY = date(2024, 11, 30)


@pytest.fixture(scope="module")
def equity():
    snap = validate_snapshot(synthetic_waiting_list(20_000, snapshot_date=DAY, seed=3),
                             snapshot_date=DAY)
    return snap, wait_equity(snap)


def test_median_interval_uses_the_binomial_order_statistics():
    # For n = 100 the 95% distribution-free interval for the median runs from the 40th
    # to the 61st smallest value (Conover 1999, Table A3 / section 3.2).
    values = np.arange(1, 101, dtype=float)
    estimate, lower, upper = quantile_interval(values, 0.5)
    assert (estimate, lower, upper) == (50.5, 40.0, 61.0)
    # Too few values to bound the 92nd percentile from above.
    assert np.isnan(quantile_interval(np.arange(10.0), 0.92)[2])


def test_holm_adjustment():
    # Sorted p-values 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, made non-decreasing.
    adjusted = holm(np.array([0.01, 0.04, 0.03, 0.005, np.nan]))
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])


def test_counts_and_wilson_intervals_are_exact(equity):
    snap, result = equity
    days = snap.frame["days_waited"].to_numpy()
    row = result.table.filter(pl.col("dimension") == "list").row(0, named=True)
    assert row["pathways"] == snap.size
    assert row["over_52"] == int((days > 364).sum())
    lower, upper = wilson_interval(row["over_52"], row["pathways"])
    assert row["pct_over_52_lower"] == pytest.approx(100 * lower)
    assert row["pct_over_52_upper"] == pytest.approx(100 * upper)
    assert row["median_weeks"] == pytest.approx(np.median(days) / 7)


def test_every_group_is_shown_and_groups_add_up(equity):
    snap, result = equity
    for dimension in ("imd_decile", "imd_quintile", "ethnic_group", "age_band", "sex",
                      "learning_disability", "ethnic_group_by_imd_quintile"):
        part = result.table.filter(pl.col("dimension") == dimension)
        assert part["pathways"].sum() == snap.size, dimension
        assert part["over_18"].sum() == result.table.filter(
            pl.col("dimension") == "list")["over_18"].item()
    deciles = result.table.filter(pl.col("dimension") == "imd_decile")["group"].to_list()
    assert deciles == [str(d) for d in range(1, 11)] + ["not_known"]
    not_known = result.table.filter((pl.col("dimension") == "imd_decile")
                                    & (pl.col("group") == "not_known"))
    assert not_known["pathways"].item() == snap.unknowns["imd_decile"]


def test_the_sii_comes_from_voices_measure(equity):
    _, result = equity
    deciles = result.table.filter((pl.col("dimension") == "imd_decile")
                                  & (pl.col("group") != "not_known"))
    direct = slope_index_of_inequality(
        deciles["mean_weeks"].to_numpy(), deciles["pathways"].to_numpy(),
        value_lower=deciles["mean_weeks_lower"].to_numpy(),
        value_upper=deciles["mean_weeks_upper"].to_numpy())
    assert result.sii["mean_weeks"] == direct
    # The synthetic list has the King's Fund gradient: the most deprived wait longer.
    assert result.sii["pct_over_52"].sii_upper < 0
    assert result.sii["mean_weeks"].sii_upper < 0


def test_groups_with_more_long_waits_are_flagged():
    rows = ([{"imd_decile": 1, "weeks": 60} for _ in range(60)]
            + [{"imd_decile": 1, "weeks": 5} for _ in range(140)]
            + [{"imd_decile": 9, "weeks": 60} for _ in range(10)]
            + [{"imd_decile": 9, "weeks": 5} for _ in range(190)])
    result = wait_equity(snapshot_of(rows))
    flagged = result.flagged()
    assert ("imd_decile", "1") in set(zip(flagged["dimension"], flagged["group"]))
    assert ("imd_decile", "9") not in set(zip(flagged["dimension"], flagged["group"]))
    assert result.sii["pct_over_52"] is None   # not every decile present


def test_bad_options_are_refused(equity):
    snap, _ = equity
    with pytest.raises(ValidationError):
        wait_equity(snap, long_wait_weeks=40)
    with pytest.raises(ValidationError):
        wait_equity(snap, dimensions=("postcode",))
    with pytest.raises(ValidationError):
        wait_equity(snap, confidence=1.5)
