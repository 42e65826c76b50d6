"""The public feedback pages: find a service (``/feedback``), give feedback one question per
page (``/f/<service>``), and see what services changed ("You said, we did").

Works without JavaScript. The response is stored (committed) as soon as the rating is given,
and each later page adds to it, so leaving half way loses nothing. The browser keeps a
signed cookie naming the response it started, so only that browser can add to it, for two
hours. Spam is resisted without a CAPTCHA: a hidden honeypot field, and a limit on how many
responses one address can start in a few minutes.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from voices.core import service as core
from voices.core.models import Account, Service
from voices.errors import ValidationError
from voices.listen import service as listen
from voices.listen.questions import (
    BETTER_QUESTION,
    EQUALITY_QUESTIONS,
    FFT_ANSWERS,
    FFT_QUESTION,
    GOOD_QUESTION,
    MAX_FORM_CHARS,
    POSTCODE_WHY,
    QUESTION_BY_SLUG,
)
from voices.web.access import PUBLIC, get_db
from voices.web.errors import TooManyRequests
from voices.web.forms import FormErrors, form_text
from voices.web.security import RateLimit, client_key, set_cookie
from voices.web.templating import render

router = APIRouter(include_in_schema=False)

COOKIE = "voices_feedback"
HONEYPOT = "voices_hp"
#: The pages after the rating, in order.
STEPS = ["good", "better", "about-you", *[q.slug for q in EQUALITY_QUESTIONS], "postcode",
         "thank-you"]


def _new_response_limit(request: Request) -> RateLimit:
    limit = getattr(request.app.state, "listen_new_responses", None)
    if limit is None:
        limit = RateLimit(limit=20, seconds=300)
        request.app.state.listen_new_responses = limit
    return limit


def _check_rate(request: Request) -> None:
    if not request.app.state.public_limit.hit("listen:" + client_key(request)):
        raise TooManyRequests("You have sent a lot of answers in a short time. Wait a minute "
                              "and try again.")


def _service(db: Session, slug: str) -> Service:
    return core.get_service_by_slug(db, slug)


def _token(request: Request) -> str | None:
    return request.app.state.keys.unsign(request.cookies.get(COOKIE))


def _current(request: Request, db: Session, svc: Service):
    return listen.web_response(db, svc, _token(request))


def _next(slug: str, step: str) -> str:
    return f"/f/{slug}/{STEPS[STEPS.index(step) + 1]}"


def _back(slug: str, step: str) -> str:
    index = STEPS.index(step)
    return f"/f/{slug}" if index == 0 else f"/f/{slug}/{STEPS[index - 1]}"


def _restart(slug: str) -> RedirectResponse:
    return RedirectResponse(f"/f/{slug}?restart=1", status_code=303)


def _page(request: Request, template: str, svc: Service, context: dict, status: int = 200):
    return render(request, template, {"svc": svc, "public_page": True, **context},
                  status_code=status)


# -------------------------------------------------------------------- find a service


@router.get("/feedback")
def feedback_index(request: Request, q: str = "", account: Account | None = Depends(PUBLIC),
                   db: Session = Depends(get_db)):
    query = q.strip()[:100]
    services = listen.feedback_services(db, query)
    groups: dict[str, list[Service]] = {}
    for svc in services:
        groups.setdefault(svc.organisation.name, []).append(svc)
    return render(request, "listen/feedback_index.html", {
        "groups": groups, "query": query, "count": len(services),
        "crumbs": [{"href": "/", "text": "Home"}]})


# -------------------------------------------------------------------- the rating page


@router.get("/f/{slug}")
def rating_page(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
                db: Session = Depends(get_db)):
    svc = _service(db, slug)
    current = _current(request, db, svc)
    return _page(request, "listen/feedback_rating.html", svc, {
        "values": {"rating": current.rating if current else ""},
        "answers": FFT_ANSWERS, "question": FFT_QUESTION,
        "restarted": bool(request.query_params.get("restart"))})


@router.post("/f/{slug}")
async def rating_answer(request: Request, slug: str, account: Account | None = Depends(PUBLIC),
                        db: Session = Depends(get_db)):
    svc = _service(db, slug)
    _check_rate(request)
    form = await request.form()
    if form_text(form, HONEYPOT, 200):
        # Filled in by a robot: thank it and store nothing.
        return RedirectResponse(f"/f/{slug}/thank-you", status_code=303)
    rating = form_text(form, "rating", 40)
    errors = FormErrors()
    current = _current(request, db, svc)
    try:
        if current is not None:
            listen.set_rating(current, rating)
            db.commit()
            return RedirectResponse(f"/f/{slug}/good", status_code=303)
        if not _new_response_limit(request).hit(client_key(request)):
            raise TooManyRequests("A lot of feedback has come from your connection in the last "
                                  "few minutes. Wait a few minutes and try again.")
        _, token = listen.start_web_response(db, svc, rating)
        db.commit()
    except ValidationError as exc:
        db.rollback()
        errors.add_error(exc, "rating")
        return _page(request, "listen/feedback_rating.html", svc, {
            "errors": errors, "values": {"rating": ""}, "answers": FFT_ANSWERS,
            "question": FFT_QUESTION}, status=422)
    response = RedirectResponse(f"/f/{slug}/good", status_code=303)
    set_cookie(response, request, COOKIE, request.app.state.keys.sign(token),
               max_age=int(listen.EDIT_WINDOW.total_seconds()))
    return response


# ------------------------------------------------------------------ the comment pages

COMMENT_STEPS = {"good": ("what_good", GOOD_QUESTION,
                          ("For example, something a member of staff did, or something about "
                           "the place.")),
                 "better": ("could_improve", BETTER_QUESTION,
                            "Tell us what we could do differently.")}


@router.get("/f/{slug}/{step}")
def question_page(request: Request, slug: str, step: str,
                  account: Account | None = Depends(PUBLIC), db: Session = Depends(get_db)):
    svc = _service(db, slug)
    if step == "you-said-we-did":
        return _page(request, "listen/you_said_we_did.html", svc, {
            "replies": listen.published_replies(db, svc),
            "crumbs": [{"href": "/feedback", "text": "Give feedback"}]})
    if step == "thank-you":
        return _thank_you(request, db, svc)
    if step not in STEPS:
        from voices.errors import NotFound

        raise NotFound("We could not find that page.")
    current = _current(request, db, svc)
    if current is None:
        return _restart(slug)
    return _render_step(request, svc, step, current)


def _render_step(request: Request, svc: Service, step: str, current, *,
                 errors: FormErrors | None = None, values: dict | None = None):
    back = _back(svc.slug, step)
    if step in COMMENT_STEPS:
        question, title, hint = COMMENT_STEPS[step]
        if values is None:
            existing = next((c for c in current.comments if c.question == question), None)
            values = {"comment": existing.text if existing else ""}
        return _page(request, "listen/feedback_comment.html", svc, {
            "step": step, "title": title, "question_hint": hint, "back": back, "values": values,
            "errors": errors, "max_chars": MAX_FORM_CHARS},
            status=422 if errors else 200)
    if step == "about-you":
        return _page(request, "listen/feedback_about_you.html", svc, {"back": back})
    if step == "postcode":
        return _page(request, "listen/feedback_postcode.html", svc, {
            "back": back, "why": POSTCODE_WHY, "errors": errors,
            "values": values or {"postcode": current.postcode_district or ""}},
            status=422 if errors else 200)
    question = QUESTION_BY_SLUG[step]
    number = [q.slug for q in EQUALITY_QUESTIONS].index(step) + 1
    return _page(request, "listen/feedback_equality.html", svc, {
        "back": back, "question": question, "number": number,
        "of": len(EQUALITY_QUESTIONS) + 1,
        "values": values or {"answer": getattr(current, question.field) or ""},
        "errors": errors}, status=422 if errors else 200)


@router.post("/f/{slug}/{step}")
async def question_answer(request: Request, slug: str, step: str,
                          account: Account | None = Depends(PUBLIC),
                          db: Session = Depends(get_db)):
    svc = _service(db, slug)
    if step not in STEPS or step == "thank-you":
        from voices.errors import NotFound

        raise NotFound("We could not find that page.")
    _check_rate(request)
    form = await request.form()
    current = _current(request, db, svc)
    if current is None:
        return _restart(slug)
    errors = FormErrors()
    settings = request.app.state.settings
    values: dict = {}
    try:
        if step in COMMENT_STEPS:
            question = COMMENT_STEPS[step][0]
            raw = form.get("comment")
            text = raw if isinstance(raw, str) else ""
            values = {"comment": text}
            if len(text) > MAX_FORM_CHARS:
                raise ValidationError(f"Your answer must be {MAX_FORM_CHARS:,} characters or "
                                      "fewer", column="comment", code="too_long")
            listen.set_comment(db, current, question, text, listen.original_text(settings))
        elif step == "about-you":
            if form_text(form, "skip", 5):
                db.commit()
                return RedirectResponse(f"/f/{slug}/thank-you", status_code=303)
        elif step == "postcode":
            values = {"postcode": form_text(form, "postcode", 20)}
            listen.set_postcode(current, values["postcode"], settings,
                                prefer_not=bool(form_text(form, "prefer_not", 5)))
        else:
            question = QUESTION_BY_SLUG[step]
            values = {"answer": form_text(form, "answer", 40)}
            skipped = bool(form_text(form, "skip", 5))
            listen.set_equality(current, question.field,
                                None if skipped else values["answer"] or None)
        db.commit()
    except ValidationError as exc:
        db.rollback()
        field = {"postcode": "postcode"}.get(step, "comment" if step in COMMENT_STEPS
                                             else "answer")
        for problem in exc.problems:
            errors.add(field, problem.message)
        current = _current(request, db, svc)
        if current is None:
            return _restart(slug)
        return _render_step(request, svc, step, current, errors=errors, values=values)
    return RedirectResponse(_next(slug, step), status_code=303)


def _thank_you(request: Request, db: Session, svc: Service):
    current = _current(request, db, svc)
    if current is not None:
        listen.finish_web_response(current)
        db.commit()
    response = _page(request, "listen/feedback_thanks.html", svc, {
        "has_replies": bool(listen.published_replies(db, svc, limit=1))})
    response.delete_cookie(COOKIE, path="/")
    return response
