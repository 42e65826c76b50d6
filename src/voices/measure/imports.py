"""Read and check files of aggregated response counts and activity figures for storage.

Two kinds of file, each CSV, Excel (``.xlsx``, first sheet) or Parquet:

**Response counts** (FFT monthly returns, survey aggregates) — one row per service, month,
answer and group:

============== ========== ===========================================================
``organisation`` required the provider's ODS code, such as ``RZ1``
``service``      required the service's name (or its short link) as Voices knows it
``period``       required the month, ``YYYY-MM``
``response``     required one of the six FFT answers (any case)
``count``        required how many people gave that answer: a whole number, 0 or more
``dimension``    optional ``all`` (the total; the default) or an equity dimension such as
                          ``imd_decile``, ``ethnic_group``, ``disability``
``group``        optional the group's code or label in that dimension (``all`` for totals;
                          blank means not known)
============== ========== ===========================================================

**Activity figures** — ``organisation``, ``service`` (blank for the organisation's own
figure), ``period``, ``measure`` (a name such as ``rtt_within_18_weeks_pct``), ``value``
and optionally ``lower`` and ``upper``.

Everything here is pure: a file reader that returns text columns, and checks that return
a clean table or raise a :class:`~voices.errors.ValidationError` listing every problem
with its file, row and column. Rows are numbered as a spreadsheet shows them (the header is
row 1 in CSV and Excel; the first record is row 1 in Parquet).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import polars as pl

from voices.equity.dimensions import DIMENSIONS
from voices.errors import ProblemCollector, ValidationError
from voices.measure.fft import ANSWER_INDEX, FFT_ANSWERS, normalise_answer
from voices.measure.responses import PERIOD_PATTERN, equity_code

ALL = "all"
COUNT_COLUMNS = ("organisation", "service", "period", "response", "count")
ACTIVITY_COLUMNS = ("organisation", "service", "period", "measure", "value")
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
MEASURE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SUFFIXES = (".csv", ".xlsx", ".parquet")


# ------------------------------------------------------------------------ reading


def _cell_text(value: object, column: str) -> str | None:
    """One spreadsheet cell as text, the way a person reading the sheet would see it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        # Excel turns a typed "2026-10" into the date 1 October 2026.
        if column == "period" and value.day == 1:
            return f"{value.year:04d}-{value.month:02d}"
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path) -> pl.DataFrame:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            return pl.DataFrame()
        names = [str(h).strip() if h is not None else f"column_{i + 1}"
                 for i, h in enumerate(header)]
        data: dict[str, list[str | None]] = {n: [] for n in names}
        for row in rows:
            if row is None or all(v is None for v in row):
                continue
            for i, name in enumerate(names):
                data[name].append(_cell_text(row[i] if i < len(row) else None, name))
        return pl.DataFrame(data, schema={n: pl.String for n in names})
    finally:
        book.close()


def _parquet_as_text(frame: pl.DataFrame) -> pl.DataFrame:
    columns = []
    for name, dtype in frame.schema.items():
        expr = pl.col(name)
        if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
            expr = expr.dt.strftime("%Y-%m" if name == "period" else "%Y-%m-%d")
        elif dtype.is_float():
            expr = pl.when(expr == expr.round(0)).then(expr.cast(pl.Int64).cast(pl.String)) \
                .otherwise(expr.cast(pl.String))
        columns.append(expr.cast(pl.String).alias(name))
    return frame.select(columns)


def read_table(path: str | Path) -> tuple[pl.DataFrame, int]:
    """Read a CSV, Excel or Parquet file as text columns.

    Returns the frame (every column a string, header names trimmed and lower-cased) and
    the row number of its first record (2 for CSV and Excel, 1 for Parquet).
    """
    path = Path(path)
    name = str(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ValidationError("file not found", file=name, expected="a CSV, Excel or Parquet file")
    if suffix not in SUFFIXES:
        raise ValidationError(f"cannot read '{suffix or 'no extension'}' files", file=name,
                              expected="a .csv, .xlsx or .parquet file")
    try:
        if suffix == ".csv":
            frame, first_row = pl.read_csv(path, infer_schema=False, glob=False), 2
        elif suffix == ".xlsx":
            frame, first_row = _read_xlsx(path), 2
        else:
            frame, first_row = _parquet_as_text(pl.read_parquet(path, glob=False)), 1
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"could not read the file: {text[:200]}", file=name,
                              expected="a readable CSV (UTF-8), Excel or Parquet file") from None
    return frame.rename({c: c.strip().lower() for c in frame.columns}), first_row


# ------------------------------------------------------------------------ checking


def _missing(frame: pl.DataFrame, required: tuple[str, ...], source: str | None) -> None:
    problems = ProblemCollector(file=source)
    for column in required:
        if column not in frame.columns:
            problems.add(f"missing column '{column}'", column=column,
                         expected="columns " + ", ".join(required))
    problems.raise_if_any()
    if frame.height == 0:
        raise ValidationError("the file has no rows", file=source,
                              expected="a header row and at least one row of figures")


def _stripped(frame: pl.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return [""] * frame.height
    return [("" if v is None else str(v).strip()) for v in frame[column].to_list()]


def _whole_number(text: str) -> int | None:
    if "," in text and not THOUSANDS.match(text):
        return None
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text.replace(",", "")):
        return int(float(text.replace(",", "")))
    return None


def group_code(dimension: str, text: str) -> str | None:
    """The stored group code for a cell of the ``group`` column, or None if unknown."""
    if dimension == ALL:
        return ALL if text.lower() in ("", ALL) else None
    return equity_code(DIMENSIONS[dimension], text or None)


def validate_counts(frame: pl.DataFrame, *, source: str | None = None,
                    first_row: int = 2, limit: int = 100) -> pl.DataFrame:
    """Check a table of aggregated response counts.

    Parameters
    ----------
    frame : polars.DataFrame
        Text columns, as :func:`read_table` returns them.
    source : str, optional
        The file name, for messages.
    first_row : int
        The row number of the first record (2 for CSV and Excel, 1 for Parquet).

    Returns
    -------
    polars.DataFrame
        ``row`` (the file's row number), ``organisation``, ``service``, ``period``,
        ``response`` (the FFT answer as NHS England writes it), ``dimension``, ``group``
        (a code from :mod:`voices.equity.dimensions`, or ``all``) and ``count``.

    Raises
    ------
    ValidationError
        Every problem found (up to ``limit``), each with the file, row and column.
    """
    _missing(frame, COUNT_COLUMNS, source)
    problems = ProblemCollector(file=source, limit=limit)
    if ("dimension" in frame.columns) != ("group" in frame.columns):
        have, need = ("dimension", "group") if "dimension" in frame.columns else ("group",
                                                                                   "dimension")
        problems.add(f"missing column '{need}'", column=need,
                     expected=f"a '{need}' column beside '{have}'")
        problems.raise_if_any()
    organisation = _stripped(frame, "organisation")
    service = _stripped(frame, "service")
    period = _stripped(frame, "period")
    response = _stripped(frame, "response")
    count = _stripped(frame, "count")
    dimension = [d.lower() or ALL for d in _stripped(frame, "dimension")]
    group = _stripped(frame, "group")
    out: dict[str, list] = {k: [] for k in ("row", "organisation", "service", "period",
                                             "response", "dimension", "group", "count")}
    seen: dict[tuple, int] = {}
    for i in range(frame.height):
        row = i + first_row
        ok = True
        for column, values, what in (("organisation", organisation, "the ODS code"),
                                     ("service", service, "the service's name")):
            if not values[i]:
                problems.add(f"{column} is empty", row=row, column=column, expected=what)
                ok = False
        if not PERIOD_PATTERN.match(period[i]):
            problems.add(f"'{period[i][:20]}' is not a month in the form YYYY-MM", row=row,
                         column="period", expected="a month such as 2026-04")
            ok = False
        answer = ANSWER_INDEX.get(normalise_answer(response[i]))
        if answer is None:
            problems.add(f"unknown response '{response[i][:40]}'", row=row, column="response",
                         expected="one of: " + ", ".join(FFT_ANSWERS))
            ok = False
        number = _whole_number(count[i])
        if number is None:
            problems.add(f"count '{count[i][:20]}' is not a whole number", row=row,
                         column="count", expected="a whole number of people, 0 or more")
            ok = False
        elif number < 0:
            problems.add("count is negative", row=row, column="count",
                         expected="a whole number of people, 0 or more")
            ok = False
        dim = dimension[i]
        code = None
        if dim != ALL and dim not in DIMENSIONS:
            problems.add(f"'{dim[:40]}' is not an equity dimension", row=row,
                         column="dimension", expected="all, or one of " + ", ".join(DIMENSIONS))
            ok = False
        else:
            code = group_code(dim, group[i])
            if code is None:
                expected = ("all (or blank) on a total row" if dim == ALL else
                            "one of " + ", ".join(list(DIMENSIONS[dim].codes)[:12]))
                problems.add(f"'{group[i][:40]}' is not a group of {dim}", row=row,
                             column="group", expected=expected)
                ok = False
        if not ok:
            continue
        key = (organisation[i].upper(), service[i].casefold(), period[i], dim, code, answer)
        if key in seen:
            problems.add(f"repeats row {seen[key]} (same service, month, group and answer)",
                         row=row, column="response", expected="each answer once per group")
            continue
        seen[key] = row
        for name, value in (("row", row), ("organisation", organisation[i].upper()),
                            ("service", service[i]), ("period", period[i]),
                            ("response", FFT_ANSWERS[answer]), ("dimension", dim),
                            ("group", code), ("count", number)):
            out[name].append(value)
    problems.raise_if_any()
    return pl.DataFrame(out, schema={"row": pl.Int64, "organisation": pl.String,
                                     "service": pl.String, "period": pl.String,
                                     "response": pl.String, "dimension": pl.String,
                                     "group": pl.String, "count": pl.Int64})


def breakdown_problems(counts: pl.DataFrame) -> list[tuple[int | None, str, str]]:
    """Check that every breakdown fits inside its total.

    ``counts`` holds totals and breakdowns together (``service_id``, ``period``,
    ``response``, ``dimension``, ``group``, ``count`` and ``row``: the file row, or null
    for a figure already stored). For each service, month and dimension there must be a
    total, and for each answer the groups must not add up to more than the total (the
    difference is the people whose group is not known).

    Returns ``(row, column, message)`` for each problem, at the first file row concerned.
    """
    totals = (counts.filter(pl.col("dimension") == ALL)
              .select("service_id", "period", "response", pl.col("count").alias("total")))
    have_total = totals.select("service_id", "period").unique()
    parts = counts.filter(pl.col("dimension") != ALL)
    problems: list[tuple[int | None, str, str]] = []
    orphans = parts.join(have_total, on=["service_id", "period"], how="anti")
    if orphans.height:
        first = orphans.sort("row", nulls_last=True).row(0, named=True)
        message = (f"no total for this service in {first['period']}: add its rows with "
                   "dimension 'all'")
        problems.append((first["row"], "dimension", message))
    sums = (parts.group_by("service_id", "period", "response", "dimension")
            .agg(pl.col("count").sum().alias("sum"), pl.col("row").min().alias("row"))
            .join(totals, on=["service_id", "period", "response"], how="left")
            .with_columns(pl.col("total").fill_null(0))
            .filter(pl.col("sum") > pl.col("total"))
            .join(have_total, on=["service_id", "period"], how="semi")
            .sort("row", nulls_last=True))
    for item in sums.head(20).iter_rows(named=True):
        message = (f"the {item['dimension']} groups add up to {item['sum']} "
                   f"'{item['response']}' answers in {item['period']}, more than the "
                   f"total of {item['total']}"
                   + (" (the groups are already stored: import them again with the total)"
                      if item["row"] is None else ""))
        problems.append((item["row"], "count", message))
    return problems


def validate_activity_rows(frame: pl.DataFrame, *, source: str | None = None,
                           first_row: int = 2, limit: int = 100) -> pl.DataFrame:
    """Check a table of activity figures.

    Returns ``row``, ``organisation``, ``service`` (empty for the organisation's own
    figure), ``period``, ``measure``, ``value``, ``lower``, ``upper``.
    """
    _missing(frame, ACTIVITY_COLUMNS, source)
    problems = ProblemCollector(file=source, limit=limit)
    texts = {c: _stripped(frame, c) for c in
             ("organisation", "service", "period", "measure", "value", "lower", "upper")}
    out: dict[str, list] = {k: [] for k in ("row", "organisation", "service", "period",
                                             "measure", "value", "lower", "upper")}
    seen: dict[tuple, int] = {}
    for i in range(frame.height):
        row = i + first_row
        ok = True
        if not texts["organisation"][i]:
            problems.add("organisation is empty", row=row, column="organisation",
                         expected="the ODS code")
            ok = False
        if not PERIOD_PATTERN.match(texts["period"][i]):
            problems.add(f"'{texts['period'][i][:20]}' is not a month in the form YYYY-MM",
                         row=row, column="period", expected="a month such as 2026-04")
            ok = False
        measure = texts["measure"][i]
        if not MEASURE_NAME.match(measure):
            problems.add(f"'{measure[:40]}' is not a measure name", row=row, column="measure",
                         expected="lower-case letters, digits and _, such as "
                                  "rtt_within_18_weeks_pct")
            ok = False
        numbers = {}
        for column in ("value", "lower", "upper"):
            text = texts[column][i]
            if not text and column != "value":
                numbers[column] = None
                continue
            try:
                if "," in text and not THOUSANDS.match(text):
                    raise ValueError  # "63,2" is not 632: a decimal comma is refused
                number = float(text.replace(",", ""))
                if not math.isfinite(number):
                    raise ValueError
                numbers[column] = number
            except ValueError:
                problems.add(f"'{text[:20]}' is not a number", row=row, column=column,
                             expected="a number, such as 87.5")
                ok = False
        if ok and numbers["lower"] is not None and numbers["upper"] is not None \
                and not numbers["lower"] <= numbers["value"] <= numbers["upper"]:
            problems.add("the value is outside its interval", row=row, column="value",
                         expected="lower <= value <= upper")
            ok = False
        if not ok:
            continue
        key = (texts["organisation"][i].upper(), texts["service"][i].casefold(),
               texts["period"][i], measure)
        if key in seen:
            problems.add(f"repeats row {seen[key]} (same service, month and measure)",
                         row=row, column="measure", expected="each measure once per month")
            continue
        seen[key] = row
        for name, value in (("row", row), ("organisation", key[0]),
                            ("service", texts["service"][i]), ("period", key[2]),
                            ("measure", measure), ("value", numbers["value"]),
                            ("lower", numbers["lower"]), ("upper", numbers["upper"])):
            out[name].append(value)
    problems.raise_if_any()
    return pl.DataFrame(out, schema={"row": pl.Int64, "organisation": pl.String,
                                     "service": pl.String, "period": pl.String,
                                     "measure": pl.String, "value": pl.Float64,
                                     "lower": pl.Float64, "upper": pl.Float64})


def file_kind(frame: pl.DataFrame) -> str:
    """``activity`` if the table has ``measure`` and ``value`` columns, else ``responses``."""
    return "activity" if {"measure", "value"} <= set(frame.columns) else "responses"
