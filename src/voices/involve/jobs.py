"""Involve's background jobs: choosing a panel by fair lottery."""

from __future__ import annotations

from voices import jobs
from voices.db import Database


@jobs.handler("involve.panel_select")
def panel_select(db: Database, payload: dict, report: jobs.Progress) -> dict:
    """Work out everyone's chance of selection (LEXIMIN) and the ticket lottery."""
    from voices.involve import panel_service
    from voices.involve.models import Panel

    panel_id = int(payload["panel_id"])
    try:
        with db.session() as session:
            result = panel_service.run_selection(session, panel_id, report)
    except Exception:
        with db.session() as session:        # never leave the panel looking busy
            panel = session.get(Panel, panel_id)
            if panel is not None and panel.status == "running":
                panel.status = "failed"
        raise
    report(1.0, "Chances worked out. See the results.")
    return result
