"""Synthetic feedback comments with known personal details, for measuring the redactor.

:func:`pii_comments` writes comments from templates, filling slots with names, phone
numbers, NHS numbers, emails, postcodes, street addresses and dates of birth, and records
exactly where each detail is. Two separate families of templates exist:

* ``"tuning"`` — the templates the redactor's rules were developed against;
* ``"held_out"`` — different sentences, different wording around each detail and some
  different formats, used only to measure (tests assert recall on these).

The people's names come from this module's own lists, which deliberately include names the
redactor's word list does not contain, so the figures show how far the context rules
("Dr ...", "my husband ...", "thank you ...") carry on names never seen before.

All data here is invented. Phone numbers use Ofcom's ranges reserved for drama
(07700 900000–900999, 0113 496 0000–0999, 020 7946 0000–0999, 0191 498 0000–0999 …);
NHS numbers are random ten-digit numbers with a valid check digit.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass

from voices.listen.redaction import (
    ADDRESS,
    DATE_OF_BIRTH,
    EMAIL,
    NAME,
    NHS_NUMBER,
    PHONE,
    POSTCODE,
    Span,
)

# Given names and surnames for the generator (varied on purpose: many communities, spellings
# with apostrophes, hyphens and particles). Some are in the redactor's word list, many not.
GIVEN = """Aaliyah Abdirahman Adaeze Adwoa Agnieszka Ahmed Aiko Aisling Akua Alejandro Amani Amara
Anjali Aoife Arash Ayesha Babak Bartek Bethany Bongani Bríd Chanelle Chiamaka Chidi Connor Dafydd
Darnell Deepika Delroy Dumisani Efosa Eilidh Emeka Esperanza Fatima Femi Fionnuala Folasade
Gabriela Gethin Giang Grzegorz Gulnaz Hamza Harjit Hiroko Huda Ifeoma Imogen Ioana Isaac Jagjit
Jamal Jaswinder Jean-Paul Jin-ho Jolanta Kamala Kemi Khadija Kwame Lakshmi Leticia Liang Lowri
Lucjan Mahalia Mairead Malik Manon Marisol Mehmet Mei-Ling Mihai Mirela Mohammed Mónica Nadia
Naveen Nkechi Noor Obinna Oksana Olumide Oona Paulina Precious Rahim Rashida Rhodri Rosalind
Ruairí Rukhsana Sadiq Saoirse Seun Shabnam Siddharth Siobhan Somchai Sunita Tadhg Tamsin Tendai
Thanh Tomasz Tunde Uzma Valentina Vikram Wanjiru Wiremu Xiaoming Yaw Yetunde Yusuf Zainab
Zbigniew Zofia Ngozi Marek Caoimhe Kayode Parisa Rowena Thandiwe Oluwakemi Tariq Laszlo Dorota
Margaret Susan Peter David Linda Gareth Hannah Oliver Ruth George Karen""".split()

SURNAMES = """Abara;Achebe;Adeyemi;Ahmadi;Al-Rashid;Anand;Appiah;Asante;Babatunde;Bajwa;
Banerjee;Begum;Bhattacharya;Boateng;Brennan;Chakraborty;Chaudhry;Chukwu;Costa;Cunningham;D'Souza;
Da Costa;de Souza;Demir;Dhaliwal;Diallo;Dlamini;Donoghue;Eze;Fernandes;Fitzpatrick;Flores;Gallagher;
Gill;Gonçalves;Grewal;Hakimi;Hussain;Ibekwe;Iqbal;Jankowska;Kaczmarek;Kamau;Kaur;Kowalski;Lam;Le;
MacLeod;Mahmood;McAllister;Mendes;Mensah;Mwangi;Nakamura;Ndlovu;Nguyen;Nowak;O'Donnell;O'Sullivan;
Obi;Okonkwo;Olawale;Onyango;Osei;Owusu;Pham;Popescu;Quinn;Rahman;Rossi;Sahota;Sandhu;Santos;Sethi;
Shah;Siddiqui;Sokolova;Suleiman;Thapa;Tran;Uddin;van der Merwe;Varga;Wiśniewska;Yilmaz;Zhou;
Jones;Evans;Roberts;Thompson;Hughes;Clarke""".replace("\n", "").split(";")

_RELATIONS = ["husband", "wife", "son", "daughter", "mum", "dad", "partner", "brother", "sister",
              "grandson", "granddaughter", "nan", "grandad", "friend", "neighbour", "carer"]
_ROLES = ["nurse", "doctor", "physio", "paramedic", "receptionist", "health visitor", "midwife",
          "support worker", "care coordinator", "therapist", "pharmacist", "driver", "porter",
          "social worker", "healthcare assistant"]
_TITLES = ["Dr", "Dr.", "Mr", "Mrs", "Ms", "Miss", "Sister", "Nurse", "Professor"]
_STREETS = ["Acacia", "Albert", "Beech", "Cemetery", "Chapel", "Church", "Coronation", "Elm Tree",
            "Ferndale", "Gladstone", "Hawthorn", "Jubilee", "Kingsway", "Laburnum", "Meadow Bank",
            "Mill", "Nelson", "Orchard", "Park View", "Princess", "Queens", "Rosebery", "Sandringham",
            "St John's", "Station", "Tennyson", "Victoria", "Wellington", "Windsor", "Woodland"]
_STREET_TYPES = ["Road", "Street", "Avenue", "Lane", "Close", "Drive", "Crescent", "Gardens",
                 "Terrace", "Grove", "Way", "Court", "Place", "Rd", "St", "Ave"]
_POSTCODE_AREAS = ["NE", "SR", "DH", "TS", "NG", "LS", "M", "B", "E", "SW", "CF", "EH", "G",
                   "BT", "L", "S", "BS", "LE", "DE", "OX", "PL", "YO", "HU", "BD", "W", "N"]
_DOMAINS = ["gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com",
            "nhs.net", "icloud.com", "sky.com"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]

# Templates: {slot} is filled; slots name a kind (name, role_name, title_name, relation_name,
# phone, nhs, email, postcode, address, dob). Literal text around slots varies by family.
TUNING_TEMPLATES = [
    "Dr {surname} was very kind and explained everything.",
    "{title_name} explained my results clearly.",
    "The nurse, {given}, was lovely and made me feel at ease.",
    "nurse {given} was brilliant with my mum.",
    "My husband {given} was kept informed the whole time.",
    "Thank you to {given} {surname} for all the help.",
    "Thanks {given}! The care was great.",
    "{given} on reception was rude to me.",
    "Please call me back on {phone} as nobody has rung.",
    "My number is {phone}, I waited all day for a call.",
    "My NHS number is {nhs} but they had the wrong records.",
    "They kept asking for my NHS number ({nhs}) again and again.",
    "Email me at {email} with the results please.",
    "Send the letter to {email}, I never got it.",
    "I live at {address}, {postcode} and the ambulance went to the wrong house.",
    "My postcode is {postcode} but the driver could not find us.",
    "The transport picked me up from {address} an hour late.",
    "DOB {dob}. Still no appointment after six months.",
    "My date of birth is {dob} and it was wrong on the letter.",
    "{role} {given} listened to me and my {relation} {given2}.",
    "I saw {title_name} and then {given} the physio, both excellent.",
    "My {relation}, {given}, was treated with respect.",
    "Ask for {given}, she knows my case. Ring {phone}.",
    "Waited three hours at A&E. {title_name} was lovely though.",
]

HELD_OUT_TEMPLATES = [
    "Huge thanks to {role} {given} who stayed late to sort my medication.",
    "{given} {surname} (the {role}) went above and beyond for our family.",
    "Could someone contact me on {phone}? I have been waiting weeks.",
    "Ring {phone} or {phone2} if there are any changes please.",
    "The letter went to the wrong address, it should be {address}, {postcode}.",
    "We moved to {address} last year and the records were never updated.",
    "Please write to {email} rather than posting letters.",
    "I gave my email ({email}) twice and still heard nothing.",
    "NHS no. {nhs}. Nobody could find my referral.",
    "The receptionist read out my NHS number {nhs} in front of everyone.",
    "I was born on {dob} and the form said I was someone else.",
    "Patient d.o.b. {dob}, please update the system.",
    "Our daughter {given} was seen quickly by {title_name}.",
    "{title_name} and {title_name2} were both very professional.",
    "My {relation} {given} {surname} has dementia and staff were so patient with him.",
    "Speak to my {relation}, {given}, she manages my appointments.",
    "Special mention to {given} and {given2} on the ward.",
    "A big thank you to {title_name} at the clinic.",
    "{given} was the only one who actually listened.",
    "Postcode {postcode} is rural and the crew got lost.",
    "Pick up was from {address} in {postcode_town} but nobody came.",
    "She said her name was {given} and she would call back but never did.",
    "Seen by {title_name} who was running very late.",
    "I'm the carer for my {relation} {given} and I felt ignored.",
    "Please pass on my thanks to {given} {surname}, an amazing {role}.",
    "Date of birth: {dob}. Phone: {phone}.",
]

_KIND_OF_SLOT = {
    "given": NAME, "given2": NAME, "surname": NAME, "title_name": NAME, "title_name2": NAME,
    "phone": PHONE, "phone2": PHONE, "nhs": NHS_NUMBER, "email": EMAIL, "postcode": POSTCODE,
    "postcode_town": POSTCODE, "address": ADDRESS, "dob": DATE_OF_BIRTH,
}


@dataclass(frozen=True)
class LabelledComment:
    """A synthetic comment and the true spans of the personal details in it."""

    text: str
    spans: tuple[Span, ...]
    template: str


def _nhs_number(rng: random.Random, style: str) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        digits[0] = rng.choice([4, 6, 7, 9])
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
        check = 0 if check == 11 else check
        if check != 10:
            break
    s = "".join(map(str, digits + [check]))
    if style == "spaces":
        return f"{s[:3]} {s[3:6]} {s[6:]}"
    if style == "hyphens":
        return f"{s[:3]}-{s[3:6]}-{s[6:]}"
    return s


def _phone(rng: random.Random, family: str) -> str:
    n3 = f"{rng.randint(0, 999):03d}"
    n4 = f"{rng.randint(0, 999):03d}"
    if family == "tuning":
        return rng.choice([
            f"07700 900{n3}", f"07700900{n3}", f"0113 496 0{n3}", f"020 7946 0{n3}",
            f"+44 7700 900{n3}", f"(0191) 498 0{n3}",
        ])
    return rng.choice([
        f"07700-900-{n4}", f"+447700900{n3}", f"0044 7700 900 {n3}", f"0161 496 0{n3}",
        f"(0115) 496 0{n3}", f"0117 496 0{n3}", f"028 9649 6{n3}", f"01632 960{n3}",
    ])


def _postcode(rng: random.Random, lower: bool) -> str:
    area = rng.choice(_POSTCODE_AREAS)
    district = str(rng.randint(1, 29))
    inward = f"{rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    code = f"{area}{district} {inward}" if rng.random() < 0.85 else f"{area}{district}{inward}"
    return code.lower() if lower else code


def _address(rng: random.Random, family: str) -> str:
    number = str(rng.randint(1, 240)) + (rng.choice(["", "", "", "a", "b"]))
    street = f"{rng.choice(_STREETS)} {rng.choice(_STREET_TYPES)}"
    if family == "held_out" and rng.random() < 0.3:
        return f"Flat {rng.randint(1, 30)}, {number} {street}"
    return f"{number} {street}"


def _dob(rng: random.Random, family: str) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1930, 2005)
    if family == "tuning":
        return rng.choice([
            f"{day:02d}/{month:02d}/{year}", f"{day}/{month}/{year}",
            f"{day} {_MONTHS[month - 1]} {year}",
        ])
    suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd"}.get(day, "th")
    return rng.choice([
        f"{day:02d}.{month:02d}.{year}", f"{year}-{month:02d}-{day:02d}",
        f"{day}{suffix} {_MONTHS[month - 1]} {year}", f"{_MONTHS[month - 1][:3]} {day}, {year}",
        f"{day}-{month}-{str(year)[2:]}",
    ])


def _email(rng: random.Random, given: str, surname: str) -> str:
    clean = lambda s: re.sub(r"[^a-z]", "", s.lower().encode("ascii", "ignore").decode())  # noqa: E731
    local = rng.choice([
        f"{clean(given)}.{clean(surname)}", f"{clean(given)}{rng.randint(1, 99)}",
        f"{clean(given)[:1]}{clean(surname)}", f"{clean(surname)}_{rng.randint(1950, 2005)}",
    ]) or "someone"
    return f"{local}@{rng.choice(_DOMAINS)}"


def pii_comments(n: int, *, seed: int = 0, family: str = "tuning") -> list[LabelledComment]:
    """Generate ``n`` comments with known personal details.

    Parameters
    ----------
    n:
        How many comments to write.
    seed:
        Seed for the random choices (the same seed gives the same comments).
    family:
        ``"tuning"`` or ``"held_out"`` templates (see the module docstring).

    Returns
    -------
    list[LabelledComment]
        Each comment with the spans (start, end, kind) of every personal detail in it.
    """
    if family not in ("tuning", "held_out"):
        raise ValueError("family must be 'tuning' or 'held_out'")
    templates = TUNING_TEMPLATES if family == "tuning" else HELD_OUT_TEMPLATES
    rng = random.Random(f"{family}:{seed}")
    out = []
    for k in range(n):
        template = templates[k % len(templates)] if k < len(templates) else rng.choice(templates)
        given, given2 = rng.sample(GIVEN, 2)
        surname = rng.choice(SURNAMES)
        values = {
            "given": given, "given2": given2, "surname": surname,
            "title_name": f"{rng.choice(_TITLES)} {rng.choice(SURNAMES)}",
            "title_name2": f"{rng.choice(_TITLES)} {rng.choice(GIVEN)} {rng.choice(SURNAMES)}",
            "phone": _phone(rng, family), "phone2": _phone(rng, family),
            "nhs": _nhs_number(rng, rng.choice(["spaces", "plain", "hyphens"])),
            "email": _email(rng, given, surname),
            "postcode": _postcode(rng, lower=family == "held_out" and rng.random() < 0.25),
            "address": _address(rng, family),
            "dob": _dob(rng, family),
            "role": rng.choice(_ROLES), "relation": rng.choice(_RELATIONS),
        }
        town = rng.choice(["Sunderland", "Leeds", "Cardiff", "Hexham", "Bradford"])
        values["postcode_town"] = f"{town} {_postcode(rng, lower=False)}"
        text, spans = _fill(template, values)
        out.append(LabelledComment(text, tuple(spans), template))
    return out


def _fill(template: str, values: dict[str, str]) -> tuple[str, list[Span]]:
    text = ""
    spans: list[Span] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        text += literal
        if field is None:
            continue
        value = values[field]
        kind = _KIND_OF_SLOT.get(field)
        start = len(text)
        text += value
        if kind is None:
            continue
        if field.startswith("title_name"):
            # The title stays; only the name after it is personal.
            title = value.split(" ", 1)[0]
            start += len(title) + 1
        if field == "postcode_town":
            start += value.index(" ") + 1
        if spans and spans[-1].kind == kind == NAME and text[spans[-1].end:start] == " ":
            start = spans.pop().start  # "Priya Shah": one name, not two
        spans.append(Span(start, len(text), kind))
    return text, spans
