"""Backups: `voices backup FILE` and `voices restore FILE`.

SQLite uses its online backup API (a consistent copy while the app keeps running);
PostgreSQL uses ``pg_dump --format=custom`` and ``pg_restore``. :func:`fingerprint` gives
each table's row count and a checksum of its rows, so a restore can be checked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from voices.errors import VoicesError


class BackupError(VoicesError):
    code = "backup_failed"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory database cannot be backed up")
    return Path(database)


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    args = ["--host", parsed.host or "localhost", "--port", str(parsed.port or 5432),
            "--username", parsed.username or "postgres"]
    return args, env


def backup(url: str, target: Path) -> Path:
    """Write a consistent backup of the database at ``url`` to ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"There is no database at {source}")
        with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
            src.backup(dst)
        dst.close()
    elif backend == "postgresql":
        if shutil.which("pg_dump") is None:
            raise BackupError("pg_dump is not installed (apt-get install postgresql-client)")
        args, env = _pg_env(url)
        result = subprocess.run(["pg_dump", *args, "--format=custom", "--no-owner",
                                 "--file", str(partial), make_url(url).database],
                                env=env, capture_output=True, text=True)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError("pg_dump failed: " + result.stderr.strip()[-500:])
    else:
        raise BackupError(f"Backups of {backend} databases are not supported")
    partial.replace(target)
    return target


def restore(url: str, source: Path) -> None:
    """Restore a backup into the database at ``url`` (replacing what is there)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"There is no backup at {source}")
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as src:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("The backup file is damaged")
            with sqlite3.connect(target) as dst:
                src.backup(dst)
        dst.close()
    elif backend == "postgresql":
        args, env = _pg_env(url)
        result = subprocess.run(["pg_restore", *args, "--clean", "--if-exists", "--no-owner",
                                 "--single-transaction", "--dbname", make_url(url).database,
                                 str(source)], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError("pg_restore failed: " + result.stderr.strip()[-500:])
    else:
        raise BackupError(f"Restoring {backend} databases is not supported")


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Each table's row count and a SHA-256 of its rows in primary-key order."""
    engine = create_engine(url)
    found: dict[str, tuple[int, str]] = {}
    try:
        inspector = inspect(engine)
        with engine.connect() as conn:
            for table in sorted(inspector.get_table_names()):
                pk = inspector.get_pk_constraint(table).get("constrained_columns") or []
                columns = [c["name"] for c in inspector.get_columns(table)]
                order = ", ".join(f'"{c}"' for c in (pk or columns))
                digest = hashlib.sha256()
                count = 0
                rows = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}'))
                for row in rows:
                    digest.update(repr(tuple(_plain(v) for v in row)).encode())
                    count += 1
                found[table] = (count, digest.hexdigest())
    finally:
        engine.dispose()
    return found


def _plain(value):
    """Values compare the same whatever the driver returns (datetimes, decimals, JSON)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True)
    return value


def scratch_copy_name() -> str:
    return tempfile.mktemp(prefix="voices-restore-")
