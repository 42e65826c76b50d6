"""Write a mean panel as an exact lottery of whole panels (the last step of LEXIMIN).

LEXIMIN (:mod:`voices.involve.sortition_leximin`) first finds the fair *mean panel* ``m``:
how many people of each type sit on the panel on average, a point of the quota polytope
``Q = {0 <= x <= counts, lower <= incidence.T x <= upper, sum x = k}``. This module finds
whole panels ``x_j`` (integer points of ``Q``) and weights ``w_j >= 0`` adding up to 1 with
``sum_j w_j x_j = m``, or proves there are none near ``m`` so the caller can fall back.

Every panel of such a lottery lies on the *face* of ``Q`` that ``m`` lies on: a quota that
``m`` meets exactly at its minimum or maximum is met there by every panel, and a type that
``m`` leaves out (or takes in full) is left out (taken in full) by every panel
(:func:`face`). Panels are also first sought within ``floor(m) <= x <= ceil(m)``, a smaller
set that is usually enough; if it is not, the search runs again without that limit.

Two steps, both exact:

1. **Descent** (Carathéodory's construction; Grötschel, Lovász & Schrijver 1988, 6.5): take
   a panel ``x`` on the face of the current point ``p``, and move ``p`` straight away from
   ``x`` to the edge of ``Q``: ``p = w x + (1 - w) p'``. The new point ``p'`` lies on a
   smaller face, so this stops after at most one step per type. Each new ``x`` is the last
   one mended by single swaps (one person of a type off, one of another on) until it fits
   the smaller face, and the integer program is asked only when swaps cannot mend it. ``Q``
   is not the convex hull of its whole panels, so ``p'`` can leave that hull near the end;
   the descent then stops with a small remainder.
2. **Column generation** on the remainder (Dantzig & Wolfe 1960): together with the last
   few steps of the descent, the remainder is written as a lottery by an LP over panels
   (:class:`Cover`, which minimises how far the types fall short of their share) and the
   pricing integer program, which adds panels the LP's duals say would help, each with its
   best single swaps. If it proves the remainder cannot be written so, more steps of the
   descent are undone and it tries again, up to the whole of ``m``.

References
----------
M. Grötschel, L. Lovász, A. Schrijver, *Geometric Algorithms and Combinatorial
Optimization*, Springer (1988), section 6.5 (writing a point of a polytope as a convex
combination of vertices with an optimisation oracle).
G. B. Dantzig, P. Wolfe, "Decomposition principle for linear programs", *Oper. Res.* 8
(1960) (column generation).
"""

from __future__ import annotations

from collections.abc import Callable

import highspy
import numpy as np

from voices.involve.sortition_pool import PanelProblem
from voices.involve.sortition_solver import INF, PanelIP, csc, new_highs, swap_neighbours

Progress = Callable[[int, int], None]  # (done, total)
GAP = 1e-9  # total shortfall (in people) at which a decomposition is exact
SWAP_SOURCES = 3  # panels per pricing call whose single swaps are tried too
SWAPS_PER_PANEL = 10  # best swaps kept per such panel
UNDO = (0, 16, 64, 256)  # descent steps handed back to column generation, in turn, then all
TIGHT = 1e-9  # a point this close to a bound is on it
PROGRESS_DESCENT = 900  # share of the progress bar (of 1000) given to the descent


def decompose(problem: PanelProblem, mean: np.ndarray, ip: PanelIP, tolerance: float,
              progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Panels ``(m, T)`` and weights ``(m,)`` averaging exactly ``mean``, or ``None``.

    ``None`` means no lottery of panels averages ``mean`` (proven by the pricing integer
    program: no panel on the face of ``mean`` can reduce the shortfall).
    """
    mean = np.asarray(mean, float)
    try:
        for box in (True, False):
            lower, upper = box_bounds(problem, mean, box)
            steps, weights, rest, mass = descend(problem, mean, ip, lower, upper, progress) \
                if box else ([], [], mean, 1.0)
            if mass == 0.0:
                return np.array(steps), np.array(weights)
            for undo in (*[u for u in UNDO if u < len(steps)], len(steps)):
                keep = len(steps) - undo
                part = mass + sum(weights[keep:])
                point = (mass * rest + sum((w * x for w, x in zip(weights[keep:], steps[keep:],
                                                                  strict=True)),
                                           np.zeros(problem.n_types))) / part
                found = cover(problem, point, ip, tolerance, lower, upper, steps[keep:],
                              progress)
                if found is not None:
                    panels, shares = found
                    return (np.array([*steps[:keep], *panels]),
                            np.array([*weights[:keep], *(part * shares)]))
    finally:
        ip.unrestrict()
    return None


def box_bounds(problem: PanelProblem, mean: np.ndarray, box: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-type bounds for the panels: ``floor``/``ceil`` of ``mean`` (``box``), or else
    only the types ``mean`` leaves out or takes in full."""
    if box:
        return np.floor(mean + TIGHT), np.ceil(mean - TIGHT)
    return (np.where(mean >= problem.counts - TIGHT, problem.counts, 0).astype(float),
            np.where(mean <= TIGHT, 0, problem.counts).astype(float))


def face(problem: PanelProblem, point: np.ndarray, lower: np.ndarray, upper: np.ndarray):
    """Bounds that every panel of a lottery averaging ``point`` must keep: types at a bound
    stay there, quotas ``point`` meets exactly are met exactly."""
    low = np.where(point >= upper - TIGHT, upper, lower)
    high = np.where(point <= lower + TIGHT, lower, upper)
    totals = point @ problem.incidence
    quota_low = np.where(totals >= problem.upper - TIGHT, problem.upper, problem.lower)
    quota_high = np.where(totals <= problem.lower + TIGHT, problem.lower, problem.upper)
    return low, high, quota_low, quota_high


def descend(problem: PanelProblem, mean: np.ndarray, ip: PanelIP, lower: np.ndarray,
            upper: np.ndarray, progress: Progress | None = None):
    """Carathéodory descent from ``mean``: ``mean = sum_j w_j x_j + mass * rest``.

    Returns ``(panels, weights, rest, mass)``; ``mass`` is 0 when the descent finished.
    Progress runs to 900 (of 1000) as types reach a bound; column generation does the rest.
    """
    point, mass = mean.copy(), 1.0
    free = max(int(((mean > lower + TIGHT) & (mean < upper - TIGHT)).sum()), 1)
    panels: list[np.ndarray] = []
    weights: list[float] = []
    panel = None
    while True:
        low, high, quota_low, quota_high = face(problem, point, lower, upper)
        if progress is not None:
            progress(round(PROGRESS_DESCENT * (1 - (high > low).sum() / free)), 1000)
        mended = None if panel is None else mend(problem, panel, -point, lower, upper, low,
                                                 high, quota_low, quota_high)
        if mended is None:
            ip.restrict(low, high, quota_low, quota_high)
            found = ip.best(-point, rough=True)
            if found is None:  # the point has left the hull of whole panels
                return panels, weights, point, mass
            mended = found[0]
        panel = mended
        away = point - panel
        if np.abs(away).max() <= TIGHT:  # the point is this panel
            panels.append(panel)
            weights.append(mass)
            return panels, weights, point, 0.0
        step = _longest_step(problem, point, away, lower, upper)
        if step <= TIGHT:  # rounding noise: stop here and let column generation finish
            return panels, weights, point, mass
        share = step / (1 + step)
        panels.append(panel)
        weights.append(mass * share)
        mass *= 1 - share
        point = point + step * away
        point = np.where(np.abs(point - lower) <= TIGHT * 1e-2, lower,
                         np.where(np.abs(point - upper) <= TIGHT * 1e-2, upper, point))


def _longest_step(problem: PanelProblem, point: np.ndarray, away: np.ndarray,
                  lower: np.ndarray, upper: np.ndarray) -> float:
    """The largest ``a`` with ``point + a * away`` still in the (boxed) quota polytope."""
    step = np.inf
    for values, change, low, high in (
            (point, away, lower, upper),
            (point @ problem.incidence, away @ problem.incidence, problem.lower, problem.upper)):
        down, up = change < -TIGHT, change > TIGHT
        if down.any():
            step = min(step, float((np.maximum(values[down] - low[down], 0) / -change[down]).min()))
        if up.any():
            step = min(step, float((np.maximum(high[up] - values[up], 0) / change[up]).min()))
    return step


def mend(problem: PanelProblem, panel: np.ndarray, prefer: np.ndarray, lower: np.ndarray,
         upper: np.ndarray, low: np.ndarray, high: np.ndarray, quota_low: np.ndarray,
         quota_high: np.ndarray, limit: int = 50) -> np.ndarray | None:
    """Make ``panel`` meet ``low <= x <= high`` and ``quota_low <= totals <= quota_high`` by
    single swaps within ``lower <= x <= upper``, each the one that removes the most breaches
    (ties: the largest gain in ``prefer``). ``None`` if no swap helps."""
    incidence = problem.incidence.astype(float)
    x = panel.copy()

    def breach(values, lo, hi):
        return np.maximum(lo - values, 0) + np.maximum(values - hi, 0)

    for _ in range(limit):
        totals = x @ incidence
        rows, types = breach(totals, quota_low, quota_high), breach(x, low, high)
        if rows.sum() == 0 and types.sum() == 0:
            return x
        plus = breach(totals + 1, quota_low, quota_high) - rows
        minus = breach(totals - 1, quota_low, quota_high) - rows
        out, into = np.flatnonzero(x > lower), np.flatnonzero(x < upper)
        if len(out) == 0 or len(into) == 0:
            return None
        leave = breach(x[out] - 1, low[out], high[out]) - types[out]
        join = breach(x[into] + 1, low[into], high[into]) - types[into]
        a, b = incidence[out], incidence[into]
        change = ((a @ minus)[:, None] + (b @ plus)[None, :]
                  - a @ ((plus + minus)[:, None] * b.T) + leave[:, None] + join[None, :])
        change[out[:, None] == into[None, :]] = np.inf
        best = change.min()
        if best >= 0:
            return None
        score = np.where(change == best, prefer[into][None, :] - prefer[out][:, None], -np.inf)
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        x[out[i]] -= 1
        x[into[j]] += 1
    return None


class Cover:
    """The LP that writes a point as an average of whole panels.

    Rows: one per type that panels may vary on, ``sum_j lambda_j b_jt + a_t >= target_t``,
    and ``sum_j lambda_j = 1``. Columns: a shortfall ``a_t >= 0`` per type at cost 1, and a
    weight ``lambda_j >= 0`` per panel (``b_j`` is the panel less the part all panels share).
    At cost 0 every type gets its target: since panels and targets add up to the same size,
    then ``sum_j lambda_j b_j = target`` exactly. The shortfall form gives bounded duals and
    progress from every helpful panel, where "raise the least share" stalls at 0 until every
    type is on some panel.
    """

    def __init__(self, target: np.ndarray) -> None:
        F = len(target)
        self.F = F
        self.highs = new_highs(primal_feasibility_tolerance=1e-10,
                               dual_feasibility_tolerance=1e-10, presolve="off",
                               simplex_strategy=4)  # primal simplex: columns keep it feasible
        self.highs.addRows(F + 1, np.concatenate([target, [1.0]]),
                           np.concatenate([np.full(F, INF), [1.0]]), 0,
                           np.zeros(1, np.int32), np.zeros(0, np.int32), np.zeros(0))
        rows = np.arange(F, dtype=np.int32)
        self.highs.addCols(F, np.ones(F), np.zeros(F), np.full(F, INF), F, rows, rows,
                           np.ones(F))

    def add(self, columns: list[np.ndarray]) -> None:
        starts, index, value = csc(np.hstack([np.array(columns, float),
                                              np.ones((len(columns), 1))]))
        self.highs.addCols(len(columns), np.zeros(len(columns)), np.zeros(len(columns)),
                           np.full(len(columns), INF), len(value), starts[:-1], index, value)

    def solve(self) -> tuple[float, np.ndarray, float, np.ndarray]:
        """Total shortfall, type duals ``y >= 0``, ``mu`` (no panel ``b`` with
        ``y @ b > mu`` is in the LP) and the panel weights."""
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS could not solve the LP: {self.highs.getModelStatus()}")
        solution = self.highs.getSolution()
        duals = np.asarray(solution.row_dual)
        return (float(self.highs.getInfo().objective_function_value), duals[:self.F].copy(),
                -float(duals[self.F]), np.asarray(solution.col_value)[self.F:].copy())


def cover(problem: PanelProblem, point: np.ndarray, ip: PanelIP, tolerance: float,
          lower: np.ndarray, upper: np.ndarray, start: list[np.ndarray],
          progress: Progress | None = None):
    """Column generation: panels and weights averaging ``point``, or ``None``."""
    low, high, quota_low, quota_high = face(problem, point, lower, upper)
    ip.restrict(low, high, quota_low, quota_high)
    first = ip.best(np.zeros(problem.n_types))
    if first is None:
        return None
    vary = np.flatnonzero(high > low)
    lp = Cover(point[vary] - low[vary])
    panels: list[np.ndarray] = []
    seen: set[bytes] = set()

    def add(new: list[np.ndarray]) -> int:
        fresh = []
        for x in new:
            key = np.asarray(x, np.int64).tobytes()
            if key not in seen:
                seen.add(key)
                fresh.append(np.asarray(x, np.int64))
        if fresh:
            panels.extend(fresh)
            lp.add([x[vary] - low[vary] for x in fresh])
        return len(fresh)

    totals = np.array(start).reshape(len(start), -1) @ problem.incidence
    fits = [x for x, row in zip(start, totals, strict=True)
            if (x >= low).all() and (x <= high).all()
            and (row >= quota_low).all() and (row <= quota_high).all()]
    add([first[0], *fits])
    initial = None
    while True:
        shortfall, duals, mu, weights = lp.solve()
        initial = shortfall if initial is None else initial
        if progress is not None and initial > 0:
            done = 1 - max(shortfall, 0.0) / initial
            progress(PROGRESS_DESCENT + round((1000 - PROGRESS_DESCENT) * done), 1000)
        if shortfall <= GAP:
            return np.array(panels), weights
        type_weights = np.zeros(problem.n_types)
        type_weights[vary] = duals
        bar = mu + tolerance + float(type_weights @ low)
        found = ip.best(type_weights)
        if found is None or found[1] <= bar:
            return None  # proven: no panel on this face helps, so the point is out of reach
        better = [found[0], *ip.improving(lambda value, bar=bar: value > bar)]
        neighbours = []
        for x in better[:SWAP_SOURCES]:
            neighbours += swap_neighbours(problem, x, type_weights, low, high, quota_low,
                                          quota_high, bar, SWAPS_PER_PANEL)
        if add(better + neighbours) == 0:  # the best panel is already there: numerical noise
            return None
