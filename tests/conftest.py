"""Fixtures shared by every area's tests.

Database tests run on SQLite always, and on PostgreSQL as well when
``VOICES_TEST_DATABASE_URL`` is set (CI sets it); each test gets a fresh, fully migrated
database copied from a template made once per run.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT.parent / "shared" / "data").resolve()
POSTGRES_URL = os.environ.get("VOICES_TEST_DATABASE_URL", "").strip()
ENGINES = ["sqlite", "postgresql"]

# Argon2 at full strength costs ~50 ms a hash; tests create many accounts.
from voices.core.passwords import use_fast_hashes_for_tests  # noqa: E402

use_fast_hashes_for_tests()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public data in ``../shared/data`` (read only; never copied into the project)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not POSTGRES_URL:
        terminalreporter.write_line(
            "PostgreSQL was skipped: set VOICES_TEST_DATABASE_URL="
            "postgresql+psycopg://postgres@127.0.0.1:5432/test to run database tests on it too.",
            yellow=True)


# ------------------------------------------------------------------ databases

class _Templates:
    """Migrated template databases, made once per test run (per xdist worker)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sqlite_template: Path | None = None
        self.pg_template: str | None = None
        self.pg_created: list[str] = []
        self.tag = re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_WORKER", "main")) + \
            uuid.uuid4().hex[:6]

    def sqlite(self) -> str:
        from voices.migrate import upgrade

        if self.sqlite_template is None:
            path = self.tmp / "template.db"
            upgrade(f"sqlite:///{path}")
            self.sqlite_template = path
        copy = self.tmp / f"db-{uuid.uuid4().hex[:10]}.db"
        shutil.copy(self.sqlite_template, copy)
        return f"sqlite:///{copy}"

    def _admin(self):
        url = make_url(POSTGRES_URL)
        return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)

    def postgresql(self) -> str:
        from voices.migrate import upgrade

        url = make_url(POSTGRES_URL)
        admin = self._admin()
        try:
            if self.pg_template is None:
                name = f"voices_tmpl_{self.tag}"
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                self.pg_created.append(name)
                upgrade(url.set(database=name).render_as_string(hide_password=False))
                self.pg_template = name
            name = f"voices_t_{self.tag}_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"'))
            self.pg_created.append(name)
        finally:
            admin.dispose()
        return url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        if not url.startswith("postgresql"):
            return
        name = make_url(url).database
        admin = self._admin()
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()
        if name in self.pg_created:
            self.pg_created.remove(name)

    def close(self) -> None:
        if POSTGRES_URL and self.pg_created:
            for name in list(self.pg_created):
                self.drop(make_url(POSTGRES_URL).set(database=name).render_as_string(
                    hide_password=False))


@pytest.fixture(scope="session")
def _db_templates(tmp_path_factory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("databases"))
    yield templates
    templates.close()


@pytest.fixture(params=ENGINES)
def db_url(request, _db_templates) -> Iterator[str]:
    """A fresh, migrated database URL: SQLite always, PostgreSQL when configured."""
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip("PostgreSQL skipped: VOICES_TEST_DATABASE_URL is not set")
    url = _db_templates.sqlite() if request.param == "sqlite" else _db_templates.postgresql()
    yield url
    from voices import db as voices_db

    cached = voices_db._databases.pop(url, None)
    if cached:
        cached.dispose()
    _db_templates.drop(url)


@pytest.fixture
def sqlite_url(_db_templates) -> str:
    """A fresh, migrated SQLite database only (for tests that need no engine matrix)."""
    return _db_templates.sqlite()


@pytest.fixture
def database(db_url):
    from voices.db import Database

    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def session(database):
    with database.sessionmaker() as session:
        yield session


@pytest.fixture
def settings(db_url, tmp_path):
    from voices.settings import Settings

    return Settings(database_url=db_url, data_dir=tmp_path / "data",
                    secret_key="test-secret-key-not-for-production", run_jobs_in_app=False,
                    _env_file=None)


@pytest.fixture
def app(settings, database):
    from voices.web.app import create_app

    return create_app(settings, database)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def demo_core(database):
    """The demo's ICB, trusts, services and accounts (no area data)."""
    from voices.demo import load

    with database.sessionmaker() as session:
        return load(session, areas=())
