"""Back up, restore into an empty database, and compare every table's rows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from voices.backup import BackupError, backup, fingerprint, restore
from voices.cli import app


def _empty_database_like(url: str, tmp_path) -> str:
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    name = f"voices_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        name = make_url(url).database
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_backup_restores_into_an_empty_database_exactly(db_url, demo_core, tmp_path):
    file = backup(db_url, tmp_path / "voices.backup")
    assert file.stat().st_size > 0
    target = _empty_database_like(db_url, tmp_path)
    try:
        restore(target, file)
        original, restored = fingerprint(db_url), fingerprint(target)
        assert original == restored
        assert original["service"][0] == 30 and original["audit_event"][0] > 0
    finally:
        _drop(target)


def test_the_cli_backs_up_and_restores(db_url, demo_core, tmp_path, monkeypatch):
    from voices.settings import get_settings

    monkeypatch.setenv("VOICES_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        made = runner.invoke(app, ["backup", str(tmp_path / "b.backup")])
        assert made.exit_code == 0, made.output
        assert "Backed up" in made.output
        missing = runner.invoke(app, ["restore", str(tmp_path / "nope.backup"), "--yes"])
        assert missing.exit_code == 2 and "There is no backup" in missing.output
    finally:
        get_settings.cache_clear()


def test_a_damaged_sqlite_backup_is_refused(tmp_path, sqlite_url):
    bad = tmp_path / "bad.backup"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(Exception):
        restore(f"sqlite:///{tmp_path / 'x.db'}", bad)
    with pytest.raises(BackupError):
        restore(sqlite_url, tmp_path / "missing.backup")
