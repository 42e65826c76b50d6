"""Read and check a file of feedback comments (CSV or XLSX).

:func:`read_comments` returns a :class:`Comments` table or refuses the file with a
:class:`~voices.errors.ValidationError` listing every problem with its row and column:
wrong encoding, missing columns, unknown rating labels, label cells that are not 0/1.
Nothing is half-read.

Columns (matched ignoring case and spaces; the QDC export's names also work):

=================  ======================================================  ==========
column             meaning                                                 needed
=================  ======================================================  ==========
comment            the free text (``FFT answer``)                          yes
id                 the comment's id (``Comment ID``)                       no
respondent         who wrote it (``Respondent ID``)                         no
question           the question it answers (``FFT question``)              no
rating             FFT rating: 1–6 or "Very good" … "Don't know"           no
sentiment          coded sentiment 1 (very positive) – 5 (very negative)   no
<label columns>    one 0/1 column per label of the chosen framework        to train
=================  ======================================================  ==========
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from voices import exports
from voices.errors import ProblemCollector, ValidationError

RATING_WORDS = {
    "very good": "1", "good": "2", "neither good nor poor": "3", "poor": "4", "very poor": "5",
    "don't know": "6", "dont know": "6", "don’t know": "6",
}
RATING_CODES = {"1", "2", "3", "4", "5", "6", "7"}  # 7: the QDC export's "not answered"
_ALIASES = {
    "comment": ("comment", "fft answer", "text", "comment text", "free text", "answer"),
    "id": ("id", "comment id", "response id"),
    "respondent": ("respondent", "respondent id"),
    "question": ("question", "fft question"),
    "rating": ("rating", "fft categorical answer", "fft rating", "score"),
    "sentiment": ("sentiment", "comment sentiment"),
}
MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass
class Comments:
    """A checked table of comments. Lists are aligned; optional columns may be all None."""

    file: str
    comment: list[str]
    id: list[str]
    respondent: list[str | None]
    question: list[str | None]
    rating: list[str | None]
    sentiment: list[int | None]
    label_columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.comment)

    def label_matrix(self, labels: Sequence[str]) -> np.ndarray:
        """0/1 matrix for ``labels`` (a label missing from the file is refused)."""
        missing = [lab for lab in labels if lab not in self.label_columns]
        if missing:
            raise ValidationError(f"no column for {len(missing)} label(s) of the framework, "
                                  f"such as '{missing[0]}'", file=self.file, column=missing[0],
                                  expected="one 0/1 column per label")
        if not labels:
            return np.zeros((len(self), 0), dtype=np.int8)
        return np.column_stack([self.label_columns[lab] for lab in labels]).astype(np.int8)


def _key(name: str) -> str:
    return " ".join(str(name).strip().casefold().split())


def _decode(path: Path, raw: bytes, encoding: str) -> str:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"the file is not {encoding} text: byte 0x{raw[exc.start]:02x} cannot be read",
            file=str(path), row=row,
            expected=f"a CSV saved as UTF-8 (or give the file's encoding, e.g. --encoding cp1252)",
        ) from None
    return text.lstrip("\ufeff")


def _rows_from_csv(path: Path, encoding: str) -> list[list[str]]:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096] and not encoding.lower().startswith("utf-16"):
        raise ValidationError("the file looks like UTF-16 or binary data", file=str(path), row=1,
                              expected="a CSV saved as UTF-8")
    text = _decode(path, raw, encoding)
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValidationError(f"not a readable CSV file ({exc})", file=str(path),
                              expected="comma-separated values") from None


def _rows_from_xlsx(path: Path) -> list[list[str]]:
    try:
        import openpyxl
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise ValidationError(f"not a readable Excel file ({exc.__class__.__name__})",
                              file=str(path), expected="an .xlsx workbook") from None
    sheet = book.worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def read_comments(path: str | Path, *, encoding: str = "utf-8", labels: Sequence[str] = (),
                  require_labels: bool = False) -> Comments:
    """Read a comments file and check every row.

    Parameters
    ----------
    path:
        A ``.csv`` or ``.xlsx`` file.
    encoding:
        Text encoding of a CSV file (UTF-8 unless said otherwise).
    labels:
        The framework's labels; matching columns are read as 0/1 (blank is 0).
    require_labels:
        Refuse the file unless every label has a column (for training and evaluation).

    Returns
    -------
    Comments

    Raises
    ------
    ValidationError
        Every problem, with row (1 is the header) and column.
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError("file not found", file=str(path))
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValidationError("the file is too large", file=str(path),
                              expected=f"at most {MAX_FILE_BYTES // 2**20} MB")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows = _rows_from_xlsx(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        rows = _rows_from_csv(path, encoding)
    else:
        raise ValidationError(f"cannot read '{suffix or 'no extension'}' files", file=str(path),
                              expected="a .csv or .xlsx file")
    return check_rows(rows, file=str(path), labels=labels, require_labels=require_labels)


def check_rows(rows: list[list[str]], *, file: str = "input", labels: Sequence[str] = (),
               require_labels: bool = False) -> Comments:
    """Check rows (first row the header) and build :class:`Comments` (see :func:`read_comments`)."""
    problems = ProblemCollector(file=file)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ValidationError("the file is empty", file=file, row=1, expected="a header row")
    header = [str(h) for h in rows[0]]
    keys = [_key(h) for h in header]
    where: dict[str, int] = {}
    for field_name, aliases in _ALIASES.items():
        for k, key in enumerate(keys):
            if key in aliases and field_name not in where:
                where[field_name] = k
    if "comment" not in where:
        raise ValidationError("no comment column", file=file, row=1,
                              expected="a column called 'comment' (or 'FFT answer', 'text')")
    label_index = {lab: keys.index(_key(lab)) for lab in labels if _key(lab) in keys}
    if require_labels:
        for lab in labels:
            if lab not in label_index:
                problems.add(f"no column for label '{lab}'", row=1, column=lab,
                             expected="one 0/1 column per label of the framework")
        problems.raise_if_any()
    n_cols = len(header)
    out = Comments(file, [], [], [], [], [], [])
    label_values = {lab: [] for lab in label_index}
    seen_ids: dict[str, int] = {}
    for r, row in enumerate(rows[1:], start=2):
        if not any(str(c).strip() for c in row):
            continue
        if len(row) > n_cols and any(str(c).strip() for c in row[n_cols:]):
            problems.add(f"has {len(row)} cells but the header has {n_cols}", row=r,
                         expected="the same number of cells as the header")
        cell = lambda k: str(row[k]) if k < len(row) else ""  # noqa: E731
        get = lambda name: cell(where[name]).strip() if name in where else ""  # noqa: E731
        comment_id = get("id") or str(r - 1)
        if comment_id in seen_ids:
            problems.add(f"comment id '{comment_id}' is also on row {seen_ids[comment_id]}", row=r,
                         column=header[where["id"]] if "id" in where else None, expected="unique ids")
        seen_ids[comment_id] = r
        rating = get("rating")
        if rating:
            code = RATING_WORDS.get(_key(rating), rating if rating in RATING_CODES else None)
            if code is None and rating.endswith(".0") and rating[:-2] in RATING_CODES:
                code = rating[:-2]
            if code is None:
                problems.add(f"unknown rating '{rating[:40]}'", row=r, column=header[where["rating"]],
                             expected="1-6 or Very good, Good, Neither good nor poor, Poor, "
                                      "Very poor, Don't know")
            rating = code
        sentiment = get("sentiment")
        sentiment_value = None
        if sentiment:
            s = sentiment[:-2] if sentiment.endswith(".0") else sentiment
            if s not in {"1", "2", "3", "4", "5"}:
                problems.add(f"unknown sentiment '{sentiment[:40]}'", row=r,
                             column=header[where["sentiment"]], expected="1 to 5 or blank")
            else:
                sentiment_value = int(s)
        for lab, k in label_index.items():
            v = cell(k).strip()
            v = v[:-2] if v.endswith(".0") else v
            if v not in ("", "0", "1"):
                problems.add(f"'{v[:20]}' is not 0 or 1", row=r, column=lab, expected="0, 1 or blank")
            label_values[lab].append(1 if v == "1" else 0)
        out.comment.append(cell(where["comment"]))
        out.id.append(comment_id)
        out.respondent.append(get("respondent") or None)
        out.question.append(get("question") or None)
        out.rating.append(rating or None)
        out.sentiment.append(sentiment_value)
    problems.raise_if_any()
    out.label_columns = {lab: np.array(v, dtype=np.int8) for lab, v in label_values.items()}
    return out


def combine_comments(parts: Sequence[Comments]) -> Comments:
    """One table from several files' comments, in order (for example the original training
    file plus the comments coders have reviewed, from ``voices listen export-training``).

    Label columns are kept where every part has them. A comment id found in two files is
    refused, naming both files, since a coder's correction must point at one comment.
    """
    if not parts:
        raise ValidationError("no comments files given", column="--data", expected="a file")
    if len(parts) == 1:
        return parts[0]
    where: dict[str, str] = {}
    for part in parts:
        for cid in part.id:
            if cid in where:
                raise ValidationError(f"comment id '{cid[:40]}' is also in {where[cid]}",
                                      file=part.file, column="id",
                                      expected="ids that are unique across the files")
            where[cid] = part.file
    shared = [lab for lab in parts[0].label_columns
              if all(lab in part.label_columns for part in parts)]
    return Comments(
        " + ".join(part.file for part in parts),
        *([value for part in parts for value in getattr(part, name)]
          for name in ("comment", "id", "respondent", "question", "rating", "sentiment")),
        label_columns={lab: np.concatenate([part.label_columns[lab] for part in parts])
                       for lab in shared})


def write_rows(path: str | Path, header: list[str], rows: list[list]) -> Path:
    """Write a CSV (UTF-8) or XLSX file, chosen by the extension; comment text is written
    formula-safe (:mod:`voices.exports`), since these files are opened in spreadsheets."""
    return exports.write_rows(path, header, rows, sheet="comments")
