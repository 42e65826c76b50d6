"""The feedback questions, as data: the Friends and Family Test question and its answers, the
two comment questions, and the optional equality questions with their answers, the reason we
ask each one, and "prefer not to say".

Pure: no database, no web. The public pages, the API and imports all check answers here, so
a rating or an equality answer means the same whichever way it arrived.

References
----------
NHS England. *Friends and Family Test guidance* (2019, in use from 1 April 2020): the
    question "Overall, how was your experience of our service?" and its six answers.
NHS Data Model and Dictionary: Ethnic Category (2001 census groups), Person Stated Gender
    Code; NHS England's broad age bands (see :mod:`voices.equity.dimensions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from voices.equity.dimensions import (
    AGE_BANDS_BROAD,
    DIMENSIONS,
    NOT_KNOWN,
    PREFER_NOT_TO_SAY,
    age_band,
)
from voices.errors import ValidationError

FFT_QUESTION = "Overall, how was your experience of our service?"
#: The six FFT answers, in NHS England's order.
FFT_ANSWERS: tuple[str, ...] = ("Very good", "Good", "Neither good nor poor", "Poor",
                                "Very poor", "Don't know")
#: The codes suppliers use (1 very good … 6 don't know).
FFT_CODES = {str(k): answer for k, answer in enumerate(FFT_ANSWERS, start=1)}

GOOD_QUESTION = "What was good?"
BETTER_QUESTION = "What could be better?"
#: How long a comment typed on the feedback page may be (the page says so).
MAX_FORM_CHARS = 5000


def _fold(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").casefold().split())


_ANSWER_WORDS = {_fold(a): a for a in FFT_ANSWERS}
_ANSWER_WORDS.update({"dont know": "Don't know", "neither": "Neither good nor poor",
                      "neither good or poor": "Neither good nor poor"})


def fft_answer(value: object, *, extra: dict[str, str] | None = None, row: int | None = None,
               column: str | None = "rating", file: str | None = None) -> str | None:
    """The FFT answer for a rating given as a label (any case) or a code 1–6.

    Parameters
    ----------
    value:
        What was given; blank means not answered (``None`` is returned).
    extra:
        A supplier's own words for answers (``{"Excellent": "Very good"}``), checked first.
    row, column, file:
        Where the value came from, for the error message.

    Returns
    -------
    str or None
        One of :data:`FFT_ANSWERS`, or None if blank.

    Raises
    ------
    ValidationError
        For any other value (an unknown rating label is refused, never guessed).
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if extra:
        for key, answer in extra.items():
            if _fold(key) == _fold(text):
                return answer
    code = text.removesuffix(".0")
    if code in FFT_CODES:
        return FFT_CODES[code]
    found = _ANSWER_WORDS.get(_fold(text))
    if found is None:
        raise ValidationError(f"'{text[:40]}' is not a Friends and Family Test answer", row=row,
                              column=column, file=file,
                              expected="Very good, Good, Neither good nor poor, Poor, Very poor, "
                                       "Don't know, or 1 to 6", code="unknown_rating")
    return found


@dataclass(frozen=True)
class Choice:
    value: str
    text: str


@dataclass(frozen=True)
class EqualityQuestion:
    """One optional equality question as the feedback pages ask it."""

    field: str            # the column on the stored response
    dimension: str        # the equity dimension it reports under
    slug: str             # its page: /f/<service>/<slug>
    title: str
    hint: str
    why: str
    choices: tuple[Choice, ...]


PREFER = Choice(PREFER_NOT_TO_SAY, "Prefer not to say")

EQUALITY_QUESTIONS: tuple[EqualityQuestion, ...] = (
    EqualityQuestion(
        "age_band", "age_band", "age", "How old are you?", "",
        DIMENSIONS["age_band"].why_we_ask,
        tuple(Choice(code, text) for code, text in AGE_BANDS_BROAD.items()
              if code != NOT_KNOWN) + (PREFER,)),
    EqualityQuestion(
        "sex", "sex", "sex", "What is your sex?", "",
        DIMENSIONS["sex"].why_we_ask, (Choice("2", "Female"), Choice("1", "Male"), PREFER)),
    EqualityQuestion(
        "ethnic_group", "ethnic_group", "ethnic-group", "What is your ethnic group?", "",
        DIMENSIONS["ethnic_category"].why_we_ask,
        (Choice("white", "White"), Choice("mixed", "Mixed or multiple ethnic groups"),
         Choice("asian", "Asian or Asian British"),
         Choice("black", "Black, Black British, Caribbean or African"),
         Choice("other", "Another ethnic group"), PREFER)),
    EqualityQuestion(
        "disability", "disability", "disability",
        "Do you have a disability or a long-term health condition?",
        "This means a physical or mental health condition that has lasted, or is likely to "
        "last, a year or more.",
        DIMENSIONS["disability"].why_we_ask, (Choice("yes", "Yes"), Choice("no", "No"), PREFER)),
    EqualityQuestion(
        "carer", "carer", "carer",
        "Do you look after or help someone because of their health, disability or age?",
        "Do not count anything you do as part of a paid job.",
        DIMENSIONS["carer"].why_we_ask, (Choice("yes", "Yes"), Choice("no", "No"), PREFER)),
)
QUESTION_BY_SLUG = {q.slug: q for q in EQUALITY_QUESTIONS}
QUESTION_BY_FIELD = {q.field: q for q in EQUALITY_QUESTIONS}
POSTCODE_WHY = ("To check whether people from poorer areas have a worse experience. We only "
                "keep the first part of your postcode, so it cannot be used to find you.")


def equality_answer(field: str, value: object, *, row: int | None = None,
                    column: str | None = None, file: str | None = None) -> str | None:
    """Check one equality answer: its code, or its words (any case); blank is None.

    Age may also be given in whole years (it is stored as its band). Ethnic category codes
    (A–S) are accepted and stored as their broad group.
    """
    if value is None or not str(value).strip():
        return None
    question = QUESTION_BY_FIELD[field]
    text = str(value).strip()
    folded = _fold(text)
    if folded in ("prefer not to say", PREFER_NOT_TO_SAY, "prefer not", "not stated"):
        return PREFER_NOT_TO_SAY
    for choice in question.choices:
        if folded in (_fold(choice.value), _fold(choice.text)):
            return choice.value
    if field == "age_band":
        whole = text.removesuffix(".0")
        if whole.isdigit():
            band = age_band(int(whole))
            if band != NOT_KNOWN:
                return band
    if field == "sex":
        words = {"f": "2", "m": "1", "female": "2", "male": "1", "woman": "2", "man": "1"}
        if folded in words:
            return words[folded]
    if field == "ethnic_group":
        from voices.equity.dimensions import ETHNIC_CATEGORY_TO_GROUP, ETHNIC_GROUPS

        if text.upper() in ETHNIC_CATEGORY_TO_GROUP:
            group = ETHNIC_CATEGORY_TO_GROUP[text.upper()]
            return PREFER_NOT_TO_SAY if group == NOT_KNOWN else group
        for code, label in ETHNIC_GROUPS.items():
            if folded == _fold(label) and code != NOT_KNOWN:
                return code
    if field in ("disability", "carer"):
        words = {"y": "yes", "n": "no", "true": "yes", "false": "no", "1": "yes", "0": "no"}
        if folded in words:
            return words[folded]
    expected = ", ".join(c.text for c in question.choices)
    raise ValidationError(f"'{text[:40]}' is not an answer to '{question.title}'", row=row,
                          column=column or field, file=file, expected=expected,
                          code="invalid_equality_answer")


def dimension_code(field: str, value: str | None) -> str | None:
    """The equity dimension code a stored answer reports under (None: not known).

    "Prefer not to say" is kept where the dimension has it (yes/no questions) and counts as
    not known elsewhere."""
    if value is None:
        return None
    dimension = DIMENSIONS[QUESTION_BY_FIELD[field].dimension]
    if value in dimension.codes:
        return value
    return None
