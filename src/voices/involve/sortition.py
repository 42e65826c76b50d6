"""Panels by fair lottery: choose who sits on a panel so that it meets its quotas and
everyone in the pool gets as equal a chance as the quotas allow.

This is the entry point; the parts live in:

* :mod:`voices.involve.sortition_pool` — pool, quotas, types, input checks, Gini;
* :mod:`voices.involve.sortition_csv` — reading and writing the CSV files
  (``sortition-algorithms`` and *Nature* 2021 formats);
* :mod:`voices.involve.sortition_solver` — HiGHS integer programs: best panel,
  feasibility, nearest relaxation of quotas that cannot be met;
* :mod:`voices.involve.sortition_leximin` — LEXIMIN (Flanigan et al., *Nature* 2021);
* :mod:`voices.involve.sortition_legacy` — LEGACY, the greedy method it replaces;
* :mod:`voices.involve.sortition_lottery` — rounding to ``m`` tickets, the published
  digest and the verifiable draw (Flanigan, Kehne & Procaccia, NeurIPS 2021).

Example
-------
>>> from voices.involve.sortition import select_panel
>>> from voices.involve.sortition_csv import read_pool, read_quotas
>>> quotas = read_quotas("features.csv")                      # doctest: +SKIP
>>> pool = read_pool("people.csv", quotas)                    # doctest: +SKIP
>>> selection = select_panel(pool, quotas, 20)                # doctest: +SKIP
>>> selection.summary()["min_probability"]                    # doctest: +SKIP
0.1
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from voices.errors import ValidationError
from voices.involve.sortition_legacy import Legacy
from voices.involve.sortition_leximin import Leximin, Stage
from voices.involve.sortition_lottery import Lottery, build_lottery, draw_ticket
from voices.involve.sortition_pool import (
    PanelDistribution,
    PanelProblem,
    Pool,
    Quotas,
    check_panel_inputs,
    gini,
)
from voices.involve.sortition_solver import check_feasible, nearest_relaxation

ALGORITHMS = ("leximin", "legacy")

__all__ = [
    "ALGORITHMS", "Legacy", "Leximin", "Lottery", "PanelDistribution", "PanelProblem", "Pool",
    "Quotas", "Selection", "Stage", "build_lottery", "check_feasible", "check_panel_inputs",
    "draw_ticket", "gini", "nearest_relaxation", "select_panel",
]


@dataclass(frozen=True)
class Selection:
    """The result of :func:`select_panel`: who has what chance, and the panels behind it.

    Attributes
    ----------
    algorithm:
        ``"leximin"`` or ``"legacy"``.
    pool:
        The pool the chances refer to.
    distribution:
        The lottery over (type-level) panels.
    seconds:
        Time taken by the algorithm.
    details:
        Algorithm facts: for LEXIMIN the stages, the best least chance and the cap used;
        for LEGACY the runs and the success rate.
    """

    algorithm: str
    pool: Pool
    distribution: PanelDistribution
    seconds: float
    details: dict = field(default_factory=dict)

    @property
    def probabilities(self) -> np.ndarray:
        """Each person's chance of selection, in pool order."""
        return self.distribution.probabilities

    def summary(self) -> dict:
        """The figures the CLI prints: sizes, time, least and greatest chance, Gini, panels."""
        stats = self.distribution.summary()
        return {"algorithm": self.algorithm, "n": self.pool.n, "k": self.distribution.problem.k,
                "seconds": round(self.seconds, 3), **stats}

    def panel_records(self) -> list[dict]:
        """The lottery over panels in words: each panel's chance and, for each group of
        interchangeable people on it, how many of the group sit on it and their features."""
        problem = self.distribution.problem
        first = {int(t): int(i) for i, t in reversed(list(enumerate(problem.person_type)))}
        records = []
        for panel, weight in zip(self.distribution.panels, self.distribution.weights,
                                 strict=True):
            groups = []
            for t in np.flatnonzero(panel):
                person = self.pool.values[first[int(t)]]
                groups.append({"count": int(panel[t]), "of": int(problem.counts[t]),
                               "features": dict(zip(self.pool.features, person, strict=True))})
            records.append({"weight": float(weight), "groups": groups})
        return records

    def lottery(self, tickets: int = 1000, seed: int = 0) -> Lottery:
        """Round to ``tickets`` equally likely panels of named people (see sortition_lottery)."""
        return build_lottery(self.distribution, self.pool.ids, tickets, seed)


def select_panel(pool: Pool, quotas: Quotas, k: int, algorithm: str = "leximin", *,
                 cap: float | str | None = None, cap_slack: float = 0.1, runs: int = 10_000,
                 seed: int = 0, progress: Callable[[int, int], None] | None = None) -> Selection:
    """Work out everyone's chance of selection for a panel of ``k`` from ``pool``.

    Parameters
    ----------
    pool, quotas, k:
        The people, the quotas and the panel size (checked first; see
        :func:`~voices.involve.sortition_pool.check_panel_inputs`).
    algorithm:
        ``"leximin"`` (fair; exact) or ``"legacy"`` (greedy; estimated from ``runs`` runs).
    cap, cap_slack:
        LEXIMIN only: cap the greatest chance (a number, or ``"auto"``; see :class:`Leximin`).
    runs, seed:
        LEGACY only: how many runs and the random seed.
    progress:
        Called as ``progress(done, total)``.

    Returns
    -------
    Selection

    Raises
    ------
    ValidationError
        Bad inputs, quotas no panel can meet (``infeasible_quotas``, naming the quotas to
        change), an unknown algorithm.
    """
    if algorithm not in ALGORITHMS:
        raise ValidationError(f"unknown algorithm '{algorithm}'", column="algorithm",
                              expected=" or ".join(ALGORITHMS))
    problem = PanelProblem.from_pool(pool, quotas, k)
    started = time.perf_counter()
    if algorithm == "leximin":
        model = Leximin(cap=cap, cap_slack=cap_slack, progress=progress).fit(problem, quotas)
        details = {"types": problem.n_types, "stages": len(model.stages_),
                   "maximin": model.maximin_, "cap": model.cap_, "method": model.method_,
                   "pricing_calls": model.pricing_calls_, "model": model}
    else:
        check_feasible(problem, quotas)
        model = Legacy(runs=runs, seed=seed, progress=progress).fit(problem)
        details = {"types": problem.n_types, "runs": runs, "success_rate": model.success_rate_}
    return Selection(algorithm, pool, model.distribution_, time.perf_counter() - started,
                     details)
