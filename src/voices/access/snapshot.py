"""Pathway-level waiting-list snapshots: read, check and type them.

A snapshot is a trust's waiting list on one date: one row per open referral-to-
treatment pathway. The columns Voices understands are listed in :data:`COLUMNS`; the
first four are required, the rest may be missing (whole columns or single values). A
value that is missing is recorded as *not known* and counted in
:attr:`Snapshot.unknowns`; it is never guessed. A value that is present but cannot be
read (an unknown priority code, a date that is not a date) is an error.

Checking is all-or-nothing: :func:`validate_snapshot` either returns a typed
:class:`Snapshot` or raises one :class:`~voices.errors.ValidationError` listing every
problem found (up to 100) with its file, row and column. It refuses in particular:

- clock-start dates after the snapshot date,
- clinical priority codes other than the Federation of Surgical Specialty
  Associations' P1a, P1b, P2, P3, P4, P5 and P6,
- a pathway id that appears more than once.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first pathway
row 2 (for Parquet files, which have no header row, the first pathway is row 1).

References
----------
- Federation of Surgical Specialty Associations, *Clinical guide to surgical
  prioritisation during the coronavirus pandemic* (2020-2022): priority levels P1a
  (within 24 hours), P1b (within 72 hours), P2 (within 1 month), P3 (within 3 months),
  P4 (more than 3 months), and P5/P6 for patients who choose to wait.
- NHS England, *Recording and reporting referral to treatment (RTT) waiting times for
  consultant-led elective care* (clock starts, treatment function codes).
- NHS Data Dictionary: Ethnic Category, Person Stated Gender Code, Treatment Function
  Code; code lists from :mod:`voices.equity.dimensions`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from voices.equity.dimensions import (
    ETHNIC_CATEGORIES,
    ETHNIC_CATEGORY_TO_GROUP,
    NOT_KNOWN,
    SEX,
    age_band,
)
from voices.equity.imd import ImdLookup
from voices.errors import ProblemCollector, ValidationError

PRIORITIES: tuple[str, ...] = ("P1a", "P1b", "P2", "P3", "P4", "P5", "P6")
"""FSSA clinical priority codes, most urgent first."""

PRIORITY_MEANINGS: dict[str, str] = {
    "P1a": "needs treatment within 24 hours",
    "P1b": "needs treatment within 72 hours",
    "P2": "needs treatment within 1 month",
    "P3": "needs treatment within 3 months",
    "P4": "can wait more than 3 months",
    "P5": "chose to wait, because of coronavirus",
    "P6": "chose to wait, for other reasons",
}

REQUIRED = ("pathway_id", "treatment_function_code", "clock_start_date", "clinical_priority")
OPTIONAL = ("procedure", "age", "sex", "ethnic_category", "lsoa", "imd_decile",
            "learning_disability", "interpreter_needed", "carer")
COLUMNS: tuple[str, ...] = REQUIRED + OPTIONAL
"""Every column a snapshot may have, in the users' words."""

# Other headers people use for the same columns (after lower-casing and joining words
# with underscores).
ALIASES: dict[str, str] = {
    "pathway": "pathway_id", "pathway_identifier": "pathway_id", "patient_pathway_id": "pathway_id",
    "treatment_function": "treatment_function_code", "tfc": "treatment_function_code",
    "specialty_code": "treatment_function_code",
    "clock_start": "clock_start_date", "rtt_clock_start": "clock_start_date",
    "rtt_clock_start_date": "clock_start_date", "referral_date": "clock_start_date",
    "priority": "clinical_priority", "fssa_priority": "clinical_priority",
    "priority_code": "clinical_priority",
    "procedure_code": "procedure", "opcs_code": "procedure",
    "age_years": "age", "age_at_snapshot": "age",
    "ethnicity": "ethnic_category", "ethnic_category_code": "ethnic_category",
    "lsoa_code": "lsoa", "lsoa11_code": "lsoa", "lsoa21_code": "lsoa", "lsoa11cd": "lsoa",
    "lsoa21cd": "lsoa",
    "imd": "imd_decile", "deprivation_decile": "imd_decile",
    "learning_disability_or_autism": "learning_disability", "ld_autism": "learning_disability",
    "learning_disability_autism": "learning_disability", "ld": "learning_disability",
    "interpreter": "interpreter_needed", "interpreter_required": "interpreter_needed",
    "is_carer": "carer",
}

_YES = ("y", "yes", "true", "1")
_NO = ("n", "no", "false", "0")
_SEX_ALIASES = {"m": "1", "male": "1", "f": "2", "female": "2", "1": "1", "2": "2",
                "9": "9", "indeterminate": "9", "x": "X", "0": "X", "not known": "X",
                "unknown": "X"}
_MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Snapshot:
    """A checked waiting-list snapshot.

    Attributes
    ----------
    frame : polars.DataFrame
        One row per pathway with typed columns: ``pathway_id``, ``treatment_function_code``
        (strings), ``clock_start_date`` (date), ``clinical_priority`` (one of
        :data:`PRIORITIES`), the optional columns (``null`` where not known), and the
        derived ``days_waited``, ``weeks_waited``, ``imd_quintile``, ``ethnic_group``,
        ``age_band``.
    snapshot_date : date
        The date the list was taken; waits are measured to it.
    source : str
        Where it came from (a file name), for messages.
    missing_columns : tuple of str
        Optional columns that were not in the file at all.
    unknowns : dict
        For each optional column, how many pathways have no known value.
    notes : tuple of str
        Plain-English remarks (columns ignored, LSOA codes not in the IMD lookup).
    """

    frame: pl.DataFrame
    snapshot_date: date
    source: str = ""
    missing_columns: tuple[str, ...] = ()
    unknowns: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return self.frame.height

    def summary(self) -> dict:
        """A plain dictionary for JSON output."""
        return {"source": self.source, "snapshot_date": self.snapshot_date.isoformat(),
                "pathways": self.size, "missing_columns": list(self.missing_columns),
                "unknowns": dict(self.unknowns), "notes": list(self.notes)}


def normalise_header(name: object) -> str:
    """Lower-case a header and join its words with underscores; apply :data:`ALIASES`."""
    text = re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")
    return ALIASES.get(text, text)


# --------------------------------------------------------------------------- reading files


def read_table(path: str | Path) -> tuple[pl.DataFrame, int]:
    """Read a CSV, XLSX or Parquet file as text columns.

    Returns the frame (every column ``String``) and the row number of its first data
    row (2 when there is a header row, 1 for Parquet).

    Raises
    ------
    ValidationError
        If the file is missing, of another kind, or cannot be read.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValidationError("the file was not found", file=str(path), code="file_not_found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            # glob=False: a name such as "list [final].csv" is a file, not a pattern
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy",
                                truncate_ragged_lines=False, raise_if_empty=False,
                                glob=False)
            return frame, 2
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path), 2
        if suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path, glob=False)
            return frame.with_columns(pl.all().cast(pl.String)), 1
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - readers raise many types for damaged files
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ValidationError(f"the file could not be read ({detail})", file=name,
                              code="unreadable_file") from None
    raise ValidationError(f"files ending '{suffix or '(none)'}' cannot be read", file=name,
                          expected="a .csv, .xlsx or .parquet file", code="unsupported_file")


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_xlsx(path: Path) -> pl.DataFrame:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return pl.DataFrame()
        names = [_cell_text(h) or f"column_{i + 1}" for i, h in enumerate(header)]
        data = [[_cell_text(v) for v in row] for row in rows]
    finally:
        book.close()
    width = len(names)
    data = [(r + [None] * width)[:width] for r in data]
    return pl.DataFrame(data, schema={n: pl.String for n in _unique_names(names)},
                        orient="row")


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


def check_snapshot_date(value: object, *, today: date | None = None) -> date:
    """A snapshot date: a real date, not in the future."""
    today = today or date.today()
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        text = str(value or "").strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"'{text[:20]}' is not a date" if text else
                                  "Enter the date the list was taken", column="snapshot_date",
                                  expected="a date such as 2026-10-31") from None
    if day > today:
        raise ValidationError(f"The snapshot date {day} is in the future",
                              column="snapshot_date", expected=f"a date on or before {today}")
    return day


def read_snapshot(path: str | Path, *, snapshot_date: date,
                  imd_lookup: ImdLookup | None = None) -> Snapshot:
    """Read and check a waiting-list snapshot file (CSV, XLSX or Parquet).

    Parameters
    ----------
    path : path
        The file.
    snapshot_date : date
        The date the list was taken.
    imd_lookup : ImdLookup, optional
        To find IMD deciles from LSOA codes where the file has no decile.

    Returns
    -------
    Snapshot

    Raises
    ------
    ValidationError
        Listing every problem found; nothing is returned unless the whole file is good.
    """
    raw, first_row = read_table(path)
    return validate_snapshot(raw, snapshot_date=snapshot_date, source=Path(path).name,
                             imd_lookup=imd_lookup, first_row=first_row)


# --------------------------------------------------------------------------- checking


def _text(column: str) -> pl.Expr:
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def _date_expr(column: str) -> pl.Expr:
    text = _text(column)
    return pl.coalesce(
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        text.str.to_date("%d/%m/%Y", strict=False),
    )


def _yes_no_expr(column: str) -> pl.Expr:
    low = _text(column).str.to_lowercase()
    return (pl.when(low.is_in(_YES)).then(True)
            .when(low.is_in(_NO)).then(False)
            .otherwise(None))


def _whole_number(column: str) -> pl.Expr:
    number = _text(column).cast(pl.Float64, strict=False)
    return pl.when(number == number.round(0)).then(number).otherwise(None).cast(pl.Int64,
                                                                               strict=False)


def _report(collector: ProblemCollector, frame: pl.DataFrame, bad: pl.Expr, column: str,
            message, expected: str | None = None) -> None:
    """Add a located problem for each row where ``bad`` holds (up to the collector's limit)."""
    room = collector.limit - len(collector.problems)
    if room <= 0:
        return
    hits = frame.filter(bad).head(room)
    for row in hits.iter_rows(named=True):
        text = message(row) if callable(message) else message
        collector.add(text, row=row["_row"], column=row.get("_header_" + column, column),
                      expected=expected)


def validate_snapshot(raw: pl.DataFrame, *, snapshot_date: date, source: str = "",
                      imd_lookup: ImdLookup | None = None, first_row: int = 2) -> Snapshot:
    """Check a snapshot read as text columns and return it typed.

    Parameters
    ----------
    raw : polars.DataFrame
        The file's columns as read (any header spelling in :data:`ALIASES`).
    snapshot_date : date
        The date the list was taken; no clock may start after it.
    source : str
        File name for the messages.
    imd_lookup : ImdLookup, optional
        Finds the IMD decile from the LSOA code where no decile is given.
    first_row : int
        Row number of the first pathway (2 below a header row).

    Returns
    -------
    Snapshot

    Raises
    ------
    ValidationError
        With one located problem per fault (up to 100), all found in one pass.
    """
    if not isinstance(snapshot_date, date) or isinstance(snapshot_date, datetime):
        raise ValidationError("the snapshot date must be a date", column="snapshot_date",
                              expected="a date such as 2024-11-30")
    problems = ProblemCollector(file=source or None, limit=_MAX_PROBLEMS)
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for original in raw.columns:
        name = normalise_header(original)
        if name in COLUMNS:
            if name in headers:
                problems.add(f"two columns mean '{name}': '{headers[name]}' and '{original}'",
                             row=1, column=str(original), expected="each column once")
            else:
                headers[name] = original
        else:
            ignored.append(str(original))
    for name in REQUIRED:
        if name not in headers:
            problems.add(f"the required column '{name}' is missing", row=1, column=name,
                         expected="columns " + ", ".join(REQUIRED))
    problems.raise_if_any()
    if raw.height == 0:
        raise ValidationError("the snapshot has no pathways", file=source or None,
                              row=first_row, expected="one row for each pathway")

    # Work on the recognised columns, renamed, with their original headers for messages.
    frame = raw.select([pl.col(h).alias(n) for n, h in headers.items()])
    frame = frame.with_row_index("_row", offset=first_row).with_columns(
        [pl.lit(h).alias("_header_" + n) for n, h in headers.items()])
    missing = tuple(n for n in OPTIONAL if n not in headers)
    frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(n) for n in missing])

    parsed = frame.with_columns(
        _text("pathway_id").alias("pathway_id"),
        _text("treatment_function_code").str.to_uppercase()
        .str.replace(r"^C_", "").alias("treatment_function_code"),
        _date_expr("clock_start_date").alias("_clock_start"),
        _text("clinical_priority").str.to_uppercase().replace_strict(
            {p.upper(): p for p in PRIORITIES}, default=None).alias("_priority"),
        _text("procedure").alias("_procedure"),
        _whole_number("age").alias("_age"),
        _text("sex").str.to_lowercase().replace_strict(_SEX_ALIASES, default=None,
                                                       return_dtype=pl.String).alias("_sex"),
        _text("ethnic_category").str.to_uppercase().alias("_ethnic"),
        _text("lsoa").str.to_uppercase().alias("_lsoa"),
        _whole_number("imd_decile").alias("_decile"),
        _yes_no_expr("learning_disability").alias("_ld"),
        _yes_no_expr("interpreter_needed").alias("_interpreter"),
        _yes_no_expr("carer").alias("_carer"),
    )

    given = {n: _text(n).is_not_null() for n in COLUMNS}
    checks = [
        (pl.col("pathway_id").is_null(), "pathway_id", "the pathway id is missing",
         "an identifier for the pathway"),
        (pl.col("pathway_id").str.len_chars() > 64, "pathway_id", "the pathway id is too long",
         "at most 64 characters"),
        (pl.col("treatment_function_code").is_null(), "treatment_function_code",
         "the treatment function code is missing", "a 3-character code such as 110"),
        (pl.col("treatment_function_code").is_not_null()
         & ~pl.col("treatment_function_code").str.contains(r"^[0-9A-Z]{3}$"),
         "treatment_function_code",
         lambda r: f"'{_short(r['treatment_function_code'])}' is not a treatment function code",
         "a 3-character code such as 110"),
        (~given["clock_start_date"], "clock_start_date", "the clock-start date is missing",
         "a date such as 2024-03-31"),
        (given["clock_start_date"] & pl.col("_clock_start").is_null(), "clock_start_date",
         lambda r: f"'{_short(r['clock_start_date'])}' is not a date",
         "a date such as 2024-03-31 or 31/03/2024"),
        (pl.col("_clock_start") > pl.lit(snapshot_date), "clock_start_date",
         lambda r: f"the clock-start date {r['_clock_start']} is after the snapshot date "
                   f"{snapshot_date}",
         f"a date on or before {snapshot_date}"),
        (~given["clinical_priority"], "clinical_priority", "the clinical priority is missing",
         "one of " + ", ".join(PRIORITIES)),
        (given["clinical_priority"] & pl.col("_priority").is_null(), "clinical_priority",
         lambda r: f"'{_short(r['clinical_priority'])}' is not a clinical priority code",
         "one of " + ", ".join(PRIORITIES)),
        (given["age"] & (pl.col("_age").is_null() | ~pl.col("_age").is_between(0, 130)), "age",
         lambda r: f"'{_short(r['age'])}' is not an age", "whole years from 0 to 130"),
        (given["sex"] & pl.col("_sex").is_null(), "sex",
         lambda r: f"'{_short(r['sex'])}' is not a sex code",
         "1 or Male, 2 or Female, 9 (indeterminate) or X (not known)"),
        (given["ethnic_category"] & ~pl.col("_ethnic").is_in(list(ETHNIC_CATEGORIES)),
         "ethnic_category",
         lambda r: f"'{_short(r['ethnic_category'])}' is not an NHS ethnic category code",
         "a letter A to S, Z (not stated) or 99 (not known)"),
        (given["lsoa"] & ~pl.col("_lsoa").str.contains(r"^[EW]01[0-9]{6}$"), "lsoa",
         lambda r: f"'{_short(r['lsoa'])}' is not an LSOA code", "a code such as E01000001"),
        (given["imd_decile"] & (pl.col("_decile").is_null()
                                | ~pl.col("_decile").is_between(1, 10)), "imd_decile",
         lambda r: f"'{_short(r['imd_decile'])}' is not an IMD decile",
         "a whole number from 1 (most deprived) to 10"),
    ]
    for name, label in (("learning_disability", "_ld"), ("interpreter_needed", "_interpreter"),
                        ("carer", "_carer")):
        checks.append((given[name] & pl.col(label).is_null(), name,
                       lambda r, n=name: f"'{_short(r[n])}' is not yes or no",
                       "Y/N, yes/no, true/false or 1/0 (or leave it blank if not known)"))
    for bad, column, message, expected in checks:
        _report(problems, parsed, bad, column, message, expected)

    first_seen = parsed.group_by("pathway_id").agg(pl.col("_row").min().alias("_first"))
    dupes = parsed.join(first_seen, on="pathway_id", how="left").filter(
        pl.col("pathway_id").is_not_null() & (pl.col("_row") != pl.col("_first"))).sort("_row")
    _report(problems, dupes, pl.lit(True), "pathway_id",
            lambda r: f"the pathway id '{_short(r['pathway_id'])}' appears more than once "
                      f"(first at row {r['_first']})", "each pathway once")
    problems.problems.sort(key=lambda p: p.row or 0)
    problems.raise_if_any()

    return _finish(parsed, snapshot_date, source, missing, ignored, imd_lookup)


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _finish(parsed: pl.DataFrame, snapshot_date: date, source: str, missing: tuple[str, ...],
            ignored: list[str], imd_lookup: ImdLookup | None) -> Snapshot:
    notes: list[str] = []
    if ignored:
        notes.append("columns not used: " + ", ".join(ignored[:20])
                     + (" …" if len(ignored) > 20 else ""))
    frame = parsed.select(
        "pathway_id", "treatment_function_code",
        pl.col("_clock_start").alias("clock_start_date"),
        pl.col("_priority").cast(pl.Enum(list(PRIORITIES))).alias("clinical_priority"),
        pl.col("_procedure").alias("procedure"),
        pl.col("_age").cast(pl.Int16).alias("age"),
        pl.when(pl.col("_sex") == "X").then(None).otherwise(pl.col("_sex")).alias("sex"),
        pl.col("_ethnic").alias("ethnic_category"),
        pl.col("_lsoa").alias("lsoa"),
        pl.col("_decile").cast(pl.Int8).alias("imd_decile"),
        pl.col("_ld").alias("learning_disability"),
        pl.col("_interpreter").alias("interpreter_needed"),
        pl.col("_carer").alias("carer"),
    )
    if imd_lookup is not None:
        frame, note = _attach_imd(frame, imd_lookup)
        if note:
            notes.append(note)
    frame = with_derived_columns(frame, snapshot_date)
    unknowns = {name: int(frame[name].null_count()) for name in OPTIONAL}
    unknowns["ethnic_category"] = int(frame["ethnic_group"].null_count())
    return Snapshot(frame=frame, snapshot_date=snapshot_date, source=source,
                    missing_columns=missing, unknowns=unknowns, notes=tuple(notes))


def _attach_imd(frame: pl.DataFrame, lookup: ImdLookup) -> tuple[pl.DataFrame, str | None]:
    """Fill missing deciles from LSOA codes; report codes the lookup does not know."""
    wanted = frame.filter(pl.col("imd_decile").is_null() & pl.col("lsoa").is_not_null())
    codes = wanted["lsoa"].unique().sort().to_list()
    if not codes:
        return frame, None
    result = lookup.lookup(codes)
    found = pl.DataFrame({"lsoa": codes, "_found": result.deciles},
                         schema={"lsoa": pl.String, "_found": pl.Int8})
    frame = frame.join(found, on="lsoa", how="left").with_columns(
        pl.coalesce("imd_decile", "_found").alias("imd_decile")).drop("_found")
    note = None
    if result.unknown:
        missing = wanted.filter(pl.col("lsoa").is_in(result.unknown)).height
        note = (f"{missing:,} pathway{'s' if missing != 1 else ''} have an LSOA code that is "
                f"not in the IMD {lookup.year} lookup ({len(result.unknown):,} codes, such "
                f"as {result.unknown[0]}); their deprivation is recorded as not known")
    return frame, note


_AGE_BANDS = {age: age_band(age) for age in range(131)}


def with_derived_columns(frame: pl.DataFrame, snapshot_date: date) -> pl.DataFrame:
    """Add waits and grouping columns to a typed snapshot frame.

    ``days_waited`` (whole days from clock start to the snapshot date), ``weeks_waited``
    (days / 7), ``imd_quintile`` (deciles 1-2 → 1 … 9-10 → 5), ``ethnic_group`` (the
    NHS Data Dictionary's broad groups) and ``age_band`` (the broad bands of
    :mod:`voices.equity.dimensions`). Unknown values stay ``null``.
    """
    days = (pl.lit(snapshot_date) - pl.col("clock_start_date")).dt.total_days()
    groups = {k: v for k, v in ETHNIC_CATEGORY_TO_GROUP.items() if v != NOT_KNOWN}
    return frame.with_columns(
        days.cast(pl.Int32).alias("days_waited"),
        (days / 7.0).alias("weeks_waited"),
        ((pl.col("imd_decile") + 1) // 2).cast(pl.Int8).alias("imd_quintile"),
        pl.col("ethnic_category").replace_strict(groups, default=None,
                                                 return_dtype=pl.String).alias("ethnic_group"),
        pl.col("age").replace_strict(_AGE_BANDS, default=None,
                                     return_dtype=pl.String).alias("age_band"),
    )


def sex_label(code: str | None) -> str:
    """Plain-English label for a stored sex code."""
    return SEX.get(code, "Not known") if code else "Not known"
