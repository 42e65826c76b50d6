"""Reading or downloading personal data leaves a trace in the audit log, and the log
cannot be rewritten.

Each page, download and API route that shows personal data (feedback comments and their
originals, partners' records and the finance log that names them, people's interest in an
opportunity, pathway-level waiting lists, accounts, a partner's own download) is read by an
account allowed to; the audit log must then hold a new event of the expected action, by
that account, naming the record by type and id only (no name or email in it). The log's
append-only rule is in tests/core (UPDATE and DELETE on both engines); TRUNCATE is refused
on PostgreSQL here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

# (account, url, audit action). {ids} are filled from the demo.
READS = [
    ("analyst@voices.example", "/listen/comments/{comment}", "listen.comment.view"),
    ("analyst@voices.example", "/listen/explorer/export", "listen.export"),
    ("analyst@voices.example", "/listen/explorer/export?format=xlsx", "listen.export"),
    ("lead@voices.example", "/involve/community", "partner.list"),
    ("lead@voices.example", "/involve/community/{partner}", "partner.view"),
    ("lead@voices.example", "/involve/log", "log.list"),
    ("lead@voices.example", "/involve/log/export.csv", "log.export"),
    ("lead@voices.example", "/involve/log/export.xlsx", "log.export"),
    ("lead@voices.example", "/involve/manage/{opportunity}", "interest.list"),
    ("lead@voices.example", "/api/v1/involve/opportunities/{opportunity}/interest",
     "interest.list"),
    ("partner@voices.example", "/involve/me/download/file", "partner.export"),
    ("analyst@voices.example", "/access/snapshots/{snapshot}/ranked", "access.ranked"),
    ("analyst@voices.example", "/access/snapshots/{snapshot}/ranked.csv",
     "access.ranked.export"),
    ("analyst@voices.example", "/api/v1/access/snapshots/{snapshot}/ranked", "access.ranked"),
    ("lead@voices.example", "/codesign/conversations/{conversation}/polis.zip",
     "codesign.conversation.export"),
    ("admin@voices.example", "/admin", "account.list"),
]


@pytest.fixture(scope="module")
def ids(demo_site):
    queries = {
        "comment": "SELECT c.id FROM listen_comment c JOIN listen_response r ON "
                   "r.id = c.response_id JOIN service s ON s.id = r.service_id "
                   "JOIN organisation o ON o.id = s.organisation_id WHERE o.ods_code = 'RZ1' "
                   "ORDER BY c.id",
        "partner": "SELECT p.id FROM involve_partner p JOIN organisation o ON "
                   "o.id = p.organisation_id WHERE o.ods_code = 'QZ9' ORDER BY p.id",
        "opportunity": "SELECT opportunity_id FROM involve_interest ORDER BY opportunity_id",
        "snapshot": "SELECT id FROM access_snapshot ORDER BY id",
        "conversation": "SELECT conversation_id FROM codesign_statement ORDER BY 1",
    }
    with demo_site.database.engine.connect() as conn:
        return {name: conn.execute(text(sql)).scalar() for name, sql in queries.items()}


def _events(site, account_id: int) -> list:
    from voices.core.models import AuditEvent

    with site.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.actor_id == account_id)
                               .order_by(AuditEvent.id)))


@pytest.mark.parametrize("email,url,action", READS, ids=[f"{u} {a}" for _, u, a in READS])
def test_reading_personal_data_is_audited(demo_site, ids, email, url, action):
    account = demo_site.account(email)
    client = demo_site.client(email)
    before = len(_events(demo_site, account.id))
    url = url.format(**ids)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    new = _events(demo_site, account.id)[before:]
    actions = [e.action for e in new]
    assert any(a == action or a.startswith(action + ".") for a in actions), \
        f"reading {url} wrote {actions}, not {action}"
    for event in new:
        written = f"{event.summary} {event.detail or ''}"
        for personal in (account.email, account.name):
            assert personal not in written, f"the audit event names {personal!r}"


def test_the_audit_log_cannot_be_truncated_on_postgresql(database):
    from sqlalchemy.exc import DBAPIError

    from voices.core import service as core

    if database.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's; SQLite has none")
    with database.session() as session:
        core.create_organisation(session, ods_code="RZ1", name="Trust", kind="trust")
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_event"))
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 1
