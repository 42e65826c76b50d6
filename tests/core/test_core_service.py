"""Core records on both databases: validation, duplicates, sign-in, tokens, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from voices.core import service as core
from voices.core.models import Account, AuditEvent, Organisation, WebSession
from voices.errors import Conflict, PermissionDenied, ValidationError
from voices.db import utcnow

PASSWORD = "harbour-lantern-meadow"


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_organisations_services_and_accounts_are_stored(session):
    icb = core.create_organisation(session, ods_code="qz9", name="NHS Test ICB", kind="icb")
    trust = core.create_organisation(session, ods_code="RZ1", name="Test Trust", kind="trust",
                                     parent_ods="QZ9")
    svc = core.create_service(session, organisation_id=trust.id, name="Ward 7",
                              service_type="inpatient", treatment_function_code="C_110")
    account = core.create_account(session, email="Sam@Example.org", password=PASSWORD,
                                  role="analyst", organisation_id=icb.id)
    session.commit()
    assert icb.ods_code == "QZ9" and trust.parent.ods_code == "QZ9"
    assert svc.treatment_function_code == "110" and svc.slug == "rz1-ward-7"
    assert account.email == "sam@example.org"
    assert core.organisation_scope(session, icb.id) == {icb.id, trust.id}
    actions = session.scalars(select(AuditEvent.action)).all()
    assert {"organisation.create", "service.create", "account.create"} <= set(actions)


def test_duplicates_and_bad_input_change_nothing(session):
    core.create_organisation(session, ods_code="RZ1", name="Trust", kind="trust")
    core.create_account(session, email="a@example.org", password=PASSWORD, role="admin")
    session.commit()
    before = (_count(session, Organisation), _count(session, Account))
    with pytest.raises(Conflict) as err:
        core.create_organisation(session, ods_code="rz1", name="Again", kind="trust")
    assert err.value.code == "duplicate_ods_code"
    with pytest.raises(ValidationError) as err:
        core.create_organisation(session, ods_code="NOT-AN-ODS", name="X", kind="trust")
    assert err.value.code == "invalid_ods_code"
    with pytest.raises(Conflict) as err:
        core.create_account(session, email="A@EXAMPLE.ORG", password=PASSWORD, role="analyst")
    assert err.value.code == "duplicate_email"
    with pytest.raises(ValidationError) as err:
        core.create_account(session, email="b@example.org", password="password1234",
                            role="analyst")
    assert err.value.code == "weak_password"
    with pytest.raises(ValidationError):
        core.create_account(session, email="c@example.org", password=PASSWORD, role="wizard")
    session.rollback()
    assert (_count(session, Organisation), _count(session, Account)) == before


def test_sign_in_locks_after_repeated_failures(session):
    core.create_account(session, email="a@example.org", password=PASSWORD, role="analyst")
    session.commit()
    for _ in range(5):
        with pytest.raises(core.LoginRefused) as err:
            core.authenticate(session, "a@example.org", "wrong-password-123")
        assert err.value.code == "login_failed"
        session.commit()
    with pytest.raises(core.LoginRefused) as err:
        core.authenticate(session, "a@example.org", PASSWORD)
    assert err.value.code == "account_locked"
    later = utcnow() + dt.timedelta(minutes=16)
    assert core.authenticate(session, "a@example.org", PASSWORD, now=later).email == \
        "a@example.org"


def test_unknown_email_gets_the_same_message_as_a_wrong_password(session):
    core.create_account(session, email="a@example.org", password=PASSWORD, role="analyst")
    with pytest.raises(core.LoginRefused) as unknown:
        core.authenticate(session, "nobody@example.org", PASSWORD)
    with pytest.raises(core.LoginRefused) as wrong:
        core.authenticate(session, "a@example.org", "not-the-password-1")
    assert unknown.value.message == wrong.value.message


def test_sessions_expire_and_are_stored_hashed(session):
    account = core.create_account(session, email="a@example.org", password=PASSWORD,
                                  role="analyst")
    raw = core.start_session(session, account, hours=1)
    session.commit()
    stored = session.scalars(select(WebSession.id_hash)).all()
    assert raw not in stored and len(stored) == 1
    assert core.load_session(session, raw, hours=1).account.id == account.id
    state = core.load_session(session, raw, hours=1, now=utcnow() + dt.timedelta(hours=2))
    assert state.account is None and state.expired
    assert core.load_session(session, "forged", hours=1).account is None


def test_api_tokens_are_hashed_and_revocable(session):
    account = core.create_account(session, email="a@example.org", password=PASSWORD,
                                  role="admin")
    token, secret = core.create_api_token(session, account, "Kiosk")
    session.commit()
    assert secret.startswith("vt_") and token.secret_hash not in secret
    assert core.authenticate_token(session, secret).id == account.id
    with pytest.raises(PermissionDenied):
        core.authenticate_token(session, secret[:-2] + "xx")
    core.revoke_api_token(session, token.id, account)
    session.commit()
    with pytest.raises(PermissionDenied):
        core.authenticate_token(session, secret)


def test_the_audit_log_refuses_updates_and_deletes(database):
    with database.session() as session:
        core.create_organisation(session, ods_code="RZ1", name="Trust", kind="trust")
    for statement in ("UPDATE audit_event SET action = 'tampered'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with database.engine.begin() as conn:
                conn.execute(text(statement))
    with database.session() as session:
        assert session.scalars(select(AuditEvent.action)).all() == ["organisation.create"]
