"""The administrator's pages: organisations, services, accounts, API tokens, audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from voices.core import audit
from voices.core import service as core
from voices.core.models import (Account, ApiToken, AuditEvent, OrganisationKind, Role,
                                ServiceType)
from voices.errors import VoicesError
from voices.web.access import ADMIN, get_db
from voices.web.forms import FormErrors, form_text
from voices.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

CRUMBS = [{"href": "/", "text": "Home"}, {"href": "/admin", "text": "Admin"}]


@router.get("")
def admin_home(request: Request, account: Account = Depends(ADMIN),
               db: Session = Depends(get_db)):
    tokens = db.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()
    audit.record(db, "account.list", actor=account, record_type="account",
                 summary="Viewed the list of accounts")
    db.commit()
    return render(request, "admin/index.html", {
        "organisations": core.list_organisations(db),
        "services": core.list_services(db),
        "accounts": core.list_accounts(db),
        "tokens": tokens,
        "crumbs": [{"href": "/", "text": "Home"}],
    })


def _options(kind, selected: str | None = None) -> list[dict]:
    return [{"value": m.value, "text": m.label, "selected": m.value == selected} for m in kind]


def _org_options(db: Session, selected: str | None, blank: str | None = None) -> list[dict]:
    items = [{"value": "", "text": blank}] if blank else []
    items += [{"value": str(o.id), "text": f"{o.name} ({o.ods_code})",
               "selected": str(o.id) == (selected or "")} for o in core.list_organisations(db)]
    return items


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() else None


# ------------------------------------------------------------------ organisations

@router.get("/organisations/new")
def new_organisation(request: Request, account: Account = Depends(ADMIN),
                     db: Session = Depends(get_db)):
    return render(request, "admin/organisation_form.html", {
        "kinds": _options(OrganisationKind), "parents": _org_options(db, None, "None"),
        "crumbs": CRUMBS})


@router.post("/organisations/new")
async def create_organisation(request: Request, account: Account = Depends(ADMIN),
                              db: Session = Depends(get_db)):
    form = await request.form()
    values = {k: form_text(form, k, 300) for k in ("ods_code", "name", "kind", "parent_id")}
    errors = FormErrors({"parent_ods": "parent_id"})
    parent = None
    if values["parent_id"]:
        parent_id = _int_or_none(values["parent_id"])
        parent_org = db.get(core.Organisation, parent_id) if parent_id else None
        if parent_org is None:
            errors.add("parent_id", "Choose a parent organisation from the list")
        else:
            parent = parent_org.ods_code
    if not errors:
        try:
            core.create_organisation(db, ods_code=values["ods_code"], name=values["name"],
                                     kind=values["kind"] or "other", parent_ods=parent,
                                     actor=account)
            db.commit()
            return RedirectResponse("/admin?done=organisation", status_code=303)
        except VoicesError as exc:
            db.rollback()
            errors.add_error(exc, "ods_code")
    return render(request, "admin/organisation_form.html", {
        "errors": errors, "values": values, "kinds": _options(OrganisationKind, values["kind"]),
        "parents": _org_options(db, values["parent_id"], "None"), "crumbs": CRUMBS},
        status_code=422)


# ----------------------------------------------------------------------- services

@router.get("/services/new")
def new_service(request: Request, account: Account = Depends(ADMIN),
                db: Session = Depends(get_db)):
    return render(request, "admin/service_form.html", {
        "types": _options(ServiceType), "organisations": _org_options(db, None, "Choose"),
        "crumbs": CRUMBS})


@router.post("/services/new")
async def create_service(request: Request, account: Account = Depends(ADMIN),
                         db: Session = Depends(get_db)):
    form = await request.form()
    values = {k: form_text(form, k, 300) for k in
              ("organisation_id", "name", "service_type", "treatment_function_code", "slug")}
    errors = FormErrors()
    org_id = _int_or_none(values["organisation_id"])
    if org_id is None:
        errors.add("organisation_id", "Choose the organisation that runs this service")
    else:
        try:
            core.create_service(db, organisation_id=org_id, name=values["name"],
                                service_type=values["service_type"] or "other",
                                treatment_function_code=values["treatment_function_code"],
                                slug=values["slug"] or None, actor=account)
            db.commit()
            return RedirectResponse("/admin?done=service", status_code=303)
        except VoicesError as exc:
            db.rollback()
            errors.add_error(exc, "name")
    return render(request, "admin/service_form.html", {
        "errors": errors, "values": values,
        "types": _options(ServiceType, values["service_type"]),
        "organisations": _org_options(db, values["organisation_id"], "Choose"),
        "crumbs": CRUMBS}, status_code=422)


# ----------------------------------------------------------------------- accounts

@router.get("/accounts/new")
def new_account(request: Request, account: Account = Depends(ADMIN),
                db: Session = Depends(get_db)):
    return render(request, "admin/account_form.html", {
        "roles": _options(Role), "organisations": _org_options(db, None, "None (whole system)"),
        "crumbs": CRUMBS})


@router.post("/accounts/new")
async def create_account(request: Request, account: Account = Depends(ADMIN),
                         db: Session = Depends(get_db)):
    form = await request.form()
    values = {k: form_text(form, k, 300) for k in ("email", "name", "role", "organisation_id")}
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    errors = FormErrors()
    try:
        core.create_account(db, email=values["email"], password=password,
                            role=values["role"] or "analyst", name=values["name"],
                            organisation_id=_int_or_none(values["organisation_id"]),
                            actor=account)
        db.commit()
        return RedirectResponse("/admin?done=account", status_code=303)
    except VoicesError as exc:
        db.rollback()
        errors.add_error(exc, "email")
    return render(request, "admin/account_form.html", {
        "errors": errors, "values": values, "roles": _options(Role, values["role"]),
        "organisations": _org_options(db, values["organisation_id"], "None (whole system)"),
        "crumbs": CRUMBS}, status_code=422)


# --------------------------------------------------------------------- API tokens

@router.post("/tokens/new")
async def create_token(request: Request, account: Account = Depends(ADMIN),
                       db: Session = Depends(get_db)):
    form = await request.form()
    name = form_text(form, "token_name", 200)
    owner_id = _int_or_none(form_text(form, "token_account", 20))
    owner = db.get(Account, owner_id) if owner_id else account
    errors = FormErrors({"name": "token_name"})
    if owner is None:
        errors.add("token_account", "Choose the account the token acts for")
    else:
        try:
            _, secret = core.create_api_token(db, owner, name, actor=account)
            db.commit()
            tokens = db.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()
            return render(request, "admin/index.html", {
                "organisations": core.list_organisations(db),
                "services": core.list_services(db), "accounts": core.list_accounts(db),
                "tokens": tokens, "new_token": secret,
                "crumbs": [{"href": "/", "text": "Home"}]})
        except VoicesError as exc:
            db.rollback()
            errors.add_error(exc, "token_name")
    tokens = db.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()
    return render(request, "admin/index.html", {
        "errors": errors, "organisations": core.list_organisations(db),
        "services": core.list_services(db), "accounts": core.list_accounts(db),
        "tokens": tokens, "crumbs": [{"href": "/", "text": "Home"}]}, status_code=422)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: int, account: Account = Depends(ADMIN),
                 db: Session = Depends(get_db)):
    core.revoke_api_token(db, token_id, account)
    db.commit()
    return RedirectResponse("/admin?done=token_revoked", status_code=303)


# ---------------------------------------------------------------------- audit log

@router.get("/audit")
def audit_log(request: Request, account: Account = Depends(ADMIN),
              db: Session = Depends(get_db)):
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(200)).all()
    return render(request, "admin/audit.html", {"events": events, "crumbs": CRUMBS})
