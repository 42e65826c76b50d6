"""The inputs of a panel lottery: a pool of people, quotas per feature value, a panel size.

A *pool* is the people who said yes to the invitation, each described by one value per
*feature* (for example ``gender=female``, ``age=16-29``). *Quotas* give, for every feature
value, the least and the most people with it that a panel may have. A *panel* is a set of
``k`` people from the pool that meets every quota.

Everything here is pure: the CSV readers and writers live in
:mod:`voices.involve.sortition_csv`. The checks in :func:`check_panel_inputs` report every
problem at once, each located in the file, row and column it came from.

People with the same value on every feature are interchangeable for every algorithm in this
package, so the algorithms work on *types*: the distinct feature vectors, each with the
number of people who share it (:class:`PanelProblem`). A panel is then a vector of counts,
one per type. :class:`PanelDistribution` turns type-level results back into one probability
per person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from voices.errors import Problem, ValidationError


@dataclass(frozen=True)
class ValueQuota:
    """One row of a quotas file: a feature value and the least and most panel members with it.

    ``row`` is the 1-based line in the source file (the header is row 1), kept so that
    problems found later can point back to it.
    """

    feature: str
    value: str
    min: int
    max: int
    row: int | None = None


@dataclass(frozen=True)
class Quotas:
    """The quotas of a panel: one :class:`ValueQuota` per feature value.

    Parameters
    ----------
    rows:
        The quotas, features in the order they first appear, values in file order.
    source:
        Name of the file the quotas came from, for located error messages.
    """

    rows: tuple[ValueQuota, ...]
    source: str | None = None

    @property
    def features(self) -> tuple[str, ...]:
        """Feature names in order of first appearance."""
        seen: dict[str, None] = {}
        for quota in self.rows:
            seen.setdefault(quota.feature, None)
        return tuple(seen)

    def values_of(self, feature: str) -> tuple[str, ...]:
        """The values a feature can take, in file order."""
        return tuple(q.value for q in self.rows if q.feature == feature)

    def labels(self) -> tuple[str, ...]:
        """``feature=value`` for every row, in order (used in messages and reports)."""
        return tuple(f"{q.feature}={q.value}" for q in self.rows)

    def relaxed(self, lower: Sequence[int], upper: Sequence[int]) -> Quotas:
        """The same quotas with new bounds (same order as :attr:`rows`)."""
        return Quotas(tuple(ValueQuota(q.feature, q.value, int(lo), int(hi), q.row)
                            for q, lo, hi in zip(self.rows, lower, upper, strict=True)),
                      self.source)


@dataclass(frozen=True)
class Pool:
    """The people who can be chosen.

    Parameters
    ----------
    ids:
        One unique identifier per person.
    features:
        The feature names, one per column of ``values``.
    values:
        ``values[i][j]`` is person ``i``'s value of ``features[j]`` (as text).
    source:
        Name of the file the pool came from, for located error messages.
    rows:
        The 1-based file row of each person (header is row 1).
    columns, records:
        Every column of the source file and each person's raw cells, kept so that a
        selected panel can be written back with all its columns.
    """

    ids: tuple[str, ...]
    features: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]
    source: str | None = None
    rows: tuple[int, ...] | None = None
    columns: tuple[str, ...] = ()
    records: tuple[tuple[str, ...], ...] = ()

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class PanelProblem:
    """A panel lottery reduced to *types*: distinct feature vectors with multiplicities.

    ``incidence[t, v]`` is 1 when type ``t`` has feature value ``v`` (the ``v``-th row of the
    quotas). A panel is an integer vector ``x`` with ``0 <= x <= counts``,
    ``sum(x) == k`` and ``lower <= incidence.T @ x <= upper``.

    Why the reduction is exact: swapping two people of the same type maps quota-feasible
    panels to quota-feasible panels, so it maps the set of achievable selection-probability
    vectors onto itself. The leximin-optimal vector of a convex set is unique, so it is
    fixed by every such swap: people of one type get equal probability. Any distribution
    over count vectors is realised by choosing, inside each type, a uniformly random subset
    of the required size, which gives each member of type ``t`` probability
    ``E[x_t] / counts[t]``. Maximin, leximin and capped leximin over people therefore equal
    the same problems over types with each type's value weighted by its count. LEGACY
    treats members of a type symmetrically too (it only ever picks uniformly among the
    remaining people with a value), so its per-person probability is ``E[x_t] / counts[t]``.

    Build one with :meth:`from_pool`.
    """

    k: int
    counts: np.ndarray  # (T,) int
    incidence: np.ndarray  # (T, V) 0/1 int
    lower: np.ndarray  # (V,) int
    upper: np.ndarray  # (V,) int
    person_type: np.ndarray  # (n,) int, the type of each person
    labels: tuple[str, ...] = field(default=())  # "feature=value" per quota row
    features_of_value: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def n(self) -> int:
        return int(self.person_type.shape[0])

    @property
    def n_types(self) -> int:
        return int(self.counts.shape[0])

    def members(self) -> list[np.ndarray]:
        """For each type, the indices of its people (in pool order)."""
        order = np.argsort(self.person_type, kind="stable")
        bounds = np.searchsorted(self.person_type[order], np.arange(self.n_types + 1))
        return [order[bounds[t]:bounds[t + 1]] for t in range(self.n_types)]

    def violations(self, panels: np.ndarray) -> np.ndarray:
        """Number of quota and size violations of each type-level panel (rows of ``panels``)."""
        panels = np.atleast_2d(np.asarray(panels))
        totals = panels @ self.incidence
        bad = (totals < self.lower).sum(axis=1) + (totals > self.upper).sum(axis=1)
        bad += (panels.sum(axis=1) != self.k)
        bad += ((panels < 0) | (panels > self.counts)).sum(axis=1)
        return bad

    @classmethod
    def from_pool(cls, pool: Pool, quotas: Quotas, k: int) -> PanelProblem:
        """Check the inputs (see :func:`check_panel_inputs`) and group people into types."""
        check_panel_inputs(pool, quotas, k)
        codes = _value_codes(pool, quotas)
        vectors, person_type, counts = np.unique(codes, axis=0, return_inverse=True,
                                                 return_counts=True)
        person_type = person_type.reshape(-1)
        incidence = np.zeros((vectors.shape[0], len(quotas.rows)), dtype=np.int64)
        for j in range(vectors.shape[1]):
            incidence[np.arange(vectors.shape[0]), vectors[:, j]] = 1
        feature_index = {f: i for i, f in enumerate(quotas.features)}
        return cls(k=int(k), counts=counts.astype(np.int64), incidence=incidence,
                   lower=np.array([q.min for q in quotas.rows], dtype=np.int64),
                   upper=np.array([q.max for q in quotas.rows], dtype=np.int64),
                   person_type=person_type.astype(np.int64), labels=quotas.labels(),
                   features_of_value=np.array([feature_index[q.feature] for q in quotas.rows]))


def _value_codes(pool: Pool, quotas: Quotas) -> np.ndarray:
    """Each person's quota-row index for every feature, shape (n, features)."""
    row_of = {(q.feature, q.value): i for i, q in enumerate(quotas.rows)}
    column = {f: j for j, f in enumerate(pool.features)}
    features = quotas.features
    codes = np.empty((pool.n, len(features)), dtype=np.int64)
    for i, person in enumerate(pool.values):
        for j, feature in enumerate(features):
            codes[i, j] = row_of[(feature, person[column[feature]])]
    return codes


def check_panel_inputs(pool: Pool, quotas: Quotas, k: int) -> None:
    """Refuse a pool, quotas and panel size that cannot make sense together.

    Checks, reporting every problem with its file, row and column: the panel size is
    between 1 and the pool size; each feature in the quotas is a column of the pool; every
    person's value is one the quotas list; ids are unique; each quota has
    ``0 <= min <= max``; a value's ``min`` is not more than the people who have it; for
    each feature the ``min`` values add up to at most ``k`` and the ``max`` values to at
    least ``k``. Whether all quotas can be met *together* is checked later, by
    :func:`voices.involve.sortition_solver.check_feasible`.

    Raises
    ------
    ValidationError
        With one :class:`~voices.errors.Problem` per issue found.
    """
    problems: list[Problem] = []
    qsrc, psrc = quotas.source, pool.source
    if not quotas.rows:
        problems.append(Problem("there are no quotas", file=qsrc,
                                expected="one row per feature value"))
    if not 1 <= k <= max(pool.n, 1) or pool.n == 0:
        problems.append(Problem(f"panel size {k} is out of range for a pool of {pool.n}",
                                column="k", expected=f"a whole number from 1 to {pool.n}"))
    seen_rows: dict[tuple[str, str], int | None] = {}
    for q in quotas.rows:
        if (q.feature, q.value) in seen_rows:
            problems.append(Problem(f"{q.feature}={q.value} is listed twice "
                                    f"(first on row {seen_rows[(q.feature, q.value)]})",
                                    file=qsrc, row=q.row, column="value",
                                    expected="each feature value once"))
        seen_rows[(q.feature, q.value)] = q.row
        if q.min < 0 or q.max < 0:
            problems.append(Problem(f"{q.feature}={q.value} has a negative quota", file=qsrc,
                                    row=q.row, column="min" if q.min < 0 else "max",
                                    expected="0 or more"))
        if q.min > q.max:
            problems.append(Problem(f"{q.feature}={q.value} has min {q.min} above max {q.max}",
                                    file=qsrc, row=q.row, column="min",
                                    expected="min no more than max"))
    missing = [f for f in quotas.features if f not in pool.features]
    for feature in missing:
        problems.append(Problem(f"the quotas use feature '{feature}' but the pool has no "
                                f"such column", file=psrc, row=1, column=feature,
                                expected="a column for every feature in the quotas"))
    seen_ids: dict[str, int] = {}
    rows = pool.rows or tuple(range(2, pool.n + 2))
    allowed = {f: set(quotas.values_of(f)) for f in quotas.features}
    column = {f: j for j, f in enumerate(pool.features)}
    have: dict[tuple[str, str], int] = {}
    for person_id, person, row in zip(pool.ids, pool.values, rows, strict=True):
        if person_id in seen_ids:
            problems.append(Problem(f"id '{person_id}' is used twice (also on row "
                                    f"{seen_ids[person_id]})", file=psrc, row=row,
                                    column="id", expected="a different id for each person"))
        seen_ids.setdefault(person_id, row)
        if person_id == "":
            problems.append(Problem("the id is empty", file=psrc, row=row, column="id",
                                    expected="an id for each person"))
        for feature in quotas.features:
            if feature in missing:
                continue
            value = person[column[feature]]
            have[(feature, value)] = have.get((feature, value), 0) + 1
            if value not in allowed[feature]:
                choices = ", ".join(sorted(allowed[feature]))
                problems.append(Problem(f"'{value}' is not a value of {feature} in the quotas",
                                        file=psrc, row=row, column=feature,
                                        expected=f"one of: {choices}"))
    if not missing:
        for q in quotas.rows:
            count = have.get((q.feature, q.value), 0)
            if q.min > count:
                problems.append(Problem(
                    f"{q.feature}={q.value} needs at least {q.min} but only {count} "
                    f"{'person' if count == 1 else 'people'} in the pool "
                    f"{'has' if count == 1 else 'have'} it", file=qsrc, row=q.row,
                    column="min", expected=f"min no more than {count}"))
    for feature in quotas.features:
        mins = sum(q.min for q in quotas.rows if q.feature == feature)
        maxs = sum(q.max for q in quotas.rows if q.feature == feature)
        first = next(q.row for q in quotas.rows if q.feature == feature)
        if mins > k:
            problems.append(Problem(f"the minimums for {feature} add up to {mins}, more than "
                                    f"the panel size {k}", file=qsrc, row=first, column="min",
                                    expected=f"minimums adding up to at most {k}"))
        if maxs < k:
            problems.append(Problem(f"the maximums for {feature} add up to {maxs}, fewer than "
                                    f"the panel size {k}", file=qsrc, row=first, column="max",
                                    expected=f"maximums adding up to at least {k}"))
    if problems:
        raise ValidationError(problems=problems)


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal).

    Uses the sorted form ``G = sum_i (2i - n - 1) v_(i) / (n sum v)`` with ``i`` from 1,
    equal to half the mean absolute difference over the mean.

    References
    ----------
    Flanigan et al. (2021), *Nature* 596, Methods "Measures of fairness" (Gini of the
    selection probabilities).
    """
    v = np.sort(np.asarray(values, dtype=float))
    n, total = v.shape[0], v.sum()
    if n == 0 or total <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * v).sum() / (n * total))


@dataclass(frozen=True)
class PanelDistribution:
    """A lottery over panels: type-level panels (count vectors) and their weights.

    Attributes
    ----------
    problem:
        The :class:`PanelProblem` the panels belong to.
    panels:
        Shape ``(m, T)``: ``panels[j, t]`` people of type ``t`` sit on panel ``j``.
    weights:
        Shape ``(m,)``: the chance of each panel; non-negative, adds up to 1.
    """

    problem: PanelProblem
    panels: np.ndarray
    weights: np.ndarray

    @property
    def type_probabilities(self) -> np.ndarray:
        """Chance of selection of each member of each type: ``E[x_t] / counts[t]``."""
        return (self.weights @ self.panels) / self.problem.counts

    @property
    def probabilities(self) -> np.ndarray:
        """Chance of selection of each person, in pool order."""
        return self.type_probabilities[self.problem.person_type]

    def summary(self) -> dict:
        """Minimum, maximum, Gini and panel count of this distribution."""
        p = self.probabilities
        return {"min_probability": float(p.min()), "max_probability": float(p.max()),
                "gini": gini(p), "panels": int(self.panels.shape[0])}
