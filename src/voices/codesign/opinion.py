"""The opinion map: where people stand, and which opinion groups they form.

Participants vote agree (+1), disagree (-1) or pass (0) on short statements. This module
turns those votes into a map, following the published Pol.is maths:

1. **Who is placed.** A participant is placed once they have voted on at least
   ``min(7, number of statements)`` statements; while fewer than 15 people qualify, the
   most active voters are added to make 15. Once placed, always placed.
2. **Map.** Missing votes are filled with the statement's mean vote and every column is
   centred, so a missing vote is *exactly zero* in the centred matrix: the matrix stays
   sparse. The first two principal components of that matrix are the map's axes. A
   participant's position is their centred votes projected on the axes, scaled by
   ``sqrt(statements / statements they voted on)`` so people who voted on little are not
   all piled up in the middle.
3. **Groups.** The placed participants are clustered into about 100 small *base
   clusters* by k-means; the base clusters (weighted by size) are grouped by k-means
   into k = 2..5 opinion groups, and k is chosen by silhouette. A new k must win several
   updates in a row before it replaces the old one.

Everything is warm-started from the previous update (the :class:`MapState` passed in
and returned), so the groups move smoothly as votes arrive; :meth:`OpinionMap.replay`
replays a conversation's votes in time order the way Pol.is saw them.

References
----------
Small, C., Bjorkegren, M., Erkkilä, T., Shaw, L., & Megill, C. (2021). Polis: Scaling
deliberation by mapping high dimensional opinion spaces. *Recerca* 26(2).
The Computational Democracy Project, Pol.is math (AGPL-3.0):
``math/src/polismath/math/conversation.clj`` (in-conv rule, base and group clustering,
k smoothing), ``pca.clj`` (``sparsity-aware-project-ptpt``). Read for behaviour; this is
an independent implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh

from voices.codesign.clustering import Clustering, kmeans, lloyd, positions_of, silhouette
from voices.codesign.votes import VoteMatrix
from voices.errors import ValidationError

__all__ = [
    "MapState",
    "OpinionMap",
    "OpinionMapResult",
    "VoteMatrix",
    "placed_participants",
    "principal_components",
    "project_participants",
    "update_schedule",
]

# ------------------------------------------------------------------------ the map


def placed_participants(votes_per_participant: np.ndarray, n_statements: int, *,
                        already: np.ndarray | None = None, min_votes: int = 7,
                        top_up: int = 15) -> np.ndarray:
    """Which participants are placed on the map (Pol.is ``in-conv``).

    Parameters
    ----------
    votes_per_participant : ndarray of int, shape (n,)
        Votes cast by each participant (passes count).
    n_statements : int
        Statements that have received at least one vote.
    already : ndarray of bool, shape (n,), optional
        Participants placed by an earlier update; they stay placed.
    min_votes : int
        A participant qualifies with at least ``min(min_votes, n_statements)`` votes.
    top_up : int
        While fewer than this many qualify, add the most active voters (ties: earlier
        rows first) until there are this many.

    Returns
    -------
    ndarray of bool, shape (n,)

    References
    ----------
    Pol.is ``conversation.clj``, ``:in-conv``.
    """
    counts = np.asarray(votes_per_participant)
    placed = counts >= min(min_votes, n_statements)
    placed &= counts > 0
    if already is not None:
        placed |= already
    missing = top_up - int(placed.sum())
    if missing > 0:
        candidates = np.flatnonzero(~placed & (counts > 0))
        order = candidates[np.argsort(-counts[candidates], kind="stable")]
        placed[order[:missing]] = True
    return placed


def _centred(votes: VoteMatrix, active: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Votes minus each statement's mean vote, at the stored cells only.

    Filling missing votes with the column mean and then centring makes every missing cell
    exactly zero, so the centred matrix has the same sparsity as the votes. Columns that
    are not ``active`` (moderated out) are all zero.
    """
    matrix = votes.votes
    data = matrix.data.astype(float)
    cols = matrix.indices
    counts = np.bincount(cols, minlength=votes.shape[1])
    sums = np.bincount(cols, weights=data, minlength=votes.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    means = np.where(active, means, 0.0)
    centred = np.where(active[cols], data - means[cols], 0.0)
    return sp.csr_array((centred, cols, matrix.indptr), shape=votes.shape), means


def principal_components(centred: sp.csr_array, n_components: int = 2, *,
                         start: np.ndarray | None = None,
                         rng: np.random.Generator | None = None) -> np.ndarray:
    """Leading principal axes of a centred sparse matrix, without densifying it.

    Parameters
    ----------
    centred : sparse matrix, shape (n, m)
        Column-centred data (missing cells are zero).
    n_components : int
        How many axes.
    start : ndarray, shape (n_components, m), optional
        Axes from the previous update: used as the starting vector and to keep each
        axis pointing the same way (the sign of an eigenvector is arbitrary).
    rng : numpy.random.Generator, optional
        Random starting vector when there is no ``start``.

    Returns
    -------
    ndarray, shape (n_components, m)
        Unit-length eigenvectors of ``centredᵀ centred`` with the largest eigenvalues,
        largest first; rows of zeros where the data has fewer dimensions.

    References
    ----------
    Pearson, K. (1901). On lines and planes of closest fit to systems of points in space.
    Lehoucq, Sorensen & Yang (1998), ARPACK Users' Guide (implicitly restarted Lanczos),
    through :func:`scipy.sparse.linalg.eigsh`. Pol.is finds the same axes by power
    iteration (``pca.clj``, ``powerit-pca``).
    """
    n, m = centred.shape
    out = np.zeros((n_components, m))
    if n == 0 or m == 0 or centred.nnz == 0:
        return out
    k = min(n_components, m, n)
    transpose = centred.T.tocsr()
    if m <= 64:  # small: the m × m Gram matrix is cheap and exact
        product = transpose @ centred
        gram = product.toarray() if sp.issparse(product) else np.asarray(product)
        values, vectors = np.linalg.eigh(gram)
        order = np.argsort(values)[::-1][:k]
        values, vectors = values[order], vectors[:, order].T
    else:
        operator = LinearOperator((m, m), matvec=lambda x: transpose @ (centred @ x),
                                  dtype=float)
        if start is not None and np.abs(start[0]).sum() > 0:
            v0 = start[0] + 0.5 * (start[1] if len(start) > 1 else 0)
        else:
            v0 = (rng or np.random.default_rng(0)).standard_normal(m)
        values, vectors = eigsh(operator, k=k, which="LA", v0=v0, tol=1e-10,
                                maxiter=max(1000, 20 * m))
        order = np.argsort(values)[::-1]
        values, vectors = values[order], vectors[:, order].T
    for i in range(k):
        if values[i] <= 1e-12 * max(1.0, values[0]):
            continue
        vector = vectors[i]
        if start is not None and i < len(start) and np.dot(start[i], vector) != 0:
            sign = np.sign(np.dot(start[i], vector))
        else:
            sign = np.sign(vector[np.argmax(np.abs(vector))])
        out[i] = vector * (sign or 1.0)
    return out


def project_participants(centred: sp.csr_array, components: np.ndarray,
                         votes_per_participant: np.ndarray, n_statements: int) -> np.ndarray:
    """Participants' positions on the map, scaled for how much they voted.

    Parameters
    ----------
    centred : sparse matrix, shape (n, m)
        Centred votes (zero where missing).
    components : ndarray, shape (c, m)
        Principal axes.
    votes_per_participant : ndarray, shape (n,)
        Votes counted for the scaling.
    n_statements : int
        Statements counted for the scaling.

    Returns
    -------
    ndarray, shape (n, c)
        ``(centred @ componentsᵀ) * sqrt(n_statements / max(votes, 1))``.

    References
    ----------
    Pol.is ``pca.clj``, ``sparsity-aware-project-ptpt``.
    """
    raw = np.asarray(centred @ components.T)
    scale = np.sqrt(n_statements / np.maximum(np.asarray(votes_per_participant, float), 1.0))
    return raw * scale[:, None]


def refine_groups(points: np.ndarray, centres: np.ndarray, *, max_iterations: int = 100,
                  tolerance: float = 1e-6) -> np.ndarray:
    """Group of each placed participant after refining the groups person by person.

    Pol.is gives every member of a base cluster the base cluster's group, so a base
    cluster that straddles two groups moves as one block. Starting from the group
    centres, we assign each participant to the nearest centre and re-centre until
    nothing moves (Lloyd's k-means at the level of people).

    Parameters
    ----------
    points : ndarray, shape (p, 2)
        Positions of the placed participants.
    centres : ndarray, shape (k, 2)
        Group centres from the base-cluster grouping.

    Returns
    -------
    ndarray of int, shape (p,)
        Group index 0..k-1 of each participant (a group that empties keeps its index
        unused, so indices stay comparable with ``centres``).
    """
    fine = lloyd(points, np.arange(len(points)), np.ones(len(points)), centres.copy(),
                 np.arange(len(centres), dtype=np.int64), max_iterations, tolerance)
    return fine.ids[fine.labels]


def _best_k(silhouettes: dict[int, float], margin: float) -> int:
    """The number of groups with the best silhouette; more groups must win by ``margin``.

    With no margin this is Pol.is's ``(apply max-key silhouettes ks)``: the best
    silhouette, and on an exact tie the larger number of groups.
    """
    chosen = min(silhouettes)
    for k in sorted(silhouettes):
        gain = silhouettes[k] - silhouettes[chosen]
        if gain > margin or (margin == 0 and gain == 0):
            chosen = k
    return chosen


def _sorted_by_id(clustering: Clustering) -> Clustering:
    order = np.argsort(clustering.ids, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return Clustering(clustering.ids[order], clustering.centres[order], clustering.point_ids,
                      rank[clustering.labels])


@dataclass(frozen=True)
class MapState:
    """What one update hands to the next: everything needed to warm-start.

    Attributes
    ----------
    statements : ndarray
        Statement ids that ``components`` refer to.
    components : ndarray, shape (2, len(statements))
        Last update's principal axes.
    placed : ndarray
        Ids of participants placed so far (they stay placed).
    base : Clustering or None
        Base clusters of placed participants (point ids are participant ids).
    group_clusterings : dict[int, Clustering]
        For each k tried, the grouping of base clusters (point ids are base-cluster ids).
    last_k, last_k_count, chosen_k : int or None
        The k smoother: the k with the best silhouette last time, how many updates in a
        row it has been best, and the k in use.
    updates : int
        How many updates produced this state.
    """

    statements: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    components: np.ndarray = field(default_factory=lambda: np.zeros((2, 0)))
    placed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    base: Clustering | None = None
    group_clusterings: dict[int, Clustering] = field(default_factory=dict)
    last_k: int | None = None
    last_k_count: int = 0
    chosen_k: int | None = None
    updates: int = 0

    def to_dict(self) -> dict:
        """Plain JSON-able form (for storing between updates)."""
        return {
            "statements": self.statements.tolist(), "components": self.components.tolist(),
            "placed": self.placed.tolist(),
            "base": self.base.to_dict() if self.base is not None else None,
            "group_clusterings": {str(k): c.to_dict() for k, c in self.group_clusterings.items()},
            "last_k": self.last_k, "last_k_count": self.last_k_count,
            "chosen_k": self.chosen_k, "updates": self.updates,
        }

    @classmethod
    def from_dict(cls, data: dict) -> MapState:
        statements = np.asarray(data["statements"])
        return cls(
            statements=statements,
            components=np.asarray(data["components"], dtype=float).reshape(-1, len(statements)),
            placed=np.asarray(data["placed"]),
            base=Clustering.from_dict(data["base"]) if data.get("base") else None,
            group_clusterings={int(k): Clustering.from_dict(v)
                               for k, v in data.get("group_clusterings", {}).items()},
            last_k=data.get("last_k"), last_k_count=int(data.get("last_k_count", 0)),
            chosen_k=data.get("chosen_k"), updates=int(data.get("updates", 0)),
        )


@dataclass(frozen=True)
class OpinionMapResult:
    """The opinion map after one update.

    Attributes
    ----------
    votes : VoteMatrix
        The votes the map was made from.
    participants, statements : ndarray
        Row and column ids of ``votes``.
    projection : ndarray, shape (n, 2)
        Every participant's position (also those not placed).
    placed : ndarray of bool, shape (n,)
        Participants placed in a group.
    group : ndarray of int, shape (n,)
        Opinion group 0..k-1 of each placed participant; -1 for those not placed.
    group_count : int
        Number of opinion groups k.
    components : ndarray, shape (2, m)
        Principal axes (statement loadings).
    statement_means : ndarray, shape (m,)
        Mean vote of each statement (0 for moderated-out statements).
    base : Clustering
        Base clusters of the placed participants.
    groups : Clustering
        The chosen grouping of base clusters.
    silhouettes : dict[int, float]
        Silhouette of each k tried.
    state : MapState
        Pass to the next update.
    """

    votes: VoteMatrix
    participants: np.ndarray
    statements: np.ndarray
    projection: np.ndarray
    placed: np.ndarray
    group: np.ndarray
    group_count: int
    components: np.ndarray
    statement_means: np.ndarray
    base: Clustering
    groups: Clustering
    silhouettes: dict[int, float]
    state: MapState

    def membership(self) -> dict:
        """``{participant id: group}`` for placed participants."""
        return {p: int(g) for p, g in zip(self.participants[self.placed].tolist(),
                                          self.group[self.placed].tolist())}


def update_schedule(timestamps: np.ndarray, *, interval_ms: int = 10_000,
                    growth: float = 0.01, max_updates: int = 1000) -> np.ndarray:
    """When to run updates while replaying a conversation's votes.

    Pol.is's math worker polls for new votes every few seconds and updates the map with
    whatever arrived, so while people are voting the map is updated every few seconds.
    We cut the vote stream into windows of ``interval_ms`` and update at the end of each
    window that has votes, skipping an update while the votes since the last one are
    fewer than ``growth`` times the votes so far (late in a long conversation a few more
    votes barely move the map). At most ``max_updates`` updates, spread evenly.

    Parameters
    ----------
    timestamps : ndarray, shape (v,)
        Vote times in milliseconds, in any order (Pol.is exports are not sorted by
        time); the schedule is for the events sorted by time, as :meth:`OpinionMap.replay`
        replays them.
    interval_ms : int
        Window length.
    growth : float
        Smallest relative growth in votes between two updates.
    max_updates : int
        Upper bound on the number of updates.

    Returns
    -------
    ndarray of int
        Number of votes included in each update (increasing; the last is ``v``).
    """
    t = np.sort(np.asarray(timestamps, dtype=np.int64))
    v = len(t)
    if v == 0:
        return np.zeros(0, dtype=np.int64)
    window = (t - t[0]) // max(1, int(interval_ms))
    ends = np.flatnonzero(np.diff(window) != 0) + 1
    ends = np.append(ends, v)
    chosen = []
    last = 0
    for end in ends.tolist():
        if end == v or end - last >= growth * last:
            chosen.append(end)
            last = end
    ends = np.asarray(chosen, dtype=np.int64)
    if len(ends) > max_updates:
        pick = np.unique(np.linspace(0, len(ends) - 1, max_updates).round().astype(np.int64))
        ends = ends[pick]
    return ends


@dataclass(frozen=True)
class OpinionMap:
    """Configure, then update, the Pol.is opinion map.

    Parameters
    ----------
    min_votes : int
        Votes needed to be placed (Pol.is: 7, or every statement if there are fewer).
    top_up : int
        Place the most active voters until at least this many are placed (Pol.is: 15).
    base_clusters : int
        Number of base clusters (Pol.is: 100).
    max_groups : int
        Largest number of opinion groups tried (Pol.is: 5); the smallest is 2.
    k_patience : int
        Updates in a row a new number of groups must win before it is used (Pol.is: 4).
    base_iterations, group_iterations : int
        k-means step limits (Pol.is: 100 and 20).
    moderated_out_as_pass : bool
        Pol.is sets moderated-out statements to 0 for everyone, which counts as a vote in
        the projection scaling; keep that (default) or leave them out of the count.
    k_margin : float
        A larger number of groups must beat a smaller one's silhouette by more than this
        to be chosen. Pol.is takes the plain best silhouette (0, the default; on a tie
        the larger k), and leaves steadiness to the k smoother (``k_patience``).
    refine : bool
        Finish with k-means at the level of people, starting from the groups of base
        clusters (:func:`refine_groups`). Pol.is stops at the base clusters: everyone in
        a base cluster gets its group (the default, ``False``).
    cold_starts : int
        Starts tried for a number of groups that has no grouping from an earlier update;
        the one with the smallest within-group sum of squares is kept (Pol.is: 1, the
        first k base clusters, which can all sit in one camp).
    group_starts : int
        Fresh starts tried besides the warm start (Pol.is: 0); see
        :func:`voices.codesign.clustering.kmeans`.
    switch_margin : float
        Relative improvement a fresh grouping needs to replace the warm-started one.
    seed : int
        Start vector of the eigen solver when there are no previous axes. The map does
        not depend on it beyond rounding: every other starting point is chosen
        deterministically (most active participants first), so the same votes always
        give the same groups.

    Examples
    --------
    >>> votes = VoteMatrix.from_dense([[1, 1, -1], [1, 1, -1], [-1, -1, 1], [-1, 1, 1]])
    >>> result = OpinionMap(base_clusters=4).update(votes)
    >>> int(result.placed.sum())
    4
    """

    min_votes: int = 7
    top_up: int = 15
    base_clusters: int = 100
    max_groups: int = 5
    k_patience: int = 4
    base_iterations: int = 100
    group_iterations: int = 20
    moderated_out_as_pass: bool = True
    k_margin: float = 0.0
    refine: bool = False
    cold_starts: int = 10
    group_starts: int = 0
    switch_margin: float = 0.01
    seed: int = 0

    def update(self, votes: VoteMatrix, state: MapState | None = None, *,
               moderated_out: Sequence = ()) -> OpinionMapResult:
        """One update of the map from all votes so far, warm-started from ``state``.

        Parameters
        ----------
        votes : VoteMatrix
            Every vote so far (latest vote per participant and statement).
        state : MapState, optional
            The state returned by the previous update; ``None`` starts afresh.
        moderated_out : sequence
            Statement ids removed by moderation. Their votes count towards placing people
            (as in Pol.is) but not towards the map.

        Returns
        -------
        OpinionMapResult
            Positions, groups and the new state.
        """
        state = state or MapState()
        rng = np.random.default_rng(self.seed + 7919 * state.updates)
        n = votes.shape[0]
        counts = votes.votes_per_participant()
        voted_statements = votes.votes_per_statement() > 0
        n_statements = int(voted_statements.sum())
        out = np.isin(votes.statements, np.asarray(list(moderated_out)))
        active = voted_statements & ~out

        already = positions_of(votes.participants, state.placed)
        placed_before = np.zeros(n, dtype=bool)
        placed_before[already[already >= 0]] = True
        placed = placed_participants(counts, n_statements, already=placed_before,
                                     min_votes=self.min_votes, top_up=self.top_up)

        centred, means = _centred(votes, active)
        start = None
        if state.components.size:
            where = positions_of(state.statements, votes.statements)
            start = np.where(where >= 0, state.components[:, np.maximum(where, 0)], 1.0)
        components = principal_components(centred, 2, start=start, rng=rng)

        rows = np.repeat(np.arange(n), np.diff(votes.votes.indptr))
        on_active = np.bincount(rows, weights=active[votes.votes.indices], minlength=n)
        if self.moderated_out_as_pass:
            # Pol.is zeroes moderated-out columns for everyone, so they count as votes
            n_out = int((out & voted_statements).sum())
            scale_votes, scale_statements = on_active + n_out, n_statements
        else:
            scale_votes, scale_statements = on_active, int(active.sum())
        projection = project_participants(centred, components, scale_votes,
                                          max(scale_statements, 1))

        # cold starts visit the most active participants first (ties: row order), so the
        # same votes always give the same map; Pol.is's own order is arbitrary
        placed_index = np.flatnonzero(placed)
        placed_index = placed_index[np.argsort(-counts[placed_index], kind="stable")]
        base = _sorted_by_id(kmeans(projection[placed_index], votes.participants[placed_index],
                                    self.base_clusters, previous=state.base,
                                    max_iterations=self.base_iterations))
        groups, silhouettes, clusterings, smoother = self._group(base, state)

        group = np.full(n, -1, dtype=np.int64)
        group[placed_index] = groups.labels[base.labels]
        if self.refine and groups.k > 1:
            group[placed_index] = refine_groups(projection[placed_index], groups.centres)
        used, group[placed] = np.unique(group[placed], return_inverse=True)
        new_state = MapState(
            statements=votes.statements, components=components,
            placed=votes.participants[placed], base=base, group_clusterings=clusterings,
            last_k=smoother[0], last_k_count=smoother[1], chosen_k=smoother[2],
            updates=state.updates + 1)
        return OpinionMapResult(
            votes=votes, participants=votes.participants, statements=votes.statements,
            projection=projection, placed=placed, group=group, group_count=len(used),
            components=components, statement_means=means, base=base, groups=groups,
            silhouettes=silhouettes, state=new_state)

    def _group(self, base: Clustering, state: MapState
               ) -> tuple[Clustering, dict[int, float], dict[int, Clustering], tuple]:
        """Group the base clusters for each k, score by silhouette, smooth the choice of k."""
        sizes = base.sizes().astype(float)
        centres = base.centres
        if base.k < 2:
            one = Clustering(np.zeros(1, dtype=np.int64), centres.copy(), base.ids,
                             np.zeros(base.k, dtype=np.int64))
            if base.k == 0:
                one = Clustering(np.zeros(0, dtype=np.int64), np.zeros((0, 2)), base.ids,
                                 np.zeros(0, dtype=np.int64))
            return one, {}, {}, (state.last_k, state.last_k_count, state.chosen_k)
        distances = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
        largest = min(self.max_groups, 2 + base.k // 12)
        clusterings: dict[int, Clustering] = {}
        silhouettes: dict[int, float] = {}
        for k in range(2, largest + 1):
            previous = state.group_clusterings.get(k)
            clusterings[k] = kmeans(centres, base.ids, k, weights=sizes, previous=previous,
                                    max_iterations=self.group_iterations,
                                    n_init=self.group_starts if previous else self.cold_starts,
                                    switch_margin=self.switch_margin)
            silhouettes[k] = silhouette(distances, clusterings[k].labels)
        this_k = _best_k(silhouettes, self.k_margin)
        count = state.last_k_count + 1 if state.last_k == this_k else 1
        if count >= self.k_patience or state.chosen_k is None \
                or state.chosen_k not in clusterings:
            chosen = this_k
        else:
            chosen = state.chosen_k
        return clusterings[chosen], silhouettes, clusterings, (this_k, count, chosen)

    def fit(self, votes: VoteMatrix, *, moderated_out: Sequence = ()) -> OpinionMapResult:
        """A single update from nothing (no history)."""
        return self.update(votes, None, moderated_out=moderated_out)

    def replay(self, participant: np.ndarray, statement: np.ndarray, vote: np.ndarray,
               timestamp: np.ndarray, *, moderated_out: Sequence = (),
               schedule: np.ndarray | None = None, state: MapState | None = None,
               progress=None) -> OpinionMapResult:
        """Replay vote events in time order, updating as Pol.is would have.

        Parameters
        ----------
        participant, statement, vote, timestamp : ndarray, shape (v,)
            Vote events (any order; they are sorted by time, ties kept in given order).
        moderated_out : sequence
            Statement ids moderated out (applied at every update).
        schedule : ndarray of int, optional
            Number of events in each update; default :func:`update_schedule`.
        state : MapState, optional
            Start from this state.
        progress : callable, optional
            Called as ``progress(done, total)`` after each update.

        Returns
        -------
        OpinionMapResult
            The map after the last update (which includes every event).
        """
        order = np.argsort(np.asarray(timestamp), kind="stable")
        participant, statement = np.asarray(participant)[order], np.asarray(statement)[order]
        vote, timestamp = np.asarray(vote)[order], np.asarray(timestamp)[order]
        if len(vote) == 0:
            raise ValidationError("there are no votes to map")
        schedule = update_schedule(timestamp) if schedule is None else np.asarray(schedule)
        all_participants, row = np.unique(participant, return_inverse=True)
        all_statements, col = np.unique(statement, return_inverse=True)
        vote = vote.astype(np.int8)
        result = None
        for i, end in enumerate(schedule):
            seen_rows = np.unique(row[:end])
            seen_cols = np.unique(col[:end])
            # rows/columns appear as they get their first vote, as in Pol.is
            row_map = np.full(len(all_participants), -1, dtype=np.int64)
            row_map[seen_rows] = np.arange(len(seen_rows))
            col_map = np.full(len(all_statements), -1, dtype=np.int64)
            col_map[seen_cols] = np.arange(len(seen_cols))
            votes = VoteMatrix._from_cells(all_participants[seen_rows], all_statements[seen_cols],
                                           row_map[row[:end]], col_map[col[:end]], vote[:end])
            result = self.update(votes, state, moderated_out=moderated_out)
            state = result.state
            if progress is not None:
                progress(i + 1, len(schedule))
        assert result is not None
        return result
