"""Demo data for involve: a community of about 600 partners for the demo integrated care
board, with the self-selection bias real communities have (younger people and people from
the most deprived neighbourhoods join less often), a few opportunities with interest,
involvement log entries, practice-library entries, and the population the community is
compared with (synthetic figures for the fictional area, labelled as such).

Everyone here is invented. Deterministic from the demo seed; running it twice adds nothing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select

from voices.core.models import Account, Role
from voices.core.passwords import hash_password
from voices.db import utcnow
from voices.involve import consent as consent_logic
from voices.involve import questions
from voices.involve.models import (
    Consent,
    Interest,
    LibraryEntry,
    LibraryOrganisation,
    LibraryPerson,
    LogEntry,
    Notification,
    Opportunity,
    Partner,
    PopulationShares,
)
from voices.involve.payments import involvement_payment, read_policy

COMMUNITY_SIZE = 600
POPULATION_SOURCE = ("Synthetic figures for the fictional Northshire and Coast area, made up "
                     "for the Voices demo (not real data)")
# Adults in the fictional area (shares of each dimension add up to 1).
POPULATION = {
    "age_band": {"18-24": 0.11, "25-34": 0.16, "35-44": 0.16, "45-54": 0.16, "55-64": 0.16,
                 "65-74": 0.13, "75-84": 0.09, "85+": 0.03},
    "sex": {"2": 0.51, "1": 0.49},
    "ethnic_group": {"white": 0.84, "asian": 0.08, "black": 0.03, "mixed": 0.03,
                     "other": 0.02},
    "disability": {"yes": 0.19, "no": 0.81},
    "carer": {"yes": 0.10, "no": 0.90},
    "imd_quintile": {"1": 0.26, "2": 0.22, "3": 0.19, "4": 0.17, "5": 0.16},
}
# How much more (or less) likely than average each group is to join: the self-selection
# seen in involvement schemes, where older, better-off people are over-represented.
JOIN_WEIGHT = {
    "age_band": {"18-24": 0.25, "25-34": 0.45, "35-44": 0.75, "45-54": 1.0, "55-64": 1.45,
                 "65-74": 1.7, "75-84": 1.2, "85+": 0.5},
    "imd_quintile": {"1": 0.4, "2": 0.7, "3": 1.0, "4": 1.25, "5": 1.45},
}
ETHNIC_CATEGORIES = {"white": ["A", "A", "A", "A", "B", "C"], "asian": ["H", "J", "K", "L"],
                     "black": ["M", "N", "P"], "mixed": ["D", "E", "F", "G"],
                     "other": ["R", "S"]}
FIRST = ["Aisha", "Alex", "Amir", "Ana", "Ben", "Bev", "Carys", "Chen", "Dan", "Dee", "Eli", "Esther", "Farah", "Fred", "Gemma", "Grace", "Hana", "Harry", "Ifeoma", "Ian", "Jade", "Jon", "Kai", "Kate", "Leon", "Lily", "Malik", "Maria", "Nadia", "Ned", "Olu", "Owen", "Priya", "Pete", "Quinn", "Rosa", "Sam", "Sana", "Tom", "Uma", "Vic", "Wendy", "Yusuf", "Zoe"]
LAST = ["Abbott", "Ahmed", "Baker", "Begum", "Campbell", "Chowdhury", "Davies", "Dixon", "Evans", "Fisher", "Green", "Hall", "Hussain", "Iqbal", "Jones", "Khan", "Lewis", "Martin", "Mensah", "Nowak", "Okafor", "Patel", "Quinn", "Rahman", "Roberts", "Singh", "Taylor", "Turner", "Usman", "Walker", "Ward", "Wilson", "Wright", "Young"]
AREAS = ["NS1", "NS2", "NS3", "NS4", "NS5", "NS6", "NS7", "NS8", "CS1", "CS2", "CS3", "CS4"]

OPPORTUNITIES = [
    dict(key="check", org="QZ9", project="Planned care recovery programme",
         role="Member of the Check and Challenge group",
         description="The Check and Challenge group looks at the programme's plans and "
                     "progress every month and asks: will this work for patients, and is it "
                     "fair to everyone waiting?\n\nYou will read short papers before each "
                     "meeting. We will support you to take part.",
         time_needed="3 hours a month for 12 months", hours=3.0,
         formats=["in_person", "online"], venue=["step_free", "accessible_toilet",
                                                  "hearing_loop", "public_transport"],
         times=["weekday_afternoon", "weekday_evening"], conditions=["muscles_joints", "heart"],
         services=["outpatient", "inpatient"], carers=True, topics=["waiting", "fairness"],
         level="level_4", closes=45, interest=90),
    dict(key="diabetes", org="RZ1", project="Diabetes clinic redesign",
         role="Workshop participant",
         description="A one-off workshop to redesign how the diabetes clinic books and runs "
                     "appointments.", time_needed="One afternoon (3 hours)", hours=3.0,
         formats=["in_person"], venue=["step_free", "accessible_toilet", "parking"],
         times=["weekday_afternoon"], conditions=["diabetes", "kidney", "sight_hearing"],
         services=["outpatient", "gp"], carers=False, topics=["gp_community", "information"],
         level="level_2", closes=20, interest=40),
    dict(key="maternity", org="RZ2", project="Maternity information review",
         role="Reader for maternity leaflets",
         description="Read draft leaflets for new parents at home and tell us what is not "
                     "clear.", time_needed="About 2 hours a month, in your own time",
         hours=2.0, formats=["email", "paper"], venue=[], times=[],
         conditions=["pregnancy_birth"], services=["maternity"], carers=False,
         topics=["maternity", "information"], level="level_3", closes=60, interest=35),
    dict(key="crisis", org="RZ3", project="Mental health crisis line review",
         role="Focus group member",
         description="Two online focus groups about the crisis line: what helped, and what "
                     "did not.", time_needed="Two 90-minute sessions", hours=1.5,
         formats=["online", "phone"], venue=[], times=["weekday_evening", "weekend"],
         conditions=["mental_health"], services=["mental_health"], carers=True,
         topics=["mental_health"], level="level_2", closes=-30, interest=30),
]

LIBRARY = [
    dict(kind="case_study", org="RZ3", title="A carers' café that shaped discharge planning",
         summary="Carers met monthly over tea with ward staff. Three changes to how families "
                 "are told about discharge came straight from those conversations.",
         body="The café started small: a room, tea, and two ward managers who came to "
              "listen.\n\nWithin six months carers had co-written a discharge checklist that "
              "is now used on every ward.",
         topics=["leaving_hospital", "fairness"], settings=["hospital", "community"],
         populations=["carers", "older_people"], involved=["RZ1"], credit=True),
    dict(kind="method", org="QZ9", title="Paying partners fairly and quickly",
         summary="How the ICB pays partners within two weeks, following NHS England's levels, "
                 "and checks that payments do not affect benefits.",
         body="Agree the level before the work starts.\n\nLog time the same day, and export "
              "the log to finance every fortnight.",
         topics=["fairness"], settings=["system"], populations=["deprived_areas"],
         involved=[], credit=False),
    dict(kind="case_study", org="RZ2", title="Young people redesign the outpatient letter",
         summary="Six young people rewrote the outpatient appointment letter; missed "
                 "appointments among 18 to 24 year olds fell.",
         body="We met in a youth centre, not the hospital, and paid for everyone's time.",
         topics=["information", "children"], settings=["hospital"],
         populations=["young_people"], involved=["QZ9"], credit=True),
    dict(kind="resource", org="QZ9", title="Easy read template for involvement papers",
         summary="A short template for writing meeting papers that everyone can read, with "
                 "examples.", body="", topics=["information"], settings=["system"],
         populations=["learning_disability", "language"], involved=[], credit=False),
]


def _pick(rng: np.random.Generator, shares: dict[str, float]) -> str:
    codes = list(shares)
    p = np.array([shares[c] for c in codes], dtype=float)
    return codes[int(rng.choice(len(codes), p=p / p.sum()))]


def _sample(rng: np.random.Generator, options: list[str], mean: float, low: int = 0) -> list:
    count = min(len(options), max(low, int(rng.poisson(mean))))
    chosen = set(rng.choice(len(options), size=count, replace=False).tolist()) if count else set()
    return [o for i, o in enumerate(options) if i in chosen]


def _person(rng: np.random.Generator) -> dict:
    """Draw someone from the area's population, keeping them only as often as people
    like them join (rejection sampling on the join weights)."""
    top = max(JOIN_WEIGHT["age_band"].values()) * max(JOIN_WEIGHT["imd_quintile"].values())
    while True:
        person = {d: _pick(rng, shares) for d, shares in POPULATION.items()}
        weight = JOIN_WEIGHT["age_band"][person["age_band"]] * \
            JOIN_WEIGHT["imd_quintile"][person["imd_quintile"]]
        if person["disability"] == "yes":
            weight *= 1.3          # people with long-term conditions join more often
        if rng.random() < weight / (top * 1.3):
            return person


def _profile(rng: np.random.Generator, person: dict) -> dict:
    older = person["age_band"] in ("65-74", "75-84", "85+")
    conditions = _sample(rng, list(questions.CONDITIONS), 1.6 if person["disability"] == "yes"
                         else 0.8)
    if person["age_band"] in ("25-34", "35-44") and rng.random() < 0.25:
        conditions = sorted(set(conditions) | {"pregnancy_birth"},
                            key=list(questions.CONDITIONS).index)
    formats = _sample(rng, list(questions.FORMATS), 2.0, low=1)
    if older and "online" in formats and rng.random() < 0.4:
        formats = [f for f in formats if f != "online"] or ["phone"]
    caring = "none"
    if person["carer"] == "yes":
        caring = str(rng.choice(["child", "adult", "older", "several"]))
    return {
        "contact_method": str(rng.choice(["email", "email", "email", "phone", "text", "post"])),
        "conditions": conditions,
        "services_used": _sample(rng, list(questions.SERVICES_USED), 2.5, low=1),
        "caring_role": caring,
        "interests": _sample(rng, list(questions.INTERESTS), 2.5, low=1),
        "formats": formats,
        "venue_needs": _sample(rng, list(questions.VENUE_NEEDS), 1.2 if person["disability"]
                               == "yes" or older else 0.3) if "in_person" in formats else [],
        "times": _sample(rng, list(questions.TIMES), 1.8, low=1),
        "availability": _pick(rng, {"one_off": 0.25, "up_to_2": 0.3, "2_to_5": 0.25,
                                    "5_to_10": 0.13, "more_than_10": 0.07}),
        "adjustments": "I need papers a week before meetings." if rng.random() < 0.06 else "",
    }


def _equality(rng: np.random.Generator, person: dict) -> dict:
    def maybe(value: str) -> str:
        return questions.PREFER_NOT if rng.random() < 0.04 else value

    quintile = int(person["imd_quintile"])
    return {
        "age_band": maybe(person["age_band"]), "sex": maybe(person["sex"]),
        "ethnic_category": maybe(str(rng.choice(ETHNIC_CATEGORIES[person["ethnic_group"]]))),
        "disability": maybe(person["disability"]), "carer": maybe(person["carer"]),
        "area": str(rng.choice(AREAS)), "imd_decile": 2 * quintile - int(rng.integers(0, 2)),
    }


def _add_partner(db, rng, account: Account, organisation_id: int, name: str, joined: dt.datetime,
                 profile: dict, equality: dict | None, consents: dict[str, bool]) -> Partner:
    partner = Partner(account_id=account.id, organisation_id=organisation_id, name=name,
                      joined_at=joined, updated_at=joined, **profile)
    if profile["contact_method"] in ("phone", "text"):
        partner.phone = f"07700900{int(rng.integers(0, 1000)):03d}"   # Ofcom drama range
    if profile["contact_method"] == "post":
        partner.postal_address = f"{int(rng.integers(1, 200))} Demo Street, Northshire"
    if equality is not None:
        for key, value in equality.items():
            setattr(partner, key, value)
        partner.postcode_district = equality["area"]
    db.add(partner)
    db.flush()
    for purpose, given in consents.items():
        db.add(Consent(partner_id=partner.id, purpose=purpose, given=given, at=joined,
                       wording_version=consent_logic.WORDINGS[purpose].version))
    return partner


def synthetic_partners(db, rng: np.random.Generator, organisation_id: int, count: int, *,
                       now: dt.datetime) -> list[Partner]:
    """``count`` invented partners (with accounts) joining ``organisation_id``'s community,
    as often as people like them join: younger and more deprived people less often. Used
    by the demo and by ``benchmarks/involve.py``."""
    password_hash = hash_password("harbour-lantern-meadow")   # one hash for every one
    names = sorted({f"{f} {s}" for f in FIRST for s in LAST})
    chosen_names = [names[i] for i in rng.choice(len(names), size=count,
                                                 replace=count > len(names))]
    partners: list[Partner] = []
    for index, name in enumerate(chosen_names, start=1):
        person = _person(rng)
        equality_given = rng.random() < 0.82
        consents = {"contact": bool(rng.random() < 0.95), "matching": bool(rng.random() < 0.9),
                    "equality": bool(equality_given)}
        joined = now - dt.timedelta(days=int(rng.integers(1, 730)),
                                    minutes=int(rng.integers(0, 1440)))
        account = Account(email=f"partner{index:04d}@demo.voices.example", name=name,
                          password_hash=password_hash, role=Role.partner, created_at=joined)
        db.add(account)
        db.flush()
        partners.append(_add_partner(
            db, rng, account, organisation_id, name, joined, _profile(rng, person),
            _equality(rng, person) if equality_given else None, consents))
    return partners


def load_demo(db, context) -> None:
    """Add the involve demo data (nothing if it is already there)."""
    partner_account = context.accounts.get("partner")
    if partner_account is None or db.scalar(select(Partner.id).where(
            Partner.account_id == partner_account.id)) is not None:
        return
    rng = np.random.default_rng(context.seed + 6)
    icb = context.icb
    orgs = {o.ods_code: o for o in [icb, *context.trusts]}
    now = utcnow().replace(microsecond=0)
    today = now.date()
    context.progress("involve: population figures and partner community")
    db.add(PopulationShares(organisation_id=icb.id, source=POPULATION_SOURCE,
                            shares=POPULATION, uploaded_at=now))
    partners = synthetic_partners(db, rng, icb.id, COMMUNITY_SIZE, now=now)
    # the demo partner who signs in: a full profile, every consent given
    me = _add_partner(db, rng, partner_account, icb.id, partner_account.name or "Morgan Partner",
                      now - dt.timedelta(days=200), {
                          "contact_method": "email", "conditions": ["muscles_joints", "heart"],
                          "services_used": ["gp", "outpatient", "inpatient"],
                          "caring_role": "older", "interests": ["waiting", "fairness"],
                          "formats": ["in_person", "online"], "venue_needs": ["step_free"],
                          "times": ["weekday_afternoon", "weekday_evening"],
                          "availability": "2_to_5", "adjustments": ""},
                      {"age_band": "55-64", "sex": "2", "ethnic_category": "A",
                       "disability": "yes", "carer": "yes", "area": "NS3", "imd_decile": 4},
                      {"contact": True, "matching": True, "equality": True})
    partners.append(me)

    context.progress("involve: opportunities, interest and the involvement log")
    policy = read_policy()
    made: dict[str, Opportunity] = {}
    for spec in OPPORTUNITIES:
        closes = today + dt.timedelta(days=spec["closes"])
        made[spec["key"]] = Opportunity(
            organisation_id=orgs[spec["org"]].id, project=spec["project"], role=spec["role"],
            description=spec["description"], time_needed=spec["time_needed"],
            hours_per_month=spec["hours"], formats=spec["formats"],
            venue_provides=spec["venue"], times=spec["times"], conditions=spec["conditions"],
            services=spec["services"], carers=spec["carers"], topics=spec["topics"],
            payment_level=spec["level"], closing_date=closes,
            status="open" if spec["closes"] >= 0 else "closed",
            created_by=context.accounts["involvement_lead"].id,
            created_at=now - dt.timedelta(days=40))
        db.add(made[spec["key"]])
    db.flush()
    for spec in OPPORTUNITIES:
        opportunity = made[spec["key"]]
        fits = np.array([1.0 + 2.0 * len(set(p.conditions) & set(spec["conditions"])) +
                         (1.0 if set(p.interests) & set(spec["topics"]) else 0.0)
                         for p in partners[:-1]])
        picks = rng.choice(len(fits), size=spec["interest"], replace=False, p=fits / fits.sum())
        for rank, i in enumerate(sorted(picks.tolist())):
            status = "interested"
            if spec["closes"] < 0:
                status = "took_part" if rank % 3 else "interested"
            db.add(Interest(opportunity_id=opportunity.id, partner_id=partners[i].id,
                            status=status, note="", created_at=opportunity.created_at +
                            dt.timedelta(days=int(rng.integers(0, 30)))))
    db.add(Interest(opportunity_id=made["check"].id, partner_id=me.id, status="interested",
                    note="I have waited a long time for a hip operation and I care for my mum.",
                    created_at=now - dt.timedelta(days=3)))
    db.flush()
    # the log: the crisis-line focus groups (done) and a year of an earlier programme
    lead = context.accounts["involvement_lead"]
    crisis = made["crisis"]
    for interest in db.scalars(select(Interest).where(Interest.opportunity_id == crisis.id,
                                                      Interest.status == "took_part")):
        for session in range(2):
            level = policy.get(crisis.payment_level)
            db.add(LogEntry(organisation_id=crisis.organisation_id, opportunity_id=crisis.id,
                            partner_id=interest.partner_id, project=crisis.project,
                            activity=f"Focus group {session + 1}",
                            activity_date=today - dt.timedelta(days=20 - 7 * session),
                            hours=1.5, payment_level=level.code,
                            payment_pence=involvement_payment(level, 1.5),
                            expenses_pence=int(rng.choice([0, 0, 450, 680])),
                            expenses_note="", created_by=lead.id))
    level4 = policy.get("level_4")
    board = [partners[i] for i in rng.choice(len(partners) - 1, size=8, replace=False)] + [me]
    for month in range(1, 7):
        for partner in board:
            hours = float(rng.choice([2.5, 3.0, 3.0, 5.0]))
            db.add(LogEntry(organisation_id=icb.id, partner_id=partner.id,
                            project="Urgent care strategy (2025)",
                            activity="Check and Challenge meeting",
                            activity_date=today - dt.timedelta(days=30 * month + 60),
                            hours=hours, payment_level=level4.code,
                            payment_pence=involvement_payment(level4, hours),
                            expenses_pence=int(rng.choice([0, 520, 760, 1240])),
                            expenses_note="Travel" if rng.random() < 0.5 else "",
                            created_by=lead.id))
    db.add(Notification(account_id=partner_account.id, created_at=now - dt.timedelta(days=2),
                        text="A new opportunity may suit you: Member of the Check and "
                             "Challenge group.", link=f"/involve/opportunities/{made['check'].id}"))

    context.progress("involve: a Check and Challenge panel chosen by lottery")
    _panel(db, made["check"], lead)

    context.progress("involve: practice library")
    for spec in LIBRARY:
        entry = LibraryEntry(organisation_id=orgs[spec["org"]].id, kind=spec["kind"],
                             title=spec["title"], summary=spec["summary"], body=spec["body"],
                             link="", topics=spec["topics"], settings=spec["settings"],
                             populations=spec["populations"], created_by=lead.id,
                             created_at=now - dt.timedelta(days=int(rng.integers(5, 300))))
        db.add(entry)
        db.flush()
        for code in spec["involved"]:
            db.add(LibraryOrganisation(entry_id=entry.id, organisation_id=orgs[code].id))
        if spec["credit"]:
            db.add(LibraryPerson(entry_id=entry.id, partner_id=partners[int(rng.integers(
                0, len(partners) - 1))].id, contribution="Co-designed the work",
                consent="given", answered_at=now))
    db.flush()


PANEL_SEED_SOURCE = ("Demo only: the phrase 'Voices demo draw', standing in for the Lotto "
                     "numbers on a stated date")


def _panel(db, opportunity: Opportunity, lead: Account) -> None:
    """A Check and Challenge group of 12 from the partners interested in the opportunity,
    reflecting age, sex and deprivation, chosen by LEXIMIN, published and drawn."""
    from voices.involve import panel_service

    panel = panel_service.create_from_opportunity(
        db, opportunity, name="Check and Challenge group 2027", k=12,
        features=["age_band", "sex", "imd_quintile"], actor=lead)
    panel_service.run_selection(db, panel.id)
    panel_service.publish(db, panel, PANEL_SEED_SOURCE, actor=lead)
    panel_service.draw(db, panel, "Voices demo draw", actor=lead)
