"""Fixtures for the security tests: one database with the whole demo (every area), made
once per test run and shared by the xdist workers, and signed-in clients for each role."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from filelock import FileLock

SECRET = "security-tests-secret"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, worker_id) -> Path:
    """A SQLite file holding the full demo, built by the real CLI (`voices db upgrade` then
    `voices demo`) once per run; every test copies it."""
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent
    folder = root / "security-demo"
    done = folder / "ready"
    with FileLock(str(root / "security-demo.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            env = dict(os.environ, VOICES_DATABASE_URL=f"sqlite:///{folder / 'demo.db'}",
                       VOICES_DATA_DIR=str(folder / "data"), VOICES_SECRET_KEY=SECRET)
            voices = [sys.executable, "-m", "voices"]
            for args in (["db", "upgrade"], ["demo"]):
                result = subprocess.run(voices + args, env=env, capture_output=True, text=True,
                                        check=False)
                assert result.returncode == 0, result.stderr[-3000:]
            done.write_text("ok")
    return folder


class DemoSite:
    """A copy of the demo database with its app: sessions for any account, CSRF tokens."""

    def __init__(self, template: Path, folder: Path) -> None:
        from voices.db import Database
        from voices.settings import Settings
        from voices.web.app import create_app

        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"demo-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(template / "demo.db", self.path)
        data = folder / "data"
        if not data.exists():
            shutil.copytree(template / "data", data)
        self.url = f"sqlite:///{self.path}"
        self.database = Database(self.url)
        self.settings = Settings(database_url=self.url, data_dir=data, secret_key=SECRET,
                                 run_jobs_in_app=False, _env_file=None)
        self.app = create_app(self.settings, self.database)
        for name in ("login_limit", "public_limit", "listen_new_responses",
                     "codesign_join_limit", "codesign_vote_limit",
                     "codesign_statement_limit", "codesign_address_vote_limit",
                     "codesign_address_statement_limit"):
            getattr(self.app.state, name).limit = 10**9

    def session(self):
        return self.database.sessionmaker()

    def account(self, email: str):
        from sqlalchemy import select

        from voices.core.models import Account

        with self.session() as db:
            return db.scalar(select(Account).where(Account.email == email))

    def client(self, email: str | None = None):
        """A TestClient, signed in as ``email`` (a session made directly, no password) or
        anonymous with a browser cookie; ``client.csrf`` is a valid CSRF token."""
        from fastapi.testclient import TestClient

        from voices.core import service as core
        from voices.web.security import BROWSER_COOKIE, SESSION_COOKIE

        client = TestClient(self.app, base_url="http://testserver",
                            raise_server_exceptions=False)
        keys = self.app.state.keys
        if email is None:
            browser = uuid.uuid4().hex
            client.cookies.set(BROWSER_COOKIE, keys.sign(browser))
            client.csrf = keys.csrf_token("b:" + browser)
        else:
            with self.session() as db:
                account = self.account(email)
                raw = core.start_session(db, db.merge(account), hours=8)
                db.commit()
            client.cookies.set(SESSION_COOKIE, keys.sign(raw))
            client.csrf = keys.csrf_token("s:" + raw)
        return client

    def close(self) -> None:
        self.database.dispose()


@pytest.fixture(scope="module")
def demo_site(demo_template, tmp_path_factory):
    """The full demo, shared by the tests of one module (read-only use)."""
    site = DemoSite(demo_template, tmp_path_factory.mktemp("site"))
    yield site
    site.close()


@pytest.fixture
def fresh_site(demo_template, tmp_path):
    """The full demo, for one test that changes it."""
    site = DemoSite(demo_template, tmp_path)
    yield site
    site.close()
