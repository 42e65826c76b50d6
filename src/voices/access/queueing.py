"""Waiting-list queueing measures: target mean wait, target list size, capacity, pressure.

These are the formulas of the NHS-R Community package NHSRwaitinglist (the
"calc_*" functions), written again in Python with one rule throughout: **every wait
is in weeks and every rate is per week**. (That package's ``wl_stats`` measures the
mean wait in days but divides it by a target in weeks when it works out the pressure;
:func:`waiting_list_stats` here does not mix units.)

A target can be given as a number of weeks (as in NHSRwaitinglist, where the target
mean wait is ``target_wait / factor``) or as a percentile, for example
``"92% within 18 weeks"``. A percentile target is turned into a mean wait by assuming,
as the package does, that waiting times follow an exponential distribution:
``P(wait > T) = exp(-T / mean)``, so the mean wait that meets "a share ``p`` within
``T`` weeks" is ``T / -ln(1 - p)``; NHSRwaitinglist's default ``factor = 4`` is the
case ``1 - p = exp(-4) = 1.8%``.

References
----------
- Fong, K. J., Walton, N. et al. (2022). *Understanding waiting lists pressures.*
  medRxiv 2022.08.23.22279117.
- NHS-R Community, NHSRwaitinglist (R package), functions ``calc_target_mean_wait``,
  ``calc_target_queue_size``, ``calc_target_capacity``, ``calc_relief_capacity``,
  ``calc_queue_load``, ``calc_waiting_list_pressure`` and ``wl_stats``.
- Kingman, J. F. C. (1961). The single server queue in heavy traffic. *Proc. Camb.
  Phil. Soc.* 57, 902-904 (the approximation behind the target capacity).
- Little, J. D. C. (1961). A proof for the queuing formula L = λW. *Operations
  Research* 9(3), 383-387.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from voices.errors import ValidationError

DEFAULT_FACTOR = 4.0
"""NHSRwaitinglist's default: the mean wait is a quarter of the target wait."""

Number = float | int


@dataclass(frozen=True)
class WaitTarget:
    """A waiting-time target such as "92% within 18 weeks".

    ``share`` is the share of pathways that should wait no longer than ``weeks``
    (0 < share < 1), or ``None`` for a bare target in weeks, whose mean wait is then
    set by NHSRwaitinglist's ``factor``.
    """

    weeks: float
    share: float | None = None

    @property
    def factor(self) -> float:
        """The NHSRwaitinglist factor that gives this target's mean wait.

        For a percentile target it is ``-ln(1 - share)`` (exponential waits); for a
        bare target in weeks it is the package default, 4.
        """
        if self.share is None:
            return DEFAULT_FACTOR
        return -math.log1p(-self.share)

    def __str__(self) -> str:
        if self.share is None:
            return f"{_g(self.weeks)} weeks"
        return f"{_g(self.share * 100)}% within {_g(self.weeks)} weeks"


def _g(x: float) -> str:
    return f"{x:g}"


_TARGET_PATTERN = re.compile(
    r"^\s*(?:(?P<pct>\d+(?:\.\d+)?)\s*%\s*(?:within|in|<=|by)\s*)?"
    r"(?P<weeks>\d+(?:\.\d+)?)\s*(?:weeks?|wks?|w)?\s*$",
    re.IGNORECASE,
)


def parse_wait_target(text: object, *, name: str = "target_wait") -> WaitTarget:
    """Read a waiting-time target written the way people say it.

    Accepts ``"92% within 18 weeks"``, ``"18 weeks"``, ``"52"``, a number of weeks, or
    a :class:`WaitTarget`.

    Parameters
    ----------
    text : str, int, float or WaitTarget
        The target.
    name : str
        The argument's name, used in the error message.

    Returns
    -------
    WaitTarget

    Raises
    ------
    ValidationError
        If the text is not a target of that form, or the numbers are out of range.
    """
    if isinstance(text, WaitTarget):
        return text
    if isinstance(text, bool):
        raise ValidationError(f"{name} must be a number of weeks or a target such as "
                              "'92% within 18 weeks'", column=name)
    if isinstance(text, (int, float, np.integer, np.floating)):
        weeks = float(text)
        share = None
    elif isinstance(text, str):
        match = _TARGET_PATTERN.match(text)
        if not match:
            raise ValidationError(f"{name} '{text[:60]}' is not a waiting-time target",
                                  column=name,
                                  expected="a number of weeks, or a target such as "
                                           "'92% within 18 weeks'")
        weeks = float(match["weeks"])
        share = float(match["pct"]) / 100 if match["pct"] is not None else None
    else:
        raise ValidationError(f"{name} must be a number of weeks or a target such as "
                              "'92% within 18 weeks'", column=name)
    if not math.isfinite(weeks) or weeks <= 0:
        raise ValidationError(f"{name} must be more than 0 weeks", column=name)
    if share is not None and not 0 < share < 1:
        raise ValidationError(f"the share in {name} must be more than 0% and less than 100%",
                              column=name)
    return WaitTarget(weeks=weeks, share=share)


def _number(value: object, name: str, *, positive: bool = False,
            non_negative: bool = False) -> np.ndarray:
    """Check that ``value`` is a finite number (or array of them)."""
    if isinstance(value, (bool, str)):
        raise ValidationError(f"{name} must be a number", column=name)
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number", column=name) from None
    if not np.all(np.isfinite(array)):
        raise ValidationError(f"{name} must be a finite number", column=name)
    if positive and np.any(array <= 0):
        raise ValidationError(f"{name} must be more than 0", column=name)
    if non_negative and np.any(array < 0):
        raise ValidationError(f"{name} must not be negative", column=name)
    return array


def _out(array: np.ndarray) -> float | np.ndarray:
    return float(array) if array.ndim == 0 else array


def _mean_wait(target_wait: object, factor: object) -> np.ndarray:
    """The target mean wait in weeks, from a target and an optional factor."""
    if isinstance(target_wait, (str, WaitTarget)):
        target = parse_wait_target(target_wait)
        if target.share is not None and factor is not None:
            raise ValidationError("give either a percentile target such as '92% within 18 "
                                  "weeks' or a factor, not both", column="factor")
        weeks = np.asarray(target.weeks)
        factor_value = np.asarray(target.factor if factor is None else
                                  _number(factor, "factor", positive=True))
    else:
        weeks = _number(target_wait, "target_wait", positive=True)
        factor_value = (np.asarray(DEFAULT_FACTOR) if factor is None
                        else _number(factor, "factor", positive=True))
    return weeks / factor_value


def target_mean_wait(target_wait: object, factor: Number | None = None) -> float | np.ndarray:
    """The mean wait (weeks) a list must keep to meet its waiting-time target.

    ``target_wait / factor`` (NHSRwaitinglist ``calc_target_mean_wait``). With a
    percentile target such as ``"92% within 18 weeks"`` the factor is
    ``-ln(1 - 0.92)``, from the exponential distribution of waits.

    Parameters
    ----------
    target_wait : float, str or WaitTarget
        The target, in weeks, or a percentile target.
    factor : float, optional
        How many times shorter than the target the mean wait should be (default 4:
        about 1.8% of pathways then wait longer than the target).

    Returns
    -------
    float
        The target mean wait in weeks.

    References
    ----------
    NHSRwaitinglist ``calc_target_mean_wait``; Fong et al. (2022).
    """
    return _out(_mean_wait(target_wait, factor))


def target_queue_size(demand: Number, target_wait: object,
                      factor: Number | None = None) -> float | np.ndarray:
    """The list size that meets the target, by Little's law: ``demand × mean wait``.

    Parameters
    ----------
    demand : float
        New referrals per week.
    target_wait, factor
        As in :func:`target_mean_wait`.

    Returns
    -------
    float
        The target number of pathways on the list.

    References
    ----------
    NHSRwaitinglist ``calc_target_queue_size``; Little (1961).
    """
    rate = _number(demand, "demand", non_negative=True)
    return _out(rate * _mean_wait(target_wait, factor))


def target_capacity(demand: Number, target_wait: object, factor: Number | None = None,
                    cv_demand: Number = 1.0, cv_capacity: Number = 1.0) -> float | np.ndarray:
    """Removals per week needed to hold the target mean wait.

    ``demand + (cv_demand² + cv_capacity²) / 2 × factor / target_wait``, Kingman's
    heavy-traffic approximation as used by NHSRwaitinglist ``calc_target_capacity``.

    Parameters
    ----------
    demand : float
        New referrals per week.
    target_wait, factor
        As in :func:`target_mean_wait`.
    cv_demand : float
        Coefficient of variation of the time between referrals (1 for Poisson).
    cv_capacity : float
        Coefficient of variation of the time between removals.

    Returns
    -------
    float
        Capacity per week.

    References
    ----------
    NHSRwaitinglist ``calc_target_capacity``; Kingman (1961); Fong et al. (2022).
    """
    rate = _number(demand, "demand", non_negative=True)
    cvd = _number(cv_demand, "cv_demand", non_negative=True)
    cvc = _number(cv_capacity, "cv_capacity", non_negative=True)
    return _out(rate + (cvd ** 2 + cvc ** 2) / 2 / _mean_wait(target_wait, factor))


def relief_capacity(demand: Number, queue_size: Number, target_queue_size: Number,
                    time_to_target: Number = 26, num_referrals: Number = 0,
                    cv_demand: Number = 0) -> float | np.ndarray:
    """Removals per week needed to bring the list down to its target size in time.

    ``demand + (queue_size - target_queue_size) / time_to_target``. When demand is
    estimated from ``num_referrals`` referrals with coefficient of variation
    ``cv_demand``, demand is first raised by two standard errors, as in
    NHSRwaitinglist ``calc_relief_capacity``.

    Parameters
    ----------
    demand : float
        New referrals per week.
    queue_size : float
        Pathways on the list now.
    target_queue_size : float
        Pathways on the list wanted.
    time_to_target : float
        Weeks in which to reach the target size (default 26).
    num_referrals : float
        Referrals the demand was estimated from (0: demand taken as known).
    cv_demand : float
        Coefficient of variation of demand.

    Returns
    -------
    float
        Capacity per week.

    References
    ----------
    NHSRwaitinglist ``calc_relief_capacity``; Fong et al. (2022).
    """
    rate = _number(demand, "demand", non_negative=True)
    size = _number(queue_size, "queue_size", non_negative=True)
    target = _number(target_queue_size, "target_queue_size", non_negative=True)
    weeks = _number(time_to_target, "time_to_target", positive=True)
    n = _number(num_referrals, "num_referrals", non_negative=True)
    cv = _number(cv_demand, "cv_demand", non_negative=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(n > 0, 2 * rate * cv / np.sqrt(np.where(n > 0, n, 1)), 0.0)
        raised = np.where((n > 0) & (spread < 1), rate / (1 - spread), rate)
    return _out(raised + (size - target) / weeks)


def queue_load(demand: Number, capacity: Number) -> float | np.ndarray:
    """Referrals for every removal: ``demand / capacity`` (above 1 the list grows).

    References
    ----------
    NHSRwaitinglist ``calc_queue_load``.
    """
    return _out(_number(demand, "demand", non_negative=True)
                / _number(capacity, "capacity", positive=True))


def waiting_list_pressure(mean_wait: Number, target_wait: object) -> float | np.ndarray:
    """Twice the mean wait over the target wait, both in weeks (above 1: target at risk).

    For a percentile target the target's weeks are used, as the formula intends.

    References
    ----------
    NHSRwaitinglist ``calc_waiting_list_pressure``; Fong et al. (2022).
    """
    wait = _number(mean_wait, "mean_wait", non_negative=True)
    if isinstance(target_wait, (str, WaitTarget)):
        weeks = np.asarray(parse_wait_target(target_wait).weeks)
    else:
        weeks = _number(target_wait, "target_wait", positive=True)
    return _out(2 * wait / weeks)


def share_within(mean_wait: Number, weeks: Number) -> float | np.ndarray:
    """The share of pathways expected to wait no longer than ``weeks``.

    ``1 - exp(-weeks / mean_wait)``, the exponential distribution of waits that
    NHSRwaitinglist assumes.
    """
    mean = _number(mean_wait, "mean_wait", positive=True)
    return _out(-np.expm1(-_number(weeks, "weeks", non_negative=True) / mean))


@dataclass(frozen=True)
class WaitingListStats:
    """Queueing measures of one waiting list over a period; waits in weeks, rates per week."""

    mean_demand: float
    mean_capacity: float
    load: float
    load_too_big: bool
    count_demand: int
    queue_size: int
    target_queue_size: float
    queue_too_big: bool
    mean_wait: float
    cv_arrival: float
    cv_removal: float
    target_capacity: float | None
    relief_capacity: float | None
    pressure: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _days(values: Iterable[object], name: str) -> np.ndarray:
    """Dates (or ``None``) as day numbers; missing dates become NaN."""
    out = []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(math.nan)
        elif isinstance(value, datetime):
            out.append(float(value.date().toordinal()))
        elif isinstance(value, date):
            out.append(float(value.toordinal()))
        elif isinstance(value, np.datetime64):
            if np.isnat(value):
                out.append(math.nan)
            else:
                out.append(float(value.astype("datetime64[D]").astype(np.int64))
                           + date(1970, 1, 1).toordinal())
        elif isinstance(value, str):
            try:
                out.append(float(date.fromisoformat(value[:10]).toordinal()))
            except ValueError:
                raise ValidationError(f"'{value[:40]}' is not a date", row=i + 1, column=name,
                                      expected="YYYY-MM-DD") from None
        else:
            raise ValidationError("not a date", row=i + 1, column=name, expected="a date")
    return np.asarray(out, dtype=float)


def _cv(gaps: np.ndarray) -> float:
    if gaps.size < 2 or gaps.mean() == 0:
        return math.nan
    return float(gaps.std(ddof=1) / gaps.mean())


def waiting_list_stats(referrals: Iterable[object], removals: Iterable[object],
                       target_wait: object = 4, *, start_date: date | str | None = None,
                       end_date: date | str | None = None,
                       factor: Number | None = None) -> WaitingListStats:
    """Summarise a list of pathways (referral and removal dates) with queueing measures.

    The same summary as NHSRwaitinglist ``wl_stats``, with every wait in weeks:

    - demand: referrals per week, from the gaps between successive referrals in the
      period, counting the period's start and end as the first and last "arrival"
      (as the package does); ``cv_arrival`` is those gaps' coefficient of variation;
    - capacity: removals per week, from the gaps between successive removals in the
      period, the clock restarting when a referral joins an empty list (time with
      nobody waiting is not counted as service time); ``cv_removal`` likewise;
    - the list size and the mean wait (weeks) of the pathways still waiting at the
      end of the period;
    - target list size, target capacity (when the list is no more than twice its
      target size) or relief capacity (when it is), and the pressure, all from the
      functions above.

    Parameters
    ----------
    referrals, removals : sequences of dates
        One referral date and one removal date (``None`` if still waiting) per pathway.
    target_wait : float, str or WaitTarget
        The waiting-time target (weeks, or e.g. "92% within 18 weeks").
    start_date, end_date : date, optional
        The period; by default the first and last referral.
    factor : float, optional
        As in :func:`target_mean_wait`.

    Returns
    -------
    WaitingListStats

    References
    ----------
    NHSRwaitinglist ``wl_stats``, ``wl_referral_stats``, ``wl_removal_stats``;
    Fong et al. (2022).
    """
    referral = _days(referrals, "referral")
    removal = _days(removals, "removal")
    if referral.size == 0:
        raise ValidationError("the waiting list has no pathways", column="referral")
    if referral.size != removal.size:
        raise ValidationError("give one removal date (or none) for every referral",
                              column="removal")
    if np.isnan(referral).any():
        raise ValidationError("every pathway needs a referral date",
                              row=int(np.flatnonzero(np.isnan(referral))[0]) + 1,
                              column="referral")
    start = _days([start_date], "start_date")[0] if start_date is not None else referral.min()
    end = _days([end_date], "end_date")[0] if end_date is not None else referral.max()
    if end <= start:
        raise ValidationError("the end date must be after the start date", column="end_date")

    # Demand (per day, then per week).
    in_period = np.sort(referral[(referral >= start) & (referral <= end)])
    arrival_gaps = np.diff(np.concatenate([[start], in_period, [end]]))
    demand_weekly = 7.0 / arrival_gaps.mean()

    # Capacity: removal gaps, restarting the clock after the list was empty.
    events_day = np.concatenate([referral, removal[~np.isnan(removal)]])
    events_step = np.concatenate([np.ones(referral.size), -np.ones(int((~np.isnan(removal)).sum()))])
    order = np.lexsort((-events_step, events_day))  # arrivals before removals on a day
    step_sorted = events_step[order]
    size_after = np.cumsum(step_sorted)
    days_sorted = events_day[order]
    # The clock restarts at each removal and when a referral joins an empty list.
    joins_empty = (step_sorted > 0) & (size_after == 1)
    restart = np.where((step_sorted < 0) | joins_empty, days_sorted, -np.inf)
    clock_before = np.maximum(np.maximum.accumulate(np.concatenate([[-np.inf], restart[:-1]])),
                              start)
    counted = (step_sorted < 0) & (days_sorted >= start) & (days_sorted <= end)
    gap_array = (days_sorted - clock_before)[counted]
    capacity_weekly = 7.0 / gap_array.mean() if gap_array.size and gap_array.mean() > 0 else 0.0

    waiting = (referral <= end) & (np.isnan(removal) | (removal > end))
    q_size = int(waiting.sum())
    mean_wait_weeks = float((end - referral[waiting]).mean() / 7.0) if q_size else 0.0

    q_target = float(target_queue_size(demand_weekly, target_wait, factor))
    too_big = q_size > 2 * q_target
    cv_arrival = _cv(arrival_gaps)
    cv_removal = _cv(gap_array)
    target_cap = None
    relief_cap = None
    if too_big:
        relief_cap = float(relief_capacity(demand_weekly, q_size, q_target))
    elif math.isfinite(cv_arrival) and math.isfinite(cv_removal):
        target_cap = float(target_capacity(demand_weekly, target_wait, factor,
                                           cv_arrival, cv_removal))
    target_weeks = (parse_wait_target(target_wait).weeks
                    if isinstance(target_wait, (str, WaitTarget)) else float(target_wait))
    load = demand_weekly / capacity_weekly if capacity_weekly > 0 else math.inf
    return WaitingListStats(
        mean_demand=float(demand_weekly), mean_capacity=float(capacity_weekly),
        load=float(load), load_too_big=bool(load >= 1), count_demand=int(arrival_gaps.size),
        queue_size=q_size, target_queue_size=q_target, queue_too_big=bool(too_big),
        mean_wait=mean_wait_weeks, cv_arrival=cv_arrival, cv_removal=cv_removal,
        target_capacity=target_cap, relief_capacity=relief_cap,
        pressure=float(waiting_list_pressure(mean_wait_weeks, target_weeks)),
    )
