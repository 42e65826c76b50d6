"""Pol.is open-data files in and out, with located errors, and `voices codesign map`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from voices.cli import app
from voices.codesign.clustering import positions_of
from voices.codesign.polis_formats import (
    read_comments,
    read_participants_votes,
    read_polis_export,
    read_votes,
    write_comments,
    write_participants_votes,
    write_votes,
)
from voices.errors import ValidationError

runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf8")
    return path


def small_export(folder: Path) -> Path:
    """Two camps of 10 on 8 statements, plus a moderated-out statement."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    comments = pl.DataFrame({"comment-id": list(range(9)),
                             "comment-body": [f"Statement {i}, with a comma" for i in range(9)],
                             "moderated": [1] * 8 + [-1], "timestamp": [1_500_000_000_000] * 9})
    write_comments(folder / "comments.csv", comments)
    rows = []
    t = 1_500_000_000_000
    for person in range(20):
        camp = 1 if person < 10 else -1
        for statement in range(9):
            if statement < 8 or rng.random() < 0.5:
                t += 1000
                vote = camp * (1 if statement % 2 else -1)
                rows.append((t, statement, person, vote if rng.random() > 0.1 else 0))
    events = pl.DataFrame(rows, schema=["timestamp", "comment-id", "voter-id", "vote"],
                          orient="row")
    write_votes(folder / "votes.csv", events)
    return folder


# ------------------------------------------------------------------ real exports


def test_reads_real_export_with_the_documented_sizes(shared_data: Path):
    export = read_polis_export(shared_data / "polis" / "brexit-consensus")
    assert export.comments.height == 50
    matrix = export.vote_matrix()
    assert matrix.shape == (204, 50)
    assert matrix.n_votes == 5303  # the README's "votes (cells)"
    assert export.votes.height == 5312  # events, before later votes replace earlier ones
    assert len(export.polis_groups()) == 197
    # the latest vote in votes.csv is what participants-votes.csv holds
    table = export.participant_votes.votes
    rows = positions_of(table.participants, matrix.participants)
    cols = positions_of(table.statements, matrix.statements)
    assert (rows >= 0).all() and (cols >= 0).all()
    np.testing.assert_array_equal(table.to_dense()[np.ix_(rows, cols)], matrix.to_dense())


def test_reads_export_with_only_the_participant_table(shared_data: Path):
    export = read_polis_export(shared_data / "polis" / "american-assembly.bowling-green")
    assert export.votes is None
    assert export.vote_matrix().shape == (2031, 896)
    assert export.vote_matrix().n_votes == 225_524
    assert len(export.moderated_out) == 289


# ---------------------------------------------------------------------- round trip


def test_files_round_trip(tmp_path: Path, shared_data: Path):
    source = read_polis_export(shared_data / "polis" / "london.youth.policing")
    out = tmp_path / "copy [2026]"  # a folder name with pattern characters is read as it is
    out.mkdir()
    write_comments(out / "comments.csv", source.comments)
    write_votes(out / "votes.csv", source.votes)
    table = source.participant_votes
    write_participants_votes(out / "participants-votes.csv", table.votes, table.groups,
                             table.comments_written)
    again = read_polis_export(out)
    assert again.comments.equals(source.comments)
    assert again.votes.equals(source.votes)
    np.testing.assert_array_equal(again.participant_votes.votes.to_dense(),
                                  table.votes.to_dense())
    np.testing.assert_array_equal(again.participant_votes.groups, table.groups)
    # the summary columns Pol.is writes are recomputed from the votes
    original = pl.read_csv(shared_data / "polis" / "london.youth.policing" /
                           "participants-votes.csv")
    written = pl.read_csv(out / "participants-votes.csv", glob=False)
    for column in ("n-votes", "n-agree", "n-disagree", "n-comments"):
        assert written[column].to_list() == original[column].to_list()


# -------------------------------------------------------------- located errors


def test_bad_vote_is_located(tmp_path: Path):
    path = write(tmp_path / "votes.csv", "timestamp,datetime,comment-id,voter-id,vote\n"
                 "1,x,0,1,1\n2,x,0,2,agree\n3,x,zero,3,-1\n4,x,0,4,2\n")
    with pytest.raises(ValidationError) as caught:
        read_votes(path)
    where = [(p.row, p.column) for p in caught.value.problems]
    assert where == [(4, "comment-id"), (3, "vote"), (5, "vote")]
    assert caught.value.file == str(path)
    assert "agree" in str(caught.value.problems[1])


def test_missing_column_and_empty_file(tmp_path: Path):
    with pytest.raises(ValidationError, match="missing column 'moderated'") as caught:
        read_comments(write(tmp_path / "comments.csv", "comment-id,comment-body\n1,hi\n"))
    assert caught.value.row == 1
    with pytest.raises(ValidationError, match="empty"):
        read_comments(write(tmp_path / "empty.csv", ""))


def test_duplicate_comment_ids_are_refused(tmp_path: Path):
    path = write(tmp_path / "comments.csv",
                 "comment-id,moderated,comment-body\n1,1,a\n2,0,b\n1,1,c\n")
    with pytest.raises(ValidationError, match="first on row 2") as caught:
        read_comments(path)
    assert caught.value.row == 4


def test_participant_table_cells_are_checked(tmp_path: Path):
    path = write(tmp_path / "participants-votes.csv",
                 "participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,x\n"
                 "1,0,0,2,1,1,1,-1,\n2,,0,1,0,0,0,,\n3,1,0,1,1,0,5,,\n")
    with pytest.raises(ValidationError) as caught:
        read_participants_votes(path)
    where = {(p.row, p.column) for p in caught.value.problems}
    assert where == {(1, "x"), (4, "0")}


def test_votes_must_refer_to_listed_comments(tmp_path: Path):
    folder = small_export(tmp_path / "export")
    text = (folder / "votes.csv").read_text().splitlines()
    text.append("1600000000000,x,99,1,1")
    (folder / "votes.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(ValidationError, match="comment 99 is not in comments.csv") as caught:
        read_polis_export(folder)
    assert caught.value.row == len(text)


def test_folder_without_votes_is_refused(tmp_path: Path):
    with pytest.raises(ValidationError, match="no votes.csv"):
        read_polis_export(tmp_path)


# ------------------------------------------------------------------------ CLI


def test_cli_map_prints_the_documented_json(tmp_path: Path):
    folder = small_export(tmp_path / "export")
    result = runner.invoke(app, ["codesign", "map", "--polis-export", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"participants", "in_conversation", "groups", "membership",
                         "consensus", "repness", "seconds"}
    assert data["participants"] == 20 and data["in_conversation"] == 20
    assert data["groups"] == 2
    first = {g for p, g in data["membership"].items() if int(p) < 10}
    second = {g for p, g in data["membership"].items() if int(p) >= 10}
    assert len(first) == len(second) == 1 and first != second
    assert 8 not in data["consensus"]  # moderated out
    assert set(data["repness"]) == {"0", "1"}
    assert all(isinstance(s, int) for ids in data["repness"].values() for s in ids)


def test_cli_errors_are_one_located_line_with_exit_code_2(tmp_path: Path):
    folder = small_export(tmp_path / "export")
    (folder / "votes.csv").write_text("timestamp,comment-id,voter-id,vote\n1,0,1,maybe\n")
    result = runner.invoke(app, ["codesign", "map", "--polis-export", str(folder), "--json"])
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert "votes.csv" in message and "row 2" in message and "vote" in message
    assert "Traceback" not in message


def test_cli_map_on_a_real_conversation(shared_data: Path):
    folder = shared_data / "polis" / "american-assembly.bowling-green"
    result = runner.invoke(app, ["codesign", "map", "--polis-export", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["participants"] == 2031
    assert data["in_conversation"] == len(data["membership"]) >= 1500
    assert len(data["consensus"]) == 896 - 289  # every moderated-in statement, ranked
