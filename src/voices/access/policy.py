"""Prioritisation policies: read, check, rank and explain.

A policy is a short YAML file that says how a waiting list is ordered. Ordering works
like this (all of it is in the file, so anyone can inspect it):

1. **Accumulating priority.** Every pathway earns priority points while it waits, at a
   rate set for its clinical priority (for example 1.5 points a week for P2, 1 for P4),
   and may start with a *head start* of points for its priority. Its score is::

       score = head_start + rate × (1 + increase) × weeks waited

   and the list is ordered by score, highest first (ties: longer wait first, then
   pathway id). This is the accumulating priority queue of Stanford, Taylor & Ziedins
   (2014): priority grows with time at a class-dependent rate, so less urgent pathways
   are not left behind for ever.

2. **Social factors** raise the rate, never the score directly, by named, bounded
   amounts: for example "lives in one of the 20% most deprived areas: +10%". Each
   increase is at most 50%; together they are capped by ``max_total_increase``. A factor
   only applies when the pathway's value is known; unknown values get no increase and
   the explanation says so.

3. **The clinical safeguard.** Clinical priority comes first: a pathway may be placed
   ahead of a pathway with a *more urgent* clinical priority only if it has waited at
   least ``min_extra_weeks`` weeks longer (``never`` forbids it altogether). The bound
   is stated in the policy, for every pair of priorities or per pair, and checked when
   the policy is read: a policy whose rates, head starts or social factors could ever
   break it is refused, with the YAML key at fault and a worked example.

   For a more urgent priority ``p`` and a less urgent ``q`` with bound ``X`` weeks, let
   ``r_p`` be p's rate and ``R_q`` the fastest rate any q pathway can reach (its rate
   times one plus its largest total increase). The safeguard holds for every pair of
   pathways and every wait **if and only if** ``R_q ≤ r_p`` and
   ``head_start_p − head_start_q ≥ R_q × X``. (If ``R_q > r_p`` a q pathway eventually
   gains on any p pathway without limit; if the head-start gap is smaller, a q pathway
   that has waited just under ``X`` weeks overtakes a p pathway just added.)

   P5 and P6 (patients who chose to wait) are not ordered against each other.

References
----------
- Stanford, D. A., Taylor, P. & Ziedins, I. (2014). Waiting time distributions in the
  accumulating priority queue. *Queueing Systems* 77, 297-330.
- Kleinrock, L. (1964). A delay dependent queue discipline. *Naval Research Logistics
  Quarterly* 11, 329-341 (time-dependent priorities).
- Federation of Surgical Specialty Associations, clinical prioritisation P1a-P6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from voices.access.snapshot import PRIORITIES, PRIORITY_MEANINGS, Snapshot
from voices.errors import Problem, ValidationError

DEFERRED = ("P5", "P6")
"""Priorities of patients who chose to wait: not ordered against each other."""

MAX_RATE = 10.0
MAX_HEAD_START = 100_000.0
MAX_FACTOR_INCREASE = 0.5
MAX_TOTAL_INCREASE = 1.0
MAX_BOUND_WEEKS = 520.0
_NEVER_GAP = 1.0e7  # points between tiers when overtaking is never allowed

FACTOR_FIELDS: dict[str, str] = {
    "imd_decile": "deprivation",
    "imd_quintile": "deprivation",
    "learning_disability": "learning disability or autism",
    "interpreter_needed": "interpreter need",
    "carer": "carer status",
}
"""Pathway fields a social factor may test, with the words used when one is not known.

Ethnicity, sex and age are measured (see :mod:`voices.access.waits`) but are not offered
as factors: ranking directly on a protected characteristic needs a specific lawful basis
that a policy file cannot show."""

_TOP_KEYS = ("name", "description", "clinical_priorities", "safeguard", "social_factors",
             "max_total_increase")


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class SocialFactor:
    """A named, bounded increase to the rate at which priority grows."""

    name: str
    describe: str
    when: Mapping[str, tuple]
    rate_increase: float
    applies_to: tuple[str, ...] = PRIORITIES

    def fields(self) -> tuple[str, ...]:
        return tuple(self.when)


@dataclass(frozen=True)
class Policy:
    """A checked prioritisation policy (see the module docstring for the rules)."""

    name: str
    rates: Mapping[str, float]
    head_starts: Mapping[str, float]
    min_extra_weeks: float | None
    pair_bounds: Mapping[tuple[str, str], float] = field(default_factory=dict)
    social_factors: tuple[SocialFactor, ...] = ()
    max_total_increase: float = 0.5
    description: str = ""
    source: str = ""

    def bound(self, urgent: str, other: str) -> float | None:
        """Weeks longer a pathway of ``other`` must have waited to go ahead of ``urgent``.

        ``None`` means never.
        """
        if self.min_extra_weeks is None:
            return None
        return self.pair_bounds.get((urgent, other), self.min_extra_weeks)

    def largest_increase(self, code: str) -> float:
        """The largest total increase any pathway of priority ``code`` can receive."""
        total = sum(f.rate_increase for f in self.social_factors if code in f.applies_to)
        return min(total, self.max_total_increase)

    def tier(self, code: str) -> int:
        """Tier of a priority when overtaking is never allowed (0 = served first)."""
        index = PRIORITIES.index(code)
        return min(index, PRIORITIES.index(DEFERRED[0]))

    def tier_offset(self, code: str) -> float:
        """Points added to keep tiers apart when overtaking is never allowed (else 0)."""
        if self.min_extra_weeks is None:
            return (self.tier(DEFERRED[0]) - self.tier(code)) * _NEVER_GAP
        return 0.0

    def terms(self, priority_index: np.ndarray, attributes: Mapping[str, np.ndarray],
              ) -> PolicyTerms:
        """Each pathway's rate, head start and social increase under this policy.

        Parameters
        ----------
        priority_index : array of int
            Index into :data:`PRIORITIES` for each pathway.
        attributes : mapping of arrays
            ``imd_decile`` (0 = not known, else 1-10), ``learning_disability``,
            ``interpreter_needed``, ``carer`` (-1 not known, 0 no, 1 yes). Missing keys
            are treated as not known for every pathway.

        Returns
        -------
        PolicyTerms
        """
        n = priority_index.shape[0]
        idx = np.asarray(priority_index, dtype=np.intp)
        factors = self.social_factors
        matched = np.zeros((n, len(factors)), dtype=bool)
        unknown = np.zeros((n, len(factors)), dtype=bool)
        total = np.zeros(n, dtype=np.float64)
        for j, factor in enumerate(factors):
            hit, missing = _factor_matches(factor, attributes, n)
            in_band = np.isin(idx, [PRIORITIES.index(c) for c in factor.applies_to])
            matched[:, j] = hit & in_band
            unknown[:, j] = missing & in_band
            total += np.where(matched[:, j], factor.rate_increase, 0.0)
        increase = np.minimum(total, self.max_total_increase)
        rate_table = np.array([self.rates[c] for c in PRIORITIES], dtype=np.float64)
        head_table = np.array([self.head_starts[c] for c in PRIORITIES], dtype=np.float64)
        tier_table = np.array([self.tier_offset(c) for c in PRIORITIES], dtype=np.float64)
        return PolicyTerms(rate=rate_table[idx] * (1.0 + increase), head_start=head_table[idx],
                           tier_offset=tier_table[idx], increase=increase,
                           capped=total > self.max_total_increase + 1e-12,
                           matched=matched, unknown=unknown)

    def summary(self) -> list[str]:
        """The policy in plain sentences, for pages and reports."""
        lines = []
        for code in PRIORITIES:
            lines.append(f"{code} ({PRIORITY_MEANINGS[code]}): starts with "
                         f"{_num(self.head_starts[code])} points and gains "
                         f"{_num(self.rates[code])} a week.")
        if self.min_extra_weeks is None:
            lines.append("A pathway is never placed ahead of one with a more urgent "
                         "clinical priority.")
        else:
            lines.append("A pathway may be placed ahead of one with a more urgent clinical "
                         f"priority only if it has waited at least "
                         f"{_num(self.min_extra_weeks)} weeks longer.")
            for (p, q), weeks in self.pair_bounds.items():
                lines.append(f"A {q} pathway may be placed ahead of a {p} pathway only if it "
                             f"has waited at least {_num(weeks)} weeks longer.")
        for f in self.social_factors:
            lines.append(f"{f.describe[:1].upper() + f.describe[1:]} adds "
                         f"{_pct(f.rate_increase)} to the rate at which priority grows"
                         + ("" if set(f.applies_to) == set(PRIORITIES)
                            else f" (for {', '.join(f.applies_to)})") + ".")
        if self.social_factors:
            lines.append(f"Social increases together are capped at "
                         f"{_pct(self.max_total_increase)}.")
        return lines


@dataclass(frozen=True)
class PolicyTerms:
    """Per-pathway results of :meth:`Policy.terms` (NumPy arrays of one entry a pathway).

    ``rate`` is points gained a week including the social increase; ``head_start`` is in
    points; ``tier_offset`` keeps priorities apart in "never" policies (0 otherwise);
    ``increase`` is the capped total social increase; ``capped`` where the cap bit;
    ``matched`` and ``unknown`` are ``(pathways, factors)`` flags (``unknown``: the
    factor could apply but a value it needs is not known).
    """

    rate: np.ndarray
    head_start: np.ndarray
    tier_offset: np.ndarray
    increase: np.ndarray
    capped: np.ndarray
    matched: np.ndarray
    unknown: np.ndarray

    def score(self, weeks_waited: np.ndarray) -> np.ndarray:
        """The priority score shown to people: head start + rate × weeks waited."""
        return self.head_start + self.rate * np.asarray(weeks_waited, dtype=np.float64)

    def order_key(self, weeks_waited: np.ndarray) -> np.ndarray:
        """The key the list is sorted by (highest first): the score plus any tier offset."""
        return self.tier_offset + self.score(weeks_waited)


def _factor_matches(factor: SocialFactor, attributes: Mapping[str, np.ndarray],
                    n: int) -> tuple[np.ndarray, np.ndarray]:
    """Where a factor applies, and where it might but a value it needs is not known."""
    fits = np.ones(n, dtype=bool)       # every known value fits
    missing = np.zeros(n, dtype=bool)   # some value is not known
    for key, allowed in factor.when.items():
        if key in ("imd_decile", "imd_quintile"):
            decile = np.asarray(attributes.get("imd_decile", np.zeros(n, np.int8)))
            value = decile if key == "imd_decile" else (decile + 1) // 2
            known = decile > 0
        else:
            value = np.asarray(attributes.get(key, np.full(n, -1, np.int8)))
            known = value >= 0
            allowed = tuple(int(bool(a)) for a in allowed)
        fits &= ~known | np.isin(value, allowed)
        missing |= ~known
    return fits & ~missing, fits & missing


def _num(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _pct(x: float) -> str:
    return f"{x * 100:.4g}%"


# --------------------------------------------------------------------------- reading YAML


def read_policy(path: str | Path) -> Policy:
    """Read and check a policy file (see :func:`parse_policy`)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError("the policy file was not found", file=str(path),
                              code="file_not_found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ValidationError("the policy file could not be read as text", file=path.name,
                              code="unreadable_file") from None
    return parse_policy(text, source=path.name)


def _key_lines(node, prefix: str = "", out: dict | None = None) -> dict[str, int]:
    """Map each key path ('a.b', 'list[0].c') in a composed YAML tree to its 1-based line."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = f"{prefix}.{key}" if prefix else key
            out.setdefault(path, key_node.start_mark.line + 1)
            _key_lines(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            out.setdefault(path, item.start_mark.line + 1)
            _key_lines(item, path, out)
    return out


def parse_policy(text: str, *, source: str = "policy.yaml") -> Policy:
    """Read a policy from YAML text and check it, the safeguard included.

    Parameters
    ----------
    text : str
        The YAML.
    source : str
        File name for messages.

    Returns
    -------
    Policy

    Raises
    ------
    ValidationError
        Naming the YAML key at fault (``column``) and its line (``row``), for every
        problem found.
    """
    if not isinstance(text, str):
        raise ValidationError("the policy must be YAML text", file=source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "the file is not valid YAML"
        raise ValidationError(f"the policy is not valid YAML: {problem}", file=source,
                              row=mark.line + 1 if mark else None,
                              code="invalid_yaml") from None
    except Exception:  # noqa: BLE001 - e.g. recursion on hostile input
        raise ValidationError("the policy is not valid YAML", file=source,
                              code="invalid_yaml") from None
    lines = _key_lines(root) if root is not None else {}
    return policy_from_dict(data, source=source, lines=lines)


class _Checker:
    """Collects located problems while a policy is read."""

    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, key: str, message: str, expected: str | None = None) -> None:
        line = self.lines.get(key)
        probe = key
        while line is None and ("." in probe or "[" in probe):
            probe = probe[: max(probe.rfind("."), probe.rfind("["))]
            line = self.lines.get(probe)
        self.problems.append(Problem(message, file=self.source, row=line, column=key,
                                     expected=expected))

    def number(self, value: object, key: str, *, low: float, high: float,
               low_open: bool = False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            self.add(key, f"{key} must be a number", f"a number from {_num(low)} to "
                                                     f"{_num(high)}")
            return None
        if value < low or value > high or (low_open and value == low):
            relation = "more than" if low_open else "at least"
            self.add(key, f"{key} is {_num(value)}, out of range",
                     f"a number {relation} {_num(low)} and at most {_num(high)}")
            return None
        return float(value)

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationError(problems=self.problems, code="invalid_policy")


def policy_from_dict(data: object, *, source: str = "policy.yaml",
                     lines: Mapping[str, int] | None = None) -> Policy:
    """Build and check a policy from parsed YAML (a dict). See :func:`parse_policy`."""
    check = _Checker(source, lines or {})
    if not isinstance(data, dict):
        check.add("name", "the policy must be a set of keys such as name and "
                          "clinical_priorities", "a YAML mapping")
        check.raise_if_any()
    for key in data:
        if key not in _TOP_KEYS:
            check.add(str(key), f"'{key}' is not a policy setting",
                      "one of " + ", ".join(_TOP_KEYS))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        check.add("name", "the policy needs a name", "a name of up to 100 characters")
    description = data.get("description", "")
    if not isinstance(description, str):
        check.add("description", "the description must be text")
        description = ""

    min_extra, pairs = _read_safeguard(data.get("safeguard"), check)
    rates, heads = _read_priorities(data.get("clinical_priorities"), check,
                                    head_required=min_extra is not None)
    factors = _read_factors(data.get("social_factors", []), check)
    cap = data.get("max_total_increase", 0.5)
    cap = check.number(cap, "max_total_increase", low=0, high=MAX_TOTAL_INCREASE)
    check.raise_if_any()

    policy = Policy(name=name.strip(), rates=rates, head_starts=heads,
                    min_extra_weeks=min_extra, pair_bounds=pairs,
                    social_factors=tuple(factors), max_total_increase=cap,
                    description=description.strip(), source=source)
    for key, message, expected in safeguard_breaches(policy):
        check.add(key, message, expected)
    check.raise_if_any()
    return policy


def _read_safeguard(raw: object, check: _Checker) -> tuple[float | None, dict]:
    if not isinstance(raw, dict):
        check.add("safeguard", "the policy needs a safeguard saying how far a less urgent "
                               "pathway may go ahead of a more urgent one",
                  "safeguard: {min_extra_weeks: <weeks or never>}")
        return 0.0, {}
    for key in raw:
        if key not in ("min_extra_weeks", "pairs"):
            check.add(f"safeguard.{key}", f"'{key}' is not a safeguard setting",
                      "min_extra_weeks or pairs")
    value = raw.get("min_extra_weeks")
    if isinstance(value, str) and value.strip().lower() == "never":
        if raw.get("pairs"):
            check.add("safeguard.pairs", "pairs cannot loosen a safeguard of 'never'",
                      "no pairs when min_extra_weeks is never")
        return None, {}
    weeks = check.number(value, "safeguard.min_extra_weeks", low=0, high=MAX_BOUND_WEEKS)
    pairs: dict[tuple[str, str], float] = {}
    items = raw.get("pairs", []) or []
    if not isinstance(items, list):
        check.add("safeguard.pairs", "pairs must be a list", "a list of {urgent, other, "
                                                             "min_extra_weeks}")
        items = []
    for i, item in enumerate(items):
        key = f"safeguard.pairs[{i}]"
        if not isinstance(item, dict) or set(item) != {"urgent", "other", "min_extra_weeks"}:
            check.add(key, "each pair needs urgent, other and min_extra_weeks",
                      "{urgent: P2, other: P4, min_extra_weeks: 26}")
            continue
        urgent, other = item["urgent"], item["other"]
        if urgent not in PRIORITIES or other not in PRIORITIES:
            check.add(key, "urgent and other must be clinical priority codes",
                      "codes from " + ", ".join(PRIORITIES))
            continue
        if PRIORITIES.index(urgent) >= PRIORITIES.index(other) or \
                (urgent in DEFERRED and other in DEFERRED):
            check.add(f"{key}.urgent", f"{urgent} is not more urgent than {other}",
                      "the more urgent priority first")
            continue
        bound = check.number(item["min_extra_weeks"], f"{key}.min_extra_weeks", low=0,
                             high=MAX_BOUND_WEEKS)
        if bound is not None and weeks is not None and bound < weeks:
            check.add(f"{key}.min_extra_weeks",
                      f"a pair may only make the safeguard stricter ({_num(bound)} weeks is "
                      f"less than the general {_num(weeks)})",
                      f"at least {_num(weeks)} weeks")
        elif bound is not None:
            pairs[(urgent, other)] = bound
    return (weeks if weeks is not None else 0.0), pairs


def _read_priorities(raw: object, check: _Checker, *, head_required: bool,
                     ) -> tuple[dict[str, float], dict[str, float]]:
    rates = {c: 1.0 for c in PRIORITIES}
    heads = {c: 0.0 for c in PRIORITIES}
    if not isinstance(raw, dict):
        check.add("clinical_priorities", "the policy needs a rate for each clinical priority",
                  ", ".join(PRIORITIES) + " each with rate and head_start")
        return rates, heads
    for key in raw:
        if key not in PRIORITIES:
            check.add(f"clinical_priorities.{key}", f"'{key}' is not a clinical priority code",
                      "one of " + ", ".join(PRIORITIES))
    for code in PRIORITIES:
        key = f"clinical_priorities.{code}"
        entry = raw.get(code)
        if not isinstance(entry, dict):
            check.add(key, f"{code} needs a rate and a head start",
                      "{rate: <points a week>, head_start: <points>}")
            continue
        for extra in entry:
            if extra not in ("rate", "head_start"):
                check.add(f"{key}.{extra}", f"'{extra}' is not a priority setting",
                          "rate or head_start")
        rate = check.number(entry.get("rate"), f"{key}.rate", low=0, high=MAX_RATE,
                            low_open=True)
        if rate is not None:
            rates[code] = rate
        if "head_start" in entry or head_required:
            head = check.number(entry.get("head_start", 0), f"{key}.head_start", low=0,
                                high=MAX_HEAD_START)
            if head is not None:
                heads[code] = head
    return rates, heads


def _read_factors(raw: object, check: _Checker) -> list[SocialFactor]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        check.add("social_factors", "social_factors must be a list", "a list of factors")
        return []
    factors: list[SocialFactor] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        key = f"social_factors[{i}]"
        if not isinstance(item, dict):
            check.add(key, "each social factor needs a name, when and rate_increase")
            continue
        for extra in item:
            if extra not in ("name", "describe", "when", "rate_increase", "applies_to"):
                check.add(f"{key}.{extra}", f"'{extra}' is not a social factor setting",
                          "name, describe, when, rate_increase or applies_to")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            check.add(f"{key}.name", "the social factor needs a name")
            name = f"factor {i + 1}"
        elif name in names:
            check.add(f"{key}.name", f"two social factors are called '{name}'",
                      "a different name for each")
        names.add(name)
        describe = item.get("describe", name)
        if not isinstance(describe, str) or not describe.strip() or len(describe) > 120:
            check.add(f"{key}.describe", "describe must be a short phrase",
                      "up to 120 characters, e.g. 'most-deprived decile'")
            describe = str(name)
        increase = check.number(item.get("rate_increase"), f"{key}.rate_increase", low=0,
                                high=MAX_FACTOR_INCREASE, low_open=True)
        when = _read_when(item.get("when"), f"{key}.when", check)
        applies = item.get("applies_to", list(PRIORITIES))
        if not isinstance(applies, list) or not applies or \
                any(a not in PRIORITIES for a in applies):
            check.add(f"{key}.applies_to", "applies_to must list clinical priority codes",
                      "for example [P3, P4]")
            applies = list(PRIORITIES)
        if increase is not None and when is not None:
            factors.append(SocialFactor(name=name.strip(), describe=describe.strip(),
                                        when=when, rate_increase=increase,
                                        applies_to=tuple(dict.fromkeys(applies))))
    return factors


def _read_when(raw: object, key: str, check: _Checker) -> dict[str, tuple] | None:
    if not isinstance(raw, dict) or not raw:
        check.add(key, "when must say which pathways the factor applies to",
                  "for example {imd_decile: [1, 2]} or {learning_disability: true}")
        return None
    out: dict[str, tuple] = {}
    for field_name, value in raw.items():
        sub = f"{key}.{field_name}"
        if field_name not in FACTOR_FIELDS:
            check.add(sub, f"'{field_name}' cannot be used in a social factor",
                      "one of " + ", ".join(FACTOR_FIELDS))
            continue
        if field_name in ("imd_decile", "imd_quintile"):
            top = 10 if field_name == "imd_decile" else 5
            values = value if isinstance(value, list) else [value]
            if not values or any(isinstance(v, bool) or not isinstance(v, int)
                                 or not 1 <= v <= top for v in values):
                check.add(sub, f"{field_name} must list whole numbers from 1 to {top}",
                          "for example [1, 2]")
                continue
            out[field_name] = tuple(sorted(set(values)))
        else:
            if not isinstance(value, bool):
                check.add(sub, f"{field_name} must be true or false")
                continue
            out[field_name] = (value,)
    return out or None


# --------------------------------------------------------------------------- the safeguard


def _worst_rate(policy: Policy, code: str) -> float:
    return policy.rates[code] * (1.0 + policy.largest_increase(code))


def safeguard_pairs() -> list[tuple[str, str]]:
    """Every (more urgent, less urgent) pair the safeguard covers."""
    return [(p, q) for i, p in enumerate(PRIORITIES) for q in PRIORITIES[i + 1:]
            if not (p in DEFERRED and q in DEFERRED)]


def safeguard_breaches(policy: Policy) -> list[tuple[str, str, str]]:
    """Where a policy's numbers could break its own safeguard.

    Returns a list of ``(yaml key, plain message, what is expected)``; empty when the
    safeguard holds for every pair of pathways and every wait. See the module docstring
    for the exact conditions, which are both necessary and sufficient.
    """
    out = []
    for p, q in safeguard_pairs():
        bound = policy.bound(p, q)
        if bound is None:
            continue
        fastest = _worst_rate(policy, q)
        gap = policy.head_starts[p] - policy.head_starts[q]
        rule = (f"a {q} pathway may go ahead of a {p} pathway only if it has waited at least "
                f"{_num(bound)} weeks longer")
        if fastest > policy.rates[p] + 1e-12:
            example = _example_faster(policy, p, q, bound, fastest)
            if policy.rates[q] > policy.rates[p]:
                key = f"clinical_priorities.{q}.rate"
                cause = (f"{q} pathways gain priority faster ({_num(policy.rates[q])} points a "
                         f"week) than {p} pathways ({_num(policy.rates[p])} a week)")
                fix = f"a {q} rate of at most {_num(policy.rates[p])}"
            else:
                key = _factor_key(policy, q)
                cause = (f"with social factors (up to {_pct(policy.largest_increase(q))}) a {q} "
                         f"pathway can gain priority at {_num(fastest)} points a week, faster "
                         f"than a {p} pathway's {_num(policy.rates[p])}")
                fix = (f"smaller increases for {q}, a lower max_total_increase, or a {p} rate of "
                       f"at least {_num(fastest)}")
            message = (f"{cause}, so in time a {q} pathway would be placed ahead of a {p} "
                       f"pathway that has waited longer than the safeguard allows ({rule}). "
                       f"{example}")
            out.append((key, message, fix))
        elif gap < fastest * bound - 1e-9:
            need = policy.head_starts[q] + fastest * bound
            example = _example_head_start(policy, p, q, bound, fastest)
            message = (f"the head start of {p} ({_num(policy.head_starts[p])}) is too small: "
                       f"a {q} pathway could be placed ahead of a {p} pathway without having "
                       f"waited {_num(bound)} weeks longer ({rule}). {example}")
            out.append((f"clinical_priorities.{p}.head_start", message,
                        f"a {p} head_start of at least {_num(need)}"))
    return out


def _factor_key(policy: Policy, code: str) -> str:
    for i, factor in enumerate(policy.social_factors):
        if code in factor.applies_to:
            return f"social_factors[{i}].rate_increase"
    return "max_total_increase"


def _example_faster(policy: Policy, p: str, q: str, bound: float, fastest: float) -> str:
    """A worked example: a q pathway ahead of a p pathway it has not out-waited by ``bound``.

    With whole weeks ``w_q`` and ``w_p = floor(w_q - bound) + 1`` (so ``w_q - w_p`` is
    under the bound), q is ahead once ``(R_q - r_p) w_q > H_p - H_q + r_p (1 - bound)``.
    """
    rp = policy.rates[p]
    need = (policy.head_starts[p] - policy.head_starts[q] + rp * (1 - bound)) / (fastest - rp)
    wq = max(math.floor(need) + 2, math.ceil(bound), 1)
    wp = math.floor(wq - bound) + 1
    return (f"For example, a {q} pathway{_with_factors(policy, q)} waiting {_weeks(wq)} "
            f"would be placed ahead of a {p} pathway waiting {_weeks(wp)}.")


def _example_head_start(policy: Policy, p: str, q: str, bound: float, fastest: float) -> str:
    wq = (policy.head_starts[p] - policy.head_starts[q]) / fastest
    days = math.floor(wq * 7) + 1
    if days >= bound * 7:
        return ""
    return (f"For example, a {q} pathway{_with_factors(policy, q)} waiting {days} "
            f"day{'s' if days != 1 else ''} would be placed ahead of a {p} pathway added "
            "today.")


def _weeks(n: int) -> str:
    return f"{n} week" if n == 1 else f"{n} weeks"


def _with_factors(policy: Policy, code: str) -> str:
    if policy.largest_increase(code) <= 0:
        return ""
    names = [f.describe for f in policy.social_factors if code in f.applies_to]
    return " (" + " and ".join(names) + ")"


# --------------------------------------------------------------------------- ranking


def snapshot_attributes(frame: pl.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Priority indices and factor attributes of a snapshot frame, as NumPy arrays."""
    priority = frame["clinical_priority"].cast(pl.String).replace_strict(
        {c: i for i, c in enumerate(PRIORITIES)}, return_dtype=pl.Int8).to_numpy()
    attrs = {"imd_decile": frame["imd_decile"].fill_null(0).cast(pl.Int8).to_numpy()}
    for name in ("learning_disability", "interpreter_needed", "carer"):
        attrs[name] = frame[name].cast(pl.Int8).fill_null(-1).to_numpy()
    return priority, attrs


def rank(snapshot: Snapshot, policy: Policy) -> pl.DataFrame:
    """Order a snapshot's pathways by a policy and explain every position.

    Parameters
    ----------
    snapshot : Snapshot
    policy : Policy

    Returns
    -------
    polars.DataFrame
        One row per pathway, in order: ``position`` (1 = next to be offered treatment),
        ``pathway_id``, ``treatment_function_code``, ``specialty_position`` (position
        among pathways of the same treatment function), ``clinical_priority``,
        ``days_waited``, ``weeks_waited`` (whole weeks), ``score``, ``rate`` (points a week, with the
        social increase), ``social_increase`` (fraction), and ``explanation``, e.g.
        "P3; waiting 41 weeks; most-deprived decile adds 10% to the rate at which
        priority grows; position 212 of 18,040".

    References
    ----------
    Stanford, Taylor & Ziedins (2014), accumulating priority queue.
    """
    frame = snapshot.frame
    priority, attrs = snapshot_attributes(frame)
    terms = policy.terms(priority, attrs)
    weeks = frame["weeks_waited"].to_numpy()
    score = terms.score(weeks)
    key = terms.order_key(weeks)
    n = frame.height
    phrases = _factor_phrases(policy, terms)
    ranked = frame.select("pathway_id", "treatment_function_code", "clinical_priority",
                          "days_waited").with_columns(
        pl.Series("_key", key), pl.Series("score", score), pl.Series("rate", terms.rate),
        pl.Series("social_increase", terms.increase), pl.Series("_factors", phrases),
    ).sort(["_key", "days_waited", "pathway_id"], descending=[True, True, False])
    ranked = ranked.with_columns(
        pl.int_range(1, n + 1, dtype=pl.Int64).alias("position"),
        (pl.col("days_waited") // 7).alias("weeks_waited"),
    ).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("treatment_function_code")
        .alias("specialty_position"))
    total = f"{n:,}"
    ranked = ranked.with_columns(pl.concat_str([
        pl.col("clinical_priority").cast(pl.String), pl.lit("; waiting "),
        pl.col("weeks_waited").cast(pl.String),
        pl.when(pl.col("weeks_waited") == 1).then(pl.lit(" week")).otherwise(pl.lit(" weeks")),
        pl.col("_factors"), pl.lit("; position "),
        _thousands(pl.col("position")), pl.lit(f" of {total}")]).alias("explanation"))
    return ranked.select("position", "pathway_id", "treatment_function_code",
                         "specialty_position", "clinical_priority", "days_waited",
                         "weeks_waited", "score",
                         "rate", "social_increase", "explanation")


def _thousands(value: pl.Expr) -> pl.Expr:
    """Whole numbers below a billion written with thousands commas (12,345,678)."""
    millions, thousands, units = value // 1_000_000, value // 1000 % 1000, value % 1000

    def pad(x: pl.Expr) -> pl.Expr:
        return x.cast(pl.String).str.zfill(3)

    return (pl.when(value >= 1_000_000)
            .then(pl.concat_str([millions.cast(pl.String), pl.lit(","), pad(thousands),
                                 pl.lit(","), pad(units)]))
            .when(value >= 1000)
            .then(pl.concat_str([thousands.cast(pl.String), pl.lit(","), pad(units)]))
            .otherwise(value.cast(pl.String)))


def _factor_phrases(policy: Policy, terms: PolicyTerms) -> list[str]:
    """'; most-deprived decile adds 10% to the rate…' for each pathway (by pattern)."""
    if not policy.social_factors:
        return [""] * terms.rate.shape[0]
    n_factors = len(policy.social_factors)
    weights = (1 << np.arange(n_factors, dtype=np.int64))
    matched_key = terms.matched.astype(np.int64) @ weights
    unknown_key = terms.unknown.astype(np.int64) @ weights
    key = matched_key * (1 << n_factors) * 2 + unknown_key * 2 + terms.capped.astype(np.int64)
    unique, inverse = np.unique(key, return_inverse=True)
    texts = []
    for k in unique:
        capped = bool(k & 1)
        unknown_bits = (k >> 1) & ((1 << n_factors) - 1)
        matched_bits = k >> (n_factors + 1)
        parts = []
        hits = [f for j, f in enumerate(policy.social_factors) if matched_bits >> j & 1]
        if hits:
            if len(hits) == 1:
                parts.append(f"{hits[0].describe} adds {_pct(hits[0].rate_increase)} to the "
                             "rate at which priority grows")
            else:
                joined = " and ".join(f"{f.describe} ({_pct(f.rate_increase)})" for f in hits)
                parts.append(f"{joined} add to the rate at which priority grows")
            if capped:
                parts.append(f"together capped at {_pct(policy.max_total_increase)}")
        missing = []
        for j, f in enumerate(policy.social_factors):
            if unknown_bits >> j & 1:
                for field_name in f.fields():
                    words = FACTOR_FIELDS[field_name]
                    if words not in missing:
                        missing.append(words)
        if missing:
            parts.append(" and ".join(missing) + " not known, so no increase for "
                         + ("it" if len(missing) == 1 else "them"))
        texts.append("".join("; " + p for p in parts))
    return [texts[i] for i in inverse]
