"""LEXIMIN panel selection: make the smallest chance of selection as large as possible, then
the next smallest, and so on, over all lotteries of quota-meeting panels.

Method (Flanigan, Gölz, Gupta, Hennig & Procaccia 2021, Methods and Supplementary
Information, "LEXIMIN"): probabilities are fixed level by level. At each *stage* a linear
program maximises ``z``, the least chance among the people not fixed yet, keeping
everyone fixed earlier at their level. Its row duals ``y`` (one per type, adding up to 1
over the types not fixed) prove the stage optimal, and every type with a positive dual must
sit exactly at ``z`` in every best lottery, so those types are fixed.

This module computes it in two steps, then checks the second one succeeded:

1. **Levels** on the *relaxation*: the same stages, over the mean panel ``m`` (a point of
   the quota polytope ``Q = {0 <= m <= counts, lower <= incidence.T m <= upper,
   sum m = k}``) instead of over lotteries of whole panels. These are small LPs, one per
   stage. Each stage's certificate bounds ``sum_t y_t x_t / counts_t`` over all of ``Q``,
   hence over every real panel too.
2. **Lottery**: find whole panels whose weighted average is exactly ``m``, by column
   generation (Dantzig & Wolfe): an LP over the panels found so far minimises the total
   shortfall of the types below their ``m_t``; an integer program (the *pricing* problem,
   :class:`~voices.involve.sortition_solver.PanelIP`) adds panels whenever the LP's duals
   say they would help. Every panel of such a lottery must lie on the face of ``Q`` that
   ``m`` lies on (a quota met exactly by ``m`` is met exactly by every panel; a type at 0
   or at its size stays there), so the integer program searches only that face, first
   also within ``floor(m) <= x <= ceil(m)``, which is smaller and usually enough. Each
   panel it finds brings its best single swaps along (cheap, no solver). When the
   shortfall reaches 0 every type gets exactly ``m_t`` (the chances add up to ``k`` on
   both sides), ``m`` is a lottery of real panels, and since the relaxation can only do
   better than real lotteries, ``m`` is the LEXIMIN optimum.

If step 2 proves ``m`` is not a lottery of real panels (possible when quotas are tight),
the paper's own algorithm runs instead: every stage is solved by column generation over
real panels, with the integer program pricing each stage to optimality.

Differences from the paper's implementation, none of which changes the result:

* The work is on types (people with identical features; see
  :class:`~voices.involve.sortition_pool.PanelProblem` for why this is exact), so the
  2,000-person *Nature* examples have 3 types and a panel is a vector of counts.
* HiGHS (open source) instead of Gurobi; one warm-started LP kept across all stages; the
  pricing IP built once with only its objective changing; every panel the IP meets on its
  way that also helps joins the LP, not just the best one.
* Optionally a cap on the largest chance (see ``cap``), in the spirit of Baharav & Flanigan
  (2024): first the least chance ``z*`` is found, then the smallest cap ``u`` such that
  everyone can still get at least ``(1 - cap_slack) * z*``, then LEXIMIN under that cap.

Each stage keeps its certificate (:class:`Stage`). With them anyone can check the result is
leximin-optimal (``tests/involve/test_sortition_leximin.py`` does, with its own IP).

References
----------
B. Flanigan, P. Gölz, A. Gupta, B. Hennig, A. D. Procaccia, "Fair algorithms for selecting
citizens' assemblies", *Nature* 596, 548-552 (2021), doi:10.1038/s41586-021-03788-6.
G. B. Dantzig, P. Wolfe, "Decomposition principle for linear programs", *Oper. Res.* 8
(1960) (column generation).
C. Baharav, B. Flanigan, "Fair, manipulation-robust, and transparent sortition" (2024),
arXiv:2406.15009 (Goldilocks: bounding both the least and the greatest chance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np

from voices.errors import ValidationError
from voices.involve.sortition_decompose import decompose
from voices.involve.sortition_pool import (
    PanelDistribution,
    PanelProblem,
    Quotas,
    ValueQuota,
)
from voices.involve.sortition_solver import INF, PanelIP, check_feasible, csc, new_highs

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Stage:
    """One level of the LEXIMIN computation and its optimality certificate.

    Attributes
    ----------
    value:
        ``z``: the chance given to the types fixed at this stage.
    fixed:
        The types fixed at this stage (indices into the problem's types).
    lower_duals:
        ``y_t >= 0`` for each type: the dual of "chance of type t >= its level"; they add
        up to 1 over the types not fixed before this stage.
    cap_duals:
        ``w_t <= 0``: duals of "chance of type t <= cap" (zero without a cap).
    bound:
        ``mu``: for every panel ``x`` meeting the quotas,
        ``sum_t (y_t + w_t) * x_t / counts_t <= mu``.

    A stage at ``value`` 1 needs no duals (no chance can exceed 1): the types left are all
    fixed at 1. Otherwise, together with the levels ``f`` fixed earlier these certify
    ``value = mu - sum_{t fixed earlier} y_t f_t - cap * sum_t w_t``: no lottery can give
    every type not yet fixed more than ``value`` without lowering a type fixed earlier.
    """

    value: float
    fixed: np.ndarray
    lower_duals: np.ndarray
    cap_duals: np.ndarray
    bound: float


class _LevelProgram:
    """An LP with a level column ``z``, a cap column ``u`` and one "lower row" per type.

    Lower row ``t`` reads ``p_t - z >= 0`` until the type is fixed, then ``p_t >= f_t``;
    cap row ``t`` (when capped) reads ``p_t - u <= 0``. Subclasses say what ``p_t`` is.
    The LP is minimised: ``-z`` while raising levels, ``u`` while looking for a cap.
    """

    z_col: int
    u_col: int
    lower_row0: int
    cap_row0: int
    capped: bool
    T: int
    highs: highspy.Highs

    def fix(self, types: np.ndarray, level: float) -> None:
        """Hold ``types`` at chance ``level`` or more from now on (drop them from ``z``)."""
        rows = self.lower_row0 + np.asarray(types, np.int32)
        for row in rows:
            self.highs.changeCoeff(int(row), self.z_col, 0.0)
        self.highs.changeRowsBounds(len(rows), rows.astype(np.int32),
                                    np.full(len(rows), float(level)), np.full(len(rows), INF))

    def set_cap(self, cap: float | None) -> None:
        """Fix ``u`` at ``cap`` and raise ``z``; or, with ``None``, minimise ``u``."""
        if cap is None:
            self.highs.changeColCost(self.z_col, 0.0)
            self.highs.changeColCost(self.u_col, 1.0)
            self.highs.changeColBounds(self.u_col, 0.0, 1.0)
        else:
            self.highs.changeColCost(self.z_col, -1.0)
            self.highs.changeColCost(self.u_col, 0.0)
            self.highs.changeColBounds(self.u_col, cap, cap)

    def hold_level(self, level: float | None) -> None:
        """Hold ``z`` at ``level`` (or release it to ``[0, 1]``)."""
        low, high = (0.0, 1.0) if level is None else (level, level)
        self.highs.changeColBounds(self.z_col, low, high)

    def _run(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS could not solve the LP: {status}")
        solution = self.highs.getSolution()
        duals = np.asarray(solution.row_dual)
        lower = duals[self.lower_row0:self.lower_row0 + self.T].copy()
        caps = duals[self.cap_row0:self.cap_row0 + self.T].copy() if self.capped \
            else np.zeros(self.T)
        return (float(self.highs.getInfo().objective_function_value), lower, caps,
                np.asarray(solution.col_value))


class _Relaxation(_LevelProgram):
    """Levels over the quota polytope: ``p_t = m_t / counts_t`` for a mean panel ``m``.

    Columns: ``m`` (T), ``z``, ``u``. Rows: quota rows, the size row, lower rows, cap rows.
    """

    def __init__(self, problem: PanelProblem, capped: bool) -> None:
        T, V = problem.n_types, problem.incidence.shape[1]
        self.T, self.capped = T, capped
        self.z_col, self.u_col = T, T + 1
        self.lower_row0, self.cap_row0 = V + 1, V + 1 + T
        rows = V + 1 + T + (T if capped else 0)
        matrix = np.zeros((rows, T + 2))
        matrix[:V, :T] = problem.incidence.T
        matrix[V, :T] = 1.0
        share = np.diag(1.0 / problem.counts)
        matrix[V + 1:V + 1 + T, :T] = share
        matrix[V + 1:V + 1 + T, T] = -1.0
        row_lower = np.concatenate([problem.lower, [problem.k], np.zeros(T)]).astype(float)
        row_upper = np.concatenate([problem.upper, [problem.k], np.full(T, INF)]).astype(float)
        if capped:
            matrix[V + 1 + T:, :T] = share
            matrix[V + 1 + T:, T + 1] = -1.0
            row_lower = np.concatenate([row_lower, np.full(T, -INF)])
            row_upper = np.concatenate([row_upper, np.zeros(T)])
        self.highs = new_highs(primal_feasibility_tolerance=1e-10,
                               dual_feasibility_tolerance=1e-10)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = T + 2, rows
        lp.col_cost_ = np.concatenate([np.zeros(T), [-1.0, 0.0]])
        lp.col_lower_ = np.zeros(T + 2)
        lp.col_upper_ = np.concatenate([problem.counts.astype(float), [1.0, 1.0 if capped else 0.0]])
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        starts, index, value = csc(matrix.T)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = starts, index, value
        self.highs.passModel(lp)
        self.bound_lp = PanelIP(problem)
        self.bound_lp.relax()
        self.counts = problem.counts

    def solve(self) -> tuple[float, np.ndarray, np.ndarray, float, np.ndarray]:
        objective, lower, caps, columns = self._run()
        found = self.bound_lp.best((lower + caps) / self.counts)
        assert found is not None
        return objective, lower, caps, found[2], columns[:self.T]


class _Master(_LevelProgram):
    """The restricted master LP over the panels found so far.

    Columns: ``z``, ``u``, then one weight ``lambda_j`` per panel. Rows: lower rows, cap
    rows (when capped) and ``sum lambda = 1``, with ``p_t = sum_j lambda_j x_jt / scale_t``
    (``scale`` is the type sizes, or the target mean panel when decomposing).
    """

    def __init__(self, scale: np.ndarray, capped: bool) -> None:
        T = len(scale)
        self.T, self.capped, self.scale = T, capped, np.asarray(scale, float)
        self.z_col, self.u_col, self.lower_row0, self.cap_row0 = 0, 1, 0, T
        rows = 2 * T + 1 if capped else T + 1
        self.highs = new_highs(primal_feasibility_tolerance=1e-10,
                               dual_feasibility_tolerance=1e-10, presolve="off",
                               simplex_strategy=4)  # primal simplex: columns keep it feasible
        row_lower, row_upper = np.zeros(rows), np.full(rows, INF)
        if capped:
            row_lower[T:2 * T], row_upper[T:2 * T] = -INF, 0.0
        row_lower[-1] = row_upper[-1] = 1.0
        self.highs.addRows(rows, row_lower, row_upper, 0, np.zeros(1, np.int32),
                           np.zeros(0, np.int32), np.zeros(0))
        self.highs.addCol(-1.0, 0.0, 1.0, T, np.arange(T, dtype=np.int32), -np.ones(T))
        if capped:
            self.highs.addCol(0.0, 0.0, 1.0, T, np.arange(T, 2 * T, dtype=np.int32), -np.ones(T))
        else:
            self.highs.addCol(0.0, 0.0, 0.0, 0, np.zeros(0, np.int32), np.zeros(0))
        self.panels: list[np.ndarray] = []
        self.seen: set[bytes] = set()

    def add(self, panels: list[np.ndarray]) -> int:
        """Add the panels not already present; returns how many were new."""
        new = []
        for x in panels:
            key = np.asarray(x, np.int64).tobytes()
            if key not in self.seen:
                self.seen.add(key)
                new.append(np.asarray(x, np.int64))
        if not new:
            return 0
        shares = np.array(new, float) / self.scale
        parts = [shares, shares] if self.capped else [shares]
        starts, index, value = csc(np.hstack([*parts, np.ones((len(new), 1))]))
        self.highs.addCols(len(new), np.zeros(len(new)), np.zeros(len(new)),
                           np.full(len(new), INF), len(value), starts[:-1], index, value)
        self.panels.extend(new)
        return len(new)

    def solve(self) -> tuple[float, np.ndarray, np.ndarray, float, np.ndarray]:
        objective, lower, caps, columns = self._run()
        mu = -float(np.asarray(self.highs.getSolution().row_dual)[-1])
        return objective, lower, caps, mu, columns[2:]


class Leximin:
    """Choose panels by LEXIMIN, the fairest lottery of panels that meet the quotas.

    Parameters
    ----------
    cap:
        ``None`` (no cap), a number (no one's chance above it), or ``"auto"``: the smallest
        cap that keeps everyone's chance at least ``(1 - cap_slack)`` times the best
        possible least chance.
    cap_slack:
        How far below the best least chance the cap may push the least chance (``"auto"``).
    tolerance:
        A panel must beat the dual bound by more than this to count as an improvement;
        probabilities are accurate to about this much.
    fix_threshold:
        Types whose dual exceeds this are fixed at the end of a stage.
    progress:
        Called as ``progress(done, total)`` as the work advances.

    Attributes (after :meth:`fit`)
    ------------------------------
    distribution_:
        The :class:`PanelDistribution` found.
    stages_:
        The :class:`Stage` certificates, in order.
    levels_:
        Each type's chance as fixed by the stages.
    cap_:
        The cap used (``None`` without one).
    maximin_:
        The best possible least chance (before any cap).
    method_:
        ``"relaxation"`` (levels on the quota polytope, then decomposed) or
        ``"column-generation"`` (the paper's algorithm, when the first cannot be decomposed).
    pricing_calls_:
        How many integer programs were solved.
    """

    def __init__(self, *, cap: float | str | None = None, cap_slack: float = 0.1,
                 tolerance: float = 1e-9, fix_threshold: float = 1e-7,
                 progress: Progress | None = None) -> None:
        self.cap, self.cap_slack = cap, cap_slack
        self.tolerance, self.fix_threshold = tolerance, fix_threshold
        self.progress = progress

    def fit(self, problem: PanelProblem, quotas: Quotas | None = None) -> Leximin:
        """Compute the LEXIMIN lottery for ``problem``.

        Parameters
        ----------
        problem:
            Built with :meth:`PanelProblem.from_pool`.
        quotas:
            The :class:`~voices.involve.sortition_pool.Quotas`, used only to name the
            conflicting feature values if no panel meets them all.

        Returns
        -------
        Leximin
            ``self``, with the attributes listed above.

        Raises
        ------
        ValidationError
            ``infeasible_quotas`` when no panel meets every quota; ``cap_too_low`` when
            the cap asked for cannot be met.
        """
        if self.cap is not None and self.cap != "auto":
            cap = float(self.cap)
            if not 0 < cap <= 1:
                raise ValidationError(f"the cap {cap} is not a chance", column="cap",
                                      expected="a number above 0 and at most 1, or 'auto'")
        first = check_feasible(problem, quotas if quotas is not None
                               else _anonymous_quotas(problem))
        ip = PanelIP(problem)
        relaxation = _Relaxation(problem, self.cap is not None)
        stages, levels, m = self._stages(relaxation, relaxation.solve, problem.n_types)
        decomposed = decompose(problem, m, ip, self.tolerance, self.progress)
        if decomposed is not None:
            panels, weights = decomposed
            self.method_ = "relaxation"
        else:
            master = _Master(problem.counts, self.cap is not None)
            master.add(_seed_panels(problem, ip, first))
            stages, levels, weights = self._stages(
                master, lambda: _generate(master, ip, master.scale, self.tolerance),
                problem.n_types)
            panels = np.array(master.panels)
            self.method_ = "column-generation"
        weights = np.clip(weights, 0.0, None)
        keep = weights > 0
        self.distribution_ = PanelDistribution(problem, panels[keep],
                                               weights[keep] / weights[keep].sum())
        self.stages_, self.levels_ = stages, levels
        self.pricing_calls_ = ip.calls
        return self

    def _stages(self, program: _LevelProgram, solve: Callable, T: int):
        """Raise and fix levels until every type is fixed; returns stages, levels, solution."""
        capped = self.cap is not None
        self.cap_ = None
        if capped:
            program.set_cap(1.0)
            self.maximin_ = -solve()[0]
            self.cap_ = self._choose_cap(program, solve)
        unfixed = np.ones(T, bool)
        levels = np.zeros(T)
        stages: list[Stage] = []
        while unfixed.any():
            objective, lower, caps, mu, solution = solve()
            value = -objective
            if not stages and not capped:
                self.maximin_ = value
            tight = unfixed & (lower > self.fix_threshold)
            if value >= 1 - self.tolerance:  # a chance cannot exceed 1: all the rest sit at 1
                tight = unfixed.copy()
            elif not tight.any():  # cannot happen in exact arithmetic: the duals add up to 1
                tight = unfixed & (lower >= lower[unfixed].max())
            fixed = np.flatnonzero(tight)
            stages.append(Stage(value, fixed, lower, caps, mu))
            levels[fixed] = value
            unfixed &= ~tight
            program.fix(fixed, value)
        return stages, levels, solution

    def _choose_cap(self, program: _LevelProgram, solve: Callable) -> float:
        """Find the cap to use, check it can be met, and hold ``u`` there."""
        floor = (1 - self.cap_slack) * self.maximin_ if self.cap == "auto" else 0.0
        program.hold_level(floor)
        program.set_cap(None)
        lowest = float(solve()[0])
        program.hold_level(None)
        if self.cap == "auto":
            cap = lowest + self.tolerance
        else:
            cap = float(self.cap)
            if cap < lowest - self.tolerance:
                raise ValidationError(
                    f"no lottery can keep every chance at or below {cap:.4g}; the lowest "
                    f"possible cap for these quotas is {lowest:.4g}", column="cap",
                    expected=f"a cap of at least {lowest:.4g}", code="cap_too_low")
            cap = max(cap, lowest + self.tolerance)
        program.set_cap(cap)
        return cap


def _generate(master: _Master, ip: PanelIP, scale: np.ndarray, tolerance: float,
              target: float | None = None, progress: Callable[[float], None] | None = None):
    """Alternate master LP and pricing IP until no panel improves the master.

    With ``target``, stop as soon as the master's level reaches it.
    """
    while True:
        objective, lower, caps, mu, weights = master.solve()
        if target is not None:
            if progress is not None:
                progress(-objective)
            if -objective >= target:
                return objective, lower, caps, mu, weights
        found = ip.best((lower + caps) / scale)
        if found is None or found[1] <= mu + tolerance:
            return objective, lower, caps, mu, weights
        bar = mu + tolerance
        better = [found[0], *ip.improving(lambda value, bar=bar: value > bar)]
        if master.add(better) == 0:  # the best panel is already there: numerical noise
            return objective, lower, caps, mu, weights


def _seed_panels(problem: PanelProblem, ip: PanelIP, first: np.ndarray) -> list[np.ndarray]:
    """Initial panels for column generation: favour types no panel covers yet."""
    panels = [first]
    covered = first > 0
    weights = np.ones(problem.n_types)
    for _ in range(problem.n_types):
        if covered.all():
            break
        weights = np.where(covered, weights * 0.5, 1.0)
        found = ip.best(weights / problem.counts)
        if found is None or (found[0][~covered] == 0).all():
            break
        panels.append(found[0])
        covered |= found[0] > 0
    return panels


def _anonymous_quotas(problem: PanelProblem) -> Quotas:
    """Quotas rebuilt from a problem's labels, for messages when the caller has none."""
    labels = problem.labels or tuple(f"value{v}=" for v in range(len(problem.lower)))
    rows = []
    for v, label in enumerate(labels):
        feature, _, value = label.partition("=")
        rows.append(ValueQuota(feature, value, int(problem.lower[v]), int(problem.upper[v])))
    return Quotas(tuple(rows))
