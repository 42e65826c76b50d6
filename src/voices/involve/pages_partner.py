"""Pages for the public and for partners: joining (one question per page), the partner's
own profile, download and erasure, notifications, credits, and opportunities."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from voices.core import service as core
from voices.core.models import Account
from voices.errors import Conflict, NotFound, ValidationError, VoicesError
from voices.involve import consent as consent_logic
from voices.involve import questions
from voices.involve import service as involve
from voices.involve.models import Partner
from voices.involve.payments import money
from voices.web.access import PARTNERS, PUBLIC, get_db
from voices.web.errors import TooManyRequests
from voices.web.forms import FormErrors, form_text
from voices.web.security import SESSION_COOKIE, client_key, set_cookie
from voices.web.templating import render

router = APIRouter()

JOIN_COOKIE = "voices_involve_join"
HOME = [{"href": "/", "text": "Home"}]
LABELS = {"formats": questions.FORMATS, "times": questions.TIMES,
          "venue": questions.VENUE_NEEDS, "conditions": questions.CONDITIONS,
          "services": questions.SERVICES_USED, "interests": questions.INTERESTS}
ME = HOME + [{"href": "/involve/me", "text": "My profile"}]


def _form_lists(form) -> dict[str, list[str]]:
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form.keys()}


def _limit(request: Request) -> None:
    if not request.app.state.public_limit.hit(client_key(request)):
        raise TooManyRequests()


def _draft(request: Request, db: Session):
    raw = request.app.state.keys.unsign(request.cookies.get(JOIN_COOKIE))
    return involve.get_draft(db, raw)


def _restart() -> RedirectResponse:
    """Back to the start when the browser has no (or an expired) sign-up draft."""
    return RedirectResponse("/involve/join?expired=1", status_code=303)


def _lookup(request: Request):
    return involve.imd_lookup(request.app.state.settings.imd_path)


def _sections(answers: dict, *, change_prefix: str, include_consents: bool = True) -> list:
    """Summary-list rows for every answered question, grouped by section."""
    sections = []
    for section, title in questions.SECTIONS.items():
        rows = []
        for q in questions.questions_for(answers):
            if q.section != section or (q.section == "consent" and not include_consents):
                continue
            rows.append({"key": {"text": q.label},
                         "value": {"text": questions.display_answer(q, answers)},
                         "actions": {"items": [{"href": f"{change_prefix}{q.key}" + (
                             "?change=1" if "join" in change_prefix else ""),
                             "text": "Change", "visuallyHiddenText": q.label.lower()}]}})
        if rows:
            sections.append({"title": title, "rows": rows, "key": section})
    return sections


# ------------------------------------------------------------------------ joining


@router.get("/join")
def join_start(request: Request, organisation: str | None = None,
               account: Account | None = Depends(PUBLIC), db: Session = Depends(get_db)):
    org = involve.community_organisation(db, organisation)
    choices = [] if org else involve.top_organisations(db)
    return render(request, "involve/join_start.html", {
        "organisation": org, "choices": choices, "crumbs": HOME})


@router.post("/join")
async def join_begin(request: Request, account: Account | None = Depends(PUBLIC),
                     db: Session = Depends(get_db)):
    _limit(request)
    form = await request.form()
    org = involve.community_organisation(db, form_text(form, "organisation", 10) or None)
    if org is None:
        return RedirectResponse("/involve/join", status_code=303)
    raw, _ = involve.start_draft(db, org)
    db.commit()
    first = questions.QUESTIONS[0].key
    response = RedirectResponse(f"/involve/join/q/{first}", status_code=303)
    set_cookie(response, request, JOIN_COOKIE, request.app.state.keys.sign(raw),
               max_age=involve.DRAFT_HOURS * 3600)
    return response


def _submitted(question: questions.Question, form: dict[str, list[str]]) -> dict:
    """What was sent, to show again beside the errors (lists only for checkboxes)."""
    return {k: (v if question.kind == "checkboxes" and k == question.key else
                (v[0] if v else "")) for k, v in form.items()}


def _previous(answers: dict, key: str) -> str:
    keys = [q.key for q in questions.questions_for(answers)]
    if key in keys and keys.index(key) > 0:
        return f"/involve/join/q/{keys[keys.index(key) - 1]}"
    return "/involve/join"


def _question_page(request: Request, question: questions.Question, values: dict, *,
                   action: str, back: str, errors: FormErrors | None = None,
                   button: str = "Continue", status_code: int = 200, crumbs=None,
                   step: tuple[int, int] | None = None):
    return render(request, "involve/question.html", {
        "q": question, "values": values, "errors": errors, "action": action, "back": back,
        "button_text": button, "section": questions.SECTIONS[question.section], "step": step,
        "wording": consent_logic.WORDINGS.get(question.key.removeprefix("consent_"))
        if question.key in questions.CONSENT_KEYS else None,
        "crumbs": crumbs}, status_code=status_code)


def _step(answers: dict, key: str) -> tuple[int, int]:
    keys = [q.key for q in questions.questions_for(answers)]
    return (keys.index(key) + 1 if key in keys else 1, len(keys))


@router.get("/join/q/{key}")
def join_question(request: Request, key: str, change: int = 0,
                  account: Account | None = Depends(PUBLIC), db: Session = Depends(get_db)):
    draft = _draft(request, db)
    db.commit()
    if draft is None:
        return _restart()
    question = questions.get_question(key) if key in questions.BY_KEY else None
    answers = draft.answers or {}
    if question is None or not question.applies(answers):
        raise NotFound("We could not find that question.")
    suffix = "?change=1" if change else ""
    return _question_page(request, question, questions.form_values(question, answers),
                          action=f"/involve/join/q/{key}{suffix}",
                          back="/involve/join/check" if change else _previous(answers, key),
                          step=_step(answers, key))


@router.post("/join/q/{key}")
async def join_answer(request: Request, key: str, change: int = 0,
                      account: Account | None = Depends(PUBLIC),
                      db: Session = Depends(get_db)):
    _limit(request)
    draft = _draft(request, db)
    if draft is None:
        db.commit()
        return _restart()
    if key not in questions.BY_KEY or not questions.BY_KEY[key].applies(draft.answers or {}):
        raise NotFound("We could not find that question.")
    question = questions.BY_KEY[key]
    form = _form_lists(await request.form())
    try:
        involve.save_answer(db, draft, question, form)
    except ValidationError as exc:
        db.rollback()
        errors = FormErrors()
        errors.add_error(exc, key)
        values = _submitted(question, form)
        answers = dict(draft.answers or {})
        suffix = "?change=1" if change else ""
        return _question_page(request, question, values, action=f"/involve/join/q/{key}{suffix}",
                              back="/involve/join/check" if change else _previous(answers, key),
                              errors=errors, status_code=422, step=_step(answers, key))
    db.commit()
    answers = draft.answers
    following = questions.next_question(answers) if change else \
        questions.next_question(answers, after=key)
    if following is None:
        return RedirectResponse("/involve/join/check", status_code=303)
    return RedirectResponse(f"/involve/join/q/{following.key}" + ("?change=1" if change else ""),
                            status_code=303)


@router.get("/join/check")
def join_check(request: Request, account: Account | None = Depends(PUBLIC),
               db: Session = Depends(get_db)):
    draft = _draft(request, db)
    db.commit()
    if draft is None:
        return _restart()
    answers = draft.answers or {}
    missing = questions.next_question(answers)
    if missing is not None:
        return RedirectResponse(f"/involve/join/q/{missing.key}", status_code=303)
    return render(request, "involve/join_check.html", {
        "sections": _sections(answers, change_prefix="/involve/join/q/"),
        "wordings": consent_logic.WORDINGS, "answers": answers,
        "back": f"/involve/join/q/{questions.questions_for(answers)[-1].key}"})


@router.get("/join/password")
def join_password(request: Request, account: Account | None = Depends(PUBLIC),
                  db: Session = Depends(get_db)):
    draft = _draft(request, db)
    db.commit()
    if draft is None:
        return _restart()
    return render(request, "involve/join_password.html", {})


@router.post("/join/password")
async def join_finish(request: Request, account: Account | None = Depends(PUBLIC),
                      db: Session = Depends(get_db)):
    _limit(request)
    draft = _draft(request, db)
    if draft is None:
        db.commit()
        return _restart()
    form = await request.form()
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    errors = FormErrors()
    if not password:
        errors.add("password", "Create a password")
    else:
        try:
            partner = involve.complete_signup(db, draft, password, lookup=_lookup(request))
        except (ValidationError, Conflict) as exc:
            db.rollback()
            column = getattr(exc, "column", None)
            if column and column in questions.BY_KEY:
                return RedirectResponse(f"/involve/join/q/{column}?change=1", status_code=303)
            errors.add_error(exc, "password")
        else:
            settings = request.app.state.settings
            raw = core.start_session(db, partner.account, hours=settings.session_hours)
            db.commit()
            response = RedirectResponse("/involve/join/done", status_code=303)
            set_cookie(response, request, SESSION_COOKIE, request.app.state.keys.sign(raw))
            response.delete_cookie(JOIN_COOKIE, path="/")
            return response
    return render(request, "involve/join_password.html", {"errors": errors}, status_code=422)


@router.get("/join/done")
def join_done(request: Request, account: Account = Depends(PARTNERS),
              db: Session = Depends(get_db)):
    partner = involve.partner_for_account(db, account)
    return render(request, "involve/join_done.html", {"partner": partner})


# ----------------------------------------------------------------- the partner's own


def _partner_or_none(db: Session, account: Account) -> Partner | None:
    return involve.partner_for_account(db, account)


def _require_partner(db: Session, account: Account) -> Partner:
    partner = _partner_or_none(db, account)
    if partner is None:
        raise NotFound("There is no partner profile for this account.")
    return partner


@router.get("/me")
def my_profile(request: Request, account: Account = Depends(PARTNERS),
               db: Session = Depends(get_db)):
    partner = _partner_or_none(db, account)
    if partner is None:
        return render(request, "involve/me_missing.html", {"crumbs": HOME})
    answers = involve.partner_answers(partner)
    consents = involve.consents_now(partner)
    interests = [i for i in involve.interests_for(db, partner)]
    log = involve.list_log(db, None, partner_id=partner.id)
    notes = involve.notifications(db, account)
    credits = involve.credits_for(db, partner)
    missing_equality = [q for q in questions.questions_for(answers)
                        if q.section == "equality" and q.key not in answers]
    db.commit()
    return render(request, "involve/me.html", {
        "partner": partner, "answers": answers, "consents": consents,
        "wordings": consent_logic.WORDINGS,
        "sections": _sections(answers, change_prefix="/involve/me/change/",
                              include_consents=False),
        "interests": interests, "log": log, "notes": notes, "credits": credits,
        "money": money, "missing_equality": missing_equality,
        "statuses": involve.INTEREST_STATUSES, "crumbs": HOME,
        "notice": {"saved": "Your answer has been saved", "read": "Messages marked as read",
                   "credit": "Thank you, we have saved your answer"}.get(
                       request.query_params.get("done", "")), "notice_success": True})


@router.get("/me/change/{key}")
def change_answer_page(request: Request, key: str, account: Account = Depends(PARTNERS),
                       db: Session = Depends(get_db)):
    partner = _require_partner(db, account)
    answers = involve.partner_answers(partner)
    if key not in questions.BY_KEY or not questions.BY_KEY[key].applies(answers):
        raise NotFound("We could not find that question.")
    question = questions.BY_KEY[key]
    return _question_page(request, question, questions.form_values(question, answers),
                          action=f"/involve/me/change/{key}", back="/involve/me",
                          button="Save", crumbs=ME)


@router.post("/me/change/{key}")
async def change_answer(request: Request, key: str, account: Account = Depends(PARTNERS),
                        db: Session = Depends(get_db)):
    partner = _require_partner(db, account)
    answers = involve.partner_answers(partner)
    if key not in questions.BY_KEY or not questions.BY_KEY[key].applies(answers):
        raise NotFound("We could not find that question.")
    question = questions.BY_KEY[key]
    form = _form_lists(await request.form())
    try:
        involve.update_answer(db, partner, question, form, actor=account,
                              lookup=_lookup(request))
    except ValidationError as exc:
        db.rollback()
        errors = FormErrors()
        errors.add_error(exc, key)
        return _question_page(request, question, _submitted(question, form),
                              action=f"/involve/me/change/{key}",
                              back="/involve/me", errors=errors, button="Save",
                              status_code=422, crumbs=ME)
    db.commit()
    answers = involve.partner_answers(partner)
    following = questions.next_question(answers)
    if following is not None:      # a change made a new question apply (e.g. a phone number)
        return RedirectResponse(f"/involve/me/change/{following.key}", status_code=303)
    return RedirectResponse("/involve/me?done=saved", status_code=303)


@router.get("/me/download")
def download_page(request: Request, account: Account = Depends(PARTNERS),
                  db: Session = Depends(get_db)):
    partner = _partner_or_none(db, account)
    if partner is None:
        return RedirectResponse("/involve/me", status_code=303)
    document = involve.export_partner(db, partner, actor=account)
    db.commit()
    return render(request, "involve/me_download.html", {
        "doc": document, "partner": partner, "crumbs": ME,
        "answers": involve.partner_answers(partner),
        "sections": _sections(involve.partner_answers(partner), change_prefix="/involve/me/change/"),
        "money": money})


@router.get("/me/download/file")
def download_json(account: Account = Depends(PARTNERS), db: Session = Depends(get_db)):
    partner = _partner_or_none(db, account)
    if partner is None:
        return RedirectResponse("/involve/me", status_code=303)
    document = involve.export_partner(db, partner, actor=account)
    db.commit()
    stamp = dt.date.today().isoformat()
    return Response(json.dumps(document, indent=2, ensure_ascii=False),
                    media_type="application/json", headers={
                        "Content-Disposition": f'attachment; filename="my-voices-data-{stamp}.json"'})


@router.get("/me/erase")
def erase_page(request: Request, account: Account = Depends(PARTNERS),
               db: Session = Depends(get_db)):
    if _partner_or_none(db, account) is None:
        return RedirectResponse("/involve/me", status_code=303)
    return render(request, "involve/me_erase.html", {"crumbs": ME})


@router.post("/me/erase")
async def erase(request: Request, account: Account = Depends(PARTNERS),
                db: Session = Depends(get_db)):
    partner = _require_partner(db, account)
    form = await request.form()
    if form_text(form, "confirm", 10) != "yes":
        errors = FormErrors()
        errors.add("confirm", "Select that you understand your account will be deleted")
        return render(request, "involve/me_erase.html", {"errors": errors, "crumbs": ME},
                      status_code=422)
    involve.erase_partner(db, partner, actor=account)
    db.commit()
    response = RedirectResponse("/involve/erased", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/erased")
def erased(request: Request, account: Account | None = Depends(PUBLIC)):
    return render(request, "involve/erased.html", {"crumbs": HOME})


@router.post("/me/notifications/read")
def read_notifications(account: Account = Depends(PARTNERS), db: Session = Depends(get_db)):
    involve.mark_read(db, account)
    db.commit()
    return RedirectResponse("/involve/me?done=read", status_code=303)


@router.post("/me/credits/{link_id}")
async def answer_credit(request: Request, link_id: int, account: Account = Depends(PARTNERS),
                        db: Session = Depends(get_db)):
    partner = _require_partner(db, account)
    form = await request.form()
    answer = form_text(form, "agree", 10)
    if answer not in ("yes", "no"):
        raise ValidationError("Select yes or no", column="agree", code="required")
    involve.answer_credit(db, partner, link_id, answer == "yes")
    db.commit()
    return RedirectResponse("/involve/me?done=credit#credits", status_code=303)


# ------------------------------------------------------------------- opportunities


@router.get("/opportunities")
def partner_opportunities(request: Request, account: Account = Depends(PARTNERS),
                          db: Session = Depends(get_db)):
    partner = _partner_or_none(db, account)
    scope = involve.partner_scope(db, partner)
    items = involve.list_opportunities(db, scope, open_only=True) if partner else []
    mine = {i.opportunity_id: i for i in involve.interests_for(db, partner)} if partner else {}
    return render(request, "involve/opportunities.html", {
        "items": items, "mine": mine, "partner": partner, "policy": involve.payment_policy(),
        "statuses": involve.INTEREST_STATUSES, "crumbs": HOME})


@router.get("/opportunities/{opportunity_id}")
def partner_opportunity(request: Request, opportunity_id: int,
                        account: Account = Depends(PARTNERS), db: Session = Depends(get_db)):
    partner = _require_partner(db, account)
    opportunity = involve.get_opportunity(db, opportunity_id, involve.partner_scope(db, partner))
    return render(request, "involve/opportunity.html", {
        "o": opportunity, "interest": involve.interest_of(db, opportunity, partner),
        "policy": involve.payment_policy(), "statuses": involve.INTEREST_STATUSES,
        "today": dt.date.today(), "labels": LABELS, "crumbs": HOME + [{"href": "/involve/opportunities",
                                                     "text": "Opportunities"}],
        "notice": {"interest": "Thank you. The involvement team will be in touch.",
                   "withdrawn": "You are no longer interested in this."}.get(
                       request.query_params.get("done", "")), "notice_success": True})


@router.post("/opportunities/{opportunity_id}")
async def partner_interest(request: Request, opportunity_id: int,
                           account: Account = Depends(PARTNERS),
                           db: Session = Depends(get_db)):
    partner = _require_partner(db, account)
    opportunity = involve.get_opportunity(db, opportunity_id, involve.partner_scope(db, partner))
    form = await request.form()
    action = form_text(form, "action", 20)
    if action == "withdraw":
        involve.withdraw_interest(db, opportunity, partner)
        db.commit()
        return RedirectResponse(f"/involve/opportunities/{opportunity_id}?done=withdrawn",
                                status_code=303)
    try:
        involve.express_interest(db, opportunity, partner, form_text(form, "note", 2000))
    except VoicesError as exc:
        db.rollback()
        errors = FormErrors()
        errors.add_error(exc, "note")
        return render(request, "involve/opportunity.html", {
            "o": opportunity, "interest": involve.interest_of(db, opportunity, partner),
            "policy": involve.payment_policy(), "statuses": involve.INTEREST_STATUSES,
            "today": dt.date.today(), "errors": errors, "labels": LABELS,
            "values": {"note": form_text(form, "note", 2000)},
            "crumbs": HOME + [{"href": "/involve/opportunities", "text": "Opportunities"}]},
            status_code=422 if isinstance(exc, ValidationError) else exc.status)
    db.commit()
    return RedirectResponse(f"/involve/opportunities/{opportunity_id}?done=interest",
                            status_code=303)
