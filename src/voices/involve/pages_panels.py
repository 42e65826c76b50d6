"""Panel pages: choose a pool, set quotas with a live check, run the selection in the
background, see everyone's chance, publish the ticket list's fingerprint, draw in public."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from voices.core.models import Account
from voices.equity.dimensions import DIMENSIONS
from voices.errors import Conflict, NotFound, ValidationError
from voices.involve import figures
from voices.involve import panel_service as panels
from voices.involve import panels as panel_logic
from voices.involve import service as involve
from voices.involve.community import COMPARED
from voices.involve.models import Panel
from voices.web.access import LEADS, PUBLIC, check_organisation, get_db, visible_organisations
from voices.web.forms import FormErrors, form_text
from voices.web.templating import render

router = APIRouter()

CRUMBS = [{"href": "/", "text": "Home"}, {"href": "/involve", "text": "Involve"},
          {"href": "/involve/panels", "text": "Panels"}]
FEATURE_ITEMS = [(d, DIMENSIONS[d].label) for d in COMPARED]


def _form_lists(form) -> dict[str, list[str]]:
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form.keys()}


def _scope(db: Session, account: Account):
    return visible_organisations(db, account)


@router.get("/panels")
def panels_page(request: Request, account: Account = Depends(LEADS),
                db: Session = Depends(get_db)):
    return render(request, "involve/panels.html", {
        "panels": panels.list_panels(db, _scope(db, account)), "statuses": panels.STATUSES,
        "crumbs": CRUMBS[:2]})


def _new_form(request, db, account, values, errors=None, status_code=200):
    scope = _scope(db, account)
    opportunities = involve.list_opportunities(db, scope)
    return render(request, "involve/panel_new.html", {
        "values": values, "errors": errors, "crumbs": CRUMBS,
        "opportunity_items": [{"value": "", "text": "Choose an opportunity"}] + [
            {"value": str(o.id), "text": f"{o.role}, {o.project}",
             "selected": str(o.id) == values.get("opportunity_id")} for o in opportunities],
        "feature_items": [{"value": code, "text": text,
                           "checked": code in (values.get("features") or [])}
                          for code, text in FEATURE_ITEMS]}, status_code=status_code)


@router.get("/panels/new")
def new_panel(request: Request, opportunity: str | None = None,
              account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    values = {"source": "opportunity", "features": ["age_band", "sex", "imd_quintile"],
              "k": "12", "opportunity_id": (opportunity or "")[:12]}
    return _new_form(request, db, account, values)


@router.post("/panels/new")
async def create_panel(request: Request, account: Account = Depends(LEADS),
                       db: Session = Depends(get_db)):
    form = await request.form()
    values = {k: form_text(form, k, 200) for k in ("name", "source", "opportunity_id", "k",
                                                     "id_column")}
    values["features"] = [v for v in form.getlist("features") if isinstance(v, str)]
    errors = FormErrors({"pool": "opportunity_id"})
    try:
        name = values["name"] or ""
        if not name:
            raise ValidationError("Enter a name for the panel", column="name", code="required")
        if values["source"] == "upload":
            files = {}
            for field in ("features_file", "people_file"):
                upload = form.get(field)
                if upload is None or isinstance(upload, str) or not upload.filename:
                    raise ValidationError("Choose a file", column=field, code="required")
                content = await upload.read(5_000_001)
                if len(content) > 5_000_000:
                    raise ValidationError("The file must be smaller than 5 MB", column=field,
                                          code="too_large")
                files[field] = (content, upload.filename)
            org_id = account.organisation_id or involve.community_organisation(db).id
            check_organisation(db, account, org_id)
            panel = panels.create_from_upload(
                db, org_id, name=name, k_text=values["k"], features=files["features_file"],
                people=files["people_file"], id_column=values["id_column"] or "id",
                actor=account)
        else:
            if not values["opportunity_id"].isdigit():
                raise ValidationError("Choose an opportunity", column="opportunity_id",
                                      code="required")
            opportunity = involve.get_opportunity(db, int(values["opportunity_id"]),
                                                  _scope(db, account))
            pool = panels.opportunity_pool(db, opportunity, values["features"])
            k = panel_logic.check_k(values["k"], pool.n)
            panel = panels.create_from_opportunity(db, opportunity, name=name, k=k,
                                                   features=values["features"], actor=account)
        db.commit()
        return RedirectResponse(f"/involve/panels/{panel.id}", status_code=303)
    except (ValidationError, NotFound) as exc:
        db.rollback()
        problems = exc.problems if isinstance(exc, ValidationError) else []
        for problem in problems:
            column = problem.column if problem.column in (
                "name", "opportunity_id", "k", "features", "features_file", "people_file") \
                else ("features_file" if problem.file and "feature" in problem.file.lower()
                      else "people_file" if problem.file else "opportunity_id")
            errors.add(column, str(problem) if problem.file else problem.message)
        if not problems:
            errors.add("opportunity_id", exc.message)
    return _new_form(request, db, account, values, errors, 422)


def _panel_page(request, db, panel: Panel, *, errors=None, quotas=None, check=None,
                status_code=200):
    pool = panels.pool_of(panel)
    quotas = quotas or panels.quotas_of(panel)
    counts = {}
    for person in pool.values:
        for feature, value in zip(pool.features, person, strict=True):
            counts[(feature, value)] = counts.get((feature, value), 0) + 1
    rows = [{"i": i, "feature": DIMENSIONS[q.feature].label if q.feature in DIMENSIONS
             else q.feature, "value": panel_logic.label(q.feature, q.value),
             "have": counts.get((q.feature, q.value), 0), "min": q.min, "max": q.max}
            for i, q in enumerate(quotas.rows)]
    result = panel.result or {}
    fig, people = None, []
    if result.get("probabilities"):
        probabilities = result["probabilities"]
        fig = figures.probability_figure(list(probabilities.values()), panel.k, pool.n)
        names = panels.names_for(db, list(probabilities)) if panel.source == "opportunity" \
            else {}
        chosen = set(panel.selected or [])
        people = sorted(({"id": pid, "name": names.get(pid, ""), "p": p, "chosen": pid in chosen}
                         for pid, p in probabilities.items()), key=lambda r: (-r["chosen"], r["p"],
                                                                              r["id"]))
    return render(request, "involve/panel.html", {
        "panel": panel, "pool": pool, "rows": rows, "check": check, "errors": errors,
        "result": result, "fig": fig, "people": people, "statuses": panels.STATUSES,
        "editable": panel.status in ("draft", "ready", "failed"), "crumbs": CRUMBS,
        "notice": {"saved": "Quotas saved", "published": "Published. Now announce it, and "
                   "draw when the seed is known.", "drawn": "The panel has been drawn and the "
                   "people chosen have been told."}.get(request.query_params.get("done", "")),
        "notice_success": True}, status_code=status_code)


def _lead_panel(db: Session, account: Account, panel_id: int):
    return panels.get_panel(db, panel_id, _scope(db, account))


@router.get("/panels/{panel_id}")
def panel_page(request: Request, panel_id: int, account: Account = Depends(LEADS),
               db: Session = Depends(get_db)):
    panel = _lead_panel(db, account, panel_id)
    check = panels.feasibility(panel, panels.quotas_of(panel)) if panel.status == "draft" \
        else None
    return _panel_page(request, db, panel, check=check)


def _typed_quotas(panel, form):
    return panel_logic.quotas_from_form(form, panels.quotas_of(panel), panel.k)


@router.post("/panels/{panel_id}/check")
async def check_quotas(request: Request, panel_id: int, account: Account = Depends(LEADS),
                       db: Session = Depends(get_db)):
    """The live check (htmx sends the quotas as they are typed; without JavaScript the
    'Check' button posts the same form to the quotas address)."""
    panel = _lead_panel(db, account, panel_id)
    form = _form_lists(await request.form())
    try:
        check = panels.feasibility(panel, _typed_quotas(panel, form))
    except ValidationError as exc:
        check = panels.Feasibility(False, exc.problems[0].message,
                                   tuple(p.message for p in exc.problems))
    return render(request, "involve/_feasibility.html", {"check": check})


@router.post("/panels/{panel_id}/quotas")
async def save_quotas(request: Request, panel_id: int, account: Account = Depends(LEADS),
                      db: Session = Depends(get_db)):
    panel = _lead_panel(db, account, panel_id)
    form = _form_lists(await request.form())
    action = (form.get("action") or ["save"])[0]
    errors = FormErrors()
    try:
        quotas = _typed_quotas(panel, form)
    except ValidationError as exc:
        errors.add_error(exc, "min-0")
        return _panel_page(request, db, panel, errors=errors, status_code=422)
    if action == "check":
        return _panel_page(request, db, panel, quotas=quotas,
                           check=panels.feasibility(panel, quotas))
    try:
        panels.save_quotas(db, panel, quotas, actor=account)
    except (ValidationError, Conflict) as exc:
        db.rollback()
        errors.add_error(exc, "min-0")
        return _panel_page(request, db, panel, errors=errors, quotas=quotas,
                           status_code=422 if isinstance(exc, ValidationError) else 409)
    db.commit()
    return RedirectResponse(f"/involve/panels/{panel.id}?done=saved", status_code=303)


@router.post("/panels/{panel_id}/run")
def run_panel(request: Request, panel_id: int, account: Account = Depends(LEADS),
              db: Session = Depends(get_db)):
    panel = _lead_panel(db, account, panel_id)
    try:
        job = panels.start_selection(db, panel, actor=account)
    except (ValidationError, Conflict) as exc:
        db.rollback()
        errors = FormErrors({"quotas": "min-0"})
        errors.add_error(exc, "min-0")
        return _panel_page(request, db, panel, errors=errors,
                           check=panels.feasibility(panel, panels.quotas_of(panel)),
                           status_code=422 if isinstance(exc, ValidationError) else 409)
    db.commit()
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def _panel_step(request: Request, db: Session, panel: Panel, field: str, step,
                      done: str):
    """Publish or draw: one field, the step's own checks, the page again on a problem."""
    form = await request.form()
    try:
        step(form_text(form, field, 600))
    except (ValidationError, Conflict) as exc:
        db.rollback()
        errors = FormErrors()
        errors.add_error(exc, field)
        return _panel_page(request, db, panel, errors=errors, status_code=422)
    db.commit()
    return RedirectResponse(f"/involve/panels/{panel.id}?done={done}", status_code=303)


@router.post("/panels/{panel_id}/publish")
async def publish_panel(request: Request, panel_id: int, account: Account = Depends(LEADS),
                        db: Session = Depends(get_db)):
    panel = _lead_panel(db, account, panel_id)
    return await _panel_step(request, db, panel, "seed_source", lambda text: panels.publish(
        db, panel, text, actor=account), "published")


@router.post("/panels/{panel_id}/draw")
async def draw_panel(request: Request, panel_id: int, account: Account = Depends(LEADS),
                     db: Session = Depends(get_db)):
    panel = _lead_panel(db, account, panel_id)
    return await _panel_step(request, db, panel, "seed", lambda text: panels.draw(
        db, panel, text, actor=account), "drawn")


@router.get("/panels/{panel_id}/tickets.txt")
def tickets(panel_id: int, account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    panel = _lead_panel(db, account, panel_id)
    if not panel.result or not panel.result.get("tickets"):
        raise NotFound("The tickets have not been made yet.")
    stamp = dt.date.today().isoformat()
    return Response(panel.result["tickets"], media_type="text/plain; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="panel-{panel.id}-tickets-{stamp}.txt"'})


def _published(db: Session, panel_id: int) -> Panel:
    panel = involve.get_row(db, Panel, panel_id)
    if panel is None or panel.published_at is None:
        raise NotFound("We could not find that page.")
    return panel


@router.get("/panels/{panel_id}/public")
def public_record(request: Request, panel_id: int, account: Account | None = Depends(PUBLIC),
                  db: Session = Depends(get_db)):
    """The public record of a draw: what was published before it, and the result."""
    panel = _published(db, panel_id)
    return render(request, "involve/panel_public.html", {
        "panel": panel, "n": len(panel.pool.get("ids", [])),
        "organisation": panels.organisation_of(db, panel),
        "public_tickets": panels.tickets_are_public(panel),
        "crumbs": [{"href": "/", "text": "Home"}]})


@router.get("/panels/{panel_id}/public/tickets.txt")
def public_tickets(panel_id: int, account: Account | None = Depends(PUBLIC),
                   db: Session = Depends(get_db)):
    """The published ticket list, for anyone to repeat the draw — only for pools of
    partners, whose tickets hold partner references and nothing else."""
    panel = _published(db, panel_id)
    if not panels.tickets_are_public(panel):
        raise NotFound("We could not find that page.")
    return Response(panel.result["tickets"], media_type="text/plain; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="panel-{panel.id}-tickets.txt"'})
