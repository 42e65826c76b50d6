from __future__ import annotations

import pytest

from voices.core.passwords import (hash_password, password_problem, verify_password)


@pytest.mark.parametrize("weak", [
    "short", "password1234", "Password123!", "P@ssw0rd2024!", "qwertyuiop12", "123456789012",
    "aaaaaaaaaaaa", "abcabcabcabc", "iloveyou1234", "welcome12345", "Liverpool2024",
    "passwordwelcome", "letmein!letmein",
])
def test_short_or_common_passwords_are_refused(weak):
    assert password_problem(weak) is not None


@pytest.mark.parametrize("good", ["harbour-lantern-meadow", "blue kettle gravel 7",
                                  "Tangerine!Orbit#Quiet", "c9f$Lm2#pQ8!zR"])
def test_long_uncommon_passwords_are_accepted(good):
    assert password_problem(good) is None


def test_password_must_not_contain_the_email():
    assert password_problem("sam.jones-rocket-tulip", email="sam.jones@nhs.net") is not None


def test_hashes_are_argon2_and_verify():
    hashed = hash_password("harbour-lantern-meadow")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "harbour-lantern-meadow")
    assert not verify_password(hashed, "harbour-lantern-meadoW")
    assert not verify_password("not a hash", "anything")
