"""Measures from aggregated counts (totals plus one breakdown per dimension) are the same
as measures from one row per response; the published figures hide every small count."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voices.equity.disclosure import SUPPRESSED
from voices.measure.aggregates import (
    complete_breakdowns,
    counts_from_responses,
    measures_from_counts,
    mirror,
)
from voices.measure.compute import MeasureOptions, compute_measures
from voices.measure.fft import FFT_ANSWERS
from voices.measure.intervals import wilson_interval
from voices.measure.published import publish_gaps, publish_rows, publish_slope, rounded_counts
from voices.measure.responses import validate_responses


@pytest.fixture(scope="module")
def responses():
    rng = np.random.default_rng(11)
    n = 12_000
    return pl.DataFrame({
        "organisation": rng.choice(["RZ1", "RZ2"], n),
        "service": rng.choice(["Ward A", "Ward B", "Clinic C"], n),
        "period": rng.choice(["2026-09", "2026-10"], n),
        "response": np.asarray(FFT_ANSWERS)[rng.choice(6, n, p=[.45, .3, .08, .06, .05, .06])],
        "imd_decile": rng.integers(1, 11, n).astype(str),
        "ethnic_group": pl.Series(rng.choice(["white", "asian", "black", ""], n))
        .replace("", None),
    })


def _sorted(frame, keys):
    return frame.sort([k for k in keys if k in frame.columns])


def test_counts_give_exactly_the_measures_of_the_responses(responses):
    options = MeasureOptions(simulations=2000, seed=3)
    direct = compute_measures(validate_responses(responses, first_row=1), options)
    via = measures_from_counts(counts_from_responses(responses), options)
    keys = ["organisation", "service", "period", "dimension", "group"]
    for name in ("fft_service", "fft_organisation", "fft_all", "equity_service",
                 "equity_organisation", "sii_service", "sii_organisation", "funnel_service"):
        assert _sorted(via[name], keys).equals(_sorted(direct[name], keys)), name


def test_a_breakdown_short_of_its_total_is_completed_with_not_known():
    counts = pl.DataFrame({
        "organisation": "RZ1", "service": "A", "period": "2026-10",
        "response": ["Good", "Good", "Poor", "Good"],
        "dimension": ["all", "sex", "all", "sex"], "group": ["all", "1", "all", "2"],
        "count": [10, 4, 3, 5]})
    done = complete_breakdowns(counts)
    unknown = done.filter((pl.col("dimension") == "sex") & (pl.col("group") == "X"))
    assert sorted(unknown.select("response", "count").rows()) == [("Good", 1), ("Poor", 3)]
    sex = done.filter(pl.col("dimension") == "sex").group_by("response").agg(
        pl.col("count").sum()).sort("response")
    assert sex.rows() == [("Good", 10), ("Poor", 3)]


def test_mirrored_answers_turn_positive_into_negative(responses):
    counts = counts_from_responses(responses).filter(pl.col("dimension") == "all")
    original = measures_from_counts(counts, MeasureOptions(simulations=500))["fft_all"]
    mirrored = measures_from_counts(mirror(counts), MeasureOptions(simulations=500))["fft_all"]
    assert np.allclose(mirrored["pct_positive"], original["pct_negative"])
    assert np.allclose(mirrored["pct_negative"], original["pct_positive"])


# ---------------------------------------------------------------- published figures

table = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60)),
                 min_size=1, max_size=8).filter(lambda rows: all(sum(r) > 0 for r in rows))


@settings(max_examples=150, deadline=None)
@given(table)
def test_no_published_count_is_from_1_to_7_and_percentages_use_the_shown_counts(rows):
    published = publish_rows([f"g{i}" for i in range(len(rows))],
                             [str(i) for i in range(len(rows))],
                             *[[r[k] for r in rows] for k in range(3)])
    assert len(published) == len(rows) + 1 and published[-1].is_total
    for row in published:
        for value in (row.positive, row.negative, row.other, row.responses):
            assert value == SUPPRESSED or (value % 5 == 0 and not 1 <= value <= 7)
        if row.pct_positive is not None:
            assert row.pct_positive == pytest.approx(100 * row.positive / row.responses)
            lower, _ = wilson_interval(row.positive, row.responses)
            assert row.pct_positive_lower == pytest.approx(100 * float(lower))
        if row.positive == SUPPRESSED or row.responses == SUPPRESSED:
            assert row.pct_positive is None
        if SUPPRESSED in (row.negative, row.other):     # some non-positive answers exist
            assert row.pct_positive is None or row.pct_positive < 100.0


def test_a_percentage_the_rounding_would_make_100_is_not_published():
    [service, total] = publish_rows(["Team"], ["t"], positive=[38], negative=[2], other=[2])
    assert (service.positive, service.negative, service.other, service.responses) == \
        (40, "*", "*", 40)
    assert service.pct_positive is None and service.pct_positive_lower is None


def test_gaps_and_slope_come_from_the_published_counts_only():
    deciles = [(100 + 10 * d, 30, 20) for d in range(10)]
    rows = publish_rows([f"Decile {d}" for d in range(1, 11)], [str(d) for d in range(1, 11)],
                        *[[r[k] for r in deciles] for k in range(3)])
    slope = publish_slope(rows, simulations=2000)
    assert slope.reason is None and slope.sii_pct_points > 0
    gaps = publish_gaps(rows, "10")
    assert gaps["1"].gap_pct_points == pytest.approx(rows[0].pct_positive - rows[9].pct_positive)
    deciles[3] = (4, 30, 20)                      # a small count: decile 4 is hidden
    rows = publish_rows([f"Decile {d}" for d in range(1, 11)], [str(d) for d in range(1, 11)],
                        *[[r[k] for r in deciles] for k in range(3)])
    assert rows[3].positive == SUPPRESSED
    assert publish_slope(rows).sii_pct_points is None
    assert publish_gaps(rows, "10")["4"].gap_pct_points is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FFT_ANSWERS), st.integers(0, 40)), min_size=1,
                max_size=12))
def test_rounded_counts_never_use_a_small_number(answers):
    counts = pl.DataFrame({"organisation": "RZ1", "service": "A", "period": "2026-10",
                           "dimension": "all", "group": "all",
                           "response": [a for a, _ in answers], "count": [c for _, c in answers]})
    keys = ["organisation", "service", "period", "dimension", "group"]
    rounded = rounded_counts(counts, keys)
    assert all(c % 5 == 0 and c >= 10 or c == 0 for c in rounded["count"].to_list())
    totals = {a: 0 for a in FFT_ANSWERS}
    for a, c in answers:
        totals[a] += c
    positive = totals["Very good"] + totals["Good"]
    rest = sum(totals.values()) - positive
    if rounded.height:       # a published group: % positive from the rounded figures
        shown = dict(rounded.select("response", "count").rows())
        assert shown.get("Very good", 0) == int(np.floor(positive / 5 + 0.5) * 5)
    else:
        assert 1 <= positive <= 7 or 1 <= rest <= 7 or positive + rest == 0
