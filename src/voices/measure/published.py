"""Published measures: every figure shown to the public or written into a board report.

Counts first go through disclosure control (:func:`voices.equity.disclose_counts`: counts
of 1 to 7 hidden as ``*``, the rest rounded to the nearest 5, more cells hidden so no hidden
one can be worked out from the totals). Every percentage, interval, gap and slope index is
then worked out **from the published figures only**, never from the exact counts, so
nothing published can be turned back into an exact small number.

Everything here is pure: counts in, rows of published values out.

References
----------
NHS Digital, *Disclosure control method for publications*; ONS, *Statistical disclosure
control*; see :mod:`voices.equity.disclosure`. Intervals: Wilson 1927, Newcombe 1998
(:mod:`voices.measure.intervals`). Slope index: :mod:`voices.measure.inequality`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from voices.equity.disclosure import SUPPRESSED, disclose_counts
from voices.measure.fft import FFT_ANSWERS, NEGATIVE, POSITIVE
from voices.measure.inequality import slope_index_of_inequality
from voices.measure.intervals import difference_interval, wilson_interval

Shown = int | str  # a published count, or "*" when hidden


@dataclass(frozen=True)
class PublishedRow:
    """One published row: counts (or ``*``) and percentages from the published counts."""

    label: str
    code: str
    positive: Shown
    negative: Shown
    other: Shown
    responses: Shown
    pct_positive: float | None
    pct_positive_lower: float | None
    pct_positive_upper: float | None
    pct_negative: float | None
    is_total: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def answer_classes(responses: pl.Series) -> pl.Series:
    """``positive``, ``negative`` or ``other`` for each FFT answer."""
    mapping = {FFT_ANSWERS[i]: "positive" for i in POSITIVE}
    mapping.update({FFT_ANSWERS[i]: "negative" for i in NEGATIVE})
    return responses.replace_strict(mapping, default="other", return_dtype=pl.String)


def class_table(counts: pl.DataFrame, by: str) -> pl.DataFrame:
    """Sum a counts frame into ``by``, ``positive``, ``negative``, ``other`` (rows with no
    responses are dropped)."""
    frame = counts.with_columns(answer_classes(counts["response"]).alias("class"))
    wide = (frame.group_by(by, "class").agg(pl.col("count").sum())
            .pivot(on="class", index=by, values="count"))
    for name in ("positive", "negative", "other"):
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(name))
    return (wide.select(by, *[pl.col(c).fill_null(0).cast(pl.Int64)
                              for c in ("positive", "negative", "other")])
            .filter(pl.sum_horizontal("positive", "negative", "other") > 0))


def _pct(part: Shown, whole: Shown) -> float | None:
    if part == SUPPRESSED or whole == SUPPRESSED or not whole:
        return None
    return 100.0 * float(part) / float(whole)


def publish_rows(labels: Sequence[str], codes: Sequence[str], positive, negative, other, *,
                 total_label: str = "Total") -> list[PublishedRow]:
    """Disclosure control on a table of positive / negative / other counts, with a total
    column (all responses) and a total row; percentages and Wilson 95% intervals from the
    published figures.

    A percentage that the rounded figures would put at 100% while other answers in its
    row are hidden is hidden too: hidden cells are never zero, so it would be false (38
    good answers out of 42 round to 40 out of 40).
    """
    matrix = np.column_stack([np.asarray(positive, dtype=np.int64),
                              np.asarray(negative, dtype=np.int64),
                              np.asarray(other, dtype=np.int64)]) if len(labels) else \
        np.zeros((0, 3), dtype=np.int64)
    if matrix.shape[0] == 0:
        return []
    table = disclose_counts(matrix, row_totals=True, column_totals=True).as_lists()
    rows = []
    names = [*labels, total_label]
    keys = [*codes, "total"]
    for i, values in enumerate(table):
        pos, neg, oth, total = values
        pct = _pct(pos, total)
        if SUPPRESSED in (neg, oth) and pct is not None and pct >= 100.0:
            # Hidden cells are never zero, so the rounded figures' 100% would be false.
            pct = None
        lower = upper = None
        if pct is not None:
            lo, hi = wilson_interval(float(pos), float(total), 0.95)
            lower, upper = 100.0 * float(lo), 100.0 * float(hi)
        rows.append(PublishedRow(label=str(names[i]), code=str(keys[i]), positive=pos,
                                 negative=neg, other=oth, responses=total, pct_positive=pct,
                                 pct_positive_lower=lower, pct_positive_upper=upper,
                                 pct_negative=None if SUPPRESSED in (pos, oth)
                                 and _pct(neg, total) == 100.0 else _pct(neg, total),
                                 is_total=i == len(table) - 1))
    return rows


def publish_table(table: pl.DataFrame, by: str, labels: dict[str, str] | None = None,
                  *, order: Sequence[str] | None = None,
                  total_label: str = "Total") -> list[PublishedRow]:
    """:func:`publish_rows` on a :func:`class_table`, in ``order`` (default: sorted)."""
    if order is not None:
        rank = {code: i for i, code in enumerate(order)}
        table = table.with_columns(pl.col(by).replace_strict(rank, default=len(rank),
                                                             return_dtype=pl.Int64)
                                   .alias("_rank")).sort("_rank", by)
    else:
        table = table.sort(by)
    codes = table[by].cast(pl.String).to_list()
    names = [(labels or {}).get(c, c) for c in codes]
    return publish_rows(names, codes, table["positive"], table["negative"], table["other"],
                        total_label=total_label)


@dataclass(frozen=True)
class PublishedGap:
    """A group's gap in % positive to the reference group, from published counts."""

    code: str
    gap_pct_points: float | None
    lower: float | None
    upper: float | None


def publish_gaps(rows: Sequence[PublishedRow], reference: str,
                 skip: Sequence[str] = ()) -> dict[str, PublishedGap]:
    """Each group's difference from the reference group in percentage points, with a
    Newcombe 95% interval, from the published counts (none where either is hidden)."""
    ref = next((r for r in rows if r.code == reference and not r.is_total), None)
    out = {}
    for row in rows:
        if row.is_total or row.code == reference or row.code in skip:
            continue
        usable = ref is not None and row.pct_positive is not None \
            and ref.pct_positive is not None
        if not usable:
            out[row.code] = PublishedGap(row.code, None, None, None)
            continue
        gap, lo, hi = difference_interval(float(row.positive), float(row.responses),
                                          float(ref.positive), float(ref.responses))
        out[row.code] = PublishedGap(row.code, 100.0 * float(gap), 100.0 * float(lo),
                                     100.0 * float(hi))
    return out


@dataclass(frozen=True)
class PublishedSlope:
    """The slope and relative index of inequality from published decile counts."""

    sii_pct_points: float | None
    sii_lower: float | None
    sii_upper: float | None
    rii: float | None
    rii_lower: float | None
    rii_upper: float | None
    reason: str | None


def publish_slope(rows: Sequence[PublishedRow], *, simulations: int = 20_000,
                  seed: int = 0) -> PublishedSlope:
    """SII and RII of % positive across IMD deciles 1 to 10 from published counts.

    Worked out only when all ten deciles are published with a percentage strictly
    between 0 and 100 (as ``phe_sii`` needs); otherwise ``reason`` says why not.
    """
    by_code = {r.code: r for r in rows if not r.is_total}
    deciles = [by_code.get(str(d)) for d in range(1, 11)]
    if any(r is None or r.pct_positive is None for r in deciles):
        return PublishedSlope(None, None, None, None, None, None,
                              "not every deprivation decile has enough responses to publish")
    if any(r.pct_positive in (0.0, 100.0) for r in deciles):
        return PublishedSlope(None, None, None, None, None, None,
                              "a decile is at 0% or 100%, where the slope cannot be fitted")
    n = np.array([float(r.responses) for r in deciles])
    x = np.array([float(r.positive) for r in deciles])
    lower, upper = wilson_interval(x, n, 0.95)
    result = slope_index_of_inequality(x / n, n, value_lower=lower, value_upper=upper,
                                       kind="proportion", transform=True,
                                       simulations=simulations, seed=seed)
    if result.reason or not math.isfinite(result.sii):
        return PublishedSlope(None, None, None, None, None, None, result.reason)
    return PublishedSlope(100.0 * result.sii, 100.0 * result.sii_lower,
                          100.0 * result.sii_upper, result.rii, result.rii_lower,
                          result.rii_upper, None)


def _round5(column: str) -> pl.Expr:
    return ((pl.col(column) / 5 + 0.5).floor() * 5).cast(pl.Int64)


def rounded_counts(counts: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Counts fit to work statistics out from for publication.

    Within each cell of ``keys`` (for example a month and a group) the answers are put in
    three classes and each is rounded to the nearest 5, as in a published table. A group
    whose positive answers, or whose other answers taken together, number from 1 to 7 is
    left out altogether (its percentage could not be published). A class of 1 to 7 on its
    own (say, 4 poor answers) is added to the other non-positive class before rounding, so
    % positive stays right and nothing small is used.

    Returns a counts frame with answers ``Very good`` (positive), ``Very poor``
    (negative) and ``Neither good nor poor`` (other), so the measure engine works on it
    unchanged.
    """
    keys = list(keys)
    frame = counts.with_columns(answer_classes(counts["response"]).alias("class"))
    wide = class_table(frame.with_columns(pl.concat_str(
        [pl.col(k).cast(pl.String) for k in keys], separator="\x1f").alias("_key")), "_key")
    negative_small = (pl.col("negative") >= 1) & (pl.col("negative") <= 7)
    other_small = (pl.col("other") >= 1) & (pl.col("other") <= 7)
    rest = pl.col("negative") + pl.col("other")
    publishable = ~(((pl.col("positive") >= 1) & (pl.col("positive") <= 7))
                    | ((rest >= 1) & (rest <= 7)))
    merged = wide.filter(publishable).with_columns(
        pl.when(negative_small).then(0).when(other_small).then(rest)
        .otherwise(pl.col("negative")).alias("negative"),
        pl.when(negative_small).then(rest).when(other_small).then(0)
        .otherwise(pl.col("other")).alias("other"))
    rounded = merged.with_columns(_round5("positive"), _round5("negative"), _round5("other"))
    answer = {"positive": "Very good", "negative": "Very poor", "other": "Neither good nor poor"}
    long = rounded.unpivot(index="_key", variable_name="class", value_name="count")
    parts = long.with_columns(pl.col("_key").str.split("\x1f").list.to_struct(
        fields=keys)).unnest("_key")
    return (parts.with_columns(pl.col("class").replace_strict(answer).alias("response"))
            .drop("class").filter(pl.col("count") > 0)
            .select(*keys, "response", "count"))


def shown(value: Shown) -> str:
    """A published count as text: ``*`` or the number with thousands separators."""
    return SUPPRESSED if value == SUPPRESSED else f"{int(value):,}"


def percent(value: float | None, digits: int = 1) -> str:
    """A percentage as text (``*`` when it cannot be published)."""
    return SUPPRESSED if value is None else f"{value:.{digits}f}%"
