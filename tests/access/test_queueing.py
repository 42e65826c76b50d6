"""Queueing measures against NHSRwaitinglist's own test values.

Each expected number below is copied from the package's testthat files
(github.com/nhs-r-community/NHSRwaitinglist, tests/testthat/), named beside it.
testthat's ``expect_equal`` compares with a relative tolerance of about 1.5e-8, but
the package writes some expected values to 6-8 decimals, so we compare to 1e-6.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voices.access import queueing as q
from voices.errors import ValidationError

REL = 1e-6


def test_target_queue_size_matches_package_tests():
    # test-calc_target_queue_size.R
    assert q.target_queue_size(demand=30, target_wait=52) == pytest.approx(390, rel=REL)
    assert q.target_queue_size(demand=30, target_wait=50) == pytest.approx(375, rel=REL)
    assert q.target_queue_size(demand=30, target_wait=50, factor=6) == pytest.approx(250, rel=REL)
    np.testing.assert_allclose(
        q.target_queue_size(demand=[30, 30, 30], target_wait=[52, 50, 50], factor=[4, 4, 6]),
        [390, 375, 250], rtol=REL)


def test_target_capacity_matches_package_tests():
    # test-calc_target_capacity.R: calc_target_capacity(30, 52, 3, 1.1, 1.2) = 30.076442
    got = q.target_capacity(demand=30, target_wait=52, factor=3, cv_demand=1.1, cv_capacity=1.2)
    assert got == pytest.approx(30.076442, rel=REL)
    assert got == pytest.approx(30 + ((1.1 ** 2 + 1.2 ** 2) / 2) * (3 / 52), rel=1e-12)


def test_relief_capacity_matches_package_tests():
    # test-calc_relief_capacity.R: 30 + (1200 - 390) / 26 = 61.153846
    got = q.relief_capacity(demand=30, queue_size=1200, target_queue_size=390, time_to_target=26)
    assert got == pytest.approx(61.153846, rel=REL)
    np.testing.assert_allclose(
        q.relief_capacity(demand=[30, 33, 35], queue_size=[1200, 800, 250],
                          target_queue_size=[390, 200, 100], time_to_target=[26, 30, 15]),
        [61.153846, 53, 45], rtol=REL)


def test_relief_capacity_raises_estimated_demand_by_two_standard_errors():
    # calc_relief_capacity.R: demand / (1 - 2 * demand * cv / sqrt(n)) when that is < 1
    got = q.relief_capacity(demand=30, queue_size=1200, target_queue_size=390,
                            time_to_target=26, num_referrals=10_000, cv_demand=1)
    assert got == pytest.approx(30 / (1 - 2 * 30 * 1 / 100) + 810 / 26)


def test_target_mean_wait_load_and_pressure_match_package_tests():
    # test-calc_target_mean_wait.R, test-calc_queue_load.R, test-calc_waiting_list_pressure.R
    assert q.target_mean_wait(target_wait=52, factor=4) == 13
    np.testing.assert_allclose(q.target_mean_wait(target_wait=[35, 30, 52], factor=[4, 4, 6]),
                               [8.75, 7.5, 8.6666667], rtol=REL)
    assert q.queue_load(demand=30, capacity=27) == pytest.approx(1.11111111, rel=REL)
    np.testing.assert_allclose(q.queue_load(demand=[35, 30, 52], capacity=[27, 25, 42]),
                               [1.2962963, 1.2, 1.23809524], rtol=REL)
    assert q.waiting_list_pressure(mean_wait=63, target_wait=52) == pytest.approx(2.42307692,
                                                                                   rel=REL)
    np.testing.assert_allclose(
        q.waiting_list_pressure(mean_wait=[63, 42, 55], target_wait=[52, 24, 50]),
        [2.42307692, 3.5, 2.2], rtol=REL)


def test_percentile_target_is_the_exponential_mean_wait():
    # "92% within 18 weeks": P(W > 18) = exp(-18 / m) = 0.08  =>  m = 18 / ln(12.5)
    mean = q.target_mean_wait(target_wait="92% within 18 weeks")
    assert mean == pytest.approx(18 / math.log(12.5))
    assert q.share_within(mean, 18) == pytest.approx(0.92)
    # The package's factor 4 is the percentile target 1 - exp(-4) (about 98.2%).
    share = 1 - math.exp(-4)
    assert q.target_mean_wait(target_wait=q.WaitTarget(52, share)) == pytest.approx(13)
    assert q.target_queue_size(demand=30, target_wait="92% within 18 weeks") == \
        pytest.approx(30 * mean)
    assert q.target_capacity(demand=30, target_wait="92% within 18 weeks") == \
        pytest.approx(30 + 1 / mean)


def test_percentile_target_and_factor_together_are_refused():
    with pytest.raises(ValidationError, match="not both"):
        q.target_mean_wait(target_wait="92% within 18 weeks", factor=4)


@pytest.mark.parametrize("text, weeks, share", [
    ("92% within 18 weeks", 18, 0.92), ("18 weeks", 18, None), ("52", 52, None),
    ("99.5 % in 52 wks", 52, 0.995), (26, 26, None)])
def test_parse_wait_target(text, weeks, share):
    target = q.parse_wait_target(text)
    assert target.weeks == weeks
    assert target.share == share


@pytest.mark.parametrize("text", ["", "soon", "100% within 18 weeks", "0 weeks", "-3",
                                  "92% within", True, None, [18]])
def test_parse_wait_target_refuses_nonsense(text):
    with pytest.raises(ValidationError):
        q.parse_wait_target(text)


@given(st.one_of(st.text(max_size=40), st.floats(allow_nan=True), st.integers(),
                 st.none(), st.booleans()))
def test_parse_wait_target_raises_only_validation_errors(value):
    try:
        q.parse_wait_target(value)
    except ValidationError:
        pass


@pytest.mark.parametrize("call", [
    lambda: q.target_queue_size(demand="x", target_wait=2),
    lambda: q.target_capacity(demand=1, target_wait=0),
    lambda: q.queue_load(demand=1, capacity=0),
    lambda: q.relief_capacity(demand=1, queue_size=2, target_queue_size=3, time_to_target=0),
    lambda: q.waiting_list_pressure(mean_wait=float("nan"), target_wait=52),
])
def test_bad_arguments_are_refused(call):
    with pytest.raises(ValidationError):
        call()


def test_waiting_list_stats_keeps_waits_in_weeks():
    # test_wl_stats.R "Test 5": the package reports mean_wait = 3 for this list, a
    # figure in days (waits of 6 and 0 days on 10 January), while its target_wait
    # and pressure are in weeks. Here the mean wait is in weeks throughout.
    stats = q.waiting_list_stats(
        [date(2024, 1, 1), date(2024, 1, 4), date(2024, 1, 10)],
        [date(2024, 1, 8), date(2024, 1, 11), None],
        target_wait=4, start_date=date(2024, 1, 1), end_date=date(2024, 1, 10))
    assert stats.mean_wait == pytest.approx(3 / 7)
    assert stats.pressure == pytest.approx(2 * (3 / 7) / 4)
    assert stats.queue_size == 2
    # Demand as wl_referral_stats: gaps between start, referrals and end (0, 3, 6, 0 days).
    assert stats.mean_demand == pytest.approx(7 / 2.25)
    assert stats.target_queue_size == pytest.approx(7 / 2.25 * 4 / 4)


def test_waiting_list_stats_restarts_the_removal_clock_when_the_list_empties():
    # One pathway referred on day 0 and removed on day 7; the list is empty until a
    # referral on day 20, removed on day 21. Capacity gaps: 7 days, then 1 day.
    d0 = date(2024, 1, 1)
    stats = q.waiting_list_stats([d0, date(2024, 1, 21)], [date(2024, 1, 8), date(2024, 1, 22)],
                                 target_wait=4, start_date=d0, end_date=date(2024, 1, 31))
    assert stats.mean_capacity == pytest.approx(7 / 4)
    assert stats.queue_size == 0
