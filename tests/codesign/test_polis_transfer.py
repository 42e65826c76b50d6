"""A Pol.is open-data export imports as a conversation and exports back to the same
files' content; a bad export imports nothing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from sqlalchemy import func, select

from voices.codesign import service, transfer
from voices.codesign.models import Conversation, Statement, StatementStatus, Vote
from voices.codesign.polis_formats import read_polis_export
from voices.errors import Conflict, ValidationError

CONVERSATION = "15-per-hour-seattle"


def _cells(matrix) -> set[tuple[int, int, int]]:
    rows = np.repeat(matrix.participants, np.diff(matrix.votes.indptr))
    return set(zip(rows.tolist(), matrix.statements[matrix.votes.indices].tolist(),
                   matrix.votes.data.tolist()))


def test_import_then_export_gives_back_the_same_votes_and_ids(session, demo_core,
                                                               shared_data, tmp_path):
    folder = shared_data / "polis" / CONVERSATION
    original = read_polis_export(folder)
    conversation = transfer.import_polis(session, folder, organisation_id=demo_core.trusts[0].id,
                                         question="Should the minimum wage be $15?",
                                         actor=demo_core.accounts["involvement_lead"])
    session.commit()
    assert conversation.has_closed() and conversation.source == "polis"
    counts = service.counts(session, conversation)
    assert counts.votes == original.vote_matrix().n_votes
    moderated_out = set(original.moderated_out)
    rejected = {s.number for s in service.statements(session, conversation,
                                                     StatementStatus.rejected)}
    assert rejected == moderated_out
    assert service.opinion_map(session, conversation).group_count >= 2

    written = transfer.export_polis(session, conversation, tmp_path / "out")
    assert [p.name for p in written] == ["comments.csv", "votes.csv", "participants-votes.csv"]
    again = read_polis_export(tmp_path / "out")
    assert _cells(again.vote_matrix()) == _cells(original.vote_matrix())
    assert _cells(again.participant_votes.votes) == _cells(original.vote_matrix())
    texts = dict(zip(original.comments["comment-id"].to_list(),
                     original.comments["comment-body"].to_list()))
    exported = dict(zip(again.comments["comment-id"].to_list(),
                        again.comments["comment-body"].to_list()))
    assert exported == {k: (v.strip() or f"Statement {k}") for k, v in texts.items()}
    assert set(again.moderated_out) == moderated_out
    groups = again.polis_groups()
    assert len(groups) == service.opinion_map(session, conversation).placed

    with pytest.raises(Conflict):
        transfer.import_polis(session, folder, organisation_id=demo_core.trusts[0].id,
                              question="Again")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Conversation)) == 1


def test_a_bad_export_imports_nothing(session, demo_core, shared_data, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(shared_data / "polis" / CONVERSATION, folder)
    votes = (folder / "votes.csv").read_text().splitlines()
    fields = votes[5].split(",")
    fields[-1] = "7"
    votes[5] = ",".join(fields)
    (folder / "votes.csv").write_text("\n".join(votes) + "\n")
    with pytest.raises(ValidationError) as caught:
        transfer.import_polis(session, folder, organisation_id=demo_core.trusts[0].id,
                              question="Broken")
    problem = caught.value.problems[0]
    assert (problem.file.endswith("votes.csv"), problem.row, problem.column) == (True, 6, "vote")
    session.rollback()
    assert [session.scalar(select(func.count()).select_from(m))
            for m in (Conversation, Statement, Vote)] == [0, 0, 0]
