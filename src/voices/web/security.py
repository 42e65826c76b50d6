"""Sessions, CSRF tokens, rate limits and security headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "voices_session"
BROWSER_COOKIE = "voices_browser"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class Keys:
    """Signing for cookies and CSRF tokens, from the app's secret key."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self.cookies = Signer(secret, salt="voices.cookie")

    def sign(self, value: str) -> str:
        return self.cookies.sign(value).decode()

    def unsign(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return self.cookies.unsign(value).decode()
        except BadSignature:
            return None

    def csrf_token(self, seed: str) -> str:
        return hmac.new(self._secret, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, seed: str | None, token: str | None) -> bool:
        if not seed or not token:
            return False
        return hmac.compare_digest(self.csrf_token(seed), token)


def csrf_seed(request: Request) -> str:
    """What a form's CSRF token is bound to: the signed-in session, or this browser."""
    keys: Keys = request.app.state.keys
    session_id = keys.unsign(request.cookies.get(SESSION_COOKIE))
    if session_id and getattr(request.state, "session_valid", True):
        return "s:" + session_id
    browser = getattr(request.state, "browser_id", None) or keys.unsign(
        request.cookies.get(BROWSER_COOKIE))
    if not browser:
        browser = secrets.token_urlsafe(24)
        request.state.browser_id = browser
        request.state.new_browser_cookie = True
    return "b:" + browser


def csrf_token_for(request: Request) -> str:
    return request.app.state.keys.csrf_token(csrf_seed(request))


def set_cookie(response: Response, request: Request, name: str, value: str, *,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=request.app.state.settings.https, path="/")


class RateLimit:
    """A sliding-window limit per key (for example the client's address), in memory.

    Used for sign-in attempts, public feedback and votes. Per process: with several
    workers each has its own window, which is still a useful brake."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> bool:
        """Record an attempt; False if the key is over its limit (the attempt is refused)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            window = self._hits.setdefault(key, deque())
            while window and window[0] <= now - self.seconds:
                window.popleft()
            if len(window) >= self.limit:
                return False
            window.append(now)
            if len(self._hits) > 50_000:  # forget idle keys so memory stays bounded
                for k in [k for k, w in self._hits.items() if not w][:10_000]:
                    del self._hits[k]
            return True

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


def client_key(request: Request) -> str:
    """A key for rate limits: a hash of the client's address (addresses are not kept)."""
    host = request.client.host if request.client else "unknown"
    return hashlib.sha256(host.encode()).hexdigest()[:16]


def security_headers(https: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'"),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return headers
