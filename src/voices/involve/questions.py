"""The questions a lived-experience partner answers when they join, and how each answer is
checked.

Joining is one question per page, in plain English, as the NHS service manual asks
(`service-manual.nhs.uk/design-system/patterns/ask-users-for-their-personal-information`).
Each :class:`Question` says what it asks, which answers it accepts and when it is asked
(some depend on earlier answers: a phone number only for people who want a call or a text,
the equality questions only for people who agree to answer them). The same questions are
used to change a profile later.

Everything here is pure: :func:`parse_answer` takes what a form sent (field → list of
values) and returns the stored values, or raises a :class:`~voices.errors.ValidationError`
that names the field. Equality questions follow the equity dimensions of
:mod:`voices.equity.dimensions` and always offer "prefer not to say".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from voices.equity.dimensions import (
    AGE_BANDS_BROAD,
    DIMENSIONS,
    ETHNIC_CATEGORIES,
    PREFER_NOT_TO_SAY,
)
from voices.errors import ValidationError

Form = Mapping[str, Sequence[str]]
Answers = Mapping[str, object]

PREFER_NOT = PREFER_NOT_TO_SAY
NONE = "none"

CONTACT_METHODS = {"email": "Email", "phone": "Phone call", "text": "Text message",
                   "post": "Letter"}

CONDITIONS = {
    "mental_health": "Mental health",
    "diabetes": "Diabetes",
    "heart": "Heart or circulation, including stroke",
    "cancer": "Cancer",
    "breathing": "Breathing, such as asthma or COPD",
    "muscles_joints": "Muscles, bones or joints, such as arthritis",
    "brain_nerves": "Brain and nerves, such as epilepsy, MS or Parkinson's",
    "dementia": "Dementia or memory problems",
    "learning_disability_autism": "Learning disability or autism",
    "sight_hearing": "Sight or hearing",
    "physical_disability": "Physical disability",
    "kidney": "Kidneys",
    "pregnancy_birth": "Pregnancy and birth",
    "drugs_alcohol": "Drug or alcohol use",
    "long_covid": "Long COVID",
}

# Service types in the same codes as the platform's services (voices.core.models.ServiceType),
# named as people say them, plus social care and pharmacies.
SERVICES_USED = {
    "gp": "GP practice",
    "outpatient": "Hospital clinic or outpatient appointment",
    "inpatient": "Staying in hospital",
    "emergency": "A&E or urgent treatment centre",
    "maternity": "Maternity care",
    "mental_health": "Mental health services",
    "community": "Community nursing or therapy at home",
    "ambulance": "Ambulance or NHS 111",
    "dental": "Dentist",
    "pharmacy": "Pharmacy",
    "social_care": "Social care or care homes",
}

CARING_ROLES = {
    NONE: "No, I do not look after anyone",
    "child": "Yes, a child or young person",
    "adult": "Yes, an adult",
    "older": "Yes, an older person",
    "several": "Yes, more than one person",
}

INTERESTS = {
    "waiting": "Waiting for care",
    "mental_health": "Mental health",
    "maternity": "Pregnancy, birth and babies",
    "children": "Children and young people",
    "older_people": "Older people",
    "fairness": "Making care fairer for everyone",
    "information": "Clear information and letters",
    "digital": "Online services and apps",
    "leaving_hospital": "Leaving hospital and care at home",
    "gp_community": "GP and community care",
    "research": "Health research",
    "staff_training": "Training staff",
}

FORMATS = {
    "in_person": "Meeting in person",
    "online": "Video call",
    "phone": "Phone call",
    "paper": "By post, on paper",
    "email": "By email, in my own time",
}

VENUE_NEEDS = {
    "step_free": "Step-free access",
    "accessible_toilet": "An accessible toilet",
    "hearing_loop": "A hearing loop",
    "bsl": "A British Sign Language interpreter",
    "quiet_space": "A quiet space to take a break",
    "large_print": "Papers in large print or easy read",
    "public_transport": "Close to a bus stop or station",
    "parking": "Parking close by",
}

TIMES = {
    "weekday_morning": "Weekday mornings",
    "weekday_afternoon": "Weekday afternoons",
    "weekday_evening": "Weekday evenings",
    "weekend": "Weekends",
}

AVAILABILITY = {
    "one_off": "Now and then, for one-off activities",
    "up_to_2": "Up to 2 hours a month",
    "2_to_5": "2 to 5 hours a month",
    "5_to_10": "5 to 10 hours a month",
    "more_than_10": "More than 10 hours a month",
}
# The most hours a month each availability answer allows (used by matching).
AVAILABLE_HOURS = {"one_off": 3.0, "up_to_2": 2.0, "2_to_5": 5.0, "5_to_10": 10.0,
                   "more_than_10": 40.0}

YES_NO = {"yes": "Yes", "no": "No"}

AGE_BANDS = {code: label for code, label in AGE_BANDS_BROAD.items()
             if code not in ("0-17", "not_known")}
SEX = {"2": "Female", "1": "Male"}
ETHNIC = {code: label for code, label in ETHNIC_CATEGORIES.items() if code not in ("Z", "99")}
EQUALITY_YES_NO = {"yes": "Yes", "no": "No"}


@dataclass(frozen=True)
class Question:
    """One page of the sign-up form.

    ``kind`` picks the form control: text, email, tel, textarea, radios, checkboxes.
    ``field`` is the form field (and the stored answer's key). Checkbox questions with
    ``exclusive`` offer a "none of these" answer that cannot be ticked with the others.
    """

    key: str
    kind: str
    title: str
    hint: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    required: bool = True
    required_message: str = ""
    exclusive: str | None = None
    prefer_not: bool = False
    why_we_ask: str = ""
    other_field: str | None = None        # free text beside checkboxes ("Something else")
    max_length: int = 200
    width: str = ""
    autocomplete: str | None = None
    applies: Callable[[Answers], bool] = lambda answers: True
    section: str = "about"
    summary_label: str = ""

    @property
    def label(self) -> str:
        return self.summary_label or self.title

    def option_label(self, code: str) -> str:
        if code == PREFER_NOT:
            return "Prefer not to say"
        if code == NONE and self.exclusive:
            return self.exclusive
        return self.options.get(code, code)


def _equality(answers: Answers) -> bool:
    return answers.get("consent_equality") == "yes"


def _wants_calls(answers: Answers) -> bool:
    return answers.get("contact_method") in ("phone", "text")


def _wants_post(answers: Answers) -> bool:
    return answers.get("contact_method") == "post"


def _meets_in_person(answers: Answers) -> bool:
    formats = answers.get("formats")
    return isinstance(formats, list) and "in_person" in formats


QUESTIONS: tuple[Question, ...] = (
    Question("name", "text", "What is your name?",
             hint="The name you would like us to use.", required_message="Enter your name",
             autocomplete="name", summary_label="Name"),
    Question("email", "email", "What is your email address?",
             hint="You will use this to sign in. We will not share it.",
             required_message="Enter your email address", autocomplete="email",
             max_length=254, summary_label="Email address"),
    Question("contact_method", "radios", "How would you like us to contact you?",
             options=CONTACT_METHODS, required_message="Choose how you would like us to "
             "contact you", summary_label="How to contact you"),
    Question("phone", "tel", "What is your phone number?",
             hint="A UK mobile or landline number, like 07700 900 982 or 0113 496 0000.",
             required_message="Enter your phone number", autocomplete="tel", max_length=30,
             width="nhsuk-input--width-20", applies=_wants_calls, summary_label="Phone number"),
    Question("postal_address", "textarea", "What is your address?",
             hint="Include the postcode.", required_message="Enter your address",
             autocomplete="street-address", max_length=500, applies=_wants_post,
             summary_label="Address"),
    Question("conditions", "checkboxes", "Which health conditions do you have experience of?",
             hint="As a patient or as someone who cares for a patient. Select all that apply.",
             options=CONDITIONS, exclusive="None of these", other_field="conditions_other",
             required_message="Select the conditions you have experience of, or select "
             "'None of these'", section="experience", summary_label="Health conditions"),
    Question("services_used", "checkboxes", "Which services have you or the person you care "
             "for used in the last 3 years?", hint="Select all that apply.",
             options=SERVICES_USED, exclusive="None of these",
             required_message="Select the services you have used, or select 'None of these'",
             section="experience", summary_label="Services used"),
    Question("caring_role", "radios", "Do you look after someone because of illness, "
             "disability or old age?", hint="We mean unpaid care, for family or friends.",
             options=CARING_ROLES, required_message="Select if you look after someone",
             section="experience", summary_label="Caring"),
    Question("interests", "checkboxes", "What would you like to help improve?",
             hint="Select all that apply.", options=INTERESTS,
             required_message="Select at least one thing you would like to help improve",
             section="experience", summary_label="Interests"),
    Question("formats", "checkboxes", "How can you take part?",
             hint="Select all the ways that work for you.", options=FORMATS,
             required_message="Select at least one way you can take part",
             section="access", summary_label="Ways to take part"),
    Question("venue_needs", "checkboxes", "When you meet us in person, what do you need?",
             hint="Select all that apply.", options=VENUE_NEEDS, exclusive="I do not need "
             "any of these", required_message="Select what you need, or select 'I do not "
             "need any of these'", applies=_meets_in_person, section="access",
             summary_label="Needs at meetings"),
    Question("times", "checkboxes", "When can you take part?", hint="Select all that apply.",
             options=TIMES, required_message="Select at least one time you can take part",
             section="access", summary_label="Times"),
    Question("adjustments", "textarea", "Is there anything else that would make it easier "
             "for you to take part?",
             hint="For example, a support worker coming with you, extra time, breaks, or "
             "papers sent in advance. You can leave this empty.", required=False,
             max_length=1000, section="access", summary_label="Other support"),
    Question("availability", "radios", "How much time could you give?",
             hint="You can change this at any time.", options=AVAILABILITY,
             required_message="Select how much time you could give", section="access",
             summary_label="Time you could give"),
    Question("consent_contact", "radios", "Can we contact you about ways to get involved?",
             options=YES_NO, required_message="Select yes or no", section="consent",
             summary_label="We can contact you"),
    Question("consent_matching", "radios", "Can we use your answers to suggest things that "
             "suit you?", options=YES_NO, required_message="Select yes or no",
             section="consent", summary_label="We can use your answers to suggest things"),
    Question("consent_equality", "radios", "Would you like to answer some questions about "
             "yourself?", options=YES_NO, required_message="Select yes or no",
             section="consent", summary_label="Questions about you"),
    Question("age_band", "radios", "How old are you?", options=AGE_BANDS, prefer_not=True,
             why_we_ask=DIMENSIONS["age_band"].why_we_ask + " We also check that our "
             "community includes people of all ages.",
             required_message="Select your age, or select 'Prefer not to say'",
             applies=_equality, section="equality", summary_label="Age"),
    Question("sex", "radios", "What is your sex?", options=SEX, prefer_not=True,
             why_we_ask=DIMENSIONS["sex"].why_we_ask,
             required_message="Select your sex, or select 'Prefer not to say'",
             applies=_equality, section="equality", summary_label="Sex"),
    Question("ethnic_category", "radios", "What is your ethnic group?", options=ETHNIC,
             prefer_not=True, why_we_ask=DIMENSIONS["ethnic_category"].why_we_ask,
             required_message="Select your ethnic group, or select 'Prefer not to say'",
             applies=_equality, section="equality", summary_label="Ethnic group"),
    Question("disability", "radios", "Do you have a condition or disability that makes "
             "day-to-day life harder?", hint="We mean something that has lasted, or will "
             "last, 12 months or more.", options=EQUALITY_YES_NO, prefer_not=True,
             why_we_ask=DIMENSIONS["disability"].why_we_ask,
             required_message="Select yes or no, or select 'Prefer not to say'",
             applies=_equality, section="equality", summary_label="Disability"),
    Question("carer", "radios", "Are you an unpaid carer?",
             hint="Someone who looks after family or friends because of illness, disability "
             "or old age.", options=EQUALITY_YES_NO, prefer_not=True,
             why_we_ask=DIMENSIONS["carer"].why_we_ask,
             required_message="Select yes or no, or select 'Prefer not to say'",
             applies=_equality, section="equality", summary_label="Carer"),
    Question("area", "text", "What is the first half of your postcode?",
             hint="For example, NE1 or LS12. If you know your LSOA code (it starts with "
             "E01) you can enter that instead.", prefer_not=True,
             why_we_ask="To check that people from every part of our area, including the "
             "poorest neighbourhoods, can have their say. We never keep your full postcode.",
             required_message="Enter the first half of your postcode, or select 'Prefer not "
             "to say'", max_length=12, width="nhsuk-input--width-10",
             applies=_equality, section="equality", summary_label="Postcode area"),
)

BY_KEY = {q.key: q for q in QUESTIONS}
EQUALITY_KEYS = tuple(q.key for q in QUESTIONS if q.section == "equality")
CONSENT_KEYS = ("consent_contact", "consent_matching", "consent_equality")
LIST_KEYS = frozenset(q.key for q in QUESTIONS if q.kind == "checkboxes")

SECTIONS = {"about": "About you", "experience": "Your experience",
            "access": "Taking part", "consent": "What you agree to",
            "equality": "About you, to check we are fair"}


def get_question(key: str) -> Question:
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValidationError(f"'{key[:40]}' is not a question", column="question",
                              code="unknown_question") from None


def questions_for(answers: Answers) -> list[Question]:
    """The questions that apply, given the answers so far, in order."""
    return [q for q in QUESTIONS if q.applies(answers)]


def next_question(answers: Answers, after: str | None = None) -> Question | None:
    """The first question that applies and is not answered yet (or, with ``after``, the
    next applicable question after that one that is not answered)."""
    applicable = questions_for(answers)
    start = 0
    if after is not None:
        keys = [q.key for q in applicable]
        start = keys.index(after) + 1 if after in keys else 0
    for question in applicable[start:]:
        if question.key not in answers:
            return question
    for question in applicable[:start]:
        if question.key not in answers:
            return question
    return None


def relevant_answers(answers: Answers) -> dict[str, object]:
    """Only the answers to questions that still apply (changing an answer can make others
    irrelevant: no phone number for someone who now wants letters)."""
    keys = {q.key for q in questions_for(answers)}
    kept = {k: v for k, v in answers.items() if k in keys}
    for question in QUESTIONS:
        if question.other_field and question.key in kept and question.other_field in answers:
            kept[question.other_field] = answers[question.other_field]
    return kept


# ----------------------------------------------------------------------------- parsing


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"(?:\+44|0044|0)\d{9,10}")
_DISTRICT = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?")
_FULL_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})")
_LSOA = re.compile(r"[EW]01[0-9]{6}")


def _values(form: Form, name: str) -> list[str]:
    raw = form.get(name, [])
    if isinstance(raw, str):
        raw = [raw]
    return [v for v in raw if isinstance(v, str)]


def _one(form: Form, name: str) -> str:
    values = _values(form, name)
    return values[0].strip() if values else ""


def clean_text(text: str, question_key: str, label: str, max_length: int,
               multiline: bool = False) -> str:
    """Trimmed text without control characters (new lines only where ``multiline``)."""
    text = text.replace("\r\n", "\n").strip()
    if _CONTROL.search(text) or (not multiline and "\n" in text):
        raise ValidationError(f"{label} must not contain special characters",
                              column=question_key, code="invalid_characters")
    if len(text) > max_length:
        raise ValidationError(f"{label} must be {max_length} characters or fewer",
                              column=question_key, code="too_long")
    return text


def normalise_phone(text: str, field_name: str = "phone") -> str:
    """A UK phone number in a standard shape (spaces, dashes and brackets removed): 10 or
    11 digits starting with 0, mobiles (07…) always 11 (Ofcom's National Telephone
    Numbering Plan)."""
    compact = re.sub(r"[\s\-().]", "", text)
    if not _PHONE.fullmatch(compact):
        raise ValidationError("Enter a UK phone number, like 07700 900 982 or 0113 496 0000",
                              column=field_name, code="invalid_phone")
    if compact.startswith("0044"):
        compact = "0" + compact[4:]
    elif compact.startswith("+44"):
        compact = "0" + compact[3:]
    if len(compact) not in (10, 11) or (compact.startswith("07") and len(compact) != 11):
        raise ValidationError("Enter a UK phone number, like 07700 900 982 or 0113 496 0000",
                              column=field_name, code="invalid_phone")
    return compact


def parse_area(text: str, field_name: str = "area") -> dict[str, str | None]:
    """The area someone lives in, from the first half of a postcode, a whole postcode
    (only its first half is kept) or an LSOA code.

    Returns ``{"postcode_district": ..., "lsoa": ...}`` with one of them set.
    """
    compact = re.sub(r"\s+", "", text.upper())
    if _LSOA.fullmatch(compact):
        return {"postcode_district": None, "lsoa": compact}
    full = _FULL_POSTCODE.fullmatch(compact)
    if full:
        return {"postcode_district": full.group(1), "lsoa": None}
    if _DISTRICT.fullmatch(compact):
        return {"postcode_district": compact, "lsoa": None}
    raise ValidationError("Enter the first half of a postcode, like NE1 or LS12",
                          column=field_name, code="invalid_postcode")


def parse_answer(question: Question, form: Form) -> dict[str, object]:
    """Check one page's answer and return what to store (question key → value, plus the
    'something else' text for checkbox questions that have one).

    Raises
    ------
    ValidationError
        With ``column`` set to the form field to show the message beside.
    """
    key = question.key
    if question.kind == "checkboxes":
        chosen = [v.strip() for v in _values(form, key) if v.strip()]
        allowed = set(question.options) | ({NONE} if question.exclusive else set())
        unknown = [v for v in chosen if v not in allowed]
        if unknown:
            raise ValidationError("Select from the list", column=key, code="invalid_choice")
        chosen = list(dict.fromkeys(chosen))
        result: dict[str, object] = {}
        other = ""
        if question.other_field:
            other = clean_text(_one(form, question.other_field), question.other_field,
                               "Your answer", 300)
            result[question.other_field] = other
        if NONE in chosen and len(chosen) > 1:
            raise ValidationError(f"Select '{question.exclusive}' on its own, or choose from "
                                  "the list", column=key, code="exclusive_choice")
        if not chosen and not other and question.required:
            raise ValidationError(question.required_message, column=key, code="required")
        if NONE in chosen and other:
            raise ValidationError(f"Select '{question.exclusive}' or tell us something else, "
                                  "not both", column=key, code="exclusive_choice")
        result[key] = [] if chosen == [NONE] else [c for c in question.options if c in chosen]
        return result
    value = _one(form, key)
    if question.prefer_not and _one(form, f"{key}_prefer_not") == "yes" \
            and question.kind != "radios":
        return _prefer_not(question)
    if question.kind == "radios":
        allowed = set(question.options) | ({PREFER_NOT} if question.prefer_not else set())
        if not value:
            raise ValidationError(question.required_message, column=key, code="required")
        if value not in allowed:
            raise ValidationError("Select from the list", column=key, code="invalid_choice")
        return {key: value}
    if not value:
        if question.required:
            raise ValidationError(question.required_message, column=key, code="required")
        return {key: ""}
    label = "Your answer"
    if question.kind == "email":
        try:
            checked = validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError("Enter an email address in the correct format, like "
                                  "name@example.com", column=key,
                                  code="invalid_email") from None
        if len(checked.normalized) > question.max_length:
            raise ValidationError("Your email address is too long", column=key,
                                  code="too_long")
        return {key: checked.normalized.lower()}
    if question.kind == "tel":
        return {key: normalise_phone(value, key)}
    text = clean_text(value, key, label, question.max_length,
                      multiline=question.kind == "textarea")
    if key == "area":
        place = parse_area(text, key)        # the full postcode is never kept
        return {key: place["lsoa"] or place["postcode_district"]}
    return {key: text}


def _prefer_not(question: Question) -> dict[str, object]:
    return {question.key: PREFER_NOT}


def display_answer(question: Question, answers: Answers) -> str:
    """An answer in words, for 'check your answers' and the profile page."""
    value = answers.get(question.key)
    if value is None:
        return "Not answered"
    if question.kind == "checkboxes":
        items = [question.option_label(v) for v in value] if isinstance(value, list) else []
        other = answers.get(question.other_field) if question.other_field else None
        if other:
            items.append(str(other))
        return ", ".join(items) if items else question.exclusive or "None"
    if value == PREFER_NOT:
        return "Prefer not to say"
    if question.kind == "radios":
        return question.option_label(str(value))
    if value == "":
        return "Nothing to add" if question.kind == "textarea" else "Not answered"
    return str(value)


def form_values(question: Question, answers: Answers) -> dict[str, object]:
    """The values to show in a question's form when it is asked again."""
    value = answers.get(question.key)
    values: dict[str, object] = {question.key: value}
    if question.other_field:
        values[question.other_field] = answers.get(question.other_field, "")
    if question.kind == "checkboxes" and value == []:
        other = answers.get(question.other_field) if question.other_field else None
        values[question.key] = [NONE] if question.exclusive and not other else []
    if question.prefer_not and value == PREFER_NOT and question.kind != "radios":
        values[question.key] = ""
        values[f"{question.key}_prefer_not"] = "yes"
    return values
