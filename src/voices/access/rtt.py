"""NHS England's Referral to Treatment (RTT) "full CSV extract": read it and summarise it.

The extract has one row per period, provider, commissioner, RTT part and treatment
function, with the number of pathways in one-week bands of waiting time
(``Gt 00 To 01 Weeks SUM 1`` … ``Gt 103 To 104 Weeks SUM 1``, ``Gt 104 Weeks SUM 1``;
older extracts stop at ``Gt 52 Weeks``), then ``Total``, ``Patients with unknown clock
start date`` and ``Total All``. A blank count means "not reported for this part" (for
example ``Total`` on incomplete pathways), not zero.

Treatment function ``C_999`` is the total of the other rows of the same provider,
commissioner and part. A summary therefore uses **either** the ``C_999`` rows (the
trust's whole list) **or** the detail rows (one line per treatment function), never
both: :func:`waiting_list_summary` chooses by its ``level`` argument.

RTT parts: ``Part_1A`` completed admitted pathways, ``Part_1B`` completed non-admitted,
``Part_2`` incomplete pathways (the waiting list), ``Part_2A`` incomplete pathways with a
decision to admit, ``Part_3`` new clock starts.

References
----------
- NHS England, *Consultant-led Referral to Treatment Waiting Times* statistics: the full
  CSV data file and its guidance (RTT part types, C_999 totals).
- NHS England, *Recording and reporting referral to treatment (RTT) waiting times for
  consultant-led elective care*: the 18-week standard (92% of incomplete pathways within
  18 weeks), and the interpolated median and 92nd percentile of waits from week bands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from voices.errors import ProblemCollector, ValidationError

TOTAL_CODE = "C_999"
PARTS = ("Part_1A", "Part_1B", "Part_2", "Part_2A", "Part_3")

ID_COLUMNS = {
    "Period": "period",
    "Provider Parent Org Code": "provider_parent_code",
    "Provider Parent Name": "provider_parent_name",
    "Provider Org Code": "provider_code",
    "Provider Org Name": "provider_name",
    "Commissioner Parent Org Code": "commissioner_parent_code",
    "Commissioner Parent Name": "commissioner_parent_name",
    "Commissioner Org Code": "commissioner_code",
    "Commissioner Org Name": "commissioner_name",
    "RTT Part Type": "part",
    "RTT Part Description": "part_description",
    "Treatment Function Code": "treatment_function_code",
    "Treatment Function Name": "treatment_function_name",
}
_REQUIRED_IDS = ("Period", "Provider Org Code", "Commissioner Org Code", "RTT Part Type",
                 "Treatment Function Code")
_BAND = re.compile(r"^Gt (\d+) To (\d+) Weeks SUM 1$")
_OPEN_BAND = re.compile(r"^Gt (\d+) Weeks SUM 1$")


@dataclass(frozen=True)
class RttExtract:
    """A checked RTT full CSV extract.

    Attributes
    ----------
    frame : polars.DataFrame
        The identifying columns (snake_case names, see :data:`ID_COLUMNS`), one ``Int64``
        column per week band named ``weeks_<lower>`` (``weeks_104`` is "over 104 weeks"
        in a current extract), and ``total``, ``unknown_clock_start``, ``total_all``.
    band_lower : numpy.ndarray
        Lower edge, in weeks, of each band in order.
    open_band : int
        Lower edge of the last, open-ended band (104 or 52).
    source : str
        File name.
    """

    frame: pl.DataFrame
    band_lower: np.ndarray
    open_band: int
    source: str = ""

    @property
    def band_columns(self) -> list[str]:
        return [f"weeks_{int(w)}" for w in self.band_lower]


def read_rtt_extract(path: str | Path) -> RttExtract:
    """Read and check an RTT full CSV extract (see :func:`validate_rtt_extract`)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError("the file was not found", file=str(path), code="file_not_found")
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy", glob=False)
    except Exception as exc:  # noqa: BLE001 - polars raises many types for damaged files
        raise ValidationError(f"the file could not be read as CSV ({type(exc).__name__})",
                              file=path.name, code="unreadable_file") from None
    return validate_rtt_extract(raw, source=path.name)


def validate_rtt_extract(raw: pl.DataFrame, *, source: str = "") -> RttExtract:
    """Check an RTT extract read as text and return it typed.

    Checks the identifying columns and the week bands are present and contiguous, every
    count is a whole number of at least 0 (or blank), and each row's bands add up to its
    total with a known clock start (``Total``, or ``Total All`` less the unknowns where
    ``Total`` is blank).

    Raises
    ------
    ValidationError
        With the file, row and column of each problem.
    """
    problems = ProblemCollector(file=source or None)
    for name in _REQUIRED_IDS:
        if name not in raw.columns:
            problems.add(f"the column '{name}' is missing", row=1, column=name,
                         expected="NHS England's RTT full CSV extract")
    bands: list[tuple[int, str]] = []
    open_band = None
    for column in raw.columns:
        if m := _BAND.match(column):
            lo, hi = int(m[1]), int(m[2])
            if hi != lo + 1:
                problems.add("a week band is not one week wide", row=1, column=column)
            bands.append((lo, column))
        elif m := _OPEN_BAND.match(column):
            open_band = (int(m[1]), column)
    if not bands or open_band is None:
        problems.add("the week-band columns are missing", row=1,
                     expected="columns 'Gt 00 To 01 Weeks SUM 1' … and an open last band "
                              "such as 'Gt 104 Weeks SUM 1'")
    for name in ("Total All",):
        if name not in raw.columns:
            problems.add(f"the column '{name}' is missing", row=1, column=name)
    problems.raise_if_any()
    bands.sort()
    if [lo for lo, _ in bands] != list(range(len(bands))) or open_band[0] != len(bands):
        raise ValidationError("the week bands are not contiguous from 0 weeks", file=source or None,
                              row=1, expected="one band for every week up to the open band")
    band_columns = [c for _, c in bands] + [open_band[1]]
    counts = band_columns + [c for c in ("Total", "Patients with unknown clock start date",
                                         "Total All") if c in raw.columns]
    frame = raw.with_row_index("_row", offset=2)
    for column in counts:
        text = pl.col(column).str.strip_chars()
        value = text.cast(pl.Int64, strict=False)
        bad = frame.filter(text.is_not_null() & (text != "") & (value.is_null() | (value < 0)))
        for row in bad.head(20).iter_rows(named=True):
            problems.add(f"'{row[column]}' is not a count", row=row["_row"], column=column,
                         expected="a whole number of 0 or more, or blank")
    problems.raise_if_any()

    names = {c: ID_COLUMNS[c] for c in raw.columns if c in ID_COLUMNS}
    lower = np.arange(len(band_columns))
    typed = frame.select(
        "_row",
        *[pl.col(c).str.strip_chars().alias(n) for c, n in names.items()],
        *[pl.col(c).str.strip_chars().cast(pl.Int64, strict=False).alias(f"weeks_{w}")
          for w, c in zip(lower, band_columns)],
        *[(pl.col(c).str.strip_chars().cast(pl.Int64, strict=False)
           if c in raw.columns else pl.lit(None, dtype=pl.Int64)).alias(n)
          for c, n in (("Total", "total"),
                       ("Patients with unknown clock start date", "unknown_clock_start"),
                       ("Total All", "total_all"))],
    )
    band_cols = [f"weeks_{w}" for w in lower]
    has_bands = pl.any_horizontal([pl.col(c).is_not_null() for c in band_cols])
    band_sum = pl.sum_horizontal(band_cols)
    known = pl.coalesce("total", pl.col("total_all") - pl.col("unknown_clock_start").fill_null(0))
    mismatched = typed.filter(has_bands & known.is_not_null() & (band_sum != known))
    for row in mismatched.head(20).iter_rows(named=True):
        problems.add("the week bands do not add up to the row's total", row=row["_row"],
                     column="Total" if row["total"] is not None else "Total All",
                     expected="the sum of the week bands")
    problems.raise_if_any()
    return RttExtract(frame=typed.drop("_row"), band_lower=lower.astype(float),
                      open_band=int(open_band[0]), source=source)


def histogram_percentile(counts: np.ndarray, share: float) -> np.ndarray:
    """The wait (weeks) below which ``share`` of pathways fall, from one-week bands.

    Linear interpolation within the band that holds the percentile, as NHS England does
    for RTT medians and 92nd percentiles. Works row by row on a 2-D array (rows of band
    counts); a percentile in the open last band is reported as that band's lower edge.
    """
    c = np.atleast_2d(np.asarray(counts, dtype=float))
    total = c.sum(axis=1)
    cumulative = np.cumsum(c, axis=1)
    target = share * total
    band = np.array([np.searchsorted(row, t, side="left") for row, t in zip(cumulative, target)])
    band = np.minimum(band, c.shape[1] - 1)
    below = np.where(band > 0, np.take_along_axis(cumulative, np.maximum(band - 1, 0)[:, None],
                                                  axis=1)[:, 0], 0.0)
    inside = np.take_along_axis(c, band[:, None], axis=1)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(inside > 0, (target - below) / inside, 0.0)
    value = band + np.where(band == c.shape[1] - 1, 0.0, fraction)
    return np.where(total > 0, value, np.nan)


def waiting_list_summary(extract: RttExtract, *, part: str = "Part_2",
                         level: str = "total", by: tuple[str, ...] = ("provider_code",),
                         ) -> pl.DataFrame:
    """Waiting times from an RTT extract, without double counting.

    Parameters
    ----------
    extract : RttExtract
    part : str
        The RTT part (default ``Part_2``, the waiting list of incomplete pathways).
    level : "total" or "specialty"
        ``"total"`` uses only the ``C_999`` rows; ``"specialty"`` uses only the other
        rows and adds ``treatment_function_code`` and ``treatment_function_name`` to
        ``by``. The two are never added together.
    by : tuple of str
        Columns to group by (commissioners are always added up).

    Returns
    -------
    polars.DataFrame
        One row per group: ``pathways`` (with a known clock start), ``unknown_clock_start``
        (``null`` where the extract does not report it),
        ``within_18`` and ``pct_within_18``, ``over_52``, ``over_65``, ``over_78``,
        ``over_104`` (counts; ``null`` where the extract's last, open band starts below
        that wait, as in older extracts that stop at 52 weeks), ``median_weeks`` and
        ``p92_weeks`` (interpolated).
    """
    if part not in PARTS:
        raise ValidationError(f"'{part}' is not an RTT part", column="part",
                              expected="one of " + ", ".join(PARTS))
    if level not in ("total", "specialty"):
        raise ValidationError(f"'{level}' is not a level", column="level",
                              expected="'total' or 'specialty'")
    frame = extract.frame.filter(pl.col("part") == part)
    if level == "total":
        frame = frame.filter(pl.col("treatment_function_code") == TOTAL_CODE)
    else:
        frame = frame.filter(pl.col("treatment_function_code") != TOTAL_CODE)
        by = tuple(by) + tuple(c for c in ("treatment_function_code", "treatment_function_name")
                               if c in frame.columns and c not in by)
    for column in by:
        if column not in frame.columns:
            raise ValidationError(f"'{column}' is not a column of the extract", column="by")
    bands = extract.band_columns
    if frame.height == 0:
        raise ValidationError(f"the extract has no {part} rows at the {level} level",
                              file=extract.source or None)
    grouped = frame.group_by(list(by), maintain_order=True).agg(
        *[pl.col(c).sum() for c in bands],
        pl.when(pl.col("unknown_clock_start").is_not_null().any())
        .then(pl.col("unknown_clock_start").sum()).alias("unknown_clock_start"))
    hist = grouped.select(bands).to_numpy().astype(float)
    pathways = hist.sum(axis=1)

    def over(weeks: int) -> pl.Series:
        # An extract whose open band starts below ``weeks`` (older ones stop at 52) cannot
        # say how many waited longer: not known, never 0.
        name = f"over_{weeks}"
        if weeks > extract.open_band:
            return pl.Series(name, [None] * len(hist), dtype=pl.Int64)
        return pl.Series(name, hist[:, weeks:].sum(axis=1).astype(np.int64))

    within_18 = hist[:, :18].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(pathways > 0, 100 * within_18 / pathways, np.nan)
    return grouped.select(*by, "unknown_clock_start").with_columns(
        pl.Series("pathways", pathways.astype(np.int64)),
        pl.Series("within_18", within_18.astype(np.int64)),
        pl.Series("pct_within_18", pct),
        *[over(w) for w in (52, 65, 78, 104)],
        pl.Series("median_weeks", histogram_percentile(hist, 0.5)),
        pl.Series("p92_weeks", histogram_percentile(hist, 0.92)),
    )
