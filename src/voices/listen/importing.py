"""Reading and checking FFT exports and survey files (CSV, XLSX) through a saved mapping.

Each supplier lays its file out differently, so a **mapping** says which of the supplier's
columns holds each field Voices needs (``response_id``, ``date``, ``rating``, the comments,
and optional equality answers). :func:`read_table` reads the file; :func:`check_rows` checks
every row against the mapping and returns clean rows or raises one
:class:`~voices.errors.ValidationError` listing every problem with its file, row and column.
Nothing here touches the database: :func:`voices.listen.service.import_file` stores the
checked rows in one transaction, skipping response ids already imported for the supplier.

Encodings: a CSV is read as UTF-8 (with or without a byte-order mark) or UTF-16 with a
byte-order mark — the only cases that are unambiguous. A file in any other encoding is
refused with the row and byte where it stops being UTF-8, unless the mapping names the
encoding (for example ``windows-1252``), in which case that is used and nothing is guessed.

Dates: ISO (``2025-03-14``, with or without a time), UK day-first (``14/03/2025``), Excel
date cells, or the mapping's own ``date_format`` (``strptime`` codes).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voices.errors import ProblemCollector, ValidationError
from voices.listen.postcodes import Postcode, parse_postcode
from voices.listen.questions import FFT_ANSWERS, equality_answer, fft_answer

#: The fields a mapping can fill, with what each means (shown on the mapping page and CLI).
FIELDS: dict[str, str] = {
    "response_id": "The supplier's id for each response (so importing a file twice adds "
                   "nothing)",
    "date": "When the feedback was given",
    "service": "The service: its short link, its name, or 'ODS code: name' (not needed if "
               "the mapping is for one service)",
    "rating": "The answer to the Friends and Family Test question",
    "what_good": "The answer to 'What was good?'",
    "could_improve": "The answer to 'What could be better?'",
    "comment": "A single free-text comment (when the survey asks one question)",
    "age": "Age in years, or an age band",
    "sex": "Sex",
    "ethnic_group": "Ethnic group (or NHS ethnic category code A to S)",
    "disability": "Disability or long-term condition (yes or no)",
    "carer": "Carer (yes or no)",
    "postcode": "Postcode, or its first part",
}
REQUIRED = ("response_id", "date")
COMMENT_FIELDS = {"what_good": "what_good", "could_improve": "could_improve",
                  "comment": "other"}
EQUALITY_FIELDS = {"age": "age_band", "sex": "sex", "ethnic_group": "ethnic_group",
                   "disability": "disability", "carer": "carer"}
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_ID_CHARS = 120


@dataclass(frozen=True)
class ColumnMapping:
    """A supplier's column mapping (see :data:`FIELDS`).

    Parameters
    ----------
    name:
        The mapping's name, used on the command line: ``--mapping NAME``.
    supplier:
        Who sends the files; response ids are unique per supplier.
    columns:
        Field → the supplier's column header (matched ignoring case and spaces).
    rating_values:
        The supplier's own words for FFT answers, e.g. ``{"Extremely likely": "Very good"}``.
    date_format:
        ``strptime`` codes for the date column if it is neither ISO nor day/month/year.
    encoding:
        The text encoding of the supplier's CSV files, if not UTF-8.
    service:
        The service's short link, when every row is for one service.
    """

    name: str
    supplier: str
    columns: Mapping[str, str]
    rating_values: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str | None = None
    service: str | None = None


def check_mapping(mapping: ColumnMapping) -> ColumnMapping:
    """Refuse a mapping that cannot work, naming every problem; return it tidied."""
    problems = ProblemCollector(file=f"mapping '{mapping.name}'")
    name = (mapping.name or "").strip()
    if not name or len(name) > 80 or not all(c.isalnum() or c in "-_." for c in name):
        problems.add("The name must be 1 to 80 letters, numbers, dots, hyphens or underscores",
                     column="name", expected="a name like nhs-survey-co")
    supplier = (mapping.supplier or "").strip()
    if not supplier or len(supplier) > 80:
        problems.add("Enter the supplier's name (up to 80 characters)", column="supplier")
    columns = {k: str(v).strip() for k, v in mapping.columns.items() if v and str(v).strip()}
    for key in columns:
        if key not in FIELDS:
            problems.add(f"'{key}' is not a field Voices imports", column=key,
                         expected="one of " + ", ".join(FIELDS))
    for key in REQUIRED:
        if key not in columns:
            problems.add(f"Say which column holds {FIELDS[key][0].lower()}{FIELDS[key][1:]}",
                         column=key)
    if not any(k in columns for k in ("rating", *COMMENT_FIELDS)):
        problems.add("Say which column holds the rating or a comment", column="rating")
    if "service" not in columns and not mapping.service:
        problems.add("Say which column holds the service, or choose the one service this "
                     "mapping is for", column="service")
    rating_values = {}
    for word, answer in (mapping.rating_values or {}).items():
        if answer not in FFT_ANSWERS:
            problems.add(f"'{answer}' is not a Friends and Family Test answer",
                         column="rating_values", expected=", ".join(FFT_ANSWERS))
        elif str(word).strip():
            rating_values[str(word).strip()] = answer
    date_format = (mapping.date_format or "").strip() or None
    if date_format and ("%" not in date_format or len(date_format) > 40):
        problems.add("The date format must use strptime codes, like %d.%m.%Y",
                     column="date_format")
    encoding = (mapping.encoding or "").strip() or None
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            problems.add(f"'{encoding[:30]}' is not a text encoding Python knows",
                         column="encoding", expected="for example utf-8 or windows-1252")
    problems.raise_if_any()
    return ColumnMapping(name, supplier, columns, rating_values, date_format, encoding,
                         (mapping.service or "").strip() or None)


# ------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Table:
    """A file's cells: the header and the data rows (values as read)."""

    file: str
    header: list[str]
    rows: list[list[object]]
    encoding: str | None = None


def decode_csv(raw: bytes, *, file: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode a CSV file's bytes; returns (text, the encoding used).

    UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark are read;
    anything else is refused with a located message unless ``encoding`` is given.
    """
    if encoding:
        try:
            return raw.decode(encoding).lstrip("\ufeff"), encoding
        except UnicodeDecodeError as exc:
            raise _undecodable(raw, exc, file, encoding) from None
    if raw.startswith(codecs.BOM_UTF8):
        chosen = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        chosen = "utf-16"
    else:
        if b"\x00" in raw[:4096]:
            raise ValidationError("The file looks like UTF-16 without a byte-order mark, or is "
                                  "not a text file", file=file, row=1,
                                  expected="a CSV file saved as UTF-8",
                                  code="wrong_encoding")
        chosen = "utf-8"
    try:
        return raw.decode(chosen).lstrip("\ufeff"), chosen
    except UnicodeDecodeError as exc:
        raise _undecodable(raw, exc, file, chosen) from None


def _undecodable(raw: bytes, exc: UnicodeDecodeError, file: str, encoding: str
                 ) -> ValidationError:
    row = raw[: exc.start].count(b"\n") + 1
    return ValidationError(
        f"The file is not {encoding} text: byte 0x{raw[exc.start]:02x} at position "
        f"{exc.start + 1} cannot be read", file=file, row=row,
        expected="a CSV file saved as UTF-8; if the supplier uses another encoding, set it on "
                 "the mapping (for example windows-1252)", code="wrong_encoding")


def read_table(path: str | Path, *, encoding: str | None = None,
               display_name: str | None = None) -> Table:
    """Read a CSV or XLSX file into a :class:`Table` (first sheet of a workbook)."""
    path = Path(path)
    name = display_name or path.name
    if not path.is_file():
        raise ValidationError("The file was not found", file=name, code="file_not_found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValidationError("The file is too large", file=name,
                              expected=f"at most {MAX_FILE_BYTES // 2**20} MB",
                              code="file_too_large")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, name)
    if suffix in (".csv", ".txt"):
        text, used = decode_csv(path.read_bytes(), file=name, encoding=encoding)
        return parse_csv(text, file=name, encoding=used)
    raise ValidationError(f"Voices cannot read '{suffix or 'no extension'}' files", file=name,
                          expected="a .csv or .xlsx file", code="unsupported_file")


def parse_csv(text: str, *, file: str, encoding: str | None = None) -> Table:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValidationError(f"The file is not a readable CSV file ({exc})", file=file,
                              expected="comma-separated values", code="unreadable_file") from None
    if not rows or not any(str(c).strip() for c in rows[0]):
        raise ValidationError("The file is empty", file=file, row=1, expected="a header row",
                              code="empty_file")
    return Table(file, [str(h).strip() for h in rows[0]], [list(r) for r in rows[1:]], encoding)


def _read_xlsx(path: Path, name: str) -> Table:
    try:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise ValidationError(f"The file is not a readable Excel workbook "
                              f"({type(exc).__name__})", file=name,
                              expected="an .xlsx workbook", code="unreadable_file") from None
    try:
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    if not rows or not any(c is not None and str(c).strip() for c in rows[0]):
        raise ValidationError("The workbook's first sheet is empty", file=name, row=1,
                              expected="a header row", code="empty_file")
    header = ["" if h is None else str(h).strip() for h in rows[0]]
    return Table(name, header, rows[1:], None)


# ------------------------------------------------------------------------ checking


@dataclass(frozen=True)
class ImportRow:
    """One checked row, ready to store."""

    row: int
    response_id: str
    service_id: int
    submitted_at: dt.datetime
    rating: str | None
    comments: dict[str, str]
    equality: dict[str, str]
    postcode: Postcode | None


def _fold(text: str) -> str:
    return " ".join(str(text).casefold().split())


def parse_date(value: object, *, date_format: str | None = None) -> dt.datetime | None:
    """A date (and time) from a cell; None if it cannot be read. Times are taken as UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, 12, tzinfo=dt.UTC)
    text = str(value).strip()
    formats = [date_format] if date_format else [
        "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
        "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d-%m-%Y", "%d.%m.%Y"]
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        if parsed.hour == parsed.minute == parsed.second == 0 and "%H" not in fmt:
            parsed = parsed.replace(hour=12)
        return parsed.replace(tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_rows(table: Table, mapping: ColumnMapping, *,
               find_service: Callable[[str], int | None], default_service: int | None = None,
               now: dt.datetime | None = None) -> list[ImportRow]:
    """Check every row of ``table`` against ``mapping``.

    Parameters
    ----------
    table:
        From :func:`read_table`.
    mapping:
        A mapping that passed :func:`check_mapping`.
    find_service:
        Turns a service cell (short link, name, or "ODS: name") into a service id, or None.
    default_service:
        The service id for every row when the mapping has no service column.
    now:
        The time now (dates after it are refused).

    Returns
    -------
    list[ImportRow]
        One per non-blank data row, in file order.

    Raises
    ------
    ValidationError
        Listing every problem (up to 100), each with file, row (the header is row 1) and the
        supplier's column name.
    """
    now = now or dt.datetime.now(dt.UTC)
    problems = ProblemCollector(file=table.file)
    index: dict[str, int] = {}
    folded = [_fold(h) for h in table.header]
    for key, header in mapping.columns.items():
        if _fold(header) in folded:
            index[key] = folded.index(_fold(header))
        else:
            problems.add(f"The column '{header}' for {key} is not in the file", row=1,
                         column=header, expected="the column names the mapping gives")
    problems.raise_if_any()
    out: list[ImportRow] = []
    seen: dict[str, int] = {}
    n_cols = len(table.header)
    for r, raw in enumerate(table.rows, start=2):
        if not any(_cell(c).strip() for c in raw):
            continue
        if len(raw) > n_cols and any(_cell(c).strip() for c in raw[n_cols:]):
            problems.add(f"The row has {len(raw)} cells but the header has {n_cols}", row=r,
                         expected="the same number of cells as the header")

        def get(key: str, raw=raw) -> object:
            k = index.get(key)
            return raw[k] if k is not None and k < len(raw) else None

        def where(key: str) -> str:
            return mapping.columns[key]

        before = len(problems.problems)
        response_id = _cell(get("response_id")).strip()
        if not response_id:
            problems.add("The response id is blank", row=r, column=where("response_id"),
                         expected="an id for every response")
        elif len(response_id) > MAX_ID_CHARS:
            problems.add("The response id is too long", row=r, column=where("response_id"),
                         expected=f"at most {MAX_ID_CHARS} characters")
        elif response_id in seen:
            problems.add(f"The response id '{response_id}' is also on row {seen[response_id]}",
                         row=r, column=where("response_id"), expected="a different id on each row")
        else:
            seen[response_id] = r
        service_id = default_service
        if "service" in index:
            text = _cell(get("service")).strip()
            found = find_service(text) if text else None
            if found is None and (text or default_service is None):
                problems.add(f"No service matches '{text[:60]}'" if text else
                             "The service is blank", row=r, column=where("service"),
                             expected="a service's short link or name")
            service_id = found or default_service
        submitted = parse_date(get("date"), date_format=mapping.date_format)
        if submitted is None:
            problems.add(f"'{_cell(get('date'))[:30]}' is not a date", row=r, column=where("date"),
                         expected=f"a date like {mapping.date_format or '2025-03-14 or 14/03/2025'}")
        elif submitted > now + dt.timedelta(days=1):
            problems.add("The date is in the future", row=r, column=where("date"),
                         expected="the date the feedback was given")
        rating = None
        if "rating" in index:
            try:
                rating = fft_answer(get("rating"), extra=dict(mapping.rating_values), row=r,
                                    column=where("rating"), file=table.file)
            except ValidationError as exc:
                problems.problems.extend(exc.problems)
        comments = {}
        for key, question in COMMENT_FIELDS.items():
            if key in index:
                text = _cell(get(key))
                if text.strip():
                    comments[question] = text
        equality = {}
        for key, stored in EQUALITY_FIELDS.items():
            if key in index:
                try:
                    value = equality_answer(stored, get(key), row=r, column=where(key),
                                            file=table.file)
                except ValidationError as exc:
                    problems.problems.extend(exc.problems)
                    continue
                if value is not None:
                    equality[stored] = value
        postcode = None
        if "postcode" in index:
            try:
                postcode = parse_postcode(_cell(get("postcode")), row=r,
                                          column=where("postcode"), file=table.file)
            except ValidationError as exc:
                problems.problems.extend(exc.problems)
        if rating is None and not comments and len(problems.problems) == before:
            problems.add("The row has no rating and no comment", row=r,
                         column=where("rating") if "rating" in index else None,
                         expected="a rating or a comment")
        if len(problems.problems) >= problems.limit:
            break
        if len(problems.problems) == before:
            out.append(ImportRow(r, response_id, service_id, submitted, rating, comments,
                                 equality, postcode))
    del problems.problems[problems.limit:]
    problems.raise_if_any()
    return out


def mapping_from_pairs(pairs: Sequence[str], *, what: str = "--column") -> dict[str, str]:
    """``["rating=Q1 score", ...]`` → ``{"rating": "Q1 score"}`` (for the command line)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"'{pair}' is not FIELD=VALUE", column=what,
                                  expected="for example rating=Q1 score")
        out[key.strip()] = value.strip()
    return out
