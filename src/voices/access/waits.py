"""Who waits longest: waiting times of a snapshot broken down by equity group.

For the whole list and for each group of each dimension (IMD decile and quintile,
ethnic group, age band, sex, learning disability or autism, and ethnic group within
deprivation quintile) :func:`wait_equity` gives:

- the number of pathways;
- the median, mean and 92nd-percentile wait in weeks, each with an interval: for the
  median and 92nd percentile the distribution-free interval from order statistics (the
  ranks come from the binomial distribution), for the mean Student's t;
- the number and percentage waiting more than 18, 52, 65 and 78 weeks, with Wilson
  score intervals;
- a flag for groups whose share of long waits (over 52 weeks by default) is
  significantly higher than the rest of the list: a one-sided two-proportion z-test of
  the group against everyone else, with Holm's correction for the number of groups in
  the dimension;

and, across the ten IMD deciles (most deprived first), the slope index of inequality
(SII) of the percentage over 18 and over 52 weeks and of the mean wait, from
:func:`voices.measure.inequality.slope_index_of_inequality`.

Groups whose value is not known are shown as their own group (``not_known``), never
dropped or guessed. Counts are exact: tables meant for publication go through
:mod:`voices.equity.disclosure` first.

References
----------
- Conover, W. J. (1999). *Practical Nonparametric Statistics*, 3rd ed., Wiley,
  section 3.2 (confidence intervals for quantiles from order statistics); Hahn, G. J. &
  Meeker, W. Q. (1991). *Statistical Intervals*, Wiley, chapter 5.
- Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
  inference. *JASA* 22, 209-212 (via :func:`voices.measure.intervals.wilson_interval`).
- Holm, S. (1979). A simple sequentially rejective multiple test procedure.
  *Scandinavian Journal of Statistics* 6, 65-70.
- Low, A. & Low, A. (2004). Measuring the gap: quantifying and comparing local health
  inequalities. *Journal of Public Health* 26, 388-395 (the SII), as implemented in
  :mod:`voices.measure.inequality`.
- NHS England, RTT waiting times: the 18-week standard and 52/65/78-week long waits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.stats import binom, norm

from voices.access.snapshot import Snapshot
from voices.equity.dimensions import NOT_KNOWN
from voices.errors import ValidationError
from voices.measure.inequality import SlopeIndex, slope_index_of_inequality
from voices.measure.intervals import mean_interval, wilson_interval

THRESHOLDS = (18, 52, 65, 78)
"""Weeks: the 18-week standard and the long-wait marks NHS England reports."""

DIMENSIONS = ("list", "imd_decile", "imd_quintile", "ethnic_group", "age_band", "sex",
              "learning_disability", "ethnic_group_by_imd_quintile")


def _group_expr(dimension: str) -> pl.Expr:
    """The group label of each pathway for a dimension (``not_known`` when unknown)."""
    def text(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.String).fill_null(NOT_KNOWN)

    if dimension == "list":
        return pl.lit("all")
    if dimension == "learning_disability":
        return (pl.when(pl.col("learning_disability")).then(pl.lit("yes"))
                .when(pl.col("learning_disability").not_()).then(pl.lit("no"))
                .otherwise(pl.lit(NOT_KNOWN)))
    if dimension == "sex":
        return (pl.col("sex").replace_strict({"1": "Male", "2": "Female", "9": "Indeterminate"},
                                             default=NOT_KNOWN, return_dtype=pl.String)
                .fill_null(NOT_KNOWN))
    if dimension == "ethnic_group_by_imd_quintile":
        return pl.concat_str([text("ethnic_group"), pl.lit(" | quintile "),
                              text("imd_quintile")])
    return text(dimension)


def _sort_key(group: str) -> tuple:
    """Numeric groups in number order, 'not_known' last."""
    if group == NOT_KNOWN:
        return (2, 0, group)
    try:
        return (0, float(group), group)
    except ValueError:
        return (1, 0, group)


def quantile_interval(sorted_values: np.ndarray, share: float, confidence: float = 0.95,
                      ) -> tuple[float, float, float]:
    """A quantile and its distribution-free interval from order statistics.

    The point estimate interpolates between order statistics (NumPy's default, Hyndman
    & Fan type 7). The interval is ``[x_(l), x_(u)]`` with ranks
    ``l = F⁻¹(α/2)`` and ``u = F⁻¹(1 - α/2) + 1`` of the Binomial(n, share)
    distribution, which covers the true quantile with probability at least about
    ``confidence`` whatever the distribution (Conover 1999, section 3.2). A limit that
    would need a rank outside 1..n is ``nan`` (too few pathways to bound it).

    Parameters
    ----------
    sorted_values : array
        The values, sorted ascending.
    share : float
        0.5 for the median, 0.92 for the 92nd percentile.
    confidence : float

    Returns
    -------
    (estimate, lower, upper)
    """
    n = sorted_values.size
    if n == 0:
        return math.nan, math.nan, math.nan
    alpha = 1 - confidence
    estimate = float(np.quantile(sorted_values, share))
    low_rank = int(binom.ppf(alpha / 2, n, share))
    high_rank = int(binom.ppf(1 - alpha / 2, n, share)) + 1
    lower = float(sorted_values[low_rank - 1]) if low_rank >= 1 else math.nan
    upper = float(sorted_values[high_rank - 1]) if high_rank <= n else math.nan
    return estimate, lower, upper


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979); ``nan`` stays ``nan``."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


@dataclass(frozen=True)
class WaitEquity:
    """The result of :func:`wait_equity`.

    Attributes
    ----------
    table : polars.DataFrame
        One row per dimension and group (``dimension="list"`` is the whole list): see
        :func:`wait_equity` for the columns.
    sii : dict
        ``"pct_over_18"``, ``"pct_over_52"`` and ``"mean_weeks"`` → :class:`SlopeIndex`
        across IMD deciles (percentage points or weeks; the modelled value for the least
        deprived minus the most deprived, so negative when the most deprived wait
        longer), or ``None`` when deciles are missing.
    long_wait_weeks : int
        The threshold the flags use.
    snapshot_date : str
    unknowns : dict
        Pathways with no known value, by column.
    """

    table: pl.DataFrame
    sii: dict[str, SlopeIndex | None]
    long_wait_weeks: int
    confidence: float
    snapshot_date: str = ""
    unknowns: dict[str, int] = field(default_factory=dict)

    def flagged(self) -> pl.DataFrame:
        """Groups whose long-wait share is significantly above the rest of the list."""
        return self.table.filter(pl.col("flagged"))

    def to_dict(self) -> dict:
        def clean(value):
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value

        return {
            "snapshot_date": self.snapshot_date, "confidence": self.confidence,
            "long_wait_weeks": self.long_wait_weeks, "unknowns": self.unknowns,
            "groups": [{k: clean(v) for k, v in row.items()} for row in self.table.to_dicts()],
            "sii": {name: (None if s is None else {k: clean(v) for k, v in s.to_dict().items()})
                    for name, s in self.sii.items()},
        }


def wait_equity(snapshot: Snapshot, *, confidence: float = 0.95, long_wait_weeks: int = 52,
                dimensions: tuple[str, ...] = DIMENSIONS) -> WaitEquity:
    """Waiting times by equity group, with intervals, flags and the SII.

    Parameters
    ----------
    snapshot : Snapshot
    confidence : float
        Level of every interval, and ``1 - confidence`` is the flags' significance level.
    long_wait_weeks : int
        One of 18, 52, 65, 78: the wait whose share the flags test.
    dimensions : tuple of str
        Which breakdowns to make (default all of :data:`DIMENSIONS`).

    Returns
    -------
    WaitEquity
        Its ``table`` has, per dimension and group: ``pathways``; ``median_weeks``,
        ``mean_weeks``, ``p92_weeks`` each with ``_lower`` and ``_upper``; for each
        threshold T in 18, 52, 65, 78: ``over_T`` (count), ``pct_over_T`` with
        ``_lower`` and ``_upper``; ``p_value`` and ``p_adjusted`` (long waits, group
        against the rest of the list) and ``flagged``.
    """
    if not 0.5 < confidence < 1:
        raise ValidationError("confidence must be between 0.5 and 1", column="confidence")
    if long_wait_weeks not in THRESHOLDS:
        raise ValidationError(f"{long_wait_weeks} weeks is not a reported long wait",
                              column="long_wait_weeks",
                              expected="one of " + ", ".join(map(str, THRESHOLDS)))
    for dimension in dimensions:
        if dimension not in DIMENSIONS:
            raise ValidationError(f"'{dimension}' is not a dimension", column="dimensions",
                                  expected="one of " + ", ".join(DIMENSIONS))
    frame = snapshot.frame
    if frame.height == 0:
        raise ValidationError("the snapshot has no pathways")
    days = frame["days_waited"].to_numpy()
    total_long = int((days > long_wait_weeks * 7).sum())
    rows = []
    for dimension in dimensions:
        labels = frame.with_columns(_group_expr(dimension).alias("_g"))["_g"].to_numpy()
        dimension_rows = []
        for group in sorted(set(labels.tolist()), key=_sort_key):
            waits = np.sort(days[labels == group]) / 7.0
            dimension_rows.append(_group_row(dimension, group, waits, confidence,
                                             long_wait_weeks, total_long, days.size))
        adjusted = holm(np.array([r["p_value"] for r in dimension_rows]))
        for row, p_adj in zip(dimension_rows, adjusted):
            row["p_adjusted"] = float(p_adj)
            row["flagged"] = bool(np.isfinite(p_adj) and p_adj < 1 - confidence)
        rows.extend(dimension_rows)
    table = pl.DataFrame(rows)
    return WaitEquity(table=table, sii=_slope_indices(table, confidence),
                      long_wait_weeks=long_wait_weeks, confidence=confidence,
                      snapshot_date=snapshot.snapshot_date.isoformat(),
                      unknowns=dict(snapshot.unknowns))


def _group_row(dimension: str, group: str, waits: np.ndarray, confidence: float,
               long_wait_weeks: int, total_long: int, total: int) -> dict:
    n = waits.size
    row: dict = {"dimension": dimension, "group": group, "pathways": n}
    for name, share in (("median_weeks", 0.5), ("p92_weeks", 0.92)):
        est, lo, hi = quantile_interval(waits, share, confidence)
        row.update({name: est, f"{name}_lower": lo, f"{name}_upper": hi})
    mean, lo, hi, _ = mean_interval(n, waits.sum(), (waits * waits).sum(), confidence)
    row.update({"mean_weeks": float(mean), "mean_weeks_lower": float(lo),
                "mean_weeks_upper": float(hi)})
    for weeks in THRESHOLDS:
        over = int(np.count_nonzero(waits > weeks))
        lo, hi = wilson_interval(over, n, confidence)
        row.update({f"over_{weeks}": over, f"pct_over_{weeks}": 100.0 * over / n,
                    f"pct_over_{weeks}_lower": 100.0 * float(lo),
                    f"pct_over_{weeks}_upper": 100.0 * float(hi)})
    # Long waits in the group against everyone else (one-sided, pooled z-test).
    long_here = row[f"over_{long_wait_weeks}"]
    rest_n, rest_long = total - n, total_long - long_here
    p_value = math.nan
    if dimension != "list" and rest_n > 0:
        pooled = total_long / total
        spread = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
        if spread > 0:
            z = (long_here / n - rest_long / rest_n) / spread
            p_value = float(norm.sf(z))
    row["p_value"] = p_value
    return row


def _slope_indices(table: pl.DataFrame, confidence: float) -> dict[str, SlopeIndex | None]:
    deciles = table.filter((pl.col("dimension") == "imd_decile")
                           & (pl.col("group") != NOT_KNOWN))
    out: dict[str, SlopeIndex | None] = {"pct_over_18": None, "pct_over_52": None,
                                         "mean_weeks": None}
    if sorted(deciles["group"].to_list(), key=float) != [str(d) for d in range(1, 11)]:
        return out
    deciles = deciles.sort(pl.col("group").cast(pl.Int64))   # decile 1 (most deprived) first
    population = deciles["pathways"].to_numpy().astype(float)
    for name in ("pct_over_18", "pct_over_52"):
        share = deciles[name].to_numpy() / 100
        lower = deciles[f"{name}_lower"].to_numpy() / 100
        upper = deciles[f"{name}_upper"].to_numpy() / 100
        result = slope_index_of_inequality(share, population, value_lower=lower,
                                           value_upper=upper, kind="proportion",
                                           confidence=confidence)
        if result.reason is not None:   # a decile at 0% or 100%: no logit scale
            result = slope_index_of_inequality(share, population, value_lower=lower,
                                               value_upper=upper, kind="normal",
                                               confidence=confidence)
        out[name] = _in_percent(result)
    out["mean_weeks"] = slope_index_of_inequality(
        deciles["mean_weeks"].to_numpy(), population,
        value_lower=deciles["mean_weeks_lower"].to_numpy(),
        value_upper=deciles["mean_weeks_upper"].to_numpy(), kind="normal",
        confidence=confidence)
    return out


def _in_percent(result: SlopeIndex) -> SlopeIndex:
    from dataclasses import replace

    return replace(result, sii=100 * result.sii, sii_lower=100 * result.sii_lower,
                   sii_upper=100 * result.sii_upper, intercept=100 * result.intercept)
