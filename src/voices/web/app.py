"""The app factory: ``create_app()`` builds the whole web app for a settings object."""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.staticfiles import StaticFiles

from voices import __version__
from voices.db import Database, get_database
from voices.settings import Settings, get_settings
from voices.web import admin, api, assets, auth, errors, jobs_routes, pages
from voices.web.errors import CsrfFailed
from voices.web.security import (BROWSER_COOKIE, CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, Keys,
                                 RateLimit, csrf_seed, security_headers, set_cookie)
from voices.web.templating import AREAS, make_templates

log = logging.getLogger("voices.web")

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
DOCS_POLICY = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"


# Record ids are 64-bit integers in both databases; a larger number in a path names nothing.
LARGEST_ID = 2 ** 63 - 1


def refuse_ids_out_of_range(request: Request) -> None:
    """A path id no record could have (beyond 64 bits) is "not found", on every route,
    rather than an error from the database driver (SQLite cannot even bind it)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None or not request.path_params:
        return
    for name in id_path_params(dependant):
        raw = request.path_params.get(name)
        if isinstance(raw, str):
            digits = raw.strip().lstrip("+-")
            if digits.isdigit() and len(digits) > 18 and abs(int(raw)) > LARGEST_ID:
                raise HTTPException(status_code=404)


def id_path_params(dependant) -> set[str]:
    """Names of the integer path parameters of a route (its ``dependant``) and of
    everything it depends on."""
    names = {f.name for f in dependant.path_params if f.field_info.annotation is int}
    for child in dependant.dependencies:
        names |= id_path_params(child)
    return names


async def verify_csrf(request: Request) -> None:
    """Refuse any state-changing request from a browser that lacks this site's CSRF token.
    Requests authenticated by an API token carry no cookies and need none."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    keys: Keys = request.app.state.keys
    seeds = []
    session_id = keys.unsign(request.cookies.get("voices_session"))
    if session_id:
        seeds.append("s:" + session_id)
    browser = keys.unsign(request.cookies.get(BROWSER_COOKIE))
    if browser:
        seeds.append("b:" + browser)
    if not any(keys.csrf_ok(seed, token) for seed in seeds):
        raise CsrfFailed()


def warm_up(app: FastAPI) -> None:
    """Do once, before the first request, the work a fresh process would otherwise do while
    its first visitors wait (about a second each): compile every page template and set up
    the database mappings. Compiled templates are kept in data_dir/cache/templates (keyed by
    each template's source), so the other workers and the next start load them instead."""
    from jinja2 import FileSystemBytecodeCache
    from sqlalchemy.orm import configure_mappers

    from voices.db import load_all_models

    load_all_models()
    configure_mappers()
    env = app.state.templates.env
    cache = app.state.settings.data_dir / "cache" / "templates"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        env.bytecode_cache = FileSystemBytecodeCache(str(cache))
    except OSError:
        log.warning("cannot keep compiled templates in %s: compiling them each start", cache)
    for name in env.list_templates(filter_func=lambda n: n.endswith((".html", ".jinja"))):
        env.get_template(name)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """The web app. Built from the environment (no ``settings``, as ``voices serve`` does),
    it warms up before taking requests; tests pass their settings and skip that."""
    warm = settings is None
    settings = settings or get_settings()
    database = database or get_database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            warm_up(app)
        worker = None
        if settings.run_jobs_in_app:
            from voices.jobs import Worker

            worker = Worker(database)
            worker.start()
        app.state.job_worker = worker
        yield
        if worker is not None:
            worker.stop()

    app = FastAPI(
        lifespan=lifespan,
        title=f"{settings.service_name} API",
        version=__version__,
        description="The Voices JSON API. Machine clients authenticate with an API token: "
                    "`Authorization: Bearer vt_…`. Errors have a stable `code`.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(refuse_ids_out_of_range), Depends(verify_csrf)],
    )
    app.state.settings = settings
    app.state.database = database
    app.state.keys = Keys(settings.resolved_secret_key())
    app.state.templates = make_templates()
    # Rate limits from the settings. The areas look theirs up on app.state by these names
    # (voices.listen.feedback_routes, voices.codesign.routes).
    app.state.login_limit = RateLimit(settings.login_rate_per_minute, 60)
    app.state.public_limit = RateLimit(settings.public_rate_per_minute, 60)
    app.state.listen_new_responses = RateLimit(settings.new_feedback_per_five_minutes, 300)
    app.state.codesign_join_limit = RateLimit(settings.joins_per_address_per_minute, 60)
    app.state.codesign_vote_limit = RateLimit(settings.votes_per_minute, 60)
    app.state.codesign_statement_limit = RateLimit(settings.statements_per_ten_minutes, 600)
    app.state.codesign_address_vote_limit = RateLimit(settings.votes_per_address_per_minute, 60)
    app.state.codesign_address_statement_limit = RateLimit(
        settings.statements_per_address_per_ten_minutes, 600)

    headers = security_headers(settings.https)

    @app.middleware("http")
    async def add_headers(request: Request, call_next):
        response = await call_next(request)
        path = request.url.path
        for key, value in headers.items():
            if path == "/docs" and key == "Content-Security-Policy":
                # the API explorer page loads its own scripts, but is never framed either
                value = DOCS_POLICY
            response.headers.setdefault(key, value)
        if not path.startswith(("/static/", "/assets/")):
            response.headers.setdefault("Cache-Control", "no-store")
        if getattr(request.state, "new_browser_cookie", False):
            set_cookie(response, request, BROWSER_COOKIE,
                       app.state.keys.sign(request.state.browser_id), max_age=60 * 60 * 24 * 30)
        return response

    errors.install(app)
    if not assets.ready():
        log.warning("front-end assets are missing: run `voices assets` (make does this)")
    assets.VENDOR.mkdir(parents=True, exist_ok=True)
    app.mount("/assets", StaticFiles(directory=assets.VENDOR), name="assets")
    app.mount("/static", StaticFiles(directory=assets.STATIC), name="static")

    app.include_router(pages.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(api.router)
    app.include_router(jobs_routes.router)
    app.include_router(jobs_routes.api_router)
    for area in AREAS:
        try:
            module = importlib.import_module(f"voices.{area}.routes")
        except ModuleNotFoundError as exc:
            if exc.name != f"voices.{area}.routes":
                raise
            continue
        for name in ("router", "api_router"):
            if hasattr(module, name):
                app.include_router(getattr(module, name))
    _ = csrf_seed  # used by templates through csrf_token_for
    return app
