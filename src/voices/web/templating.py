"""Jinja2 set-up: the NHS design system macros (nhsuk-frontend-jinja) plus Voices' own
templates, with each area's ``templates/`` folder on the search path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse

from voices.web.security import CSRF_FIELD, csrf_token_for

HERE = Path(__file__).resolve().parent
AREAS = ("listen", "measure", "access", "involve", "codesign")


def _template_dirs() -> list[str]:
    dirs = [str(HERE / "templates")]
    for area in AREAS:
        folder = HERE.parent / area / "templates"
        if folder.is_dir():
            dirs.append(str(folder))
    return dirs


def make_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(_template_dirs()),
                             PackageLoader("nhsuk_frontend_jinja")]),
        undefined=ChainableUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, (int, float)) else n
    return env


def make_templates() -> Jinja2Templates:
    return Jinja2Templates(env=make_environment())


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    """Render a page with what every page needs: the account, the CSRF token, settings."""
    templates: Jinja2Templates = request.app.state.templates
    settings = request.app.state.settings
    ctx = {
        "request": request,
        "account": getattr(request.state, "account", None),
        "csrf_token": csrf_token_for(request),
        "service_name": settings.service_name,
        "errors": None,
        "values": {},
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)
