"""Confidence intervals checked against published worked examples and exact coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from voices.measure.intervals import (
    difference_interval,
    mean_interval,
    mean_interval_of,
    ratio_interval,
    wilson_interval,
    z_for,
)

# Newcombe RG, Statistics in Medicine 1998;17:857-872, Table II, method 3 (Wilson score
# interval without continuity correction), 95%.
NEWCOMBE_SINGLE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize("x, n, lo, hi", NEWCOMBE_SINGLE)
def test_wilson_matches_newcombe_1998(x, n, lo, hi):
    lower, upper = wilson_interval(x, n, 0.95)
    assert float(lower) == pytest.approx(lo, abs=5e-5)
    assert float(upper) == pytest.approx(hi, abs=5e-5)


# Newcombe RG, Statistics in Medicine 1998;17:873-890, Table II, method 10 (score interval
# for the difference, built from Wilson intervals), 95%.
NEWCOMBE_DIFFERENCE = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
    (10, 10, 0, 10, 0.6075, 1.0000),
]


@pytest.mark.parametrize("x1, n1, x2, n2, lo, hi", NEWCOMBE_DIFFERENCE)
def test_difference_matches_newcombe_method_10(x1, n1, x2, n2, lo, hi):
    d, lower, upper = difference_interval(x1, n1, x2, n2, 0.95)
    assert float(d) == pytest.approx(x1 / n1 - x2 / n2)
    assert float(lower) == pytest.approx(lo, abs=5e-5)
    assert float(upper) == pytest.approx(hi, abs=5e-5)


def test_critical_values_for_the_two_levels_used():
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_for(0.998) == pytest.approx(3.090232, abs=1e-6)


def test_t_interval_matches_r_documentation_sleep_example():
    # Student's sleep data (Cushny & Peebles), extra hours of sleep drug 2 minus drug 1;
    # R's documented t.test(..., paired = TRUE) gives mean difference 1.58 with 95% CI
    # 0.7001142 to 2.4598858 (printed there with the opposite sign).
    diffs = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]
    mean, lo, hi = mean_interval_of(diffs)
    assert mean == pytest.approx(1.58)
    assert lo == pytest.approx(0.7001142, abs=1e-7)
    assert hi == pytest.approx(2.4598858, abs=1e-7)


def test_mean_interval_from_sums_handles_tiny_groups():
    mean, lo, hi, sd = mean_interval([0, 1, 3], [0.0, 5.0, 6.0], [0.0, 25.0, 14.0])
    assert np.isnan(mean[0]) and mean[1] == 5.0 and np.isnan(lo[1])
    assert sd[2] == pytest.approx(1.0) and lo[2] < 2.0 < hi[2]


def test_wilson_empty_group_is_nan_not_error():
    lo, hi = wilson_interval([0, 3], [0, 10])
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and 0 < lo[1] < 0.3 < hi[1]


def _exact_coverage(interval, n1, p1, n2, p2, truth):
    """Probability, over every possible pair of counts, that the interval holds the truth."""
    x1, x2 = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    _, lo, hi = interval(x1, n1, x2, n2, 0.95)
    prob = binom.pmf(x1, n1, p1) * binom.pmf(x2, n2, p2)
    return float(prob[(lo <= truth) & (truth <= hi)].sum())


@pytest.mark.parametrize("n1, p1, n2, p2", [(40, 0.3, 60, 0.5), (80, 0.85, 50, 0.7),
                                             (120, 0.1, 120, 0.2)])
def test_gap_intervals_have_close_to_nominal_exact_coverage(n1, p1, n2, p2):
    diff_cov = _exact_coverage(difference_interval, n1, p1, n2, p2, p1 - p2)
    ratio_cov = _exact_coverage(ratio_interval, n1, p1, n2, p2, p1 / p2)
    assert 0.93 <= diff_cov <= 0.975
    assert 0.93 <= ratio_cov <= 0.975


def test_ratio_interval_approaches_log_interval_with_large_counts():
    # With thousands of responses MOVER-R and the Katz log interval agree closely.
    x1, n1, x2, n2 = 5600, 7000, 4800, 8000
    ratio, lo, hi = ratio_interval(x1, n1, x2, n2)
    se = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    assert float(lo) == pytest.approx(ratio * np.exp(-1.959964 * se), rel=1e-3)
    assert float(hi) == pytest.approx(ratio * np.exp(1.959964 * se), rel=1e-3)


def test_ratio_with_zero_reference_is_unbounded():
    ratio, lo, hi = ratio_interval(5, 20, 0, 20)
    assert np.isinf(ratio) and np.isinf(hi) and lo > 0


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.95, 0.998]))
def test_wilson_contains_estimate_and_widens_with_confidence(xn, confidence):
    x, n = xn
    lo, hi = wilson_interval(x, n, confidence)
    lo95, hi95 = wilson_interval(x, n, 0.95)
    assert 0 <= lo <= x / n <= hi <= 1
    assert lo <= lo95 + 1e-12 and hi >= hi95 - 1e-12
