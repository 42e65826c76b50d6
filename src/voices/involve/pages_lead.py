"""Pages for involvement leads: the community (with filters), its make-up beside the
population, opportunities and the ranked interest in them, the involvement log and its
finance export, and the practice library (which every signed-in person can read)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voices.core import audit
from voices.core import service as core
from voices.core.models import Account, Organisation, Role
from voices.errors import NotFound, ValidationError, VoicesError
from voices.involve import community as community_logic
from voices.involve import figures, questions
from voices.involve import library as library_logic
from voices.involve import service as involve
from voices.involve.models import Interest, Opportunity, Partner
from voices.involve.opportunities import (
    parse_library_entry,
    parse_log_entry,
    parse_opportunity,
    parse_period,
)
from voices.involve.pages_partner import LABELS
from voices.involve.paging import page_of
from voices.involve.payments import finance_csv, finance_xlsx, money
from voices.web.access import LEADS, SIGNED_IN, check_organisation, get_db, visible_organisations
from voices.web.forms import FormErrors, form_text
from voices.web.templating import render

router = APIRouter()

HOME = [{"href": "/", "text": "Home"}]
INVOLVE = HOME + [{"href": "/involve", "text": "Involve"}]
MANAGE = INVOLVE + [{"href": "/involve/manage", "text": "Opportunities"}]
LOG = INVOLVE + [{"href": "/involve/log", "text": "Involvement log"}]
LIBRARY = INVOLVE + [{"href": "/involve/library", "text": "Practice library"}]
COMMUNITY = INVOLVE + [{"href": "/involve/community", "text": "Community"}]
COMMUNITY_PER_PAGE = 100       # partners on each page of the community
INTEREST_PER_PAGE = 25         # interested partners on each page of an opportunity
LOG_PEOPLE_PER_PAGE = 50       # partners on each page of the log's totals by partner


def _short():
    """A short optional query parameter (a fresh one per parameter: FastAPI binds each)."""
    return Query(None, max_length=60)


def _form_lists(form) -> dict[str, list[str]]:
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form.keys()}


def _scope(db: Session, account: Account) -> set[int] | None:
    return visible_organisations(db, account)


def _organisations(db: Session, account: Account) -> list[Organisation]:
    scope = _scope(db, account)
    return [o for o in core.list_organisations(db) if scope is None or o.id in scope]


def _org_items(db: Session, account: Account, selected: int | None) -> list[dict]:
    chosen = selected or account.organisation_id
    return [{"value": str(o.id), "text": f"{o.name} ({o.ods_code})",
             "selected": o.id == chosen} for o in _organisations(db, account)]


def _chosen_org(db: Session, account: Account, text: str) -> int:
    org_id = int(text) if text.isdigit() else account.organisation_id
    if org_id is None:
        raise ValidationError("Choose an organisation", column="organisation_id",
                              code="required")
    check_organisation(db, account, org_id)
    return org_id


def _items(options: dict[str, str], selected) -> list[dict]:
    chosen = set(selected or [])
    return [{"value": k, "text": v, "checked": k in chosen} for k, v in options.items()]


# --------------------------------------------------------------------------- landing
# (mounted at /involve itself by voices.involve.routes)


def landing(request: Request, account: Account = Depends(SIGNED_IN),
            db: Session = Depends(get_db)):
    if account.role is Role.partner:
        return RedirectResponse("/involve/me", status_code=303)
    scope = _scope(db, account)
    lead = account.role in (Role.admin, Role.involvement_lead)
    partners = db.scalar(select(func.count(Partner.id)).where(
        True if scope is None else Partner.organisation_id.in_(scope or {-1}))) if lead else None
    open_items = len(involve.list_opportunities(db, scope, open_only=True)) if lead else None
    totals = involve.project_totals(db, scope) if lead else []
    return render(request, "involve/landing.html", {
        "lead": lead, "partners": partners, "open_items": open_items,
        "hours": sum(t.hours for t in totals), "crumbs": HOME})


# ------------------------------------------------------------------------- community


def _filters(condition, service, interest, format_, time, availability, name):
    def ok(value, options):
        return value if value in options else None
    return involve.CommunityFilter(
        ok(condition, questions.CONDITIONS), ok(service, questions.SERVICES_USED),
        ok(interest, questions.INTERESTS), ok(format_, questions.FORMATS),
        ok(time, questions.TIMES), ok(availability, questions.AVAILABILITY),
        (name or "").strip()[:60] or None)


def _select(options: dict[str, str], chosen: str | None, blank: str) -> list[dict]:
    return [{"value": "", "text": blank}] + [
        {"value": k, "text": v, "selected": k == chosen} for k, v in options.items()]


@router.get("/community")
def community(request: Request, condition: str | None = _short(), service: str | None = _short(),
              interest: str | None = _short(), format: str | None = _short(),
              time: str | None = _short(), availability: str | None = _short(),
              name: str | None = _short(), page: int = Query(1, ge=1, le=1_000_000),
              account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    filters = _filters(condition, service, interest, format, time, availability, name)
    partners = involve.list_partners(db, _scope(db, account), filters, actor=account)
    shown = page_of(partners, page, COMMUNITY_PER_PAGE)
    consents = {p.id: involve.consents_now(p) for p in shown.items}
    db.commit()
    params = {"condition": filters.condition, "service": filters.service,
              "interest": filters.interest, "format": filters.format, "time": filters.time,
              "availability": filters.availability, "name": filters.name}
    return render(request, "involve/community.html", {
        "partners": shown.items, "shown": shown, "filters": filters, "consents": consents,
        "previous": shown.link("/involve/community", params, shown.number - 1),
        "next": shown.link("/involve/community", params, shown.number + 1), "labels": LABELS,
        "condition_items": _select(questions.CONDITIONS, filters.condition, "Any"),
        "service_items": _select(questions.SERVICES_USED, filters.service, "Any"),
        "interest_items": _select(questions.INTERESTS, filters.interest, "Any"),
        "format_items": _select(questions.FORMATS, filters.format, "Any"),
        "time_items": _select(questions.TIMES, filters.time, "Any"),
        "availability_items": _select(questions.AVAILABILITY, filters.availability, "Any"),
        "availability_labels": questions.AVAILABILITY, "crumbs": INVOLVE})


def _makeup(db: Session, account: Account):
    scope = _scope(db, account)
    org = account.organisation
    population, stored = involve.population_for(db, org)
    counts = involve.community_counts(db, scope)
    return community_logic.makeup(counts, population, disclosed=True), population, stored


@router.get("/community/makeup")
def makeup_page(request: Request, account: Account = Depends(LEADS),
                db: Session = Depends(get_db)):
    rows, population, stored = _makeup(db, account)
    figs = {dim.dimension: figures.makeup_figure(dim) for dim in rows}
    audit.record(db, "community.makeup", actor=account, record_type="organisation",
                 record_id=account.organisation_id, organisation_id=account.organisation_id,
                 summary="Viewed the community's make-up (disclosure controlled)")
    db.commit()
    return render(request, "involve/makeup.html", {
        "rows": rows, "figs": figs, "population": population, "stored": stored,
        "crumbs": COMMUNITY})


@router.get("/community/makeup.csv")
def makeup_export(account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    rows, _, _ = _makeup(db, account)
    audit.record(db, "community.makeup_export", actor=account, record_type="organisation",
                 record_id=account.organisation_id, organisation_id=account.organisation_id,
                 summary="Exported the community's make-up (disclosure controlled)")
    db.commit()
    return Response(community_logic.makeup_csv(rows), media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="community-makeup.csv"'})


@router.get("/community/population")
def population_page(request: Request, account: Account = Depends(LEADS),
                    db: Session = Depends(get_db)):
    population, stored = involve.population_for(db, account.organisation)
    return render(request, "involve/population.html", {
        "population": population, "stored": stored, "crumbs": COMMUNITY,
        "organisations": _org_items(db, account, None)})


@router.post("/community/population")
async def population_upload(request: Request, account: Account = Depends(LEADS),
                            db: Session = Depends(get_db)):
    form = await request.form()
    upload = form.get("file")
    errors = FormErrors()
    try:
        org_id = _chosen_org(db, account, form_text(form, "organisation_id", 12))
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise ValidationError("Choose a file to upload", column="file", code="required")
        content = await upload.read(2_000_001)
        if len(content) > 2_000_000:
            raise ValidationError("The file must be smaller than 2 MB", column="file",
                                  code="too_large")
        organisation = involve.get_row(db, Organisation, org_id)
        if organisation is None:
            raise NotFound("We could not find that organisation.")
        involve.save_population(db, organisation, content, upload.filename,
                                actor=account)
        db.commit()
        return RedirectResponse("/involve/community/makeup?done=population", status_code=303)
    except VoicesError as exc:
        db.rollback()
        located = exc.problems if isinstance(exc, ValidationError) else []
        errors.add("file", str(located[0]) if located else exc.message)
        problems = [str(p) for p in located] if len(located) > 1 else []
    population, stored = involve.population_for(db, account.organisation)
    return render(request, "involve/population.html", {
        "population": population, "stored": stored, "errors": errors, "problems": problems,
        "crumbs": COMMUNITY, "organisations": _org_items(db, account, None)},
        status_code=422)


@router.get("/community/{partner_id}")
def partner_page(request: Request, partner_id: int, account: Account = Depends(LEADS),
                 db: Session = Depends(get_db)):
    partner = involve.get_partner_for_lead(db, partner_id, _scope(db, account), actor=account)
    answers = involve.partner_answers(partner)
    shown = [q for q in questions.questions_for(answers)
             if q.section in ("about", "experience", "access") and q.key in answers]
    rows = [{"key": {"text": q.label}, "value": {"text": questions.display_answer(q, answers)}}
            for q in shown]
    consents = involve.consents_now(partner)
    interests = involve.interests_for(db, partner)
    log = involve.list_log(db, _scope(db, account), partner_id=partner.id)
    total = next(iter(involve.partner_totals(db, _scope(db, account), partner_id=partner.id)),
                 None)
    db.commit()
    return render(request, "involve/partner.html", {
        "partner": partner, "rows": rows, "consents": consents, "interests": interests,
        "log": log, "total": total, "money": money, "statuses": involve.INTEREST_STATUSES,
        "crumbs": COMMUNITY})


# ------------------------------------------------------------------- opportunities


@router.get("/manage")
def manage(request: Request, account: Account = Depends(LEADS),
           db: Session = Depends(get_db)):
    items = involve.list_opportunities(db, _scope(db, account))
    counts = dict(db.execute(select(Interest.opportunity_id, func.count(Interest.id))
                             .where(Interest.status != "withdrawn")
                             .group_by(Interest.opportunity_id)).all())
    return render(request, "involve/manage.html", {
        "items": items, "counts": counts, "today": dt.date.today(),
        "policy": involve.payment_policy(), "crumbs": INVOLVE,
        "notice": {"created": "Opportunity posted", "closed": "Opportunity closed"}.get(
            request.query_params.get("done", "")), "notice_success": True})


def _opportunity_form(request: Request, db: Session, account: Account, *, values: dict,
                      action: str, title: str, errors: FormErrors | None = None,
                      status_code: int = 200):
    policy = involve.payment_policy()
    return render(request, "involve/opportunity_form.html", {
        "values": values, "errors": errors, "action": action, "title": title,
        "labels": LABELS, "items": _items,
        "level_items": [{"value": "", "text": "Choose a level"}] + [
            {"value": code, "text": name, "selected": code == values.get("payment_level")}
            for code, name in policy.options()],
        "policy": policy, "organisations": _org_items(
            db, account, int(values["organisation_id"]) if str(
                values.get("organisation_id", "")).isdigit() else None),
        "crumbs": MANAGE}, status_code=status_code)


def _values_from(form: dict[str, list[str]]) -> dict:
    values: dict = {k: (v if k in ("formats", "venue_provides", "times", "conditions",
                                   "services", "topics") else (v[0] if v else ""))
                    for k, v in form.items()}
    return values


@router.get("/manage/new")
def new_opportunity(request: Request, account: Account = Depends(LEADS),
                    db: Session = Depends(get_db)):
    return _opportunity_form(request, db, account, values={"formats": ["in_person"]},
                             action="/involve/manage/new", title="Post an opportunity")


@router.post("/manage/new")
async def create_opportunity(request: Request, account: Account = Depends(LEADS),
                             db: Session = Depends(get_db)):
    form = _form_lists(await request.form())
    errors = FormErrors()
    try:
        org_id = _chosen_org(db, account, (form.get("organisation_id") or [""])[0])
        values = parse_opportunity(form, involve.payment_policy(), today=dt.date.today())
        opportunity = involve.create_opportunity(db, org_id, values, actor=account)
        db.commit()
        return RedirectResponse(f"/involve/manage/{opportunity.id}?done=created",
                                status_code=303)
    except (ValidationError, NotFound) as exc:
        db.rollback()
        errors.add_error(exc, "project")
    return _opportunity_form(request, db, account, values=_values_from(form),
                             action="/involve/manage/new", title="Post an opportunity",
                             errors=errors, status_code=422)


def _lead_opportunity(db: Session, account: Account, opportunity_id: int) -> Opportunity:
    return involve.get_opportunity(db, opportunity_id, _scope(db, account))


@router.get("/manage/{opportunity_id}")
def opportunity_page(request: Request, opportunity_id: int,
                     page: int = Query(1, ge=1, le=1_000_000),
                     account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    opportunity = _lead_opportunity(db, account, opportunity_id)
    shown = page_of(involve.ranked_interest(db, opportunity, actor=account), page,
                    INTEREST_PER_PAGE)
    db.commit()
    path = f"/involve/manage/{opportunity.id}"
    return render(request, "involve/manage_opportunity.html", {
        "o": opportunity, "ranked": shown.items, "shown": shown,
        "previous": shown.link(path, {}, shown.number - 1),
        "next": shown.link(path, {}, shown.number + 1), "policy": involve.payment_policy(),
        "labels": LABELS, "statuses": involve.INTEREST_STATUSES, "today": dt.date.today(),
        "crumbs": MANAGE,
        "notice": {"created": "Opportunity posted", "status": "Saved",
                   "updated": "Opportunity updated"}.get(request.query_params.get("done", "")),
        "notice_success": True})


@router.get("/manage/{opportunity_id}/edit")
def edit_opportunity_page(request: Request, opportunity_id: int,
                          account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    o = _lead_opportunity(db, account, opportunity_id)
    values = {k: getattr(o, k) for k in ("project", "role", "description", "time_needed",
                                         "formats", "venue_provides", "times", "conditions",
                                         "services", "topics", "payment_level")}
    values.update({"hours_per_month": "" if o.hours_per_month is None else f"{o.hours_per_month:g}",
                   "carers": "yes" if o.carers else "", "organisation_id": str(o.organisation_id),
                   "closing_date-day": str(o.closing_date.day),
                   "closing_date-month": str(o.closing_date.month),
                   "closing_date-year": str(o.closing_date.year)})
    return _opportunity_form(request, db, account, values=values,
                             action=f"/involve/manage/{o.id}/edit", title="Change opportunity")


@router.post("/manage/{opportunity_id}/edit")
async def edit_opportunity(request: Request, opportunity_id: int,
                           account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    o = _lead_opportunity(db, account, opportunity_id)
    form = _form_lists(await request.form())
    errors = FormErrors()
    try:
        values = parse_opportunity(form, involve.payment_policy(), today=dt.date.today())
        involve.update_opportunity(db, o, values, actor=account)
        db.commit()
        return RedirectResponse(f"/involve/manage/{o.id}?done=updated", status_code=303)
    except ValidationError as exc:
        db.rollback()
        errors.add_error(exc, "project")
    return _opportunity_form(request, db, account, values=_values_from(form),
                             action=f"/involve/manage/{o.id}/edit", title="Change opportunity",
                             errors=errors, status_code=422)


@router.post("/manage/{opportunity_id}/close")
def close_opportunity(opportunity_id: int, account: Account = Depends(LEADS),
                      db: Session = Depends(get_db)):
    o = _lead_opportunity(db, account, opportunity_id)
    o.status = "closed"
    audit.record(db, "opportunity.close", actor=account, record_type="opportunity",
                 record_id=o.id, organisation_id=o.organisation_id)
    db.commit()
    return RedirectResponse("/involve/manage?done=closed", status_code=303)


@router.post("/manage/{opportunity_id}/interest/{interest_id}")
async def interest_status(request: Request, opportunity_id: int, interest_id: int,
                          account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    o = _lead_opportunity(db, account, opportunity_id)
    form = await request.form()
    involve.set_interest_status(db, o, interest_id, form_text(form, "status", 20),
                                actor=account)
    db.commit()
    page = form_text(form, "page", 7) or "1"           # back to the page the form was on
    page_part = f"page={page}&" if page.isdigit() and page != "1" else ""
    return RedirectResponse(f"/involve/manage/{o.id}?{page_part}done=status#interest-"
                            f"{interest_id}", status_code=303)


# ------------------------------------------------------------------- involvement log


def _log_page(request: Request, db: Session, account: Account, page: int = 1, *,
              errors: FormErrors | None = None, values: dict | None = None,
              status_code: int = 200):
    scope = _scope(db, account)
    totals = involve.project_totals(db, scope)
    people = page_of(involve.partner_totals(db, scope), page, LOG_PEOPLE_PER_PAGE)
    entries = involve.list_log(db, scope)[:50]
    audit.record(db, "log.list", actor=account, record_type="log_entry",
                 organisation_id=account.organisation_id, summary="Viewed the involvement log")
    db.commit()
    return render(request, "involve/log.html", {
        "totals": totals, "people": people, "entries": entries, "money": money,
        "previous": people.link("/involve/log", {}, people.number - 1),
        "next": people.link("/involve/log", {}, people.number + 1), "crumbs": INVOLVE,
        "policy": involve.payment_policy(), "errors": errors, "values": values or {},
        "notice": {"added": "Entry added"}.get(request.query_params.get("done", "")),
        "notice_success": True}, status_code=status_code)


@router.get("/log")
def log_page(request: Request, page: int = Query(1, ge=1, le=1_000_000),
             account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    return _log_page(request, db, account, page)


def _find_partner(db: Session, text: str, scope: set[int] | None) -> Partner | None:
    text = text.strip()
    if not text:
        return None
    partner = None
    if text.upper().startswith("P") and text[1:].isdigit():
        partner = involve.get_row(db, Partner, int(text[1:]))
    elif "@" in text:
        try:
            partner = involve.find_partner_by_email(db, text)
        except (NotFound, ValidationError):
            partner = None
    if partner is None or (scope is not None and partner.organisation_id not in scope):
        raise ValidationError("No partner in your community has that reference or email",
                              column="partner", code="unknown_partner")
    return partner


def _log_form(request, db, account, values, errors=None, status_code=200):
    policy = involve.payment_policy()
    return render(request, "involve/log_form.html", {
        "values": values, "errors": errors, "policy": policy, "crumbs": LOG,
        "level_items": [{"value": "", "text": "Choose a level"}] + [
            {"value": code, "text": name, "selected": code == values.get("payment_level")}
            for code, name in policy.options()],
        "organisations": _org_items(db, account, int(values["organisation_id"]) if str(
            values.get("organisation_id", "")).isdigit() else None)}, status_code=status_code)


@router.get("/log/new")
def new_log_entry(request: Request, partner: str | None = _short(),
                  opportunity: int | None = Query(None, ge=1, le=2**31),
                  account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    values: dict = {"partner": partner or "", "opportunity_id": str(opportunity or "")}
    if opportunity:
        o = _lead_opportunity(db, account, opportunity)
        values.update({"project": o.project, "payment_level": o.payment_level,
                       "organisation_id": str(o.organisation_id)})
    today = dt.date.today()
    values.update({"activity_date-day": str(today.day), "activity_date-month": str(today.month),
                   "activity_date-year": str(today.year)})
    return _log_form(request, db, account, values)


@router.post("/log/new")
async def add_log_entry(request: Request, account: Account = Depends(LEADS),
                        db: Session = Depends(get_db)):
    form = _form_lists(await request.form())
    one = {k: (v[0] if v else "") for k, v in form.items()}
    errors = FormErrors()
    try:
        scope = _scope(db, account)
        org_id = _chosen_org(db, account, one.get("organisation_id", ""))
        opportunity = None
        if one.get("opportunity_id", "").isdigit():
            opportunity = involve.get_opportunity(db, int(one["opportunity_id"]), scope)
        problems, partner, values = [], None, {}
        try:
            partner = _find_partner(db, one.get("partner", ""), scope)
        except ValidationError as exc:
            problems += exc.problems
        try:
            values = parse_log_entry(form, involve.payment_policy(), today=dt.date.today())
        except ValidationError as exc:
            problems += exc.problems
        if problems:                      # every problem on the page at once
            raise ValidationError(problems=problems)
        involve.add_log_entry(db, org_id, values, partner=partner, opportunity=opportunity,
                              actor=account)
        db.commit()
        return RedirectResponse("/involve/log?done=added", status_code=303)
    except (ValidationError, NotFound) as exc:
        db.rollback()
        errors.add_error(exc, "project")
    return _log_form(request, db, account, one, errors, status_code=422)


def _export(request: Request, db: Session, account: Account, since: str | None,
            until: str | None, make):
    """The finance export for the period, or the log page with the date problems."""
    try:
        period = parse_period(since, until)
    except ValidationError as exc:
        errors = FormErrors()
        errors.add_error(exc, "since")
        return _log_page(request, db, account, errors=errors,
                         values={"since": since or "", "until": until or ""}, status_code=422)
    rows = involve.finance_rows(db, _scope(db, account), actor=account, since=period[0],
                                until=period[1])
    db.commit()
    return make(rows)


@router.get("/log/export.csv")
def export_csv(request: Request, since: str | None = Query(None, max_length=10),
               until: str | None = Query(None, max_length=10),
               account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    return _export(request, db, account, since, until, lambda rows: Response(
        finance_csv(rows), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="involvement-payments.csv"'}))


@router.get("/log/export.xlsx")
def export_xlsx(request: Request, since: str | None = Query(None, max_length=10),
                until: str | None = Query(None, max_length=10),
                account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    return _export(request, db, account, since, until, lambda rows: Response(
        finance_xlsx(rows), headers={
            "Content-Disposition": 'attachment; filename="involvement-payments.xlsx"'},
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


# ------------------------------------------------------------------ practice library


@router.get("/library")
def library(request: Request, q: str | None = Query(None, max_length=200),
            kind: str | None = _short(), topic: str | None = _short(), setting: str | None = _short(),
            population: str | None = _short(), account: Account = Depends(SIGNED_IN),
            db: Session = Depends(get_db)):
    kind = kind if kind in library_logic.KINDS else None
    tags = {"topics": topic if topic in library_logic.TOPICS else None,
            "settings": setting if setting in library_logic.SETTINGS else None,
            "populations": population if population in library_logic.POPULATIONS else None}
    entries = involve.search_library(db, q or "", kind=kind, tags=tags)
    return render(request, "involve/library.html", {
        "entries": entries, "q": q or "", "kinds": library_logic.KINDS,
        "families": library_logic.TAG_FAMILIES,
        "kind_items": _select(library_logic.KINDS, kind, "Any kind"),
        "topic_items": _select(library_logic.TOPICS, tags["topics"], "Any topic"),
        "setting_items": _select(library_logic.SETTINGS, tags["settings"], "Any setting"),
        "population_items": _select(library_logic.POPULATIONS, tags["populations"],
                                    "Anyone"),
        "can_edit": account.role in (Role.admin, Role.involvement_lead),
        "crumbs": INVOLVE if account.role is not Role.partner else HOME})


def _library_form(request, db, account, values, action, title, errors=None, status_code=200):
    return render(request, "involve/library_form.html", {
        "values": values, "errors": errors, "action": action, "title": title,
        "families": library_logic.TAG_FAMILIES, "items": _items,
        "kind_items": [{"value": k, "text": v} for k, v in library_logic.KINDS.items()],
        "organisations": _org_items(db, account, int(values["organisation_id"]) if str(
            values.get("organisation_id", "")).isdigit() else None),
        "all_organisations": [{"value": str(o.id), "text": o.name,
                               "checked": str(o.id) in (values.get("involved") or [])}
                              for o in core.list_organisations(db)],
        "crumbs": LIBRARY}, status_code=status_code)


@router.get("/library/new")
def new_library_entry(request: Request, account: Account = Depends(LEADS),
                      db: Session = Depends(get_db)):
    return _library_form(request, db, account, {}, "/involve/library/new",
                         "Add to the practice library")


def _library_values(form: dict[str, list[str]]) -> dict:
    lists = ("topics", "settings", "populations", "involved")
    return {k: (v if k in lists else (v[0] if v else "")) for k, v in form.items()}


@router.post("/library/new")
async def create_library_entry(request: Request, account: Account = Depends(LEADS),
                               db: Session = Depends(get_db)):
    form = _form_lists(await request.form())
    errors = FormErrors()
    try:
        org_id = _chosen_org(db, account, (form.get("organisation_id") or [""])[0])
        values = parse_library_entry(form)
        involved = [int(x) for x in form.get("involved", []) if x.isdigit()]
        entry = involve.save_library_entry(db, org_id, values, actor=account,
                                           organisation_ids=involved)
        db.commit()
        return RedirectResponse(f"/involve/library/{entry.id}?done=saved", status_code=303)
    except (ValidationError, NotFound) as exc:
        db.rollback()
        errors.add_error(exc, "title")
    return _library_form(request, db, account, _library_values(form), "/involve/library/new",
                         "Add to the practice library", errors, 422)


@router.get("/library/{entry_id}")
def library_entry(request: Request, entry_id: int, account: Account = Depends(SIGNED_IN),
                  db: Session = Depends(get_db)):
    entry = involve.get_library_entry(db, entry_id)
    lead = account.role in (Role.admin, Role.involvement_lead)
    can_edit = False
    if lead:
        scope = _scope(db, account)
        can_edit = scope is None or entry.organisation_id in scope
    people = [p for p in entry.people if p.consent == "given" or can_edit]
    return render(request, "involve/library_entry.html", {
        "entry": entry, "people": people, "can_edit": can_edit, "families":
        library_logic.TAG_FAMILIES, "kinds": library_logic.KINDS, "crumbs": LIBRARY,
        "notice": {"saved": "Saved", "credited": "We have asked them if their name can be "
                   "shown"}.get(request.query_params.get("done", "")), "notice_success": True})


def _editable_entry(db: Session, account: Account, entry_id: int):
    entry = involve.get_library_entry(db, entry_id)
    check_organisation(db, account, entry.organisation_id)
    return entry


@router.get("/library/{entry_id}/edit")
def edit_library_page(request: Request, entry_id: int, account: Account = Depends(LEADS),
                      db: Session = Depends(get_db)):
    e = _editable_entry(db, account, entry_id)
    values = {k: getattr(e, k) for k in ("kind", "title", "summary", "body", "link", "topics",
                                         "settings", "populations", "other_organisations")}
    values["organisation_id"] = str(e.organisation_id)
    values["involved"] = [str(o.organisation_id) for o in e.organisations]
    return _library_form(request, db, account, values, f"/involve/library/{e.id}/edit",
                         "Change library entry")


@router.post("/library/{entry_id}/edit")
async def edit_library_entry(request: Request, entry_id: int, account: Account = Depends(LEADS),
                             db: Session = Depends(get_db)):
    e = _editable_entry(db, account, entry_id)
    form = _form_lists(await request.form())
    errors = FormErrors()
    try:
        values = parse_library_entry(form)
        involved = [int(x) for x in form.get("involved", []) if x.isdigit()]
        involve.save_library_entry(db, e.organisation_id, values, actor=account, entry=e,
                                   organisation_ids=involved)
        db.commit()
        return RedirectResponse(f"/involve/library/{e.id}?done=saved", status_code=303)
    except ValidationError as exc:
        db.rollback()
        errors.add_error(exc, "title")
    return _library_form(request, db, account, _library_values(form),
                         f"/involve/library/{e.id}/edit", "Change library entry", errors, 422)


@router.post("/library/{entry_id}/credit")
async def credit(request: Request, entry_id: int, account: Account = Depends(LEADS),
                 db: Session = Depends(get_db)):
    e = _editable_entry(db, account, entry_id)
    form = await request.form()
    try:
        partner = _find_partner(db, form_text(form, "partner", 300), _scope(db, account))
        if partner is None:
            raise ValidationError("Enter the partner's reference or email", column="partner",
                                  code="required")
        involve.credit_partner(db, e, partner, form_text(form, "contribution", 300),
                               actor=account)
    except ValidationError as exc:
        db.rollback()
        errors = FormErrors()
        errors.add_error(exc, "partner")
        people = list(e.people)
        return render(request, "involve/library_entry.html", {
            "entry": e, "people": people, "can_edit": True, "errors": errors,
            "values": {"partner": form_text(form, "partner", 300),
                       "contribution": form_text(form, "contribution", 300)},
            "families": library_logic.TAG_FAMILIES, "kinds": library_logic.KINDS,
            "crumbs": LIBRARY}, status_code=422)
    db.commit()
    return RedirectResponse(f"/involve/library/{e.id}?done=credited", status_code=303)
