"""The feedback explorer's pure parts: filters read from a query string, highlighted
explanations, and exports that are safe to open in a spreadsheet.

Filters are checked at the edge: an unknown rating, sentiment, month or equity group is
refused with a located error rather than silently ignored. Exports contain redacted text
only, written by :mod:`voices.exports`, which neutralises every cell a spreadsheet would
treat as a formula.

References
----------
OWASP. *CSV Injection* (formula characters and the apostrophe prefix).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from urllib.parse import urlencode

from voices.equity.dimensions import DIMENSIONS
from voices.errors import ProblemCollector
from voices.exports import FORMULA_START, safe_cell  # noqa: F401 (re-used by tests)
from voices.exports import csv_bytes as write_csv  # noqa: F401 (listen.analysis)
from voices.exports import xlsx_bytes as write_xlsx  # noqa: F401 (listen.analysis)
from voices.listen.questions import FFT_ANSWERS

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SENTIMENTS = {"positive": (1, 2), "neutral_mixed": (3,), "negative": (4, 5)}
SENTIMENT_WORDS = {"positive": "Positive", "neutral_mixed": "Neutral or mixed",
                   "negative": "Negative"}
#: Equity dimensions the explorer filters by (the stored answer columns and deprivation).
EQUITY_DIMENSIONS = ("age_band", "sex", "ethnic_group", "disability", "carer", "imd_quintile")
QUESTION_WORDS = {"what_good": "What was good?", "could_improve": "What could be better?",
                  "other": "Comment"}


@dataclass(frozen=True)
class Filters:
    """What the explorer shows: every field empty means everything the account may see."""

    organisation: str = ""     # ODS code
    service: str = ""          # short link
    period_from: str = ""      # YYYY-MM
    period_to: str = ""
    theme: str = ""            # a coding-framework label
    i_theme: str = ""          # an I-statement theme id
    sentiment: str = ""        # positive, neutral_mixed, negative
    rating: str = ""           # an FFT answer
    equity: str = ""           # dimension:code, e.g. age_band:18-24
    question: str = ""         # what_good, could_improve, other
    q: str = ""                # words to search for

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        """Read and check filters from query parameters (unknown parameters are ignored).

        Raises
        ------
        ValidationError
            Naming each parameter that is not valid.
        """
        problems = ProblemCollector()
        values = {f.name: str(params.get(f.name) or "").strip()[:200] for f in fields(cls)}
        for key in ("period_from", "period_to"):
            if values[key] and not PERIOD.match(values[key]):
                problems.add(f"'{values[key][:20]}' is not a month", column=key,
                             expected="YYYY-MM")
        if values["sentiment"] and values["sentiment"] not in SENTIMENTS:
            problems.add(f"'{values['sentiment'][:20]}' is not a sentiment", column="sentiment",
                         expected="positive, neutral_mixed or negative")
        if values["rating"] and values["rating"] not in FFT_ANSWERS:
            problems.add(f"'{values['rating'][:30]}' is not a Friends and Family Test answer",
                         column="rating", expected=", ".join(FFT_ANSWERS))
        if values["question"] and values["question"] not in QUESTION_WORDS:
            problems.add(f"'{values['question'][:20]}' is not a question", column="question",
                         expected=", ".join(QUESTION_WORDS))
        if values["equity"]:
            dimension, _, code = values["equity"].partition(":")
            if dimension not in EQUITY_DIMENSIONS or code not in DIMENSIONS[dimension].codes:
                problems.add(f"'{values['equity'][:40]}' is not an equity group",
                             column="equity", expected="dimension:code, e.g. age_band:18-24")
        problems.raise_if_any()
        return cls(**values)

    @property
    def equity_pair(self) -> tuple[str, str] | None:
        if not self.equity:
            return None
        dimension, _, code = self.equity.partition(":")
        return dimension, code

    def search_words(self) -> list[str]:
        """The words of the search, lower case, at most 8."""
        return [w for w in re.findall(r"\w+", self.q.casefold()) if len(w) > 1][:8]

    def without(self, name: str) -> Filters:
        return replace(self, **{name: ""})

    def query(self, **changes: str) -> str:
        """These filters as a query string (with some changed), for links and exports."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))


def highlight(text: str, words: Iterable[str]) -> list[tuple[str, bool]]:
    """Split ``text`` into pieces, marking the whole-word occurrences of ``words`` (words or
    word pairs, any case) so a page can highlight them without building HTML by hand.

    Returns
    -------
    list of (piece, marked)
        Concatenated, the pieces give back ``text`` exactly.
    """
    terms = sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=True)
    if not text or not terms:
        return [(text, False)] if text else []
    alternation = "|".join(r"\s+".join(map(re.escape, t.split())) for t in terms)
    pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for match in pattern.finditer(text):
        if text[max(0, match.start() - 1):match.start()] == "[" and \
                text[match.end():match.end() + 1] == "]":
            continue  # a placeholder such as [NAME], not the comment's own word
        if match.start() > cursor:
            pieces.append((text[cursor:match.start()], False))
        pieces.append((match.group(0), True))
        cursor = match.end()
    if cursor < len(text):
        pieces.append((text[cursor:], False))
    return pieces


