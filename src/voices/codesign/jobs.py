"""Background work for co-design: updating a conversation's opinion map as votes arrive.

Votes enqueue a ``codesign.map`` job keyed ``codesign.map:<conversation id>``, so at most
one update runs per conversation at a time and at most one waits behind it (a waiting job
is reused by every vote that arrives meanwhile).
"""

from __future__ import annotations

from voices import jobs
from voices.codesign import service
from voices.db import Database


@jobs.handler(service.MAP_JOB)
def update_opinion_map(db: Database, payload: dict, report: jobs.Progress) -> dict:
    """Recompute and store one conversation's opinion map."""
    conversation_id = int(payload["conversation_id"])
    report(0.05, "Reading the votes")
    with db.session() as session:
        record = service.update_map(session, conversation_id, progress=report)
        if record is None:
            return {"conversation_id": conversation_id, "votes": 0}
        result = {"conversation_id": conversation_id, "votes": record.votes_counted,
                  "participants": record.participants, "placed": record.placed,
                  "groups": record.group_count, "seconds": record.seconds}
    report(1.0, "The opinion map is up to date")
    return result
