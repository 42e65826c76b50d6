"""How a long job is getting on: a page that refreshes itself (with htmx, or a plain link
without JavaScript) and its JSON twin."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from voices.core.models import Account, Job, Role
from voices.errors import NotFound
from voices.web.access import STAFF, get_db, visible_organisations
from voices.web.api import ERRORS
from voices.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["jobs"])


class JobOut(BaseModel):
    id: int
    kind: str
    status: str
    progress: float
    message: str
    error: str | None
    result: dict | None


def _visible_job(db: Session, account: Account, job_id: int) -> Job:
    job = db.get(Job, job_id)
    if job is None:
        raise NotFound("We could not find that job.")
    scope = visible_organisations(db, account)
    if account.role is not Role.admin and job.created_by != account.id and (
            scope is not None and job.organisation_id not in scope):
        raise NotFound("We could not find that job.")
    return job


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, account: Account = Depends(STAFF),
             db: Session = Depends(get_db)):
    job = _visible_job(db, account, job_id)
    template = "job_status.html" if request.headers.get("hx-request") else "job.html"
    return render(request, template, {"job": job, "crumbs": [{"href": "/", "text": "Home"}]})


@api_router.get("/jobs/{job_id}", response_model=JobOut, responses=ERRORS,
                summary="How a background job is getting on")
def job_json(job_id: int, account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    job = _visible_job(db, account, job_id)
    return JobOut(id=job.id, kind=job.kind, status=job.status.value, progress=job.progress,
                  message=job.message, error=job.error, result=job.result)
