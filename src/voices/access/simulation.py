"""Simulate a waiting list forward under several prioritisation policies.

The simulator moves a list forward in weekly (or daily) steps. In each step, for each
treatment function:

1. pathways whose *other removal* falls due leave the list (patients who withdraw, are
   treated elsewhere or are validated off: a fixed chance each week, drawn once per
   pathway so that every policy sees the same removals);
2. the week's capacity is used: the pathways that the policy ranks highest at that
   moment are treated (see :mod:`voices.access.policy`); capacity that finds nobody
   waiting is lost;
3. new referrals join the list, each with the characteristics of a pathway drawn from
   the snapshot's recent referrals in the same treatment function ("from history"),
   in numbers drawn from a Poisson distribution.

Every policy is run on the *same* random referrals and removals in each replication
(common random numbers), so differences between policies are not blurred by chance,
and replications give intervals for each result (Student's t across replications, and
for differences between policies, across paired replications). The same seed always
gives the same results.

With one policy that serves strictly first-in-first-out, daily steps and no other
removals, the simulator follows NHSRwaitinglist's ``wl_simulator``/``wl_schedule``:
a capacity slot on day ``d`` goes to the longest-waiting pathway referred before day
``d``, or is lost if there is none.

Ordering is vectorised: every pathway's priority is linear in time
(``head start + rate × weeks waited``), so each step computes all keys at once and
selects the top ones per treatment function with a partial sort (``argpartition``).

References
----------
- Stanford, D. A., Taylor, P. & Ziedins, I. (2014). Waiting time distributions in the
  accumulating priority queue. *Queueing Systems* 77, 297-330.
- NHS-R Community, NHSRwaitinglist: ``wl_simulator``, ``wl_schedule``, ``sim_schedule``.
- Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., McGraw-Hill:
  common random numbers (section 11.2) and replication intervals (chapter 9).
- Little, J. D. C. (1961). A proof for the queuing formula L = λW. *Operations Research*
  9(3), 383-387.
- NHS England RTT statistics, England monthly flows 2022-23: other removals were about
  3.0% of the list a month (``../shared/data/rtt/rtt_england_monthly_*.csv``), about
  0.7% a week, the default removal rate here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from voices.access.policy import Policy
from voices.access.snapshot import PRIORITIES, Snapshot
from voices.equity.dimensions import AGE_BANDS_BROAD, ETHNIC_GROUPS, NOT_KNOWN
from voices.errors import ValidationError
from voices.measure.inequality import slope_index_of_inequality
from voices.measure.intervals import mean_interval

STEP_DAYS = {"week": 7, "day": 1}
OTHER_REMOVALS_PER_WEEK = 0.007
"""Default chance a week that a waiting pathway is removed for reasons other than
treatment (NHS England RTT, England 2022-23: about 3.0% of the list a month)."""

BREACH_WEEKS = (18, 52, 65)
HISTORY_DAYS = 91
"""Referrals are modelled on pathways whose clock started in the last 13 weeks."""

ETHNIC_CODES = tuple(c for c in ETHNIC_GROUPS if c != NOT_KNOWN)
AGE_CODES = tuple(c for c in AGE_BANDS_BROAD if c != NOT_KNOWN)
SEX_CODES = ("1", "2", "9")

DIMENSIONS = ("list", "imd_decile", "imd_quintile", "ethnic_group", "age_band", "sex",
              "learning_disability", "clinical_priority", "treatment_function")
"""Groups every result is broken down by (``list`` is the whole list)."""


# --------------------------------------------------------------------------- the pathways


@dataclass(frozen=True)
class Cohort:
    """Pathways as NumPy arrays, one entry each (the simulator's input).

    Codes: ``specialty`` indexes :attr:`specialties`; ``priority`` indexes
    :data:`~voices.access.snapshot.PRIORITIES`; ``imd_decile`` is 1-10 or 0 when not
    known; ``ethnic_group``, ``age_band`` and ``sex`` index :data:`ETHNIC_CODES`,
    :data:`AGE_CODES` and :data:`SEX_CODES` or are -1 when not known;
    ``learning_disability``, ``interpreter_needed`` and ``carer`` are 1 yes, 0 no,
    -1 not known.
    """

    days_waited: np.ndarray
    specialty: np.ndarray
    priority: np.ndarray
    imd_decile: np.ndarray
    ethnic_group: np.ndarray
    age_band: np.ndarray
    sex: np.ndarray
    learning_disability: np.ndarray
    interpreter_needed: np.ndarray
    carer: np.ndarray
    specialties: tuple[str, ...]

    ARRAYS = ("days_waited", "specialty", "priority", "imd_decile", "ethnic_group",
              "age_band", "sex", "learning_disability", "interpreter_needed", "carer")

    def __len__(self) -> int:
        return int(self.days_waited.shape[0])

    def take(self, index: np.ndarray) -> Cohort:
        return Cohort(**{a: getattr(self, a)[index] for a in self.ARRAYS},
                      specialties=self.specialties)

    def attributes(self, part: slice | np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The arrays a policy's social factors look at."""
        names = ("imd_decile", "learning_disability", "interpreter_needed", "carer")
        if part is None:
            return {n: getattr(self, n) for n in names}
        return {n: getattr(self, n)[part] for n in names}


def _codes(series: pl.Series, codes: Sequence[str]) -> np.ndarray:
    mapping = {c: i for i, c in enumerate(codes)}
    return series.cast(pl.String).replace_strict(mapping, default=-1,
                                                 return_dtype=pl.Int8).to_numpy()


def cohort_from_snapshot(snapshot: Snapshot) -> Cohort:
    """The simulator's arrays for a checked snapshot."""
    f = snapshot.frame
    specialties = tuple(sorted(f["treatment_function_code"].unique().to_list()))

    def flag(name: str) -> np.ndarray:
        return f[name].cast(pl.Int8).fill_null(-1).to_numpy()

    return Cohort(
        days_waited=f["days_waited"].to_numpy().astype(np.int32),
        specialty=_codes(f["treatment_function_code"], specialties).astype(np.int16),
        priority=_codes(f["clinical_priority"], PRIORITIES),
        imd_decile=f["imd_decile"].fill_null(0).cast(pl.Int8).to_numpy(),
        ethnic_group=_codes(f["ethnic_group"], ETHNIC_CODES),
        age_band=_codes(f["age_band"], AGE_CODES),
        sex=_codes(f["sex"], SEX_CODES),
        learning_disability=flag("learning_disability"),
        interpreter_needed=flag("interpreter_needed"),
        carer=flag("carer"),
        specialties=specialties,
    )


@dataclass(frozen=True)
class Pool:
    """Every pathway a simulation can meet: the list at the start and every new referral.

    A pathway's characteristics are those of cohort row ``origin`` (new referrals are
    modelled on a recent referral of the same treatment function). Pathways are sorted
    by treatment function, then by the step they join (0 for the list at the start), so
    each treatment function is one block, ``bounds[s]:bounds[s + 1]``. ``start_day`` is
    the clock-start day counted from the snapshot date (0 or less for the list at the
    start); ``withdraw_step`` is the step in which the pathway would be removed for
    reasons other than treatment, if still waiting.
    """

    origin: np.ndarray
    bounds: np.ndarray
    entry_step: np.ndarray
    start_day: np.ndarray
    withdraw_step: np.ndarray

    def __len__(self) -> int:
        return int(self.origin.shape[0])


NEVER = np.iinfo(np.int32).max


def make_pool(cohort: Cohort, origin: np.ndarray, entry_step: np.ndarray,
              start_day: np.ndarray, withdraw_step: np.ndarray) -> Pool:
    """Sort given pathways into a :class:`Pool` (treatment function, then step joined)."""
    origin = np.asarray(origin)
    specialty = cohort.specialty[origin]
    order = np.lexsort((start_day, entry_step, specialty))
    bounds = np.searchsorted(specialty[order], np.arange(len(cohort.specialties) + 1))
    return Pool(origin=origin[order].astype(np.int32), bounds=bounds,
                entry_step=np.asarray(entry_step)[order].astype(np.int32),
                start_day=np.asarray(start_day)[order].astype(np.int32),
                withdraw_step=np.asarray(withdraw_step)[order].astype(np.int32))


def _withdrawal_steps(rng: np.random.Generator, entry: np.ndarray, chance: float) -> np.ndarray:
    if chance <= 0:
        return np.full(entry.shape[0], NEVER, dtype=np.int32)
    steps = rng.geometric(chance, size=entry.shape[0]).astype(np.int64) + entry
    return np.minimum(steps, NEVER).astype(np.int32)


def draw_pool(cohort: Cohort, *, steps: int, step_days: int, referrals: np.ndarray,
              removal_chance: float, rng: np.random.Generator,
              donors: Sequence[np.ndarray]) -> Pool:
    """One replication's pathways: the list now plus Poisson referrals drawn from history.

    Parameters
    ----------
    cohort : Cohort
        The list at the start.
    steps, step_days : int
        Number of steps and days in a step.
    referrals : array of shape (specialties,)
        Expected referrals a week for each treatment function.
    removal_chance : float
        Chance a week of an other removal.
    rng : numpy.random.Generator
        The replication's random stream.
    donors : list of arrays
        For each treatment function, indices of the cohort pathways new referrals are
        modelled on.
    """
    n_spec = len(cohort.specialties)
    per_step = np.asarray(referrals, dtype=float) * step_days / 7.0
    counts = rng.poisson(np.broadcast_to(per_step, (steps, n_spec)))
    chance = 1.0 - (1.0 - removal_chance) ** (step_days / 7.0)
    by_specialty = np.argsort(cohort.specialty, kind="stable")
    first = np.searchsorted(cohort.specialty[by_specialty], np.arange(n_spec + 1))
    origins, entries, sizes = [], [], []
    for s in range(n_spec):
        here = by_specialty[first[s]:first[s + 1]]
        total = int(counts[:, s].sum())
        origins.append(here)
        entries.append(np.zeros(here.size, dtype=np.int32))
        if total:
            if donors[s].size == 0:
                raise ValidationError(f"treatment function {cohort.specialties[s]} has "
                                      "referrals but no pathways to model them on",
                                      column="referrals_per_week")
            origins.append(donors[s][rng.integers(0, donors[s].size, size=total)])
            entries.append(np.repeat(np.arange(1, steps + 1, dtype=np.int32), counts[:, s]))
        sizes.append(here.size + total)
    origin = np.concatenate(origins).astype(np.int32)
    entry = np.concatenate(entries)
    start = -cohort.days_waited[origin]
    arrivals = entry > 0
    start[arrivals] = ((entry[arrivals] - 1) * step_days
                       + rng.integers(1, step_days + 1, size=int(arrivals.sum())))
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return Pool(origin=origin, bounds=bounds, entry_step=entry,
                start_day=start.astype(np.int32),
                withdraw_step=_withdrawal_steps(rng, entry, chance))


def capacity_schedule(per_week: np.ndarray, steps: int, step_days: int) -> np.ndarray:
    """Whole treatment slots per step and treatment function from weekly rates.

    Slots are spread evenly, ``floor(k·c) - floor((k-1)·c)`` for ``c`` slots a step,
    so a rate of 2.5 a week gives 2, 3, 2, 3, … (NHSRwaitinglist's ``sim_schedule``
    spreads daily slots the same way).
    """
    rate = np.asarray(per_week, dtype=float) * step_days / 7.0
    k = np.arange(steps + 1)[:, None]
    cumulative = np.floor(k * rate[None, :] + 1e-9)
    return np.diff(cumulative, axis=0).astype(np.int64)


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class Outcome:
    """What happened to each pathway of a pool under one policy.

    ``removal_step`` is the step at which it left the list (``steps + 1`` if still
    waiting at the end); ``treated`` is True where it left by treatment.
    """

    removal_step: np.ndarray
    treated: np.ndarray


def _dense_ids(key: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct values of ``key`` (0 <= key < space) 0, 1, 2, … in value order.

    Returns the position of a row with each value (any one: callers only read values
    that are the same for all of them) and each row's number; a counting pass instead
    of a sort, as the key spaces here are small.
    """
    if space > 50_000_000 or key.size * 8 < space:
        _, first, ids = np.unique(key, return_index=True, return_inverse=True)
        return first, ids.reshape(-1).astype(np.int32)
    seen = np.zeros(space, dtype=bool)
    seen[key] = True
    number = np.cumsum(seen, dtype=np.int64) - 1
    ids = number[key].astype(np.int32)
    first = np.empty(int(seen.sum()), dtype=np.int64)
    first[ids] = np.arange(key.size)
    return first, ids


def social_patterns(cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    """Each pathway's pattern of the values a policy looks at, and the patterns' rows.

    A policy's rate and head start depend only on clinical priority, deprivation decile,
    learning disability, interpreter need and carer status, so they can be worked out
    once per pattern (a few hundred at most) instead of once per pathway.

    Returns
    -------
    (pattern of each pathway, array of distinct patterns with columns priority,
    imd_decile, learning_disability, interpreter_needed, carer)
    """
    columns = np.stack([cohort.priority.astype(np.int64), cohort.imd_decile.astype(np.int64),
                        cohort.learning_disability.astype(np.int64) + 1,
                        cohort.interpreter_needed.astype(np.int64) + 1,
                        cohort.carer.astype(np.int64) + 1])
    key = (((columns[0] * 11 + columns[1]) * 3 + columns[2]) * 3 + columns[3]) * 3 + columns[4]
    first, pattern = _dense_ids(key, 7 * 11 * 3 * 3 * 3)
    rows = columns[:, first].T.copy()
    rows[:, 2:] -= 1
    return pattern, rows


def _key_terms(pool: Pool, cohort: Cohort, policy: Policy, step_days: int,
               pool_pattern: np.ndarray | None, rows: np.ndarray | None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Rate and intercept of every pool pathway: key(t in weeks) = intercept + rate × t."""
    if pool_pattern is None or rows is None:
        pattern, rows = social_patterns(cohort)
        pool_pattern = pattern[pool.origin]
    terms = policy.terms(rows[:, 0], {"imd_decile": rows[:, 1],
                                       "learning_disability": rows[:, 2],
                                       "interpreter_needed": rows[:, 3], "carer": rows[:, 4]})
    rate = terms.rate[pool_pattern]
    intercept = (terms.tier_offset + terms.head_start)[pool_pattern]
    intercept -= rate * pool.start_day * (1 / 7.0)
    return rate, intercept


def run_policy(pool: Pool, cohort: Cohort, policy: Policy, capacity: np.ndarray, *,
               step_days: int = 7, window: int = 4,
               progress: Callable[[int], None] | None = None,
               pool_pattern: np.ndarray | None = None,
               patterns: np.ndarray | None = None,
               screen_from: int = 20_000) -> Outcome:
    """Run one policy over a pool.

    Each step treats, in each treatment function, the waiting pathways with the highest
    keys (``intercept + rate × t``: priority is linear in time); ties at the cut go to
    the pathway earlier in the pool (the list at the start in file order, then referrals
    as they arrive). Other removals due in a step happen before its treatments, and
    referrals arriving in a step can be treated from the next step.

    To avoid looking at the whole list every step, steps are taken in windows of
    ``window`` steps. At the start of a window, with ``C`` slots and ``M`` other
    removals due in the window, let ``θ`` be at or below the ``(C + M)``-th highest key
    at the window's first step. In every step of the window at least as many pathways
    with keys of at least ``θ`` are still waiting as there are slots, so a pathway
    whose key is still below ``θ`` at the window's last step (keys only grow) cannot be
    chosen: only the others are looked at. The result is exactly the same as looking
    at every pathway every step (``window=1``).

    Parameters
    ----------
    pool : Pool
    cohort : Cohort
        The pathways the pool's ``origin`` indexes.
    policy : Policy
    capacity : array of shape (steps, specialties)
        Treatment slots per step and treatment function.
    step_days : int
        Days in a step (7 weekly, 1 daily).
    window : int
        Steps per window.
    progress : callable, optional
        Called with 1 after each step.
    pool_pattern, patterns : arrays, optional
        :func:`social_patterns` of the pool (to share the work between policies).
    screen_from : int
        Treatment functions with fewer waiting pathways than this are looked at in full
        (setting pathways aside only pays on long lists); the result is the same.

    Returns
    -------
    Outcome
    """
    steps, n_spec = capacity.shape
    window = max(1, int(window))
    n = len(pool)
    removal = np.full(n, steps + 1, dtype=np.int32)
    treated = np.zeros(n, dtype=bool)
    rate_all, intercept_all = _key_terms(pool, cohort, policy, step_days, pool_pattern,
                                         patterns)
    bounds = pool.bounds
    joins = [(bounds[s] + np.searchsorted(pool.entry_step[bounds[s]:bounds[s + 1]],
                                          np.arange(steps + 2))).tolist()
             for s in range(n_spec)]

    # Waiting pathways of each treatment function: pool index (always ascending) and the
    # step of their other removal; key terms are looked up when needed.
    waiting = [(np.arange(joins[s][0], joins[s][1], dtype=np.int32),
                pool.withdraw_step[joins[s][0]:joins[s][1]]) for s in range(n_spec)]
    cap = capacity.tolist()
    for first in range(1, steps + 1, window):
        last = min(first + window - 1, steps)
        at_first, at_last = first * step_days / 7.0, last * step_days / 7.0
        looked, arrived_at = [], []
        for s in range(n_spec):
            index, leave = waiting[s]
            lo, hi = joins[s][first], joins[s][last + 1]
            slots = sum(cap[k - 1][s] for k in range(first, last + 1))
            if slots == 0 or not (index.size or hi > lo):
                looked.append(None)
                arrived_at.append(None)
                continue
            intercept, rate = intercept_all[index], rate_all[index]
            new_intercept, new_rate = intercept_all[lo:hi], rate_all[lo:hi]
            new_index = np.arange(lo, hi, dtype=np.int32)
            new_leave = pool.withdraw_step[lo:hi]
            due = int(np.count_nonzero(leave <= last))
            # Setting pathways aside pays only on long lists.
            if slots + due < index.size and index.size >= screen_from:
                key = rate * at_first
                key += intercept
                theta = _cut_below(key, slots + due)
                maybe = rate * at_last
                maybe += intercept
                maybe = maybe >= theta
                index, leave, intercept, rate = (index[maybe], leave[maybe], intercept[maybe],
                                                 rate[maybe])
                maybe = new_rate * at_last
                maybe += new_intercept
                maybe = maybe >= theta
                new_index, new_leave = new_index[maybe], new_leave[maybe]
                new_intercept, new_rate = new_intercept[maybe], new_rate[maybe]
            looked.append(_Queue(np.concatenate([index, new_index]),
                                 np.concatenate([intercept, new_intercept]),
                                 np.concatenate([rate, new_rate]),
                                 np.concatenate([leave, new_leave])))
            # Referrals joining in step j sit from position index.size + (count before j).
            entry = pool.entry_step[new_index]
            arrived_at.append((index.size + np.searchsorted(
                entry, np.arange(first, last + 2))).tolist())
        for k in range(first, last + 1):
            now = k * step_days / 7.0
            for s in range(n_spec):
                q = looked[s]
                slots = cap[k - 1][s]
                if q is None or slots <= 0:
                    continue
                here = arrived_at[s][k - first]       # later positions have not arrived
                if here == 0:
                    continue
                key = q.key(now, stop=here)
                key[q.leave[:here] <= k] = -np.inf     # removed for other reasons
                chosen = _highest(key, slots, q.index[:here])
                if chosen.size:
                    removal[q.index[chosen]] = k
                    treated[q.index[chosen]] = True
                    q.intercept[chosen] = -np.inf     # treated: never chosen again
            if progress is not None:
                progress(1)
        for s in range(n_spec):
            lo, hi = joins[s][first], joins[s][last + 1]
            index = np.concatenate([waiting[s][0], np.arange(lo, hi, dtype=np.int32)])
            leave = np.concatenate([waiting[s][1], pool.withdraw_step[lo:hi]])
            untreated = removal[index] > last
            gone = untreated & (leave <= last)
            removal[index[gone]] = leave[gone]
            untreated &= ~gone
            waiting[s] = (index[untreated], leave[untreated])
    return Outcome(removal_step=removal, treated=treated)


def _cut_below(key: np.ndarray, count: int) -> float:
    """A value at or below the ``count``-th highest key (cheaply, from a sample).

    Any such value keeps the windowed selection exact; a close one keeps it fast. The
    sample's estimate is checked with one count and replaced by the exact value if it is
    too high.
    """
    n = key.size
    stride = max(1, n // 50_000)
    if stride > 1:
        sample = key[::stride]
        want = min(sample.size, int(np.ceil(count / n * sample.size * 1.2)) + 20)
        guess = np.partition(sample, sample.size - want)[sample.size - want]
        if np.count_nonzero(key >= guess) >= count:
            return float(guess)
    return float(np.partition(key, n - count)[n - count])


def _highest(key: np.ndarray, count: int, order: np.ndarray) -> np.ndarray:
    """Positions of the ``count`` highest finite keys; ties at the cut go to the lowest
    ``order``. Fewer if fewer keys are finite."""
    if count >= key.size:
        return np.flatnonzero(key > -np.inf)
    chosen = np.argpartition(key, key.size - count)[key.size - count:]
    cut = key[chosen].min()
    if cut == -np.inf:
        return chosen[key[chosen] > -np.inf]
    at_least = key >= cut
    if np.count_nonzero(at_least) == count:
        return chosen
    above = np.flatnonzero(key > cut)
    tied = np.flatnonzero(key == cut)
    tied = tied[np.argsort(order[tied], kind="stable")[:count - above.size]]
    return np.concatenate([above, tied])


@dataclass(frozen=True)
class _Queue:
    """Waiting pathways of one treatment function: pool index, key terms, removal step."""

    index: np.ndarray
    intercept: np.ndarray
    rate: np.ndarray
    leave: np.ndarray

    @property
    def size(self) -> int:
        return int(self.index.shape[0])

    def key(self, weeks: float, stop: int | None = None) -> np.ndarray:
        key = self.rate[:stop] * weeks
        key += self.intercept[:stop]
        return key


# --------------------------------------------------------------------------- results


def dimension_codes(cohort: Cohort, dimension: str) -> tuple[np.ndarray, list[str]]:
    """Group index of each cohort pathway for a dimension, and the group labels (codes).

    The last label is ``not_known`` where a value can be unknown (for the ``list``
    dimension the one label is ``all``).
    """
    if dimension == "list":
        return np.zeros(len(cohort), dtype=np.int64), ["all"]
    if dimension in ("imd_decile", "imd_quintile"):
        d = cohort.imd_decile.astype(np.int64)
        if dimension == "imd_decile":
            return np.where(d > 0, d - 1, 10), [str(i) for i in range(1, 11)] + [NOT_KNOWN]
        return np.where(d > 0, (d - 1) // 2, 5), [str(i) for i in range(1, 6)] + [NOT_KNOWN]
    if dimension == "clinical_priority":
        return cohort.priority.astype(np.int64), list(PRIORITIES)
    if dimension == "treatment_function":
        return cohort.specialty.astype(np.int64), list(cohort.specialties)
    if dimension == "learning_disability":
        v = cohort.learning_disability.astype(np.int64)
        return np.where(v == 1, 0, np.where(v == 0, 1, 2)), ["yes", "no", NOT_KNOWN]
    codes = {"ethnic_group": ETHNIC_CODES, "age_band": AGE_CODES, "sex": SEX_CODES}[dimension]
    v = getattr(cohort, dimension).astype(np.int64)
    return np.where(v >= 0, v, len(codes)), list(codes) + [NOT_KNOWN]


@dataclass(frozen=True)
class Profiles:
    """Cohort pathways grouped by their combination of group codes ("profiles").

    Results are first added up by profile (one pass over the pathways) and then by the
    groups of each dimension (a small sparse product), which keeps the summaries of a
    national list fast.
    """

    ids: np.ndarray
    codes: dict[str, np.ndarray]
    labels: dict[str, list[str]]

    @property
    def count(self) -> int:
        return int(next(iter(self.codes.values())).shape[0])

    def add_up(self, dimension: str, by_profile: np.ndarray) -> np.ndarray:
        """Sum rows of a ``(profiles, k)`` array into the groups of a dimension."""
        groups = len(self.labels[dimension])
        width = by_profile.shape[1]
        cells = (self.codes[dimension][:, None] * width + np.arange(width)).ravel()
        return np.bincount(cells, weights=by_profile.ravel(),
                           minlength=groups * width).reshape(groups, width)


_PROFILE_DIMENSIONS = [d for d in DIMENSIONS if d not in ("list", "imd_quintile")]


def cohort_profiles(cohort: Cohort) -> Profiles:
    """The :class:`Profiles` of a cohort."""
    key = np.zeros(len(cohort), dtype=np.int64)
    space = 1
    columns, labels = {}, {}
    for dimension in _PROFILE_DIMENSIONS:
        codes, names = dimension_codes(cohort, dimension)
        key = key * len(names) + codes
        space *= len(names)
        columns[dimension] = codes
        labels[dimension] = names
    first, ids = _dense_ids(key, space)
    codes = {d: columns[d][first] for d in _PROFILE_DIMENSIONS}
    codes["list"] = np.zeros(first.size, dtype=np.int64)
    labels["list"] = ["all"]
    codes["imd_quintile"] = np.where(codes["imd_decile"] < 10, codes["imd_decile"] // 2, 5)
    labels["imd_quintile"] = [str(i) for i in range(1, 6)] + [NOT_KNOWN]
    return Profiles(ids=ids, codes=codes, labels=labels)


def _quantile_from_histogram(hist: np.ndarray, share: float) -> np.ndarray:
    """Smallest value (bin index) with at least ``share`` of the counts at or below it."""
    total = hist.sum(axis=1)
    cumulative = np.cumsum(hist, axis=1)
    target = np.ceil(share * total - 1e-9)
    index = (cumulative < np.maximum(target, 1)[:, None]).sum(axis=1)
    return np.where(total > 0, index, np.nan)


def summarise_outcome(pool: Pool, outcome: Outcome, profiles: Profiles, *, steps: int,
                      step_days: int, pool_profile: np.ndarray | None = None,
                      ) -> dict[str, dict[str, np.ndarray]]:
    """Per-group results of one run: for each dimension, arrays with one entry a group.

    Measures: ``waiting`` (on the list at the end), ``mean_wait`` and ``p92_wait``
    (weeks, of those waiting at the end), ``pct_over_18/52/65`` (of those waiting at the
    end), ``breaches_18/52/65`` (pathways that waited more than 18/52/65 weeks at any
    point in the period, whether treated, removed or still waiting), ``treated``,
    ``removed`` (other removals), ``mean_wait_treated`` (weeks). A pathway that leaves
    in step ``k`` is counted as having waited until the end of that step.
    """
    if pool_profile is None:
        pool_profile = profiles.ids[pool.origin]
    n_profiles = profiles.count
    # Days each pathway had waited when it left the list, or at the end if still waiting.
    longest = np.minimum(outcome.removal_step, steps)
    longest *= step_days
    longest -= pool.start_day
    waiting = outcome.removal_step > steps
    # cell = profile × 12 + state × 4 + level; state 0 waiting, 1 treated, 2 removed;
    # level = how many of the 18/52/65-week marks the wait passed.
    cell = pool_profile * 12
    cell += outcome.treated.view(np.int8) * 4
    cell += (~waiting & ~outcome.treated).view(np.int8) * 8
    for weeks in BREACH_WEEKS:
        cell += longest > weeks * 7
    counts = np.bincount(cell, minlength=n_profiles * 12).reshape(n_profiles, 12)
    cell //= 4
    days = np.bincount(cell, weights=longest, minlength=n_profiles * 3).reshape(n_profiles, 3)
    del cell
    by_profile = np.hstack([counts, days])
    end_days = longest[waiting]
    end_profile = pool_profile[waiting]
    max_day = int(end_days.max()) + 1 if end_days.size else 1
    hists = {}
    for dimension in _PROFILE_DIMENSIONS:
        g = len(profiles.labels[dimension])
        codes = profiles.codes[dimension].astype(np.int32)[end_profile]
        codes *= max_day
        codes += end_days
        hists[dimension] = np.bincount(codes, minlength=g * max_day).reshape(g, max_day)
    decile = hists["imd_decile"]
    hists["list"] = decile.sum(axis=0, keepdims=True)
    hists["imd_quintile"] = np.vstack([decile[0:10:2] + decile[1:10:2], decile[10:11]])
    out: dict[str, dict[str, np.ndarray]] = {}
    for dimension in DIMENSIONS:
        total = profiles.add_up(dimension, by_profile)
        c, d = total[:, :12], total[:, 12:]
        waiting_n = c[:, 0:4].sum(axis=1)
        treated_n = c[:, 4:8].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[dimension] = {
                "group": np.array(profiles.labels[dimension], dtype=object),
                "waiting": waiting_n,
                "mean_wait": d[:, 0] / waiting_n / 7.0,
                "p92_wait": _quantile_from_histogram(hists[dimension], 0.92) / 7.0,
                "pct_over_18": 100.0 * c[:, 1:4].sum(axis=1) / waiting_n,
                "pct_over_52": 100.0 * c[:, 2:4].sum(axis=1) / waiting_n,
                "pct_over_65": 100.0 * c[:, 3] / waiting_n,
                "breaches_18": c[:, [1, 2, 3, 5, 6, 7, 9, 10, 11]].sum(axis=1),
                "breaches_52": c[:, [2, 3, 6, 7, 10, 11]].sum(axis=1),
                "breaches_65": c[:, [3, 7, 11]].sum(axis=1),
                "treated": treated_n,
                "removed": c[:, 8:12].sum(axis=1),
                "mean_wait_treated": d[:, 1] / treated_n / 7.0,
            }
    return out


def list_series(pool: Pool, outcome: Outcome, *, steps: int, step_days: int) -> dict:
    """Pathways waiting, and waiting over 52 weeks, at the end of each step 0..steps."""
    bins = steps + 2
    leave = outcome.removal_step
    size = np.bincount(pool.entry_step, minlength=bins) - np.bincount(leave, minlength=bins)
    # The wait at the end of step k is k·d - start: over 52 weeks (more than 364 days)
    # from step ceil((365 + start) / d) onwards. Only pathways that started at least a
    # year before the last day can get there.
    can = pool.start_day <= steps * step_days - 365
    start = pool.start_day[can]
    first = np.maximum(pool.entry_step[can], -(-(start + 365) // step_days))
    over = first < leave[can]
    long = np.bincount(first[over], minlength=bins) - np.bincount(leave[can][over],
                                                                 minlength=bins)
    return {"step": np.arange(steps + 1), "waiting": np.cumsum(size)[:steps + 1],
            "over_52": np.cumsum(long)[:steps + 1]}


def inequality_measures(groups: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    """Gap between the most and least deprived quintiles, and the SII across deciles.

    ``gap_over_52`` and ``gap_mean_wait`` are quintile 1 minus quintile 5 (percentage
    points, weeks). ``sii_over_52`` and ``sii_mean_wait`` are the slope index of
    inequality across IMD deciles (most deprived first) from
    :func:`voices.measure.inequality.slope_index_of_inequality`, weighted by the
    number waiting: the modelled value for the least deprived minus the most deprived,
    so negative when the most deprived wait longer.
    """
    q = groups["imd_quintile"]
    d = groups["imd_decile"]
    out = {"gap_over_52": float(q["pct_over_52"][0] - q["pct_over_52"][4]),
           "gap_mean_wait": float(q["mean_wait"][0] - q["mean_wait"][4])}
    population = d["waiting"][:10].astype(float)
    for measure, name in (("pct_over_52", "sii_over_52"), ("mean_wait", "sii_mean_wait")):
        values = d[measure][:10]
        if (population > 0).all() and np.isfinite(values).all():
            out[name] = slope_index_of_inequality(values, population).sii
        else:
            out[name] = math.nan
    return out


# --------------------------------------------------------------------------- the simulator


LIST_MEASURES = ("waiting", "mean_wait", "p92_wait", "pct_over_18", "pct_over_52",
                 "pct_over_65", "breaches_18", "breaches_52", "breaches_65", "treated",
                 "removed", "mean_wait_treated", "gap_over_52", "gap_mean_wait",
                 "sii_over_52", "sii_mean_wait")
"""The measures of the comparison table, in order."""

MEASURE_LABELS = {
    "waiting": "Waiting at the end",
    "mean_wait": "Mean wait (weeks)",
    "p92_wait": "92nd percentile wait (weeks)",
    "pct_over_18": "Waiting over 18 weeks (%)",
    "pct_over_52": "Waiting over 52 weeks (%)",
    "pct_over_65": "Waiting over 65 weeks (%)",
    "breaches_18": "Waited over 18 weeks at some point",
    "breaches_52": "Waited over 52 weeks at some point",
    "breaches_65": "Waited over 65 weeks at some point",
    "treated": "Treated",
    "removed": "Removed for other reasons",
    "mean_wait_treated": "Mean wait of those treated (weeks)",
    "gap_over_52": "Gap, most minus least deprived fifth: over 52 weeks (points)",
    "gap_mean_wait": "Gap, most minus least deprived fifth: mean wait (weeks)",
    "sii_over_52": "Slope index of inequality: over 52 weeks (points)",
    "sii_mean_wait": "Slope index of inequality: mean wait (weeks)",
}


def _rates(value: float | Mapping[str, float] | None, default: np.ndarray,
           specialties: Sequence[str], name: str) -> np.ndarray:
    """Weekly rates per treatment function from a total, a mapping or the default."""
    if value is None:
        return default.astype(float)
    if isinstance(value, Mapping):
        out = np.zeros(len(specialties))
        for code, rate in value.items():
            if code not in specialties:
                raise ValidationError(f"treatment function '{code}' is not in the snapshot",
                                      column=name)
            if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate < 0:
                raise ValidationError(f"the rate for {code} must be a number of 0 or more",
                                      column=name)
            out[specialties.index(code)] = float(rate)
        return out
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValidationError(f"{name} must be a number of 0 or more", column=name)
    mix = default / default.sum() if default.sum() > 0 else np.full(len(default),
                                                                    1 / len(default))
    return float(value) * mix


def read_flows(path, specialties: Sequence[str] | None = None,
               ) -> tuple[dict[str, float], dict[str, float]]:
    """Read weekly referrals and capacity per treatment function from a CSV file.

    Columns: ``treatment_function_code``, ``referrals_per_week``, ``capacity_per_week``
    (either of the last two may be left out). Returns the two mappings for
    :class:`WaitingListSimulator`. With ``specialties`` (the snapshot's treatment
    functions), a code not among them is a problem at its row.

    Raises
    ------
    ValidationError
        Located at the file, row and column of each problem.
    """
    from pathlib import Path

    from voices.errors import ProblemCollector

    path = Path(path)
    if not path.is_file():
        raise ValidationError("the flows file was not found", file=str(path))
    try:
        frame = pl.read_csv(path, infer_schema=False, glob=False)
    except Exception:  # noqa: BLE001 - polars raises many types for damaged files
        raise ValidationError("the flows file could not be read as CSV", file=path.name) from None
    problems = ProblemCollector(file=path.name)
    if "treatment_function_code" not in frame.columns:
        problems.add("the column 'treatment_function_code' is missing", row=1,
                     column="treatment_function_code")
    wanted = [c for c in ("referrals_per_week", "capacity_per_week") if c in frame.columns]
    if not wanted:
        problems.add("give referrals_per_week or capacity_per_week (or both)", row=1)
    problems.raise_if_any()
    out: dict[str, dict[str, float]] = {c: {} for c in ("referrals_per_week",
                                                        "capacity_per_week")}
    for i, row in enumerate(frame.iter_rows(named=True), start=2):
        code = (row["treatment_function_code"] or "").strip().upper().removeprefix("C_")
        if not code:
            problems.add("the treatment function code is missing", row=i,
                         column="treatment_function_code")
            continue
        if code in out[wanted[0]]:
            problems.add(f"treatment function {code} appears more than once", row=i,
                         column="treatment_function_code")
        if specialties is not None and code not in specialties:
            problems.add(f"treatment function '{code}' is not in the snapshot", row=i,
                         column="treatment_function_code",
                         expected="one of " + ", ".join(sorted(specialties)))
        for column in wanted:
            try:
                value = float(row[column])
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value) or value < 0:
                problems.add(f"'{row[column]}' is not a number of 0 or more", row=i,
                             column=column)
            else:
                out[column][code] = value
    problems.raise_if_any()
    return out["referrals_per_week"], out["capacity_per_week"]


@dataclass
class WaitingListSimulator:
    """Compare prioritisation policies on a simulated waiting list.

    Configure, ``fit`` to a snapshot (which sets the flows it does not state), then
    ``run`` the policies.

    Parameters
    ----------
    weeks : int
        Weeks to simulate (1-520).
    replications : int
        Independent replications (1-1000); intervals need at least 2.
    seed : int
        Random seed; the same seed gives the same results.
    step : "week" or "day"
        Length of a step.
    referrals_per_week : float or mapping, optional
        New referrals a week: a total (shared among treatment functions as the
        snapshot's recent referrals are) or per treatment function code. By default,
        estimated from the snapshot: clock starts in its last 4 weeks, per week.
    capacity_per_week : float or mapping, optional
        Treatments a week, likewise; by default equal to the referrals.
    removal_rate : float
        Chance a week that a waiting pathway is removed for other reasons.
    confidence : float
        Level of the intervals (default 0.95).

    Attributes (after ``fit``)
    --------------------------
    cohort_ : Cohort
    referrals_ : array of referrals a week per treatment function
    capacity_ : array of treatments a week per treatment function
    donors_ : list of arrays, the pathways referrals are modelled on
    profiles_ : Profiles, the cohort grouped for fast summaries
    patterns_ : the cohort's :func:`social_patterns`

    References
    ----------
    See the module docstring.
    """

    weeks: int = 52
    replications: int = 20
    seed: int = 0
    step: str = "week"
    referrals_per_week: float | Mapping[str, float] | None = None
    capacity_per_week: float | Mapping[str, float] | None = None
    removal_rate: float = OTHER_REMOVALS_PER_WEEK
    confidence: float = 0.95
    cohort_: Cohort | None = field(default=None, init=False, repr=False)
    referrals_: np.ndarray | None = field(default=None, init=False, repr=False)
    capacity_: np.ndarray | None = field(default=None, init=False, repr=False)
    donors_: list[np.ndarray] | None = field(default=None, init=False, repr=False)
    profiles_: Profiles | None = field(default=None, init=False, repr=False)
    patterns_: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False,
                                                            repr=False)

    def _check(self) -> None:
        if isinstance(self.weeks, bool) or not isinstance(self.weeks, int) \
                or not 1 <= self.weeks <= 520:
            raise ValidationError("weeks must be a whole number from 1 to 520", column="weeks")
        if isinstance(self.replications, bool) or not isinstance(self.replications, int) \
                or not 1 <= self.replications <= 1000:
            raise ValidationError("replications must be a whole number from 1 to 1000",
                                  column="replications")
        if self.step not in STEP_DAYS:
            raise ValidationError(f"step '{self.step}' is not known", column="step",
                                  expected="week or day")
        if isinstance(self.removal_rate, bool) or not isinstance(self.removal_rate,
                                                                 (int, float)) \
                or not 0 <= self.removal_rate < 1:
            raise ValidationError("removal_rate must be at least 0 and less than 1",
                                  column="removal_rate")
        if not 0.5 < self.confidence < 1:
            raise ValidationError("confidence must be between 0.5 and 1", column="confidence")

    def fit(self, data: Snapshot | Cohort) -> WaitingListSimulator:
        """Set the list and the flows from a snapshot (or a ready-made :class:`Cohort`)."""
        self._check()
        cohort = cohort_from_snapshot(data) if isinstance(data, Snapshot) else data
        if len(cohort) == 0:
            raise ValidationError("the waiting list is empty")
        n_spec = len(cohort.specialties)
        recent = cohort.days_waited < 28
        estimate = np.bincount(cohort.specialty[recent], minlength=n_spec) / 4.0
        self.referrals_ = _rates(self.referrals_per_week, estimate, cohort.specialties,
                                 "referrals_per_week")
        self.capacity_ = _rates(self.capacity_per_week, self.referrals_, cohort.specialties,
                                "capacity_per_week")
        history = cohort.days_waited < HISTORY_DAYS
        donors = []
        for s in range(n_spec):
            mine = cohort.specialty == s
            pick = np.flatnonzero(mine & history)
            donors.append(pick if pick.size >= 20 else np.flatnonzero(mine))
        self.cohort_ = cohort
        self.donors_ = donors
        self.profiles_ = cohort_profiles(cohort)
        self.patterns_ = social_patterns(cohort)
        return self

    @property
    def steps(self) -> int:
        return self.weeks * 7 // STEP_DAYS[self.step]

    def run(self, policies: Sequence[Policy],
            progress: Callable[[int], None] | None = None) -> SimulationResult:
        """Simulate every policy on the same random streams, replication by replication.

        Parameters
        ----------
        policies : sequence of Policy
            The first is the baseline the others are compared with.
        progress : callable, optional
            Called with a number of steps done (``replications × policies × steps`` in
            all).

        Returns
        -------
        SimulationResult
        """
        if self.cohort_ is None:
            raise ValidationError("fit the simulator to a snapshot before running it")
        if not policies:
            raise ValidationError("give at least one policy", column="policies")
        names = [p.name for p in policies]
        if len(set(names)) != len(names):
            raise ValidationError("two policies have the same name", column="policies",
                                  expected="a different name for each policy")
        step_days = STEP_DAYS[self.step]
        steps = self.steps
        capacity = capacity_schedule(self.capacity_, steps, step_days)
        group_rows, list_rows, series_rows = [], [], []
        for r in range(self.replications):
            rng = np.random.default_rng([self.seed, r])
            pool = draw_pool(self.cohort_, steps=steps, step_days=step_days,
                             referrals=self.referrals_, removal_chance=self.removal_rate,
                             rng=rng, donors=self.donors_)
            pool_profile = self.profiles_.ids[pool.origin]
            pool_pattern = self.patterns_[0][pool.origin]
            for policy in policies:
                outcome = run_policy(pool, self.cohort_, policy, capacity,
                                     step_days=step_days, progress=progress,
                                     pool_pattern=pool_pattern, patterns=self.patterns_[1])
                groups = summarise_outcome(pool, outcome, self.profiles_, steps=steps,
                                           step_days=step_days, pool_profile=pool_profile)
                overall = {m: float(groups["list"][m][0]) for m in LIST_MEASURES[:12]}
                overall.update(inequality_measures(groups))
                list_rows.append({"policy": policy.name, "replication": r, **overall})
                group_rows.append(pl.DataFrame({
                    "policy": policy.name, "replication": r,
                    "dimension": np.concatenate([np.full(len(t["group"]), d, dtype=object)
                                                 for d, t in groups.items()]).astype(str),
                    **{k: np.concatenate([t[k] for t in groups.values()]).astype(
                        str if k == "group" else float) for k in next(iter(groups.values()))}}))
                series = list_series(pool, outcome, steps=steps, step_days=step_days)
                series_rows.append(pl.DataFrame({"policy": policy.name, "replication": r,
                                                 "week": series["step"] * step_days / 7.0,
                                                 "waiting": series["waiting"],
                                                 "over_52": series["over_52"]}))
        return SimulationResult(
            policies=tuple(names), confidence=self.confidence,
            settings={"weeks": self.weeks, "replications": self.replications,
                      "seed": self.seed, "step": self.step,
                      "pathways_at_start": len(self.cohort_),
                      "referrals_per_week": float(self.referrals_.sum()),
                      "capacity_per_week": float(self.capacity_.sum()),
                      "removal_rate_per_week": self.removal_rate},
            replicate_list=pl.DataFrame(list_rows),
            replicate_groups=pl.concat(group_rows),
            series=pl.concat(series_rows))


def _summarise_replications(frame: pl.DataFrame, keys: list[str], measures: Sequence[str],
                            confidence: float) -> pl.DataFrame:
    """Mean and t interval across replications of each measure (long format)."""
    long = frame.unpivot(index=keys + ["replication"], on=list(measures),
                         variable_name="measure", value_name="value").filter(
        pl.col("value").is_finite())
    stats = long.group_by(keys + ["measure"], maintain_order=True).agg(
        pl.col("value").count().alias("_n"), pl.col("value").sum().alias("_s"),
        (pl.col("value") ** 2).sum().alias("_ss"))
    mean, lower, upper, _ = mean_interval(stats["_n"].to_numpy(), stats["_s"].to_numpy(),
                                          stats["_ss"].to_numpy(), confidence)
    return stats.select(keys + ["measure"]).with_columns(
        pl.Series("mean", mean), pl.Series("lower", lower), pl.Series("upper", upper))


@dataclass(frozen=True)
class SimulationResult:
    """Results of :meth:`WaitingListSimulator.run`.

    Attributes
    ----------
    policies : tuple of str
        Policy names, the baseline first.
    settings : dict
        What was simulated.
    replicate_list : polars.DataFrame
        One row per policy and replication with every measure of :data:`LIST_MEASURES`.
    replicate_groups : polars.DataFrame
        One row per policy, replication, dimension and group with the group measures.
    series : polars.DataFrame
        Pathways waiting, and over 52 weeks, at the end of each week.
    confidence : float
    """

    policies: tuple[str, ...]
    settings: dict
    replicate_list: pl.DataFrame
    replicate_groups: pl.DataFrame
    series: pl.DataFrame
    confidence: float = 0.95

    def comparison(self) -> pl.DataFrame:
        """The comparison table: for each policy and measure, the mean across
        replications with its interval, and the paired difference from the baseline
        (the first policy) with its interval."""
        table = _summarise_replications(self.replicate_list, ["policy"], LIST_MEASURES,
                                        self.confidence)
        base = self.replicate_list.filter(pl.col("policy") == self.policies[0])
        paired = self.replicate_list.join(base, on="replication", suffix="_base")
        diffs = paired.select("policy", "replication", *[
            (pl.col(m) - pl.col(f"{m}_base")).alias(m) for m in LIST_MEASURES])
        change = _summarise_replications(diffs, ["policy"], LIST_MEASURES, self.confidence)
        change = change.rename({"mean": "change", "lower": "change_lower",
                                "upper": "change_upper"})
        return table.join(change, on=["policy", "measure"], how="left").with_columns(
            pl.col("measure").replace_strict(MEASURE_LABELS).alias("label"))

    def groups(self, dimension: str = "imd_quintile") -> pl.DataFrame:
        """Group measures for one dimension: mean and interval across replications."""
        if dimension not in DIMENSIONS:
            raise ValidationError(f"'{dimension}' is not a dimension", column="dimension",
                                  expected="one of " + ", ".join(DIMENSIONS))
        frame = self.replicate_groups.filter(pl.col("dimension") == dimension)
        measures = [m for m in LIST_MEASURES[:12]]
        return _summarise_replications(frame, ["policy", "group"], measures, self.confidence)

    def to_dict(self) -> dict:
        """The comparison as plain data (for ``--json``)."""
        rows = self.comparison().to_dicts()
        return {"settings": self.settings, "policies": list(self.policies),
                "confidence": self.confidence,
                "comparison": [{k: (None if isinstance(v, float) and not math.isfinite(v)
                                    else v) for k, v in row.items()} for row in rows]}
