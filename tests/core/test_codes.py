from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voices.core.codes import ods_code_kind, validate_ods_code, validate_treatment_function
from voices.errors import ValidationError


@pytest.mark.parametrize("code,kind", [
    ("RBD", "NHS trust"), ("rbd01", "NHS trust site"), ("QSL", None), ("A81001", "GP practice"),
    ("00L", "sub-ICB location"), ("Y56", "NHS England region"), ("8HV48", None),
])
def test_real_ods_code_shapes_are_accepted(code, kind):
    normalised = validate_ods_code(f"  {code} ")
    assert normalised == code.upper()
    if kind:
        assert ods_code_kind(normalised) == kind


@pytest.mark.parametrize("bad", ["", "R", "RB", "RBD0", "ABCDEFG", "R-BD", "RBD 01", "12345678",
                                 "<script>", "I12345"])
def test_malformed_ods_codes_are_refused_with_the_field_named(bad):
    with pytest.raises(ValidationError) as err:
        validate_ods_code(bad, row=3, file="orgs.csv")
    assert err.value.column == "ods_code" and err.value.row == 3
    assert err.value.code == "invalid_ods_code"
    assert "ODS code" in err.value.message or "ODS code" in (err.value.expected or "")


@given(st.one_of(st.text(max_size=12), st.integers(), st.none(), st.binary(max_size=8)))
def test_ods_validation_only_ever_raises_a_validation_error(value):
    try:
        result = validate_ods_code(value)
    except ValidationError:
        return
    assert result == result.upper() and 3 <= len(result) <= 6


@pytest.mark.parametrize("value,expected", [("110", "110"), ("C_110", "110"), ("x02", "X02"),
                                            ("", None), (None, None), (502, "502")])
def test_treatment_function_codes(value, expected):
    assert validate_treatment_function(value) == expected


@pytest.mark.parametrize("bad", ["11", "1100", "C_999x", "099", "X09", "abc"])
def test_bad_treatment_function_codes_are_refused(bad):
    with pytest.raises(ValidationError):
        validate_treatment_function(bad)
