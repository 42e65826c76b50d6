"""Involvement levels, what each pays, and the finance export of the involvement log.

The levels and rates are data (``data/payment_levels.yaml``), following NHS England's
policy for patient and public voice partners (see that file for the source). Amounts are
whole pence throughout; nothing here rounds money.

The export is for a finance team's spreadsheet, so every text cell is neutralised against
formula injection: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with ``'`` so a spreadsheet shows it as text instead of running it
(OWASP, "CSV Injection"). Numbers stay numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from voices.errors import ProblemCollector, ValidationError
from voices.exports import FORMULA_START as FORMULA_STARTS  # noqa: F401 (tests)
from voices.exports import csv_bytes, xlsx_bytes
from voices.exports import safe_cell as neutralise

LEVELS_FILE = Path(__file__).resolve().parent / "data" / "payment_levels.yaml"


@dataclass(frozen=True)
class PaymentLevel:
    code: str
    name: str
    description: str
    expenses: bool
    half_day_pence: int
    full_day_pence: int
    half_day_hours: float = 4.0

    @property
    def pays(self) -> bool:
        return self.full_day_pence > 0 or self.half_day_pence > 0


@dataclass(frozen=True)
class PaymentPolicy:
    source: str
    version: str
    levels: tuple[PaymentLevel, ...]

    def get(self, code: str) -> PaymentLevel:
        for level in self.levels:
            if level.code == code:
                return level
        raise ValidationError(f"'{str(code)[:40]}' is not an involvement level",
                              column="payment_level",
                              expected="one of " + ", ".join(lv.code for lv in self.levels),
                              code="unknown_level")

    def options(self) -> list[tuple[str, str]]:
        return [(level.code, level.name) for level in self.levels]


def _int_field(item: dict, name: str, problems: ProblemCollector, where: str) -> int:
    value = item.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.add(f"{where}: '{name}' must be a whole number of pence, 0 or more",
                     column=name, expected="a whole number")
        return 0
    return value


def parse_policy(data: object, file: str | None = None) -> PaymentPolicy:
    """Check a payment-levels document (already parsed from YAML) and build the policy."""
    problems = ProblemCollector(file=file)
    if not isinstance(data, dict) or not isinstance(data.get("levels"), list) \
            or not data["levels"]:
        raise ValidationError("The file must have a 'levels' list", file=file,
                              column="levels", code="invalid_levels")
    levels: list[PaymentLevel] = []
    seen: set[str] = set()
    for index, item in enumerate(data["levels"], start=1):
        where = f"level {index}"
        if not isinstance(item, dict):
            problems.add(f"{where} must be a mapping", column="levels")
            continue
        code, name = item.get("code"), item.get("name")
        if not isinstance(code, str) or not code.strip():
            problems.add(f"{where} has no code", column="code")
            continue
        if code in seen:
            problems.add(f"{where}: the code '{code}' is used twice", column="code")
        seen.add(code)
        half = _int_field(item, "half_day_pence", problems, where)
        full = _int_field(item, "full_day_pence", problems, where)
        hours = item.get("half_day_hours", 4)
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours < 24:
            problems.add(f"{where}: 'half_day_hours' must be between 0 and 24",
                         column="half_day_hours")
            hours = 4
        levels.append(PaymentLevel(code.strip(), str(name or code), str(
            item.get("description", "")).strip(), bool(item.get("expenses", False)),
            half, full, float(hours)))
    problems.raise_if_any()
    return PaymentPolicy(str(data.get("source", "")).strip(), str(data.get("version", "")),
                         tuple(levels))


def read_policy(path: str | Path = LEVELS_FILE) -> PaymentPolicy:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"Could not read the file ({type(exc).__name__})",
                              file=path.name, code="unreadable_file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError("The file is not valid YAML", file=path.name,
                              row=mark.line + 1 if mark else None,
                              code="invalid_yaml") from None
    return parse_policy(data, file=path.name)


def involvement_payment(level: PaymentLevel, hours: float) -> int:
    """The involvement payment, in pence, for one session of ``hours`` at a level: the
    half-day amount up to ``half_day_hours``, the full-day amount above it, nothing for
    levels that do not pay or for no time."""
    if hours <= 0 or not level.pays:
        return 0
    return level.half_day_pence if hours <= level.half_day_hours else level.full_day_pence


def pounds(pence: int) -> Decimal:
    return (Decimal(int(pence)) / 100).quantize(Decimal("0.01"))


def money(pence: int) -> str:
    return f"£{pounds(pence):,.2f}"


def parse_pounds(text: str, column: str, label: str) -> int:
    """'12.50', '£12.50' or '12' → pence (1250). Refuses negatives, more than 2 decimal
    places and amounts over £100,000."""
    cleaned = str(text).strip().replace(",", "").removeprefix("£").strip()
    if not cleaned:
        return 0
    try:
        value = Decimal(cleaned)
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > 100_000 or \
            value.as_tuple().exponent < -2:
        raise ValidationError(f"Enter {label} in pounds and pence, like 12.50", column=column,
                              code="invalid_amount")
    return int(value * 100)


# ------------------------------------------------------------------------ finance export


@dataclass(frozen=True)
class FinanceRow:
    entry_id: int
    date: dt.date
    partner: str
    partner_reference: str
    organisation: str
    project: str
    activity: str
    level: str
    hours: float
    payment_pence: int
    expenses_pence: int
    expenses_note: str

    @property
    def total_pence(self) -> int:
        return self.payment_pence + self.expenses_pence


HEADER = ("Entry", "Date", "Partner", "Partner reference", "Organisation", "Project",
          "Activity", "Involvement level", "Hours", "Involvement payment (£)",
          "Expenses (£)", "Expenses note", "Total (£)")


def finance_cells(row: FinanceRow) -> list[object]:
    """One row of the export, neutralised; money in pounds as exact decimals."""
    return [neutralise(v) for v in (
        row.entry_id, row.date, row.partner, row.partner_reference, row.organisation,
        row.project, row.activity, row.level, row.hours, pounds(row.payment_pence),
        pounds(row.expenses_pence), row.expenses_note, pounds(row.total_pence))]


def finance_csv(rows: Iterable[FinanceRow]) -> bytes:
    """The export as CSV (UTF-8 with a byte-order mark, so Excel reads £ correctly)."""
    return csv_bytes(HEADER, (finance_cells(row) for row in rows))


def finance_xlsx(rows: Sequence[FinanceRow], title: str = "Involvement payments") -> bytes:
    """The export as an Excel workbook: text cells stored as text (never formulas), dates
    as dates, money as numbers in pounds."""
    money = "£#,##0.00"
    return xlsx_bytes({title: (HEADER, (finance_cells(row) for row in rows))},
                      number_formats={9: money, 10: money, 12: money},
                      widths=[8, 12, 24, 18, 14, 30, 30, 22, 8, 20, 14, 30, 12])
