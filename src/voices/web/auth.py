"""Signing in and out."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from voices.core import service as core
from voices.core.models import Account, Role
from voices.errors import VoicesError
from voices.web.access import PUBLIC, SIGNED_IN, get_db
from voices.web.errors import TooManyRequests
from voices.web.forms import FormErrors, form_text
from voices.web.security import SESSION_COOKIE, client_key, set_cookie
from voices.web.templating import render

router = APIRouter(include_in_schema=False)

HOME_FOR_ROLE = {Role.admin: "/admin", Role.analyst: "/", Role.involvement_lead: "/",
                 Role.partner: "/"}


def _safe_next(target: str | None) -> str | None:
    """Only follow a local path after sign-in (never another site)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None, expired: int = 0,
               account: Account | None = Depends(PUBLIC)):
    notice = "Your session has ended. Sign in again." if expired else None
    return render(request, "login.html", {"next": _safe_next(next) or "", "notice": notice})


@router.post("/login")
async def login(request: Request, account: Account | None = Depends(PUBLIC),
                db: Session = Depends(get_db)):
    form = await request.form()
    email, password = form_text(form, "email", 300), form.get("password")
    password = password if isinstance(password, str) else ""
    target = _safe_next(form_text(form, "next", 500))
    errors = FormErrors()
    if not email:
        errors.add("email", "Enter your email address")
    if not password:
        errors.add("password", "Enter your password")
    # Per address *and* email: staff behind one trust network address must not lock each
    # other out; guessing one account's password is also capped by the account lockout.
    limit_key = client_key(request) + ":" + hashlib.sha256(email.lower().encode()).hexdigest()[:16]
    if not errors and not request.app.state.login_limit.hit(limit_key):
        raise TooManyRequests("You have tried to sign in too many times. Wait a minute and try "
                              "again.")
    if not errors:
        settings = request.app.state.settings
        try:
            signed_in = core.authenticate(db, email, password,
                                          max_failures=settings.login_max_failures,
                                          lockout_minutes=settings.login_lockout_minutes)
        except VoicesError as exc:
            db.commit()  # keep the failure count
            errors.add("email", exc.message)
        else:
            keys = request.app.state.keys
            core.end_session(db, keys.unsign(request.cookies.get(SESSION_COOKIE)))
            raw = core.start_session(db, signed_in, hours=settings.session_hours)
            db.commit()
            response = RedirectResponse(target or HOME_FOR_ROLE[signed_in.role], status_code=303)
            set_cookie(response, request, SESSION_COOKIE, keys.sign(raw))
            return response
    return render(request, "login.html", {"errors": errors, "values": {"email": email},
                                          "next": target or ""}, status_code=422)


@router.get("/logout")
def logout_page(request: Request, account: Account = Depends(SIGNED_IN)):
    return render(request, "logout.html")


@router.post("/logout")
def logout(request: Request, account: Account = Depends(SIGNED_IN),
           db: Session = Depends(get_db)):
    core.end_session(db, request.app.state.keys.unsign(request.cookies.get(SESSION_COOKIE)))
    db.commit()
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
