"""The opinion map: votes, placement, PCA, projection, clustering, updates, anchors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, silhouette_score

from voices.codesign.clustering import Clustering, kmeans, silhouette
from voices.codesign.opinion import (
    MapState,
    OpinionMap,
    _best_k,
    placed_participants,
    principal_components,
    project_participants,
    update_schedule,
)
from voices.codesign.polis_formats import read_polis_export
from voices.codesign.votes import VoteMatrix
from voices.errors import ValidationError


def random_votes(rng: np.random.Generator, n: int, m: int, density: float) -> np.ndarray:
    dense = rng.choice([-1.0, 0.0, 1.0], size=(n, m))
    dense[rng.random((n, m)) > density] = np.nan
    return dense


def two_camps(rng: np.random.Generator, n: int = 120, m: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Two camps who mostly disagree with each other, with missing votes."""
    camp = np.arange(n) % 2
    stance = np.where(rng.random(m) < 0.5, 1.0, -1.0)
    dense = np.where(camp[:, None] == 0, stance, -stance)
    flip = rng.random((n, m)) < 0.1
    dense[flip] = 0.0
    dense[rng.random((n, m)) < 0.3] = np.nan
    return dense, camp


# ----------------------------------------------------------------------- votes


def test_later_vote_replaces_earlier_and_pass_is_kept():
    votes = VoteMatrix.from_events([7, 7, 7, 9], [1, 1, 2, 1], [1, -1, 0, 1])
    assert votes.participants.tolist() == [7, 9]
    assert votes.statements.tolist() == [1, 2]
    dense = votes.to_dense()
    assert dense[0, 0] == -1  # latest vote wins
    assert dense[0, 1] == 0  # a pass is a stored vote...
    assert votes.votes_per_participant().tolist() == [2, 1]  # ...and counts as one
    assert votes.n_votes == 3


def test_vote_values_are_checked():
    with pytest.raises(ValidationError, match="vote event 2"):
        VoteMatrix.from_events([1, 2], [1, 1], [1, 2])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_dense_round_trip(seed):
    rng = np.random.default_rng(seed)
    dense = random_votes(rng, 9, 6, 0.5)
    np.testing.assert_array_equal(VoteMatrix.from_dense(dense).to_dense(), dense)


# ------------------------------------------------------------------- placement


def test_placement_needs_seven_votes_or_every_statement():
    counts = np.array([7, 6, 3, 0, 12] + [9] * 20)
    placed = placed_participants(counts, n_statements=40)
    assert placed.tolist()[:5] == [True, False, False, False, True]
    # with only 3 statements, 3 votes is enough
    assert placed_participants(np.array([3, 2] + [3] * 20), n_statements=3).tolist()[:2] == \
        [True, False]


def test_placement_tops_up_to_fifteen_most_active_and_is_sticky():
    counts = np.array([1, 5, 2, 6, 3, 0, 4])
    placed = placed_participants(counts, n_statements=30, top_up=3)
    assert np.flatnonzero(placed).tolist() == [1, 3, 6]  # the three most active
    # nobody with no votes is topped up
    assert not placed_participants(counts, 30, top_up=15)[5]
    already = np.zeros(7, dtype=bool)
    already[0] = True
    assert placed_participants(counts, 30, already=already, top_up=0)[0]


# ------------------------------------------------------------------ PCA and map


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 90))
def test_principal_components_match_dense_svd_of_mean_filled_matrix(seed, m):
    rng = np.random.default_rng(seed)
    dense = random_votes(rng, 40, m, 0.6)
    votes = VoteMatrix.from_dense(dense)
    engine = OpinionMap()
    result = engine.fit(votes)
    # anchor: fill missing with the column mean, centre, SVD with numpy (dense)
    means = np.where(np.isnan(dense).all(0), 0.0, np.nanmean(np.where(np.isnan(dense), np.nan,
                                                                      dense), axis=0))
    filled = np.where(np.isnan(dense), means, dense)
    centred = filled - filled.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    for i in range(2):
        if singular[i] - (singular[i + 1] if i + 1 < len(singular) else 0) < 1e-6:
            continue  # degenerate axis: any vector in the plane is right
        assert abs(np.dot(vt[i], result.components[i])) == pytest.approx(1.0, abs=1e-6)


def test_missing_votes_stay_exactly_zero_after_centring():
    rng = np.random.default_rng(3)
    votes = VoteMatrix.from_dense(random_votes(rng, 50, 20, 0.3))
    from voices.codesign.opinion import _centred

    centred, _ = _centred(votes, np.ones(20, dtype=bool))
    assert sp.issparse(centred)
    assert centred.nnz == votes.n_votes  # same sparsity: never densified


def test_projection_is_polis_sparsity_aware_projection():
    """Pol.is pca.clj sparsity-aware-project-ptpt, transcribed as a loop."""
    rng = np.random.default_rng(5)
    dense = random_votes(rng, 30, 12, 0.5)
    votes = VoteMatrix.from_dense(dense)
    result = OpinionMap().fit(votes)
    centre = result.statement_means
    for i in range(30):
        n_votes, p1, p2 = 0, 0.0, 0.0
        for j in range(12):
            if not np.isnan(dense[i, j]):
                n_votes += 1
                x = dense[i, j] - centre[j]
                p1 += x * result.components[0, j]
                p2 += x * result.components[1, j]
        scale = np.sqrt(12 / max(n_votes, 1))
        np.testing.assert_allclose(result.projection[i], [scale * p1, scale * p2], atol=1e-12)


def test_moderated_out_statements_do_not_shape_the_map():
    rng = np.random.default_rng(8)
    dense, _ = two_camps(rng, 60, 12)
    dense[:, 0] = rng.choice([-1.0, 1.0], size=60)  # noise statement, then moderated out
    votes = VoteMatrix.from_dense(dense)
    result = OpinionMap().fit(votes, moderated_out=[0])
    assert result.components[:, 0].tolist() == [0.0, 0.0]
    assert result.statement_means[0] == 0.0


def test_principal_components_keep_their_direction_from_the_previous_update():
    rng = np.random.default_rng(2)
    votes = VoteMatrix.from_dense(two_camps(rng, 80, 70)[0])
    first = OpinionMap().fit(votes)
    from voices.codesign.opinion import _centred

    centred, _ = _centred(votes, np.ones(70, dtype=bool))
    flipped_start = -first.components
    again = principal_components(centred, 2, start=flipped_start)
    np.testing.assert_allclose(again, -first.components, atol=1e-8)


def test_project_participants_scales_by_votes():
    centred = sp.csr_array(np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]))
    components = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    out = project_participants(centred, components, np.array([1, 4]), 4)
    np.testing.assert_allclose(out, [[2.0, 0.0], [1.0, 1.0]])


# ------------------------------------------------------------------- clustering


def test_silhouette_matches_scikit_learn():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(0, 1, (20, 2)), rng.normal(5, 1, (15, 2)),
                             [[20.0, 20.0]]])
    labels = np.array([0] * 20 + [1] * 15 + [2])  # one singleton, which scores 0 in both
    distances = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    assert silhouette(distances, labels) == pytest.approx(
        silhouette_score(distances, labels, metric="precomputed"), abs=1e-12)


def test_kmeans_finds_separated_clusters_and_warm_start_keeps_ids():
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.normal(0, 0.3, (30, 2)), rng.normal(4, 0.3, (30, 2))])
    ids = np.arange(60)
    first = kmeans(points, ids, 2, rng=np.random.default_rng(0))
    truth = np.repeat([0, 1], 30)
    assert adjusted_rand_score(truth, first.labels) == 1.0
    # new points arrive and old ones move a little: clusters keep their ids and members
    more = np.concatenate([points + 0.05, rng.normal(4, 0.3, (5, 2))])
    second = kmeans(more, np.arange(65), 2, previous=first)
    assert sorted(second.ids.tolist()) == sorted(first.ids.tolist())
    assert (first.ids[first.labels] == second.ids[second.labels[:60]]).all()


def test_kmeans_warm_start_splits_off_the_furthest_point_for_new_clusters():
    points = np.array([[0.0, 0], [0.1, 0], [5, 5], [5.1, 5], [30, 30]])
    previous = Clustering(np.array([3]), np.array([[2.0, 2.0]]), np.arange(4), np.zeros(4, int))
    result = kmeans(points, np.arange(5), 3, previous=previous)
    assert result.k == 3
    assert 3 in result.ids.tolist()  # the old cluster survives
    alone = result.labels[4]
    assert (result.labels == alone).sum() == 1  # the outlier got a cluster of its own


def test_k_needs_to_win_several_updates_before_it_is_used():
    engine = OpinionMap(k_patience=4)
    state = MapState(last_k=3, last_k_count=2, chosen_k=2)
    rng = np.random.default_rng(4)
    points = np.concatenate([rng.normal(c, 0.2, (10, 2)) for c in ([0, 0], [6, 0], [0, 6])])
    base = Clustering(np.arange(30), points, np.arange(30), np.arange(30))
    groups, silhouettes, _, smoother = engine._group(base, state)
    assert max(silhouettes, key=silhouettes.get) == 3
    assert smoother == (3, 3, 2)  # third win in a row: still 2 groups
    groups, _, _, smoother = engine._group(base, MapState(last_k=3, last_k_count=3, chosen_k=2))
    assert smoother == (3, 4, 3) and groups.k == 3  # fourth win: switch


def test_k_is_the_best_silhouette_and_a_tie_goes_to_more_groups():
    # Pol.is: (apply max-key silhouettes ks), no margin; max-key keeps the last maximum
    assert _best_k({2: 0.40, 3: 0.41, 4: 0.39}, 0.0) == 3
    assert _best_k({2: 0.40, 3: 0.40}, 0.0) == 3
    assert _best_k({2: 0.40, 3: 0.41}, 0.02) == 2  # a margin is still available


def test_everyone_in_a_base_cluster_gets_its_group():
    # Pol.is gives each person their base cluster's group (no person-level reshuffle)
    rng = np.random.default_rng(3)
    # no clear camps, few base clusters: base clusters straddle the group boundary
    votes = VoteMatrix.from_dense(random_votes(rng, 200, 20, 0.6))
    result = OpinionMap(base_clusters=12).fit(votes)
    assert result.group_count >= 2
    where = {p: i for i, p in enumerate(result.participants.tolist())}
    members = np.array([where[p] for p in result.base.point_ids.tolist()])
    for label in np.unique(result.base.labels):
        assert len(set(result.group[members[result.base.labels == label]].tolist())) == 1


# -------------------------------------------------------------- whole map


def test_two_camps_are_found():
    rng = np.random.default_rng(11)
    dense, camp = two_camps(rng, 150, 40)
    result = OpinionMap().fit(VoteMatrix.from_dense(dense))
    assert result.group_count == 2
    assert adjusted_rand_score(camp[result.placed], result.group[result.placed]) > 0.95


def test_update_is_pure_and_state_round_trips():
    rng = np.random.default_rng(12)
    dense, _ = two_camps(rng, 100, 25)
    early = VoteMatrix.from_dense(dense[:60], participants=np.arange(60))
    later = VoteMatrix.from_dense(dense, participants=np.arange(100))
    engine = OpinionMap()
    first = engine.update(early)
    second = engine.update(later, first.state)
    again = engine.update(later, MapState.from_dict(first.state.to_dict()))
    np.testing.assert_array_equal(second.group, again.group)
    np.testing.assert_allclose(second.projection, again.projection, atol=1e-9)
    assert second.state.updates == 2 and first.state.updates == 1
    # people placed earlier stay placed
    assert second.placed[:60][first.placed].all()


def test_update_accepts_new_participants_and_statements():
    rng = np.random.default_rng(13)
    dense, _ = two_camps(rng, 90, 20)
    engine = OpinionMap()
    first = engine.update(VoteMatrix.from_dense(dense[:50, :12]))
    second = engine.update(VoteMatrix.from_dense(dense), first.state)
    assert second.projection.shape == (90, 2)
    assert second.components.shape == (2, 20)


def test_update_schedule_covers_every_vote():
    times = np.array([0, 1_000, 2_000, 100_000, 100_500, 900_000])
    ends = update_schedule(times, interval_ms=10_000, growth=0.0)
    assert ends.tolist() == [3, 5, 6]
    assert update_schedule(np.arange(10_000) * 20_000, max_updates=50)[-1] == 10_000
    assert len(update_schedule(np.arange(10_000) * 20_000, max_updates=50)) <= 50


def test_update_schedule_is_for_the_votes_in_time_order():
    # Pol.is's votes.csv is not sorted by time; replay sorts it, so must the schedule
    rng = np.random.default_rng(5)
    times = np.sort(rng.integers(0, 10_000_000, 2_000))
    shuffled = rng.permutation(times)
    np.testing.assert_array_equal(update_schedule(shuffled), update_schedule(times))


# --------------------------------------------------- anchors on real conversations


def _ari_with_polis(result, polis: dict) -> float:
    membership = result.membership()
    common = [p for p in membership if p in polis]
    return adjusted_rand_score([polis[p] for p in common], [membership[p] for p in common])


@pytest.mark.parametrize("conversation", ["brexit-consensus", "canadian-electoral-reform",
                                          "scoop-hivemind.biodiversity"])
def test_replay_agrees_with_polis_groups(shared_data: Path, conversation: str):
    export = read_polis_export(shared_data / "polis" / conversation)
    votes = export.votes
    result = OpinionMap().replay(votes["voter-id"].to_numpy(), votes["comment-id"].to_numpy(),
                                 votes["vote"].to_numpy(), votes["timestamp"].to_numpy(),
                                 moderated_out=export.moderated_out)
    assert _ari_with_polis(result, export.polis_groups()) >= 0.8


def test_groups_do_not_depend_on_the_seed(shared_data: Path):
    export = read_polis_export(shared_data / "polis" / "american-assembly.bowling-green")
    votes = export.vote_matrix()
    runs = [OpinionMap(seed=seed).fit(votes, moderated_out=export.moderated_out)
            for seed in (0, 1, 2)]
    for other in runs[1:]:
        both = runs[0].placed & other.placed
        assert adjusted_rand_score(runs[0].group[both], other.group[both]) >= 0.95
