"""The errors Voices raises on purpose.

Every error a user can cause is a :class:`VoicesError` with a stable ``code`` (for
JSON clients and tests) and a plain-English ``message``. Errors about input carry
where the problem is: the file, the row (1-based, counting the header as row 1),
the column, and what was expected, so a person can find and fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class VoicesError(Exception):
    """Base class for errors Voices reports to people rather than crashing on."""

    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Problem:
    """One located problem in some input."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    expected: str | None = None

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.expected:
            text += f" (expected {self.expected})"
        return text

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class ValidationError(VoicesError):
    """Input that cannot be accepted. Nothing has been changed.

    Raise with a single message and location, or with a list of ``problems``
    when a whole file has been checked (report them all, not just the first).
    """

    code = "validation_error"
    status = 422

    def __init__(
        self,
        message: str | None = None,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        problems: list[Problem] | None = None,
        code: str | None = None,
    ) -> None:
        found = list(problems or [])
        if message is not None:
            found.insert(0, Problem(message, file=file, row=row, column=column, expected=expected))
        if not found:
            raise TypeError("ValidationError needs a message or problems")
        self.problems = found
        first = found[0]
        summary = str(first)
        if len(found) > 1:
            summary += f" (and {len(found) - 1} more problem{'s' if len(found) > 2 else ''})"
        super().__init__(summary, code=code)
        self.file, self.row, self.column, self.expected = first.file, first.row, first.column, first.expected

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message,
                "problems": [p.to_dict() for p in self.problems]}


class NotFound(VoicesError):
    code = "not_found"
    status = 404


class PermissionDenied(VoicesError):
    code = "forbidden"
    status = 403


class Conflict(VoicesError):
    """The request clashes with what is stored (for example a duplicate email)."""

    code = "conflict"
    status = 409


@dataclass
class ProblemCollector:
    """Collect located problems while checking a whole input, then raise once."""

    file: str | None = None
    limit: int = 100
    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, *, row: int | None = None, column: str | None = None,
            expected: str | None = None) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(Problem(message, file=self.file, row=row, column=column,
                                         expected=expected))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, summary: str | None = None) -> None:
        if self.problems:
            raise ValidationError(summary, file=self.file, problems=self.problems) if summary \
                else ValidationError(problems=self.problems)
