"""The community's make-up beside the population, and reading population figures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voices.equity.disclosure import published_counts_are_safe
from voices.errors import ValidationError
from voices.involve.community import (
    COMPARED,
    FOUR_FIFTHS,
    Population,
    compare,
    count_groups,
    default_population,
    makeup,
    makeup_csv,
    parse_population,
    parse_population_csv,
    parse_population_yaml,
    partner_groups,
)

POP = Population({"imd_quintile": {"1": 0.3, "2": 0.2, "3": 0.2, "4": 0.15, "5": 0.15}})


def test_the_default_population_covers_every_dimension_but_age_and_adds_up():
    population = default_population()
    assert set(population.shares) == set(COMPARED) - {"age_band"}
    for groups in population.shares.values():
        assert abs(sum(groups.values()) - 1.0) < 1e-9
    assert "Census 2021" in population.source
    assert population.shares["ethnic_group"]["asian"] == pytest.approx(0.093, abs=1e-3)


def test_partner_groups_come_only_from_answers_given():
    groups = partner_groups({"age_band": "25-34", "sex": "prefer_not_to_say",
                             "ethnic_category": "N", "disability": None, "imd_decile": 3})
    assert groups == {"age_band": "25-34", "sex": "not_known", "ethnic_group": "black",
                      "disability": "not_known", "carer": "not_known", "imd_quintile": "2"}


def test_exact_comparison_and_the_four_fifths_rule():
    counts = {"1": 40, "2": 40, "3": 40, "4": 40, "5": 40, "not_known": 10}
    dim = compare("imd_quintile", counts, POP, disclosed=False)
    shares = {r.code: r.community_share for r in dim.rows}
    assert shares == {c: 0.2 for c in "12345"}
    assert dim.answered == 200 and dim.not_answered == 10 and dim.total == 210
    # quintile 1: 20% of the community, 30% of the population; 0.2/0.3 < 4/5
    assert [r.code for r in dim.under_represented] == ["1"]
    row = dim.rows[0]
    assert row.difference == pytest.approx(-10.0) and row.ratio == pytest.approx(2 / 3)
    assert FOUR_FIFTHS == 0.8


def test_disclosed_comparison_hides_small_counts_and_rounds_the_rest():
    counts = {"1": 3, "2": 52, "3": 61, "4": 77, "5": 90, "not_known": 21}
    dim = compare("imd_quintile", counts, POP, disclosed=True)
    shown = [r.count for r in dim.rows] + [dim.not_answered, dim.total]
    assert published_counts_are_safe(shown)
    assert dim.rows[0].count == "*" and dim.rows[0].community_share is None
    for r in dim.rows[1:]:
        if isinstance(r.count, int):
            assert r.count % 5 == 0
    # a hidden group that is far below its population share is still flagged
    assert dim.rows[0].under_represented


def test_shares_from_disclosed_counts_use_only_what_is_shown():
    counts = {"1": 30, "2": 52, "3": 61, "4": 77, "5": 90}
    dim = compare("imd_quintile", counts, POP, disclosed=True)
    shown = [r.count for r in dim.rows]
    assert all(isinstance(c, int) for c in shown)
    for r in dim.rows:
        assert r.community_share == pytest.approx(r.count / sum(shown))


def test_count_and_compare_every_dimension():
    people = [partner_groups({"age_band": "65-74", "sex": "2", "ethnic_category": "A",
                              "disability": "yes", "carer": "no", "imd_decile": 9})] * 20
    counts = count_groups(people)
    assert counts["age_band"]["65-74"] == 20 and counts["imd_quintile"]["5"] == 20
    rows = makeup(counts, default_population(), disclosed=True)
    assert [d.dimension for d in rows] == list(COMPARED)
    text = makeup_csv(rows).decode()
    assert text.splitlines()[0].startswith("dimension,group,partners")
    assert "Not answered" in text


CSV = ("dimension,group,share\nage_band,18-24,0.2\nage_band,25-34,0.3\nage_band,35-44,0.5\n"
       "sex,Female,0.51\nsex,Male,0.49\n")


def test_population_from_csv_accepts_codes_and_labels():
    population = parse_population_csv(CSV, "area.csv")
    assert population.shares["sex"] == {"2": 0.51, "1": 0.49}
    assert population.shares["age_band"]["35-44"] == 0.5


def test_population_from_csv_with_percentages():
    population = parse_population_csv("dimension,group,percent\ncarer,yes,9\ncarer,no,91\n")
    assert population.shares["carer"] == {"yes": pytest.approx(0.09), "no": pytest.approx(0.91)}


def test_population_from_yaml():
    text = "source: Area profile 2025\ndimensions:\n  carer:\n    yes: 0.1\n    no: 0.9\n"
    population = parse_population_yaml(text, "area.yaml")
    assert population.source == "Area profile 2025"
    assert population.shares["carer"] == {"yes": 0.1, "no": 0.9}   # YAML's yes/no as words


@pytest.mark.parametrize("text, row, column, words", [
    ("dimension,group,share\nshoe_size,9,1\n", 2, "dimension", "not a dimension"),
    ("dimension,group,share\nsex,Martian,1\n", 2, "group", "not a sex code"),
    ("dimension,group,share\nsex,2,0.5\nsex,1,0.2\n", 2, "share", "add up to 0.700"),
    ("dimension,group,share\nsex,2,half\n", 2, "share", "not a share"),
    ("dimension,group,share\nsex,2,0.5\nsex,2,0.5\n", 3, "group", "twice"),
    ("dimension,group\nsex,2\n", 1, "share", "no 'share' column"),
    ("dimension,group,share\nsex,X,1\n", 2, "group", "not a group"),
])
def test_bad_population_files_are_refused_with_row_and_column(text, row, column, words):
    with pytest.raises(ValidationError) as caught:
        parse_population_csv(text, "area.csv")
    problem = caught.value.problems[0]
    assert (problem.row, problem.column, problem.file) == (row, column, "area.csv")
    assert words in problem.message


def test_unsupported_files_are_refused():
    with pytest.raises(ValidationError) as caught:
        parse_population(b"\xff\xfe", "area.csv")
    assert caught.value.code == "not_utf8"
    with pytest.raises(ValidationError) as caught:
        parse_population(b"x", "area.xlsx")
    assert caught.value.code == "unsupported_file"


@given(st.text(max_size=200))
def test_any_csv_text_gives_a_population_or_a_located_error(text):
    try:
        population = parse_population_csv("dimension,group,share\n" + text, "f.csv")
    except ValidationError as exc:
        assert all(p.file == "f.csv" for p in exc.problems)
        return
    for groups in population.shares.values():
        assert abs(sum(groups.values()) - 1.0) < 1e-9


@given(st.text(max_size=200))
def test_any_yaml_text_gives_a_population_or_a_located_error(text):
    try:
        parse_population_yaml(text, "f.yaml")
    except ValidationError as exc:
        assert exc.file == "f.yaml"
