"""Helpers for tests (importable as `support` from any test module)."""

from __future__ import annotations

import re


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, email: str, password: str | None = None):
    """Sign in through the real login form; returns the final response."""
    from voices.demo import DEMO_PASSWORD

    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password or DEMO_PASSWORD,
                                       "csrf_token": csrf_from(page.text)},
                       follow_redirects=True)


DEMO_EMAILS = {
    "admin": "admin@voices.example",
    "analyst": "analyst@voices.example",
    "trust_analyst": "trust.analyst@voices.example",
    "involvement_lead": "lead@voices.example",
    "partner": "partner@voices.example",
}


def at_once(*calls):
    """Run each call in its own thread, all released together; returns their results in
    order (the first exception raised in a thread is raised here)."""
    import threading

    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index, call):
        start.wait()
        try:
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - raised again below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results
