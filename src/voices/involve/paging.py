"""Long lists shown a page at a time (the community, the people interested in an
opportunity): which slice to show, and the links to the pages before and after it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, its number (from 1), how many pages there are, and
    the place of its first and last items in the whole list (from 1; 0 when empty)."""

    items: list
    number: int
    pages: int
    total: int
    first: int
    last: int

    def link(self, path: str, params: Mapping[str, object], number: int) -> str | None:
        """The address of page ``number`` with the same filters, or None past either end."""
        if not 1 <= number <= self.pages:
            return None
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if number > 1:
            query["page"] = number
        return path + ("?" + urlencode(query) if query else "")


def page_of(items: Sequence, number: int, per_page: int) -> Page:
    """Page ``number`` of ``items``; a number past the end shows the last page."""
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    total = len(items)
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages)
    start = (number - 1) * per_page
    shown = list(items[start:start + per_page])
    return Page(shown, number, pages, total, start + 1 if shown else 0, start + len(shown))

