"""The practice library: "what's working well" — case studies, methods and resources — and
how to find them.

Each entry has tags in three families (topic, setting, population). Search matches every
word of the query somewhere in an entry (title, summary, tags or body) and ranks entries
by a field-weighted count of the words they contain: a word in the title counts 3, in the
tags or summary 2, in the body 1. This is the idea of BM25F (Robertson, Zaragoza & Taylor,
"Simple BM25 extension to multiple weighted fields", CIKM 2004) without its saturation and
length normalisation, which matter little for a library of hundreds of short entries.
Ties go to the newer entry. Pure: entries in, ranked entries out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from voices.involve.questions import INTERESTS

KINDS = {"case_study": "Case study", "method": "Method", "resource": "Resource"}
TOPICS = dict(INTERESTS)
SETTINGS = {
    "hospital": "Hospital", "gp": "GP practice", "community": "Community services",
    "mental_health": "Mental health services", "maternity": "Maternity services",
    "social_care": "Social care", "online": "Online", "system": "Across the local system",
}
POPULATIONS = {
    "young_people": "Children and young people",
    "older_people": "Older people",
    "carers": "Carers",
    "ethnic_minorities": "People from ethnic minority communities",
    "learning_disability": "People with a learning disability or autism",
    "disabled_people": "Disabled people",
    "deprived_areas": "People in the poorest neighbourhoods",
    "lgbt": "LGBT+ people",
    "homeless": "People who are homeless",
    "refugees": "Refugees and people seeking asylum",
    "language": "People who do not speak English well",
}
TAG_FAMILIES = {"topics": TOPICS, "settings": SETTINGS, "populations": POPULATIONS}
FIELD_WEIGHTS = {"title": 3, "tags": 2, "summary": 2, "body": 1}
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "how", "in", "is", "it", "of", "on", "or", "that", "the", "their", "this", "to", "was", "we", "were", "what", "when", "which", "who", "with"])


def words(text: str) -> list[str]:
    """Lower-case words, without the commonest little words."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _stem(word: str) -> str:
    """A light plural/verb ending strip so 'carers' finds 'carer' and 'meetings' 'meeting'."""
    for ending in ("ies", "ing", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)] + ("y" if ending == "ies" else "")
    return word


@dataclass(frozen=True)
class LibraryItem:
    key: object
    kind: str
    title: str
    summary: str
    body: str
    tags: Mapping[str, Sequence[str]]
    created: dt.datetime

    def tag_text(self) -> str:
        labels = []
        for family, codes in self.tags.items():
            names = TAG_FAMILIES.get(family, {})
            labels.extend(names.get(c, c) for c in codes)
        return " ".join(labels)


@dataclass(frozen=True)
class Hit:
    item: LibraryItem
    score: int


def search(items: Iterable[LibraryItem], query: str = "", *, kind: str | None = None,
           tags: Mapping[str, str | None] | None = None) -> list[Hit]:
    """Entries that match every word of ``query`` and every chosen tag, best first.

    Parameters
    ----------
    items : the entries to search
    query : free text; empty matches everything
    kind : only this kind of entry (case_study, method, resource)
    tags : family → one code that entries must have (e.g. ``{"topics": "maternity"}``)

    Returns
    -------
    list of Hit, highest score first, then newest.
    """
    terms = [_stem(w) for w in words(query)]
    chosen = {family: code for family, code in (tags or {}).items() if code}
    hits: list[Hit] = []
    for item in items:
        if kind and item.kind != kind:
            continue
        if any(code not in item.tags.get(family, ()) for family, code in chosen.items()):
            continue
        fields = {"title": item.title, "tags": item.tag_text(), "summary": item.summary,
                  "body": item.body}
        stems = {name: [_stem(w) for w in words(text)] for name, text in fields.items()}
        total = 0
        for term in terms:
            found = sum(FIELD_WEIGHTS[name] * tokens.count(term)
                        for name, tokens in stems.items())
            if not found:
                break
            total += found
        else:
            hits.append(Hit(item, total))
    return sorted(hits, key=lambda h: (-h.score, -h.item.created.timestamp()))
