"""Find and replace personal details in free-text feedback.

Before a comment reaches the analysis tables, :func:`redact` replaces NHS numbers, phone
numbers, email addresses, postcodes, street addresses, dates of birth and people's names
with typed placeholders such as ``[NAME]`` or ``[PHONE]``, and returns where each one was.

The method is the rule-and-word-list approach of the classic clinical de-identification
tools: patterns for things with a fixed shape (numbers, postcodes, emails, dates) and, for
names, word lists plus the words around a name ("Dr", "nurse", "my husband", "thank you").
Titles and roles are kept ("Dr [NAME]", "nurse [NAME]") so the comment still says who
helped.

The original text is never logged or kept by this module; spans carry offsets and kinds,
not the words they cover.

References
----------
Neamatullah I, Douglass MM, Lehman LH, et al. Automated de-identification of free-text
    medical records. BMC Medical Informatics and Decision Making 2008;8:32.
Norgeot B, Muenzen K, Peterson TA, et al. Protected Health Information filter (Philter):
    accurately and securely de-identifying free-text clinical notes. npj Digital Medicine
    2020;3:57.
NHS Digital. NHS Number: format and check digit (modulus 11), NHS Data Model and Dictionary.
Office for National Statistics. Postcode format (outward code: area, district; inward
    code: sector, unit), ONS Postcode Directory user guide.
Ofcom. The National Telephone Numbering Plan (UK numbers have 10 digits after the
    leading 0, a few areas 9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Sequence

import yaml

NAME = "NAME"
PHONE = "PHONE"
EMAIL = "EMAIL"
POSTCODE = "POSTCODE"
ADDRESS = "ADDRESS"
NHS_NUMBER = "NHS_NUMBER"
DATE_OF_BIRTH = "DATE_OF_BIRTH"

#: Every kind of personal detail the redactor finds, in the order it prefers them when two
#: candidate spans overlap.
KINDS: tuple[str, ...] = (EMAIL, NHS_NUMBER, DATE_OF_BIRTH, PHONE, POSTCODE, ADDRESS, NAME)
_PRIORITY = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True, order=True)
class Span:
    """Where one personal detail was found: ``text[start:end]`` of the original text."""

    start: int
    end: int
    kind: str

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "kind": self.kind}


@dataclass(frozen=True)
class Redacted:
    """A comment with its personal details replaced.

    Attributes
    ----------
    text:
        The redacted text, with each detail replaced by ``[KIND]``.
    spans:
        Where each detail was in the *original* text (sorted, not overlapping).
    """

    text: str
    spans: tuple[Span, ...]

    @property
    def changed(self) -> bool:
        return bool(self.spans)

    def kinds(self) -> list[str]:
        return [span.kind for span in self.spans]


# --------------------------------------------------------------------------------------
# Fixed-shape details
# --------------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

# Ten digits written 3-3-4 (spaces or hyphens) or run together.
_NHS_NUMBER = re.compile(r"(?<![\d+])(\d{3})([ -]?)(\d{3})\2(\d{4})(?![\d])")
_NHS_CONTEXT = re.compile(r"\bnhs\s*(?:no\.?|num(?:ber)?|#)?\s*(?:is|:)?\s*$", re.IGNORECASE)

_PHONE = re.compile(
    r"""(?<![\w+])(?:
        (?:\+\s?44|0044)\s?(?:\(0\)\s?)?\(?\d{2,5}\)?(?:[\s-]?\d{2,4}){1,3}
      | \(0\d{2,5}\)\s?\d{3,4}[\s-]?\d{3,4}
      | 0\d{2,4}(?:[\s-]?\d{2,4}){1,3}
    )(?![\d])""",
    re.VERBOSE,
)

_POSTCODE_AREAS = frozenset(
    """AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN
    DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L
    LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA
    SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS
    WV YO ZE""".split()
)
# Outward code (area letters, district) then inward code (sector digit, two unit letters,
# never C I K M O V).
_POSTCODE = re.compile(
    r"\b([A-Za-z]{1,2})(\d[A-Za-z\d]?)\s{0,2}(\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2})\b"
)

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = re.compile(
    r"""(?<![\w/.-])(?:
        \d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})
      | \d{4}-\d{1,2}-\d{1,2}
      | \d{1,2}(?:st|nd|rd|th)?(?:\s+of)?\s+MONTH\.?,?\s+(?:\d{4}|'\d{2})
      | MONTH\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}
      | MONTH\.?,?\s+\d{4}
      | (?<=born\s)(?:in\s)?\d{4}
      | (?<=born\sin\s)\d{4}
    )(?![\w/])""".replace("MONTH", _MONTHS),
    re.VERBOSE | re.IGNORECASE,
)
_DOB_CONTEXT = re.compile(
    r"""(?:\bd\.?\s?o\.?\s?b\b\.?|\bdate\s+of\s+birth|\bbirth\s?date|\bborn(?:\s+on|\s+in)?
        |\bbirthday(?:\s+is|\s+was)?)\s*(?:is|was|of|=)?\s*[:\-–(]?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_YEAR = re.compile(r"(\d{4}|'?\d{2})\W*$")

_STREET_TYPES = (
    "Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Cl|Drive|Way|Court|Ct|Crescent|Cres|Gardens"
    "|Gdns|Place|Pl|Terrace|Terr|Grove|Gr|Walk|Square|Sq|Hill|Park|View|Row|Mews|Rise|Green"
    "|Parade|Vale|Wharf|Boulevard|Gate|Fields|Meadow|Meadows|Chase|End|Bank|Heights|Wynd|Brae"
    "|Croft|Dene|Garth|Fold|Villas|Cottages|Estate|Circus|Yard|Approach|Grange|Hollow|Lea"
)
_WORD = r"[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?"
# "12 Acacia Avenue", "Flat 3, 45b St John's Road", "at 7 the Crescent" is left alone.
_ADDRESS = re.compile(
    rf"""(?<![\w£$€.])
    (?:(?:Flat|Apartment|Apt|Unit|Room)\.?\s*\d{{1,4}}[A-Za-z]?,?\s+)?
    \d{{1,4}}[A-Za-z]?(?:-\d{{1,4}})?,?\s+
    (?:(?:St|Saint)\.?\s+)?(?:{_WORD}\s+){{0,3}}{_WORD}\s+(?:{_STREET_TYPES})\b\.?""",
    re.VERBOSE,
)
_ADDRESS_LOWER = re.compile(
    r"""(?<![\w£$€.])\d{1,4}[a-z]?,?\s+(?:[a-z'’]+\s+){1,3}
    (?:road|street|avenue|lane|close|drive|crescent|gardens|terrace|grove|mews|parade)\b""",
    re.VERBOSE,
)
_ADDRESS_NO_NUMBER = re.compile(
    rf"""\b(?:on|in|at|off|live|lives|living)\s+(?!the\b)
    ((?:{_WORD}\s+){{1,3}}(?:{_STREET_TYPES})\b)""",
    re.VERBOSE,
)
_LOWER_STOP = frozenset(
    "the a an to in at of for and or my our his her their this that these those hours hour "
    "days day weeks week minutes minute times miles years months was were is are it i we "
    "they he she you".split()
)


def nhs_number_is_valid(digits: str) -> bool:
    """Check the modulus-11 check digit of a ten-digit NHS number.

    Parameters
    ----------
    digits:
        Ten digits, with or without spaces or hyphens.

    Returns
    -------
    bool
        True when the tenth digit matches the check digit computed from the first nine.

    References
    ----------
    NHS Data Model and Dictionary, "NHS Number": multiply the first nine digits by weights
    10 down to 2, sum, take the remainder on division by 11, subtract it from 11; a result
    of 11 means 0 and a result of 10 means the number is invalid.
    """
    only = re.sub(r"[\s-]", "", digits)
    if len(only) != 10 or not only.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(only[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(only[9])


def _emails(text: str) -> Iterable[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), EMAIL)


def _nhs_numbers(text: str) -> Iterable[Span]:
    for m in _NHS_NUMBER.finditer(text):
        context = _NHS_CONTEXT.search(text, max(0, m.start() - 25), m.start())
        if nhs_number_is_valid(m.group(0)) or context:
            yield Span(m.start(), m.end(), NHS_NUMBER)


def _phones(text: str) -> Iterable[Span]:
    for m in _PHONE.finditer(text):
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if digits.startswith("0044"):
            national = digits[4:]
        elif raw.lstrip().startswith("+"):
            national = digits[2:]
        else:
            national = digits[1:]
        national = national[1:] if national.startswith("0") else national
        if len(national) in (9, 10) and national[0] in "1235789":
            yield Span(m.start(), m.end(), PHONE)


def _postcodes(text: str) -> Iterable[Span]:
    for m in _POSTCODE.finditer(text):
        area = m.group(1).upper()
        if area in _POSTCODE_AREAS or area[:1] in _POSTCODE_AREAS and len(area) == 1:
            raw = m.group(0)
            # A lower-case match must look like a postcode, not like "a1 2bb" inside a word run.
            if raw.islower() and not re.search(r"\d", m.group(2)):
                continue
            yield Span(m.start(), m.end(), POSTCODE)


def _dates_of_birth(text: str, old_year: int) -> Iterable[Span]:
    for m in _DATE.finditer(text):
        context = _DOB_CONTEXT.search(text, max(0, m.start() - 30), m.start())
        if context:
            yield Span(m.start(), m.end(), DATE_OF_BIRTH)
            continue
        # A full calendar date from long ago is almost always someone's birthday.
        year = _YEAR.search(m.group(0))
        if year and len(year.group(1)) == 4 and re.search(r"\d.*\D.*\d.*\D", m.group(0)):
            if int(year.group(1)) < old_year:
                yield Span(m.start(), m.end(), DATE_OF_BIRTH)


def _addresses(text: str) -> Iterable[Span]:
    for m in _ADDRESS.finditer(text):
        yield Span(m.start(), m.end(), ADDRESS)
    for m in _ADDRESS_NO_NUMBER.finditer(text):
        yield Span(m.start(1), m.end(1), ADDRESS)
    for m in _ADDRESS_LOWER.finditer(text):
        words = m.group(0).split()[1:-1]
        if not any(w.strip(",") in _LOWER_STOP for w in words):
            yield Span(m.start(), m.end(), ADDRESS)


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------

_HONORIFICS = r"dr\.?|mr\.?|mrs\.?|ms\.?|miss|mx\.?|prof\.?|professor|sir|dame|rev\.?|revd\.?"
_TITLES = _HONORIFICS + r"|doctor|sister|nurse|matron|sr\.?"
_ROLES = (
    r"nurses?|doctors?|consultants?|surgeons?|registrars?|physios?|physiotherapists?"
    r"|paramedics?|midwi(?:fe|ves)|health\s+visitors?|receptionists?|carers?|care\s+workers?"
    r"|support\s+workers?|porters?|therapists?|psychiatrists?|psychologists?|pharmacists?"
    r"|gps?|ots?|hcas?|cpns?|social\s+workers?|key\s?workers?|care\s+co-?ordinators?"
    r"|drivers?|ambulance\s+drivers?|crew(?:\s+members?)?|technicians?|counsellors?|dentists?"
    r"|opticians?|managers?|staff(?:\s+members?)?|students?|student\s+nurses?|assistants?"
    r"|healthcare\s+assistants?|volunteers?|advisors?|advisers?|call\s+handlers?|operators?"
    r"|clinicians?|practitioners?|specialists?|dietitians?|radiographers?|sonographers?"
    r"|anaesthetists?|officers?|lady|man|gentleman|guy|girl|chap|lad|woman|sisters?"
    r"|psychiatric\s+nurses?|mental\s+health\s+nurses?|district\s+nurses?|community\s+nurses?"
    r"|named\s+nurses?|coordinators?|co-ordinators?|worker|workers|team\s+members?"
)
_RELATIONS = (
    r"husband|wife|partner|son|daughter|mum|mom|mam|mother|dad|father|brother|sister|grandson"
    r"|granddaughter|grandmother|grandfather|grandma|grandpa|grandad|granddad|nan|nana|nanna"
    r"|gran|granny|aunt|auntie|aunty|uncle|nephew|niece|cousin|friend|neighbour|neighbor"
    r"|carer|boyfriend|girlfriend|fianc[eé]e?|child|baby|twin|stepson|stepdaughter|stepmum"
    r"|stepdad|son-in-law|daughter-in-law|mother-in-law|father-in-law|sister-in-law"
    r"|brother-in-law|kids?|children|sons|daughters|grandchildren|grandkids|relative|flatmate"
    r"|housemate|colleague|lodger|client|patient|loved\s+one"
)
_OWNERS = r"my|our|his|her|their|your|the|a|an|one|whose|late"
_VERBS = (
    r"thank\s+you|thanks|thank|thankyou|cheers|called|named|name\s+(?:is|was)|names\s+(?:are|were)"
    r"|known\s+as|ask(?:ed)?\s+for|seen\s+by|treated\s+by|helped\s+by|supported\s+by"
    r"|looked\s+after\s+by|cared\s+for\s+by|visited\s+by|spoke\s+(?:to|with)|speaking\s+(?:to|with)"
    r"|shout\s*-?\s*out\s+(?:to|for)|mention\s+(?:to|for)|praise\s+(?:to|for)|credit\s+to"
    r"|especially|particularly|in\s+particular|including|except|apart\s+from|such\s+as"
    r"|hats\s+off\s+to|well\s+done\s+(?:to)?|big\s+up"
)
_CONTEXT_BEFORE = re.compile(
    rf"""(?:
        \b(?:{_TITLES})
      | \b(?:(?:{_OWNERS})\s+)?(?:[a-z]+\s+)?(?:{_ROLES})(?:\s*,)?(?:\s+(?:called|named|was|is))?
      | \b(?:{_OWNERS})\s+(?:(?:late|lovely|dear|beloved|elderly|little|eldest|youngest|oldest|
            older|younger|baby|twin|step|adult)\s+)?(?:{_RELATIONS})
      | \b(?:{_VERBS})(?:\s+(?:so|very)\s+much)?(?:\s+(?:to|for))?(?:\s+(?:both|all))?
    )\s*[,:]?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_CONTEXT_AFTER = re.compile(
    rf"""(?:
        \s*,?\s*\(?(?:the|our|my|a|an|your)\s+(?:[a-z]+\s+)?(?:{_ROLES})\b
      | \s+(?:on|at|from|in)\s+(?:the\s+)?(?:reception|front\s+desk|desk|switchboard|phones?)\b
      | \s+(?:was|is|were|has\s+been)\s+(?:so\s+|very\s+|really\s+|extremely\s+|always\s+)?
          (?:lovely|kind|amazing|brilliant|fantastic|wonderful|helpful|caring|rude|patient|friendly
          |excellent|fab|professional|supportive|understanding|attentive|polite|dismissive|abrupt
          |a\s+star|an\s+angel|a\s+credit|the\s+only\s+one)\b
      | \s+(?:listened|explained|reassured|rang|phoned|visited|stayed|went\s+above|went\s+out)\b
    )""",
    re.VERBOSE | re.IGNORECASE,
)
# The word before a candidate name, to tell a name in mid-sentence from a sentence start.
_PREVIOUS_WORD = re.compile(r"(\w+)([,)]?)\s+$")
_DETERMINERS = frozenset("the our your this that a an their his her its every each".split())


def _mid_sentence(text: str, before: int, start: int) -> bool:
    m = _PREVIOUS_WORD.search(text, before, start)
    return m is not None and m.group(1)[0].islower() and m.group(1) not in _DETERMINERS


_WORDLIKE = re.compile(r"(?:ly|ing|ings|tion|sion|ness|ment|ful|less|ous|ive|able|ible|ism|ers|ies)$")
_TITLE_BEFORE = re.compile(rf"\b(?:{_HONORIFICS})\s*$", re.IGNORECASE)
_LIST_JOIN = re.compile(r"^\s*(?:,|&|\band\b|\bor\b|,\s*and\b|/|\+)\s*$", re.IGNORECASE)
_ORG_AFTER = re.compile(
    r"\s*(?:hospital|ward|wards|trust|team|centre|center|clinic|surgery|practice|unit|service|"
    r"services|ambulance|royal|general|infirmary|house|road|street|lane|avenue|court|park|"
    r"school|college|university|council|road|centre|medical|health|hospice|home|lodge|suite|"
    r"building|wing|department|station|airport|city|town|county|district|pharmacy|course|"
    r"programme|program|group|project|foundation|partnership|way|view|ward)\b",
    re.IGNORECASE,
)
_SAINT_BEFORE = re.compile(r"\b(?:st|saint|queen|king|prince|princess|royal)\.?\s*$", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W\d_])?(?:['’]s)?")


@dataclass(frozen=True)
class _Lexicon:
    given: frozenset[str]
    ambiguous: frozenset[str]
    surnames: frozenset[str]
    particles: frozenset[str]
    not_names: frozenset[str]


@lru_cache(maxsize=1)
def _default_lexicon() -> _Lexicon:
    raw = yaml.safe_load(
        resources.files("voices.listen").joinpath("redaction_lexicon.yaml").read_text("utf-8")
    )

    def words(key: str) -> frozenset[str]:
        return frozenset(w.casefold() for w in raw[key].split())

    ambiguous = words("ambiguous_given_names")
    return _Lexicon(
        given=words("given_names") - ambiguous,
        ambiguous=ambiguous,
        surnames=words("surnames"),
        particles=words("particles"),
        not_names=words("not_names"),
    )


def _base(word: str) -> str:
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    return word.strip("'’-")


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and not (len(word) > 1 and word.isupper())


_CAPITALISED = re.compile(r"(?<![\w'’-])[A-ZÀ-ÖØ-Þ\u0100-\u017f][\w'’-]*")
_AFTER_HONORIFIC = re.compile(rf"\b(?:{_TITLES})\s+([a-z][\w'’-]*)", re.IGNORECASE)
_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_][\w'’-]*)")


def _name_starts(text: str, start: int, base: str, lex: _Lexicon, given: frozenset[str],
                 after_list: bool) -> bool:
    """Decide whether the word ``base`` at ``start`` begins a person's name."""
    key = base.casefold()
    cap = _is_capitalised(base)
    if len(base) < 2 or (cap and key in lex.not_names):
        return False
    before = max(0, start - 60)
    if _SAINT_BEFORE.search(text, before, start):
        return False
    if cap and (after_list or key in given):
        return True
    if key in lex.particles:
        nxt = _NEXT_WORD.match(text, start + len(base))
        while nxt is not None and nxt.group(1).casefold() in lex.particles:
            nxt = _NEXT_WORD.match(text, nxt.end())
        if nxt is not None and _is_capitalised(nxt.group(1)):
            return _CONTEXT_BEFORE.search(text, before, start) is not None
        return cap and _TITLE_BEFORE.search(text, before, start) is not None  # "Dr Le"
    if _CONTEXT_BEFORE.search(text, before, start):
        # After a title, role, relation or "thank you": any capitalised word, or a known
        # name typed in lower case straight after an honorific ("dr patel").
        return cap or (
            (key in given or key in lex.surnames or key in lex.ambiguous)
            and _TITLE_BEFORE.search(text, before, start) is not None
        )
    if (cap and key not in lex.ambiguous and not _WORDLIKE.search(key)
            and _mid_sentence(text, before, start)
            and _CONTEXT_AFTER.match(text, start + len(base))):
        return True  # "then Femi the physio", "and Oona was lovely"
    if cap and key in lex.ambiguous:
        nxt = _NEXT_WORD.match(text, start + len(base))
        return nxt is not None and _base(nxt.group(1)).casefold() in lex.surnames
    return False


def _name_end(text: str, end: int, lex: _Lexicon) -> int:
    """Extend a name over following surnames, particles and capitalised words."""
    while True:
        nxt = _NEXT_WORD.match(text, end)
        if nxt is None:
            return end
        word = nxt.group(1)
        after = nxt
        while after is not None and after.group(1).casefold() in lex.particles:
            after = _NEXT_WORD.match(text, after.end())
        if after is not nxt:
            if after is None or not _is_capitalised(after.group(1)):
                return end
            nxt, word = after, after.group(1)
        base = _base(word)
        if not _is_capitalised(base) or base.casefold() in lex.not_names or _ORG_AFTER.fullmatch(base):
            return end
        end = nxt.start(1) + len(base)
        if base != word:  # a possessive ends the name: "Mary Shah's"
            return end


def _names(text: str, lex: _Lexicon, extra: frozenset[str]) -> Iterable[Span]:
    given = lex.given | extra if extra else lex.given
    candidates = [(m.start(), m.group(0)) for m in _CAPITALISED.finditer(text)]
    candidates += [(m.start(1), m.group(1)) for m in _AFTER_HONORIFIC.finditer(text)]
    candidates.sort()
    last_end = -1
    for start, word in candidates:
        if start < last_end:
            continue
        base = _base(word)
        after_list = last_end >= 0 and _LIST_JOIN.match(text[last_end:start]) is not None
        if not _name_starts(text, start, base, lex, given, after_list):
            continue
        end = _name_end(text, start + len(base), lex) if base == word else start + len(base)
        if _ORG_AFTER.match(text, end):
            last_end = end
            continue  # "James Cook Hospital", "Amber ward": a place, not a person
        yield Span(start, end, NAME)
        last_end = end


# --------------------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------------------


def _resolve(spans: Sequence[Span]) -> list[Span]:
    """Keep non-overlapping spans, preferring the higher-priority kind, then the longer."""
    ranked = sorted(spans, key=lambda s: (_PRIORITY[s.kind], -(s.end - s.start), s.start))
    kept: list[Span] = []
    for span in ranked:
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept)


@dataclass(frozen=True)
class Redactor:
    """Configurable redactor.

    Parameters
    ----------
    kinds:
        Which kinds of detail to find (default: all of :data:`KINDS`).
    extra_names:
        More given names to treat as names wherever they appear capitalised (for example the
        names of a service's own staff).
    old_date_year:
        A full date (day, month, year) from before this year is taken for a date of birth
        even without words such as "born" or "DOB" near it.
    """

    kinds: tuple[str, ...] = KINDS
    extra_names: tuple[str, ...] = ()
    old_date_year: int = 1995

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kinds of personal detail: {sorted(unknown)}")

    def find(self, text: str) -> list[Span]:
        """Return the spans of personal details in ``text`` (sorted, not overlapping)."""
        if not text:
            return []
        kinds = set(self.kinds)
        found: list[Span] = []
        has_digit = _DIGIT.search(text) is not None
        if EMAIL in kinds and "@" in text:
            found.extend(_emails(text))
        if has_digit:
            if NHS_NUMBER in kinds:
                found.extend(_nhs_numbers(text))
            if PHONE in kinds:
                found.extend(_phones(text))
            if POSTCODE in kinds:
                found.extend(_postcodes(text))
            if DATE_OF_BIRTH in kinds:
                found.extend(_dates_of_birth(text, self.old_date_year))
        if ADDRESS in kinds:
            found.extend(_addresses(text))
        if NAME in kinds:
            extra = frozenset(n.casefold() for n in self.extra_names)
            found.extend(_names(text, _default_lexicon(), extra))
        return _resolve(found)

    def redact(self, text: str) -> Redacted:
        """Replace each personal detail in ``text`` with its ``[KIND]`` placeholder."""
        spans = self.find(text)
        if not spans:
            return Redacted(text, ())
        parts: list[str] = []
        cursor = 0
        for span in spans:
            parts.append(text[cursor:span.start])
            parts.append(f"[{span.kind}]")
            cursor = span.end
        parts.append(text[cursor:])
        return Redacted("".join(parts), tuple(spans))

    def redact_many(self, texts: Iterable[str]) -> list[Redacted]:
        return [self.redact(t) for t in texts]


_DEFAULT = Redactor()


def redact(text: str) -> Redacted:
    """Redact personal details from one comment with the default :class:`Redactor`.

    Parameters
    ----------
    text:
        The comment as written.

    Returns
    -------
    Redacted
        The redacted text and the spans (offsets into ``text``) of what was replaced.

    Examples
    --------
    >>> redact("Dr Patel rang me on 07700 900123.").text
    'Dr [NAME] rang me on [PHONE].'
    """
    return _DEFAULT.redact(text)
