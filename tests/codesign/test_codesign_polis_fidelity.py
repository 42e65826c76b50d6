"""Formula fidelity: given Pol.is's own groups, Voices' group-informed consensus and repness
statistics equal Pol.is's published formulas, computed here independently with plain
Python on the raw CSV of each public conversation.

The formulas below are transcribed from Pol.is ``math/src/polismath/math/repness.clj``
(``comment-stats``, ``add-comparitive-stats``), ``stats.clj`` (``prop-test``,
``two-prop-test``) and ``conversation.clj`` (``:group-aware-consensus``).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from voices.codesign.polis_formats import read_participants_votes
from voices.codesign.statements import (
    group_informed_consensus,
    group_vote_counts,
    representativeness,
)

CONVERSATIONS = [
    "15-per-hour-seattle",
    "american-assembly.bowling-green",
    "austria-climate.5twd2jsnkf.2022-08-08",
    "brexit-consensus",
    "canadian-electoral-reform",
    "football-concussions",
    "london.youth.policing",
    "scoop-hivemind.biodiversity",
    "scoop-hivemind.ubi",
    "vtaiwan.uberx",
]


def polis_prop_test(succ: int, n: int) -> float:
    succ, n = succ + 1, n + 1
    return 2 * math.sqrt(n) * (succ / n - 0.5)


def polis_two_prop_test(succ_in: int, succ_out: int, pop_in: int, pop_out: int) -> float:
    succ_in, succ_out, pop_in, pop_out = succ_in + 1, succ_out + 1, pop_in + 1, pop_out + 1
    pi1, pi2 = succ_in / pop_in, succ_out / pop_out
    pi_hat = (succ_in + succ_out) / (pop_in + pop_out)
    if pi_hat == 1:
        return 0.0
    return (pi1 - pi2) / math.sqrt(pi_hat * (1 - pi_hat) * (1 / pop_in + 1 / pop_out))


def polis_statistics(path: Path):
    """Per group and comment: Pol.is's repness stats and each comment's GIC, from the CSV."""
    with path.open(newline="", encoding="utf8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    group_column = header.index("group-id")
    comments = [c for c in header if c.lstrip("-").isdigit() and header.index(c) > group_column]
    index = {c: header.index(c) for c in comments}
    counts: dict[int, dict[str, list[int]]] = {}
    for row in rows[1:]:
        if row[group_column] == "":
            continue
        group = int(row[group_column])
        tally = counts.setdefault(group, {c: [0, 0, 0] for c in comments})
        for c in comments:
            cell = row[index[c]]
            if cell == "":
                continue
            vote = int(float(cell))
            tally[c][2] += 1
            if vote == 1:
                tally[c][0] += 1
            elif vote == -1:
                tally[c][1] += 1
    stats = {}
    gic = {}
    for c in comments:
        product = 1.0
        for group in sorted(counts):
            na, nd, ns = counts[group][c]
            product *= (na + 1.0) / (ns + 2.0)
            rest = [counts[other][c] for other in counts if other != group]
            rna, rnd, rns = (sum(r[i] for r in rest) for i in range(3))
            pa, pd = (1 + na) / (2 + ns), (1 + nd) / (2 + ns)
            stats[(group, int(c))] = {
                "na": na, "nd": nd, "ns": ns, "pa": pa, "pd": pd,
                "pat": polis_prop_test(na, ns), "pdt": polis_prop_test(nd, ns),
                "ra": pa / ((1 + rna) / (2 + rns)), "rd": pd / ((1 + rnd) / (2 + rns)),
                "rat": polis_two_prop_test(na, rna, ns, rns),
                "rdt": polis_two_prop_test(nd, rnd, ns, rns),
            }
        gic[int(c)] = product
    return stats, gic


@pytest.mark.parametrize("conversation", CONVERSATIONS)
def test_consensus_and_repness_equal_polis_formulas(shared_data: Path, conversation: str):
    path = shared_data / "polis" / conversation / "participants-votes.csv"
    expected_stats, expected_gic = polis_statistics(path)

    export = read_participants_votes(path)
    counts = group_vote_counts(export.votes, export.groups)
    gic = group_informed_consensus(counts)
    rep = representativeness(counts)

    statements = export.votes.statements.tolist()
    assert len(statements) == len(expected_gic)
    for j, statement in enumerate(statements):
        assert gic[j] == pytest.approx(expected_gic[statement], rel=1e-9, abs=1e-12)
    checked = 0
    for g, group in enumerate(rep.groups.tolist()):
        for j, statement in enumerate(statements):
            want = expected_stats[(group, statement)]
            for name, value in want.items():
                got = getattr(rep, name)[g, j]
                assert got == pytest.approx(value, rel=1e-9, abs=1e-12), (group, statement, name)
            checked += 1
    assert checked == len(statements) * len(rep.groups) > 0
    # the products really differ between statements (the test compares something)
    assert np.ptp(gic) > 0
