"""Reading and writing the core records. Routes and CLI commands call these functions;
each validates its input, changes nothing when it refuses, and writes the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voices.core import audit
from voices.core.codes import validate_ods_code, validate_treatment_function
from voices.core.models import (Account, ApiToken, Organisation, OrganisationKind, Role,
                                Service, ServiceType, WebSession)
from voices.core.passwords import (check_password, hash_password, needs_rehash,
                                   verify_nothing, verify_password)
from voices.db import utcnow
from voices.errors import Conflict, NotFound, PermissionDenied, ValidationError, VoicesError

# --------------------------------------------------------------------------- helpers


def _choice(kind, value, field: str):
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ValidationError(f"'{str(value)[:40]}' is not a valid choice", column=field,
                              expected=f"one of {allowed}", code="invalid_choice") from None


def _text(value: object, field: str, label: str, *, max_length: int = 200,
          required: bool = True) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError(f"Enter {label}", column=field, code="required")
    if len(text) > max_length:
        raise ValidationError(f"{label.capitalize()} must be {max_length} characters or fewer",
                              column=field, code="too_long")
    if any(ord(c) < 32 for c in text):
        raise ValidationError(f"{label.capitalize()} must not contain control characters",
                              column=field, code="invalid_characters")
    return text


def normalise_email(value: object, field: str = "email") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Enter an email address", column=field, code="required")
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError("Enter an email address in the correct format, like "
                              "name@example.nhs.uk", column=field, code="invalid_email") from None
    return result.normalized.lower()


# --------------------------------------------------------------------- organisations


def create_organisation(session: Session, *, ods_code: str, name: str, kind: str,
                        parent_ods: str | None = None, actor: Account | None = None
                        ) -> Organisation:
    code = validate_ods_code(ods_code)
    name = _text(name, "name", "the organisation's name")
    kind_value = _choice(OrganisationKind, kind, "kind")
    parent = None
    if parent_ods:
        parent = session.scalar(select(Organisation).where(
            Organisation.ods_code == validate_ods_code(parent_ods, column="parent_ods")))
        if parent is None:
            raise ValidationError(f"No organisation has the ODS code {parent_ods}",
                                  column="parent_ods", code="unknown_parent")
    if session.scalar(select(Organisation.id).where(Organisation.ods_code == code)):
        raise Conflict(f"An organisation with the ODS code {code} already exists",
                       code="duplicate_ods_code")
    org = Organisation(ods_code=code, name=name, kind=kind_value, parent=parent)
    session.add(org)
    session.flush()
    audit.record(session, "organisation.create", actor=actor, record_type="organisation",
                 record_id=org.id, organisation_id=org.id, summary=f"Added {code}")
    return org


def get_organisation(session: Session, ods_code: str) -> Organisation:
    org = session.scalar(select(Organisation).where(
        Organisation.ods_code == str(ods_code).strip().upper()))
    if org is None:
        raise NotFound(f"No organisation has the ODS code {str(ods_code)[:12]}")
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def organisation_scope(session: Session, org_id: int) -> set[int]:
    """An organisation and everything below it (an ICB sees its trusts' data)."""
    scope = {org_id}
    frontier = [org_id]
    while frontier:
        children = session.scalars(select(Organisation.id).where(
            Organisation.parent_id.in_(frontier))).all()
        frontier = [c for c in children if c not in scope]
        scope.update(frontier)
    return scope


# -------------------------------------------------------------------------- services

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,78}[a-z0-9])")


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].strip("-") or "service"


def create_service(session: Session, *, organisation_id: int, name: str, service_type: str,
                   treatment_function_code: str | None = None, slug: str | None = None,
                   actor: Account | None = None) -> Service:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise ValidationError("Choose the organisation that runs this service",
                              column="organisation_id", code="unknown_organisation")
    name = _text(name, "name", "the service's name")
    type_value = _choice(ServiceType, service_type, "service_type")
    tfc = validate_treatment_function(treatment_function_code)
    if slug:
        slug = slug.strip().lower()
        if not _SLUG.fullmatch(slug):
            raise ValidationError("The short link must be 3 to 80 lower-case letters, numbers "
                                  "and hyphens", column="slug", code="invalid_slug")
        if session.scalar(select(Service.id).where(Service.slug == slug)):
            raise Conflict(f"The short link '{slug}' is already in use", code="duplicate_slug")
    else:
        base = slugify(f"{org.ods_code}-{name}")
        slug, n = base, 2
        while session.scalar(select(Service.id).where(Service.slug == slug)):
            slug, n = f"{base}-{n}", n + 1
    if session.scalar(select(Service.id).where(Service.organisation_id == org.id,
                                               func.lower(Service.name) == name.lower())):
        raise Conflict(f"{org.name} already has a service called '{name}'",
                       code="duplicate_service")
    svc = Service(organisation=org, name=name, service_type=type_value,
                  treatment_function_code=tfc, slug=slug)
    session.add(svc)
    session.flush()
    audit.record(session, "service.create", actor=actor, record_type="service",
                 record_id=svc.id, organisation_id=org.id, summary=f"Added service {svc.slug}")
    return svc


def list_services(session: Session, organisation_ids: set[int] | None = None) -> list[Service]:
    query = select(Service).join(Service.organisation).order_by(Organisation.name, Service.name)
    if organisation_ids is not None:
        query = query.where(Service.organisation_id.in_(organisation_ids))
    return list(session.scalars(query))


def get_service_by_slug(session: Session, slug: str) -> Service:
    svc = session.scalar(select(Service).where(Service.slug == slug, Service.active.is_(True)))
    if svc is None:
        raise NotFound("We could not find that service")
    return svc


# -------------------------------------------------------------------------- accounts


def create_account(session: Session, *, email: str, password: str, role: str, name: str = "",
                   organisation_id: int | None = None, actor: Account | None = None) -> Account:
    address = normalise_email(email)
    role_value = _choice(Role, role, "role")
    name = _text(name, "name", "a name", required=False)
    check_password(password, email=address)
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise ValidationError("Choose an organisation from the list", column="organisation_id",
                              code="unknown_organisation")
    if session.scalar(select(Account.id).where(Account.email == address)):
        raise Conflict("An account with this email address already exists",
                       code="duplicate_email")
    account = Account(email=address, name=name, role=role_value,
                      password_hash=hash_password(password), organisation_id=organisation_id)
    session.add(account)
    session.flush()
    audit.record(session, "account.create", actor=actor, record_type="account",
                 record_id=account.id, organisation_id=organisation_id,
                 summary=f"Added a {role_value.value} account")
    return account


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.role, Account.email)))


def set_password(session: Session, account: Account, password: str,
                 actor: Account | None = None) -> None:
    check_password(password, email=account.email)
    account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    session.execute(WebSession.__table__.delete().where(WebSession.account_id == account.id))
    audit.record(session, "account.password", actor=actor or account, record_type="account",
                 record_id=account.id, summary="Password changed; sessions ended")


class LoginRefused(VoicesError):
    code = "login_failed"
    status = 401


def authenticate(session: Session, email: str, password: str, *, max_failures: int = 5,
                 lockout_minutes: int = 15, now: dt.datetime | None = None) -> Account:
    """Check an email and password. Counts failures and locks the account after
    ``max_failures`` in a row for ``lockout_minutes``. The same message is given for an
    unknown email and a wrong password."""
    now = now or utcnow()
    wrong = LoginRefused("The email address or password is not right. Check them and try again.")
    try:
        address = normalise_email(email)
    except ValidationError:
        verify_nothing(password or "")
        raise wrong from None
    account = session.scalar(select(Account).where(Account.email == address))
    if account is None or not account.active:
        verify_nothing(password or "")
        raise wrong
    if account.locked_until and account.locked_until > now:
        raise LoginRefused("This account is locked for a short time after too many attempts "
                           "to sign in. Try again later.", code="account_locked")
    if not verify_password(account.password_hash, password or ""):
        account.failed_logins += 1
        if account.failed_logins >= max_failures:
            account.locked_until = now + dt.timedelta(minutes=lockout_minutes)
            account.failed_logins = 0
            audit.record(session, "account.locked", record_type="account", record_id=account.id,
                         summary="Locked after repeated failed sign-ins")
        session.flush()
        raise wrong
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    audit.record(session, "account.login", actor=account, record_type="account",
                 record_id=account.id)
    return account


# -------------------------------------------------------------------------- sessions


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class SessionState:
    account: Account | None
    expired: bool = False


def start_session(session: Session, account: Account, *, hours: float) -> str:
    """Create a new session (a fresh id every sign-in) and return its raw id for the cookie."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(id_hash=_digest(raw), account_id=account.id, created_at=now,
                           last_seen_at=now, expires_at=now + dt.timedelta(hours=hours)))
    return raw


def load_session(session: Session, raw: str | None, *, hours: float,
                 now: dt.datetime | None = None) -> SessionState:
    if not raw:
        return SessionState(None)
    now = now or utcnow()
    row = session.get(WebSession, _digest(raw))
    if row is None:
        return SessionState(None, expired=True)
    if row.expires_at <= now or not row.account.active:
        session.delete(row)
        return SessionState(None, expired=True)
    if (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
        row.expires_at = now + dt.timedelta(hours=hours)
    return SessionState(row.account)


def end_session(session: Session, raw: str | None) -> None:
    if raw:
        row = session.get(WebSession, _digest(raw))
        if row is not None:
            session.delete(row)


# ------------------------------------------------------------------------ API tokens


def create_api_token(session: Session, account: Account, name: str,
                     actor: Account | None = None) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown once and never stored."""
    name = _text(name, "name", "a name for the token")
    public_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(public_id=public_id, secret_hash=_digest(secret), name=name,
                     account_id=account.id)
    session.add(token)
    session.flush()
    audit.record(session, "api_token.create", actor=actor or account, record_type="api_token",
                 record_id=token.id, organisation_id=account.organisation_id)
    return token, f"vt_{public_id}_{secret}"


def authenticate_token(session: Session, raw: str) -> Account:
    refused = PermissionDenied("The API token is not valid", code="invalid_token")
    refused.status = 401
    match = re.fullmatch(r"vt_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})", raw or "")
    if not match:
        raise refused
    token = session.scalar(select(ApiToken).where(ApiToken.public_id == match.group(1)))
    if token is None or token.revoked_at is not None or not token.account.active:
        raise refused
    if not hmac.compare_digest(token.secret_hash, _digest(match.group(2))):
        raise refused
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        token.last_used_at = now
    return token.account


def revoke_api_token(session: Session, token_id: int, actor: Account) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such API token")
    token.revoked_at = utcnow()
    audit.record(session, "api_token.revoke", actor=actor, record_type="api_token",
                 record_id=token.id)
