"""The waiting-list simulator: NHSRwaitinglist's FIFO semantics, queueing theory, common
random numbers, the clinical safeguard, and exactness of the windowed selection."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voices.access import simulation as S
from voices.access.policy import read_policy
from voices.access.snapshot import PRIORITIES, validate_snapshot
from voices.access.synthetic import synthetic_cohort, synthetic_waiting_list
from voices.errors import ValidationError

from .conftest import POLICIES

FIFO = read_policy(POLICIES / "clinical_fifo.yaml")
APQ = read_policy(POLICIES / "accumulating_priority.yaml")
EQUITY = read_policy(POLICIES / "equity_weighted.yaml")


def one_specialty_cohort(n: int, priority: int = 4, days: np.ndarray | None = None) -> S.Cohort:
    minus = np.full(n, -1, dtype=np.int8)
    return S.Cohort(days_waited=np.zeros(n, np.int32) if days is None else days.astype(np.int32),
                    specialty=np.zeros(n, np.int16), priority=np.full(n, priority, np.int8),
                    imd_decile=np.zeros(n, np.int8), ethnic_group=minus, age_band=minus,
                    sex=minus, learning_disability=minus, interpreter_needed=minus,
                    carer=minus, specialties=("110",))


# --------------------------------------------------------------------------- NHSRwaitinglist


def nhsr_schedule(referral_days: list[int], slot_days: list[int]) -> list[tuple[int, int]]:
    """NHSRwaitinglist ``wl_schedule`` semantics (R/wl_schedule.R), restated: slots are
    taken in date order; each goes to the earliest-referred pathway still waiting if the
    slot's day is after that referral's day, and is lost otherwise."""
    waiting = sorted(referral_days)
    out, i = [], 0
    for slot in sorted(slot_days):
        if i < len(waiting) and slot > waiting[i]:
            out.append((waiting[i], slot))
            i += 1
    return out


def nhsr_slots(days: int, daily_capacity: float) -> list[int]:
    """NHSRwaitinglist ``sim_schedule``: slot days ceiling(seq(0, n - 1, 1 / capacity))."""
    count = math.floor((days - 1) * daily_capacity + 1e-9) + 1
    return [math.ceil(j / daily_capacity - 1e-12) for j in range(count)]


def simulate_fifo_daily(referral_days: list[int], slot_days: list[int], days: int):
    n = len(referral_days)
    cohort = one_specialty_cohort(n)
    pool = S.make_pool(cohort, np.arange(n), np.array(referral_days), np.array(referral_days),
                       np.full(n, S.NEVER))
    capacity = np.bincount(np.array(slot_days, dtype=np.int64), minlength=days + 1)[1:days + 1]
    outcome = S.run_policy(pool, cohort, FIFO, capacity[:, None], step_days=1)
    start = pool.start_day
    treated = outcome.treated
    return sorted(zip(start[treated].tolist(), outcome.removal_step[treated].tolist()))


def test_fifo_matches_the_wl_schedule_example():
    # R/wl_schedule.R example: referrals on 1, 4, 10 and 16 January (the first already
    # removed, so left out here) and slots on 3, 5 and 18 January. Day 0 = 1 January.
    assert nhsr_schedule([3, 9, 15], [2, 4, 17]) == [(3, 4), (9, 17)]
    assert simulate_fifo_daily([3, 9, 15], [2, 4, 17], days=20) == [(3, 4), (9, 17)]


@settings(max_examples=40, deadline=None)
@given(days=st.integers(5, 120), demand=st.floats(1, 40), capacity=st.floats(0.5, 45),
       seed=st.integers(0, 10_000))
def test_fifo_matches_nhsr_waitinglist_simulator_semantics(days, demand, capacity, seed):
    # wl_simulator: Poisson(demand × days / 7) referrals on uniformly drawn days, then
    # wl_schedule with sim_schedule's evenly spread daily slots.
    rng = np.random.default_rng(seed)
    referrals = sorted(rng.integers(0, days, size=rng.poisson(demand * days / 7)).tolist())
    slots = nhsr_slots(days, capacity / 7)
    assert simulate_fifo_daily(referrals, slots, days) == nhsr_schedule(referrals, slots)


# --------------------------------------------------------------------------- queueing theory


def test_littles_law_on_a_long_stable_run():
    # L = λW (Little 1961): mean list size over the steps equals the arrival rate times
    # the mean time on the list, for a stable list (40 referrals, 44 slots a week).
    steps, demand, slots = 1040, 40.0, 44
    cohort = one_specialty_cohort(1)
    rng = np.random.default_rng(3)
    pool = S.draw_pool(cohort, steps=steps, step_days=7, referrals=np.array([demand]),
                       removal_chance=0.0, rng=rng, donors=[np.array([0])])
    capacity = np.full((steps, 1), slots)
    outcome = S.run_policy(pool, cohort, FIFO, capacity, step_days=7)
    series = S.list_series(pool, outcome, steps=steps, step_days=7)
    entry, leave = pool.entry_step, outcome.removal_step
    inside = (entry >= 1) & (leave <= steps)
    time_on_list = (leave[inside] - entry[inside]).mean()       # in step-ends
    arrival_rate = inside.sum() / steps
    mean_size = series["waiting"][1:].mean()
    assert mean_size == pytest.approx(arrival_rate * time_on_list, rel=0.02)


def test_other_removals_happen_at_the_stated_rate():
    n, weeks, chance = 20_000, 52, 0.01
    cohort = one_specialty_cohort(n, days=np.full(n, 10))
    pool = S.draw_pool(cohort, steps=weeks, step_days=7, referrals=np.array([0.0]),
                       removal_chance=chance, rng=np.random.default_rng(1),
                       donors=[np.arange(n)])
    outcome = S.run_policy(pool, cohort, FIFO, np.zeros((weeks, 1), dtype=np.int64))
    removed = (outcome.removal_step <= weeks).mean()
    expected = 1 - (1 - chance) ** weeks
    assert removed == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / n))
    assert not outcome.treated.any()


def test_capacity_schedule_spreads_slots_evenly():
    schedule = S.capacity_schedule(np.array([2.5, 0.0, 7.0]), steps=4, step_days=7)
    assert schedule[:, 0].tolist() == [2, 3, 2, 3]
    assert schedule[:, 1].tolist() == [0, 0, 0, 0]
    daily = S.capacity_schedule(np.array([7.0]), steps=14, step_days=1)
    assert daily[:, 0].tolist() == [1] * 14


# --------------------------------------------------------------------------- the engine


@pytest.fixture(scope="module")
def trust():
    cohort = synthetic_cohort(20_000, seed=5)
    simulator = S.WaitingListSimulator(weeks=26, replications=1, seed=2).fit(cohort)
    pool = S.draw_pool(cohort, steps=26, step_days=7, referrals=simulator.referrals_,
                       removal_chance=0.007, rng=np.random.default_rng(9),
                       donors=simulator.donors_)
    capacity = S.capacity_schedule(simulator.capacity_ * 0.95, 26, 7)
    return cohort, simulator, pool, capacity


@pytest.mark.parametrize("policy", [FIFO, APQ, EQUITY], ids=["fifo", "apq", "equity"])
def test_windowed_selection_is_exact(trust, policy):
    cohort, _, pool, capacity = trust
    every_step = S.run_policy(pool, cohort, policy, capacity, window=1)
    for window in (3, 4, 13):
        windowed = S.run_policy(pool, cohort, policy, capacity, window=window, screen_from=0)
        assert np.array_equal(every_step.removal_step, windowed.removal_step)
        assert np.array_equal(every_step.treated, windowed.treated)


def test_treatments_follow_the_policy_each_step(trust):
    # Whenever a pathway is treated, no pathway of the same treatment function with a
    # higher key was waiting and left untreated in that step.
    cohort, _, pool, capacity = trust
    outcome = S.run_policy(pool, cohort, APQ, capacity)
    pattern, rows = S.social_patterns(cohort)
    rate, intercept = S._key_terms(pool, cohort, APQ, 7, pattern[pool.origin], rows)
    specialty = cohort.specialty[pool.origin]
    for k in (1, 7, 26):
        key = intercept + rate * k
        present = (pool.entry_step < k) & (outcome.removal_step >= k) & \
            (pool.withdraw_step > k)
        for s in range(len(cohort.specialties)):
            here = present & (specialty == s)
            chosen = here & (outcome.removal_step == k) & outcome.treated
            left = here & ~chosen
            if chosen.any() and left.any():
                assert key[chosen].min() >= key[left].max()


def test_clinical_fifo_never_treats_a_less_urgent_pathway_first(trust):
    cohort, _, pool, capacity = trust
    outcome = S.run_policy(pool, cohort, FIFO, capacity)
    tier = np.minimum(cohort.priority[pool.origin], PRIORITIES.index("P5"))
    specialty = cohort.specialty[pool.origin]
    for k in range(1, 27):
        present = (pool.entry_step < k) & (outcome.removal_step >= k) & \
            (pool.withdraw_step > k)
        treated_now = present & outcome.treated & (outcome.removal_step == k)
        left = present & ~treated_now
        for s in np.unique(specialty[treated_now]):
            if (left & (specialty == s)).any():
                assert tier[treated_now & (specialty == s)].max() <= \
                    tier[left & (specialty == s)].min()


def test_the_synthetic_list_is_the_same_as_arrays_and_as_a_file():
    day = date(2024, 11, 30)
    frame = synthetic_waiting_list(3000, snapshot_date=day, seed=11)
    from_file = S.cohort_from_snapshot(validate_snapshot(frame, snapshot_date=day))
    direct = synthetic_cohort(3000, seed=11)
    for name in S.Cohort.ARRAYS:
        assert np.array_equal(getattr(from_file, name), getattr(direct, name)), name
    assert from_file.specialties == direct.specialties


# --------------------------------------------------------------------------- the simulator


@pytest.fixture(scope="module")
def result():
    cohort = synthetic_cohort(6000, seed=4)
    simulator = S.WaitingListSimulator(weeks=26, replications=4, seed=8).fit(cohort)
    return simulator.run([FIFO, APQ, EQUITY])


def test_the_same_seed_gives_the_same_results(result):
    cohort = synthetic_cohort(6000, seed=4)
    again = S.WaitingListSimulator(weeks=26, replications=4, seed=8).fit(cohort).run(
        [FIFO, APQ, EQUITY])
    assert again.replicate_list.equals(result.replicate_list)
    assert again.replicate_groups.equals(result.replicate_groups)
    other = S.WaitingListSimulator(weeks=26, replications=4, seed=9).fit(cohort).run([FIFO])
    assert not other.replicate_list.equals(result.replicate_list.filter(
        result.replicate_list["policy"] == FIFO.name))


def test_policies_share_random_numbers():
    # The same policy under two names sees identical referrals and removals, so the
    # paired difference is exactly zero.
    from dataclasses import replace

    cohort = synthetic_cohort(3000, seed=1)
    twin = replace(APQ, name="Twin")
    res = S.WaitingListSimulator(weeks=13, replications=3, seed=2).fit(cohort).run([APQ, twin])
    table = res.comparison().filter(res.comparison()["policy"] == "Twin")
    assert (table["change"].abs() < 1e-9).all()


def test_comparison_table_has_every_measure_with_intervals(result):
    table = result.comparison()
    assert set(table["policy"]) == {FIFO.name, APQ.name, EQUITY.name}
    assert set(table["measure"]) == set(S.LIST_MEASURES)
    finite = table.filter(table["lower"].is_finite())
    assert (finite["lower"] <= finite["mean"]).all() and (finite["mean"] <= finite["upper"]).all()
    baseline = table.filter(table["policy"] == FIFO.name)
    assert (baseline["change"] == 0).all()
    json.dumps(result.to_dict())  # serialisable


def test_group_results_add_up_to_the_list(result):
    groups = result.replicate_groups
    for dimension in S.DIMENSIONS:
        part = groups.filter(groups["dimension"] == dimension)
        totals = part.group_by(["policy", "replication"]).agg(pl.col("waiting").sum(),
                                                              pl.col("breaches_52").sum())
        whole = result.replicate_list.select("policy", "replication", "waiting",
                                             "breaches_52")
        joined = totals.join(whole, on=["policy", "replication"], suffix="_list")
        assert (joined["waiting"] == joined["waiting_list"]).all(), dimension
        assert (joined["breaches_52"] == joined["breaches_52_list"]).all(), dimension


def test_the_weekly_series_agrees_with_the_end_of_the_run(result):
    last = result.series.filter(pl.col("week") == pl.col("week").max())
    end = last.join(result.replicate_list, on=["policy", "replication"])
    assert (end["waiting"] == end["waiting_right"]).all()
    over_52 = (end["pct_over_52"] * end["waiting_right"] / 100).round(6)
    assert (end["over_52"] == over_52).all()
    first = result.series.filter(pl.col("week") == 0)
    assert (first["waiting"] == 6000).all() and (first["over_52"] > 0).all()


def test_accumulating_priority_cuts_the_longest_waits(result):
    table = result.comparison()
    over_52 = {r["policy"]: r for r in table.filter(table["measure"] == "pct_over_52")
               .iter_rows(named=True)}
    # Strict priority order leaves long-waiting P4s behind; accumulating priority does not.
    assert over_52[APQ.name]["change_upper"] < 0


@pytest.mark.parametrize("settings_, fragment", [
    ({"weeks": 0}, "weeks"), ({"replications": 0}, "replications"),
    ({"step": "month"}, "step"), ({"removal_rate": 1.5}, "removal_rate"),
    ({"referrals_per_week": {"999": 3}}, "not in the snapshot"),
    ({"capacity_per_week": -1}, "capacity_per_week"),
])
def test_bad_settings_are_refused(settings_, fragment):
    with pytest.raises(ValidationError, match=fragment):
        S.WaitingListSimulator(**settings_).fit(synthetic_cohort(500, seed=1))


def test_running_before_fitting_or_without_policies_is_refused():
    with pytest.raises(ValidationError, match="fit"):
        S.WaitingListSimulator().run([FIFO])
    simulator = S.WaitingListSimulator(weeks=2, replications=1).fit(synthetic_cohort(500))
    with pytest.raises(ValidationError, match="at least one policy"):
        simulator.run([])
    with pytest.raises(ValidationError, match="same name"):
        simulator.run([FIFO, FIFO])
