"""Searching the practice library."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from voices.involve.library import LibraryItem, search, words

T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def item(key, title, summary="", body="", kind="case_study", days=0, **tags):
    return LibraryItem(key, kind, title, summary, body,
                       {"topics": tags.get("topics", []), "settings": tags.get("settings", []),
                        "populations": tags.get("populations", [])},
                       T + dt.timedelta(days=days))


ITEMS = [
    item("cafe", "A carers' café", "Tea with ward staff", "Carers wrote a discharge checklist",
         topics=["leaving_hospital"], populations=["carers"], days=1),
    item("letter", "Rewriting the outpatient letter", "Young people rewrote it",
         "We met carers too", topics=["information"], populations=["young_people"], days=2),
    item("pay", "Paying partners fairly", "Within two weeks", kind="method", days=3,
         settings=["system"]),
]


def test_title_matches_rank_above_body_matches_and_plurals_find_singulars():
    assert [h.item.key for h in search(ITEMS, "carer")] == ["cafe", "letter"]


def test_every_word_must_match_somewhere():
    assert [h.item.key for h in search(ITEMS, "carers letter")] == ["letter"]
    assert search(ITEMS, "carers dentist") == []


def test_tags_are_searched_by_their_labels_and_filter_exactly():
    assert [h.item.key for h in search(ITEMS, "young people")] == ["letter"]
    assert [h.item.key for h in search(ITEMS, tags={"populations": "carers"})] == ["cafe"]
    assert [h.item.key for h in search(ITEMS, kind="method")] == ["pay"]


def test_an_empty_search_lists_everything_newest_first():
    assert [h.item.key for h in search(ITEMS)] == ["pay", "letter", "cafe"]


def test_common_little_words_are_ignored():
    assert words("The carers and the ward") == ["carers", "ward"]


@given(st.text(max_size=60))
def test_any_query_returns_a_subset_in_score_order(query):
    hits = search(ITEMS, query)
    assert {h.item.key for h in hits} <= {i.key for i in ITEMS}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
