"""Pages everyone can see: home, accessibility statement, privacy notice, health check."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from voices.core.models import Account
from voices.web.access import PUBLIC, get_db
from voices.web.templating import render

router = APIRouter(include_in_schema=False)

AREA_CARDS = [
    ("listen", "Listen", "Read what people tell you about your services: themes, "
     "sentiment and who is not being heard."),
    ("measure", "Measure", "Experience and inequality measures, funnel plots and "
     "scorecards for boards and the public."),
    ("access", "Access", "Who waits longest for planned care, fair prioritisation and "
     "policy simulation."),
    ("involve", "Involve", "Your community of lived-experience partners, opportunities "
     "and fairly chosen panels."),
    ("codesign", "Co-design", "Conversations that find common ground, and ideas carried "
     "to proposals."),
]


@router.get("/")
def home(request: Request, account: Account | None = Depends(PUBLIC)):
    return render(request, "home.html", {"areas": AREA_CARDS})


@router.get("/accessibility")
def accessibility(request: Request, account: Account | None = Depends(PUBLIC)):
    return render(request, "accessibility.html",
                  {"crumbs": [{"href": "/", "text": "Home"}]})


@router.get("/privacy")
def privacy(request: Request, account: Account | None = Depends(PUBLIC)):
    return render(request, "privacy.html", {"crumbs": [{"href": "/", "text": "Home"}]})


@router.get("/healthz")
def healthz(account: Account | None = Depends(PUBLIC), db: Session = Depends(get_db)):
    """Liveness and readiness: 200 if the database answers, 503 if it does not."""
    try:
        db.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unavailable"},
                            status_code=503, headers={"Retry-After": "5"})
    return {"status": "ok", "database": "ok"}
