"""schemathesis against the app's own OpenAPI schema: every /api/v1 operation, with and
without an API token. No 5xx, no response outside its documented schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance]
EXAMPLES = 15


def _app_with_token():
    """One app on a migrated SQLite database with the demo's core records and a token.
    Built when the module is collected, because the schema is needed to parametrize."""
    from voices.core import service as core
    from voices.core.passwords import use_fast_hashes_for_tests
    from voices.db import Database
    from voices.demo import load
    from voices.migrate import upgrade
    from voices.settings import Settings
    from voices.web.app import create_app

    use_fast_hashes_for_tests()
    folder = Path(tempfile.mkdtemp(prefix="voices-fuzz-"))
    url = f"sqlite:///{folder / 'fuzz.db'}"
    upgrade(url)
    database = Database(url)
    with database.sessionmaker() as session:
        context = load(session, areas=())
        _, token = core.create_api_token(session, context.accounts["admin"], "fuzzer")
        session.commit()
    app = create_app(Settings(database_url=url, data_dir=folder / "data",
                              secret_key="fuzz-secret", run_jobs_in_app=False,
                              _env_file=None), database)
    app.state.login_limit.limit = 10**9
    app.state.public_limit.limit = 10**9
    return app, token


APP, TOKEN = _app_with_token()
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_with_a_token(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_without_a_token(case):
    case.call_and_validate(checks=CHECKS)
