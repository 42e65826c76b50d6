"""The measure set from aggregated counts: totals plus one breakdown per equity dimension.

FFT returns and survey aggregates do not say which groups one person belongs to; they give,
for each service, month and answer, the total and then a separate breakdown by each
dimension. The measures need no more than that: the FFT and funnel figures come from the
totals, and each dimension's groups, gaps and (for deprivation) slope index come from that
dimension's breakdown alone. Responses stored one per person are turned into the same
shape by :func:`counts_from_responses`.

The frame everything here works on (a *counts frame*) has the columns ``organisation``,
``service``, ``period`` (``YYYY-MM``), ``response`` (one of the six FFT answers),
``dimension`` (``all`` for totals, or a dimension name), ``group`` (``all`` or the group's
code) and ``count``.
"""

from __future__ import annotations

import polars as pl

from voices.equity.dimensions import DIMENSIONS
from voices.measure.compute import MeasureOptions, compute_measures
from voices.measure.fft import FFT_ANSWERS
from voices.measure.responses import validate_responses

ALL = "all"
KEYS = ("organisation", "service", "period", "response")
SCHEMA = {"organisation": pl.String, "service": pl.String, "period": pl.String,
          "response": pl.String, "dimension": pl.String, "group": pl.String,
          "count": pl.Int64}
#: Each answer and its mirror image: % positive of mirrored answers is % negative.
MIRROR = dict(zip(FFT_ANSWERS, ("Very poor", "Poor", "Neither good nor poor", "Good",
                                "Very good", "Don't know"), strict=True))


def empty_counts() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def unknown_code(dimension: str) -> str:
    """The code for "not known" in a dimension."""
    return DIMENSIONS[dimension].validate(None)


def counts_from_responses(responses: pl.DataFrame) -> pl.DataFrame:
    """Totals and a breakdown by every equity column, from one row per response.

    ``responses`` has ``organisation``, ``service``, ``period``, ``response``, optionally
    ``count`` (default 1) and any equity columns (codes; null means not known).
    """
    if responses.height == 0:
        return empty_counts()
    weight = pl.col("count") if "count" in responses.columns else pl.lit(1, pl.Int64)
    base = responses.with_columns(weight.cast(pl.Int64).alias("count"))
    parts = [base.group_by(list(KEYS)).agg(pl.col("count").sum())
             .with_columns(pl.lit(ALL).alias("dimension"), pl.lit(ALL).alias("group"))]
    for name in DIMENSIONS:
        if name in base.columns:
            parts.append(
                base.with_columns(pl.col(name).cast(pl.String).fill_null(unknown_code(name))
                                  .alias("group"))
                .group_by([*KEYS, "group"]).agg(pl.col("count").sum())
                .with_columns(pl.lit(name).alias("dimension")))
    return pl.concat([p.select(list(SCHEMA)).cast(SCHEMA) for p in parts])


def complete_breakdowns(counts: pl.DataFrame) -> pl.DataFrame:
    """Add each dimension's "not known" group: the total less the groups given.

    A breakdown that covers fewer people than the total (some did not say, or the
    supplier left them out) then adds up to the total, as the measures expect.
    """
    totals = counts.filter(pl.col("dimension") == ALL).select(*KEYS, pl.col("count")
                                                              .alias("total"))
    parts = counts.filter(pl.col("dimension") != ALL)
    if parts.height == 0:
        return counts
    dims = parts.select("organisation", "service", "period", "dimension").unique()
    covered = parts.group_by(*KEYS, "dimension").agg(pl.col("count").sum().alias("given"))
    gap = (dims.join(totals, on=["organisation", "service", "period"], how="inner")
           .join(covered, on=[*KEYS, "dimension"], how="left")
           .with_columns(pl.col("given").fill_null(0))
           .filter(pl.col("total") > pl.col("given")))
    if gap.height == 0:
        return counts
    unknown = pl.DataFrame({"dimension": list(DIMENSIONS),
                            "group": [unknown_code(d) for d in DIMENSIONS]})
    extra = (gap.join(unknown, on="dimension", how="left")
             .with_columns((pl.col("total") - pl.col("given")).alias("count"))
             .select(list(SCHEMA)).cast(SCHEMA))
    return (pl.concat([counts.select(list(SCHEMA)).cast(SCHEMA), extra])
            .group_by(list(SCHEMA)[:-1]).agg(pl.col("count").sum())
            .select(list(SCHEMA)))


def mirror(counts: pl.DataFrame) -> pl.DataFrame:
    """Swap each answer with its mirror image (Very good with Very poor, Good with Poor):
    every "% positive" worked out on the result is the original's % negative."""
    return counts.with_columns(pl.col("response").replace_strict(MIRROR))


def _engine(counts: pl.DataFrame, dimension: str | None, options: MeasureOptions):
    frame = counts.filter(pl.col("count") > 0)
    if frame.height == 0:
        return None
    columns = [*KEYS, "count"]
    if dimension is not None:
        frame = frame.rename({"group": dimension})
        columns.append(dimension)
    return compute_measures(validate_responses(frame.select(columns), first_row=1), options)


def measures_from_counts(counts: pl.DataFrame, options: MeasureOptions | None = None,
                         *, dimensions: list[str] | None = None) -> dict[str, pl.DataFrame]:
    """The measure tables of :func:`voices.measure.compute.compute_measures` from a counts
    frame.

    FFT tables (``fft_service``, ``fft_organisation``, ``fft_all``) and ``funnel_service``
    come from the totals; ``equity_service`` and ``equity_organisation`` join every
    dimension's breakdown; ``sii_service`` and ``sii_organisation`` come from the
    ``imd_decile`` breakdown. ``dimensions`` limits the breakdowns worked out (default:
    every one in the frame). Tables with nothing to show are left out.
    """
    options = options or MeasureOptions()
    counts = complete_breakdowns(counts)
    tables: dict[str, pl.DataFrame] = {}
    totals = _engine(counts.filter(pl.col("dimension") == ALL), None, options)
    if totals is None:
        return tables
    tables.update(totals.tables)
    present = sorted(set(counts.filter(pl.col("dimension") != ALL)["dimension"].to_list()))
    wanted = [d for d in present if dimensions is None or d in dimensions]
    equity_service, equity_org = [], []
    for name in [d for d in DIMENSIONS if d in wanted]:
        result = _engine(counts.filter(pl.col("dimension") == name), name, options)
        if result is None:
            continue
        equity_service.append(result["equity_service"])
        equity_org.append(result["equity_organisation"])
        if name == "imd_decile":
            tables["sii_service"] = result["sii_service"]
            tables["sii_organisation"] = result["sii_organisation"]
    if equity_service:
        tables["equity_service"] = pl.concat(equity_service)
        tables["equity_organisation"] = pl.concat(equity_org)
    return tables
