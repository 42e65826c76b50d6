"""The JSON API: token authentication, stable error codes, OpenAPI."""

from __future__ import annotations

from support import DEMO_EMAILS, csrf_from, sign_in


def _token(client) -> str:
    sign_in(client, DEMO_EMAILS["admin"])
    page = client.get("/admin")
    created = client.post("/admin/tokens/new", data={"token_name": "Kiosk",
                                                     "token_account": "",
                                                     "csrf_token": csrf_from(page.text)})
    assert created.status_code == 200
    token = created.text.split('id="new-token">')[1].split("<")[0]
    client.cookies.clear()
    return token


def test_api_tokens_authenticate_machine_clients(client, demo_core):
    token = _token(client)
    me = client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "admin"
    created = client.post("/api/v1/organisations", headers={"authorization": f"Bearer {token}"},
                          json={"ods_code": "RZ8", "name": "API Trust", "kind": "trust",
                                "parent_ods_code": "QZ9"})
    assert created.status_code == 201 and created.json()["parent_ods_code"] == "QZ9"
    bad = client.get("/api/v1/me", headers={"authorization": "Bearer vt_000000000000_nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"


def test_api_errors_have_stable_codes_and_change_nothing(client, demo_core):
    token = _token(client)
    auth = {"authorization": f"Bearer {token}"}
    before = client.get("/api/v1/organisations", headers=auth).json()
    dup = client.post("/api/v1/organisations", headers=auth,
                      json={"ods_code": "RZ1", "name": "Again"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "duplicate_ods_code"
    bad = client.post("/api/v1/organisations", headers=auth,
                      json={"ods_code": "??", "name": "Bad"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_ods_code"
    assert bad.json()["error"]["problems"][0]["column"] == "ods_code"
    missing = client.post("/api/v1/organisations", headers=auth, json={"name": "No code"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_request"
    assert client.get("/api/v1/organisations", headers=auth).json() == before


def test_openapi_documents_the_api(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in schema["paths"] and "/api/v1/services" in schema["paths"]
    assert "/admin" not in schema["paths"]
    assert client.get("/docs").status_code == 200
