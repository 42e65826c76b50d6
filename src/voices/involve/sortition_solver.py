"""Integer programs on panels, solved with HiGHS: best panel, feasibility, nearest relaxation.

All programs work on the type-level :class:`~voices.involve.sortition_pool.PanelProblem`: a
panel is an integer count ``x_t`` per type with ``0 <= x_t <= counts[t]``, ``sum(x) = k``
and ``lower_v <= sum_{t has v} x_t <= upper_v`` for every feature value ``v``.

References
----------
Huangfu & Hall (2018), "Parallelizing the dual revised simplex method", *Math. Prog. Comp.*
10, 119-142 (HiGHS); HiGHS documentation, https://ergo-code.github.io/HiGHS/.
Flanigan et al. (2021), *Nature* 596, 548-552, Methods: panels as integer points of the
quota polytope; the pricing problem "find a feasible panel of maximum weight".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np

from voices.errors import Problem, ValidationError
from voices.involve.sortition_pool import PanelProblem, Quotas

INF = highspy.kHighsInf
ROUGH_GAP = 0.05  # relative gap of a rough search (any good panel will do)


def new_highs(**options: object) -> highspy.Highs:
    """A silent HiGHS instance with deterministic settings (fixed seed, one thread: these
    programs are small, and on a shared machine waiting for helper threads costs more than
    they save)."""
    highs = highspy.Highs()
    highs.silent()
    highs.setOptionValue("random_seed", 0)
    highs.setOptionValue("threads", 1)
    for key, value in options.items():
        highs.setOptionValue(key, value)
    return highs


def csc(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column starts, row indices and values of a dense matrix (columns are its rows here).

    ``columns[j]`` is the dense ``j``-th column; zero entries are dropped.
    """
    columns = np.atleast_2d(columns)
    nonzero = columns != 0
    starts = np.concatenate([[0], np.cumsum(nonzero.sum(axis=1))]).astype(np.int32)
    rows, cols = np.nonzero(nonzero.T)
    order = np.lexsort((rows, cols))
    return starts, rows[order].astype(np.int32), columns.T[rows[order], cols[order]].astype(float)


def _quota_rows(problem: PanelProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row bounds and the (V + 1) x T matrix of the quota rows plus the size row."""
    matrix = np.vstack([problem.incidence.T, np.ones(problem.n_types, dtype=np.int64)])
    lower = np.concatenate([problem.lower, [problem.k]]).astype(float)
    upper = np.concatenate([problem.upper, [problem.k]]).astype(float)
    return matrix, lower, upper


class PanelIP:
    """Find a feasible panel of maximum weight (the pricing problem of column generation).

    The model is built once and only its objective changes between calls, so HiGHS keeps
    its presolve and model; calls are deterministic.

    Parameters
    ----------
    problem:
        The type-level panel problem.
    gap:
        Absolute optimality gap: the weight of the panel found is within ``gap`` of the best.
    """

    def __init__(self, problem: PanelProblem, gap: float = 1e-9) -> None:
        self.problem = problem
        matrix, lower, upper = _quota_rows(problem)
        T = problem.n_types
        self.highs = new_highs(mip_rel_gap=0.0, mip_abs_gap=gap, mip_feasibility_tolerance=1e-9,
                               primal_feasibility_tolerance=1e-9,
                               mip_improving_solution_save=True)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = T, matrix.shape[0]
        lp.col_cost_ = np.zeros(T)
        lp.col_lower_ = np.zeros(T)
        lp.col_upper_ = problem.counts.astype(float)
        lp.row_lower_, lp.row_upper_ = lower, upper
        starts, index, value = csc(matrix.T)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = starts, index, value
        lp.integrality_ = [highspy.HighsVarType.kInteger] * T
        lp.sense_ = highspy.ObjSense.kMaximize
        self.highs.passModel(lp)
        self.calls = 0
        self.integer = True

    def relax(self) -> None:
        """Drop integrality: :meth:`best` then maximises over the quota polytope (an LP)."""
        T = self.problem.n_types
        self.highs.changeColsIntegrality(T, np.arange(T, dtype=np.int32),
                                         np.full(T, highspy.HighsVarType.kContinuous))
        self.integer = False

    def restrict(self, lower: np.ndarray, upper: np.ndarray,
                 quota_lower: np.ndarray | None = None,
                 quota_upper: np.ndarray | None = None) -> None:
        """Only consider panels with ``lower <= x <= upper`` (type by type) and, when given,
        ``quota_lower <= incidence.T @ x <= quota_upper`` (tighter than the quotas)."""
        T = self.problem.n_types
        self.highs.changeColsBounds(T, np.arange(T, dtype=np.int32), np.asarray(lower, float),
                                    np.asarray(upper, float))
        V = len(self.problem.lower)
        row_lower = self.problem.lower if quota_lower is None else quota_lower
        row_upper = self.problem.upper if quota_upper is None else quota_upper
        self.highs.changeRowsBounds(V, np.arange(V, dtype=np.int32),
                                    np.asarray(row_lower, float), np.asarray(row_upper, float))

    def unrestrict(self) -> None:
        """Back to every panel that meets the quotas."""
        self.restrict(np.zeros(self.problem.n_types), self.problem.counts)

    def best(self, weights: np.ndarray,
             rough: bool = False) -> tuple[np.ndarray, float, float] | None:
        """The panel maximising ``weights @ x`` (with ``rough``, a panel within
        :data:`ROUGH_GAP` of the best, found faster).

        Returns
        -------
        (panel, value, bound) or None
            The integer count vector found, its weight and HiGHS's proven upper bound on
            the best weight; ``None`` when no panel meets the quotas.
        """
        self.calls += 1
        T = self.problem.n_types
        self._weights = np.asarray(weights, float)
        self.highs.changeColsCost(T, np.arange(T, dtype=np.int32), self._weights)
        if rough:
            self.highs.setOptionValue("mip_rel_gap", ROUGH_GAP)
        self.highs.run()
        if rough:
            self.highs.setOptionValue("mip_rel_gap", 0.0)
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS could not solve the panel problem: {status}")
        x = np.asarray(self.highs.getSolution().col_value)
        if not self.integer:
            value = float(self.highs.getInfo().objective_function_value)
            return x, value, value
        x = np.rint(x).astype(np.int64)
        return x, float(np.dot(weights, x)), float(self.highs.getInfo().mip_dual_bound)

    def improving(self, keep: Callable[[float], bool]) -> list[np.ndarray]:
        """Other panels the last :meth:`best` call met on its way, whose weight passes ``keep``."""
        found = []
        for solution in self.highs.getSavedMipSolutions():
            x = np.rint(np.asarray(solution.col_value)).astype(np.int64)
            if keep(float(np.dot(self._weights, x))):
                found.append(x)
        return found


def swap_neighbours(problem: PanelProblem, panel: np.ndarray, weights: np.ndarray,
                    lower: np.ndarray, upper: np.ndarray, quota_lower: np.ndarray,
                    quota_upper: np.ndarray, bar: float, limit: int) -> list[np.ndarray]:
    """Panels one swap away from ``panel`` whose weight is above ``bar``, best first.

    A swap takes one person of type ``t`` off and puts one of type ``s`` on; it is kept
    when the panel still has ``lower <= x <= upper`` and ``quota_lower <= incidence.T @ x
    <= quota_upper``. At most ``limit`` panels are returned. Cheap (no solver): used to
    add several good panels per pricing call in column generation.
    """
    incidence = problem.incidence
    out = np.flatnonzero(panel > lower)
    into = np.flatnonzero(panel < upper)
    if len(out) == 0 or len(into) == 0:
        return []
    totals = panel @ incidence
    # quota rows that a swap may not push further: full ones and ones at their minimum
    full, least = totals >= quota_upper, totals <= quota_lower
    bad = np.zeros((len(out), len(into)), bool)
    if full.any():  # s adds to a full value that t does not free
        bad |= (incidence[into][:, full] @ (1 - incidence[out][:, full]).T).T > 0
    if least.any():  # t leaves a value at its minimum that s does not refill
        bad |= incidence[out][:, least] @ (1 - incidence[into][:, least]).T > 0
    gain = weights[into][None, :] - weights[out][:, None]
    good = ~bad & (out[:, None] != into[None, :]) & (float(weights @ panel) + gain > bar)
    rows, cols = np.nonzero(good)
    if len(rows) == 0:
        return []
    best = np.argsort(-gain[rows, cols], kind="stable")[:limit]
    found = []
    for r, c in zip(rows[best], cols[best], strict=True):
        x = panel.copy()
        x[out[r]] -= 1
        x[into[c]] += 1
        found.append(x)
    return found


@dataclass(frozen=True)
class Relaxation:
    """The smallest change to the quotas that lets a panel exist.

    ``lower`` and ``upper`` are the relaxed bounds (same order as the quota rows);
    ``changes`` lists ``(row index, "min"|"max", old, new)`` for every changed bound.
    """

    lower: np.ndarray
    upper: np.ndarray
    changes: tuple[tuple[int, str, int, int], ...]

    @property
    def total(self) -> int:
        return int(sum(abs(new - old) for _, _, old, new in self.changes))


def nearest_relaxation(problem: PanelProblem) -> Relaxation:
    """Relax the quotas as little as possible (in total people) so that a panel exists.

    Solves the integer program: minimise ``sum_v (a_v + b_v)`` over panels ``x`` and
    whole numbers ``a, b >= 0`` with ``lower - a <= incidence.T @ x <= upper + b``,
    ``sum(x) = k``, ``0 <= x <= counts``. It always has a solution when ``k`` is at most
    the pool size.

    References
    ----------
    Chinneck (2008), *Feasibility and Infeasibility in Optimization*, ch. 8 (elastic
    programming: minimising the total violation of soft constraints).
    """
    T, V = problem.n_types, problem.incidence.shape[1]
    # columns: x (T), a (V), b (V); rows: V quota rows (two-sided) and the size row
    matrix = np.zeros((V + 1, T + 2 * V))
    matrix[:V, :T] = problem.incidence.T
    matrix[:V, T:T + V] = np.eye(V)  # + a relaxes the lower bound
    matrix[:V, T + V:] = -np.eye(V)  # - b relaxes the upper bound
    matrix[V, :T] = 1
    highs = new_highs(mip_rel_gap=0.0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = T + 2 * V, V + 1
    lp.col_cost_ = np.concatenate([np.zeros(T), np.ones(2 * V)])
    lp.col_lower_ = np.zeros(T + 2 * V)
    lp.col_upper_ = np.concatenate([problem.counts.astype(float), np.full(2 * V, INF)])
    lp.row_lower_ = np.concatenate([problem.lower, [problem.k]]).astype(float)
    lp.row_upper_ = np.concatenate([problem.upper, [problem.k]]).astype(float)
    starts, index, value = csc(matrix.T)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = starts, index, value
    lp.integrality_ = [highspy.HighsVarType.kInteger] * (T + 2 * V)
    highs.passModel(lp)
    highs.run()
    values = np.rint(np.asarray(highs.getSolution().col_value)).astype(np.int64)
    down, up = values[T:T + V], values[T + V:]
    lower, upper = problem.lower - down, problem.upper + up
    changes = [(v, "min", int(problem.lower[v]), int(lower[v])) for v in np.flatnonzero(down)]
    changes += [(v, "max", int(problem.upper[v]), int(upper[v])) for v in np.flatnonzero(up)]
    changes.sort()
    return Relaxation(lower, upper, tuple(changes))


def check_feasible(problem: PanelProblem, quotas: Quotas) -> np.ndarray:
    """Return one panel meeting every quota, or refuse with the nearest relaxation.

    Raises
    ------
    ValidationError
        ``code="infeasible_quotas"``; one problem per quota that must change, naming the
        feature value, its row in the quotas file, and the smallest change that works.
    """
    found = PanelIP(problem).best(np.zeros(problem.n_types))
    if found is not None:
        return found[0]
    relaxation = nearest_relaxation(problem)
    problems = []
    for v, bound, old, new in relaxation.changes:
        quota = quotas.rows[v]
        problems.append(Problem(
            f"{quota.feature}={quota.value} conflicts with the other quotas: change its "
            f"{bound} from {old} to {new}", file=quotas.source, row=quota.row, column=bound,
            expected=f"{bound} {new}"))
    names = ", ".join(f"{quotas.rows[v].feature}={quotas.rows[v].value}"
                      for v, *_ in relaxation.changes)
    summary = (f"no panel of {problem.k} can meet all the quotas together; the conflict "
               f"involves {names}; the nearest quotas that work change "
               f"{relaxation.total} place{'s' if relaxation.total != 1 else ''} in total")
    raise ValidationError(summary, file=quotas.source, problems=problems,
                          code="infeasible_quotas")
