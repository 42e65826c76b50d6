"""Waiting-time figures for people outside the analyst role: through disclosure control.

Analysts signed in see exact counts (:mod:`voices.access.waits`). Anyone else, and
anything exported, sees each dimension's table after :func:`voices.equity.disclose`: the
pathways of each group are split into waits that do not overlap (up to 18 weeks, 18 to 52,
52 to 65, 65 to 78, over 78), so one table holds every count and its totals, and secondary
suppression protects them together. The long-wait counts shown ("over 52 weeks") are then
worked out from the protected table, and only where that reveals nothing new:

- from shown bands only (every band above the threshold is shown), or
- as the shown total less shown bands (every band below it is shown);

otherwise the count is hidden too. A count is never shown that would let someone recover
a hidden cell, and a worked-out count from 1 to 7 is hidden like any other. Percentages are worked out from the rounded figures. Medians, means and
92nd percentiles are shown only for groups whose number of pathways is shown.

References
----------
NHS Digital, *Disclosure control method for publications*; ONS, *Statistical disclosure
control* (primary and secondary suppression); see :mod:`voices.equity.disclosure`.
"""

from __future__ import annotations

import polars as pl

from voices.equity.disclosure import SUPPRESSED, disclose, is_small

THRESHOLDS = (18, 52, 65, 78)
BANDS = ("up_to_18", "18_to_52", "52_to_65", "65_to_78", "over_78")
"""Waits that do not overlap, each band's lower edge being the threshold before it."""


def band_counts(rows: pl.DataFrame) -> pl.DataFrame:
    """Exact counts per band from ``pathways`` and ``over_T`` columns."""
    return rows.select(
        "group",
        (pl.col("pathways") - pl.col("over_18")).alias("up_to_18"),
        (pl.col("over_18") - pl.col("over_52")).alias("18_to_52"),
        (pl.col("over_52") - pl.col("over_65")).alias("52_to_65"),
        (pl.col("over_65") - pl.col("over_78")).alias("65_to_78"),
        pl.col("over_78").alias("over_78"))


def published_dimension(rows: pl.DataFrame, *, total_label: str = "All pathways"
                        ) -> list[dict]:
    """One dimension's groups after disclosure control.

    Parameters
    ----------
    rows : polars.DataFrame
        One row per group with ``group``, ``pathways``, ``over_18``, ``over_52``,
        ``over_65``, ``over_78`` and optionally ``median_weeks``, ``mean_weeks``,
        ``p92_weeks`` and ``flagged`` (the rows of :attr:`WaitEquity.table` for one
        dimension).

    Returns
    -------
    list of dict
        One per group and a last one for the total: ``group``, ``pathways`` (a count
        rounded to 5, or ``"*"``), for each threshold T ``over_T`` (count or ``"*"``)
        and ``pct_over_T`` (a percentage of the rounded figures, or ``"*"``),
        ``median_weeks``, ``mean_weeks``, ``p92_weeks`` (``None`` when hidden),
        ``flagged`` and ``is_total``.
    """
    bands = band_counts(rows)
    table = disclose(bands, label="group", counts=list(BANDS), row_totals=True,
                     column_totals=True, total_label=total_label)
    extra = {r["group"]: r for r in rows.to_dicts()}
    out = []
    for label, values in zip(table.row_labels, table.values):
        shown_bands, total = values[:-1], values[-1]
        row: dict = {"group": label, "pathways": total, "is_total": label == total_label
                     and label not in extra}
        for k, weeks in enumerate(THRESHOLDS, start=1):
            above, below = shown_bands[k:], shown_bands[:k]
            if SUPPRESSED not in above:
                count = sum(above)
            elif SUPPRESSED not in below and total != SUPPRESSED:
                count = max(total - sum(below), 0)
            else:
                count = SUPPRESSED
            if count != SUPPRESSED and is_small(count):   # a sum of rounded figures
                count = SUPPRESSED
            row[f"over_{weeks}"] = count
            row[f"pct_over_{weeks}"] = (round(100.0 * count / total, 1)
                                        if count != SUPPRESSED and total not in (SUPPRESSED, 0)
                                        else SUPPRESSED)
        source = extra.get(label, {})
        for name in ("median_weeks", "mean_weeks", "p92_weeks"):
            row[name] = source.get(name) if total != SUPPRESSED else None
        row["flagged"] = bool(source.get("flagged", False))
        out.append(row)
    return out
