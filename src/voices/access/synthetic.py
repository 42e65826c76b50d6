"""Synthetic waiting lists for examples, tests, benchmarks and the demo.

The lists look like an English elective waiting list in 2023-24 but describe nobody:

- waits are exponential within each treatment function, with means set from the share
  waiting over 52 weeks that the King's Fund reported for 2021: 7.3% in the most
  deprived fifth of areas and 4.0% in the least deprived fifth (mixing treatment
  functions and priorities makes the synthetic shares a little higher, about 8% and 5%);
- clinical priorities follow the usual mix of a surgical list (mostly P4, some P2/P3,
  a tenth who chose to wait) and more urgent priorities wait less;
- deprivation deciles are equally common, people from ethnic minority groups are more
  common in more deprived areas (as in the 2021 Census), lists are older than the
  population, and some values are left not known, as in real data.

References
----------
- The King's Fund (2021), *Tackling the elective backlog: exploring the relationship
  between deprivation and waiting times* (7.29% vs 4.02% waiting over 52 weeks, most vs
  least deprived quintile).
- NHS England, RTT waiting times statistics (list size and flows; treatment functions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from voices.access.simulation import AGE_CODES, ETHNIC_CODES, Cohort
from voices.access.snapshot import PRIORITIES
from voices.equity.dimensions import ETHNIC_CATEGORY_TO_GROUP, age_band

TREATMENT_FUNCTIONS: dict[str, float] = {
    "100": 0.09, "101": 0.05, "110": 0.12, "120": 0.08, "130": 0.10, "140": 0.05,
    "150": 0.01, "160": 0.02, "170": 0.01, "300": 0.03, "301": 0.06, "320": 0.05,
    "330": 0.05, "340": 0.02, "400": 0.03, "410": 0.02, "430": 0.01, "502": 0.07,
    "X02": 0.08, "X05": 0.05,
}
"""Treatment function codes and their share of the list (roughly England's)."""

_PRIORITY_SHARE = np.array([0.001, 0.004, 0.05, 0.15, 0.69, 0.03, 0.075])
_PRIORITY_WAIT = np.array([0.02, 0.05, 0.35, 0.75, 1.05, 1.3, 1.3])
_ETHNIC_CODES = np.array(list("ABCDEFGHJKLMNPRSZ"))
# White British share falls and minority shares rise with deprivation (quintile 1 first).
_WHITE_BRITISH = np.array([0.62, 0.72, 0.78, 0.82, 0.84])


def mean_wait_for_over_52(share: float) -> float:
    """Mean of an exponential wait with ``share`` of waits over 52 weeks."""
    return 52.0 / -np.log(share)


@dataclass(frozen=True)
class _Draw:
    """One synthetic list as NumPy arrays (codes as in a trust's export)."""

    codes: np.ndarray        # treatment function codes
    specialty: np.ndarray    # index into codes
    days: np.ndarray         # days waited
    priority: np.ndarray     # index into PRIORITIES
    decile: np.ndarray       # 1-10
    age: np.ndarray
    sex: np.ndarray          # "1" male, "2" female
    ethnic: np.ndarray       # NHS ethnic category code
    ld: np.ndarray           # bool
    interpreter: np.ndarray  # bool
    carer: np.ndarray        # bool
    unknown: dict[str, np.ndarray]   # column -> where the value is left not known


_UNKNOWN_SHARE = {"age": 0.01, "sex": 0.005, "ethnic_category": 0.06, "imd_decile": 0.02,
                  "learning_disability": 0.15, "interpreter_needed": 0.25, "carer": 0.4}


def _draw(n: int, seed: int, treatment_functions: dict[str, float] | None) -> _Draw:
    rng = np.random.default_rng(seed)
    shares = treatment_functions or TREATMENT_FUNCTIONS
    codes = np.array(list(shares))
    weights = np.array(list(shares.values()), dtype=float)
    specialty = rng.choice(len(codes), size=n, p=weights / weights.sum()).astype(np.int16)
    specialty_factor = np.linspace(0.8, 1.2, len(codes))[rng.permutation(len(codes))]

    decile = rng.integers(1, 11, size=n).astype(np.int8)
    quintile = (decile + 1) // 2
    # Mean wait by quintile: 7.29% over 52 weeks in quintile 1, 4.02% in quintile 5.
    means = np.linspace(mean_wait_for_over_52(0.0729), mean_wait_for_over_52(0.0402), 5)
    priority = rng.choice(len(PRIORITIES), size=n, p=_PRIORITY_SHARE).astype(np.int8)
    mean = means[quintile - 1] * specialty_factor[specialty] * _PRIORITY_WAIT[priority]
    days = np.minimum(np.floor(rng.exponential(mean) * 7), 7 * 150).astype(np.int32)

    age = np.where(rng.random(n) < 0.08, rng.integers(0, 18, size=n),
                   np.clip(rng.normal(60, 17, size=n), 18, 100)).astype(np.int16)
    sex = np.where(rng.random(n) < 0.55, "2", "1")
    white_british = rng.random(n) < _WHITE_BRITISH[quintile - 1]
    other = rng.choice(_ETHNIC_CODES[1:], size=n,
                       p=_normalise([2, 8, 1, 1, 1, 1, 5, 3, 2, 2, 1, 4, 1, 1, 2, 8]))
    ethnic = np.where(white_british, "A", other)
    ld = rng.random(n) < 0.02
    interpreter = rng.random(n) < 0.03 + 0.02 * (quintile == 1)
    carer = rng.random(n) < 0.07
    unknown = {column: rng.random(n) < share for column, share in _UNKNOWN_SHARE.items()}
    return _Draw(codes, specialty, days, priority, decile, age, sex, ethnic, ld, interpreter,
                 carer, unknown)


def synthetic_waiting_list(pathways: int, *, snapshot_date: date, seed: int = 0,
                           treatment_functions: dict[str, float] | None = None,
                           ) -> pl.DataFrame:
    """A synthetic pathway-level snapshot with the columns of a real one.

    Parameters
    ----------
    pathways : int
        Number of pathways.
    snapshot_date : date
        Date of the list; clock starts are before it.
    seed : int
        Random seed (the same seed gives the same list).
    treatment_functions : dict, optional
        Treatment function code → share of the list (default :data:`TREATMENT_FUNCTIONS`).

    Returns
    -------
    polars.DataFrame
        Columns ``pathway_id``, ``treatment_function_code``, ``clock_start_date``,
        ``clinical_priority``, ``age``, ``sex``, ``ethnic_category``, ``imd_decile``,
        ``learning_disability``, ``interpreter_needed``, ``carer`` as text, as a trust
        would export them (blank where not known).
    """
    n = int(pathways)
    d = _draw(n, seed, treatment_functions)
    start = np.datetime64(snapshot_date) - d.days.astype("timedelta64[D]")

    def yes_no(flag: np.ndarray) -> np.ndarray:
        return np.where(flag, "Y", "N")

    frame = pl.DataFrame({
        "pathway_id": pl.int_range(1, n + 1, eager=True).cast(pl.String).str.zfill(8),
        "treatment_function_code": d.codes[d.specialty],
        "clock_start_date": start.astype(str),
        "clinical_priority": np.array(PRIORITIES)[d.priority],
        "age": d.age.astype(str),
        "sex": d.sex,
        "ethnic_category": d.ethnic,
        "imd_decile": d.decile.astype(str),
        "learning_disability": yes_no(d.ld),
        "interpreter_needed": yes_no(d.interpreter),
        "carer": yes_no(d.carer),
    })
    frame = frame.with_columns(pl.concat_str([pl.lit("P"), pl.col("pathway_id")])
                               .alias("pathway_id"))
    return frame.with_columns([
        pl.when(pl.Series(where)).then(None).otherwise(pl.col(column)).alias(column)
        for column, where in d.unknown.items()])


def synthetic_cohort(pathways: int, *, seed: int = 0,
                     treatment_functions: dict[str, float] | None = None) -> Cohort:
    """The same synthetic list as :func:`synthetic_waiting_list`, as simulator arrays.

    Skips the text round trip, so national-scale lists (millions of pathways) can be
    made quickly and in little memory.
    """
    d = _draw(int(pathways), seed, treatment_functions)
    u = d.unknown
    ethnic_group = np.array([ETHNIC_CODES.index(ETHNIC_CATEGORY_TO_GROUP[c])
                             if ETHNIC_CATEGORY_TO_GROUP[c] in ETHNIC_CODES else -1
                             for c in _ETHNIC_CODES], dtype=np.int8)
    ethnic_index = np.searchsorted(_ETHNIC_CODES, d.ethnic)
    band_of_age = np.array([AGE_CODES.index(age_band(a)) for a in range(131)], dtype=np.int8)

    def flag(values: np.ndarray, column: str) -> np.ndarray:
        return np.where(u[column], -1, values.astype(np.int8)).astype(np.int8)

    order = np.argsort(d.codes)
    codes = tuple(d.codes[order])
    remap = np.empty(len(order), dtype=np.int16)
    remap[order] = np.arange(len(order))
    return Cohort(
        days_waited=d.days, specialty=remap[d.specialty], priority=d.priority,
        imd_decile=np.where(u["imd_decile"], 0, d.decile).astype(np.int8),
        ethnic_group=np.where(u["ethnic_category"], -1,
                              ethnic_group[ethnic_index]).astype(np.int8),
        age_band=np.where(u["age"], -1, band_of_age[d.age]).astype(np.int8),
        sex=np.where(u["sex"], -1, (d.sex == "2").astype(np.int8)).astype(np.int8),
        learning_disability=flag(d.ld, "learning_disability"),
        interpreter_needed=flag(d.interpreter, "interpreter_needed"),
        carer=flag(d.carer, "carer"),
        specialties=codes,
    )


def _normalise(weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()
