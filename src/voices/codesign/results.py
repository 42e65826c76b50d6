"""What a conversation found, as plain data: the stored summary of an opinion map, and the
published view of it that pages and reports show.

Pure functions (NumPy and dataclasses; no database, no web):

* :func:`summarise_map` turns an :class:`~voices.codesign.opinion.OpinionMapResult` and
  the participants' answers to the optional questions into a JSON-able summary with
  **exact** counts (stored, never shown as is outside the analyst role);
* :func:`published_results` turns that summary into what is shown to anyone: every count
  of people goes through disclosure control (:func:`voices.equity.disclose_counts`), and
  every percentage and interval is worked out from the rounded counts only.

References
----------
Group-informed consensus and representative statements follow Pol.is (see
:mod:`voices.codesign.statements`). Intervals are Wilson (1927) score intervals; the test of
whether equity groups differ is Pearson's chi-square test with Holm's correction (see
:func:`voices.codesign.statements.agreement_by_attribute`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from voices.codesign.opinion import OpinionMapResult
from voices.codesign.statements import (
    agreement_by_attribute,
    consensus_ranking,
    group_informed_consensus,
    group_vote_counts,
    representativeness,
    select_representative,
    wilson_interval,
)
from voices.equity import SUPPRESSED, disclose_counts
from voices.equity.dimensions import DIMENSIONS, NOT_KNOWN, PREFER_NOT_TO_SAY

#: the optional questions a conversation may ask, in the order they are asked
QUESTIONS = ("age_band", "ethnic_group", "imd_quintile", "disability")
UNKNOWN_ANSWERS = frozenset({None, "", NOT_KNOWN, PREFER_NOT_TO_SAY, "not_sure"})


def group_name(index: int) -> str:
    """'Group A', 'Group B', … for opinion group 0, 1, …"""
    letters = string.ascii_uppercase
    return f"Group {letters[index % 26]}{'' if index < 26 else index // 26}"


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def _map_points(result: OpinionMapResult) -> list[dict]:
    """One point per base cluster (a small cluster of people who voted alike): its
    position and the opinion group most of its members are in. Individual people are
    never plotted."""
    base = result.base
    if base.k == 0:
        return []
    where = {p: i for i, p in enumerate(result.participants.tolist())}
    rows = np.array([where[p] for p in base.point_ids.tolist()], dtype=np.int64)
    groups = result.group[rows]
    points = []
    for c in range(base.k):
        members = groups[base.labels == c]
        members = members[members >= 0]
        if len(members) == 0:
            continue
        points.append({"x": round(float(base.centres[c, 0]), 4),
                       "y": round(float(base.centres[c, 1]), 4),
                       "group": int(np.bincount(members).argmax()),
                       "members": len(members)})
    return points


def summarise_map(result: OpinionMapResult, *, moderated_out: Sequence = (),
                  attributes: Mapping[str, Sequence] | None = None) -> dict:
    """Everything pages and reports need from one map update, JSON-able, exact counts.

    Parameters
    ----------
    result : OpinionMapResult
        From :meth:`voices.codesign.opinion.OpinionMap.update`.
    moderated_out : sequence
        Statement ids moderated out: left out of consensus and representative statements.
    attributes : mapping, optional
        ``{question: [answer per participant, in result.participants order]}`` for the
        equity breakdowns; unknown answers (None, "", "not_known", "prefer_not_to_say")
        leave a participant out of that breakdown.

    Returns
    -------
    dict
        ``participants``, ``placed``, ``group_count``, ``groups`` (name and size),
        ``membership`` (participant id → group), ``statements`` (per statement: agree,
        disagree, pass, seen, and per group ``[agree, disagree, seen]``), ``consensus``
        (statement ids by group-informed consensus, best first, with the score),
        ``broad_support`` (statements most of every group agree with), ``repness``
        (each group's distinctive statements), ``map`` (base-cluster points),
        ``equity`` (agreement by each answered question) and ``silhouettes``.
    """
    counts = group_vote_counts(result.votes, result.group)
    everyone = group_vote_counts(result.votes, np.zeros(result.votes.shape[0], np.int64))
    k = len(counts.groups)
    statements = [_plain(s) for s in result.statements.tolist()]
    excluded = {_plain(s) for s in moderated_out}
    per_statement = {}
    for j, sid in enumerate(statements):
        agree, disagree, seen = (int(everyone.agree[0, j]), int(everyone.disagree[0, j]),
                                 int(everyone.seen[0, j]))
        per_statement[str(sid)] = {
            "agree": agree, "disagree": disagree, "pass": seen - agree - disagree,
            "seen": seen,
            "groups": [[int(counts.agree[g, j]), int(counts.disagree[g, j]),
                        int(counts.seen[g, j])] for g in range(k)]}
    consensus, broad = [], []
    if k:
        score = group_informed_consensus(counts)
        index_of = {sid: j for j, sid in enumerate(statements)}
        for sid in consensus_ranking(counts, exclude=list(excluded)).tolist():
            j = index_of[_plain(sid)]
            consensus.append({"statement": _plain(sid), "score": float(score[j])})
            smoothed = (counts.agree[:, j] + 1.0) / (counts.seen[:, j] + 2.0)
            if np.all(smoothed > 0.5) and np.all(counts.seen[:, j] > 0):
                broad.append(_plain(sid))
    repness = {}
    if k >= 2:
        chosen = select_representative(representativeness(counts), exclude=list(excluded))
        for g, picked in sorted(chosen.items()):
            repness[str(g)] = [{
                "statement": _plain(s.statement), "repful_for": s.repful_for,
                "n_success": s.n_success, "n_trials": s.n_trials,
                "p_success": round(s.p_success, 6), "repness": round(s.repness, 6),
                "repness_test": round(s.repness_test, 6)} for s in picked]
    equity = {}
    for question, values in (attributes or {}).items():
        known = [None if v in UNKNOWN_ANSWERS else v for v in values]
        if sum(v is not None for v in known) == 0:
            continue
        breakdown = agreement_by_attribute(result.votes, known)
        equity[question] = {
            "levels": [str(v) for v in breakdown.levels.tolist()],
            "voted": breakdown.voted.tolist(), "agreed": breakdown.agreed.tolist(),
            "p_adjusted": [None if not np.isfinite(p) else round(float(p), 8)
                           for p in breakdown.p_adjusted.tolist()],
            "differs": [bool(d) for d in breakdown.differs.tolist()]}
    sizes = np.bincount(result.group[result.placed], minlength=k) if k else np.zeros(0)
    return {
        "participants": int(result.votes.shape[0]),
        "placed": int(result.placed.sum()),
        "group_count": int(k),
        "groups": [{"index": g, "name": group_name(g), "members": int(sizes[g])}
                   for g in range(k)],
        "membership": {str(_plain(p)): int(g) for p, g in result.membership().items()},
        "statement_order": statements,
        "statements": per_statement,
        "consensus": consensus,
        "broad_support": broad,
        "repness": repness,
        "map": {"points": _map_points(result)},
        "equity": equity,
        "silhouettes": {str(key): round(float(v), 6) for key, v in result.silhouettes.items()},
    }


# --------------------------------------------------------------------- published


def _percent(part: int | str, whole: int | str) -> float | None:
    """A percentage of two published (rounded) counts; None if either is hidden or 0."""
    if part == SUPPRESSED or whole == SUPPRESSED or not whole:
        return None
    return round(100.0 * int(part) / int(whole), 1)


def show_percent(value: float | None) -> str:
    return "*" if value is None else f"{value:.0f}%"


@dataclass(frozen=True)
class Share:
    """A published share: rounded counts, the percentage and its interval from them."""

    agreed: int | str
    voted: int | str
    percent: float | None
    low: float | None
    high: float | None
    band: str | None = None

    @property
    def text(self) -> str:
        if self.percent is None:
            return self.band or "*"
        return f"{self.percent:.0f}% ({self.low:.0f}% to {self.high:.0f}%)"


def _share(agreed: int | str, voted: int | str) -> Share:
    pct = _percent(agreed, voted)
    if pct is None:
        return Share(agreed, voted, None, None, None)
    low, high = wilson_interval(np.array([int(agreed)]), np.array([int(voted)]))
    return Share(agreed, voted, pct, round(100 * float(low[0]), 1),
                 round(100 * float(high[0]), 1))


def _published_rows(matrix: Sequence[Sequence[int]], *, column_totals: bool = True
                    ) -> list[list[int | str]]:
    """Disclosure control on a small table (rows × columns, with a total for each row,
    and for each column when the rows are separate groups of people)."""
    return disclose_counts(np.asarray(matrix, dtype=np.int64),
                           column_totals=column_totals).as_lists()


@dataclass
class PublishedStatement:
    number: object
    text: str
    agree: Share
    disagree: Share
    voted: int | str
    by_group: list[Share] = field(default_factory=list)


@dataclass
class PublishedGroup:
    index: int
    name: str
    members: int | str
    distinctive: list[tuple[PublishedStatement, str, Share]] = field(default_factory=list)


@dataclass
class Participation:
    dimension: str
    label: str
    rows: list[tuple[str, int | str, float | None, float | None]]   # label, people, %, pop %
    not_answered: int | str
    total: int | str


@dataclass
class EquityBreakdown:
    dimension: str
    label: str
    levels: list[str]
    statements: list[tuple[PublishedStatement, list[Share], bool]]


@dataclass
class PublishedResults:
    """Everything a results page or report shows; every count already published."""

    participants: int | str
    placed: int | str
    group_count: int
    groups: list[PublishedGroup]
    common_ground: list[PublishedStatement]
    statements: list[PublishedStatement]
    participation: list[Participation]
    equity: list[EquityBreakdown]
    map_points: list[dict]
    description: str


#: a share whose counts are hidden is shown as a band when the total is at least this, since
#: hiding then only says that 1 to 7 people of many were on the other side
BAND_TOTAL = 70


def share_of(success: int, total: int) -> Share:
    """Publish "success out of total" (e.g. agreed out of voted): disclosure control on the
    two counts (success, the rest) with their total, then the share from rounded counts.

    When the counts are hidden because 1 to 7 people were on one side of a large total
    (70 or more), the share is shown as "over 90%" or "under 10%": that much can be read
    from the hidden cell and the published total anyway, and it keeps near-unanimous
    statements visible without showing a small count."""
    success, total = int(success), int(total)
    row = _published_rows([[success, total - success]], column_totals=False)[0]
    share = _share(row[0], row[2])
    if share.percent is None and row[2] != SUPPRESSED and total >= BAND_TOTAL:
        rest = total - success
        band = "90% or more" if 1 <= rest <= 7 else "10% or less" if 1 <= success <= 7 else None
        share = Share(share.agreed, share.voted, None, None, None, band)
    return share


def _statement(summary: dict, sid: object, texts: Mapping[object, str], numbers:
               Mapping[object, object]) -> PublishedStatement:
    row = summary["statements"][str(sid)]
    by_group = [share_of(a, s) for a, _, s in row["groups"]]
    agree = share_of(row["agree"], row["seen"])
    return PublishedStatement(numbers.get(sid, sid), texts.get(sid, ""), agree,
                              share_of(row["disagree"], row["seen"]), agree.voted, by_group)


def _participation(profile: Mapping[str, Mapping[str, int]],
                   population: Mapping[str, Mapping[str, float]] | None) -> list[Participation]:
    out = []
    for dimension in QUESTIONS:
        answers = profile.get(dimension)
        if not answers:
            continue
        spec = DIMENSIONS[dimension]
        codes = [c for c in spec.codes if c not in UNKNOWN_ANSWERS]
        unknown = sum(int(v) for c, v in answers.items() if c in UNKNOWN_ANSWERS
                      or c not in spec.codes)
        counts = [int(answers.get(c, 0)) for c in codes] + [unknown]
        shown = disclose_counts(np.asarray(counts)).as_lists()
        known_total = 0 if any(r[0] == SUPPRESSED for r in shown[:len(codes)]) else \
            sum(int(r[0]) for r in shown[:len(codes)])
        reference = (population or {}).get(dimension) or {}
        rows = []
        for i, code in enumerate(codes):
            if counts[i] == 0 and code not in reference:
                continue
            pct = _percent(shown[i][0], known_total) if known_total else None
            rows.append((spec.label_for(code), shown[i][0], pct,
                         float(reference[code]) if code in reference else None))
        out.append(Participation(dimension, spec.label, rows, shown[len(codes)][0],
                                 shown[-1][0]))
    return out


def _equity(summary: dict, texts, numbers, chosen: Sequence) -> list[EquityBreakdown]:
    out = []
    order = {str(s): j for j, s in enumerate(summary["statement_order"])}
    for dimension in QUESTIONS:
        data = summary["equity"].get(dimension)
        if not data:
            continue
        spec = DIMENSIONS[dimension]
        differs = [s for s in summary["statement_order"] if data["differs"][order[str(s)]]]
        picked = list(dict.fromkeys(list(differs) + list(chosen)))[:12]
        codes = list(spec.codes)
        levels = sorted(range(len(data["levels"])), key=lambda i: (
            codes.index(data["levels"][i]) if data["levels"][i] in codes else len(codes), i))
        rows = []
        for sid in picked:
            j = order[str(sid)]
            table = [[data["agreed"][level][j], data["voted"][level][j] - data["agreed"][level][j]]
                     for level in levels]
            shown = _published_rows(table)
            shares = [_share(row[0], row[2]) for row in shown[:len(levels)]]
            rows.append((_statement(summary, sid, texts, numbers), shares,
                         bool(data["differs"][j])))
        out.append(EquityBreakdown(dimension, spec.label,
                                   [spec.label_for(data["levels"][i]) for i in levels], rows))
    return out


def describe_map(groups: Sequence[PublishedGroup], placed: int | str) -> str:
    """The opinion map in words (its text alternative)."""
    if not groups:
        return ("Not enough people have voted yet to draw the opinion map. People are placed "
                "on the map once they have voted on at least 7 statements.")
    sizes = ", ".join(f"{g.name} (about {g.members} people)" if g.members != SUPPRESSED
                      else f"{g.name} (a few people)" for g in groups)
    text = (f"The map places about {placed} people who voted on enough statements. Each dot "
            "is a small cluster of people who voted alike; people close together voted "
            f"alike. They form {len(groups)} opinion groups: {sizes}.")
    for group in groups:
        if group.distinctive:
            statement, way, share = group.distinctive[0]
            text += (f" {group.name} stands out for {'agreeing' if way == 'agree' else 'disagreeing'}"
                     f" with \u201c{statement.text}\u201d ({share.text}).")
    return text


def published_results(summary: dict, *, texts: Mapping[object, str],
                      numbers: Mapping[object, object] | None = None,
                      profile: Mapping[str, Mapping[str, int]] | None = None,
                      population: Mapping[str, Mapping[str, float]] | None = None,
                      common_ground: int = 8) -> PublishedResults:
    """The published view of a map summary.

    Parameters
    ----------
    summary : dict
        From :func:`summarise_map`.
    texts : mapping
        Statement id → its text.
    numbers : mapping, optional
        Statement id → the number people see (default: the id).
    profile : mapping, optional
        ``{question: {answer code: people}}`` — everyone who took part.
    population : mapping, optional
        ``{question: {answer code: percent}}`` of the local population.
    common_ground : int
        How many statements with cross-group support to list.

    Returns
    -------
    PublishedResults
        Counts rounded to 5 with 1–7 hidden (``'*'``), percentages and Wilson intervals
        from the rounded counts.
    """
    numbers = numbers or {}
    k = summary.get("group_count", 0)
    sizes = disclose_counts(np.asarray([g["members"] for g in summary.get("groups", [])]
                                       or [0])).as_lists() if k else [[0]]
    overall = disclose_counts(np.asarray([summary.get("participants", 0),
                                          summary.get("placed", 0)]),
                              column_totals=False).as_lists()
    groups = []
    for g in range(k):
        group = PublishedGroup(g, summary["groups"][g]["name"], sizes[g][0])
        for item in summary["repness"].get(str(g), []):
            statement = _statement(summary, item["statement"], texts, numbers)
            share = statement.by_group[g]
            if item["repful_for"] == "disagree":
                _, disagreed, seen = summary["statements"][str(item["statement"])]["groups"][g]
                share = share_of(disagreed, seen)
            group.distinctive.append((statement, item["repful_for"], share))
        groups.append(group)
    broad = set(map(str, summary.get("broad_support", [])))
    ranked = [c["statement"] for c in summary.get("consensus", [])]
    common = [s for s in ranked if str(s) in broad][:common_ground]
    statements = [_statement(summary, s, texts, numbers) for s in summary.get("statement_order", [])
                  if s in texts]
    return PublishedResults(
        participants=overall[0][0], placed=overall[1][0], group_count=k, groups=groups,
        common_ground=[_statement(summary, s, texts, numbers) for s in common],
        statements=statements,
        participation=_participation(profile or {}, population),
        equity=_equity(summary, texts, numbers, common),
        map_points=summary.get("map", {}).get("points", []),
        description=describe_map(groups, overall[1][0]))
