"""The equity dimensions Voices reports by, with their code lists.

Sources:
- Ethnic category: NHS Data Dictionary, "Ethnic Category" (2001 Census categories, codes A–S,
  Z = not stated, 99 = not known) and its five broad groups.
- Age bands: Office for National Statistics 5-year bands; the broad bands NHS England uses in
  patient-experience and waiting-list reporting.
- Sex: NHS Data Dictionary "Person Stated Gender Code" (1, 2, 9, X).
- Deprivation: English Indices of Deprivation (MHCLG), decile 1 = most deprived 10% of LSOAs;
  quintile 1 = deciles 1–2; Core20 = the most deprived 20% nationally (NHS England's
  Core20PLUS5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from voices.errors import ValidationError

NOT_KNOWN = "not_known"
PREFER_NOT_TO_SAY = "prefer_not_to_say"


@dataclass(frozen=True)
class Dimension:
    """An equity dimension: its code list (code → plain-English label) in display order."""

    name: str
    label: str
    codes: Mapping[str, str]
    unknown_codes: frozenset[str] = field(default_factory=frozenset)
    reference: str | None = None
    why_we_ask: str = ""

    def label_for(self, code: str | None) -> str:
        if code is None:
            return "Not known"
        return self.codes.get(code, code)

    def known_codes(self) -> list[str]:
        return [c for c in self.codes if c not in self.unknown_codes]

    def validate(self, value: object, *, row: int | None = None, column: str | None = None,
                 file: str | None = None) -> str:
        """Return the code for a value (a code or its label, any case), or raise."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return self._unknown()
        text = str(value).strip()
        if text in self.codes:
            return text
        lowered = text.lower()
        for code, label in self.codes.items():
            if code.lower() == lowered or label.lower() == lowered:
                return code
        raise ValidationError(f"'{text[:40]}' is not a {self.label.lower()} code", row=row,
                              column=column or self.name, file=file,
                              expected="one of " + ", ".join(list(self.codes)[:20]),
                              code="invalid_equity_code")

    def _unknown(self) -> str:
        for code in (NOT_KNOWN, "99", "X"):
            if code in self.codes:
                return code
        return next(iter(self.unknown_codes))


ETHNIC_CATEGORIES: dict[str, str] = {
    "A": "White - British",
    "B": "White - Irish",
    "C": "White - Any other White background",
    "D": "Mixed - White and Black Caribbean",
    "E": "Mixed - White and Black African",
    "F": "Mixed - White and Asian",
    "G": "Mixed - Any other mixed background",
    "H": "Asian or Asian British - Indian",
    "J": "Asian or Asian British - Pakistani",
    "K": "Asian or Asian British - Bangladeshi",
    "L": "Asian or Asian British - Any other Asian background",
    "M": "Black or Black British - Caribbean",
    "N": "Black or Black British - African",
    "P": "Black or Black British - Any other Black background",
    "R": "Other ethnic groups - Chinese",
    "S": "Other ethnic groups - Any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}

ETHNIC_GROUPS: dict[str, str] = {
    "white": "White",
    "mixed": "Mixed or multiple ethnic groups",
    "asian": "Asian or Asian British",
    "black": "Black or Black British",
    "other": "Other ethnic groups",
    NOT_KNOWN: "Not known or not stated",
}

ETHNIC_CATEGORY_TO_GROUP: dict[str, str] = {
    **dict.fromkeys("ABC", "white"), **dict.fromkeys("DEFG", "mixed"),
    **dict.fromkeys("HJKL", "asian"), **dict.fromkeys("MNP", "black"),
    **dict.fromkeys("RS", "other"), "Z": NOT_KNOWN, "99": NOT_KNOWN,
}


def ethnic_group(category: str | None) -> str:
    """The broad ethnic group for an NHS ethnic category code (unknown for anything else)."""
    return ETHNIC_CATEGORY_TO_GROUP.get((category or "").strip().upper(), NOT_KNOWN)


def _five_year_bands() -> dict[str, str]:
    bands = {f"{lo}-{lo + 4}": f"{lo} to {lo + 4}" for lo in range(0, 90, 5)}
    bands["90+"] = "90 and over"
    bands[NOT_KNOWN] = "Not known"
    return bands


AGE_BANDS_5_YEAR = _five_year_bands()

AGE_BANDS_BROAD: dict[str, str] = {
    "0-17": "Under 18", "18-24": "18 to 24", "25-34": "25 to 34", "35-44": "35 to 44",
    "45-54": "45 to 54", "55-64": "55 to 64", "65-74": "65 to 74", "75-84": "75 to 84",
    "85+": "85 and over", NOT_KNOWN: "Not known",
}

_BROAD_EDGES = [(0, "0-17"), (18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"),
                (55, "55-64"), (65, "65-74"), (75, "75-84"), (85, "85+")]


def age_band(age: int | float | None, scheme: str = "broad") -> str:
    """The age band for an age in whole years (``scheme`` is 'broad' or '5-year')."""
    if age is None or age != age or age < 0 or age > 130:
        return NOT_KNOWN
    age = int(age)
    if scheme == "5-year":
        return "90+" if age >= 90 else f"{age // 5 * 5}-{age // 5 * 5 + 4}"
    band = NOT_KNOWN
    for lower, name in _BROAD_EDGES:
        if age >= lower:
            band = name
    return band


SEX: dict[str, str] = {"1": "Male", "2": "Female", "9": "Indeterminate", "X": "Not known"}

IMD_DECILES: dict[str, str] = {
    **{str(d): f"Decile {d}" + (" (most deprived)" if d == 1 else " (least deprived)" if d == 10
                                else "") for d in range(1, 11)},
    NOT_KNOWN: "Not known",
}
IMD_QUINTILES: dict[str, str] = {
    **{str(q): f"Quintile {q}" + (" (most deprived)" if q == 1 else " (least deprived)" if q == 5
                                  else "") for q in range(1, 6)},
    NOT_KNOWN: "Not known",
}


def imd_quintile(decile: int | None) -> int | None:
    """Quintile from decile: deciles 1–2 → 1, …, 9–10 → 5 (1 = most deprived)."""
    if decile is None or not 1 <= int(decile) <= 10:
        return None
    return (int(decile) + 1) // 2


def is_core20(decile: int | None) -> bool:
    """NHS England's Core20: the most deprived 20% nationally (IMD deciles 1 and 2)."""
    return decile is not None and 1 <= int(decile) <= 2


YES_NO: dict[str, str] = {"yes": "Yes", "no": "No", PREFER_NOT_TO_SAY: "Prefer not to say",
                          NOT_KNOWN: "Not known"}

_UNKNOWN = frozenset({NOT_KNOWN, PREFER_NOT_TO_SAY})

DIMENSIONS: dict[str, Dimension] = {
    d.name: d for d in [
        Dimension("imd_decile", "Deprivation decile", IMD_DECILES, frozenset({NOT_KNOWN}),
                  reference="10",
                  why_we_ask="To check whether people from poorer areas have a worse "
                             "experience or wait longer."),
        Dimension("imd_quintile", "Deprivation quintile", IMD_QUINTILES, frozenset({NOT_KNOWN}),
                  reference="5"),
        Dimension("ethnic_category", "Ethnic category", ETHNIC_CATEGORIES,
                  frozenset({"Z", "99"}), reference="A",
                  why_we_ask="To check that people of every ethnic group are treated fairly."),
        Dimension("ethnic_group", "Ethnic group", ETHNIC_GROUPS, frozenset({NOT_KNOWN}),
                  reference="white"),
        Dimension("age_band", "Age band", AGE_BANDS_BROAD, frozenset({NOT_KNOWN}),
                  reference="45-54",
                  why_we_ask="To check that people of every age get the same good care."),
        Dimension("sex", "Sex", SEX, frozenset({"9", "X"}), reference="2",
                  why_we_ask="To check that men and women get the same good care."),
        Dimension("disability", "Disability", YES_NO, _UNKNOWN, reference="no",
                  why_we_ask="To check that disabled people get the same good care and the "
                             "support they need."),
        Dimension("learning_disability", "Learning disability or autism", YES_NO, _UNKNOWN,
                  reference="no",
                  why_we_ask="To check that people with a learning disability or autism get "
                             "the reasonable adjustments they need."),
        Dimension("carer", "Carer", YES_NO, _UNKNOWN, reference="no",
                  why_we_ask="To check that carers are listened to and supported."),
        Dimension("interpreter_needed", "Needs an interpreter", YES_NO, _UNKNOWN,
                  reference="no",
                  why_we_ask="To check that people who need an interpreter get one and are "
                             "not left behind."),
    ]
}


def get_dimension(name: str) -> Dimension:
    try:
        return DIMENSIONS[name]
    except KeyError:
        raise ValidationError(f"'{name}' is not an equity dimension",
                              expected="one of " + ", ".join(DIMENSIONS),
                              code="unknown_dimension") from None


def yes_no(value: object) -> str:
    """Normalise yes/no answers ('Y', 'true', '1', 'No', …) to the YES_NO codes."""
    if value is None:
        return NOT_KNOWN
    text = str(value).strip().lower()
    if text in {"y", "yes", "true", "1"}:
        return "yes"
    if text in {"n", "no", "false", "0"}:
        return "no"
    if text in {"prefer not to say", PREFER_NOT_TO_SAY, "prefer_not"}:
        return PREFER_NOT_TO_SAY
    return NOT_KNOWN


def names(dimensions: Iterable[str]) -> list[str]:
    return [get_dimension(d).name for d in dimensions]
