"""Friendly errors: an HTML page in the site layout, or a JSON body with a stable ``code``.
Never a stack trace; nothing personal in the logs."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from voices.errors import VoicesError
from voices.web.access import SignInRequired

log = logging.getLogger("voices.web")

TITLES = {
    400: "Sorry, there is a problem with that request",
    401: "Sign in to continue",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "Sorry, that did not work",
    409: "That clashes with something already saved",
    413: "That is too large",
    422: "Sorry, something you sent was not right",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


class CsrfFailed(VoicesError):
    code = "csrf_failed"
    status = 403

    def __init__(self) -> None:
        super().__init__("This form has expired or did not come from this site. Go back, "
                         "refresh the page and try again.")


class TooManyRequests(VoicesError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str = "You have tried too many times. Wait a minute and try "
                                      "again.", retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, code: str, message: str, *,
                   problems: list | None = None, headers: dict | None = None) -> Response:
    if wants_json(request):
        body = {"error": {"code": code, "message": message}}
        if problems:
            body["error"]["problems"] = problems
        return JSONResponse(body, status_code=status, headers=headers)
    from voices.web.templating import render

    response = render(request, "error.html", {
        "status": status, "title": TITLES.get(status, TITLES[400]), "message": message,
        "code": code}, status_code=status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired):
        if wants_json(request) or request.method != "GET":
            return error_response(request, 401, exc.code, exc.message)
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        suffix = "&expired=1" if exc.expired else ""
        return RedirectResponse(f"/login?next={target}{suffix}", status_code=303)

    @app.exception_handler(VoicesError)
    async def voices_error(request: Request, exc: VoicesError):
        problems = exc.to_dict().get("problems")
        headers = None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(request, exc.status, exc.code, exc.message, problems=problems,
                              headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        status = exc.status_code
        messages = {404: "If you typed the web address, check it is correct. If you pasted "
                         "the web address, check you copied the entire address.",
                    405: "That action is not available here."}
        code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}.get(
            status, "http_error")
        message = messages.get(status) or (exc.detail if isinstance(exc.detail, str)
                                           else TITLES.get(status, "Error"))
        return error_response(request, status, code, message,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors()[:50]:
            loc = [str(x) for x in err.get("loc", ())]
            problems.append({"message": str(err.get("msg", "invalid"))[:200],
                             "column": ".".join(loc[1:]) or None,
                             "expected": str(err.get("type", ""))[:60] or None})
        return error_response(request, 422, "invalid_request",
                              "Some of what was sent is missing or not in the right form.",
                              problems=problems)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def database_unavailable(request: Request, exc: DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            log.warning("database unavailable during %s %s (%s)", request.method,
                        request.url.path, type(exc.orig).__name__)
            return error_response(request, 503, "database_unavailable",
                                  "The service is busy or restarting. Nothing you sent has been "
                                  "saved. Try again in a few seconds.",
                                  headers={"Retry-After": "5"})
        return await server_error(request, exc)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.error("unhandled %s during %s %s", type(exc).__name__, request.method,
                  request.url.path, exc_info=exc)
        return error_response(request, 500, "server_error",
                              "Try again later. If it keeps happening, contact the team that "
                              "runs this service.")
