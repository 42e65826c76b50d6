"""Frameworks as data: built-ins load, crosswalk is consistent, bad files get located errors."""

from __future__ import annotations

import pytest

from voices.errors import ValidationError
from voices.listen.frameworks import builtin_framework, parse_framework


def test_qdc_matches_the_labels_of_the_shared_file(shared_data):
    import csv

    with open(shared_data / "qdc" / "fft_comments_v6.csv", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert set(builtin_framework("qdc").labels) == set(header[11:])


def test_crosswalk_points_at_real_labels_and_themes():
    qdc, i_st = builtin_framework("qdc"), builtin_framework("i_statements")
    assert set(i_st.crosswalk) <= set(qdc.labels)
    assert {t.id for t in i_st.themes} == {"goals", "care_planning", "information",
                                            "communication", "decision_making", "transitions"}


def test_linking_uses_labels_and_words():
    links = builtin_framework("i_statements").link(["Discharge"], "Nobody explained my care plan")
    by_theme = {link.theme: link for link in links}
    assert by_theme["transitions"].via_labels == ("Discharge",)
    assert "care plan" in by_theme["care_planning"].via_words
    assert "explained" in by_theme["information"].via_words


def test_an_organisation_can_add_its_own():
    fw = parse_framework("name: our_trust\ncategories:\n  - name: Food\n    subcategories:\n"
                         "      - name: Hot meals\n        description: Whether meals were hot.\n")
    assert fw.labels == ["Hot meals"]


def test_bad_framework_errors_are_located():
    text = ("name: Our Trust\ncategories:\n  - name: Food\n    subcategories:\n"
            "      - name: Hot meals\n        colour: red\n")
    with pytest.raises(ValidationError) as caught:
        parse_framework(text, file="ours.yaml")
    where = {(p.row, p.column) for p in caught.value.problems}
    assert (1, "name") in where
    assert (6, "categories[0].subcategories[0].colour") in where
    assert all(p.file == "ours.yaml" for p in caught.value.problems)


def test_crosswalk_to_unknown_theme_is_refused():
    text = ("name: mine\nthemes:\n  - id: a\n    name: A\n    statements: [I am heard.]\n"
            "crosswalk:\n  framework: qdc\n  links:\n    Discharge: [b]\n")
    with pytest.raises(ValidationError) as caught:
        parse_framework(text)
    assert caught.value.problems[0].row == 9
