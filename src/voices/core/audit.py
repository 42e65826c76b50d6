"""The audit log: every view or export of personal data, every change of who can do what."""

from __future__ import annotations

from sqlalchemy.orm import Session

from voices.core.models import Account, AuditEvent


def record(session: Session, action: str, *, actor: Account | None = None,
           record_type: str | None = None, record_id: object = None,
           organisation_id: int | None = None, summary: str = "",
           detail: dict | None = None) -> AuditEvent:
    """Add an audit event to the session (it is written with the surrounding transaction).

    ``summary`` and ``detail`` must never hold personal data themselves: refer to records
    by type and id.
    """
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else None,
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        organisation_id=organisation_id,
        summary=summary,
        detail=detail,
    )
    session.add(event)
    return event


# SQL that makes audit_event append-only at the database level. Used by the migration.
POSTGRES_APPEND_ONLY = [
    """
    CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
    """,
]
POSTGRES_DROP_APPEND_ONLY = [
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_append_only()",
]
SQLITE_APPEND_ONLY = [
    """
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END
    """,
]
SQLITE_DROP_APPEND_ONLY = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
]
