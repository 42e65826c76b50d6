"""Background work for access: importing a large waiting-list file, and simulations.

Both report progress to the job page and end with a link to the result. A file that
cannot be imported changes nothing; the job fails with every located problem (up to ten)
in its message. Uploaded files are deleted when the job ends, whatever happened.
"""

from __future__ import annotations

from pathlib import Path

from voices import jobs
from voices.access import service
from voices.access.models import Simulation
from voices.core.models import Account, Organisation
from voices.db import Database, utcnow
from voices.errors import ValidationError, VoicesError


def problems_message(error: VoicesError, limit: int = 10) -> str:
    """Every located problem of an error (up to ``limit``) as one plain message."""
    problems = getattr(error, "problems", None) or []
    if len(problems) <= 1:
        return error.message
    shown = "; ".join(str(p) for p in problems[:limit])
    more = len(problems) - limit
    return f"{len(problems)} problems: {shown}" + (f" (and {more} more)" if more > 0 else "")


@jobs.handler(service.IMPORT_JOB)
def import_snapshot(db: Database, payload: dict, report: jobs.Progress) -> dict:
    """Import an uploaded snapshot file for an organisation and date."""
    path = Path(payload["path"])
    try:
        with db.session() as session:
            organisation = session.get(Organisation, int(payload["organisation_id"]))
            actor = session.get(Account, payload["actor_id"]) if payload.get("actor_id") \
                else None
            if organisation is None:
                raise VoicesError("The organisation no longer exists")
            try:
                result = service.import_snapshot(
                    session, path, organisation=organisation,
                    snapshot_date=payload["snapshot_date"], actor=actor,
                    file_name=payload.get("file_name"),
                    imd_path=Path(payload["imd_path"]) if payload.get("imd_path") else None,
                    progress=report)
            except ValidationError as error:
                raise VoicesError(problems_message(error), code=error.code) from None
            snapshot_id, pathways = result.snapshot.id, result.snapshot.pathways
            replaced = result.replaced
    except VoicesError:
        _remove_upload(path)
        raise
    # Other errors leave the file in place, so the queue's retry can read it again.
    _remove_upload(path)
    report(1.0, f"Imported {pathways:,} pathways" + (", replacing the earlier import of "
                                                     "that date" if replaced else ""))
    return {"snapshot_id": snapshot_id, "pathways": pathways,
            "next": f"/access/snapshots/{snapshot_id}"}


def _remove_upload(path: Path) -> None:
    path.unlink(missing_ok=True)
    if path.parent.name.startswith("upload-"):
        try:
            path.parent.rmdir()
        except OSError:
            pass


@jobs.handler(service.SIMULATION_JOB)
def simulate(db: Database, payload: dict, report: jobs.Progress) -> dict:
    """Run a queued simulation and store its results."""
    simulation_id = int(payload["simulation_id"])
    try:
        with db.session() as session:
            service.run_simulation(session, simulation_id, progress=report)
    except VoicesError as error:
        with db.session() as session:
            sim = session.get(Simulation, simulation_id)
            if sim is not None:
                sim.status, sim.error, sim.finished_at = "failed", error.message[:2000], utcnow()
        raise
    report(1.0, "The simulation has finished")
    return {"simulation_id": simulation_id, "next": f"/access/simulations/{simulation_id}"}
