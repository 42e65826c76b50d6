"""Read and write panel-lottery files: quotas, pools, probabilities and published lotteries.

Formats
-------
Quotas, ``sortition-algorithms`` style (``features.csv``)::

    feature,value,min,max
    gender,female,9,20

Extra columns (for example ``min_flex``, ``max_flex``) are ignored. The *Nature* 2021
replication format (``categories.csv``: ``category,feature,min,max``, where *category* is
the feature and *feature* the value) is read too.

Pool (``people.csv``): an id column (``id`` unless told otherwise) and one column per
feature; any other columns (names, contact details) are kept for writing the selected panel
but never used to choose. The *Nature* format (``respondents.csv``: one column per feature,
no id) is read when there is no id column and every column is a feature; people are then
numbered ``p0``, ``p1``, ... in file order.

Values are compared after trimming spaces; case matters. Readers check everything and raise
one :class:`~voices.errors.ValidationError` listing every problem (file, row, column).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from voices.errors import ProblemCollector, ValidationError
from voices.involve.sortition_pool import Pool, Quotas, ValueQuota


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and numbered, non-blank body rows of a CSV file (header is row 1)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError("file not found", file=name, expected="a CSV file") from None
    except UnicodeDecodeError:
        raise ValidationError("the file is not UTF-8 text", file=name,
                              expected="a CSV file saved as UTF-8") from None
    except OSError as error:
        raise ValidationError(f"cannot read the file ({error.strerror})", file=name) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(number, [cell.strip() for cell in row])
                for number, row in enumerate(reader, start=1)]
    except csv.Error as error:
        raise ValidationError(f"the file is not valid CSV ({error})", file=name,
                              row=reader.line_num) from None
    rows = [(number, row) for number, row in rows if any(row)]
    if not rows:
        raise ValidationError("the file is empty", file=name, expected="a header row")
    (_, header), body = rows[0], rows[1:]
    problems = ProblemCollector(file=name)
    seen: set[str] = set()
    for cell in header:
        if cell in seen:
            problems.add(f"column '{cell}' appears twice", row=1, column=cell,
                         expected="each column name once")
        seen.add(cell)
    for number, row in body:
        if len(row) != len(header):
            problems.add(f"this row has {len(row)} cells but the header has {len(header)}",
                         row=number, expected=f"{len(header)} cells")
    problems.raise_if_any()
    return header, body


def _whole_number(text: str, problems: ProblemCollector, row: int, column: str) -> int:
    try:
        value = int(text)
    except ValueError:
        try:
            as_float = float(text)
        except ValueError:
            as_float = None
        if as_float is not None and as_float.is_integer():
            return int(as_float)
        problems.add(f"'{text}' is not a whole number", row=row, column=column,
                     expected="a whole number, 0 or more")
        return 0
    if value < 0:
        problems.add(f"{value} is negative", row=row, column=column,
                     expected="a whole number, 0 or more")
    return value


def read_quotas(path: str | Path) -> Quotas:
    """Read a quotas file (``features.csv`` or the *Nature* ``categories.csv``).

    Parameters
    ----------
    path:
        The CSV file.

    Returns
    -------
    Quotas
        One :class:`ValueQuota` per row, with its file row for later messages.

    Raises
    ------
    ValidationError
        Missing columns, blank names, numbers that are not whole and non-negative,
        a value listed twice; every problem at once.
    """
    name = str(path)
    header, body = _read_rows(Path(path))
    lowered = [h.lower() for h in header]
    if {"feature", "value", "min", "max"} <= set(lowered):
        feature_col, value_col = "feature", "value"
    elif {"category", "feature", "min", "max"} <= set(lowered):
        feature_col, value_col = "category", "feature"
    else:
        raise ValidationError(f"the header is {','.join(header)}", file=name, row=1,
                              expected="columns feature,value,min,max "
                                       "(or category,feature,min,max)")
    index = {h: lowered.index(h) for h in (feature_col, value_col, "min", "max")}
    problems = ProblemCollector(file=name)
    quotas: list[ValueQuota] = []
    first_row: dict[tuple[str, str], int] = {}
    for number, row in body:
        feature, value = row[index[feature_col]], row[index[value_col]]
        if not feature:
            problems.add("the feature name is empty", row=number, column=feature_col,
                         expected="a feature name")
        if not value:
            problems.add("the value is empty", row=number, column=value_col,
                         expected="a feature value")
        if (feature, value) in first_row:
            problems.add(f"{feature}={value} is listed twice (first on row "
                         f"{first_row[(feature, value)]})", row=number, column=value_col,
                         expected="each feature value once")
        first_row.setdefault((feature, value), number)
        low = _whole_number(row[index["min"]], problems, number, "min")
        high = _whole_number(row[index["max"]], problems, number, "max")
        if low > high:
            problems.add(f"min {low} is above max {high}", row=number, column="min",
                         expected="min no more than max")
        quotas.append(ValueQuota(feature, value, low, high, number))
    if not quotas:
        problems.add("there are no quota rows", row=2, expected="one row per feature value")
    problems.raise_if_any()
    return Quotas(tuple(quotas), source=name)


def read_pool(path: str | Path, quotas: Quotas, id_column: str = "id") -> Pool:
    """Read the people who can be chosen (``people.csv`` or the *Nature* ``respondents.csv``).

    Parameters
    ----------
    path:
        The CSV file.
    quotas:
        The quotas; their features must be columns of the file.
    id_column:
        The column holding each person's id.

    Returns
    -------
    Pool
        Values are checked against the quotas later, by
        :func:`~voices.involve.sortition_pool.check_panel_inputs`.
    """
    name = str(path)
    header, body = _read_rows(Path(path))
    features = quotas.features
    problems = ProblemCollector(file=name)
    if id_column in header:
        id_index: int | None = header.index(id_column)
    elif set(header) == set(features):
        id_index = None  # Nature respondents format: number people in file order
    else:
        raise ValidationError(f"there is no '{id_column}' column", file=name, row=1,
                              column=id_column, expected=f"a column named '{id_column}'")
    missing = [f for f in features if f not in header]
    for feature in missing:
        problems.add(f"there is no column for the feature '{feature}'", row=1, column=feature,
                     expected="a column for every feature in the quotas")
    problems.raise_if_any()
    columns = [header.index(f) for f in features]
    ids, values, rows = [], [], []
    for position, (number, row) in enumerate(body):
        ids.append(row[id_index] if id_index is not None else f"p{position}")
        values.append(tuple(row[c] for c in columns))
        rows.append(number)
    return Pool(ids=tuple(ids), features=tuple(features), values=tuple(values), source=name,
                rows=tuple(rows), columns=tuple(header) if id_index is not None
                else ("id", *header),
                records=tuple(tuple(r) if id_index is not None else (i, *r)
                              for i, (_, r) in zip(ids, body, strict=True)))


def _write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_quotas(path: str | Path, quotas: Quotas) -> None:
    """Write quotas as ``feature,value,min,max`` (readable by ``sortition-algorithms``)."""
    _write_csv(path, ["feature", "value", "min", "max"],
               ([q.feature, q.value, q.min, q.max] for q in quotas.rows))


def write_pool(path: str | Path, pool: Pool, people: Sequence[int] | None = None) -> None:
    """Write people (all, or those at the given pool indices) with every original column.

    Used for the ``selected`` and ``remaining`` files, as ``sortition-algorithms`` writes them.
    """
    chosen = range(pool.n) if people is None else people
    if pool.records:
        _write_csv(path, pool.columns, (pool.records[i] for i in chosen))
    else:
        _write_csv(path, ["id", *pool.features], ([pool.ids[i], *pool.values[i]] for i in chosen))


def write_probabilities(path: str | Path, ids: Sequence[str], probabilities: Sequence[float]) -> None:
    """Write ``id,probability`` (chance of selection of each person, 12 significant digits)."""
    _write_csv(path, ["id", "probability"],
               ([i, f"{p:.12g}"] for i, p in zip(ids, probabilities, strict=True)))


def write_text(path: str | Path, text: str) -> None:
    """Write text exactly as given (UTF-8, ``\\n`` line ends), for published lottery files."""
    Path(path).write_bytes(text.encode("utf-8"))
