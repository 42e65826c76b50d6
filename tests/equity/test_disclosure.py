"""Disclosure control: nothing published lets anyone recover a hidden small count."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from voices.equity.disclosure import (SUPPRESSED, disclose, disclose_counts,
                                      published_counts_are_safe, round_count)


def _feasible_range(grid: np.ndarray, hidden: np.ndarray, row_totals: bool,
                    column_totals: bool, cell: tuple[int, int]) -> tuple[float, float]:
    """An attacker's best bounds on a hidden cell, written independently of the module:
    they know every shown cell *exactly* (ignoring rounding, the worst case), that counts are
    non-negative, and that rows and columns add up to their totals."""
    R, C = grid.shape
    r = R - (1 if column_totals else 0)
    c = C - (1 if row_totals else 0)
    unknown = [tuple(x) for x in np.argwhere(hidden)]
    pos = {u: k for k, u in enumerate(unknown)}
    a_eq, b_eq = [], []

    def add(members, total):
        row = np.zeros(len(unknown))
        rhs = 0.0
        for m in members:
            if m in pos:
                row[pos[m]] += 1
            else:
                rhs -= grid[m]
        if total in pos:
            row[pos[total]] -= 1
        else:
            rhs += grid[total]
        a_eq.append(row)
        b_eq.append(rhs)

    if row_totals:
        for i in range(R if column_totals else r):
            add([(i, j) for j in range(c)], (i, c))
    if column_totals:
        for j in range(C if row_totals else c):
            add([(i, j) for i in range(r)], (r, j))
    target = np.zeros(len(unknown))
    target[pos[cell]] = 1
    bounds = [(0, None)] * len(unknown)
    low = linprog(target, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    high = linprog(-target, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    assert low.status == 0 and high.status in (0, 3)  # 3: unbounded, nothing pins it above
    return low.fun, (float("inf") if high.status == 3 else -high.fun)


def _true_grid(counts: np.ndarray, row_totals: bool, column_totals: bool) -> np.ndarray:
    grid = counts
    if row_totals:
        grid = np.hstack([grid, grid.sum(axis=1, keepdims=True)])
    if column_totals:
        grid = np.vstack([grid, grid.sum(axis=0, keepdims=True)])
    return grid


tables = st.integers(1, 6).flatmap(lambda r: st.integers(1, 6).flatmap(
    lambda c: st.lists(st.lists(st.one_of(st.integers(0, 12), st.integers(0, 400)),
                                min_size=c, max_size=c), min_size=r, max_size=r)))


@settings(max_examples=150, deadline=None)
@given(tables, st.booleans())
def test_no_hidden_cell_can_be_derived_from_what_is_shown(rows, one_way):
    counts = np.array(rows, dtype=np.int64)
    row_totals, column_totals = (False, True) if one_way else (True, True)
    if one_way:
        counts = counts[:, :1]
    result = disclose_counts(counts, row_totals=row_totals, column_totals=column_totals)
    grid = _true_grid(counts, row_totals, column_totals)
    assert result.hidden.shape == grid.shape
    # every count from 1 to 7 is hidden, cells and totals alike
    small = (grid >= 1) & (grid <= 7)
    assert not np.any(small & ~result.hidden)
    # no hidden cell is pinned down by the shown cells and the totals
    for cell in map(tuple, np.argwhere(result.hidden)):
        low, high = _feasible_range(grid, result.hidden, row_totals, column_totals, cell)
        assert high - low > 0.5, f"cell {cell} = {grid[cell]} derivable in {grid.tolist()}"
    # what is shown is rounded to 5 and contains no small count
    shown = [v for row in result.as_lists() for v in row if v != SUPPRESSED]
    assert all(v % 5 == 0 for v in shown)
    assert published_counts_are_safe(shown)


def test_a_single_small_group_is_not_revealed_by_the_total():
    result = disclose_counts([4, 120, 300])
    values = [v[0] for v in result.as_lists()]
    assert values[0] == SUPPRESSED
    # with the total shown, a second group must be hidden too
    assert values.count(SUPPRESSED) >= 2
    assert values[-1] == 425


@pytest.mark.parametrize("count,shown", [(0, 0), (8, 10), (12, 10), (13, 15), (1002, 1000)])
def test_counts_are_rounded_to_the_nearest_five(count, shown):
    assert round_count(count) == shown


def test_zeros_are_shown_and_not_used_to_hide_others():
    result = disclose_counts([[0, 50], [0, 60]])
    assert result.as_lists() == [[0, 50, 50], [0, 60, 60], [0, 110, 110]]


def test_percentages_use_the_rounded_figures():
    frame = pl.DataFrame({"group": ["a", "b", "c"], "positive": [52, 3, 30],
                          "negative": [11, 40, 20]})
    table = disclose(frame, label="group", counts=["positive", "negative"])
    assert table.values[0] == [50, 10, 65]  # 52+11=63 rounds to 65
    assert table.percent(0, 0, 2) == round(100 * 50 / 65, 1)
    assert table.percent(1, 0, 2) == SUPPRESSED


def test_a_frame_keeps_its_labels_and_adds_totals():
    frame = pl.DataFrame({"group": ["x", "y", "z"], "n": [100, 6, 200]})
    out = disclose(frame, label="group", counts=["n"]).to_frame()
    assert out["group"].to_list() == ["x", "y", "z", "Total"]
    assert out["n"].to_list()[1] == SUPPRESSED


def test_refuses_negative_or_fractional_counts():
    with pytest.raises(ValueError):
        disclose_counts([[1, -2]])
    with pytest.raises(ValueError):
        disclose_counts([1.5, 2])
