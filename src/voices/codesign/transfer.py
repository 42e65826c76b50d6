"""Moving conversations between Voices and Pol.is: import a Pol.is open-data export
(``comments.csv``, ``votes.csv``, ``participants-votes.csv``) as a conversation, and export
a conversation in the same three files.

The files are read and written by :mod:`voices.codesign.polis_formats` (every problem
located by file, row and column; a bad file imports nothing). Pol.is comment ids become
statement numbers and voter ids participant numbers, so an export of an imported
conversation gives back the same ids and votes (a comment Pol.is had not moderated, 0, is
shown to voters, as Pol.is does, and is exported as moderated in, 1).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from voices.codesign import service
from voices.codesign.models import Conversation, Participant, Statement, StatementStatus, Vote
from voices.codesign.polis_formats import (
    read_polis_export,
    write_comments,
    write_participants_votes,
    write_votes,
)
from voices.codesign.votes import VoteMatrix
from voices.core import audit
from voices.core.models import Account
from voices.core.service import slugify
from voices.db import utcnow
from voices.errors import Conflict, ValidationError

# Pol.is shows comments nobody has moderated yet (0) unless moderation is strict, and its
# analysis leaves out only those moderated out (-1); so 0 and 1 both become "accepted"
STATUS_FROM_POLIS = {1: StatementStatus.accepted, 0: StatementStatus.accepted,
                     -1: StatementStatus.rejected}
POLIS_FROM_STATUS = {StatementStatus.accepted: 1, StatementStatus.pending: 0,
                     StatementStatus.rejected: -1}


def _moment(milliseconds: int | None, default: dt.datetime) -> dt.datetime:
    if milliseconds is None:
        return default
    return dt.datetime.fromtimestamp(int(milliseconds) / 1000, tz=dt.UTC)


def _latest_votes(export) -> pl.DataFrame:
    """One row per (voter, comment): the latest vote, with its time in milliseconds (or
    null when the export has only ``participants-votes.csv``)."""
    if export.votes is not None:
        return (export.votes.with_row_index("order").sort(["timestamp", "order"])
                .unique(["voter-id", "comment-id"], keep="last", maintain_order=True)
                .select("voter-id", "comment-id", "vote", "timestamp"))
    matrix: VoteMatrix = export.participant_votes.votes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.votes.indptr))
    return pl.DataFrame({"voter-id": matrix.participants[rows].astype(np.int64),
                         "comment-id": matrix.statements[matrix.votes.indices].astype(np.int64),
                         "vote": matrix.votes.data.astype(np.int64),
                         "timestamp": pl.Series([None] * len(rows), dtype=pl.Int64)})


def import_polis(db: Session, folder: Path, *, organisation_id: int, question: str,
                 actor: Account | None = None, slug: str | None = None,
                 update_map: bool = True) -> Conversation:
    """Import a Pol.is export folder as a (closed) conversation, with its opinion map.

    Importing the same folder twice is refused (the conversation's short link is taken
    from the folder name), so nothing is added twice.
    """
    export = read_polis_export(folder)
    slug = slug or slugify(f"polis-{Path(folder).name}")[:80].strip("-")
    if db.scalar(select(Conversation.id).where(Conversation.slug == slug)):
        raise Conflict(f"This export is already imported (as '{slug}')",
                       code="already_imported")
    votes = _latest_votes(export)
    now = utcnow()
    comments = export.comments
    if comments is None:
        ids = sorted(set(votes["comment-id"].to_list()))
        comments = pl.DataFrame({"comment-id": ids, "comment-body":
                                 [f"Statement {i}" for i in ids], "moderated": [1] * len(ids)})
    stamps = [t for t in votes["timestamp"].to_list() if t is not None]
    if "timestamp" in comments.columns:
        stamps += [t for t in comments["timestamp"].to_list() if t is not None]
    opens_at = _moment(min(stamps), now) if stamps else now
    closes_at = _moment(max(stamps) + 1, now) if stamps else now
    if closes_at <= opens_at:
        closes_at = opens_at + dt.timedelta(seconds=1)
    conversation = service.create_conversation(
        db, organisation_id=organisation_id, question=question,
        background="Imported from a Pol.is open-data export.", opens_at=opens_at,
        closes_at=closes_at, moderation=True, slug=slug, actor=actor, source="polis")

    authors = comments["author-id"].to_list() if "author-id" in comments.columns else []
    numbers = sorted(set(votes["voter-id"].to_list())
                     | {a for a in authors if a is not None}
                     | (set(export.participant_votes.votes.participants.tolist())
                        if export.participant_votes is not None else set()))
    if numbers:
        db.execute(insert(Participant), [
            {"conversation_id": conversation.id, "number": int(n), "joined_at": opens_at}
            for n in numbers])
    participant_ids = dict(db.execute(select(Participant.number, Participant.id).where(
        Participant.conversation_id == conversation.id)).all())

    rows = []
    times = comments["timestamp"].to_list() if "timestamp" in comments.columns else \
        [None] * comments.height
    for number, text, moderated, author, stamp in zip(
            comments["comment-id"].to_list(), comments["comment-body"].to_list(),
            comments["moderated"].to_list(), authors or [None] * comments.height, times):
        rows.append({"conversation_id": conversation.id, "number": int(number),
                     "text": str(text or "").strip() or f"Statement {number}",
                     "seed": False, "status": STATUS_FROM_POLIS[int(moderated)],
                     "review": "none",
                     "author_id": participant_ids.get(author) if author is not None else None,
                     "created_at": _moment(stamp, opens_at)})
    if rows:
        db.execute(insert(Statement), rows)
    statement_ids = dict(db.execute(select(Statement.number, Statement.id).where(
        Statement.conversation_id == conversation.id)).all())
    vote_rows = [{"participant_id": participant_ids[v], "statement_id": statement_ids[c],
                  "conversation_id": conversation.id, "vote": int(x), "unclear": False,
                  "voted_at": _moment(t, closes_at)}
                 for v, c, x, t in votes.select("voter-id", "comment-id", "vote", "timestamp")
                 .iter_rows()]
    for start in range(0, len(vote_rows), 20_000):
        db.execute(insert(Vote), vote_rows[start:start + 20_000])
    db.flush()
    if update_map and vote_rows:
        service.update_map(db, conversation.id)
    audit.record(db, "codesign.conversation.import", actor=actor,
                 record_type="codesign_conversation", record_id=conversation.id,
                 organisation_id=organisation_id,
                 summary="Imported a Pol.is export", detail={"votes": len(vote_rows)})
    return conversation


def _milliseconds(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def export_polis(db: Session, conversation: Conversation, folder: Path, *,
                 actor: Account | None = None) -> list[Path]:
    """Write the conversation as ``comments.csv``, ``votes.csv`` and
    ``participants-votes.csv`` in ``folder``. Audited: the files hold everyone's votes
    (by participant number, never by name)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValidationError("the output path is a file", file=str(folder),
                              expected="a folder")
    folder.mkdir(parents=True, exist_ok=True)
    cid = conversation.id
    people = dict(db.execute(select(Participant.id, Participant.number).where(
        Participant.conversation_id == cid)).all())
    statement_rows = db.execute(select(
        Statement.id, Statement.number, Statement.text, Statement.status, Statement.author_id,
        Statement.created_at).where(Statement.conversation_id == cid)
        .order_by(Statement.number)).all()
    tallies = {row[0]: (row[1], row[2]) for row in db.execute(select(
        Vote.statement_id, func.sum(case((Vote.vote == 1, 1), else_=0)),
        func.sum(case((Vote.vote == -1, 1), else_=0))).where(Vote.conversation_id == cid)
        .group_by(Vote.statement_id)).all()}
    numbers = {r.id: r.number for r in statement_rows}
    comments = pl.DataFrame({
        "timestamp": [_milliseconds(r.created_at) for r in statement_rows],
        "comment-id": [r.number for r in statement_rows],
        "author-id": [people.get(r.author_id) for r in statement_rows],
        "agrees": [int(tallies.get(r.id, (0, 0))[0] or 0) for r in statement_rows],
        "disagrees": [int(tallies.get(r.id, (0, 0))[1] or 0) for r in statement_rows],
        "moderated": [POLIS_FROM_STATUS[r.status] for r in statement_rows],
        "comment-body": [r.text for r in statement_rows],
    }, schema_overrides={"author-id": pl.Int64})
    votes = db.execute(select(Vote.participant_id, Vote.statement_id, Vote.vote, Vote.voted_at)
                       .where(Vote.conversation_id == cid)
                       .order_by(Vote.voted_at, Vote.participant_id, Vote.statement_id)).all()
    events = pl.DataFrame({
        "timestamp": [_milliseconds(v.voted_at) for v in votes],
        "comment-id": [numbers[v.statement_id] for v in votes],
        "voter-id": [people[v.participant_id] for v in votes],
        "vote": [int(v.vote) for v in votes]},
        schema={"timestamp": pl.Int64, "comment-id": pl.Int64, "voter-id": pl.Int64,
                "vote": pl.Int64})
    matrix = VoteMatrix.from_events(
        events["voter-id"].to_numpy(), events["comment-id"].to_numpy(),
        events["vote"].to_numpy(), participants=sorted(set(people.values())),
        statements=[r.number for r in statement_rows])
    record = service.opinion_map(db, conversation)
    membership = (record.summary or {}).get("membership", {}) if record else {}
    by_number = {people[int(p)]: g for p, g in membership.items() if int(p) in people}
    groups = np.array([by_number.get(n, -1) for n in matrix.participants.tolist()])
    written = np.zeros(len(matrix.participants), dtype=np.int64)
    authored = [people[r.author_id] for r in statement_rows if r.author_id in people]
    if authored:
        position = {n: i for i, n in enumerate(matrix.participants.tolist())}
        for number in authored:
            written[position[number]] += 1
    paths = [folder / "comments.csv", folder / "votes.csv", folder / "participants-votes.csv"]
    write_comments(paths[0], comments)
    write_votes(paths[1], events)
    write_participants_votes(paths[2], matrix, groups, written)
    audit.record(db, "codesign.conversation.export", actor=actor,
                 record_type="codesign_conversation", record_id=cid,
                 organisation_id=conversation.organisation_id,
                 summary="Exported the conversation in Pol.is format",
                 detail={"votes": len(votes)})
    return paths

