"""Co-design pages and their JSON twins.

Public: ``/codesign/join`` (open conversations) and ``/codesign/c/<slug>`` (join, optional
questions, vote one statement at a time, add a statement, results once closed). Without
JavaScript every step is a plain form; with it, voting swaps in the next statement with
htmx and no page reload. Staff: conversations, moderation, opinion map and results,
reports, Pol.is import and export, and ideas carried to proposals.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import tempfile
import zipfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from voices.codesign import ideas as idea_service
from voices.codesign import report, transfer
from voices.codesign import service as codesign
from voices.codesign.models import STAGES, Conversation, Participant, StatementStatus
from voices.codesign.results import QUESTIONS
from voices.core import service as core
from voices.core.models import Account, Role
from voices.errors import NotFound, Problem, ValidationError, VoicesError
from voices.web.access import LEADS, PUBLIC, STAFF, get_db, visible_organisations
from voices.web.api import ERRORS
from voices.web.errors import TooManyRequests
from voices.web.forms import FormErrors, form_text
from voices.web.security import client_key, csrf_token_for, set_cookie
from voices.web.templating import render

router = APIRouter(prefix="/codesign", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/codesign", tags=["codesign"])

PARTICIPANT_COOKIE = "voices_participant"
HOME = {"href": "/", "text": "Home"}
CRUMBS = [HOME, {"href": "/codesign", "text": "Co-design"}]


def _limit(request: Request, name: str, key: str) -> None:
    """Refuse with 429 when this participant or address is over the limit ``name``, one of
    the limits the app builds from the settings (voices.web.app.create_app)."""
    if not getattr(request.app.state, name).hit(key):
        raise TooManyRequests("You are going too fast. Wait a minute, then carry on.")


# ------------------------------------------------------------ participant identity


def _key(request: Request) -> str | None:
    return request.app.state.keys.unsign(request.cookies.get(PARTICIPANT_COOKIE))


def _who(request: Request, account: Account | None) -> dict:
    """How this person is known in conversations: their account when signed in, otherwise
    the random id in their participant cookie."""
    if account is not None:
        return {"account": account}
    return {"key": _key(request)}


def _participant(db: Session, request: Request, conversation: Conversation,
                 account: Account | None) -> Participant | None:
    return codesign.find_participant(db, conversation, **_who(request, account))


def _rate_key(request: Request, account: Account | None) -> str:
    if account is not None:
        return f"a:{account.id}"
    key = _key(request)
    return f"p:{codesign.key_hash(key)[:16]}" if key else f"c:{client_key(request)}"


def _limit_sender(request: Request, kind: str, account: Account | None) -> None:
    """Refuse a vote or statement (``kind``) over this participant's own limit, or over
    the limit for everyone at their address: joining again and again as new participants
    gets no more votes through than the address allows."""
    _limit(request, f"codesign_{kind}_limit", _rate_key(request, account))
    _limit(request, f"codesign_address_{kind}_limit", f"c:{client_key(request)}")


def _join(db: Session, request: Request, conversation: Conversation,
          account: Account | None) -> tuple[Participant, str | None]:
    """Join (or re-find) and return the participant and a new cookie value, if one is due."""
    key = None if account is not None else (_key(request) or secrets.token_urlsafe(24))
    existing = codesign.find_participant(db, conversation, key=key, account=account)
    if existing is None:
        _limit(request, "codesign_join_limit", f"c:{client_key(request)}")
    participant = codesign.join(db, conversation, key=key, account=account)
    new_cookie = key if key and key != _key(request) else None
    return participant, new_cookie


def _set_participant_cookie(request: Request, response: Response, key: str | None) -> None:
    if key:
        set_cookie(response, request, PARTICIPANT_COOKIE, request.app.state.keys.sign(key),
                   max_age=60 * 60 * 24 * 180)


def _public_crumbs(conversation: Conversation | None = None) -> list[dict]:
    crumbs = [HOME, {"href": "/codesign/join", "text": "Have your say"}]
    if conversation is not None:
        crumbs.append({"href": f"/codesign/c/{conversation.slug}", "text": "Conversation"})
    return crumbs


def _asked(conversation: Conversation) -> list[str]:
    return [q for q in QUESTIONS if q in (conversation.demographics or [])]


# ---------------------------------------------------------------- public pages


@router.get("/join")
def join_page(request: Request, account: Account | None = Depends(PUBLIC),
              db: Session = Depends(get_db)):
    return render(request, "codesign/join.html", {
        "conversations": codesign.open_conversations(db), "crumbs": [HOME]})


@router.get("/c/{slug}")
def conversation_page(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
                      db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant = _participant(db, request, conversation, account)
    voted, total = codesign.progress(db, conversation, participant)
    return render(request, "codesign/conversation.html", {
        "conversation": conversation, "participant": participant, "voted": voted,
        "total": total, "is_open": conversation.is_open(),
        "has_closed": conversation.has_closed(), "questions": _asked(conversation),
        "crumbs": _public_crumbs()})


@router.post("/c/{slug}/join")
def join_conversation(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
                      db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant, cookie = _join(db, request, conversation, account)
    db.commit()
    asked = _asked(conversation)
    unanswered = [q for q in asked if getattr(participant, q) is None]
    target = (f"/codesign/c/{slug}/about/{unanswered[0]}" if unanswered
              else f"/codesign/c/{slug}/vote")
    response = RedirectResponse(target, status_code=303)
    _set_participant_cookie(request, response, cookie)
    return response


def _require_participant(db: Session, request: Request, conversation: Conversation,
                         account: Account | None) -> Participant:
    participant = _participant(db, request, conversation, account)
    if participant is None:
        raise NotFound("Start the conversation first: go to its first page and choose "
                       "'Start'.", code="not_joined")
    return participant


def _question_context(request: Request, conversation: Conversation, name: str) -> dict:
    if name not in _asked(conversation):
        raise NotFound("We could not find that question.")
    settings = request.app.state.settings
    asked = _asked(conversation)
    position = asked.index(name)
    following = asked[position + 1:]
    return {"conversation": conversation,
            "question": codesign.question(name, postcode_lookup=settings.imd_path is not None),
            "number": position + 1, "of": len(asked),
            "next_url": (f"/codesign/c/{conversation.slug}/about/{following[0]}" if following
                         else f"/codesign/c/{conversation.slug}/vote"),
            "crumbs": _public_crumbs(conversation)}


@router.get("/c/{slug}/about/{name}")
def about_you(request: Request, slug: str, name: str, account: Account | None = Depends(PUBLIC),
              db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant = _require_participant(db, request, conversation, account)
    context = _question_context(request, conversation, name)
    current = getattr(participant, name)
    return render(request, "codesign/about_you.html", {
        **context, "values": {"answer": current if not context["question"].free_text else ""}})


@router.post("/c/{slug}/about/{name}")
async def answer_about_you(request: Request, slug: str, name: str,
                           account: Account | None = Depends(PUBLIC),
                           db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant = _require_participant(db, request, conversation, account)
    context = _question_context(request, conversation, name)
    form = await request.form()
    value = form_text(form, "answer", 40)
    if form_text(form, "skip", 10):
        value = "prefer_not_to_say"
    errors = FormErrors()
    settings = request.app.state.settings
    try:
        codesign.answer(db, participant, name, value, imd_path=settings.imd_path,
                        data_dir=settings.data_dir)
        db.commit()
        return RedirectResponse(context["next_url"], status_code=303)
    except VoicesError as exc:
        db.rollback()
        errors.add_error(exc, "answer")
    return render(request, "codesign/about_you.html", {
        **context, "errors": errors, "values": {"answer": value}}, status_code=422)


def _vote_context(db: Session, request: Request, conversation: Conversation,
                  participant: Participant | None, statement_number: str | None = None) -> dict:
    statement = None
    current = None
    if statement_number and statement_number.isdigit() and participant is not None:
        statement = next((s for s in codesign.statements(db, conversation,
                                                         StatementStatus.accepted)
                          if s.number == int(statement_number)), None)
        current = codesign.current_vote(db, participant, statement) if statement else None
    if statement is None:
        statement = codesign.next_statement(db, conversation, participant)
    voted, total = codesign.progress(db, conversation, participant)
    return {"conversation": conversation, "participant": participant, "statement": statement,
            "current": current, "voted": voted, "total": total,
            "is_open": conversation.is_open(), "crumbs": _public_crumbs(conversation)}


@router.get("/c/{slug}/vote")
def vote_page(request: Request, slug: str, statement: str | None = None, saved: int = 0,
              last: str | None = None, account: Account | None = Depends(PUBLIC),
              db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant = _participant(db, request, conversation, account)
    if participant is None:
        return RedirectResponse(f"/codesign/c/{slug}", status_code=303)
    context = _vote_context(db, request, conversation, participant, statement)
    context["saved"] = bool(saved)
    context["last"] = last if last and last.isdigit() else None
    template = "codesign/_voting.html" if request.headers.get("hx-request") \
        else "codesign/vote.html"
    return render(request, template, context)


@router.post("/c/{slug}/vote")
async def vote(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
               db: Session = Depends(get_db)):
    htmx = bool(request.headers.get("hx-request"))
    conversation = codesign.conversation_by_slug(db, slug)
    form = await request.form()
    number, choice = form_text(form, "statement", 12), form_text(form, "vote", 12)
    errors = FormErrors({"vote": "vote-buttons"})
    participant = None
    try:
        participant = _require_participant(db, request, conversation, account)
        _limit_sender(request, "vote", account)
        codesign.cast_vote(db, conversation, participant, number, choice)
        db.commit()
    except VoicesError as exc:
        # a bad choice or going too fast: the same statement again, with the message
        again = isinstance(exc, (ValidationError, TooManyRequests))
        if not htmx and not again:
            # the error page; no rollback first: it would expire the signed-in account the
            # page shows (nothing was written, and closing the session discards it anyway)
            raise
        db.rollback()
        errors.add_error(exc, "vote")
        status = 200 if htmx else exc.status
        context = _vote_context(db, request, conversation, participant,
                                number if again else None)
        extra = {"fragment_errors": errors} if htmx else {"errors": errors}
        response = render(request, "codesign/_voting.html" if htmx else "codesign/vote.html",
                          {**context, **extra}, status_code=status)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if not htmx:
        return RedirectResponse(f"/codesign/c/{slug}/vote?saved=1&last={number}",
                                status_code=303)
    context = _vote_context(db, request, conversation, participant)
    return render(request, "codesign/_voting.html", {**context, "saved": True,
                                                     "last": number})


@router.get("/c/{slug}/statements/new")
def new_statement_page(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
                       db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    _require_participant(db, request, conversation, account)
    codesign.check_open(conversation)
    return render(request, "codesign/statement_form.html", {
        "conversation": conversation, "limit": codesign.STATEMENT_LENGTH,
        "crumbs": _public_crumbs(conversation)})


@router.post("/c/{slug}/statements/new")
async def add_statement(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
                        db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant = _require_participant(db, request, conversation, account)
    form = await request.form()
    text = form_text(form, "text", 2000)
    errors = FormErrors()
    try:
        _limit_sender(request, "statement", account)
        statement = codesign.add_statement(db, conversation, text, participant=participant)
        db.commit()
        done = "shown" if statement.status is StatementStatus.accepted else "pending"
        return RedirectResponse(f"/codesign/c/{slug}/statements/thanks?{done}=1",
                                status_code=303)
    except VoicesError as exc:
        if exc.code == "conversation_closed":
            raise                   # the error page (see vote: no rollback before it)
        db.rollback()
        errors.add_error(exc, "text")
        status = exc.status if isinstance(exc, TooManyRequests) else 422
    return render(request, "codesign/statement_form.html", {      # what they wrote is kept
        "conversation": conversation, "limit": codesign.STATEMENT_LENGTH, "errors": errors,
        "values": {"text": text}, "crumbs": _public_crumbs(conversation)}, status_code=status)


@router.get("/c/{slug}/statements/thanks")
def statement_thanks(request: Request, slug: str, pending: int = 0,
                     account: Account | None = Depends(PUBLIC), db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    return render(request, "codesign/statement_thanks.html", {
        "conversation": conversation, "pending": bool(pending),
        "crumbs": _public_crumbs(conversation)})


@router.get("/c/{slug}/results")
def public_results(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
                   db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    if not conversation.has_closed():
        raise NotFound("The results are published when the conversation closes.",
                       code="results_not_published")
    return render(request, "codesign/results.html", {
        **report.results_context(db, conversation), "public": True,
        "crumbs": _public_crumbs(conversation)})


# ------------------------------------------------------------------ staff pages


def _staff_conversation(db: Session, account: Account, conversation_id: int) -> Conversation:
    return codesign.get_conversation(db, conversation_id, visible_organisations(db, account))


def _conversation_crumbs(conversation: Conversation) -> list[dict]:
    return CRUMBS + [{"href": f"/codesign/conversations/{conversation.id}",
                      "text": "Conversation"}]


@router.get("")
def landing(request: Request, account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    scope = visible_organisations(db, account)
    return render(request, "codesign/index.html", {
        "conversations": codesign.list_conversations(db, scope),
        "ideas": idea_service.list_ideas(db, scope)[:5],
        "is_lead": account.role in (Role.admin, Role.involvement_lead), "crumbs": [HOME]})


def _organisation_options(db: Session, account: Account, selected: str | None) -> list[dict]:
    scope = visible_organisations(db, account)
    default = str(account.organisation_id or "")
    return [{"value": str(o.id), "text": f"{o.name} ({o.ods_code})",
             "selected": str(o.id) == (selected or default)}
            for o in core.list_organisations(db) if scope is None or o.id in scope]


def _date(form, prefix: str, errors: FormErrors, label: str, *, end_of_day: bool = False
          ) -> dt.datetime | None:
    parts = [form_text(form, f"{prefix}-{p}", 4) for p in ("day", "month", "year")]
    if not any(parts):
        return None
    try:
        day = dt.date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        errors.add(f"{prefix}-day", f"{label} must be a real date, like 27 3 2027")
        return None
    moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return moment + dt.timedelta(days=1) if end_of_day else moment


def _conversation_form(request: Request, db: Session, account: Account, values: dict,
                       errors: FormErrors | None = None, status: int = 200):
    return render(request, "codesign/conversation_form.html", {
        "values": values, "errors": errors,
        "organisations": _organisation_options(db, account, values.get("organisation_id")),
        "questions": [{"value": q, "text": codesign.question(q).title,
                       "checked": q in values.get("demographics", [])} for q in QUESTIONS],
        "crumbs": CRUMBS}, status_code=status)


@router.get("/conversations/new")
def new_conversation(request: Request, account: Account = Depends(LEADS),
                     db: Session = Depends(get_db)):
    return _conversation_form(request, db, account, {"moderation": "on", "demographics": []})


@router.post("/conversations/new")
async def create_conversation(request: Request, account: Account = Depends(LEADS),
                              db: Session = Depends(get_db)):
    form = await request.form()
    values = {k: form_text(form, k, 6000) for k in
              ("question", "background", "seed_statements", "organisation_id", "moderation")}
    values["demographics"] = [v for v in form.getlist("demographics") if isinstance(v, str)]
    for prefix in ("opens", "closes"):
        for part in ("day", "month", "year"):
            values[f"{prefix}-{part}"] = form_text(form, f"{prefix}-{part}", 4)
    errors = FormErrors({"closes_at": "closes-day", "opens_at": "opens-day"})
    if not values["question"].strip():   # checked here too, so every error shows at once
        errors.add("question", "Enter the question")
    opens = _date(form, "opens", errors, "The opening date")
    closes = _date(form, "closes", errors, "The closing date", end_of_day=True)
    scope = visible_organisations(db, account)
    org_id = int(values["organisation_id"]) if values["organisation_id"].isdigit() else None
    if org_id is None or (scope is not None and org_id not in scope):
        errors.add("organisation_id", "Choose the organisation running this conversation")
    if not errors:
        try:
            conversation = codesign.create_conversation(
                db, organisation_id=org_id, question=values["question"],
                background=values["background"],
                seed_statements=values["seed_statements"].splitlines(), opens_at=opens,
                closes_at=closes, moderation=values["moderation"] == "on",
                demographics=values["demographics"], actor=account)
            db.commit()
            return RedirectResponse(f"/codesign/conversations/{conversation.id}?done=created",
                                    status_code=303)
        except VoicesError as exc:
            db.rollback()
            errors.add_error(exc, "question")
    return _conversation_form(request, db, account, values, errors, 422)


NOTICES = {"created": "The conversation is open. Share its link with the people you want "
                      "to hear from.",
           "closed": "The conversation is closed. Its results are now public.",
           "population": "The local population figures are saved.",
           "seed": "The statement is added and shown to voters.",
           "imported": "The Pol.is conversation is imported and its opinion map is ready."}


@router.get("/conversations/{conversation_id}")
def conversation_overview(request: Request, conversation_id: int, done: str | None = None,
                          account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    return render(request, "codesign/overview.html", {
        "conversation": conversation, "counts": codesign.counts(db, conversation),
        "map": codesign.opinion_map(db, conversation),
        "map_waiting": codesign.map_update_waiting(db, conversation),
        "link": f"{request.app.state.settings.base_url.rstrip('/')}/codesign/c/"
                f"{conversation.slug}",
        "is_lead": account.role in (Role.admin, Role.involvement_lead),
        "notice": NOTICES.get(done or ""), "notice_success": True,
        "crumbs": CRUMBS})


@router.post("/conversations/{conversation_id}/close")
def close_conversation(conversation_id: int, account: Account = Depends(LEADS),
                       db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    codesign.close_conversation(db, conversation, account)
    codesign.request_map_update(db, conversation, account)
    db.commit()
    return RedirectResponse(f"/codesign/conversations/{conversation.id}?done=closed",
                            status_code=303)


@router.post("/conversations/{conversation_id}/map")
def update_map(conversation_id: int, account: Account = Depends(LEADS),
               db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    job = codesign.request_map_update(db, conversation, account)
    db.commit()
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/conversations/{conversation_id}/statements")
async def add_seed_statement(request: Request, conversation_id: int,
                             account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    form = await request.form()
    errors = FormErrors()
    try:
        codesign.add_statement(db, conversation, form_text(form, "text", 2000), actor=account,
                               seed=True)
        db.commit()
        return RedirectResponse(f"/codesign/conversations/{conversation.id}/moderation"
                                "?done=seed", status_code=303)
    except VoicesError as exc:
        db.rollback()
        errors.add_error(exc, "text")
    return _moderation(request, db, conversation, account, errors,
                       {"text": form_text(form, "text", 2000)}, 422)


def _moderation(request: Request, db: Session, conversation: Conversation, account: Account,
                errors: FormErrors | None = None, values: dict | None = None, status: int = 200,
                notice: str | None = None):
    unclear = codesign.unclear_counts(db, conversation)
    everything = codesign.statements(db, conversation)
    pending = codesign.waiting_statements(db, conversation, account, everything)
    db.commit()                                  # the audit of what the lead is shown
    return render(request, "codesign/moderation.html", {
        "conversation": conversation,
        "pending": pending,
        "review": [(s, unclear.get(s.id, 0)) for s in everything
                   if s.review.value == "needed" and s.status is StatementStatus.accepted],
        "shown": [s for s in everything if s.status is StatementStatus.accepted],
        "rejected": [s for s in everything if s.status is StatementStatus.rejected],
        "unclear": unclear, "limit": codesign.STATEMENT_LENGTH, "errors": errors,
        "values": values or {}, "notice": notice, "notice_success": True,
        "crumbs": _conversation_crumbs(conversation)}, status_code=status)


@router.get("/conversations/{conversation_id}/moderation")
def moderation_page(request: Request, conversation_id: int, done: str | None = None,
                    account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    notice = {"seed": NOTICES["seed"], "accepted": "The statement is now shown to voters.",
              "rejected": "The statement is hidden from voters.",
              "reviewed": "The review is finished."}.get(done or "")
    return _moderation(request, db, conversation, account, notice=notice)


@router.post("/conversations/{conversation_id}/statements/{statement_id}/moderate")
async def moderate_statement(request: Request, conversation_id: int, statement_id: int,
                             account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    statement = codesign.get_statement(db, conversation, statement_id)
    form = await request.form()
    decision = form_text(form, "decision", 10)
    if decision not in ("accept", "reject"):
        raise ValidationError("Choose whether to show or hide the statement",
                              column="decision", expected="accept or reject")
    codesign.moderate(db, statement, decision == "accept", account)
    db.commit()
    return RedirectResponse(f"/codesign/conversations/{conversation.id}/moderation?done="
                            f"{'accepted' if decision == 'accept' else 'rejected'}",
                            status_code=303)


@router.post("/conversations/{conversation_id}/statements/{statement_id}/review")
async def review_statement(request: Request, conversation_id: int, statement_id: int,
                           account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    statement = codesign.get_statement(db, conversation, statement_id)
    form = await request.form()
    field = f"reword-{statement.id}"
    text = form_text(form, field, 2000)
    errors = FormErrors({"text": field})
    try:
        codesign.review(db, conversation, statement, account, new_text=text or None)
        db.commit()
        return RedirectResponse(f"/codesign/conversations/{conversation.id}/moderation"
                                "?done=reviewed", status_code=303)
    except VoicesError as exc:
        db.rollback()
        errors.add_error(exc, field)
    return _moderation(request, db, conversation, account, errors, {field: text}, 422)


@router.get("/conversations/{conversation_id}/results")
def results_page(request: Request, conversation_id: int, account: Account = Depends(STAFF),
                 db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    return render(request, "codesign/results.html", {
        **report.results_context(db, conversation), "public": False,
        "is_lead": account.role in (Role.admin, Role.involvement_lead),
        "crumbs": _conversation_crumbs(conversation)})


@router.get("/conversations/{conversation_id}/report.{fmt}")
def results_report(request: Request, conversation_id: int, fmt: Literal["html", "pdf"],
                   account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    content = report.results_report(db, conversation, fmt, actor=account)
    db.commit()
    return _download(content, f"{conversation.slug}-results.{fmt}", fmt)


def _download(content: bytes, filename: str, fmt: str) -> Response:
    media = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
             "zip": "application/zip"}[fmt]
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/conversations/{conversation_id}/polis.zip")
def export_polis(conversation_id: int, account: Account = Depends(LEADS),
                 db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    with tempfile.TemporaryDirectory(prefix="voices-polis-") as folder:
        written = transfer.export_polis(db, conversation, Path(folder), actor=account)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, path.name)
    db.commit()
    return _download(buffer.getvalue(), f"{conversation.slug}-polis.zip", "zip")


def _population_form(request: Request, conversation: Conversation, values: dict,
                     errors: FormErrors | None = None, status: int = 200):
    from voices.equity.dimensions import DIMENSIONS

    sections = []
    for name in QUESTIONS:
        spec = DIMENSIONS[name]
        sections.append({"name": name, "label": spec.label, "codes": [
            {"id": f"{name}-{code}", "label": spec.label_for(code),
             "value": values.get(f"{name}-{code}", "")} for code in spec.known_codes()]})
    return render(request, "codesign/population.html", {
        "conversation": conversation, "sections": sections, "errors": errors,
        "crumbs": _conversation_crumbs(conversation)}, status_code=status)


@router.get("/conversations/{conversation_id}/population")
def population_page(request: Request, conversation_id: int, account: Account = Depends(LEADS),
                    db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    values = {f"{name}-{code}": f"{share:g}" for name, shares in
              (conversation.population or {}).items() for code, share in shares.items()}
    return _population_form(request, conversation, values)


@router.post("/conversations/{conversation_id}/population")
async def save_population(request: Request, conversation_id: int,
                          account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    from voices.equity.dimensions import DIMENSIONS

    conversation = _staff_conversation(db, account, conversation_id)
    form = await request.form()
    values, population = {}, {}
    for name in QUESTIONS:
        for code in DIMENSIONS[name].known_codes():
            text = form_text(form, f"{name}-{code}", 12)
            values[f"{name}-{code}"] = text
            if text:
                population.setdefault(name, {})[code] = text
    errors = FormErrors()
    try:
        codesign.set_population(db, conversation, population, actor=account)
        db.commit()
        return RedirectResponse(f"/codesign/conversations/{conversation.id}?done=population",
                                status_code=303)
    except VoicesError as exc:
        db.rollback()
        problem = exc.problems[0] if isinstance(exc, ValidationError) and exc.problems else None
        column = (problem.column or "") if problem else ""
        field = column.replace(".", "-") if "." in column else next(
            (f"{column}-{c}" for c in DIMENSIONS[column].known_codes()), "age_band-18-24") \
            if column in DIMENSIONS else "age_band-18-24"
        errors.add(field, exc.message)
    return _population_form(request, conversation, values, errors, 422)


IMPORT_FIELDS = {"comments.csv": "comments", "votes.csv": "votes",
                 "participants-votes.csv": "participants_votes"}


def _import_errors(exc: VoicesError, errors: FormErrors) -> None:
    """Show each problem beside the file it is in, located by row and column."""
    if not isinstance(exc, ValidationError):
        errors.add("comments", exc.message)
        return
    for problem in exc.problems:
        name = Path(problem.file).name if problem.file else ""
        located = Problem(problem.message, file=name if name in IMPORT_FIELDS else None,
                          row=problem.row, column=problem.column, expected=problem.expected)
        errors.add(IMPORT_FIELDS.get(name, "comments"), str(located))


@router.get("/import")
def import_page(request: Request, account: Account = Depends(LEADS),
                db: Session = Depends(get_db)):
    return render(request, "codesign/import.html", {
        "organisations": _organisation_options(db, account, None), "crumbs": CRUMBS})


@router.post("/import")
async def import_polis(request: Request, account: Account = Depends(LEADS),
                       db: Session = Depends(get_db)):
    form = await request.form()
    values = {k: form_text(form, k, 300) for k in ("question", "organisation_id")}
    errors = FormErrors()
    scope = visible_organisations(db, account)
    org_id = int(values["organisation_id"]) if values["organisation_id"].isdigit() else None
    if org_id is None or (scope is not None and org_id not in scope):
        errors.add("organisation_id", "Choose the organisation the conversation belongs to")
    files = {name: form.get(field) for name, field in
             (("comments.csv", "comments"), ("votes.csv", "votes"),
              ("participants-votes.csv", "participants_votes"))}
    uploaded = {name: f for name, f in files.items() if hasattr(f, "read") and f.filename}
    if not uploaded:
        errors.add("comments", "Choose the Pol.is export files to import")
    if not errors:
        with tempfile.TemporaryDirectory(prefix="voices-polis-") as folder:
            for name, upload in uploaded.items():
                (Path(folder) / name).write_bytes(await upload.read())
            try:
                conversation = transfer.import_polis(
                    db, Path(folder), organisation_id=org_id,
                    question=values["question"] or "Imported Pol.is conversation",
                    actor=account)
                db.commit()
                return RedirectResponse(f"/codesign/conversations/{conversation.id}"
                                        "?done=imported", status_code=303)
            except VoicesError as exc:
                db.rollback()
                _import_errors(exc, errors)
    return render(request, "codesign/import.html", {
        "errors": errors, "values": values,
        "organisations": _organisation_options(db, account, values["organisation_id"]),
        "crumbs": CRUMBS}, status_code=422)


# ------------------------------------------------------------------------- ideas


def _idea(db: Session, account: Account, idea_id: int):
    return idea_service.get_idea(db, idea_id, visible_organisations(db, account))


IDEA_CRUMBS = CRUMBS + [{"href": "/codesign/ideas", "text": "Ideas"}]


@router.get("/ideas")
def ideas_page(request: Request, account: Account = Depends(STAFF),
               db: Session = Depends(get_db)):
    return render(request, "codesign/ideas.html", {
        "ideas": idea_service.list_ideas(db, visible_organisations(db, account)),
        "stages": STAGES, "crumbs": CRUMBS})


@router.post("/conversations/{conversation_id}/ideas")
async def create_idea(request: Request, conversation_id: int, account: Account = Depends(LEADS),
                      db: Session = Depends(get_db)):
    conversation = _staff_conversation(db, account, conversation_id)
    form = await request.form()
    statement_id = form_text(form, "statement_id", 12)
    if not statement_id.isdigit():
        raise ValidationError("Choose the statement to make an idea of", column="statement_id")
    statement = codesign.get_statement(db, conversation, int(statement_id))
    idea = idea_service.idea_from_statement(db, conversation, statement, actor=account)
    db.commit()
    return RedirectResponse(f"/codesign/ideas/{idea.id}?done=created", status_code=303)


def _idea_page(request: Request, db: Session, account: Account, idea, errors=None,
               values=None, status=200, notice=None):
    partners = idea_service.partner_accounts(db)
    return render(request, "codesign/idea.html", {
        "idea": idea, "history": idea_service.history(db, idea), "stages": STAGES,
        "next_stage": idea_service.next_stage(idea.stage),
        "is_lead": account.role in (Role.admin, Role.involvement_lead),
        "partner_options": [{"value": "", "text": "Choose a partner"}] + [
            {"value": str(p.id), "text": p.display_name,
             "selected": str(p.id) == (values or {}).get("partner_id")} for p in partners],
        "organisation_options": [{"value": "", "text": "Another organisation (name it below)"}]
        + [{"value": str(o.id), "text": o.name,
            "selected": str(o.id) == (values or {}).get("supporter_organisation_id")}
           for o in core.list_organisations(db)],
        "errors": errors, "values": values or {"title": idea.title, "summary": idea.summary,
                                               "proposal": idea.proposal},
        "notice": notice, "notice_success": True, "crumbs": IDEA_CRUMBS}, status_code=status)


IDEA_NOTICES = {"created": "The idea is created at the explore stage.",
                "stage": "The idea has moved stage.", "edited": "The changes are saved.",
                "supporter": "The supporting organisation is added.",
                "partner": "The partner is added."}


@router.get("/ideas/{idea_id}")
def idea_page(request: Request, idea_id: int, done: str | None = None,
              account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    idea = _idea(db, account, idea_id)
    return _idea_page(request, db, account, idea, notice=IDEA_NOTICES.get(done or ""))


@router.post("/ideas/{idea_id}/{action}")
async def change_idea(request: Request, idea_id: int,
                      action: Literal["stage", "edit", "supporter", "partner"],
                      account: Account = Depends(LEADS), db: Session = Depends(get_db)):
    idea = _idea(db, account, idea_id)
    form = await request.form()
    values = {k: form_text(form, k, 20000) for k in form if k != "csrf_token"}
    errors = FormErrors()
    try:
        if action == "stage":
            idea_service.move_stage(db, idea, values.get("stage", ""), values.get("why", ""),
                                    actor=account)
        elif action == "edit":
            idea_service.edit(db, idea, title=values.get("title", ""),
                              summary=values.get("summary", ""),
                              proposal=values.get("proposal", ""),
                              why=values.get("edit_why", ""), actor=account)
        elif action == "supporter":
            org = values.get("supporter_organisation_id", "")
            idea_service.add_supporter(
                db, idea, organisation_id=int(org) if org.isdigit() else None,
                name=values.get("supporter_name", ""),
                contribution=values.get("contribution", ""), actor=account)
        else:
            partner = values.get("partner_id", "")
            idea_service.add_partner(db, idea, int(partner) if partner.isdigit() else None,
                                     role=values.get("partner_role", ""), actor=account)
        db.commit()
        done = "stage" if action == "stage" else "edited" if action == "edit" else action
        return RedirectResponse(f"/codesign/ideas/{idea.id}?done={done}", status_code=303)
    except VoicesError as exc:
        db.rollback()
        errors.add_error(exc, {"stage": "why", "edit": "title", "supporter": "supporter_name",
                               "partner": "partner_id"}[action])
    db.refresh(idea)
    return _idea_page(request, db, account, idea, errors,
                      {"title": idea.title, "summary": idea.summary, "proposal": idea.proposal,
                       **values}, 422)


@router.get("/ideas/{idea_id}/proposal")
def proposal_page(request: Request, idea_id: int, account: Account = Depends(STAFF),
                  db: Session = Depends(get_db)):
    idea = _idea(db, account, idea_id)
    return render(request, "codesign/proposal.html", {
        **report.proposal_context(db, idea),
        "crumbs": IDEA_CRUMBS + [{"href": f"/codesign/ideas/{idea.id}", "text": "Idea"}]})


@router.get("/ideas/{idea_id}/proposal.{fmt}")
def proposal_download(idea_id: int, fmt: Literal["html", "pdf"],
                      account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    idea = _idea(db, account, idea_id)
    content = report.proposal_document(db, idea, fmt, actor=account)
    db.commit()
    return _download(content, f"proposal-{idea.id}.{fmt}", fmt)


# --------------------------------------------------------------------- JSON API


class ConversationOut(BaseModel):
    slug: str
    question: str
    background: str
    is_open: bool
    opens_at: dt.datetime
    closes_at: dt.datetime | None
    link: str


class StatementOut(BaseModel):
    number: int = Field(..., description="The statement's number in this conversation")
    text: str


class VotingOut(BaseModel):
    conversation: ConversationOut
    joined: bool
    voted: int
    total: int
    next: StatementOut | None
    csrf_token: str = Field(..., description="Send as the X-CSRF-Token header with each POST")


class VoteIn(BaseModel):
    statement: int = Field(..., ge=0, description="The statement's number")
    vote: Literal["agree", "disagree", "pass", "unclear"]


class VoteOut(BaseModel):
    stored: bool
    statement: int
    vote: str
    next: StatementOut | None


class StatementIn(BaseModel):
    text: str = Field(..., max_length=2000)


class StatementAdded(BaseModel):
    number: int
    status: Literal["pending", "accepted"]


def _conversation_out(conversation: Conversation) -> ConversationOut:
    return ConversationOut(slug=conversation.slug, question=conversation.question,
                           background=conversation.background, is_open=conversation.is_open(),
                           opens_at=conversation.opens_at, closes_at=conversation.closes_at,
                           link=f"/codesign/c/{conversation.slug}")


def _statement_out(statement) -> StatementOut | None:
    return None if statement is None else StatementOut(number=statement.number,
                                                       text=statement.text)


@api_router.get("/conversations", response_model=list[ConversationOut], responses=ERRORS,
                summary="Conversations open for votes")
def api_open_conversations(account: Account | None = Depends(PUBLIC),
                           db: Session = Depends(get_db)):
    return [_conversation_out(c) for c in codesign.open_conversations(db)]


@api_router.get("/conversations/{slug}", response_model=VotingOut, responses=ERRORS,
                summary="A conversation, your progress and the next statement to vote on")
def api_conversation(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
                     db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant = _participant(db, request, conversation, account)
    voted, total = codesign.progress(db, conversation, participant)
    return VotingOut(conversation=_conversation_out(conversation), joined=participant is not None,
                     voted=voted, total=total,
                     next=_statement_out(codesign.next_statement(db, conversation, participant)),
                     csrf_token=csrf_token_for(request))


@api_router.post("/conversations/{slug}/join", response_model=VotingOut, responses=ERRORS,
                 summary="Join a conversation (sets the participant cookie)")
def api_join(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
             db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant, cookie = _join(db, request, conversation, account)
    db.commit()
    voted, total = codesign.progress(db, conversation, participant)
    body = VotingOut(conversation=_conversation_out(conversation), joined=True, voted=voted,
                     total=total,
                     next=_statement_out(codesign.next_statement(db, conversation, participant)),
                     csrf_token=csrf_token_for(request))
    response = Response(body.model_dump_json(), media_type="application/json")
    _set_participant_cookie(request, response, cookie)
    return response


@api_router.post("/conversations/{slug}/votes", response_model=VoteOut, responses=ERRORS,
                 summary="Vote on a statement (voting again changes your vote)")
def api_vote(request: Request, slug: str, body: VoteIn, account: Account | None = Depends(PUBLIC),
             db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant = _require_participant(db, request, conversation, account)
    _limit_sender(request, "vote", account)
    codesign.cast_vote(db, conversation, participant, body.statement, body.vote)
    db.commit()
    return VoteOut(stored=True, statement=body.statement, vote=body.vote,
                   next=_statement_out(codesign.next_statement(db, conversation, participant)))


@api_router.post("/conversations/{slug}/statements", response_model=StatementAdded,
                 status_code=201, responses=ERRORS, summary="Add your own statement")
def api_add_statement(request: Request, slug: str, body: StatementIn,
                      account: Account | None = Depends(PUBLIC), db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    participant = _require_participant(db, request, conversation, account)
    _limit_sender(request, "statement", account)
    statement = codesign.add_statement(db, conversation, body.text, participant=participant)
    db.commit()
    return StatementAdded(number=statement.number, status=statement.status.value)


class GroupOut(BaseModel):
    name: str
    members: int | str
    distinctive: list[int]


class MapOut(BaseModel):
    updated_at: dt.datetime | None
    participants: int | str
    placed: int | str
    groups: list[GroupOut]
    common_ground: list[int]


@api_router.get("/conversations/{slug}/map", response_model=MapOut, responses=ERRORS,
                summary="The opinion map's published summary (counts rounded, small ones hidden)")
def api_map(slug: str, account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    conversation = codesign.conversation_by_slug(db, slug)
    scope = visible_organisations(db, account)
    if scope is not None and conversation.organisation_id not in scope:
        raise NotFound("We could not find that conversation.")
    context = report.results_context(db, conversation)
    published = context["results"]
    return MapOut(
        updated_at=context["map"].updated_at if context["map"] else None,
        participants=published.participants if published else 0,
        placed=published.placed if published else 0,
        groups=[GroupOut(name=g.name, members=g.members,
                         distinctive=[s.number for s, _, _ in g.distinctive])
                for g in (published.groups if published else [])],
        common_ground=[s.number for s in (published.common_ground if published else [])])
