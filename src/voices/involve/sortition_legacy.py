"""LEGACY: the greedy quota-filling lottery that fair selection is compared against.

The method (Flanigan et al. 2021, Methods, "LEGACY"; the Sortition Foundation's original
selection script, kept as the ``legacy`` algorithm of ``sortition-algorithms``):

1. Remove everyone with a feature value whose maximum is 0.
2. Repeat ``k`` times: among feature values that still have people left (and a maximum
   above 0), take the one with the largest ratio ``(min - selected, floored at 0) /
   remaining``, the first such value in quota-file order on ties; pick a uniformly random
   remaining person with that value. Whenever a value reaches its maximum, remove everyone
   left with it.
3. The attempt fails if a value can no longer reach its minimum, the pool runs out, or the
   finished panel misses a quota; a failed attempt is started again.

Selection probabilities are estimated from many independent runs. The runs are simulated
on types, all at once with NumPy: the chance that a given person of type ``t`` is chosen is
``E[x_t] / counts[t]`` because the method treats people with the same features alike
(see :class:`~voices.involve.sortition_pool.PanelProblem`).

References
----------
B. Flanigan et al., "Fair algorithms for selecting citizens' assemblies", *Nature* 596,
548-552 (2021), Methods (description and estimation of LEGACY by 10,000 runs).
Sortition Foundation, ``sortition-algorithms`` (PyPI), ``committee_generation/legacy.py``
(behaviour matched, code not reused).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voices.errors import VoicesError
from voices.involve.sortition_pool import PanelDistribution, PanelProblem


class Legacy:
    """Estimate LEGACY's selection probabilities by seeded repeated runs.

    Parameters
    ----------
    runs:
        Successful runs to collect (the paper used 10,000).
    seed:
        Seed of NumPy's PCG64 generator; the same seed gives the same result.
    batch:
        Runs simulated together.
    max_attempts_per_run:
        Give up when this many attempts per wanted run have failed on average.
    progress:
        Called as ``progress(successful runs, runs)``.

    Attributes (after :meth:`fit`)
    ------------------------------
    distribution_:
        The panels seen, each weighted by how often it came up.
    success_rate_:
        The share of attempts that produced a panel.
    """

    def __init__(self, *, runs: int = 10_000, seed: int = 0, batch: int = 2_000,
                 max_attempts_per_run: int = 100,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.runs, self.seed, self.batch = runs, seed, batch
        self.max_attempts_per_run, self.progress = max_attempts_per_run, progress

    def fit(self, problem: PanelProblem) -> Legacy:
        """Run LEGACY ``runs`` times on ``problem``.

        Raises
        ------
        VoicesError
            ``legacy_failed`` when almost every attempt fails.
        """
        rng = np.random.Generator(np.random.PCG64(self.seed))
        found: list[np.ndarray] = []
        total = attempts = 0
        while total < self.runs:
            want = min(self.batch, max(self.runs - total, 1))
            panels, ok = _simulate(problem, want, rng)
            attempts += want
            found.append(panels[ok])
            total += int(ok.sum())
            if self.progress is not None:
                self.progress(min(total, self.runs), self.runs)
            if attempts >= self.max_attempts_per_run * self.runs and total < self.runs:
                raise VoicesError("LEGACY fails on almost every attempt with these quotas",
                                  code="legacy_failed")
        panels = np.concatenate(found)[: self.runs]
        unique, counts = np.unique(panels, axis=0, return_counts=True)
        self.distribution_ = PanelDistribution(problem, unique, counts / counts.sum())
        self.success_rate_ = total / attempts
        return self


def _simulate(problem: PanelProblem, runs: int, rng: np.random.Generator):
    """Simulate ``runs`` LEGACY attempts at once; returns panels (runs, T) and success flags."""
    A = problem.incidence.astype(np.int64)  # (T, V)
    lower, upper = problem.lower, problem.upper
    T, V = A.shape
    remaining = np.tile(problem.counts, (runs, 1))
    closed = (A[:, upper == 0].sum(axis=1) > 0)  # types with a value whose max is 0
    remaining[:, closed] = 0
    left = remaining @ A  # (runs, V) people left with each value
    chosen = np.zeros((runs, V), np.int64)
    panels = np.zeros((runs, T), np.int64)
    ok = np.ones(runs, bool)
    rows = np.arange(runs)
    for _ in range(problem.k):
        needed = np.maximum(lower - chosen, 0)
        ok &= (left >= needed).all(axis=1)
        open_values = (left > 0) & (upper > 0)
        ok &= open_values.any(axis=1)
        ratio = np.where(open_values, needed / np.maximum(left, 1), -np.inf)
        value = np.argmax(ratio, axis=1)  # first maximum, in quota order
        weights = remaining * A[:, value].T  # people of each type with that value
        cumulative = np.cumsum(weights, axis=1)
        totals = cumulative[:, -1]
        draw = np.floor(rng.random(runs) * np.maximum(totals, 1))
        person_type = (cumulative <= draw[:, None]).sum(axis=1)
        person_type = np.minimum(person_type, T - 1)
        active = ok & (totals > 0)
        ok &= totals > 0
        pick = rows[active]
        t = person_type[active]
        remaining[pick, t] -= 1
        panels[pick, t] += 1
        chosen[pick] += A[t]
        left[pick] -= A[t]
        full = (chosen[pick] >= upper) & (A[t] > 0)  # values of the chosen person now full
        if full.any():
            for i, r in enumerate(pick):
                if full[i].any():
                    drop = (A[:, full[i]].sum(axis=1) > 0) & (remaining[r] > 0)
                    left[r] -= remaining[r, drop] @ A[drop]
                    remaining[r, drop] = 0
    final = panels @ A
    ok &= ((final >= lower) & (final <= upper)).all(axis=1) & (panels.sum(axis=1) == problem.k)
    return panels, ok
