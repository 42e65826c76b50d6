"""The core JSON API under ``/api/v1``: who am I, organisations, services.

Areas add their own routers under ``/api/v1/<area>``. Errors are
``{"error": {"code": ..., "message": ..., "problems": [...]}}`` with a stable code.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from voices.core import service as core
from voices.core.models import Account
from voices.web.access import ADMIN, SIGNED_IN, STAFF, get_db, visible_organisations

router = APIRouter(prefix="/api/v1", tags=["core"])


class ErrorDetail(BaseModel):
    code: str
    message: str
    problems: list[dict] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 422, 429, 503)}


class Me(BaseModel):
    id: int
    email: str
    name: str
    role: str
    organisation: str | None = Field(None, description="ODS code of the account's organisation")


class OrganisationOut(BaseModel):
    id: int
    ods_code: str
    name: str
    kind: str
    parent_ods_code: str | None


class OrganisationIn(BaseModel):
    ods_code: str = Field(..., max_length=20)
    name: str = Field(..., max_length=300)
    kind: str = Field("trust", max_length=40)
    parent_ods_code: str | None = Field(None, max_length=20)


class ServiceOut(BaseModel):
    id: int
    slug: str
    name: str
    organisation_ods_code: str
    service_type: str
    treatment_function_code: str | None
    feedback_link: str


class ServiceIn(BaseModel):
    organisation_ods_code: str = Field(..., max_length=20)
    name: str = Field(..., max_length=300)
    service_type: str = Field("other", max_length=40)
    treatment_function_code: str | None = Field(None, max_length=10)
    slug: str | None = Field(None, max_length=100)


def _org_out(org) -> OrganisationOut:
    return OrganisationOut(id=org.id, ods_code=org.ods_code, name=org.name, kind=org.kind.value,
                           parent_ods_code=org.parent.ods_code if org.parent else None)


def _svc_out(svc) -> ServiceOut:
    return ServiceOut(id=svc.id, slug=svc.slug, name=svc.name,
                      organisation_ods_code=svc.organisation.ods_code,
                      service_type=svc.service_type.value,
                      treatment_function_code=svc.treatment_function_code,
                      feedback_link=f"/f/{svc.slug}")


@router.get("/me", response_model=Me, responses=ERRORS, summary="The signed-in account")
def me(account: Account = Depends(SIGNED_IN)) -> Me:
    return Me(id=account.id, email=account.email, name=account.name, role=account.role.value,
              organisation=account.organisation.ods_code if account.organisation else None)


@router.get("/organisations", response_model=list[OrganisationOut], responses=ERRORS,
            summary="Organisations you can see")
def organisations(account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    scope = visible_organisations(db, account)
    return [_org_out(o) for o in core.list_organisations(db) if scope is None or o.id in scope]


@router.post("/organisations", response_model=OrganisationOut, status_code=201,
             responses=ERRORS, summary="Add an organisation (administrators)")
def add_organisation(body: OrganisationIn, account: Account = Depends(ADMIN),
                     db: Session = Depends(get_db)):
    org = core.create_organisation(db, ods_code=body.ods_code, name=body.name, kind=body.kind,
                                   parent_ods=body.parent_ods_code, actor=account)
    db.commit()
    return _org_out(org)


@router.get("/services", response_model=list[ServiceOut], responses=ERRORS,
            summary="Services you can see")
def services(account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    return [_svc_out(s) for s in core.list_services(db, visible_organisations(db, account))]


@router.post("/services", response_model=ServiceOut, status_code=201, responses=ERRORS,
             summary="Add a service (administrators)")
def add_service(body: ServiceIn, account: Account = Depends(ADMIN),
                db: Session = Depends(get_db)):
    org = core.get_organisation(db, body.organisation_ods_code)
    svc = core.create_service(db, organisation_id=org.id, name=body.name,
                              service_type=body.service_type,
                              treatment_function_code=body.treatment_function_code,
                              slug=body.slug, actor=account)
    db.commit()
    return _svc_out(svc)
