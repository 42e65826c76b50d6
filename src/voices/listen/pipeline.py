"""From raw comment to redacted, classified comment.

:func:`prepare_comment` makes any text safe to analyse and says what was odd about it
(flags): HTML is stripped, very long comments are cut, blank ones, other scripts and emoji
are flagged. :func:`classify_batches` then redacts and classifies comments batch by batch,
calling ``sink`` with each batch so that a caller can store results as they come (phase 2
stores them in the database; the file command writes them out).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from voices.listen.classifier import FeedbackClassifier, Prediction
from voices.listen.frameworks import IStatementFramework, ThemeLink
from voices.listen.redaction import Redactor

MAX_CHARS = 5000
EMPTY, LONG, HTML, OTHER_SCRIPT, EMOJI, NO_LETTERS = (
    "empty", "very_long", "html", "other_script", "emoji", "no_letters")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,500}>")
_SCRIPT_BLOCK = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PreparedComment:
    text: str
    flags: tuple[str, ...]


def prepare_comment(text: object, *, max_chars: int = MAX_CHARS) -> PreparedComment:
    """Clean one comment for analysis and flag anything unusual. Never raises.

    Parameters
    ----------
    text:
        The comment as received (anything; None and non-strings are treated as text).
    max_chars:
        Longer comments are cut to this length (at a word boundary) and flagged.

    Returns
    -------
    PreparedComment
        Cleaned text (HTML removed, entities decoded, control characters dropped,
        whitespace collapsed) and flags from: empty, very_long, html, other_script,
        emoji, no_letters.
    """
    raw = "" if text is None else str(text)
    flags = []
    if _TAG.search(raw) or "&lt;" in raw or "&amp;" in raw:
        stripped = _TAG.sub(" ", _SCRIPT_BLOCK.sub(" ", raw))
        if stripped != raw:
            flags.append(HTML)
        raw = html.unescape(stripped)
    cleaned = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    cleaned = _SPACE.sub(" ", cleaned).strip()
    if len(cleaned) > max_chars:
        cut = cleaned.rfind(" ", 0, max_chars)
        cleaned = cleaned[: cut if cut > max_chars // 2 else max_chars]
        flags.append(LONG)
    if not cleaned:
        return PreparedComment("", tuple(flags + [EMPTY]))
    letters = [ch for ch in cleaned if ch.isalpha()]
    if not letters:
        flags.append(NO_LETTERS)
    elif sum(1 for ch in letters if ord(ch) < 0x250) < 0.5 * len(letters):
        flags.append(OTHER_SCRIPT)
    if any(unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF for ch in cleaned):
        flags.append(EMOJI)
    return PreparedComment(cleaned, tuple(flags))


@dataclass(frozen=True)
class ClassifiedComment:
    """One comment after redaction and classification (what the analysis tables hold)."""

    redacted_text: str
    redacted_kinds: tuple[str, ...]
    flags: tuple[str, ...]
    prediction: Prediction
    i_statements: tuple[ThemeLink, ...]


Sink = Callable[[int, list[ClassifiedComment]], None]


def classify_batches(texts: Sequence[object], model: FeedbackClassifier, *,
                     question: Sequence[str | None] | None = None,
                     rating: Sequence[str | None] | None = None,
                     i_statements: IStatementFramework | None = None,
                     redactor: Redactor | None = None, batch_size: int = 1000,
                     sink: Sink | None = None) -> Iterator[list[ClassifiedComment]]:
    """Redact and classify comments in batches.

    Parameters
    ----------
    texts:
        Raw comments.
    model:
        A fitted :class:`FeedbackClassifier`.
    question, rating:
        Optional context per comment.
    i_statements:
        If given, each comment is linked to I-statement themes (labels and text).
    redactor:
        The redactor (default settings if None). The model only ever sees redacted text.
    batch_size:
        Comments per batch.
    sink:
        Called as ``sink(offset, batch)`` after each batch (the place to store results).

    Yields
    ------
    list[ClassifiedComment]
        One list per batch, in input order.
    """
    redactor = redactor or Redactor()
    for offset in range(0, len(texts), batch_size):
        chunk = texts[offset: offset + batch_size]
        prepared = [prepare_comment(t) for t in chunk]
        redacted = [redactor.redact(p.text) for p in prepared]
        q = question[offset: offset + batch_size] if question is not None else None
        r = rating[offset: offset + batch_size] if rating is not None else None
        predictions = model.predict([x.text for x in redacted], question=q, rating=r)
        batch = []
        for p, red, pred in zip(prepared, redacted, predictions):
            if "empty" in p.flags or "no_letters" in p.flags:
                pred = _nothing_to_code(pred, model)
            links = tuple(i_statements.link(pred.labels, red.text)) if i_statements else ()
            batch.append(ClassifiedComment(red.text, tuple(red.kinds()), p.flags, pred, links))
        if sink is not None:
            sink(offset, batch)
        yield batch


def _nothing_to_code(pred: Prediction, model: FeedbackClassifier) -> Prediction:
    """A blank comment cannot be coded: say so rather than guess."""
    label = "Labelling not possible"
    if label not in model.labels:
        return pred
    return Prediction(labels=(label,), probabilities={label: 1.0}, sentiment=None,
                      sentiment_3=None, sentiment_probability=None, explanation={label: []},
                      model_version=pred.model_version)
