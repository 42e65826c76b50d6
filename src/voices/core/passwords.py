"""Password rules and hashing.

Rules follow the NCSC and NIST SP 800-63B guidance: a minimum length (12 characters here),
no composition rules, and a check against passwords that attackers try first. Hashes use
Argon2id (argon2-cffi defaults, RFC 9106).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from voices.errors import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 1024

_hasher = PasswordHasher()


def use_fast_hashes_for_tests() -> None:
    """Cheaper Argon2 parameters, for test suites only (never in a deployment)."""
    global _hasher, DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    DUMMY_HASH = _hasher.hash("voices-timing-equaliser-not-a-password")

# Words and runs that make up most guessed passwords once padded to 12 characters with
# digits or symbols. Compared after lower-casing and undoing common letter swaps.
COMMON_WORDS = frozenset("""
password passw0rd passwd pass letmein welcome welcome1 iloveyou loveyou admin administrator
root login qwerty qwertyuiop qwertyuiopasdfghjkl asdfgh asdfghjkl zxcvbnm zxcvbnmasdfghjkl
azerty abc abcdef abcdefghijkl abcd monkey dragon football soccer baseball basketball
cricket rugby hockey golf tennis sunshine princess master shadow superman batman spiderman
trustno trustnoone michael jennifer jordan hunter ranger buster thomas charlie robert
daniel george harley andrew joshua matthew jessica ashley amanda michelle nicole
summer winter spring autumn flower flowers cookie chocolate cheese pepper ginger
freedom whatever secret secretpassword mypassword yourpassword changeme changeit
default guest user username test testing tester temp temporary example sample hello
helloworld goodbye computer internet google facebook linkedin twitter instagram microsoft
apple samsung starwars pokemon minecraft fortnite liverpool chelsea arsenal manchester
manutd everton tottenham newcastle leeds london england britain scotland wales ireland
monday tuesday wednesday thursday friday saturday sunday january february march april
june july august september october november december christmas birthday family
mother father mummy daddy baby babygirl angel angels lovely lover loveme iloveu
nhs nhsuk nhsengland hospital doctor nurse nursing health healthcare patient patients
voices voice service services trust integrated care caring carers
killer pussy fuckyou fuckoff blahblah blink biteme matrix mustang access accessgranted
cheese cheeseburger pizza banana orange purple yellow silver golden diamond
qazwsx qazwsxedc qwertyui qweasd qweasdzxc 1qaz2wsx zaq12wsx
""".split())

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"})
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")


def _is_run(text: str) -> bool:
    """True for repeated characters, short repeated chunks, or keyboard/alphabet runs."""
    if len(set(text)) <= 2:
        return True
    for size in range(1, len(text) // 2 + 1):
        chunk = text[:size]
        if chunk * (len(text) // size) + chunk[: len(text) % size] == text:
            return True
    for row in _KEYBOARD_ROWS:
        for seq in (row, row[::-1]):
            if text in seq * 3:
                return True
    return False


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Return why a password is not acceptable, in plain English, or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Your password must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"Your password must be {MAX_LENGTH} characters or fewer"
    lowered = password.lower()
    if _is_run(lowered):
        return "Your password is too easy to guess: avoid repeated or keyboard patterns"
    core = re.sub(r"[^a-z]", "", lowered.translate(_LEET))
    stripped = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    candidates = {core, stripped, stripped.translate(_LEET), re.sub(r"[\W_]", "", lowered)}
    for candidate in candidates:
        if not candidate or candidate in COMMON_WORDS or _is_run(candidate):
            return ("Your password is too common: choose a longer phrase, for example "
                    "three unrelated words")
        # Two common words stuck together ("passwordwelcome") or a word repeated.
        for i in range(3, len(candidate) - 2):
            if candidate[:i] in COMMON_WORDS and candidate[i:] in COMMON_WORDS:
                return ("Your password is too common: choose a longer phrase, for example "
                        "three unrelated words")
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 4 and local in lowered:
            return "Your password must not contain your email address"
    return None


def check_password(password: str, *, email: str | None = None, field: str = "password") -> None:
    """Raise a :class:`ValidationError` if the password breaks the rules."""
    problem = password_problem(password, email=email)
    if problem:
        raise ValidationError(problem, column=field, code="weak_password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if the password matches. Never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A hash to verify against when an account does not exist, so a wrong email takes as long
# as a wrong password (no account enumeration by timing).
DUMMY_HASH = _hasher.hash("voices-timing-equaliser-not-a-password")


def verify_nothing(password: str) -> None:
    """Spend the time a real check would, for an account that does not exist."""
    verify_password(DUMMY_HASH, password)
