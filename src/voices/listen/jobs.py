"""Background jobs for the web app: importing an uploaded file, classifying stored comments."""

from __future__ import annotations

from pathlib import Path

from voices import jobs
from voices.core.models import Account
from voices.db import Database
from voices.errors import VoicesError


@jobs.handler("listen.import")
def import_upload(db: Database, payload: dict, report: jobs.Progress) -> dict:
    """Import an uploaded file through a saved mapping (all or nothing), then delete it."""
    from voices.listen import service as listen
    from voices.settings import get_settings

    path = Path(payload["path"])
    scope = payload.get("organisation_ids")
    report(0.0, "Checking the file")
    try:
        with db.session() as session:
            actor = session.get(Account, payload["actor_id"]) if payload.get("actor_id") else None
            result = listen.import_file(
                session, path, payload["mapping"], settings=get_settings(), actor=actor,
                organisation_ids=set(scope) if scope is not None else None,
                display_name=payload.get("display_name"),
                progress=lambda done, total: report(0.1 + 0.9 * done / max(total, 1),
                                                    f"Stored {done:,} of {total:,} responses"))
    except VoicesError:
        path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)
    report(1.0, f"Imported {result.added:,} responses ({result.skipped:,} were already there)")
    return result.to_dict()


@jobs.handler("listen.classify")
def classify(db: Database, payload: dict, report: jobs.Progress) -> dict:
    """Classify stored comments with the active model, batch by batch."""
    from voices.listen import analysis

    scope = payload.get("organisation_ids")
    result = analysis.classify_stored(
        db, reclassify=bool(payload.get("reclassify")),
        organisation_ids=set(scope) if scope is not None else None,
        progress=lambda done, total: report(done / max(total, 1),
                                            f"Classified {done:,} of {total:,} comments"))
    report(1.0, f"Classified {result['classified']:,} comments")
    return result
