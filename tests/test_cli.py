"""The `voices` command: version, help, database, users, demo."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from voices import __version__
from voices.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"voices {__version__}"


def test_help_lists_every_area_and_the_core_commands():
    result = subprocess.run([sys.executable, "-m", "voices", "--help"], capture_output=True,
                            text=True, env={"COLUMNS": "200", "PATH": ""})
    assert result.returncode == 0, result.stderr
    for command in ("listen", "measure", "access", "involve", "codesign", "db", "users",
                    "serve", "demo", "equity"):
        assert command in result.stdout


@pytest.fixture
def cli_env(monkeypatch, db_url, tmp_path):
    from voices.settings import get_settings

    monkeypatch.setenv("VOICES_DATABASE_URL", db_url)
    monkeypatch.setenv("VOICES_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def test_db_upgrade_is_idempotent(cli_env):
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output


def test_users_create_prompts_for_the_password(cli_env):
    from voices.core.models import Account
    from voices.db import Database

    result = runner.invoke(app, ["users", "create", "New.Person@Example.org", "--role", "analyst"],
                           input="harbour-lantern-meadow\nharbour-lantern-meadow\n")
    assert result.exit_code == 0, result.output
    assert "Created analyst account new.person@example.org" in result.output
    again = runner.invoke(app, ["users", "create", "new.person@example.org", "--role", "analyst",
                                "--password", "harbour-lantern-meadow"])
    assert again.exit_code == 2 and "already exists" in again.output
    weak = runner.invoke(app, ["users", "create", "x@example.org", "--role", "analyst",
                               "--password", "password1234"])
    assert weak.exit_code == 2 and "too common" in weak.output
    db = Database(cli_env)
    with db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 1
    db.dispose()


def test_demo_twice_adds_nothing_the_second_time(cli_env):
    from voices.core.models import Account, AuditEvent, Organisation, Service
    from voices.db import Database

    def counts():
        db = Database(cli_env)
        with db.sessionmaker() as s:
            found = {m.__name__: s.scalar(select(func.count()).select_from(m))
                     for m in (Organisation, Service, Account)}
        db.dispose()
        return found

    first = runner.invoke(app, ["demo", "--core-only"])
    assert first.exit_code == 0, first.output
    assert "admin@voices.example" in first.output
    after_first = counts()
    assert after_first == {"Organisation": 4, "Service": 30, "Account": 5}
    second = runner.invoke(app, ["demo", "--core-only"])
    assert second.exit_code == 0
    assert counts() == after_first
    _ = AuditEvent
    unknown = runner.invoke(app, ["demo", "--area", "astrology"])
    assert unknown.exit_code == 2 and "Unknown area astrology" in unknown.output


@pytest.mark.parametrize("url, says", [
    ("sqlite:///{tmp}/never-upgraded.db", "run 'voices db upgrade' first"),
    ("postgresql+psycopg://postgres@127.0.0.1:9/nowhere", "check VOICES_DATABASE_URL"),
])
def test_a_database_that_is_not_ready_gets_one_plain_line_not_a_traceback(tmp_path, url, says):
    import os

    env = dict(os.environ, VOICES_DATABASE_URL=url.format(tmp=tmp_path),
               VOICES_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-m", "voices", "users", "create",
                             "someone@voices.example", "--role", "analyst"], env=env,
                            input="a-long-enough-password-1\n" * 2, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert "a-long-enough-password-1" not in result.stderr + result.stdout
