"""Read and write the Pol.is open-data export: ``comments.csv``, ``votes.csv`` and
``participants-votes.csv``.

These thin functions take a path. Every file is checked as a whole before anything is
returned; problems are reported together, each with the file, the row (the header is
row 1) and the column, so a person can find and fix them. A bad file returns nothing.

Formats, as published by the Computational Democracy Project (github.com/compdemocracy/
openData, CC BY 4.0) and written by Pol.is ``math/src/polismath/darwin/export.clj``:

* ``comments.csv``: ``timestamp, datetime, comment-id, author-id, agrees, disagrees,
  moderated, comment-body``; ``moderated`` is -1 (moderated out), 0 (not yet) or 1 (in).
* ``votes.csv``: ``timestamp, datetime, comment-id, voter-id, vote``; one row per vote
  event, 1 agree, -1 disagree, 0 pass; a later vote on the same comment replaces an
  earlier one.
* ``participants-votes.csv``: ``participant, [xid,] group-id, n-comments, n-votes,
  n-agree, n-disagree``, then one column per comment id holding 1, -1, 0 or blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from voices.codesign.votes import VoteMatrix
from voices.errors import ProblemCollector, ValidationError
from voices.exports import write_rows

__all__ = [
    "ParticipantVotes",
    "PolisExport",
    "read_comments",
    "read_participants_votes",
    "read_polis_export",
    "read_votes",
    "votes_to_events",
    "write_comments",
    "write_participants_votes",
    "write_votes",
]

COMMENT_COLUMNS = ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees",
                   "moderated", "comment-body"]
VOTE_COLUMNS = ["timestamp", "datetime", "comment-id", "voter-id", "vote"]
PARTICIPANT_COLUMNS = ["participant", "group-id", "n-comments", "n-votes", "n-agree",
                       "n-disagree"]
OPTIONAL_PARTICIPANT_COLUMNS = {"xid"}


def _read_text_table(path: Path, required: list[str]) -> pl.DataFrame:
    """Read a CSV as text columns, checking it exists, parses and has ``required`` columns."""
    name = str(path)
    if not path.is_file():
        raise ValidationError("file not found", file=name, expected="a Pol.is export file")
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8", glob=False)
    except pl.exceptions.NoDataError:
        raise ValidationError("the file is empty", file=name, row=1,
                              expected="a header row") from None
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError, UnicodeDecodeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise ValidationError(f"not a readable CSV file ({first_line})", file=name,
                              expected="comma-separated values, UTF-8") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValidationError(f"missing column{'s' if len(missing) > 1 else ''} "
                              + ", ".join(f"'{c}'" for c in missing), file=name, row=1,
                              column=missing[0], expected=", ".join(required))
    return frame


def _integers(frame: pl.DataFrame, column: str, problems: ProblemCollector, *,
              allowed: tuple[int, ...] | None = None, required: bool = True,
              expected: str = "a whole number") -> pl.Series:
    """Parse a text column as integers, recording located problems for bad cells."""
    text = frame[column].str.strip_chars()
    # accept "1.0"-style whole numbers, which spreadsheets sometimes write
    values = text.cast(pl.Float64, strict=False)
    bad = (values.is_null() & text.is_not_null() & (text != "")) | \
        (values.is_not_null() & ((values % 1) != 0))
    if required:
        bad = bad | text.is_null() | (text == "")
    if allowed is not None:
        bad = bad | (values.is_not_null() & ~values.is_in([float(a) for a in allowed]))
    for index in np.flatnonzero(bad.fill_null(False).to_numpy())[: problems.limit]:
        shown = text[int(index)]
        problems.add(f"{shown!r} is not allowed" if shown else "value is missing",
                     row=int(index) + 2, column=column, expected=expected)
    return values.cast(pl.Int64, strict=False)


def _check_unique(values: pl.Series, column: str, problems: ProblemCollector) -> None:
    duplicated = values.is_duplicated() & values.is_not_null()
    first_seen: dict[int, int] = {}
    for index in np.flatnonzero(duplicated.to_numpy()):
        value = values[int(index)]
        if value in first_seen:
            problems.add(f"{column} {value} appears again (first on row {first_seen[value]})",
                         row=int(index) + 2, column=column, expected="each id once")
        else:
            first_seen[value] = int(index) + 2


def read_comments(path: str | Path) -> pl.DataFrame:
    """Read ``comments.csv``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    polars.DataFrame
        Columns ``comment-id`` (Int64), ``comment-body`` (str), ``moderated`` (Int64,
        -1/0/1), and, when present, ``timestamp``, ``datetime``, ``author-id``,
        ``agrees``, ``disagrees``.

    Raises
    ------
    ValidationError
        With every problem found, each located by row and column.
    """
    path = Path(path)
    frame = _read_text_table(path, ["comment-id", "comment-body", "moderated"])
    problems = ProblemCollector(file=str(path))
    out = {"comment-id": _integers(frame, "comment-id", problems),
           "comment-body": frame["comment-body"].fill_null(""),
           "moderated": _integers(frame, "moderated", problems, allowed=(-1, 0, 1),
                                  expected="-1 (moderated out), 0 or 1 (moderated in)")}
    for column in ("timestamp", "author-id", "agrees", "disagrees"):
        if column in frame.columns:
            out[column] = _integers(frame, column, problems, required=False)
    if "datetime" in frame.columns:
        out["datetime"] = frame["datetime"]
    _check_unique(out["comment-id"], "comment-id", problems)
    problems.raise_if_any()
    columns = [c for c in COMMENT_COLUMNS if c in out]
    return pl.DataFrame({c: out[c] for c in columns})


def read_votes(path: str | Path) -> pl.DataFrame:
    """Read ``votes.csv`` (vote events).

    Returns
    -------
    polars.DataFrame
        ``timestamp``, ``comment-id``, ``voter-id``, ``vote`` (all Int64) and
        ``datetime`` when present, in file order.

    Raises
    ------
    ValidationError
        With every problem found, each located by row and column.
    """
    path = Path(path)
    frame = _read_text_table(path, ["timestamp", "comment-id", "voter-id", "vote"])
    problems = ProblemCollector(file=str(path))
    out = {
        "timestamp": _integers(frame, "timestamp", problems,
                               expected="a time in milliseconds since 1970"),
        "comment-id": _integers(frame, "comment-id", problems),
        "voter-id": _integers(frame, "voter-id", problems),
        "vote": _integers(frame, "vote", problems, allowed=(-1, 0, 1),
                          expected="1 (agree), -1 (disagree) or 0 (pass)"),
    }
    if "datetime" in frame.columns:
        out["datetime"] = frame["datetime"]
    problems.raise_if_any()
    columns = [c for c in VOTE_COLUMNS if c in out]
    return pl.DataFrame({c: out[c] for c in columns})


@dataclass(frozen=True)
class ParticipantVotes:
    """Contents of ``participants-votes.csv``.

    Attributes
    ----------
    votes : VoteMatrix
        Latest vote of each participant (rows, in file order) on each comment (columns,
        in file order).
    groups : ndarray of int
        The opinion group Pol.is assigned, -1 where blank (not placed).
    xids : ndarray of object or None
        External ids, when the export has an ``xid`` column.
    comments_written : ndarray of int
        The ``n-comments`` column.
    """

    votes: VoteMatrix
    groups: np.ndarray
    xids: np.ndarray | None
    comments_written: np.ndarray


def _comment_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if c not in PARTICIPANT_COLUMNS
            and c not in OPTIONAL_PARTICIPANT_COLUMNS]


def read_participants_votes(path: str | Path) -> ParticipantVotes:
    """Read ``participants-votes.csv`` (one row per participant).

    Every column after the participant summary columns must be a comment id; cells hold
    1, -1, 0 or nothing.

    Raises
    ------
    ValidationError
        With every problem found, each located by row and column.
    """
    path = Path(path)
    frame = _read_text_table(path, ["participant", "group-id"])
    problems = ProblemCollector(file=str(path))
    participants = _integers(frame, "participant", problems)
    groups = _integers(frame, "group-id", problems, required=False,
                       expected="a group number or blank")
    written = (_integers(frame, "n-comments", problems, required=False)
               if "n-comments" in frame.columns else pl.Series([0] * frame.height))
    comment_columns = _comment_columns(frame.columns)
    comment_ids = []
    for column in comment_columns:
        try:
            comment_ids.append(int(column))
        except ValueError:
            problems.add(f"column {column!r} is not a comment id", row=1, column=column,
                         expected="a whole number (a comment id)")
    rows, cols, values = [], [], []
    for j, column in enumerate(comment_columns):
        cell = _integers(frame, column, problems, allowed=(-1, 0, 1), required=False,
                         expected="1, -1, 0 or blank")
        present = np.flatnonzero(cell.is_not_null().to_numpy())
        rows.append(present)
        cols.append(np.full(len(present), j))
        values.append(cell.to_numpy()[present] if len(present) else np.zeros(0))
    _check_unique(participants, "participant", problems)
    problems.raise_if_any()
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    value = np.concatenate(values) if values else np.zeros(0)
    matrix = VoteMatrix._from_cells(participants.to_numpy(), np.asarray(comment_ids, np.int64),
                                    row.astype(np.int64), col.astype(np.int64),
                                    value.astype(np.int8))
    return ParticipantVotes(
        votes=matrix, groups=groups.fill_null(-1).to_numpy(),
        xids=frame["xid"].to_numpy() if "xid" in frame.columns else None,
        comments_written=written.fill_null(0).to_numpy())


@dataclass(frozen=True)
class PolisExport:
    """A Pol.is open-data folder, read and checked.

    At least one of ``votes`` and ``participant_votes`` is present.
    """

    folder: Path
    comments: pl.DataFrame | None
    votes: pl.DataFrame | None
    participant_votes: ParticipantVotes | None

    @property
    def moderated_out(self) -> list[int]:
        """Comment ids moderated out (``moderated == -1``)."""
        if self.comments is None:
            return []
        return self.comments.filter(pl.col("moderated") == -1)["comment-id"].to_list()

    def vote_matrix(self) -> VoteMatrix:
        """Latest votes: from ``votes.csv`` when present, else ``participants-votes.csv``."""
        if self.votes is not None:
            events = self.votes.with_row_index("order").sort(["timestamp", "order"])
            return VoteMatrix.from_events(events["voter-id"].to_numpy(),
                                          events["comment-id"].to_numpy(),
                                          events["vote"].to_numpy())
        assert self.participant_votes is not None
        return self.participant_votes.votes

    def polis_groups(self) -> dict[int, int]:
        """The groups Pol.is assigned, ``{participant: group}`` (placed participants only)."""
        if self.participant_votes is None:
            return {}
        ids = self.participant_votes.votes.participants.tolist()
        return {p: int(g) for p, g in zip(ids, self.participant_votes.groups.tolist())
                if g >= 0}


def read_polis_export(folder: str | Path) -> PolisExport:
    """Read a Pol.is export folder: ``comments.csv`` (optional) and ``votes.csv`` and/or
    ``participants-votes.csv``.

    Votes must refer to comments listed in ``comments.csv`` when that file is present.

    Raises
    ------
    ValidationError
        If the folder is missing, holds neither vote file, or any file has problems.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError("folder not found", file=str(folder),
                              expected="a folder holding a Pol.is export")
    paths = {name: folder / name for name in
             ("comments.csv", "votes.csv", "participants-votes.csv")}
    if not paths["votes.csv"].is_file() and not paths["participants-votes.csv"].is_file():
        raise ValidationError("no votes.csv or participants-votes.csv in the folder",
                              file=str(folder), expected="a Pol.is open-data export")
    comments = read_comments(paths["comments.csv"]) if paths["comments.csv"].is_file() else None
    votes = read_votes(paths["votes.csv"]) if paths["votes.csv"].is_file() else None
    participant_votes = (read_participants_votes(paths["participants-votes.csv"])
                         if paths["participants-votes.csv"].is_file() else None)
    if comments is not None:
        known = set(comments["comment-id"].to_list())
        if votes is not None:
            problems = ProblemCollector(file=str(paths["votes.csv"]))
            unknown = ~votes["comment-id"].is_in(list(known))
            for index in np.flatnonzero(unknown.to_numpy()):
                problems.add(f"comment {votes['comment-id'][int(index)]} is not in comments.csv",
                             row=int(index) + 2, column="comment-id",
                             expected="a comment id listed in comments.csv")
            problems.raise_if_any()
        if participant_votes is not None:
            problems = ProblemCollector(file=str(paths["participants-votes.csv"]))
            for comment in participant_votes.votes.statements.tolist():
                if comment not in known:
                    problems.add(f"comment {comment} is not in comments.csv", row=1,
                                 column=str(comment),
                                 expected="a comment id listed in comments.csv")
            problems.raise_if_any()
    return PolisExport(folder=folder, comments=comments, votes=votes,
                       participant_votes=participant_votes)


def votes_to_events(votes: VoteMatrix, timestamp: int = 0) -> pl.DataFrame:
    """One vote event per stored vote (all at ``timestamp``), for writing ``votes.csv``."""
    rows = np.repeat(np.arange(votes.shape[0]), np.diff(votes.votes.indptr))
    return pl.DataFrame({
        "timestamp": np.full(votes.n_votes, timestamp, dtype=np.int64),
        "comment-id": votes.statements[votes.votes.indices],
        "voter-id": votes.participants[rows],
        "vote": votes.votes.data.astype(np.int64),
    })


def _java_datetime(milliseconds: int) -> str:
    """Pol.is writes Java's ``Date.toString()``; we write the same shape, in UTC."""
    moment = datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    return moment.strftime("%a %b %d %H:%M:%S UTC %Y")


def _write(path: Path, header: list[str], rows) -> None:
    """Statements come from the public: cells a spreadsheet would run are neutralised."""
    write_rows(path, header, rows)


def write_comments(path: str | Path, comments: pl.DataFrame) -> None:
    """Write ``comments.csv`` from a frame with at least ``comment-id``, ``comment-body``
    and ``moderated``; missing Pol.is columns are written blank (``agrees``/``disagrees``
    as 0)."""
    frame = comments
    for column in COMMENT_COLUMNS:
        if column not in frame.columns:
            default = 0 if column in ("agrees", "disagrees") else None
            frame = frame.with_columns(pl.lit(default).alias(column))
    if frame["datetime"].null_count() and frame["timestamp"].null_count() < frame.height:
        frame = frame.with_columns(pl.col("timestamp").map_elements(
            _java_datetime, return_dtype=pl.String).alias("datetime"))
    rows = frame.select(COMMENT_COLUMNS).iter_rows()
    _write(Path(path), COMMENT_COLUMNS, ([("" if v is None else v) for v in row] for row in rows))


def write_votes(path: str | Path, events: pl.DataFrame) -> None:
    """Write ``votes.csv`` from vote events (``timestamp``, ``comment-id``, ``voter-id``,
    ``vote``; ``datetime`` is derived when absent)."""
    frame = events
    if "datetime" not in frame.columns:
        frame = frame.with_columns(pl.col("timestamp").map_elements(
            _java_datetime, return_dtype=pl.String).alias("datetime"))
    _write(Path(path), VOTE_COLUMNS, frame.select(VOTE_COLUMNS).iter_rows())


def write_participants_votes(path: str | Path, votes: VoteMatrix, groups: np.ndarray | None
                             = None, comments_written: np.ndarray | None = None) -> None:
    """Write ``participants-votes.csv``: one row per participant, one column per comment.

    Parameters
    ----------
    path : str or Path
    votes : VoteMatrix
    groups : ndarray of int, optional
        Opinion group per participant; negative means not placed (written blank).
    comments_written : ndarray of int, optional
        Comments each participant wrote (``n-comments``); 0 when not given.
    """
    n = votes.shape[0]
    groups = np.full(n, -1) if groups is None else np.asarray(groups)
    written = np.zeros(n, dtype=np.int64) if comments_written is None else comments_written
    matrix = votes.votes
    header = PARTICIPANT_COLUMNS + [str(s) for s in votes.statements.tolist()]

    def rows():
        for i in range(n):
            start, end = matrix.indptr[i], matrix.indptr[i + 1]
            cells: list[object] = [""] * votes.shape[1]
            data = matrix.data[start:end]
            for j, value in zip(matrix.indices[start:end].tolist(), data.tolist()):
                cells[j] = int(value)
            yield [votes.participants[i].item(), "" if groups[i] < 0 else int(groups[i]),
                   int(written[i]), int(end - start), int((data == 1).sum()),
                   int((data == -1).sum())] + cells

    _write(Path(path), header, rows())
