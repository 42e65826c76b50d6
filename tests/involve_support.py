"""Helpers for the involve tests (import as `involve_support`)."""

from __future__ import annotations

from support import csrf_from

PASSWORD = "copper kettle orchard"

ANSWERS = {
    "name": "Zebedee Quinnell", "email": "zebedee.quinnell@example.org",
    "contact_method": "text", "phone": "07700 900461",
    "conditions": ["diabetes", "kidney"], "conditions_other": "", "services_used": ["gp"],
    "caring_role": "adult", "interests": ["waiting"], "formats": ["in_person", "online"],
    "venue_needs": ["step_free"], "times": ["weekday_evening"],
    "adjustments": "Papers a week early please", "availability": "5_to_10",
    "consent_contact": "yes", "consent_matching": "yes", "consent_equality": "yes",
    "age_band": "25-34", "sex": "2", "ethnic_category": "N", "disability": "prefer_not_to_say",
    "carer": "yes", "area": "LS12 4AB",
}


def post(client, path: str, data: dict, *, page: str | None = None, **kwargs):
    """Post a form the way a browser does: take the CSRF token from the page first."""
    token = csrf_from(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False,
                       **kwargs)


def join(client, answers: dict | None = None, password: str = PASSWORD, *,
         organisation: str = "QZ9") -> list[str]:
    """Go through the whole sign-up, one page at a time; returns the question keys asked."""
    answers = {**ANSWERS, **(answers or {})}
    response = post(client, "/involve/join", {"organisation": organisation})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    asked = []
    while location.startswith("/involve/join/q/"):
        key = location.rsplit("/", 1)[-1].split("?")[0]
        asked.append(key)
        data = {key: answers[key]}
        if key == "conditions":
            data["conditions_other"] = answers.get("conditions_other", "")
        response = post(client, location, data)
        assert response.status_code == 303, (key, response.text[-2000:])
        location = response.headers["location"]
    assert location == "/involve/join/check"
    assert client.get("/involve/join/check").status_code == 200
    response = post(client, "/involve/join/password", {"password": password})
    assert response.status_code == 303, response.text[-2000:]
    assert response.headers["location"] == "/involve/join/done"
    return asked
