"""POST /api/v1/feedback: token auth, idempotency keys, and bad input handled without a
crash (stored and flagged, or refused with a located message)."""

from __future__ import annotations

from sqlalchemy import select

from listen_support import api_token, count
from support import DEMO_EMAILS
from voices.listen.models import FeedbackComment, FeedbackResponse

SLUG = "rz1-emergency-department"


def _post(client, token, body, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/feedback", json=body, headers=headers)


def test_a_retry_never_stores_twice_and_a_reused_key_is_refused(client, database, demo_core):
    token = api_token(database, DEMO_EMAILS["analyst"])
    body = {"service": SLUG, "rating": "Very good", "what_was_good": "Kind staff",
            "age_band": "47", "postcode": "LS1"}
    first = _post(client, token, body, key="kiosk-7-000123")
    assert first.status_code == 201
    again = _post(client, token, body, key="kiosk-7-000123")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count(database, FeedbackResponse) == 1
    changed = _post(client, token, {**body, "rating": "Poor"}, key="kiosk-7-000123")
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    assert _post(client, token, body, key="kiosk-7-000124").status_code == 201
    assert count(database, FeedbackResponse) == 2
    stored = first.json()
    assert stored["rating"] == "Very good" and stored["deprivation"] == "not known"
    with database.sessionmaker() as session:
        response = session.get(FeedbackResponse, stored["id"])
        assert (response.source, response.age_band, response.postcode_district) == \
            ("api", "45-54", "LS1")


def test_retries_sent_at_the_same_moment_store_once(app, database, demo_core):
    """A kiosk that times out and retries may send the same request twice at once: both get
    the same answer and one response is stored."""
    import threading

    from fastapi.testclient import TestClient

    token = api_token(database, DEMO_EMAILS["analyst"])
    body = {"service": SLUG, "rating": "Good", "what_could_be_better": "More chairs"}
    start = threading.Barrier(4)
    answers = []

    def send():
        with TestClient(app, base_url="http://testserver") as own:
            start.wait()
            answers.append(_post(own, token, body, key="kiosk-9-000001"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["id"] for a in answers}) == 1
    assert count(database, FeedbackResponse) == 1 and count(database, FeedbackComment) == 1


def test_without_a_token_nothing_is_stored(client, database, demo_core):
    response = client.post("/api/v1/feedback", json={"service": SLUG, "rating": "Good"})
    assert response.status_code in (401, 403)
    bad = client.post("/api/v1/feedback", json={"service": SLUG, "rating": "Good"},
                      headers={"Authorization": "Bearer vt_000000000000_notarealtokenatall"})
    assert bad.status_code == 401
    assert count(database, FeedbackResponse) == 0


def test_bad_input_is_refused_with_the_field_named(sqlite_client, sqlite_app):
    database = sqlite_app.state.database
    token = api_token(database, DEMO_EMAILS["trust_analyst"])
    unknown = _post(sqlite_client, token, {"service": SLUG, "rating": "Brilliant"})
    assert unknown.status_code == 422
    problems = unknown.json()["error"]["problems"]
    assert problems[0]["column"] == "rating" and "Brilliant" in problems[0]["message"]
    nothing = _post(sqlite_client, token, {"service": SLUG})
    assert nothing.status_code == 422
    # The trust analyst (RZ1) cannot send feedback for another trust's service.
    other = _post(sqlite_client, token, {"service": "rz2-urgent-treatment-centre",
                                         "rating": "Good"})
    assert other.status_code == 422 and other.json()["error"]["problems"][0]["column"] == \
        "service"
    several = _post(sqlite_client, token, {"service": SLUG, "rating": "Good", "sex": "maybe",
                                           "postcode": "???"})
    assert {p["column"] for p in several.json()["error"]["problems"]} == {"sex", "postcode"}
    future = _post(sqlite_client, token, {"service": SLUG, "rating": "Good",
                                          "submitted_at": "2999-01-01T00:00:00Z"})
    assert future.status_code == 422
    assert count(database, FeedbackResponse) == 0


def test_odd_comments_are_stored_flagged_and_redacted(client, database, demo_core):
    token = api_token(database, DEMO_EMAILS["admin"])
    cases = {
        "very_long": "The wait was long. " * 2500,                      # 10,000 words
        "html": "<script>alert(1)</script><p>Very <b>kind</b> nurses</p>",
        "emoji": "Great care 👍👍",
        "other_script": "بہت اچھا علاج، شکریہ",
        "empty": "<p> </p>",
    }
    ids = {}
    for flag, text in cases.items():
        reply = _post(client, token, {"service": SLUG, "rating": 2, "comment": text})
        assert reply.status_code == 201, reply.text
        comment = reply.json()["comments"][0]
        assert flag in comment["flags"], (flag, comment["flags"])
        ids[flag] = reply.json()["id"]
    named = _post(client, token, {"service": SLUG, "rating": "Good",
                                  "what_was_good": "Nurse Jane, email jane@example.org"})
    assert named.json()["comments"][0]["text"] == "Nurse [NAME], email [EMAIL]"
    with database.sessionmaker() as session:
        stored = {c.response_id: c for c in session.scalars(select(FeedbackComment))}
        assert "<" not in stored[ids["html"]].text and "alert" not in stored[ids["html"]].text
        assert stored[ids["very_long"]].words == 10_000
        assert len(stored[ids["very_long"]].text) <= 5000
        assert stored[ids["emoji"]].text == "Great care 👍👍"
