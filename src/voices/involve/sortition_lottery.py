"""The public draw: turn a lottery over panels into ``m`` equally likely tickets anyone can check.

Steps (Flanigan, Kehne & Procaccia 2021, "Fair sortition made transparent"):

1. **Round** the panel weights ``w_j`` to whole ticket counts ``a_j`` with ``sum a_j = m``:
   each ``m * w_j`` is rounded down or up by dependent (systematic) rounding in a seeded
   random order, which keeps the total exact and rounds each count up with probability equal
   to its fractional part, so on average over the rounding nobody's chance changes. The
   change for this rounding is measured and reported (:attr:`Lottery.max_change`); on the
   shared pools it stays below ``k / m``. (Flanigan, Kehne & Procaccia prove bounds of this
   order for their rounding methods; this simpler rounding does not carry that proof.)
2. **Name the people**: a type-level ticket says how many people of each type sit on it.
   Inside each type the members are put in a seeded random order and dealt to the tickets
   in turn, so every member of a type holds the same number of tickets give or take one.
3. **Publish** the ticket list (one line per ticket: the ids on it, sorted, comma
   separated) and its SHA-256 digest *before* the draw, together with where the seed will
   come from (for example a national lottery result on a stated date).
4. **Draw**: ticket number ``1 + (int(sha256(digest + ":" + seed), 16) mod m)``. Anyone with
   the published file and the seed can repeat it (see ``docs/involve.md``).

References
----------
B. Flanigan, G. Kehne, A. D. Procaccia, "Fair sortition made transparent", *NeurIPS* 34
(2021): uniform lotteries over ``m`` panels and rounding with bounded change per person.
R. Gandhi, S. Khuller, S. Parthasarathy, A. Srinivasan, "Dependent rounding and its
applications to approximation algorithms", *J. ACM* 53 (2006) (dependent rounding that
keeps sums exact).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voices.errors import ValidationError
from voices.involve.sortition_pool import PanelDistribution


@dataclass(frozen=True)
class Lottery:
    """``m`` equally likely tickets, each a panel of person ids.

    Attributes
    ----------
    tickets:
        The panels, each a tuple of ids in sorted order; ticket ``j`` is line ``j + 1``.
    ids:
        Everyone in the pool (pool order).
    target:
        Each person's chance under the exact lottery the tickets stand in for.
    """

    tickets: tuple[tuple[str, ...], ...]
    ids: tuple[str, ...]
    target: np.ndarray

    @property
    def m(self) -> int:
        return len(self.tickets)

    def text(self) -> str:
        """The published ticket list: one line per ticket, ids sorted and comma separated."""
        return "".join(",".join(ticket) + "\n" for ticket in self.tickets)

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`text` as UTF-8: the fingerprint published before the draw."""
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()

    @property
    def probabilities(self) -> np.ndarray:
        """Each person's chance under the ticket lottery (tickets held / m)."""
        index = {person: i for i, person in enumerate(self.ids)}
        held = np.zeros(len(self.ids))
        for ticket in self.tickets:
            for person in ticket:
                held[index[person]] += 1
        return held / self.m

    @property
    def max_change(self) -> float:
        """Largest change of anyone's chance caused by rounding to tickets."""
        return float(np.abs(self.probabilities - self.target).max())

    def draw(self, seed: str) -> tuple[int, tuple[str, ...]]:
        """The winning ticket for a public ``seed``: ``(ticket number from 1, its ids)``."""
        if not seed:
            raise ValidationError("the seed is empty", column="seed",
                                  expected="the public random value announced in advance")
        number = draw_ticket(self.digest, seed, self.m)
        return number, self.tickets[number - 1]


def draw_ticket(digest: str, seed: str, m: int) -> int:
    """Ticket number (1..m) drawn by ``seed`` from a list with SHA-256 ``digest``."""
    value = int(hashlib.sha256(f"{digest}:{seed}".encode()).hexdigest(), 16)
    return 1 + value % m


def round_weights(weights: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Whole counts summing to ``m``, each ``floor`` or ``ceil`` of ``m * weights``.

    Systematic sampling over a random order: counts are rounded up with probability equal
    to their fractional part, and the total is exactly ``m``.
    """
    scaled = m * np.asarray(weights, float) / np.sum(weights)
    base = np.floor(scaled)
    fraction = scaled - base
    order = rng.permutation(len(scaled))
    cumulative = np.cumsum(fraction[order])
    start = rng.random()
    up = np.floor(cumulative + start) - np.floor(np.concatenate([[0.0], cumulative[:-1]]) + start)
    counts = base.copy()
    counts[order] += up
    counts = counts.astype(np.int64)
    missing = m - int(counts.sum())  # only float round-off can leave a ticket over or short
    if missing:
        counts[np.argsort(-fraction, kind="stable")[:abs(missing)]] += np.sign(missing)
    return counts


def build_lottery(distribution: PanelDistribution, ids: Sequence[str], m: int = 1000,
                  seed: int = 0) -> Lottery:
    """Round ``distribution`` to ``m`` tickets and name the people on each.

    Parameters
    ----------
    distribution:
        The lottery over type-level panels (LEXIMIN or LEGACY).
    ids:
        Person ids in pool order.
    m:
        Number of tickets (1000 suits a three-digit draw).
    seed:
        Seed for the rounding and the order inside each type; the same seed gives the same
        tickets.
    """
    if m < 1:
        raise ValidationError(f"{m} tickets is too few", column="tickets",
                              expected="a whole number, 1 or more")
    rng = np.random.Generator(np.random.PCG64(seed))
    problem = distribution.problem
    counts = round_weights(distribution.weights, m, rng)
    members = [rng.permutation(group) for group in problem.members()]
    cursor = np.zeros(problem.n_types, np.int64)
    tickets = []
    for panel, copies in zip(distribution.panels, counts, strict=True):
        for _ in range(int(copies)):
            chosen = []
            for t in np.flatnonzero(panel):
                size = len(members[t])
                take = (cursor[t] + np.arange(panel[t])) % size
                cursor[t] = (cursor[t] + panel[t]) % size
                chosen.extend(members[t][take])
            tickets.append(tuple(sorted(ids[i] for i in chosen)))
    return Lottery(tuple(tickets), tuple(ids), distribution.probabilities)
