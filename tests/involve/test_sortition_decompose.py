"""Splitting a mean panel into whole panels: exact when possible, refused when not."""

from __future__ import annotations

import numpy as np

from voices.involve.sortition_decompose import decompose
from voices.involve.sortition_pool import PanelProblem, Pool, Quotas, ValueQuota
from voices.involve.sortition_solver import PanelIP

# Two triangles of "edges": each type says yes to two of six features, and each feature
# may have at most one yes on a panel, so a panel holds at most one type per triangle.
EDGES = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]


def triangles() -> tuple[PanelProblem, np.ndarray]:
    features = tuple(f"v{i}" for i in range(6))
    rows = [ValueQuota(f, "yes", 0, 1) for f in features]
    rows += [ValueQuota(f, "no", 0, 3) for f in features]
    people = [tuple("yes" if i in edge else "no" for i in range(6)) for edge in EDGES]
    people.append(("no",) * 6)  # the only type with no yes
    pool = Pool(ids=tuple(f"p{i}" for i in range(len(people))), features=features,
                values=tuple(people))
    problem = PanelProblem.from_pool(pool, Quotas(tuple(rows)), 3)
    yes = problem.incidence[:, :6].sum(axis=1)
    return problem, yes


def test_a_mean_of_whole_panels_is_split_back_exactly():
    problem, yes = triangles()
    # whole panels: one edge of each triangle and the all-"no" person
    first, second = np.zeros(problem.n_types, int), np.zeros(problem.n_types, int)
    edges = np.flatnonzero(yes == 2)
    first[[edges[0], edges[-1]]] = 1
    second[[edges[1], edges[-2]]] = 1
    first[yes == 0] = second[yes == 0] = 1
    assert problem.violations(np.array([first, second])).sum() == 0
    mean = 0.3 * first + 0.7 * second
    panels, weights = decompose(problem, mean, PanelIP(problem), 1e-9)
    assert problem.violations(panels).sum() == 0
    assert (weights >= 0).all() and abs(weights.sum() - 1) < 1e-9
    assert np.abs(weights @ panels - mean).max() < 1e-9


def test_a_mean_that_no_lottery_of_panels_gives_is_refused():
    problem, yes = triangles()
    # half of every edge: meets every quota on average, but a whole panel has at most
    # two edges, so every real lottery puts the all-"no" person on with chance 1
    mean = np.where(yes == 2, 0.5, 0.0)
    totals = mean @ problem.incidence
    assert mean.sum() == 3 and (totals >= problem.lower).all() and (totals <= problem.upper).all()
    assert decompose(problem, mean, PanelIP(problem), 1e-9) is None
