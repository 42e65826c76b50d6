"""Votes as a sparse participants × statements matrix.

Agree is +1, disagree -1 and pass 0. A pass is a vote (stored as an explicit zero); a
statement someone has not voted on is simply absent. Keeping the two apart matters: Pol.is
counts passes as "seen" and scales a person's map position by how many statements they
voted on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from voices.codesign.clustering import positions_of
from voices.errors import ValidationError

__all__ = ["AGREE", "DISAGREE", "PASS", "VoteMatrix"]

AGREE, DISAGREE, PASS = 1, -1, 0


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and each value's index among them.

    Whole-number ids in a compact range (the usual case) are counted rather than sorted.
    """
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * len(values) + 1024:
            offset = values - low
            present = np.zeros(high - low + 1, dtype=bool)
            present[offset] = True
            index = np.cumsum(present) - 1
            return np.flatnonzero(present) + low, index[offset]
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, np.asarray(inverse).reshape(-1)


@dataclass(frozen=True)
class VoteMatrix:
    """Votes of participants (rows) on statements (columns), sparse.

    Attributes
    ----------
    participants : ndarray, shape (n,)
        Participant ids, one per row, distinct.
    statements : ndarray, shape (m,)
        Statement ids, one per column, distinct.
    votes : scipy.sparse.csr_array, shape (n, m), int8
        +1 agree, -1 disagree, 0 pass. A pass is *stored* (an explicit zero); a missing
        vote is not stored. Never call ``eliminate_zeros`` on it.
    """

    participants: np.ndarray
    statements: np.ndarray
    votes: sp.csr_array

    @property
    def shape(self) -> tuple[int, int]:
        return self.votes.shape

    @property
    def n_votes(self) -> int:
        return int(self.votes.nnz)

    def votes_per_participant(self) -> np.ndarray:
        """How many statements each participant voted on (passes count)."""
        return np.diff(self.votes.indptr)

    def votes_per_statement(self) -> np.ndarray:
        """How many participants voted on each statement (passes count)."""
        return np.bincount(self.votes.indices, minlength=self.shape[1])

    def indicator(self, value: int | None = None) -> sp.csr_array:
        """0/1 matrix of where a vote (or a vote of ``value``) is stored."""
        data = (np.ones(self.votes.nnz) if value is None
                else (self.votes.data == value).astype(float))
        return sp.csr_array((data, self.votes.indices, self.votes.indptr), shape=self.shape)

    def to_dense(self) -> np.ndarray:
        """Dense float matrix with NaN for missing votes (small matrices only: tests)."""
        out = np.full(self.shape, np.nan)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.votes.indptr))
        out[rows, self.votes.indices] = self.votes.data
        return out

    @classmethod
    def from_events(cls, participant: Sequence, statement: Sequence, vote: Sequence, *,
                    participants: Sequence | None = None,
                    statements: Sequence | None = None) -> VoteMatrix:
        """Build the matrix from vote events in time order; a later vote replaces an earlier one.

        Parameters
        ----------
        participant, statement, vote : sequences of equal length
            One entry per vote event, oldest first. Votes must be -1, 0 or 1.
        participants, statements : sequences, optional
            All ids to give rows/columns to (for example statements nobody voted on yet).
            By default, the ids seen in the events, sorted.

        Returns
        -------
        VoteMatrix
        """
        participant = np.asarray(participant)
        statement = np.asarray(statement)
        vote = np.asarray(vote)
        if not (len(participant) == len(statement) == len(vote)):
            raise ValidationError("participant, statement and vote must have the same length")
        valid = (vote == -1) | (vote == 0) | (vote == 1)
        if not valid.all():
            bad = int(np.flatnonzero(~valid)[0])
            raise ValidationError(f"vote event {bad + 1} has vote {vote[bad]!r}",
                                  expected="-1 (disagree), 0 (pass) or 1 (agree)")
        if participants is None:
            rows_ids, row = _factorize(participant)
        else:
            rows_ids = np.asarray(participants)
            row = positions_of(rows_ids, participant)
        if statements is None:
            cols_ids, col = _factorize(statement)
        else:
            cols_ids = np.asarray(statements)
            col = positions_of(cols_ids, statement)
        row, col = np.asarray(row).reshape(-1), np.asarray(col).reshape(-1)
        if (row < 0).any() or (col < 0).any():
            raise ValidationError("a vote refers to a participant or statement not listed")
        return cls._from_cells(rows_ids, cols_ids, row, col, vote.astype(np.int8))

    @classmethod
    def _from_cells(cls, participants: np.ndarray, statements: np.ndarray, row: np.ndarray,
                    col: np.ndarray, vote: np.ndarray) -> VoteMatrix:
        n, m = len(participants), len(statements)
        key = row.astype(np.int64) * max(m, 1) + col
        # the last event for each cell wins: a stable sort by cell keeps events in time
        # order within a cell, and the last of each run of equal cells is the latest
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        is_last = np.ones(len(ordered), dtype=bool)
        is_last[:-1] = ordered[1:] != ordered[:-1]
        last = order[is_last]  # sorted by key, i.e. by (row, col)
        row, col, vote = row[last], col[last], vote[last]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
        index_dtype = np.int32 if max(m, len(col)) < 2**31 - 1 else np.int64
        matrix = sp.csr_array((vote.astype(np.int8), col.astype(index_dtype),
                               indptr.astype(index_dtype)), shape=(n, m))
        return cls(participants=np.asarray(participants), statements=np.asarray(statements),
                   votes=matrix)

    @classmethod
    def from_dense(cls, matrix: np.ndarray, participants: Sequence | None = None,
                   statements: Sequence | None = None) -> VoteMatrix:
        """From a dense array with NaN for missing votes (small inputs and tests)."""
        matrix = np.asarray(matrix, dtype=float)
        row, col = np.nonzero(~np.isnan(matrix))
        p = np.arange(matrix.shape[0]) if participants is None else np.asarray(participants)
        s = np.arange(matrix.shape[1]) if statements is None else np.asarray(statements)
        values = matrix[row, col]
        if not np.isin(values, (-1, 0, 1)).all():
            raise ValidationError("votes must be -1, 0 or 1", expected="-1, 0, 1 or missing")
        return cls._from_cells(p, s, row, col, values.astype(np.int8))

    def select_participants(self, mask: np.ndarray) -> VoteMatrix:
        """Only the participants where ``mask`` is true."""
        return VoteMatrix(self.participants[mask], self.statements, self.votes[mask])
