"""Who may use each page and API route.

Every route declares exactly one access rule as a dependency — ``PUBLIC``, ``SIGNED_IN`` or
``allow(role, ...)`` — and a test fails if a route has none. The rule resolves the current
account (from the session cookie or an API token) and refuses everyone else.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from voices.core import service as core
from voices.core.models import Account, Role
from voices.errors import PermissionDenied, VoicesError
from voices.web.security import SESSION_COOKIE


def get_db(request: Request) -> Iterator[Session]:
    """A database session for one request. Routes commit what they change explicitly, before
    they answer; anything not committed is rolled back."""
    session = request.app.state.database.sessionmaker()
    try:
        yield session
    finally:
        session.close()


class SignInRequired(VoicesError):
    code = "sign_in_required"
    status = 401

    def __init__(self, expired: bool = False) -> None:
        super().__init__("Your session has ended. Sign in again." if expired
                         else "Sign in to see this page.",
                         code="session_expired" if expired else None)
        self.expired = expired


def current_account(request: Request, db: Session = Depends(get_db)) -> Account | None:
    """The signed-in account (session cookie) or the API client (bearer token), or None."""
    if hasattr(request.state, "account"):
        return request.state.account
    account = None
    request.state.session_expired = False
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        account = core.authenticate_token(db, authorization[7:].strip())
        request.state.via_token = True
        db.commit()
    else:
        raw = request.app.state.keys.unsign(request.cookies.get(SESSION_COOKIE))
        if raw:
            state = core.load_session(db, raw, hours=request.app.state.settings.session_hours)
            db.commit()
            account = state.account
            request.state.session_expired = state.expired
            request.state.session_valid = account is not None
    request.state.account = account
    return account


class Access:
    """An access rule: the roles that may use a route (``None`` = anyone)."""

    def __init__(self, roles: frozenset[Role] | None, name: str) -> None:
        self.roles = roles
        self.name = name

    def __repr__(self) -> str:
        return f"Access({self.name})"

    def __call__(self, request: Request,
                 account: Account | None = Depends(current_account)) -> Account | None:
        if self.roles is None:
            return account
        if account is None:
            raise SignInRequired(expired=bool(getattr(request.state, "session_expired", False)))
        if account.role not in self.roles:
            raise PermissionDenied("You do not have permission to see this page.")
        return account


PUBLIC = Access(None, "anyone")
SIGNED_IN = Access(frozenset(Role), "signed in")


def allow(*roles: Role | str) -> Access:
    chosen = frozenset(Role(r) for r in roles)
    return Access(chosen, "+".join(sorted(r.value for r in chosen)))


ADMIN = allow(Role.admin)
STAFF = allow(Role.admin, Role.analyst, Role.involvement_lead)
ANALYSTS = allow(Role.admin, Role.analyst)
LEADS = allow(Role.admin, Role.involvement_lead)
PARTNERS = allow(Role.partner)


def visible_organisations(db: Session, account: Account) -> set[int] | None:
    """The organisations whose data an account may see: ``None`` means all (administrators
    and system-wide staff); a set means that organisation and those below it."""
    if account.role is Role.admin:
        return None
    if account.role is Role.partner:
        return set()
    if account.organisation_id is None:
        return None
    return core.organisation_scope(db, account.organisation_id)


def check_organisation(db: Session, account: Account, organisation_id: int | None) -> None:
    """Refuse (as not found, so ids cannot be probed) a record of another organisation."""
    scope = visible_organisations(db, account)
    if scope is not None and organisation_id not in scope:
        from voices.errors import NotFound

        raise NotFound("We could not find that page.")
