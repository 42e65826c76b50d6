"""K-means and silhouette as Pol.is uses them for opinion groups.

Pol.is clusters participants twice: first into about 100 small *base clusters*, then it
groups the base clusters (weighted by how many people each holds) into 2 to 5 *opinion
groups*, choosing the number of groups by silhouette. Every update starts from the
clusters of the previous update, so groups stay put as votes arrive. This module holds
the pure pieces: one warm-startable k-means, and the silhouette of a clustering of a
small set of points.

References
----------
The Computational Democracy Project, Pol.is math, ``math/src/polismath/math/clusters.clj``
(functions ``kmeans``, ``clean-start-clusters``, ``cluster-step``, ``same-clustering?``,
``silhouette``), AGPL-3.0, read for its behaviour; this is an independent implementation.
Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation
of cluster analysis. *Journal of Computational and Applied Mathematics* 20, 53-65.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

__all__ = [
    "Clustering",
    "kmeans",
    "lloyd",
    "positions_of",
    "silhouette",
    "within_sum_of_squares",
]


@dataclass(frozen=True)
class Clustering:
    """A clustering of named points.

    Attributes
    ----------
    ids : ndarray of int, shape (k,)
        Stable cluster ids. A cluster keeps its id from one update to the next.
    centres : ndarray of float, shape (k, d)
        Weighted mean position of each cluster's members.
    point_ids : ndarray, shape (n,)
        The names of the clustered points (participant ids, or base-cluster ids).
    labels : ndarray of int, shape (n,)
        For each point, the *index* (0..k-1) of its cluster in ``ids``.
    """

    ids: np.ndarray
    centres: np.ndarray
    point_ids: np.ndarray
    labels: np.ndarray

    @property
    def k(self) -> int:
        return len(self.ids)

    def sizes(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Number of points (or total weight) in each cluster."""
        return np.bincount(self.labels, weights=weights, minlength=self.k)

    def to_dict(self) -> dict:
        return {"ids": self.ids.tolist(), "centres": self.centres.tolist(),
                "point_ids": self.point_ids.tolist(), "labels": self.labels.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Clustering:
        centres = np.asarray(data["centres"], dtype=float).reshape(len(data["ids"]), -1)
        return cls(ids=np.asarray(data["ids"], dtype=np.int64), centres=centres,
                   point_ids=np.asarray(data["point_ids"]),
                   labels=np.asarray(data["labels"], dtype=np.int64))


def positions_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each of ``wanted`` in ``ids``, or -1 where it is absent.

    Parameters
    ----------
    ids : ndarray
        Distinct names (any sortable dtype).
    wanted : ndarray
        Names to look up.

    Returns
    -------
    ndarray of int
        Positions in ``ids``; -1 for names not found.
    """
    ids = np.asarray(ids)
    wanted = np.asarray(wanted)
    if len(ids) == 0 or len(wanted) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    if ids.dtype.kind != wanted.dtype.kind and not (
            ids.dtype.kind in "iu" and wanted.dtype.kind in "iu"):
        ids, wanted = ids.astype(str), wanted.astype(str)
    order = np.argsort(ids, kind="stable")
    found = np.searchsorted(ids, wanted, sorter=order)
    found = np.minimum(found, len(ids) - 1)
    index = order[found]
    return np.where(ids[index] == wanted, index, -1).astype(np.int64)


def _weighted_means(points: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                    k: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of the points of each label 0..k-1, and each label's total weight."""
    total = np.bincount(labels, weights=weights, minlength=k)
    sums = np.stack([np.bincount(labels, weights=weights * points[:, j], minlength=k)
                     for j in range(points.shape[1])], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / total[:, None]
    return means, total


def _nearest(points: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to, and index of, the nearest centre for every point (first on ties)."""
    if len(centres) <= 8 or len(points) < 64:
        # exact brute force, in blocks so memory stays small
        best_d = np.empty(len(points))
        best_i = np.empty(len(points), dtype=np.int64)
        block = max(1, 2_000_000 // max(1, len(centres)))
        for start in range(0, len(points), block):
            chunk = points[start:start + block]
            d = np.sqrt(((chunk[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
            best_i[start:start + block] = np.argmin(d, axis=1)
            best_d[start:start + block] = d[np.arange(len(chunk)), best_i[start:start + block]]
        return best_d, best_i
    distance, index = cKDTree(centres).query(points, k=1)
    return distance, index.astype(np.int64)


def _first_distinct(points: np.ndarray, k: int, order: np.ndarray) -> np.ndarray:
    """Indices of the first ``k`` points with distinct positions, visiting ``order``."""
    chosen: list[int] = []
    seen: set[tuple] = set()
    for i in order:
        key = tuple(points[i].tolist())
        if key not in seen:
            seen.add(key)
            chosen.append(int(i))
            if len(chosen) == k:
                break
    return np.asarray(chosen, dtype=np.int64)


def _warm_start(points: np.ndarray, point_ids: np.ndarray, weights: np.ndarray, k: int,
                previous: Clustering) -> tuple[np.ndarray, np.ndarray]:
    """Starting centres (and their ids) built from the previous clustering.

    Each previous cluster is re-centred on the current positions of its members who are
    still present; clusters with no members left are dropped and clusters that landed on
    exactly the same centre are merged. While there are fewer clusters than ``k`` (and
    than distinct points), the point furthest from every centre is split off into a new
    cluster of its own. This follows Pol.is ``clean-start-clusters``.
    """
    where = positions_of(point_ids, previous.point_ids)
    keep = where >= 0
    member_of = np.full(len(points), -1, dtype=np.int64)
    member_of[where[keep]] = previous.labels[keep]
    ids = previous.ids.copy()
    present = np.bincount(member_of[member_of >= 0], minlength=len(ids)) > 0
    if not present.any():
        centre, _ = _weighted_means(points, np.zeros(len(points), dtype=np.int64), weights, 1)
        next_id = int(previous.ids.max()) + 1 if len(previous.ids) else 0
        return centre, np.array([next_id], dtype=np.int64)
    # renumber the surviving clusters 0..c-1
    renumber = np.cumsum(present) - 1
    member_of = np.where(member_of >= 0, renumber[np.maximum(member_of, 0)], -1)
    ids = ids[present]
    mask = member_of >= 0
    centres, _ = _weighted_means(points[mask], member_of[mask], weights[mask], len(ids))
    # merge clusters whose centres coincide exactly (the larger cluster's id survives)
    _, first, inverse = np.unique(centres, axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    if len(first) < len(ids):
        counts = np.bincount(member_of[member_of >= 0], minlength=len(ids))
        groups = np.argsort(first)  # merged clusters, in order of first appearance
        rank = np.empty_like(groups)
        rank[groups] = np.arange(len(groups))
        merged_ids = []
        for group in groups:
            members = np.flatnonzero(inverse == group)
            merged_ids.append(ids[members[np.argmax(counts[members])]])
        member_of = np.where(member_of >= 0, rank[inverse[np.maximum(member_of, 0)]], -1)
        ids = np.asarray(merged_ids, dtype=np.int64)
        mask = member_of >= 0
        centres, _ = _weighted_means(points[mask], member_of[mask], weights[mask], len(ids))
    possible = min(k, len(np.unique(points, axis=0)))
    next_id = int(max(previous.ids.max(), ids.max())) + 1
    while len(ids) < possible:
        distance, _ = _nearest(points, centres)
        outlier = int(np.argmax(distance))
        if distance[outlier] <= 0:
            break
        member_of[outlier] = len(ids)
        ids = np.append(ids, next_id)
        next_id += 1
        mask = member_of >= 0
        centres, _ = _weighted_means(points[mask], member_of[mask], weights[mask], len(ids))
    return centres, ids


def kmeans(points: np.ndarray, point_ids: np.ndarray, k: int, *,
           weights: np.ndarray | None = None, previous: Clustering | None = None,
           max_iterations: int = 20, tolerance: float = 0.01,
           rng: np.random.Generator | None = None, n_init: int = 1,
           switch_margin: float = 0.01) -> Clustering:
    """Warm-startable k-means, as Pol.is runs it.

    Parameters
    ----------
    points : ndarray, shape (n, d)
        Positions to cluster.
    point_ids : ndarray, shape (n,)
        Names of the points; used to carry clusters over from ``previous``.
    k : int
        Wanted number of clusters (fewer are returned when clusters empty out or there
        are fewer distinct points).
    weights : ndarray, shape (n,), optional
        Weight of each point in the cluster means (Pol.is weights base clusters by size).
    previous : Clustering, optional
        The clustering from the last update. Its clusters are re-centred on their members'
        new positions and kept (with their ids); see :func:`_warm_start`.
    max_iterations : int
        Pol.is stops after this many steps (100 for base clusters, 20 for groups).
    tolerance : float
        Stop when no centre moves further than this (Pol.is uses 0.01).
    rng : numpy.random.Generator, optional
        Order in which points are visited when choosing starting centres without a
        previous clustering (Pol.is takes the first ``k`` distinct points in its internal
        order, which is arbitrary; we make that order an explicit random permutation).
    n_init : int
        Also run this many fresh starts (from random distinct points) and keep the result
        with the smallest weighted within-cluster sum of squares. With a ``previous``
        clustering, a fresh result replaces the warm-started one only if it is better by
        more than ``switch_margin`` (relative), so groups stay put unless a clearly
        better split exists. Pol.is itself uses one start (``n_init=1``).
    switch_margin : float
        See ``n_init``.

    Returns
    -------
    Clustering
        Cluster ids, centres and each point's cluster. Clusters left empty are dropped.

    References
    ----------
    Lloyd, S. (1982). Least squares quantization in PCM. *IEEE Trans. Inf. Theory* 28(2).
    Pol.is ``clusters.clj`` ``kmeans`` and ``clean-start-clusters``.
    """
    points = np.asarray(points, dtype=float)
    n = len(points)
    point_ids = np.asarray(point_ids)
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if n == 0:
        return Clustering(np.zeros(0, dtype=np.int64), np.zeros((0, points.shape[1])),
                          point_ids, np.zeros(0, dtype=np.int64))
    warm = previous is not None and previous.k > 0
    best: Clustering | None = None
    if warm:
        centres, ids = _warm_start(points, point_ids, weights, k, previous)
        best = lloyd(points, point_ids, weights, centres, ids, max_iterations, tolerance)
    tries = max(n_init, 0 if warm else 1)
    if tries == 0:
        return best
    best_cost = within_sum_of_squares(points, best, weights) * (1 - switch_margin) \
        if best is not None else np.inf
    next_id = int(previous.ids.max()) + 1 if warm else 0
    for attempt in range(tries):
        if rng is None:
            order = np.arange(n) if attempt == 0 else \
                np.random.default_rng(attempt).permutation(n)
        else:
            order = rng.permutation(n)
        start = _first_distinct(points, k, order)
        candidate = lloyd(points, point_ids, weights, points[start].copy(),
                           np.arange(next_id, next_id + len(start), dtype=np.int64),
                           max_iterations, tolerance)
        cost = within_sum_of_squares(points, candidate, weights)
        if best is None or cost < best_cost - 1e-12 * max(1.0, abs(best_cost)):
            best, best_cost = candidate, cost
    assert best is not None
    return best


def within_sum_of_squares(points: np.ndarray, clustering: Clustering,
                          weights: np.ndarray | None = None) -> float:
    """Weighted sum of squared distances of points to their cluster centres (inertia)."""
    weights = np.ones(len(points)) if weights is None else weights
    gap = points - clustering.centres[clustering.labels]
    return float((weights * (gap ** 2).sum(axis=1)).sum())


def lloyd(points: np.ndarray, point_ids: np.ndarray, weights: np.ndarray,
           centres: np.ndarray, ids: np.ndarray, max_iterations: int,
           tolerance: float) -> Clustering:
    """Lloyd iterations as in Pol.is ``cluster-step``: assign, drop empty clusters, re-centre.

    Parameters
    ----------
    points, point_ids, weights : ndarray
        Points to cluster, their names and weights.
    centres, ids : ndarray
        Starting centres and their cluster ids.
    max_iterations : int
        At most this many steps after the first.
    tolerance : float
        Stop once no centre moves further than this.

    Returns
    -------
    Clustering

    References
    ----------
    Lloyd (1982); Pol.is ``clusters.clj`` ``cluster-step`` and ``kmeans``.
    """
    n = len(points)
    labels = np.zeros(n, dtype=np.int64)
    for step in range(max_iterations + 1):
        _, labels = _nearest(points, centres)
        used = np.bincount(labels, minlength=len(ids)) > 0
        if not used.all():
            renumber = np.cumsum(used) - 1
            labels = renumber[labels]
            ids, centres = ids[used], centres[used]
        new_centres, _ = _weighted_means(points, labels, weights, len(ids))
        moved = np.sqrt(((new_centres - centres) ** 2).sum(axis=1))
        centres = new_centres
        if np.all(moved < tolerance):
            break
    return Clustering(ids=ids, centres=centres, point_ids=point_ids, labels=labels)


def silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of a clustering, from a full distance matrix.

    Parameters
    ----------
    distances : ndarray, shape (n, n)
        Pairwise distances between the clustered points (Pol.is: between base clusters).
    labels : ndarray of int, shape (n,)
        Cluster of each point.

    Returns
    -------
    float
        Unweighted mean over points of ``(b - a) / max(a, b)``, where ``a`` is the mean
        distance to the other members of the point's cluster and ``b`` the smallest mean
        distance to another cluster's members. A point alone in its cluster scores 0, as
        in Pol.is and Rousseeuw (1987). ``-inf`` when there is only one cluster.
    """
    labels = np.asarray(labels)
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return float("-inf")
    onehot = (labels[:, None] == clusters[None, :]).astype(float)
    sizes = onehot.sum(axis=0)
    sums = distances @ onehot  # (n, c): total distance from each point to each cluster
    own = np.searchsorted(clusters, labels)
    own_size = sizes[own]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = sums[np.arange(len(labels)), own] / (own_size - 1)
        means = sums / sizes[None, :]
    means[np.arange(len(labels)), own] = np.inf
    b = means.min(axis=1)
    scale = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(scale > 0, (b - a) / scale, 0.0)
    s = np.where(own_size <= 1, 0.0, s)
    return float(s.mean())
