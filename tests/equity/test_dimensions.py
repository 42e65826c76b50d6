from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voices.equity.dimensions import (DIMENSIONS, ETHNIC_CATEGORIES, age_band, ethnic_group,
                                      get_dimension, imd_quintile, is_core20, yes_no)
from voices.errors import ValidationError


def test_ethnic_categories_follow_the_nhs_data_dictionary():
    assert list(ETHNIC_CATEGORIES)[:16] == list("ABCDEFGHJKLMNPRS")
    assert ETHNIC_CATEGORIES["Z"] == "Not stated" and ETHNIC_CATEGORIES["99"] == "Not known"
    assert [ethnic_group(c) for c in "ABCDHMRS"] == [
        "white", "white", "white", "mixed", "asian", "black", "other", "other"]
    assert ethnic_group("Z") == ethnic_group("99") == ethnic_group("Q") == "not_known"


@pytest.mark.parametrize("decile,quintile", [(1, 1), (2, 1), (3, 2), (9, 5), (10, 5)])
def test_quintiles_pair_deciles_from_the_most_deprived(decile, quintile):
    assert imd_quintile(decile) == quintile


def test_core20_is_the_two_most_deprived_deciles():
    assert [is_core20(d) for d in (1, 2, 3, 10, None)] == [True, True, False, False, False]


@given(st.integers(-5, 140))
def test_every_age_has_exactly_one_band(age):
    band = age_band(age)
    if 0 <= age <= 130:
        assert band != "not_known"
        lower = int(band.split("-")[0].rstrip("+"))
        assert lower <= age
    else:
        assert band == "not_known"
    assert age_band(age, "5-year") in DIMENSIONS["age_band"].codes or \
        age_band(age, "5-year") in {f"{x}-{x + 4}" for x in range(0, 90, 5)} | {"90+", "not_known"}


def test_dimension_accepts_codes_and_labels_and_refuses_others():
    sex = get_dimension("sex")
    assert sex.validate("2") == "2" and sex.validate("female") == "2"
    assert sex.validate("") == "X"
    with pytest.raises(ValidationError) as err:
        sex.validate("banana", row=4, file="x.csv")
    assert err.value.row == 4 and err.value.column == "sex"


def test_yes_no_answers_are_normalised():
    assert [yes_no(v) for v in ("Y", "true", "No", None, "prefer not to say", "?")] == [
        "yes", "yes", "no", "not_known", "prefer_not_to_say", "not_known"]


def test_unknown_dimension_is_a_located_error():
    with pytest.raises(ValidationError):
        get_dimension("star_sign")
