"""How well an opportunity suits each partner who is interested in it, with the reasons.

A lead sees the interested partners ranked by a score from 0 to 100, and beside each one
the reasons for it, in plain words: which of the lived experience asked for the person
has, whether they can take part in the way the opportunity runs and whether their access
needs can be met, and whether they are free at the right times for long enough.

The score is an additive value model (Keeney & Raiffa, *Decisions with Multiple
Objectives*, 1976): each criterion is scored from 0 to 1 and weighted,

    score = 100 × (0.45·experience + 0.30·access + 0.15·availability + 0.10·interest)

- experience: the share of the opportunity's asked-for experience areas (conditions,
  services used, caring) the person has; 1 when the opportunity asks for none;
- access: 0 when there is no way of taking part that works for the person; otherwise
  1 − ½ × (share of their in-person needs the venue does not meet), only counted when
  they would have to come in person;
- availability: ½ × (free at one of the opportunity's times) + ½ × min(1, hours they can
  give a month ÷ hours the opportunity needs a month);
- interest: 1 if the opportunity is about something they said they want to improve.

Partners who have not agreed to their answers being used for matching get no score and
are listed after the others, in the order they said they were interested. Ties keep that
order too, and share a rank. The function is pure: profiles in, ranking out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from voices.involve.questions import (
    AVAILABLE_HOURS,
    CONDITIONS,
    FORMATS,
    NONE,
    SERVICES_USED,
    TIMES,
    VENUE_NEEDS,
)

WEIGHTS = {"experience": 0.45, "access": 0.30, "availability": 0.15, "interest": 0.10}
CARER = "carer"


@dataclass(frozen=True)
class PartnerProfile:
    """What matching may use about a partner (only with their consent)."""

    conditions: frozenset[str] = frozenset()
    services_used: frozenset[str] = frozenset()
    caring_role: str | None = None
    interests: frozenset[str] = frozenset()
    formats: frozenset[str] = frozenset()
    venue_needs: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()
    availability: str | None = None
    adjustments: str = ""
    matching_consent: bool = True

    @property
    def is_carer(self) -> bool:
        return bool(self.caring_role) and self.caring_role not in (NONE, "prefer_not_to_say")


@dataclass(frozen=True)
class OpportunityNeeds:
    """What an opportunity asks for and offers."""

    conditions: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    carers: bool = False
    topics: frozenset[str] = frozenset()
    formats: frozenset[str] = frozenset({"in_person"})
    venue_provides: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()
    hours_per_month: float | None = None

    def experience_areas(self) -> set[str]:
        return set(self.conditions) | {f"service:{s}" for s in self.services} | \
            ({CARER} if self.carers else set())


@dataclass(frozen=True)
class Reason:
    """One reason behind a score: ``good`` True (counts for), False (against), None (note)."""

    criterion: str
    good: bool | None
    text: str


@dataclass(frozen=True)
class Match:
    score: float | None
    parts: dict[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class RankedPartner:
    key: object
    rank: int | None
    match: Match


def _short(label: str) -> str:
    """'Muscles, bones or joints, such as arthritis' -> 'muscles, bones or joints'."""
    for cut in (", such as", ", including"):
        label = label.split(cut)[0]
    first = label.split(" ", 1)[0]
    acronym = len(first) > 1 and first.isupper()          # A&E, COPD, MS
    return label if acronym else label[:1].lower() + label[1:]


def _words(codes: Sequence[str], labels: dict[str, str], joiner: str = "and") -> str:
    names = [_short(labels.get(c, c)) for c in codes]
    if len(names) <= 1:
        return "".join(names)
    comma = "; " if any("," in n for n in names) else ", "
    return comma.join(names[:-1]) + f" {joiner} " + names[-1]


def _experience(p: PartnerProfile, o: OpportunityNeeds) -> tuple[float, list[Reason]]:
    asked = o.experience_areas()
    if not asked:
        return 1.0, [Reason("experience", None, "The opportunity does not ask for "
                                                "particular experience")]
    conditions = sorted(p.conditions & o.conditions, key=list(CONDITIONS).index)
    services = sorted(p.services_used & o.services, key=list(SERVICES_USED).index)
    carer = o.carers and p.is_carer
    have = len(conditions) + len(services) + int(carer)
    parts = []
    if conditions:
        parts.append("experience of " + _words(conditions, CONDITIONS))
    if services:
        parts.append("has used " + _words(services, SERVICES_USED))
    if carer:
        parts.append("is a carer")
    share = have / len(asked)
    if not have:
        return 0.0, [Reason("experience", False, "None of the experience you asked for")]
    text = "; ".join(parts).capitalize() + f" ({have} of the {len(asked)} areas you asked for)"
    return share, [Reason("experience", True, text)]


def _access(p: PartnerProfile, o: OpportunityNeeds) -> tuple[float, list[Reason]]:
    common = p.formats & o.formats
    if not common:
        offered = _words(sorted(o.formats, key=list(FORMATS).index), FORMATS, "or")
        return 0.0, [Reason("access", False, f"Cannot take part by {offered}")]
    ways = sorted(common, key=list(FORMATS).index)
    in_person = "in_person" in common
    unmet = sorted(p.venue_needs - o.venue_provides, key=list(VENUE_NEEDS).index) \
        if in_person else []
    met = sorted(p.venue_needs & o.venue_provides, key=list(VENUE_NEEDS).index) \
        if in_person else []
    reasons = []
    score = 1.0
    if unmet and common == {"in_person"}:
        score = 1.0 - 0.5 * len(unmet) / len(p.venue_needs)
        reasons.append(Reason("access", False, "Needs " + _words(unmet, VENUE_NEEDS) +
                              ", which the venue does not have: arrange it first"))
    elif unmet:
        other = _words([w for w in ways if w != "in_person"], FORMATS, "or")
        reasons.append(Reason("access", True, f"Can take part by {other} (the venue does not "
                              f"have the {_words(unmet, VENUE_NEEDS)} they need)"))
    else:
        reasons.append(Reason("access", True, "Can take part by " + _words(ways, FORMATS,
                                                                             "or")))
    if met:
        reasons.append(Reason("access", True, "The venue has the " + _words(met, VENUE_NEEDS) +
                              " they need"))
    if p.adjustments:
        reasons.append(Reason("access", None, "Has asked for other support: read their "
                                              "answer before you invite them"))
    return score, reasons


def _availability(p: PartnerProfile, o: OpportunityNeeds) -> tuple[float, list[Reason]]:
    reasons = []
    if o.times:
        free = sorted(p.times & o.times, key=list(TIMES).index)
        times_ok = 1.0 if free else 0.0
        if free:
            reasons.append(Reason("availability", True, "Free on " + _words(free, TIMES)))
        else:
            reasons.append(Reason("availability", False, "Not free at the times it runs"))
    else:
        times_ok = 1.0
    hours_ok = 1.0
    if o.hours_per_month and p.availability in AVAILABLE_HOURS:
        can = AVAILABLE_HOURS[p.availability]
        hours_ok = min(1.0, can / o.hours_per_month)
        if hours_ok < 1.0:
            reasons.append(Reason("availability", False, f"Can give about {can:g} hours a "
                                  f"month; this needs {o.hours_per_month:g}"))
        else:
            reasons.append(Reason("availability", True, "Has enough time each month"))
    return 0.5 * times_ok + 0.5 * hours_ok, reasons


def _interest(p: PartnerProfile, o: OpportunityNeeds) -> tuple[float, list[Reason]]:
    if not o.topics:
        return 1.0, []
    if p.interests & o.topics:
        return 1.0, [Reason("interest", True, "Wants to help improve this")]
    return 0.0, []


def score(profile: PartnerProfile, needs: OpportunityNeeds) -> Match:
    """Score one partner for one opportunity, with the reasons.

    Parameters
    ----------
    profile : PartnerProfile
        The partner's answers. Without matching consent nothing about them is used.
    needs : OpportunityNeeds
        What the opportunity asks for and offers.

    Returns
    -------
    Match
        ``score`` from 0 to 100 (None without consent), each criterion's 0–1 value in
        ``parts`` and the reasons, strongest criterion first.

    References
    ----------
    Keeney, R. L. & Raiffa, H. (1976). *Decisions with Multiple Objectives: Preferences and
    Value Trade-offs*. Wiley. (Additive value model.)
    """
    if not profile.matching_consent:
        return Match(None, {}, (Reason("consent", None, "Has not agreed to their answers "
                                                        "being used to suggest a fit"),))
    parts: dict[str, float] = {}
    reasons: list[Reason] = []
    for name, criterion in (("experience", _experience), ("access", _access),
                            ("availability", _availability), ("interest", _interest)):
        value, why = criterion(profile, needs)
        parts[name] = value
        reasons.extend(why)
    total = 100.0 * sum(WEIGHTS[name] * value for name, value in parts.items())
    return Match(round(total, 6), parts, tuple(reasons))


def rank(candidates: Sequence[tuple[object, PartnerProfile, dt.datetime]],
         needs: OpportunityNeeds) -> list[RankedPartner]:
    """Rank interested partners: highest score first; ties, and partners without a score
    (no matching consent), in the order they said they were interested. Tied scores share
    a rank (1, 2, 2, 4); partners without a score have no rank.

    Parameters
    ----------
    candidates : sequence of (key, profile, when they said they were interested)
    needs : OpportunityNeeds
    """
    scored = [(key, score(profile, needs), when) for key, profile, when in candidates]
    with_score = sorted((c for c in scored if c[1].score is not None),
                        key=lambda c: (-c[1].score, c[2]))
    without = sorted((c for c in scored if c[1].score is None), key=lambda c: c[2])
    ranked: list[RankedPartner] = []
    previous, current_rank = None, 0
    for position, (key, match, _) in enumerate(with_score, start=1):
        if previous is None or abs(match.score - previous) > 1e-9:
            current_rank = position
            previous = match.score
        ranked.append(RankedPartner(key, current_rank, match))
    ranked.extend(RankedPartner(key, None, match) for key, match, _ in without)
    return ranked
