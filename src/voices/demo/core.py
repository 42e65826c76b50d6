"""The demo's integrated care board, trusts, services and accounts."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from voices.core import service as core
from voices.core.models import Account, Organisation, Service

DEMO_PASSWORD = "harbour-lantern-meadow"
AREAS = ("listen", "measure", "access", "involve", "codesign")

ICB = ("QZ9", "NHS Northshire and Coast Integrated Care Board", "icb")
TRUSTS = [
    ("RZ1", "Northshire Teaching Hospitals NHS Foundation Trust", "trust"),
    ("RZ2", "Rivermouth and District Hospitals NHS Trust", "trust"),
    ("RZ3", "Coastline Community and Mental Health NHS Trust", "trust"),
]

# (trust ODS, service name, service type, treatment function code)
SERVICES = [
    ("RZ1", "Emergency Department", "emergency", None),
    ("RZ1", "Ward 7 – Orthopaedic Surgery", "inpatient", "110"),
    ("RZ1", "Trauma and Orthopaedics Outpatients", "outpatient", "110"),
    ("RZ1", "Ophthalmology Clinic", "outpatient", "130"),
    ("RZ1", "Cardiology Outpatients", "outpatient", "320"),
    ("RZ1", "General Surgery Day Unit", "inpatient", "100"),
    ("RZ1", "Maternity – Birth Centre", "maternity", "501"),
    ("RZ1", "Children's Ward", "inpatient", "420"),
    ("RZ1", "Dermatology Outpatients", "outpatient", "330"),
    ("RZ1", "Ear, Nose and Throat Clinic", "outpatient", "120"),
    ("RZ1", "Elderly Care – Ward 12", "inpatient", "430"),
    ("RZ2", "Urgent Treatment Centre", "emergency", None),
    ("RZ2", "Gynaecology Outpatients", "outpatient", "502"),
    ("RZ2", "Urology Outpatients", "outpatient", "101"),
    ("RZ2", "Ward 3 – General Medicine", "inpatient", "300"),
    ("RZ2", "Gastroenterology and Endoscopy", "outpatient", "301"),
    ("RZ2", "Respiratory Medicine Clinic", "outpatient", "340"),
    ("RZ2", "Rheumatology Clinic", "outpatient", "410"),
    ("RZ2", "Maternity – Labour Ward", "maternity", "501"),
    ("RZ2", "Oral Surgery", "outpatient", "140"),
    ("RZ2", "Trauma and Orthopaedics – Rivermouth", "outpatient", "110"),
    ("RZ3", "Community Nursing – East", "community", None),
    ("RZ3", "Community Nursing – West", "community", None),
    ("RZ3", "Adult Community Mental Health Team", "mental_health", "710"),
    ("RZ3", "Talking Therapies", "mental_health", None),
    ("RZ3", "Crisis Resolution and Home Treatment", "mental_health", "710"),
    ("RZ3", "Podiatry", "community", None),
    ("RZ3", "Speech and Language Therapy", "community", None),
    ("RZ3", "Wheelchair Service", "community", None),
    ("RZ3", "Learning Disability Health Team", "community", None),
]

# (email, role, organisation ODS or None, name)
ACCOUNTS = [
    ("admin@voices.example", "admin", None, "Alex Admin"),
    ("analyst@voices.example", "analyst", "QZ9", "Sam Analyst"),
    ("trust.analyst@voices.example", "analyst", "RZ1", "Jordan Trust-Analyst"),
    ("lead@voices.example", "involvement_lead", "QZ9", "Priya Involvement-Lead"),
    ("partner@voices.example", "partner", None, "Morgan Partner"),
]


@dataclass
class DemoContext:
    """What an area's demo loader gets: the seed and the core records to hang data on."""

    seed: int
    icb: Organisation
    trusts: list[Organisation]
    services: list[Service]
    accounts: dict[str, Account]
    progress: Callable[[str], None] = field(default=lambda message: None)


def _organisation(db: Session, code: str, name: str, kind: str, parent: str | None):
    org = db.scalar(select(Organisation).where(Organisation.ods_code == code))
    return org or core.create_organisation(db, ods_code=code, name=name, kind=kind,
                                           parent_ods=parent)


def load(db: Session, *, seed: int = 2026, areas: tuple[str, ...] = AREAS,
         progress: Callable[[str], None] | None = None) -> DemoContext:
    """Load the demo data (idempotent). Commits after each area so a failure in one area
    leaves the others in place; each area's loader is itself all-or-nothing."""
    say = progress or (lambda message: None)
    say("core: organisations, services and accounts")
    icb = _organisation(db, *ICB, None)
    trusts = [_organisation(db, code, name, kind, ICB[0]) for code, name, kind in TRUSTS]
    by_code = {t.ods_code: t for t in trusts}
    services = []
    for code, name, kind, tfc in SERVICES:
        org = by_code[code]
        svc = db.scalar(select(Service).where(Service.organisation_id == org.id,
                                              Service.name == name))
        services.append(svc or core.create_service(db, organisation_id=org.id, name=name,
                                                   service_type=kind,
                                                   treatment_function_code=tfc))
    accounts = {}
    for email, role, org_code, name in ACCOUNTS:
        account = db.scalar(select(Account).where(Account.email == email))
        if account is None:
            org_id = (icb if org_code == ICB[0] else by_code.get(org_code)) if org_code else None
            account = core.create_account(db, email=email, password=DEMO_PASSWORD, role=role,
                                          name=name, organisation_id=org_id.id if org_id else None)
        accounts[role if role not in accounts else f"{role}:{org_code}"] = account
    db.commit()
    context = DemoContext(seed, icb, trusts, services, accounts, say)
    for area in areas:
        try:
            module = importlib.import_module(f"voices.{area}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"voices.{area}.demo":
                raise
            continue
        say(f"{area}")
        module.load_demo(db, context)
        db.commit()
    return context
