"""Hostile text on both databases: PostgreSQL refuses what SQLite stores (a NUL byte in
text), so the public feedback journey and the administrator's forms are sent every hostile
text on each engine (the full form matrix, test_hostile_forms.py, runs on the SQLite demo).
No answer is a server error, no page shows the markup raw, and a refusal changes nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hostile_support import PAYLOADS, raw_markers, read_page
from support import DEMO_EMAILS, sign_in


def _answer_journey(client, start: str, payload: str) -> list[str]:
    """Go through the feedback questions with ``payload`` in every text box."""
    problems, url = [], start
    for _ in range(10):
        forms, _ = read_page(client.get(url).text)
        if not forms:
            break
        answer = client.post(forms[0].action or url, data=forms[0].data(payload),
                             follow_redirects=False)
        if answer.status_code >= 500 or raw_markers(answer.text):
            problems.append(f"{url}: {answer.status_code} {raw_markers(answer.text)}")
        if answer.status_code != 303:
            break
        url = answer.headers["location"]
    return problems


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_public_feedback_takes_hostile_text_on_each_database(client, demo_core, database,
                                                             kind):
    with database.engine.connect() as conn:
        slug = conn.execute(text("SELECT slug FROM service ORDER BY id")).scalar()
    problems = _answer_journey(client, f"/f/{slug}", PAYLOADS[kind])
    assert not problems, "; ".join(problems)
    sign_in(client, DEMO_EMAILS["admin"])
    for page in ("/listen/explorer", "/listen/review"):
        shown = client.get(page)
        assert shown.status_code == 200 and not raw_markers(shown.text), page


def _rows(database) -> tuple:
    with database.engine.connect() as conn:
        return tuple(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                     for table in ("organisation", "service", "account", "api_token"))


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_admin_forms_take_hostile_text_on_each_database(client, demo_core, database, kind):
    sign_in(client, DEMO_EMAILS["admin"])
    problems = []
    for page, action in (("/admin/organisations/new", "/admin/organisations/new"),
                         ("/admin/services/new", "/admin/services/new"),
                         ("/admin/accounts/new", "/admin/accounts/new"),
                         ("/admin", "/admin/tokens/new")):
        before = _rows(database)
        forms, _ = read_page(client.get(page).text)
        form = next(f for f in forms if f.action == action)
        answer = client.post(action, data=form.data(PAYLOADS[kind]), follow_redirects=False)
        if answer.status_code >= 500 or raw_markers(answer.text):
            problems.append(f"{page}: {answer.status_code} {raw_markers(answer.text)}")
        if 400 <= answer.status_code < 500 and _rows(database) != before:
            problems.append(f"{page}: refused but rows were added")
    assert not raw_markers(client.get("/admin").text)
    assert not problems, "; ".join(problems)
