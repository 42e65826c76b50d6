"""LEGACY checked against an exact, independent person-level computation on small pools."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from voices.involve.sortition_legacy import Legacy
from voices.involve.sortition_pool import PanelProblem, Pool, Quotas, ValueQuota


def exact_legacy(pool: Pool, quotas: Quotas, k: int) -> list[Fraction]:
    """Each person's chance under LEGACY conditioned on success, by full enumeration.

    Written from the method's description (Flanigan et al. 2021, Methods), person by
    person, with exact fractions.
    """
    rows = quotas.rows
    column = {f: j for j, f in enumerate(pool.features)}
    has = [[pool.values[i][column[q.feature]] == q.value for q in rows] for i in range(pool.n)]
    chance = [Fraction(0)] * pool.n
    success = [Fraction(0)]

    def walk(left: frozenset, chosen: tuple, counts: tuple, p: Fraction) -> None:
        if len(chosen) == k:
            if all(q.min <= c <= q.max for q, c in zip(rows, counts, strict=True)):
                success[0] += p
                for i in chosen:
                    chance[i] += p
            return
        remaining = [sum(1 for i in left if has[i][v]) for v in range(len(rows))]
        best, best_ratio = None, None
        for v, q in enumerate(rows):
            needed = max(q.min - counts[v], 0)
            if remaining[v] < needed:
                return  # fails
            if remaining[v] == 0 or q.max == 0:
                continue
            ratio = Fraction(needed, remaining[v])
            if best_ratio is None or ratio > best_ratio:
                best, best_ratio = v, ratio
        if best is None:
            return
        options = [i for i in sorted(left) if has[i][best]]
        for i in options:
            new_counts = tuple(c + has[i][v] for v, c in enumerate(counts))
            new_left = left - {i}
            for v, q in enumerate(rows):
                if has[i][v] and new_counts[v] >= q.max:
                    new_left = frozenset(j for j in new_left if not has[j][v])
            walk(new_left, (*chosen, i), new_counts, p / len(options))

    start = frozenset(i for i in range(pool.n)
                      if not any(has[i][v] and q.max == 0 for v, q in enumerate(rows)))
    walk(start, (), tuple(0 for _ in rows), Fraction(1))
    return [c / success[0] for c in chance]


def small_case():
    values = [("f", "young"), ("f", "old"), ("m", "old"), ("m", "old"), ("m", "young"),
              ("f", "old"), ("m", "old")]
    pool = Pool(ids=tuple(f"p{i}" for i in range(len(values))), features=("gender", "age"),
                values=tuple(values))
    quotas = Quotas((ValueQuota("gender", "f", 1, 2), ValueQuota("gender", "m", 1, 2),
                     ValueQuota("age", "young", 1, 1), ValueQuota("age", "old", 1, 3)))
    return pool, quotas, 3


def test_legacy_estimate_matches_exact_enumeration():
    pool, quotas, k = small_case()
    exact = np.array([float(c) for c in exact_legacy(pool, quotas, k)])
    problem = PanelProblem.from_pool(pool, quotas, k)
    model = Legacy(runs=20_000, seed=1).fit(problem)
    estimate = model.distribution_.probabilities
    # each type estimate averages over >= 20,000 runs: 5 standard errors at most 0.02
    assert np.all(np.abs(estimate - exact) < 0.02), (estimate, exact)
    assert abs(estimate.sum() - k) < 1e-9


def test_legacy_panels_meet_quotas_and_seed_reproduces(sortition_pool):
    pool, quotas = sortition_pool("synth_600_6f_k40_s7")
    problem = PanelProblem.from_pool(pool, quotas, 40)
    first = Legacy(runs=500, seed=7).fit(problem).distribution_
    second = Legacy(runs=500, seed=7).fit(problem).distribution_
    assert problem.violations(first.panels).sum() == 0
    assert first.panels.tobytes() == second.panels.tobytes()
    assert first.weights.tobytes() == second.weights.tobytes()
    assert abs(first.weights.sum() - 1) < 1e-12
