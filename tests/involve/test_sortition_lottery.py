"""The public draw: tickets are real panels, the fingerprint and the draw can be redone."""

from __future__ import annotations

import hashlib

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from voices.involve.sortition import select_panel
from voices.involve.sortition_lottery import round_weights


@given(st.lists(st.floats(0.001, 1.0), min_size=1, max_size=40), st.integers(1, 2000),
       st.integers(0, 2**32 - 1))
def test_rounding_keeps_the_total_and_rounds_each_count_down_or_up(weights, m, seed):
    weights = np.array(weights)
    counts = round_weights(weights, m, np.random.Generator(np.random.PCG64(seed)))
    scaled = m * weights / weights.sum()
    assert counts.sum() == m
    assert np.all(counts >= np.floor(scaled) - 1e-9) and np.all(counts <= np.ceil(scaled) + 1e-9)


def test_tickets_are_quota_panels_and_the_draw_can_be_redone(sortition_pool):
    pool, quotas = sortition_pool("sa_fixture_150_k22")
    selection = select_panel(pool, quotas, 22)
    lottery = selection.lottery(tickets=1000, seed=3)
    assert lottery.m == 1000
    column = {f: j for j, f in enumerate(pool.features)}
    person = dict(zip(pool.ids, pool.values, strict=True))
    for ticket in lottery.tickets:
        assert len(set(ticket)) == 22
        for q in quotas.rows:
            count = sum(person[i][column[q.feature]] == q.value for i in ticket)
            assert q.min <= count <= q.max
    text = lottery.text()
    assert lottery.digest == hashlib.sha256(text.encode()).hexdigest()
    number, panel = lottery.draw("lottery 2026-12-05: 3 14 15 92 65")
    again = 1 + int(hashlib.sha256(f"{lottery.digest}:lottery 2026-12-05: 3 14 15 92 65"
                                   .encode()).hexdigest(), 16) % 1000
    assert number == again and ",".join(panel) == text.splitlines()[number - 1]
    assert lottery.max_change <= 22 / 1000  # rounding keeps chances within k/m here
    assert selection.lottery(tickets=1000, seed=3).text() == text


def test_people_of_one_type_hold_tickets_evenly(sortition_pool):
    pool, quotas = sortition_pool("example_small_20")
    lottery = select_panel(pool, quotas, 20).lottery(tickets=500, seed=0)
    held = lottery.probabilities * lottery.m
    assert held.max() - held.min() <= 1  # everyone's chance is 1/10: 50 tickets each
    assert np.all(np.abs(lottery.probabilities - 0.1) <= 1 / 500)
