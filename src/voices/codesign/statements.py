"""What the opinion groups say: distinctive statements, common ground, and differences.

Given everyone's votes and a grouping of participants (the opinion groups from
:mod:`voices.codesign.opinion`, or any attribute such as age band), these pure functions
count votes per group and statement and derive:

* **representativeness** ("repness") — how much more a group agrees (or disagrees) with a
  statement than everyone outside the group, with Pol.is's z-tests, and the Pol.is choice
  of each group's most distinctive statements;
* **group-informed consensus** — the product over groups of each group's (smoothed)
  chance of agreeing, which is high only for statements with support in *every* group;
* **majority consensus** — statements most people agree (or disagree) with, as Pol.is
  shows them;
* **agreement by an equity attribute** (age band, ethnic group, IMD quintile,
  disability...) with Wilson intervals and a test of whether the groups differ, corrected
  for testing many statements.

Vote coding: +1 agree, -1 disagree, 0 pass (a pass counts as "seen").

References
----------
The Computational Democracy Project, Pol.is math (AGPL-3.0), ``repness.clj``
(``comment-stats``, ``add-comparitive-stats``, ``select-rep-comments``,
``select-consensus-comments``), ``stats.clj`` (``prop-test``, ``two-prop-test``),
``conversation.clj`` (``group-aware-consensus``). Read for the formulas; independent code.
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. *JASA* 22(158), 209-212.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scand. J.
Statist.* 6(2), 65-70. Benjamini, Y. & Hochberg, Y. (1995). Controlling the false
discovery rate. *JRSS B* 57(1), 289-300.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import stats

from voices.codesign.votes import AGREE, DISAGREE, VoteMatrix
from voices.errors import ValidationError

__all__ = [
    "AgreementByGroup",
    "GroupVoteCounts",
    "RepresentativeStatement",
    "Representativeness",
    "adjust_p_values",
    "agreement_by_attribute",
    "consensus_ranking",
    "group_informed_consensus",
    "group_vote_counts",
    "prop_test",
    "representativeness",
    "select_consensus",
    "select_representative",
    "two_prop_test",
    "wilson_interval",
]

Z_90 = 1.2816  # one-sided 90% critical value Pol.is uses


@dataclass(frozen=True)
class GroupVoteCounts:
    """Votes per group and statement.

    Attributes
    ----------
    statements : ndarray, shape (m,)
    groups : ndarray, shape (g,)
        Group labels, sorted.
    agree, disagree, seen : ndarray of int, shape (g, m)
        Agree votes, disagree votes, and all votes (agree + disagree + pass).
    members : ndarray of int, shape (g,)
        Participants in each group.
    """

    statements: np.ndarray
    groups: np.ndarray
    agree: np.ndarray
    disagree: np.ndarray
    seen: np.ndarray
    members: np.ndarray


def _labels(votes: VoteMatrix, group: Sequence) -> np.ndarray:
    group = np.asarray(group)
    if group.shape != (votes.shape[0],):
        raise ValidationError(
            f"got {group.shape[0] if group.ndim else 0} group labels for "
            f"{votes.shape[0]} participants", expected="one label per participant")
    return group


def group_vote_counts(votes: VoteMatrix, group: Sequence) -> GroupVoteCounts:
    """Count agree, disagree and seen votes for each group and statement.

    Parameters
    ----------
    votes : VoteMatrix
    group : sequence of int, length n
        Group of each participant; -1 (or any negative) leaves them out.

    Returns
    -------
    GroupVoteCounts
    """
    group = _labels(votes, group).astype(np.int64)
    labels = np.unique(group[group >= 0])
    index = np.searchsorted(labels, group)
    keep = group >= 0
    n = votes.shape[0]
    onehot = sp.csr_array((np.ones(int(keep.sum())), (index[keep], np.flatnonzero(keep))),
                          shape=(len(labels), n))
    counts = [(onehot @ votes.indicator(value)).toarray().round().astype(np.int64)
              for value in (AGREE, DISAGREE, None)]
    return GroupVoteCounts(statements=votes.statements, groups=labels, agree=counts[0],
                           disagree=counts[1], seen=counts[2],
                           members=np.bincount(index[keep], minlength=len(labels)))


def group_informed_consensus(counts: GroupVoteCounts, direction: str = "agree") -> np.ndarray:
    """Group-informed consensus of each statement.

    Parameters
    ----------
    counts : GroupVoteCounts
    direction : {"agree", "disagree"}
        Pol.is publishes the agree form; the disagree form ranks shared rejection.

    Returns
    -------
    ndarray, shape (m,)
        ``prod over groups g of (A_g + 1) / (S_g + 2)``: the Laplace-smoothed probability
        that a member of group g agrees, multiplied across groups. High only when every
        group tends to agree.

    References
    ----------
    Pol.is ``conversation.clj``, ``:group-aware-consensus``.
    """
    success = {"agree": counts.agree, "disagree": counts.disagree}[direction]
    return np.prod((success + 1.0) / (counts.seen + 2.0), axis=0)


def consensus_ranking(counts: GroupVoteCounts, *, exclude: Sequence = ()) -> np.ndarray:
    """Statement ids ordered by group-informed consensus, best first.

    Statements in ``exclude`` (moderated out) and statements nobody in a group voted on
    are left out. Ties keep statement order.
    """
    score = group_informed_consensus(counts)
    keep = ~np.isin(counts.statements, np.asarray(list(exclude))) & (counts.seen.sum(axis=0) > 0)
    index = np.flatnonzero(keep)
    return counts.statements[index[np.argsort(-score[index], kind="stable")]]


def prop_test(success: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Pol.is one-proportion z-test against 1/2, with a pseudo-count of one.

    ``2 * sqrt(n + 1) * ((success + 1) / (n + 1) - 0.5)`` (Pol.is ``stats.clj``).
    """
    success = np.asarray(success, dtype=float) + 1.0
    n = np.asarray(n, dtype=float) + 1.0
    return 2.0 * np.sqrt(n) * (success / n - 0.5)


def two_prop_test(success_in: np.ndarray, success_out: np.ndarray, n_in: np.ndarray,
                  n_out: np.ndarray) -> np.ndarray:
    """Pol.is two-proportion z-test (pooled), with a pseudo-count of one on each input.

    Returns 0 where the pooled proportion is 1 (Pol.is ``stats.clj``, ``two-prop-test``).
    """
    s1, s2 = np.asarray(success_in, float) + 1.0, np.asarray(success_out, float) + 1.0
    n1, n2 = np.asarray(n_in, float) + 1.0, np.asarray(n_out, float) + 1.0
    p1, p2 = s1 / n1, s2 / n2
    pooled = (s1 + s2) / (n1 + n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    return np.where(pooled == 1.0, 0.0, z)


@dataclass(frozen=True)
class Representativeness:
    """Pol.is repness statistics, arrays of shape (groups, statements).

    Attributes
    ----------
    statements, groups : ndarray
    na, nd, ns : agree, disagree and seen votes in the group
    pa, pd : ``(na + 1) / (ns + 2)`` and ``(nd + 1) / (ns + 2)``
    pat, pdt : :func:`prop_test` of agree and of disagree within the group
    ra, rd : ``pa`` (``pd``) divided by the same smoothed proportion outside the group
    rat, rdt : :func:`two_prop_test` of the group against everyone else in a group
    """

    statements: np.ndarray
    groups: np.ndarray
    na: np.ndarray
    nd: np.ndarray
    ns: np.ndarray
    pa: np.ndarray
    pd: np.ndarray
    pat: np.ndarray
    pdt: np.ndarray
    ra: np.ndarray
    rd: np.ndarray
    rat: np.ndarray
    rdt: np.ndarray


def representativeness(counts: GroupVoteCounts) -> Representativeness:
    """Repness of every statement for every group, as Pol.is computes it.

    Parameters
    ----------
    counts : GroupVoteCounts

    Returns
    -------
    Representativeness

    References
    ----------
    Pol.is ``repness.clj``, ``comment-stats`` and ``add-comparitive-stats``.
    """
    na, nd, ns = counts.agree, counts.disagree, counts.seen
    out_na, out_nd, out_ns = na.sum(0) - na, nd.sum(0) - nd, ns.sum(0) - ns
    pa, pd = (na + 1.0) / (ns + 2.0), (nd + 1.0) / (ns + 2.0)
    return Representativeness(
        statements=counts.statements, groups=counts.groups, na=na, nd=nd, ns=ns, pa=pa, pd=pd,
        pat=prop_test(na, ns), pdt=prop_test(nd, ns),
        ra=pa / ((out_na + 1.0) / (out_ns + 2.0)), rd=pd / ((out_nd + 1.0) / (out_ns + 2.0)),
        rat=two_prop_test(na, out_na, ns, out_ns), rdt=two_prop_test(nd, out_nd, ns, out_ns))


@dataclass(frozen=True)
class RepresentativeStatement:
    """One statement chosen as distinctive for a group.

    ``repful_for`` says whether the group stands out by agreeing or by disagreeing;
    ``n_success`` of ``n_trials`` group members voted that way. ``best_agree`` marks the
    statement Pol.is puts first as what the group most agrees on.
    """

    statement: object
    group: int
    repful_for: str
    n_success: int
    n_trials: int
    p_success: float
    p_test: float
    repness: float
    repness_test: float
    best_agree: bool = False

    @property
    def metric(self) -> float:
        """Pol.is ranking metric: repness × its z × probability × its z."""
        return self.repness * self.repness_test * self.p_success * self.p_test


def _finalise(rep: Representativeness, g: int, j: int, best_agree: bool = False
              ) -> RepresentativeStatement:
    agree = rep.rat[g, j] > rep.rdt[g, j]
    if agree:
        values = (rep.na, rep.pa, rep.pat, rep.ra, rep.rat)
    else:
        values = (rep.nd, rep.pd, rep.pdt, rep.rd, rep.rdt)
    n_success, p_success, p_test, repness, repness_test = (v[g, j] for v in values)
    return RepresentativeStatement(
        statement=rep.statements[j].item() if hasattr(rep.statements[j], "item")
        else rep.statements[j], group=int(rep.groups[g]),
        repful_for="agree" if agree else "disagree", n_success=int(n_success),
        n_trials=int(rep.ns[g, j]), p_success=float(p_success), p_test=float(p_test),
        repness=float(repness),
        # Pol.is stores the test value as a single-precision float
        repness_test=float(np.float32(repness_test)), best_agree=best_agree)


def select_representative(rep: Representativeness, *, exclude: Sequence = (),
                          max_per_group: int = 5) -> dict[int, list[RepresentativeStatement]]:
    """Each group's most distinctive statements, chosen the Pol.is way.

    A statement qualifies for a group when both its probability and its difference from
    the other groups are significant at 90% (one-sided z > 1.2816), for agreeing or for
    disagreeing. Qualifying statements are ranked by ``repness × z × probability × z``;
    the statement the group most clearly agrees with is put first; at most
    ``max_per_group`` are kept, agreements before disagreements. A group with no
    qualifying statement gets its single best one.

    Parameters
    ----------
    rep : Representativeness
    exclude : sequence
        Statement ids to leave out (moderated out).
    max_per_group : int

    Returns
    -------
    dict
        ``{group: [RepresentativeStatement, ...]}``.

    References
    ----------
    Pol.is ``repness.clj``, ``select-rep-comments``.
    """
    keep = np.flatnonzero(~np.isin(rep.statements, np.asarray(list(exclude))))
    result: dict[int, list[RepresentativeStatement]] = {}
    for g in range(len(rep.groups)):
        sufficient: list[RepresentativeStatement] = []
        best: RepresentativeStatement | None = None
        best_agree: int | None = None
        for j in keep:
            significant_agree = rep.rat[g, j] > Z_90 and rep.pat[g, j] > Z_90
            significant_disagree = rep.rdt[g, j] > Z_90 and rep.pdt[g, j] > Z_90
            if significant_agree or significant_disagree:
                sufficient.append(_finalise(rep, g, j))
            if not sufficient and (best is None or max(rep.rat[g, j], rep.rdt[g, j])
                                   > best.repness_test):
                best = _finalise(rep, g, j)
            if _beats_best_agree(rep, g, j, best_agree):
                best_agree = int(j)
        head = [_finalise(rep, g, best_agree, best_agree=True)] if best_agree is not None \
            else ([best] if best is not None else [])
        if not sufficient:
            result[int(rep.groups[g])] = head
            continue
        chosen_id = head[0].statement if best_agree is not None else None
        rest = [s for s in sufficient if not (best_agree is not None and s.statement == chosen_id)]
        rest.sort(key=lambda s: -s.metric)  # stable, like Clojure's sort-by
        picked = (head if best_agree is not None else []) + rest
        picked = picked[:max_per_group]
        result[int(rep.groups[g])] = ([s for s in picked if s.repful_for == "agree"]
                                      + [s for s in picked if s.repful_for == "disagree"])
    return result


def _beats_best_agree(rep: Representativeness, g: int, j: int, current: int | None) -> bool:
    """Pol.is ``beats-best-agr?``: is statement j a better 'what this group agrees on'?"""
    na, nd = rep.na[g, j], rep.nd[g, j]
    if na == 0 and nd == 0:
        return False
    ra, rat, pa, pat = rep.ra[g, j], rep.rat[g, j], rep.pa[g, j], rep.pat[g, j]
    if current is not None:
        c = current
        if rep.ra[g, c] > 1.0:
            return ra * rat * pa * pat > rep.ra[g, c] * rep.rat[g, c] * rep.pa[g, c] * rep.pat[g, c]
        return pa * pat > rep.pa[g, c] * rep.pat[g, c]
    return bool(pat > Z_90 or (ra > 1.0 and pa > 0.5))


def select_consensus(votes: VoteMatrix, *, exclude: Sequence = (), max_statements: int = 5
                     ) -> dict[str, list[tuple[object, float]]]:
    """Statements most participants agree (or disagree) with, as Pol.is lists them.

    Among statements whose smoothed agree (disagree) probability over *all* voters is
    above 1/2 and significant at 90%, the top ``max_statements`` by probability × z.

    Returns
    -------
    dict
        ``{"agree": [(statement, probability), ...], "disagree": [...]}``.

    References
    ----------
    Pol.is ``repness.clj``, ``consensus-stats`` and ``select-consensus-comments``.
    """
    everyone = np.zeros(votes.shape[0], dtype=np.int64)
    counts = group_vote_counts(votes, everyone)
    keep = ~np.isin(votes.statements, np.asarray(list(exclude)))
    out: dict[str, list[tuple[object, float]]] = {}
    for name, success in (("agree", counts.agree[0]), ("disagree", counts.disagree[0])):
        p = (success + 1.0) / (counts.seen[0] + 2.0)
        z = prop_test(success, counts.seen[0])
        index = np.flatnonzero(keep & (p > 0.5) & (z > Z_90))
        index = index[np.argsort(-(p * z)[index], kind="stable")][:max_statements]
        out[name] = [(votes.statements[i].item(), float(p[i])) for i in index]
    return out


# ----------------------------------------------------------- equity breakdowns


def wilson_interval(success: np.ndarray, n: np.ndarray, confidence: float = 0.95
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion (NaN where ``n`` is 0).

    References
    ----------
    Wilson (1927); Newcombe, R. G. (1998). Two-sided confidence intervals for the single
    proportion. *Statistics in Medicine* 17, 857-872 (method 3).
    """
    success = np.asarray(success, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = success / n
        denominator = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def adjust_p_values(p: np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjust p-values for testing many statements (NaN stays NaN).

    Parameters
    ----------
    p : ndarray
    method : {"holm", "fdr_bh", "none"}
        Holm (1979) step-down, controlling the chance of any false flag; or
        Benjamini-Hochberg (1995), controlling the share of false flags.
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0 or method == "none":
        out[finite] = p[finite]
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "fdr_bh":
        adjusted = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    else:
        raise ValidationError(f"unknown correction {method!r}",
                              expected="'holm', 'fdr_bh' or 'none'")
    out[order] = np.minimum(adjusted, 1.0)
    return out


@dataclass(frozen=True)
class AgreementByGroup:
    """Agreement with each statement, broken down by one participant attribute.

    Attributes
    ----------
    statements : ndarray, shape (m,)
    levels : ndarray, shape (L,)
        The attribute's values (for example age bands), sorted; unknowns left out.
    voted, agreed : ndarray of int, shape (L, m)
        Participants at each level who voted on (agreed with) each statement.
    share, low, high : ndarray, shape (L, m)
        ``agreed / voted`` with its Wilson interval (NaN where nobody voted).
    p_value, p_adjusted : ndarray, shape (m,)
        Chi-square test that agreement is the same at every level (NaN when fewer than
        two levels voted), and after the multiple-testing correction.
    differs : ndarray of bool, shape (m,)
        ``p_adjusted < alpha``: the levels differ beyond chance.
    """

    statements: np.ndarray
    levels: np.ndarray
    voted: np.ndarray
    agreed: np.ndarray
    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    p_adjusted: np.ndarray
    differs: np.ndarray


def agreement_by_attribute(votes: VoteMatrix, attribute: Sequence, *,
                           confidence: float = 0.95, alpha: float = 0.05,
                           correction: str = "holm") -> AgreementByGroup:
    """Per statement, how far each level of an attribute agrees, and whether they differ.

    Agreement is the share of those who voted on a statement (passes included) who
    agreed. Differences are tested with Pearson's chi-square test of homogeneity on the
    levels × (agreed, did not agree) table, which for two levels is the pooled
    two-proportion z-test; p-values are then corrected across statements.

    Parameters
    ----------
    votes : VoteMatrix
    attribute : sequence, length n
        Each participant's value (for example "18-24", "Asian", 3); ``None``, NaN or ""
        means unknown and leaves the participant out.
    confidence : float
        Level of the Wilson intervals.
    alpha : float
        Significance level of the flag, after correction.
    correction : {"holm", "fdr_bh", "none"}
        See :func:`adjust_p_values`.

    Returns
    -------
    AgreementByGroup
        Exact counts: published views must go through disclosure control first.

    References
    ----------
    Pearson, K. (1900); Wilson (1927); Holm (1979); Benjamini & Hochberg (1995).
    """
    values = np.asarray(attribute, dtype=object)
    if values.shape != (votes.shape[0],):
        raise ValidationError(f"got {len(values)} attribute values for {votes.shape[0]} "
                              "participants", expected="one value per participant")
    if not 0 < confidence < 1 or not 0 < alpha < 1:
        raise ValidationError("confidence and alpha must be between 0 and 1")
    known = np.array([_is_known(v) for v in values], dtype=bool)
    levels = np.array(sorted(set(values[known].tolist()), key=lambda v: (str(type(v)), v)),
                      dtype=object)
    codes = np.full(len(values), -1, dtype=np.int64)
    if len(levels):
        lookup = {level: i for i, level in enumerate(levels.tolist())}
        codes[known] = [lookup[v] for v in values[known].tolist()]
    counts = group_vote_counts(votes, codes)
    voted = np.zeros((len(levels), votes.shape[1]), dtype=np.int64)
    agreed = np.zeros_like(voted)
    voted[counts.groups] = counts.seen
    agreed[counts.groups] = counts.agree
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(voted > 0, agreed / np.maximum(voted, 1), np.nan)
    low, high = wilson_interval(agreed, voted, confidence)
    p_value = _homogeneity_p(agreed, voted)
    p_adjusted = adjust_p_values(p_value, correction)
    return AgreementByGroup(statements=votes.statements, levels=levels, voted=voted,
                            agreed=agreed, share=share, low=low, high=high, p_value=p_value,
                            p_adjusted=p_adjusted,
                            differs=np.nan_to_num(p_adjusted, nan=1.0) < alpha)


def _is_known(value: object) -> bool:
    """False for None, NaN and the empty string (an unanswered question)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return False
    return not (isinstance(value, float) and np.isnan(value))


def _homogeneity_p(agreed: np.ndarray, voted: np.ndarray) -> np.ndarray:
    """Chi-square test of equal proportions across levels, per statement (column)."""
    present = voted > 0
    levels = present.sum(axis=0)
    total = voted.sum(axis=0).astype(float)
    total_agree = agreed.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = total_agree / total
        expected_yes = voted * pooled
        expected_no = voted * (1.0 - pooled)
        term = np.where(present & (expected_yes > 0),
                        (agreed - expected_yes) ** 2 / expected_yes, 0.0)
        term += np.where(present & (expected_no > 0),
                         ((voted - agreed) - expected_no) ** 2 / expected_no, 0.0)
    statistic = term.sum(axis=0)
    p = stats.chi2.sf(statistic, np.maximum(levels - 1, 1))
    # no variation at all (everyone agreed, or nobody did): nothing to detect
    p = np.where((pooled == 0) | (pooled == 1), 1.0, p)
    return np.where(levels >= 2, p, np.nan)
