"""Disclosure control: the one function every published table goes through.

Rules (following NHS England's and ONS's small-number guidance for published health
statistics):

1. Primary suppression: any count from 1 to 7 (cells and totals alike) is shown as ``*``.
2. Rounding: every other count is rounded to the nearest 5; percentages are computed from
   the rounded figures, never from the exact ones.
3. Secondary suppression: further cells are hidden so that no hidden cell can be worked out
   from the row and column totals. Every row and column (with its total) that hides a cell
   hides at least two, and a linear-algebra check then confirms that no hidden cell is
   determined by what is shown — even by someone who knew the shown cells exactly, before
   rounding. Only non-zero cells are hidden as secondaries, so every hidden cell can move
   both up and down without breaking any total.

Zero counts are shown as 0.

References: NHS Digital, "Disclosure control method for publications" (suppress 1–7, round
to 5); ONS, "Statistical disclosure control" (primary and secondary suppression,
protection of cells against differencing with margins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.linalg import null_space

SUPPRESSED = "*"
SMALL_LOW, SMALL_HIGH = 1, 7
ROUND_TO = 5


def round_count(value: int) -> int:
    """Round a count to the nearest 5 (halves cannot occur for whole numbers)."""
    return int(np.floor(value / ROUND_TO + 0.5) * ROUND_TO)


def is_small(value: int) -> bool:
    return SMALL_LOW <= value <= SMALL_HIGH


@dataclass(frozen=True)
class _Layout:
    """The table with its margins as one grid, and the sums that link the cells."""

    grid: np.ndarray                # (R, C) counts including total row/column
    lines: list[list[tuple[int, int]]]  # each: members..., total (last)
    totals: set[tuple[int, int]]


def _layout(counts: np.ndarray, row_totals: bool, column_totals: bool) -> _Layout:
    r, c = counts.shape
    R, C = r + (1 if column_totals else 0), c + (1 if row_totals else 0)
    grid = np.zeros((R, C), dtype=np.int64)
    grid[:r, :c] = counts
    lines: list[list[tuple[int, int]]] = []
    totals: set[tuple[int, int]] = set()
    if row_totals:
        grid[:r, c] = counts.sum(axis=1)
        for i in range(r):
            lines.append([(i, j) for j in range(c)] + [(i, c)])
            totals.add((i, c))
    if column_totals:
        grid[r, :c] = counts.sum(axis=0)
        for j in range(c):
            lines.append([(i, j) for i in range(r)] + [(r, j)])
            totals.add((r, j))
    if row_totals and column_totals:
        grid[r, c] = counts.sum()
        lines.append([(i, c) for i in range(r)] + [(r, c)])
        lines.append([(r, j) for j in range(c)] + [(r, c)])
        totals.add((r, c))
    return _Layout(grid, lines, totals)


def _determined(layout: _Layout, hidden: np.ndarray) -> list[tuple[int, int]]:
    """Hidden cells whose value follows from the shown cells and the sums."""
    cells = [(int(i), int(j)) for i, j in np.argwhere(hidden)]
    if not cells:
        return []
    index = {cell: k for k, cell in enumerate(cells)}
    rows = []
    for line in layout.lines:
        coeffs = np.zeros(len(cells))
        for pos, cell in enumerate(line):
            if cell in index:
                coeffs[index[cell]] += -1.0 if pos == len(line) - 1 else 1.0
        if coeffs.any():
            rows.append(coeffs)
    if not rows:
        return []
    basis = null_space(np.array(rows))
    free = np.abs(basis).max(axis=1) > 1e-9 if basis.size else np.zeros(len(cells), bool)
    return [cell for cell, ok in zip(cells, free, strict=True) if not ok]


def _pick_partner(layout: _Layout, hidden: np.ndarray, line: list[tuple[int, int]]
                  ) -> tuple[int, int] | None:
    """The best extra cell to hide in a line: a non-zero cell, preferring ordinary cells in a
    column or row that already hides something, then the smallest; the total last."""
    grid = layout.grid
    options = [cell for cell in line if not hidden[cell] and grid[cell] > 0]
    if not options:
        return None

    def cost(cell):
        i, j = cell
        others = [other for other in layout.lines if cell in other and other is not line]
        closes = sum(1 for other in others if any(hidden[c] for c in other))
        return (cell in layout.totals, -closes, grid[cell])

    return min(options, key=cost)


def _rectangles(layout: _Layout, hidden: np.ndarray) -> np.ndarray:
    """Hypercube method for a two-way table with margins: protect each primary cell by the
    cheapest rectangle of non-zero cells through it (already hidden corners cost nothing).
    Any rectangle in the table-with-totals can shift by ±δ without changing what is shown.
    Reference: Giessing & Repsilber, "Tools and strategies to protect multiple tables with the
    GHQUAR cell suppression engine" (2002), the hypercube method."""
    grid = layout.grid
    hidden = hidden.copy()
    cost = np.where(grid > 0, grid.astype(float), np.inf)
    for i, j in sorted(((int(a), int(b)) for a, b in np.argwhere(hidden)),
                       key=lambda cell: grid[cell]):
        step = np.where(hidden, 0.0, cost)
        # corners: (i, j2), (i2, j), (i2, j2)
        total = step[i, :][None, :] + step[:, j][:, None] + step
        total[i, :] = np.inf
        total[:, j] = np.inf
        i2, j2 = np.unravel_index(np.argmin(total), total.shape)
        if np.isfinite(total[i2, j2]):
            hidden[i, j2] = hidden[i2, j] = hidden[i2, j2] = True
    return hidden


def _secondary(layout: _Layout, hidden: np.ndarray) -> np.ndarray:
    hidden = hidden.copy()
    if hidden.any() and layout.grid.shape[0] > 2 and layout.grid.shape[1] > 2 \
            and len(layout.lines) == sum(layout.grid.shape):
        hidden = _rectangles(layout, hidden)
    while True:
        changed = False
        for line in layout.lines:
            if sum(hidden[cell] for cell in line) == 1:
                partner = _pick_partner(layout, hidden, line)
                if partner is not None:
                    hidden[partner] = True
                    changed = True
        if changed:
            continue
        determined = _determined(layout, hidden)
        if not determined:
            return hidden
        cell = determined[0]
        for line in layout.lines:
            if cell in line:
                partner = _pick_partner(layout, hidden, line)
                if partner is not None:
                    hidden[partner] = True
                    break
        else:  # pragma: no cover - a determined cell always lies on some line
            raise RuntimeError("disclosure control could not protect a cell")


@dataclass(frozen=True)
class DisclosedCounts:
    """A table after disclosure control, margins included (totals last)."""

    shown: np.ndarray          # rounded counts; meaningless where hidden
    hidden: np.ndarray         # True where the cell is shown as '*'
    row_totals: bool
    column_totals: bool

    def cell(self, i: int, j: int) -> int | str:
        return SUPPRESSED if self.hidden[i, j] else int(self.shown[i, j])

    def as_lists(self) -> list[list[int | str]]:
        return [[self.cell(i, j) for j in range(self.shown.shape[1])]
                for i in range(self.shown.shape[0])]


def disclose_counts(counts: Sequence | np.ndarray, *, row_totals: bool = True,
                    column_totals: bool = True) -> DisclosedCounts:
    """Apply disclosure control to a table of counts.

    Parameters
    ----------
    counts:
        A 1-D (one column) or 2-D array of non-negative whole numbers.
    row_totals, column_totals:
        Whether the published table shows a total for each row / each column (and, with
        both, the grand total). A 1-D table has a column total only.

    Returns
    -------
    DisclosedCounts
        The grid with totals appended (a total column last, a total row last), the rounded
        counts and which cells are hidden.
    """
    array = np.asarray(counts)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
        row_totals = False
    if array.ndim != 2:
        raise ValueError("counts must be a 1-D or 2-D table")
    if array.size and (np.any(array < 0) or not np.all(np.equal(np.mod(array, 1), 0))):
        raise ValueError("counts must be non-negative whole numbers")
    array = array.astype(np.int64)
    layout = _layout(array, row_totals, column_totals)
    primary = (layout.grid >= SMALL_LOW) & (layout.grid <= SMALL_HIGH)
    hidden = _secondary(layout, primary)
    rounded = np.floor(layout.grid / ROUND_TO + 0.5).astype(np.int64) * ROUND_TO
    return DisclosedCounts(rounded, hidden, row_totals, column_totals)


@dataclass(frozen=True)
class DisclosedTable:
    """A published table: labels, shown values (int or '*'), and percentages from rounded
    figures."""

    row_labels: list[str]
    column_labels: list[str]
    values: list[list[int | str]]

    def to_frame(self, label: str = "group") -> pl.DataFrame:
        data = {label: self.row_labels}
        for j, name in enumerate(self.column_labels):
            data[name] = [str(row[j]) for row in self.values]
        return pl.DataFrame(data)

    def percent(self, row: int, numerator: int, denominator: int, digits: int = 1
                ) -> float | str:
        """A percentage from the rounded figures, or '*' if either is hidden or zero."""
        num, den = self.values[row][numerator], self.values[row][denominator]
        if num == SUPPRESSED or den == SUPPRESSED or not den:
            return SUPPRESSED
        return round(100.0 * num / den, digits)

    def numbers(self) -> list[int]:
        return [v for row in self.values for v in row if v != SUPPRESSED]


def disclose(frame: pl.DataFrame, *, label: str, counts: Sequence[str],
             row_totals: bool | None = None, column_totals: bool = True,
             total_label: str = "Total") -> DisclosedTable:
    """Apply disclosure control to a Polars frame with one row per group.

    ``label`` names the column of group labels; ``counts`` the count columns. With more
    than one count column a row total is added (unless ``row_totals=False``).
    """
    counts = list(counts)
    if row_totals is None:
        row_totals = len(counts) > 1
    matrix = frame.select(counts).fill_null(0).to_numpy()
    result = disclose_counts(matrix, row_totals=row_totals, column_totals=column_totals)
    rows = [str(x) for x in frame[label].to_list()] + ([total_label] if column_totals else [])
    cols = counts + ([total_label] if row_totals else [])
    return DisclosedTable(rows, cols, result.as_lists())


def published_counts_are_safe(values: Sequence[object]) -> bool:
    """True if no value is a count from 1 to 7 (the check reports and tests rely on)."""
    for value in values:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) \
                and is_small(int(value)):
            return False
    return True
