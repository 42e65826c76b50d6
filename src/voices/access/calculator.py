"""The queueing calculator: NHSRwaitinglist's measures from a few figures, in words.

Takes what an elective-care manager knows — referrals a week, a target such as "92% within
18 weeks", and optionally treatments a week, the list size now and the mean wait now —
checks each figure (a located message per field), and returns each measure with a
sentence that says what it means. The formulas are those of :mod:`voices.access.queueing`
(every wait in weeks, every rate a week).

References
----------
NHS-R Community, NHSRwaitinglist; Fong, K. J., Walton, N. et al. (2022), *Understanding
waiting lists pressures*; Little (1961); Kingman (1961). See :mod:`voices.access.queueing`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from voices.access import queueing as q
from voices.errors import Problem, ValidationError

FIELDS: dict[str, str] = {
    "demand": "referrals a week",
    "target": "the waiting-time target",
    "capacity": "treatments a week",
    "queue_size": "pathways waiting now",
    "mean_wait": "the mean wait now",
    "time_to_target": "weeks to reach the target list size",
    "cv_demand": "how much referrals vary",
    "cv_capacity": "how much treatments vary",
}
DEFAULTS = {"target": "92% within 18 weeks", "time_to_target": "26", "cv_demand": "1",
            "cv_capacity": "1"}


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    value: float
    unit: str
    explanation: str


@dataclass(frozen=True)
class Calculation:
    target: str
    measures: list[Measure] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"target": self.target,
                "measures": [m.__dict__ for m in self.measures]}


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _number(values: Mapping[str, object], name: str, problems: list[Problem], *,
            required: bool = False, positive: bool = False, high: float = 1e9
            ) -> float | None:
    raw = values.get(name)
    text = "" if raw is None else str(raw).strip().replace(",", "")
    if not text:
        if required:
            problems.append(Problem(f"Enter {FIELDS[name]}", column=name))
        return None
    try:
        number = float(text)
    except ValueError:
        problems.append(Problem(f"Enter {FIELDS[name]} as a number, like 30", column=name))
        return None
    if not math.isfinite(number) or number < 0 or (positive and number == 0) or number > high:
        low = "more than 0" if positive else "0 or more"
        problems.append(Problem(f"{FIELDS[name].capitalize()} must be {low} and at most "
                                f"{high:,.0f}", column=name))
        return None
    return number


def calculate(values: Mapping[str, object]) -> Calculation:
    """Work out the queueing measures from a form's values (text or numbers).

    Parameters
    ----------
    values : mapping
        ``demand`` (required), ``target`` (required; e.g. "92% within 18 weeks" or "52"),
        and optionally ``capacity``, ``queue_size``, ``mean_wait``, ``time_to_target``
        (default 26), ``cv_demand`` and ``cv_capacity`` (default 1, as for random
        referrals and treatments).

    Returns
    -------
    Calculation

    Raises
    ------
    ValidationError
        One problem per field that is missing or wrong (``column`` is the field).
    """
    problems: list[Problem] = []
    demand = _number(values, "demand", problems, required=True)
    target_text = str(values.get("target") or "").strip()
    target = None
    if not target_text:
        problems.append(Problem("Enter the waiting-time target, like 92% within 18 weeks",
                                column="target"))
    else:
        try:
            target = q.parse_wait_target(target_text[:60], name="target")
        except ValidationError:
            problems.append(Problem("Enter the target like 92% within 18 weeks, or a number of "
                                    "weeks like 18", column="target"))
    capacity = _number(values, "capacity", problems, positive=True)
    queue_size = _number(values, "queue_size", problems)
    mean_wait = _number(values, "mean_wait", problems, high=520)
    weeks = _number(values, "time_to_target", problems, positive=True, high=520)
    cv_demand = _number(values, "cv_demand", problems, high=10)
    cv_capacity = _number(values, "cv_capacity", problems, high=10)
    if problems:
        raise ValidationError(problems=problems, code="invalid_calculation")
    weeks = 26.0 if weeks is None else weeks
    cv_demand = 1.0 if cv_demand is None else cv_demand
    cv_capacity = 1.0 if cv_capacity is None else cv_capacity

    mean = float(q.target_mean_wait(target))
    size = float(q.target_queue_size(demand, target))
    needed = float(q.target_capacity(demand, target, cv_demand=cv_demand,
                                     cv_capacity=cv_capacity))
    if target.share is not None:
        how = (f"This assumes waits spread out the way they usually do on a list, so that "
               f"{target.share * 100:g}% of people then wait {target.weeks:g} weeks or less.")
    else:
        how = (f"As in NHSRwaitinglist, the average wait is set at a quarter of the target, so "
               f"that only about 2% of people wait longer than {target.weeks:g} weeks.")
    out = [
        Measure("target_mean_wait", "Target mean wait", mean, "weeks",
                f"To meet the target ({target}), the average wait must be no more than "
                f"{_fmt(mean)} weeks. {how}"),
        Measure("target_queue_size", "Target list size", size, "pathways",
                f"With {_fmt(demand, 0)} referrals a week, a list with that average wait holds "
                f"about {_fmt(size, 0)} pathways (referrals a week × average wait, Little's "
                "law)."),
        Measure("target_capacity", "Capacity needed to hold the target", needed,
                "treatments a week",
                f"To keep the list at that size you need about {_fmt(needed)} treatments a "
                f"week: {_fmt(needed - demand, 2)} more than the referrals, because "
                "referrals and treatments go up and down from week to week (Kingman's "
                "formula)."),
    ]
    if capacity is not None:
        load = float(q.queue_load(demand, capacity))
        trend = ("the list will grow" if load > 1 else
                 "the list will shrink or hold steady" if load < 1 else
                 "the list will hold steady on average")
        out.append(Measure("load", "Load", load, "referrals per treatment",
                           f"For every treatment there are {_fmt(load, 2)} referrals, so "
                           f"{trend}."))
    if queue_size is not None:
        relief = float(q.relief_capacity(demand, queue_size, size, weeks))
        if queue_size > size:
            words = (f"To bring the list down from {_fmt(queue_size, 0)} to about "
                     f"{_fmt(size, 0)} pathways in {_fmt(weeks, 0)} weeks you need about "
                     f"{_fmt(relief)} treatments a week until then.")
        else:
            words = (f"The list ({_fmt(queue_size, 0)} pathways) is already no bigger than its "
                     f"target size, so no extra capacity is needed to bring it down.")
        out.append(Measure("relief_capacity", "Capacity to reach the target size", relief,
                           "treatments a week", words))
    if mean_wait is not None:
        pressure = float(q.waiting_list_pressure(mean_wait, target.weeks))
        state = ("It is above 1, so the target is at risk" if pressure > 1 else
                 "It is 1 or less, so the target is within reach")
        out.append(Measure("pressure", "Pressure", pressure, "",
                           f"Pressure is twice the mean wait divided by the target wait: "
                           f"{_fmt(pressure, 2)}. {state}."))
    return Calculation(str(target), out)
