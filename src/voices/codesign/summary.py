"""The opinion map in a few lines: who is in which group, common ground, and what sets
each group apart. Pure: it takes a map result and returns plain data (for ``--json``,
pages and reports)."""

from __future__ import annotations

from collections.abc import Sequence

from voices.codesign.opinion import OpinionMapResult
from voices.codesign.statements import (
    consensus_ranking,
    group_vote_counts,
    representativeness,
    select_representative,
)

__all__ = ["map_summary"]


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def map_summary(result: OpinionMapResult, *, moderated_out: Sequence = (),
                seconds: float | None = None) -> dict:
    """Summarise an opinion map.

    Parameters
    ----------
    result : OpinionMapResult
        From :meth:`voices.codesign.opinion.OpinionMap.update` (or ``replay``).
    moderated_out : sequence
        Statement ids left out of the consensus ranking and the representative
        statements.
    seconds : float, optional
        How long the map took, reported as is.

    Returns
    -------
    dict
        ``participants`` (everyone who voted), ``in_conversation`` (placed in a group),
        ``groups`` (k), ``membership`` (``{participant id: group}``), ``consensus``
        (statement ids by group-informed consensus, best first), ``repness``
        (``{group: [statement ids]}``, Pol.is's selection) and ``seconds``.
    """
    counts = group_vote_counts(result.votes, result.group)
    chosen = select_representative(representativeness(counts), exclude=moderated_out)
    summary = {
        "participants": int(result.votes.shape[0]),
        "in_conversation": int(result.placed.sum()),
        "groups": int(result.group_count),
        "membership": {str(_plain(p)): int(g) for p, g in result.membership().items()},
        "consensus": [_plain(s) for s in consensus_ranking(counts, exclude=moderated_out)],
        "repness": {str(g): [_plain(s.statement) for s in picked]
                    for g, picked in sorted(chosen.items())},
    }
    if seconds is not None:
        summary["seconds"] = round(float(seconds), 3)
    return summary
