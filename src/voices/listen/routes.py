"""Listen's pages and API.

Staff pages under ``/listen``: the landing page, the feedback explorer (with exports), the
coder's queue, each comment (with the service's reply), imports and mappings, feedback
links and QR codes, and models. The public pages (``/feedback``, ``/f/<service>``) are in
:mod:`voices.listen.feedback_routes`. The JSON API: ``POST /api/v1/feedback`` for kiosks,
text-message and survey suppliers, and ``GET /api/v1/listen/comments`` (the explorer's
twin). Routes are thin: they parse, call the service modules and render.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from voices import jobs
from voices.core.models import Account, Role, Service
from voices.errors import NotFound, ValidationError, VoicesError
from voices.listen import analysis, importing
from voices.listen import service as listen
from voices.listen.explorer import QUESTION_WORDS, SENTIMENT_WORDS, Filters
from voices.listen.feedback_routes import router as feedback_router
from voices.listen.qr import qr_png, qr_svg
from voices.listen.questions import FFT_ANSWERS
from voices.web.access import ANALYSTS, PUBLIC, STAFF, get_db, visible_organisations
from voices.web.api import ERRORS
from voices.web.forms import FormErrors, form_text
from voices.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(feedback_router)
pages = APIRouter(prefix="/listen", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["listen"])

HERE = Path(__file__).resolve().parent
CRUMBS = [{"href": "/", "text": "Home"}, {"href": "/listen", "text": "Listen"}]
MAX_UPLOAD_BYTES = importing.MAX_FILE_BYTES


def _scope(db: Session, account: Account) -> set[int] | None:
    return visible_organisations(db, account)


# ---------------------------------------------------------------------------- landing


@pages.get("")
def landing(request: Request, account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    analyst = account.role in (Role.admin, Role.analyst)
    counts = listen.overview(db, _scope(db, account)) if analyst else None
    model = analysis.active_model(db) if analyst else None
    return render(request, "listen/landing.html", {
        "counts": counts, "analyst": analyst, "model": model, "crumbs": CRUMBS[:1]})


# --------------------------------------------------------------------------- explorer


def _filters(request: Request) -> tuple[Filters, FormErrors | None]:
    try:
        return Filters.from_query(request.query_params), None
    except ValidationError as exc:
        errors = FormErrors()
        errors.add_error(exc, "q")
        return Filters(), errors


@pages.get("/explorer")
def explorer(request: Request, page: int = Query(1, ge=1, le=100_000),
             account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    filters, errors = _filters(request)
    result = analysis.explore(db, _scope(db, account), filters, page=page)
    return render(request, "listen/explorer.html", {
        "filters": filters, "result": result, "errors": errors,
        "fft_answers": FFT_ANSWERS, "sentiments": SENTIMENT_WORDS, "questions": QUESTION_WORDS,
        "crumbs": CRUMBS}, status_code=422 if errors else 200)


@pages.get("/explorer/export")
def explorer_export(request: Request, format: Literal["csv", "xlsx"] = "csv",
                    account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    filters = Filters.from_query(request.query_params)
    content, media, _ = analysis.export_comments(db, account, _scope(db, account), filters,
                                                 format)
    db.commit()
    stamp = dt.date.today().isoformat()
    return Response(content, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="feedback-comments-{stamp}.{format}"'})


# ------------------------------------------------------------------------ coder's queue


@pages.get("/review.js")
def review_script(account: Account | None = Depends(PUBLIC)):
    return FileResponse(HERE / "static" / "review.js", media_type="text/javascript")


@pages.get("/review")
def review(request: Request, offset: int = Query(0, ge=0, le=1_000_000),
           comment: int | None = Query(None, ge=1), account: Account = Depends(ANALYSTS),
           db: Session = Depends(get_db)):
    scope = _scope(db, account)
    if comment is not None:
        current = analysis.get_comment(db, comment, scope)
    else:
        found = analysis.queue(db, scope, limit=1, offset=offset)
        current = found[0] if found else None
    item = analysis.review_item(db, current) if current is not None else None
    if current is not None:
        from voices.core import audit

        audit.record(db, "listen.comment.view", actor=account, record_type="listen_comment",
                     record_id=current.id,
                     organisation_id=current.response.service.organisation_id)
        db.commit()
    return render(request, "listen/review.html", {
        "item": item, "offset": offset, "waiting": analysis.queue_length(db, scope),
        "upcoming": analysis.queue(db, scope, limit=8, offset=offset + 1),
        "done": request.query_params.get("done"), "crumbs": CRUMBS})


@pages.post("/review/{comment_id}")
async def review_decision(request: Request, comment_id: int,
                          account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    form = await request.form()
    comment = analysis.get_comment(db, comment_id, _scope(db, account))
    action = form_text(form, "action", 10)
    offset_text = form_text(form, "offset", 10)
    offset = int(offset_text) if offset_text.isascii() and offset_text.isdigit() else 0
    back = form_text(form, "back", 20)
    sentiment_text = form_text(form, "sentiment", 2)
    labels = [v for v in form.getlist("labels") if isinstance(v, str)]
    extra = form_text(form, "add_label", 200)
    if extra:
        labels.append(extra)
    try:
        sentiment = int(sentiment_text) if sentiment_text else None
        analysis.record_coding(db, comment, account,
                               labels=None if action == "accept" else labels,
                               sentiment=None if action == "accept" else sentiment)
        db.commit()
    except (ValueError, VoicesError) as exc:
        db.rollback()
        errors = FormErrors()
        if isinstance(exc, VoicesError):
            errors.add_error(exc, "labels")
        else:
            errors.add("sentiment", "Choose a sentiment from the list")
        comment = analysis.get_comment(db, comment_id, _scope(db, account))
        return render(request, "listen/review.html", {
            "item": analysis.review_item(db, comment), "offset": offset,
            "waiting": analysis.queue_length(db, _scope(db, account)), "upcoming": [],
            "errors": errors, "crumbs": CRUMBS}, status_code=422)
    if back == "comment":
        return RedirectResponse(f"/listen/comments/{comment_id}?done=coded", status_code=303)
    done = "accepted" if action == "accept" else "corrected"
    return RedirectResponse(f"/listen/review?offset={offset}&done={done}",
                            status_code=303)


# ----------------------------------------------------------------------- one comment


def _comment_page(request: Request, db: Session, account: Account, comment, *,
                  errors: FormErrors | None = None, original: str | None = None,
                  values: dict | None = None, status: int = 200):
    reply = comment.reply
    return render(request, "listen/comment.html", {
        "item": analysis.review_item(db, comment), "comment": comment,
        "response": comment.response, "reply": reply, "errors": errors,
        "values": values or {"reply_text": reply.text if reply else "",
                             "changed": reply.changed_something if reply else False},
        "can_read_original": listen.can_read_originals(db, account)
        and comment.original_encrypted is not None,
        "original": original, "done": request.query_params.get("done"),
        "crumbs": CRUMBS + [{"href": "/listen/explorer", "text": "Explorer"}]},
        status_code=status)


@pages.get("/comments/{comment_id}")
def comment_page(request: Request, comment_id: int, account: Account = Depends(ANALYSTS),
                 db: Session = Depends(get_db)):
    comment = analysis.get_comment(db, comment_id, _scope(db, account))
    from voices.core import audit

    audit.record(db, "listen.comment.view", actor=account, record_type="listen_comment",
                 record_id=comment.id, organisation_id=comment.response.service.organisation_id)
    db.commit()
    return _comment_page(request, db, account, comment)


@pages.post("/comments/{comment_id}/reply")
async def comment_reply(request: Request, comment_id: int, account: Account = Depends(ANALYSTS),
                        db: Session = Depends(get_db)):
    form = await request.form()
    comment = analysis.get_comment(db, comment_id, _scope(db, account))
    values = {"reply_text": form_text(form, "reply_text", 5000),
              "changed": bool(form_text(form, "changed", 5))}
    publish = form_text(form, "publish", 5) == "1"
    try:
        listen.save_reply(db, comment, text=values["reply_text"], changed=values["changed"],
                          publish=publish, actor=account)
        db.commit()
    except VoicesError as exc:
        db.rollback()
        errors = FormErrors()
        errors.add_error(exc, "reply_text")
        comment = analysis.get_comment(db, comment_id, _scope(db, account))
        return _comment_page(request, db, account, comment, errors=errors, values=values,
                             status=422)
    return RedirectResponse(f"/listen/comments/{comment_id}?done="
                            f"{'published' if publish else 'saved'}", status_code=303)


@pages.post("/comments/{comment_id}/original")
def comment_original(request: Request, comment_id: int, account: Account = Depends(ANALYSTS),
                     db: Session = Depends(get_db)):
    comment = analysis.get_comment(db, comment_id, _scope(db, account))
    text = listen.read_original(db, account, comment, request.app.state.settings)
    db.commit()
    return _comment_page(request, db, account, comment,
                         original=text if text is not None else "")


# ----------------------------------------------------------------- imports, mappings


@pages.get("/imports")
def imports_page(request: Request, account: Account = Depends(ANALYSTS),
                 db: Session = Depends(get_db)):
    return _imports(request, db)


def _imports(request: Request, db: Session, errors: FormErrors | None = None,
             values: dict | None = None, status: int = 200):
    mappings = listen.list_mappings(db)
    chosen = (values or {}).get("mapping", "")
    return render(request, "listen/imports.html", {
        "errors": errors, "values": values or {},
        "mapping_items": [{"value": "", "text": "Choose a mapping"}] + [
            {"value": m.name, "text": f"{m.name} ({m.supplier})", "selected": m.name == chosen}
            for m in mappings],
        "imports": listen.list_imports(db), "crumbs": CRUMBS}, status_code=status)


@pages.post("/imports")
async def imports_upload(request: Request, account: Account = Depends(ANALYSTS),
                         db: Session = Depends(get_db)):
    form = await request.form()
    mapping = form_text(form, "mapping", 80)
    upload = form.get("file")
    errors = FormErrors()
    if not mapping:
        errors.add("mapping", "Choose the mapping for this supplier's files")
    name = Path(getattr(upload, "filename", "") or "").name
    if upload is None or isinstance(upload, str) or not name:
        errors.add("file", "Choose a CSV or Excel file to import")
    elif Path(name).suffix.lower() not in (".csv", ".txt", ".xlsx", ".xlsm"):
        errors.add("file", "The file must be a CSV or Excel (.xlsx) file")
    if not errors:
        try:
            listen.get_mapping(db, mapping)
        except VoicesError as exc:
            errors.add("mapping", exc.message)
    if errors:
        return _imports(request, db, errors, {"mapping": mapping}, status=422)
    folder = Path(request.app.state.settings.data_dir) / "uploads" / "listen"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"
    size = 0
    with target.open("wb") as handle:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                handle.close()
                target.unlink(missing_ok=True)
                errors.add("file", f"The file must be smaller than "
                                   f"{MAX_UPLOAD_BYTES // 2**20} MB")
                return _imports(request, db, errors, {"mapping": mapping}, status=422)
            handle.write(chunk)
    scope = _scope(db, account)
    job = jobs.enqueue(db, "listen.import", {
        "path": str(target), "mapping": mapping, "display_name": name[:200],
        "actor_id": account.id, "organisation_ids": sorted(scope) if scope is not None else None},
        actor=account, organisation_id=account.organisation_id)
    db.commit()
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _mapping_values(row=None) -> dict:
    values = {"name": "", "supplier": "", "service": "", "date_format": "", "encoding": "",
              "rating_values": ""}
    values.update({f"col_{k}": "" for k in importing.FIELDS})
    if row is not None:
        values.update({"name": row.name, "supplier": row.supplier,
                       "service": row.service.slug if row.service else "",
                       "date_format": row.date_format or "", "encoding": row.encoding or "",
                       "rating_values": "\n".join(f"{k} = {v}" for k, v in
                                                  (row.rating_values or {}).items())})
        values.update({f"col_{k}": v for k, v in (row.columns or {}).items()})
    return values


def _mapping_form(request: Request, db: Session, account: Account, values: dict, *,
                  mapping_id: int | None, errors: FormErrors | None = None, status: int = 200):
    services = listen.core_services(db, _scope(db, account))
    return render(request, "listen/mapping_form.html", {
        "values": values, "errors": errors, "mapping_id": mapping_id, "fields": importing.FIELDS,
        "service_items": [{"value": "", "text": "Each row names its service"}] + [
            {"value": s.slug, "text": f"{s.name} ({s.organisation.ods_code})",
             "selected": s.slug == values.get("service")} for s in services],
        "crumbs": CRUMBS + [{"href": "/listen/mappings", "text": "Mappings"}]},
        status_code=status)


@pages.get("/mappings")
def mappings_page(request: Request, account: Account = Depends(ANALYSTS),
                  db: Session = Depends(get_db)):
    return render(request, "listen/mappings.html", {
        "mappings": listen.list_mappings(db), "fields": importing.FIELDS,
        "done": request.query_params.get("done"), "crumbs": CRUMBS})


@pages.get("/mappings/new")
def mapping_new(request: Request, account: Account = Depends(ANALYSTS),
                db: Session = Depends(get_db)):
    return _mapping_form(request, db, account, _mapping_values(), mapping_id=None)


@pages.get("/mappings/{mapping_id}")
def mapping_edit(request: Request, mapping_id: int, account: Account = Depends(ANALYSTS),
                 db: Session = Depends(get_db)):
    from voices.listen.models import ImportMapping

    row = db.get(ImportMapping, mapping_id)
    if row is None:
        raise NotFound("We could not find that mapping.")
    return _mapping_form(request, db, account, _mapping_values(row), mapping_id=mapping_id)


def _rating_words(text: str) -> dict[str, str]:
    out = {}
    for k, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        word, sep, answer = line.partition("=")
        if not sep:
            raise ValidationError(f"Line {k} needs an equals sign, like: Excellent = Very good",
                                  column="rating_values", code="invalid_rating_values")
        out[word.strip()] = answer.strip()
    return out


@pages.post("/mappings/new")
async def mapping_create(request: Request, account: Account = Depends(ANALYSTS),
                         db: Session = Depends(get_db)):
    return await _mapping_save(request, None, account, db)


@pages.post("/mappings/{mapping_id}")
async def mapping_change(request: Request, mapping_id: int, account: Account = Depends(ANALYSTS),
                         db: Session = Depends(get_db)):
    return await _mapping_save(request, mapping_id, account, db)


async def _mapping_save(request: Request, mapping_id: int | None, account: Account,
                        db: Session):
    form = await request.form()
    values = {k: form_text(form, k, 200) for k in _mapping_values()}
    values["rating_values"] = form_text(form, "rating_values", 4000)
    errors = FormErrors({"columns": "col_response_id", "response_id": "col_response_id",
                         "date": "col_date", "rating": "col_rating", "service": "service",
                         "service_id": "service"})
    try:
        mapping = importing.ColumnMapping(
            values["name"], values["supplier"],
            {k: values[f"col_{k}"] for k in importing.FIELDS if values[f"col_{k}"]},
            _rating_words(values["rating_values"]), values["date_format"] or None,
            values["encoding"] or None, values["service"] or None)
        listen.save_mapping(db, mapping, actor=account, mapping_id=mapping_id,
                            organisation_ids=_scope(db, account))
        db.commit()
    except VoicesError as exc:
        db.rollback()
        errors.add_error(exc, "name")
        return _mapping_form(request, db, account, values, mapping_id=mapping_id,
                             errors=errors, status=422)
    return RedirectResponse("/listen/mappings?done=saved", status_code=303)


# ------------------------------------------------------------------- links and QR codes


@pages.get("/services")
def services_page(request: Request, account: Account = Depends(STAFF),
                  db: Session = Depends(get_db)):
    services = listen.core_services(db, _scope(db, account))
    base = request.app.state.settings.base_url.rstrip("/")
    return render(request, "listen/services.html", {
        "services": services, "base": base, "crumbs": CRUMBS})


@pages.get("/services/{slug}/qr.{kind}")
def service_qr(request: Request, slug: str, kind: Literal["svg", "png"],
               account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    svc = db.scalar(select(Service).where(Service.slug == slug))
    scope = _scope(db, account)
    if svc is None or (scope is not None and svc.organisation_id not in scope):
        raise NotFound("We could not find that service.")
    url = f"{request.app.state.settings.base_url.rstrip('/')}/f/{svc.slug}"
    headers = {"Content-Disposition": f'inline; filename="feedback-{svc.slug}.{kind}"'}
    if kind == "svg":
        return Response(qr_svg(url, title=f"QR code for feedback about {svc.name}"),
                        media_type="image/svg+xml", headers=headers)
    return Response(qr_png(url), media_type="image/png", headers=headers)


# --------------------------------------------------------------- models and agreement


@pages.get("/models")
def models_page(request: Request, account: Account = Depends(ANALYSTS),
                db: Session = Depends(get_db)):
    scope = _scope(db, account)
    rows = analysis.agreement_report(db, scope)
    return render(request, "listen/models.html", {
        "models": analysis.list_models(db), "active": analysis.active_model(db),
        "agreement": rows, "figure": analysis.agreement_figure(rows),
        "counts": listen.overview(db, scope), "crumbs": CRUMBS})


@pages.post("/classify")
async def classify_start(request: Request, account: Account = Depends(ANALYSTS),
                         db: Session = Depends(get_db)):
    if analysis.active_model(db) is None:
        raise ValidationError("No model is registered yet. Train one and register it with "
                              "'voices listen classify --model FOLDER'.", code="no_model")
    scope = _scope(db, account)
    job = jobs.enqueue(db, "listen.classify", {
        "organisation_ids": sorted(scope) if scope is not None else None},
        key="listen.classify", actor=account, organisation_id=account.organisation_id)
    db.commit()
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


router.include_router(pages)


# ------------------------------------------------------------------------------ API


class FeedbackIn(BaseModel):
    """Feedback from a kiosk, a text message or a survey supplier."""

    service: str = Field(..., max_length=80, description="The service's short link (slug)")
    rating: str | int | None = Field(None, description="Very good, Good, Neither good nor "
                                     "poor, Poor, Very poor, Don't know, or 1 to 6")
    what_was_good: str | None = Field(None, max_length=listen.MAX_API_CHARS)
    what_could_be_better: str | None = Field(None, max_length=listen.MAX_API_CHARS)
    comment: str | None = Field(None, max_length=listen.MAX_API_CHARS,
                                description="A single comment, when only one is asked")
    submitted_at: dt.datetime | None = Field(None, description="When it was given (default: "
                                             "now)")
    age_band: str | None = Field(None, max_length=40, description="An age band or whole years")
    sex: str | None = Field(None, max_length=40)
    ethnic_group: str | None = Field(None, max_length=40)
    disability: str | None = Field(None, max_length=40)
    carer: str | None = Field(None, max_length=40)
    postcode: str | None = Field(None, max_length=12, description="Only the district is kept")


class StoredComment(BaseModel):
    question: str
    text: str = Field(..., description="The comment as stored: redacted")
    redacted: list[str] = Field(..., description="Kinds of personal detail replaced")
    flags: list[str] = Field(..., description="empty, very_long, html, other_script, emoji…")


class FeedbackOut(BaseModel):
    id: int
    service: str
    period: str
    rating: str | None
    deprivation: str
    comments: list[StoredComment]


@api_router.post("/feedback", response_model=FeedbackOut, status_code=201, responses=ERRORS,
                 summary="Send one person's feedback (kiosks, text messages, survey suppliers)")
def api_feedback(request: Request, body: FeedbackIn,
                 idempotency_key: str | None = Header(None, alias="Idempotency-Key",
                                                      max_length=200),
                 account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    """Stored at once. Send an `Idempotency-Key` header (any unique string up to 200
    characters) so a retry never stores the same feedback twice: the same key with the same
    body returns the original answer; the same key with a different body is refused (409)."""
    payload = body.model_dump()
    if isinstance(payload.get("rating"), int):
        payload["rating"] = str(payload["rating"])
    status, reply, replayed = listen.submit_api_feedback(
        db, account, payload, idempotency_key=idempotency_key,
        settings=request.app.state.settings)
    db.commit()
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(reply, status_code=status, headers=headers)


class CommentOut(BaseModel):
    id: int
    service: str
    period: str
    question: str
    rating: str | None
    sentiment: str
    labels: list[str]
    i_statement_themes: list[str]
    text: str
    flags: list[str]


class CommentsOut(BaseModel):
    total: int
    page: int
    pages: int
    comments: list[CommentOut]


@api_router.get("/listen/comments", response_model=CommentsOut, responses=ERRORS,
                summary="Stored comments (redacted), filtered as in the explorer")
def api_comments(request: Request, page: int = Query(1, ge=1, le=100_000),
                 account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    filters = Filters.from_query(request.query_params)
    result = analysis.explore(db, _scope(db, account), filters, page=page, per_page=50)
    return CommentsOut(total=result.total, page=result.page, pages=result.pages, comments=[
        CommentOut(id=c["id"], service=c["service"], period=c["period"], question=c["question"],
                   rating=c["rating"], sentiment=c["sentiment"], labels=c["labels"],
                   i_statement_themes=c["themes"], text=c["text"], flags=c["flags"])
        for c in result.comments])
