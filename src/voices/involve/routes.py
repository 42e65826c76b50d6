"""Involve's pages (``/involve/…``) and JSON API (``/api/v1/involve/…``).

The pages live in :mod:`pages_partner` (joining, the partner's own profile, opportunities
for partners) and :mod:`pages_lead` (community, make-up, opportunities, log, library);
panels in :mod:`pages_panels`. Each route has exactly one access rule.
"""

from __future__ import annotations

import datetime as dt
import importlib

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from voices.core import audit
from voices.core.models import Account, Role
from voices.errors import NotFound
from voices.involve import community as community_logic
from voices.involve import pages_lead, pages_partner
from voices.involve import service as involve
from voices.web.access import LEADS, PARTNERS, SIGNED_IN, get_db, visible_organisations
from voices.web.api import ERRORS

router = APIRouter(prefix="/involve", include_in_schema=False)
router.add_api_route("", pages_lead.landing, methods=["GET"])
router.include_router(pages_partner.router)
router.include_router(pages_lead.router)
try:  # the panels pages need the sortition engine
    pages_panels = importlib.import_module("voices.involve.pages_panels")
except ModuleNotFoundError as exc:  # pragma: no cover - until the engine has landed
    if exc.name != "voices.involve.pages_panels":
        raise
    pages_panels = None
if pages_panels is not None:
    router.include_router(pages_panels.router)

api_router = APIRouter(prefix="/api/v1/involve", tags=["involve"])


class OpportunityOut(BaseModel):
    id: int
    organisation_ods_code: str
    project: str
    role: str
    description: str
    time_needed: str
    hours_per_month: float | None
    formats: list[str]
    times: list[str]
    payment_level: str
    closing_date: dt.date
    status: str


class ReasonOut(BaseModel):
    criterion: str
    good: bool | None = Field(None, description="True counts for, False against, null a note")
    text: str


class RankedOut(BaseModel):
    interest_id: int
    partner_reference: str
    name: str
    rank: int | None = Field(None, description="null when the partner has not agreed to "
                                               "matching")
    score: float | None
    status: str
    reasons: list[ReasonOut]


class GroupOut(BaseModel):
    group: str
    label: str
    partners: int | str = Field(..., description="Rounded to 5, or '*' when hidden")
    community_percent: float | None
    population_percent: float | None
    under_represented: bool


class DimensionOut(BaseModel):
    dimension: str
    label: str
    groups: list[GroupOut]
    not_answered: int | str


class MakeupOut(BaseModel):
    population_source: str
    dimensions: list[DimensionOut]


def _opportunity_out(o) -> OpportunityOut:
    return OpportunityOut(
        id=o.id, organisation_ods_code=o.organisation.ods_code, project=o.project,
        role=o.role, description=o.description, time_needed=o.time_needed,
        hours_per_month=o.hours_per_month, formats=list(o.formats), times=list(o.times),
        payment_level=o.payment_level, closing_date=o.closing_date, status=o.status)


@api_router.get("/opportunities", response_model=list[OpportunityOut], responses=ERRORS)
def api_opportunities(account: Account = Depends(SIGNED_IN), db: Session = Depends(get_db)):
    """Opportunities: open ones in a partner's community, or all those in a lead's
    organisations."""
    if account.role is Role.partner:
        partner = involve.partner_for_account(db, account)
        if partner is None:
            return []
        items = involve.list_opportunities(db, involve.partner_scope(db, partner),
                                           open_only=True)
    else:
        items = involve.list_opportunities(db, visible_organisations(db, account))
    return [_opportunity_out(o) for o in items]


@api_router.get("/opportunities/{opportunity_id}/interest", response_model=list[RankedOut],
                responses=ERRORS)
def api_ranked_interest(opportunity_id: int, account: Account = Depends(LEADS),
                        db: Session = Depends(get_db)):
    """The partners interested in an opportunity, ranked, with the reasons for each rank."""
    if not 0 < opportunity_id < 2**31:
        raise NotFound("We could not find that opportunity.")
    opportunity = involve.get_opportunity(db, opportunity_id, visible_organisations(db, account))
    ranked = involve.ranked_interest(db, opportunity, actor=account)
    db.commit()
    return [RankedOut(interest_id=r.interest.id, partner_reference=r.interest.partner.reference,
                      name=r.interest.partner.name, rank=r.rank, score=r.match.score,
                      status=r.interest.status,
                      reasons=[ReasonOut(criterion=x.criterion, good=x.good, text=x.text)
                               for x in r.match.reasons]) for r in ranked]


@api_router.get("/community/makeup", response_model=MakeupOut, responses=ERRORS)
def api_makeup(account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    """The community's make-up beside the population, after disclosure control."""
    population, _ = involve.population_for(db, account.organisation)
    counts = involve.community_counts(db, visible_organisations(db, account))
    rows = community_logic.makeup(counts, population, disclosed=True)
    audit.record(db, "community.makeup_export", actor=account, record_type="organisation",
                 record_id=account.organisation_id, organisation_id=account.organisation_id,
                 summary="Read the community's make-up through the API")
    db.commit()

    def pct(share):
        return None if share is None else round(100 * share, 1)

    return MakeupOut(population_source=population.source, dimensions=[DimensionOut(
        dimension=d.dimension, label=d.label, not_answered=d.not_answered,
        groups=[GroupOut(group=r.code, label=r.label, partners=r.count,
                         community_percent=pct(r.community_share),
                         population_percent=pct(r.population_share),
                         under_represented=r.under_represented) for r in d.rows])
        for d in rows])


@api_router.get("/me", responses=ERRORS)
def api_me(account: Account = Depends(PARTNERS), db: Session = Depends(get_db)) -> dict:
    """Everything Voices holds about the signed-in partner."""
    partner = involve.partner_for_account(db, account)
    if partner is None:
        raise NotFound("There is no partner profile for this account.")
    document = involve.export_partner(db, partner, actor=account)
    db.commit()
    return document
