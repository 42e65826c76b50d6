"""Statement statistics: representative statements, consensus, equity breakdowns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from voices.codesign.statements import (
    Z_90,
    adjust_p_values,
    agreement_by_attribute,
    consensus_ranking,
    group_informed_consensus,
    group_vote_counts,
    representativeness,
    select_consensus,
    select_representative,
    wilson_interval,
)
from voices.codesign.votes import VoteMatrix
from voices.errors import ValidationError


def votes_from_columns(columns: dict[int, list]) -> VoteMatrix:
    """Statement id -> list of votes per participant (None = no vote)."""
    dense = np.array([[np.nan if v is None else v for v in col] for col in columns.values()],
                     dtype=float).T
    return VoteMatrix.from_dense(dense, statements=list(columns))


# ---------------------------------------------------------------- counts and GIC


def test_counts_ignore_people_in_no_group():
    votes = votes_from_columns({10: [1, 1, -1, 0, 1], 11: [None, -1, -1, 1, None]})
    counts = group_vote_counts(votes, [0, 0, 1, 1, -1])
    assert counts.agree.tolist() == [[2, 0], [0, 1]]
    assert counts.disagree.tolist() == [[0, 1], [1, 1]]
    assert counts.seen.tolist() == [[2, 1], [2, 2]]
    assert counts.members.tolist() == [2, 2]


def test_group_informed_consensus_prefers_support_in_every_group():
    # statement 1: both groups agree; statement 2: only group 0 agrees, strongly
    votes = votes_from_columns({1: [1, 1, 1, 1, 1, 1], 2: [1, 1, 1, -1, -1, -1]})
    counts = group_vote_counts(votes, [0, 0, 0, 1, 1, 1])
    gic = group_informed_consensus(counts)
    assert gic[0] == pytest.approx((4 / 5) ** 2)
    assert gic[1] == pytest.approx((4 / 5) * (1 / 5))
    assert consensus_ranking(counts).tolist() == [1, 2]
    assert consensus_ranking(counts, exclude=[1]).tolist() == [2]


def test_group_labels_must_match_participants():
    votes = votes_from_columns({1: [1, 1]})
    with pytest.raises(ValidationError, match="one label per participant"):
        group_vote_counts(votes, [0])


# --------------------------------------------------------------------- repness


def polarised(n_per_group: int = 20) -> tuple[VoteMatrix, np.ndarray]:
    """Group 0 agrees with statement 5, group 1 disagrees; statement 6 is split evenly."""
    a, b = [1] * n_per_group, [-1] * n_per_group
    split = [1, -1] * n_per_group
    votes = votes_from_columns({5: a + b, 6: split, 7: [0] * (2 * n_per_group)})
    return votes, np.repeat([0, 1], n_per_group)


def test_each_group_gets_what_sets_it_apart():
    votes, groups = polarised()
    rep = representativeness(group_vote_counts(votes, groups))
    chosen = select_representative(rep)
    assert chosen[0][0].statement == 5
    first = chosen[0][0]
    assert first.repful_for == "agree" and first.best_agree
    assert first.n_success == 20 and first.n_trials == 20
    # group 1 stands out by disagreeing with statement 5
    assert any(s.statement == 5 and s.repful_for == "disagree" for s in chosen[1])
    # the evenly split and the all-pass statements are not distinctive for anyone
    assert all(s.statement not in (6, 7) for picked in chosen.values() for s in picked
               if not s.best_agree)


def test_representative_selection_follows_polis_rules():
    rng = np.random.default_rng(0)
    dense = rng.choice([-1.0, 0.0, 1.0, np.nan], size=(90, 40), p=[0.3, 0.1, 0.3, 0.3])
    groups = np.repeat([0, 1, 2], 30)
    dense[:30, :8] = 1.0  # group 0 agrees with the first 8 statements
    votes = VoteMatrix.from_dense(dense)
    rep = representativeness(group_vote_counts(votes, groups))
    chosen = select_representative(rep, exclude=[3])
    for group, picked in chosen.items():
        assert 1 <= len(picked) <= 5
        assert 3 not in [s.statement for s in picked]
        kinds = [s.repful_for for s in picked]
        assert kinds == sorted(kinds)  # "agree" before "disagree"
        g = list(rep.groups).index(group)
        for s in picked:
            j = list(rep.statements).index(s.statement)
            if s.best_agree:
                continue
            agree_ok = rep.rat[g, j] > Z_90 and rep.pat[g, j] > Z_90
            disagree_ok = rep.rdt[g, j] > Z_90 and rep.pdt[g, j] > Z_90
            assert agree_ok or disagree_ok or len(picked) == 1
    # what group 0 stands out for agreeing with is what it was built to agree with
    assert {s.statement for s in chosen[0] if s.repful_for == "agree"} <= set(range(8))
    assert len(chosen[0]) == 5


def test_majority_consensus_is_significant_and_ordered():
    votes = votes_from_columns({1: [1] * 18 + [-1] * 2, 2: [1] * 12 + [-1] * 8,
                                3: [-1] * 19 + [0], 4: [1] * 20})
    result = select_consensus(votes, exclude=[4])
    assert [s for s, _ in result["agree"]] == [1]  # 2 is not significant; 4 excluded
    assert [s for s, _ in result["disagree"]] == [3]
    assert result["agree"][0][1] == pytest.approx(19 / 22)


# ------------------------------------------------------------- equity breakdown


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 60), st.integers(1, 60), st.floats(0.5, 0.99))
def test_wilson_interval_matches_scipy(success, extra, confidence):
    n = success + extra
    low, high = wilson_interval(np.array([success]), np.array([n]), confidence)
    ci = stats.binomtest(success, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert low[0] == pytest.approx(ci.low, abs=1e-9)
    assert high[0] == pytest.approx(ci.high, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=30))
def test_benjamini_hochberg_matches_scipy(p):
    p = np.array(p)
    np.testing.assert_allclose(adjust_p_values(p, "fdr_bh"),
                               stats.false_discovery_control(p, method="bh"), rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=12))
def test_holm_matches_its_definition(p):
    p = np.array(p)
    m = len(p)
    order = np.argsort(p, kind="stable")
    expected = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        expected[i] = running
    np.testing.assert_allclose(adjust_p_values(p, "holm"), expected, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30)), min_size=2, max_size=5))
def test_difference_test_is_pearson_chi_square(levels):
    agreed = [a for a, _ in levels]
    voted = [a + b for a, b in levels]
    rows, labels = [], []
    for level, (a, v) in enumerate(zip(agreed, voted)):
        rows += [1.0] * a + [-1.0] * (v - a)
        labels += [f"level {level}"] * v
    votes = VoteMatrix.from_dense(np.array(rows)[:, None])
    result = agreement_by_attribute(votes, labels, correction="none")
    table = np.array([agreed, [v - a for a, v in zip(agreed, voted)]])
    if table.sum(axis=1).min() == 0:
        assert result.p_value[0] == 1.0  # everyone agreed, or nobody did
    else:
        expected = stats.chi2_contingency(table, correction=False).pvalue
        assert result.p_value[0] == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_agreement_by_age_band_flags_a_real_difference_only():
    rng = np.random.default_rng(1)
    n = 400
    age = np.array(["18-34", "35-64", "65+", None])[rng.integers(0, 4, n)]
    dense = np.full((n, 3), np.nan)
    # statement 0: older people agree far more; statements 1-2: no difference
    dense[:, 0] = np.where(age == "65+", rng.random(n) < 0.85, rng.random(n) < 0.3) * 2 - 1
    dense[:, 1] = (rng.random(n) < 0.5) * 2 - 1
    dense[:, 2] = np.where(rng.random(n) < 0.5, 1, 0)
    result = agreement_by_attribute(VoteMatrix.from_dense(dense), age)
    assert result.levels.tolist() == ["18-34", "35-64", "65+"]  # unknowns left out
    assert result.differs.tolist() == [True, False, False]
    known = np.array([a is not None for a in age])
    assert result.voted[:, 0].sum() == known.sum()
    older = result.levels.tolist().index("65+")
    assert result.low[older, 0] < result.share[older, 0] < result.high[older, 0]


def test_attribute_must_have_one_value_per_participant():
    votes = votes_from_columns({1: [1, -1, 1]})
    with pytest.raises(ValidationError, match="one value per participant"):
        agreement_by_attribute(votes, ["a", "b"])
