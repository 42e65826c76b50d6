"""Checking what a lead enters for an opportunity, a log entry or a library entry.

Pure functions: a form (field → list of values) in, the values to store out, or a
:class:`~voices.errors.ValidationError` naming every field that is wrong (so the page can
show all the problems at once) and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence

from voices.errors import ProblemCollector, ValidationError
from voices.involve.library import KINDS, TAG_FAMILIES
from voices.involve.matching import OpportunityNeeds
from voices.involve.payments import PaymentPolicy, involvement_payment, parse_pounds
from voices.involve.questions import (
    CONDITIONS,
    FORMATS,
    INTERESTS,
    SERVICES_USED,
    TIMES,
    VENUE_NEEDS,
    clean_text,
)

Form = Mapping[str, Sequence[str]]
_URL = re.compile(r"https?://[^\s<>\"']{3,490}")


def _one(form: Form, name: str) -> str:
    raw = form.get(name, [])
    if isinstance(raw, str):
        return raw.strip()
    return raw[0].strip() if raw and isinstance(raw[0], str) else ""


def _many(form: Form, name: str) -> list[str]:
    raw = form.get(name, [])
    if isinstance(raw, str):
        raw = [raw]
    return [v.strip() for v in raw if isinstance(v, str) and v.strip()]


def _text(form: Form, name: str, label: str, problems: ProblemCollector, *,
          required: bool = True, max_length: int = 200, multiline: bool = False) -> str:
    value = _one(form, name)
    if not value:
        if required:
            problems.add(f"Enter {label}", column=name)
        return ""
    try:
        return clean_text(value, name, label.capitalize(), max_length, multiline)
    except ValidationError as exc:
        problems.add(exc.problems[0].message, column=name)
        return ""


def _choices(form: Form, name: str, options: Mapping[str, str],
             problems: ProblemCollector) -> list[str]:
    chosen = _many(form, name)
    if any(c not in options for c in chosen):
        problems.add("Select from the list", column=name)
        return []
    return [c for c in options if c in chosen]


def parse_date(text: str, name: str, label: str, problems: ProblemCollector) -> dt.date | None:
    """A date as YYYY-MM-DD or DD/MM/YYYY (what people type), or a problem."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %m %Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    problems.add(f"Enter {label} as a real date, like 31/03/2027" if text else f"Enter {label}",
                 column=name)
    return None


def parse_period(since: str | None, until: str | None) -> tuple[dt.date | None, dt.date | None]:
    """A period from two typed dates, either of which may be left empty (open-ended);
    raises ValidationError naming each wrong field, or an end before the start."""
    problems = ProblemCollector()
    start = parse_date(since, "since", "the first day", problems) if (since or "").strip() \
        else None
    end = parse_date(until, "until", "the last day", problems) if (until or "").strip() \
        else None
    if start and end and end < start:
        problems.add("The last day must be the same as or after the first day", column="until")
    problems.raise_if_any()
    return start, end


def date_from_parts(form: Form, name: str) -> str:
    """The text of a date typed into an NHS date input (day, month, year boxes)."""
    day, month, year = (_one(form, f"{name}-{part}") for part in ("day", "month", "year"))
    if not (day or month or year):
        return _one(form, name)
    return f"{day}/{month}/{year}"


def _number(text: str, name: str, label: str, problems: ProblemCollector, *,
            maximum: float) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if math.isnan(value) or value < 0 or value > maximum:
        problems.add(f"Enter {label} as a number from 0 to {maximum:g}", column=name)
        return None
    return round(value, 2)


def parse_opportunity(form: Form, policy: PaymentPolicy, *, today: dt.date) -> dict:
    """An opportunity's fields from the lead's form.

    Raises ValidationError listing every problem (project, role, time needed, formats,
    payment level, closing date in the future, hours a month…)."""
    problems = ProblemCollector()
    values: dict[str, object] = {
        "project": _text(form, "project", "the project's name", problems),
        "role": _text(form, "role", "the role", problems),
        "description": _text(form, "description", "a description", problems,
                             required=False, max_length=5000, multiline=True),
        "time_needed": _text(form, "time_needed", "the time needed, like '2 hours a month "
                             "for 6 months'", problems),
        "formats": _choices(form, "formats", FORMATS, problems),
        "venue_provides": _choices(form, "venue_provides", VENUE_NEEDS, problems),
        "times": _choices(form, "times", TIMES, problems),
        "conditions": _choices(form, "conditions", CONDITIONS, problems),
        "services": _choices(form, "services", SERVICES_USED, problems),
        "topics": _choices(form, "topics", INTERESTS, problems),
        "carers": _one(form, "carers") == "yes",
    }
    if not values["formats"] and not any(p.column == "formats" for p in problems.problems):
        problems.add("Select at least one way people can take part", column="formats")
    values["hours_per_month"] = _number(_one(form, "hours_per_month"), "hours_per_month",
                                        "the hours a month", problems, maximum=200)
    level = _one(form, "payment_level")
    if not level:
        problems.add("Select the involvement level", column="payment_level")
    else:
        try:
            values["payment_level"] = policy.get(level).code
        except ValidationError:
            problems.add("Select an involvement level from the list", column="payment_level")
    closing = parse_date(date_from_parts(form, "closing_date"), "closing_date",
                         "the closing date", problems)
    if closing is not None and closing < today:
        problems.add("The closing date must be today or in the future", column="closing_date")
    values["closing_date"] = closing
    problems.raise_if_any()
    return values


def needs_of(opportunity: object) -> OpportunityNeeds:
    """What matching needs from a stored opportunity (any object with its fields)."""
    return OpportunityNeeds(
        conditions=frozenset(opportunity.conditions or ()),
        services=frozenset(opportunity.services or ()),
        carers=bool(opportunity.carers),
        topics=frozenset(opportunity.topics or ()),
        formats=frozenset(opportunity.formats or ()),
        venue_provides=frozenset(opportunity.venue_provides or ()),
        times=frozenset(opportunity.times or ()),
        hours_per_month=opportunity.hours_per_month)


def parse_log_entry(form: Form, policy: PaymentPolicy, *, today: dt.date) -> dict:
    """A log entry from the lead's form. The involvement payment is worked out from the
    level and hours unless the lead enters a different amount (for example, a partner who
    chose not to be paid enters 0)."""
    problems = ProblemCollector()
    values: dict[str, object] = {
        "project": _text(form, "project", "the project", problems),
        "activity": _text(form, "activity", "what they did", problems),
        "expenses_note": _text(form, "expenses_note", "the expenses note", problems,
                               required=False, max_length=300),
    }
    when = parse_date(date_from_parts(form, "activity_date"), "activity_date",
                      "the date", problems)
    if when is not None and when > today:
        problems.add("The date must be today or in the past", column="activity_date")
    values["activity_date"] = when
    hours_text = _one(form, "hours")
    hours = _number(hours_text, "hours", "the hours", problems, maximum=24)
    if not hours_text:
        problems.add("Enter the hours", column="hours")
    values["hours"] = hours or 0.0
    level = None
    code = _one(form, "payment_level")
    try:
        level = policy.get(code)
        values["payment_level"] = level.code
    except ValidationError:
        problems.add("Select an involvement level from the list", column="payment_level")
    for name, label in (("payment", "the involvement payment"), ("expenses", "the expenses")):
        text = _one(form, name)
        try:
            values[f"{name}_pence"] = parse_pounds(text, name, label) if text else None
        except ValidationError as exc:
            problems.add(exc.problems[0].message, column=name)
    if values.get("payment_pence") is None and level is not None:
        values["payment_pence"] = involvement_payment(level, float(values["hours"]))
    if level is not None and not level.expenses and values.get("expenses_pence"):
        problems.add(f"{level.name} does not pay expenses", column="expenses")
    values["expenses_pence"] = values.get("expenses_pence") or 0
    problems.raise_if_any()
    return values


def parse_library_entry(form: Form) -> dict:
    """A practice-library entry from the lead's form."""
    problems = ProblemCollector()
    kind = _one(form, "kind")
    if kind not in KINDS:
        problems.add("Select what kind of entry this is", column="kind")
    values: dict[str, object] = {
        "kind": kind,
        "title": _text(form, "title", "a title", problems),
        "summary": _text(form, "summary", "a summary", problems, max_length=1000,
                         multiline=True),
        "body": _text(form, "body", "the full story", problems, required=False,
                      max_length=20000, multiline=True),
        "other_organisations": _text(form, "other_organisations", "other organisations",
                                     problems, required=False, max_length=500),
    }
    link = _one(form, "link")
    if link and not _URL.fullmatch(link):
        problems.add("Enter a web address starting with https://", column="link")
    values["link"] = link if link and _URL.fullmatch(link) else ""
    for family, options in TAG_FAMILIES.items():
        values[family] = _choices(form, family, options, problems)
    problems.raise_if_any()
    return values
