"""Read and check a file of Friends and Family Test responses (CSV or Parquet).

Columns (names are exact, lower case):

========================  ==========================================================
``service``               required: the ward, clinic or team (text)
``organisation``          required: the provider, e.g. an ODS code such as ``RBD``
``period``                required: month as ``YYYY-MM`` (a date column also works)
``response``              required: one of the six FFT answers (case does not matter)
``count``                 optional: how many responses the row stands for (whole
                          number, 0 or more; default 1, so a file can hold one row
                          per response or one row per group)
``icb``                   optional: integrated care board; adds an ICB level
equity columns            optional, any of ``imd_decile`` (1-10, 1 = most deprived),
                          ``imd_quintile``, ``ethnic_group``, ``ethnic_category``,
                          ``age_band``, ``sex``, ``disability``, ``learning_disability``,
                          ``carer``, ``interpreter_needed``: codes or labels from
                          :mod:`voices.equity.dimensions`; blank means not known
========================  ==========================================================

Anything wrong is refused with the file, the row and the column named, and every problem
is reported at once (up to 100). Rows are numbered as a spreadsheet shows them: in a CSV
the header is row 1 and the first response row 2; in Parquet the first record is row 1.

The checks work on each column's distinct values, so a file of ten million rows is
checked in about the time it takes to read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from voices.equity.dimensions import DIMENSIONS, NOT_KNOWN, Dimension, yes_no
from voices.errors import ProblemCollector, ValidationError
from voices.measure.fft import ANSWER_INDEX, FFT_ANSWERS, normalise_answer

REQUIRED = ("service", "organisation", "period", "response")
OPTIONAL = ("count", "icb")
EQUITY_COLUMNS = tuple(DIMENSIONS)
PERIOD_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ANSWER_ENUM = pl.Enum(list(FFT_ANSWERS))


@dataclass(frozen=True)
class Responses:
    """A checked table of responses, ready for :func:`voices.measure.compute.compute_measures`.

    ``frame`` has the columns ``organisation``, ``service``, ``icb`` (if given) and
    ``period`` (each an Enum of its distinct values in order), ``response`` (Enum of the
    six answers), ``count`` (Int64) and one Enum column per equity dimension, whose
    categories are the dimension's codes in order.
    """

    frame: pl.DataFrame
    equity: tuple[str, ...]
    source: str | None = None

    @property
    def has_icb(self) -> bool:
        return "icb" in self.frame.columns

    @property
    def periods(self) -> list[str]:
        return list(self.frame.schema["period"].categories)


def read_responses(path: str | Path) -> Responses:
    """Read a CSV or Parquet file of responses and check it (see the module docstring).

    Raises
    ------
    ValidationError
        If the file cannot be read or any row or column is wrong.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise ValidationError("file not found", file=name, expected="a CSV or Parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(path, glob=False)
            first_row = 1
        elif suffix in (".csv", ".txt"):
            frame = pl.read_csv(path, infer_schema=False, glob=False)
            first_row = 2
        else:
            raise ValidationError(f"cannot read '{suffix or 'no extension'}' files", file=name,
                                  expected="a .csv or .parquet file")
    except (pl.exceptions.PolarsError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"could not read the file: {first_line[:200]}", file=name,
                              expected="a readable UTF-8 CSV or Parquet file") from None
    return validate_responses(frame, source=name, first_row=first_row)


def _text(frame: pl.DataFrame, column: str) -> pl.Expr:
    dtype = frame.schema[column]
    expr = pl.col(column)
    if dtype != pl.String:
        expr = expr.cast(pl.String)
    return expr


def _period_text(frame: pl.DataFrame) -> pl.Expr:
    dtype = frame.schema["period"]
    if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
        return pl.col("period").dt.strftime("%Y-%m")
    return _text(frame, "period").str.strip_chars()


def equity_code(dim: Dimension, value: str | None) -> str | None:
    """The dimension's code for one distinct value, or None if it is not recognised."""
    try:
        return dim.validate(value)
    except ValidationError:
        pass
    if set(dim.codes) >= {"yes", "no"}:
        code = yes_no(value)
        if code != NOT_KNOWN or str(value).strip().lower() in ("not known", "unknown"):
            return code
    if dim.name in ("imd_decile", "imd_quintile"):
        text = str(value).strip()
        if re.fullmatch(r"\d+(\.0+)?", text):
            number = str(int(float(text)))
            return number if number in dim.codes else None
    return None


class _Column:
    """One text column seen through its distinct values.

    ``values`` are the distinct raw values (None for missing); :meth:`recode` turns every
    row into a target Enum through a lookup table over those values, so the rows are
    hashed once, whatever the number of checks.
    """

    def __init__(self, frame: pl.DataFrame, column: str, expr: pl.Expr | None = None):
        self.name = column
        series = frame.select((expr if expr is not None else _text(frame, column))
                              .alias(column)).to_series()
        self.values: list[str | None] = series.unique().to_list()
        known = [v for v in self.values if v is not None]
        codes = series.cast(pl.Enum(known)).to_physical()
        self._codes = codes.fill_null(len(known)).to_numpy() if codes.null_count() \
            else codes.to_numpy()
        self._known = known

    def bad_rows(self, bad: list[str | None], first_row: int, limit: int) -> list[int]:
        index = {v: i for i, v in enumerate(self._known)}
        wanted = [index.get(v, len(self._known)) if v is not None else len(self._known)
                  for v in bad]
        rows = np.flatnonzero(np.isin(self._codes, wanted))[:limit]
        return [int(r) + first_row for r in rows]

    def recode(self, mapping: dict, categories: list[str], default: str | None = None
               ) -> pl.Series:
        """Every row as ``Enum(categories)``, through ``mapping`` (raw value -> category)."""
        position = {c: i for i, c in enumerate(categories)}
        fallback = position[default] if default is not None else 0
        lut = np.array([position.get(mapping.get(v), fallback) for v in self._known]
                       + [fallback], dtype=np.int64)
        return pl.Series(self.name, categories, dtype=pl.Enum(categories)).gather(
            lut[self._codes])


def validate_responses(frame: pl.DataFrame, *, source: str | None = None,
                       first_row: int = 2, limit: int = 100) -> Responses:
    """Check a responses table and return it in canonical form (see :class:`Responses`).

    Parameters
    ----------
    frame : polars.DataFrame
        The table as read (all-text columns from a CSV, typed columns from Parquet).
    source : str, optional
        File name, for error messages.
    first_row : int
        Number of the first data row in messages (2 for CSV, 1 for Parquet).
    limit : int
        Most problems reported.

    Raises
    ------
    ValidationError
        Listing every problem found (file, row, column, what was expected); nothing is
        returned if anything is wrong.
    """
    problems = ProblemCollector(file=source, limit=limit)
    missing = [c for c in REQUIRED if c not in frame.columns]
    for column in missing:
        problems.add(f"missing column '{column}'", column=column,
                     expected="columns " + ", ".join(REQUIRED))
    problems.raise_if_any()
    if frame.height == 0:
        raise ValidationError("the file has no responses", file=source,
                              expected="at least one row of responses")

    def report(column: _Column, bad: list, message: str, expected: str) -> None:
        if bad:
            room = limit - len(problems.problems)
            for row in column.bad_rows(bad, first_row, room):
                problems.add(message, row=row, column=column.name, expected=expected)

    columns: dict[str, _Column] = {}
    maps: dict[str, dict] = {}
    for name in ("organisation", "service", *(("icb",) if "icb" in frame.columns else ())):
        col = columns[name] = _Column(frame, name)
        maps[name] = {v: v.strip() for v in col.values if v is not None and v.strip()}
        report(col, [v for v in col.values if v is None or not v.strip()],
               f"{name} is empty", f"the name or code of the {name}")

    col = columns["period"] = _Column(frame, "period", _period_text(frame))
    maps["period"] = {v: v for v in col.values if v is not None and PERIOD_PATTERN.match(v)}
    report(col, [v for v in col.values if v not in maps["period"]],
           "period is not a month in the form YYYY-MM", "a month such as 2026-04")

    col = columns["response"] = _Column(frame, "response")
    maps["response"] = {v: FFT_ANSWERS[ANSWER_INDEX[normalise_answer(v)]] for v in col.values
                        if v is not None and normalise_answer(v) in ANSWER_INDEX}
    report(col, [v for v in col.values if v not in maps["response"]], "unknown response",
           "one of: " + ", ".join(FFT_ANSWERS))

    count = pl.lit(1, dtype=pl.Int64)
    if "count" in frame.columns:
        if frame.schema["count"] == pl.String:
            count = _text(frame, "count").str.strip_chars().cast(pl.Int64, strict=False)
            whole = count.is_not_null()
        else:
            number = pl.col("count").cast(pl.Float64, strict=False)
            count = number.cast(pl.Int64, strict=False)
            whole = (number == count.cast(pl.Float64)).fill_null(False)
        checks = frame.select((count.is_null() | ~whole).alias("not_whole"),
                              (count < 0).fill_null(False).alias("negative"))
        for flag_name, message in (("not_whole", "count is not a whole number"),
                                   ("negative", "count is negative")):
            rows = checks[flag_name].arg_true().head(limit - len(problems.problems))
            for row in rows:
                problems.add(message, row=int(row) + first_row, column="count",
                             expected="a whole number of responses, 0 or more")

    equity = tuple(c for c in EQUITY_COLUMNS if c in frame.columns)
    for name in equity:
        dim = DIMENSIONS[name]
        col = columns[name] = _Column(frame, name)
        maps[name] = {v: equity_code(dim, v) for v in col.values if v is not None}
        report(col, [v for v, code in maps[name].items() if code is None],
               f"not a {dim.label.lower()} code",
               "one of " + ", ".join(list(dim.codes)[:12]) + " (or blank if not known)")

    problems.raise_if_any()

    out = []
    for name in ("organisation", "service", "icb", "period"):
        if name in columns:
            out.append(columns[name].recode(maps[name], sorted(set(maps[name].values()))))
    out.append(columns["response"].recode(maps["response"], list(FFT_ANSWERS)))
    out.append(frame.select(count.alias("count")).to_series().extend_constant(
        1, frame.height - 1) if "count" not in frame.columns else
        frame.select(count.alias("count")).to_series())
    for name in equity:
        dim = DIMENSIONS[name]
        out.append(columns[name].recode(maps[name], list(dim.codes), dim.validate(None)))
    canonical = pl.DataFrame(out)
    if "icb" in canonical.columns:
        _check_one_icb_per_service(canonical, source, first_row)
    return Responses(canonical, equity, source)


def _check_one_icb_per_service(frame: pl.DataFrame, source: str | None, first_row: int) -> None:
    spread = (frame.group_by("organisation", "service")
              .agg(pl.col("icb").n_unique().alias("n")).filter(pl.col("n") > 1))
    if spread.height:
        org, svc = spread.row(0)[:2]
        row = frame.select(((pl.col("organisation") == org) & (pl.col("service") == svc))
                           .arg_true().first()).item()
        raise ValidationError(f"service '{svc}' of {org} is listed under more than one ICB",
                              file=source, row=int(row) + first_row, column="icb",
                              expected="one ICB for each service")
