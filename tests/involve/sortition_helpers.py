"""Independent checks for the panel-lottery tests: person-level programs with SciPy.

Nothing here imports the code under test's solvers: panels are 0/1 vectors over people,
maximin is column generation with ``scipy.optimize.linprog`` and ``scipy.optimize.milp``.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix, eye, hstack, vstack

POOLS = {"example_small_20": 20, "example_large_200": 200, "sa_fixture_150_k22": 22,
         "synth_600_6f_k40_s7": 40, "synth_2000_6f_k100": 100}


def person_matrix(pool, quotas) -> np.ndarray:
    """(values x people) 0/1 matrix: does person i have quota row v's value."""
    column = {f: j for j, f in enumerate(pool.features)}
    rows = np.zeros((len(quotas.rows), pool.n))
    for v, q in enumerate(quotas.rows):
        for i, person in enumerate(pool.values):
            rows[v, i] = person[column[q.feature]] == q.value
    return rows


def quota_bounds(quotas) -> tuple[np.ndarray, np.ndarray]:
    """(least, most) people wanted with each quota row's value."""
    return (np.array([q.min for q in quotas.rows], float),
            np.array([q.max for q in quotas.rows], float))


def best_person_panel(weights, matrix, lower, upper, k) -> tuple[float, np.ndarray]:
    """max weights @ x over 0/1 person panels meeting the quotas (SciPy's MILP)."""
    n = matrix.shape[1]
    constraints = [LinearConstraint(matrix, lower, upper),
                   LinearConstraint(np.ones((1, n)), k, k)]
    result = milp(-np.asarray(weights, float), constraints=constraints,
                  integrality=np.ones(n), bounds=Bounds(0, 1),
                  options={"mip_rel_gap": 0.0})
    assert result.status == 0, result.message
    x = np.rint(result.x)
    return float(np.dot(weights, x)), x


def _maximin_by_columns(best, size: int, tolerance: float, max_rounds: int) -> float:
    """Column generation for the best least chance: ``best(weights)`` prices a panel and
    returns (its weighted value, each unit's chance in it); ``size`` units (people or types)."""
    panels = [best(np.zeros(size))[1]]
    for _ in range(max_rounds):
        P = np.array(panels).T  # units x panels: each unit's chance in each panel
        m = P.shape[1]
        # variables: lambda (m), z; max z: P lambda - z >= 0, sum lambda = 1
        result = linprog(np.concatenate([np.zeros(m), [-1.0]]),
                         A_ub=np.hstack([-P, np.ones((size, 1))]), b_ub=np.zeros(size),
                         A_eq=np.concatenate([np.ones(m), [0.0]])[None, :], b_eq=[1.0],
                         bounds=[(0, None)] * m + [(0, 1)], method="highs")
        y = -result.ineqlin.marginals  # >= 0, sums to 1
        value, chances = best(y)
        if value <= -result.eqlin.marginals[0] + tolerance:
            return -result.fun
        panels.append(chances)
    raise AssertionError("independent maximin did not converge")


def independent_maximin(pool, quotas, k, tolerance=1e-9, max_rounds=5000) -> float:
    """The best least chance of selection, by person-level column generation."""
    matrix = person_matrix(pool, quotas)
    lower, upper = quota_bounds(quotas)
    return _maximin_by_columns(lambda y: best_person_panel(y, matrix, lower, upper, k),
                               pool.n, tolerance, max_rounds)


def independent_type_maximin(pool, quotas, k, tolerance=1e-9, max_rounds=5000) -> float:
    """The best least chance of selection, by column generation over *types* (people with
    the same quota values, found here with NumPy): by symmetry and convexity an optimal
    lottery can treat everyone of a type alike, so this equals the person-level maximin, and
    a panel is a count per type (pricing: SciPy's MILP with counts bounded by the type's
    size). Minutes faster than the person-level program on hundreds of people."""
    matrix = person_matrix(pool, quotas)
    types, sizes = np.unique(matrix.T, axis=0, return_counts=True)
    by_type = types.T  # values x types
    lower, upper = quota_bounds(quotas)
    t = by_type.shape[1]
    constraints = [LinearConstraint(by_type, lower, upper), LinearConstraint(np.ones((1, t)), k, k)]

    def best(chances):
        weights = chances / sizes
        result = milp(-weights, constraints=constraints, integrality=np.ones(t),
                      bounds=Bounds(0, sizes), options={"mip_rel_gap": 0.0})
        assert result.status == 0, result.message
        x = np.rint(result.x)
        return float(weights @ x), x / sizes

    return _maximin_by_columns(best, t, tolerance, max_rounds)


def relaxation_maximin(pool, quotas, k) -> float:
    """An upper bound on any lottery's least chance, by one LP over people (SciPy).

    Any lottery's vector of chances p lies in {0 <= p <= 1, quotas met by p, sum p = k}
    (each panel's 0/1 vector does, and the set is convex), so no lottery's least chance
    exceeds the best min_i p_i over that set. A lottery reaching this bound is therefore
    an optimal maximin lottery, and the bound is its value.
    """
    matrix = csr_matrix(person_matrix(pool, quotas))
    values, n = matrix.shape
    lower, upper = quota_bounds(quotas)
    # variables (p_1..p_n, z): maximise z with z - p_i <= 0 and the quotas on p
    column_z = csr_matrix(np.ones((n, 1)))
    no_z = csr_matrix((values, 1))
    a_ub = vstack([hstack([-eye(n), column_z]), hstack([matrix, no_z]), hstack([-matrix, no_z])])
    b_ub = np.concatenate([np.zeros(n), upper, -lower])
    a_eq = csr_matrix(np.concatenate([np.ones(n), [0.0]])[None, :])
    result = linprog(np.concatenate([np.zeros(n), [-1.0]]), A_ub=a_ub.tocsr(), b_ub=b_ub,
                     A_eq=a_eq, b_eq=[k], bounds=(0, 1), method="highs")
    assert result.status == 0, result.message
    return -result.fun


def lottery_chances(distribution, pool, quotas, k) -> np.ndarray:
    """Each person's chance under a lottery of type-level panels, recomputed here after
    checking, with this module's own person matrix, that every person of a type has the
    same quota values and that every panel is whole, fits the pool and meets every quota."""
    matrix = person_matrix(pool, quotas)
    person_type = np.asarray(distribution.problem.person_type)
    panels = np.asarray(distribution.panels, float)
    weights = np.asarray(distribution.weights, float)
    n_types = panels.shape[1]
    sizes = np.bincount(person_type, minlength=n_types)
    first = np.array([np.flatnonzero(person_type == t)[0] for t in range(n_types)])
    by_type = matrix[:, first]
    assert (matrix == by_type[:, person_type]).all(), "a type mixes quota values"
    assert (panels == np.rint(panels)).all() and (panels >= 0).all()
    assert (panels <= sizes).all(), "a panel seats more people of a type than the pool has"
    assert (panels.sum(axis=1) == k).all()
    seats = panels @ by_type.T  # panels x quota rows
    lower, upper = quota_bounds(quotas)
    assert ((seats >= lower) & (seats <= upper)).all(), "a panel breaks a quota"
    assert (weights >= 0).all() and abs(weights.sum() - 1) < 1e-9
    return ((weights @ panels) / sizes)[person_type]


def all_panels(pool, quotas, k) -> list[tuple[int, ...]]:
    """Every quota-meeting panel of a tiny pool, by enumeration."""
    matrix = person_matrix(pool, quotas)
    lower, upper = quota_bounds(quotas)
    found = []
    for panel in combinations(range(pool.n), k):
        counts = matrix[:, list(panel)].sum(axis=1)
        if (counts >= lower).all() and (counts <= upper).all():
            found.append(panel)
    return found


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
