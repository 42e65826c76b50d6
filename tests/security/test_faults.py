"""Faults: work killed with SIGKILL half-way loses nothing and leaves nothing half-done.

* ``voices listen import`` killed while its transaction is writing (seen from outside: on
  PostgreSQL the import's connection holds a transaction id; on SQLite it holds the write
  lock) leaves every table exactly as before (row counts and checksums); running it again
  imports the file once, and a third run adds nothing.
* ``voices worker`` killed while it runs an import job (its progress is in the job row)
  leaves the data as before; the next ``voices worker`` picks the job up at once and
  finishes it, once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from voices.backup import fingerprint

pytestmark = pytest.mark.slow  # real subprocesses, each importing Voices

ROWS = 3000
SERVICE = "rz1-emergency-department"
MAPPING = ["listen", "mapping", "save", "big-co", "--supplier", "Big Co",
           "--column", "response_id=Response ID", "--column", "date=Date",
           "--column", "service=Ward", "--column", "rating=Overall",
           "--column", "what_good=Good", "--column", "could_improve=Better"]
NOT_DATA = ("job", "web_session")  # bookkeeping that may change while data must not


def _env(db_url: str, tmp_path: Path, monkeypatch) -> dict:
    """The environment of the subprocesses; the mapping is saved here, through the CLI."""
    from typer.testing import CliRunner

    from voices.cli import app
    from voices.settings import get_settings

    env = {"VOICES_DATABASE_URL": db_url, "VOICES_DATA_DIR": str(tmp_path / "data"),
           "VOICES_SECRET_KEY": "faults-test", "VOICES_LOG_LEVEL": "WARNING"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    saved = CliRunner().invoke(app, MAPPING)
    assert saved.exit_code == 0, saved.output
    return dict(os.environ, **env)


def _voices(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "voices", *args], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _big_file(path: Path) -> Path:
    """A supplier's file of ROWS responses, each with two comments holding details to
    redact (the slow part of an import)."""
    pick = random.Random(8)
    lines = ["Response ID,Date,Ward,Overall,Good,Better"]
    for i in range(ROWS):
        lines.append(f"F-{i},2026-03-{1 + i % 28:02d},{SERVICE},"
                     f"{pick.choice(['Very good', 'Good', 'Poor', 'Very poor'])},"
                     f"Nurse Jane on ward {i % 9} was kind and explained everything,"
                     f"Waited {i % 5} hours - ring me on 07700 900{i % 1000:03d}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _data(db_url: str) -> dict:
    return {t: v for t, v in fingerprint(db_url).items() if t not in NOT_DATA}


def _writing(db_url: str, conn) -> bool:
    """True while another connection has an open write transaction on the database."""
    if db_url.startswith("sqlite"):
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # locked: someone else is writing
            return True
    return bool(conn.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL")).scalar())


@contextmanager
def _watching(db_url: str):
    """A connection to watch the database with (autocommit, never waiting for locks)."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(db_url).database, timeout=0, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()
        return
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _imported(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def _count(db_url: str, sql: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_an_import_killed_while_writing_changes_nothing_and_a_rerun_imports_once(
        db_url, demo_core, tmp_path, monkeypatch):
    env = _env(db_url, tmp_path, monkeypatch)
    big = _big_file(tmp_path / "big.csv")
    before = _data(db_url)
    command = [sys.executable, "-m", "voices", "listen", "import", str(big), "--mapping",
               "big-co", "--json"]
    importing = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    with _watching(db_url) as watch:
        while not _writing(db_url, watch):
            assert importing.poll() is None, "the import ended before it was seen writing: " \
                + importing.stderr.read().decode()[-1000:]
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.002)
        _kill(importing)

    assert _data(db_url) == before, "a killed import left something behind"
    first = _imported(_voices(env, *command[3:]))
    assert (first["rows"], first["added"], first["skipped"]) == (ROWS, ROWS, 0)
    assert _count(db_url, "SELECT count(*) FROM listen_response WHERE supplier = 'Big Co'") \
        == ROWS
    assert _count(db_url, "SELECT count(DISTINCT supplier_response_id) FROM listen_response "
                          "WHERE supplier = 'Big Co'") == ROWS
    assert _count(db_url, "SELECT count(*) FROM listen_comment c JOIN listen_response r ON "
                          "r.id = c.response_id WHERE r.supplier = 'Big Co'") == 2 * ROWS


def test_a_job_whose_worker_is_killed_is_finished_once_by_the_next_worker(
        db_url, demo_core, tmp_path, monkeypatch):
    from voices import jobs
    from voices.core.models import Job, JobStatus
    from voices.db import Database

    env = _env(db_url, tmp_path, monkeypatch)
    upload = _big_file(tmp_path / "upload.csv")
    database = Database(db_url)
    try:
        with database.session() as session:
            job_id = jobs.enqueue(session, "listen.import", {
                "path": str(upload), "mapping": "big-co", "display_name": "march.csv"}).id
        before = _data(db_url)
        worker = subprocess.Popen([sys.executable, "-m", "voices", "worker", "--poll", "0.2"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  start_new_session=True)
        deadline = time.monotonic() + 240
        try:
            while True:
                with database.sessionmaker() as session:
                    job = session.get(Job, job_id)
                if job.status is JobStatus.running and job.progress >= 0.5:
                    break
                assert job.status in (JobStatus.queued, JobStatus.running), \
                    f"the job ended ({job.status.value}) before the worker was killed"
                assert worker.poll() is None, worker.stderr.read().decode()[-1000:]
                assert time.monotonic() < deadline, "the worker never got half way"
                time.sleep(0.05)
        finally:
            _kill(worker)

        assert _data(db_url) == before, "a killed job left something behind"
        assert upload.exists(), "the uploaded file went before it was imported"
        with database.sessionmaker() as session:
            assert session.get(Job, job_id).status is JobStatus.running  # orphaned

        restarted = subprocess.Popen(
            [sys.executable, "-m", "voices", "worker", "--poll", "0.2"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            while True:
                with database.sessionmaker() as session:
                    job = session.get(Job, job_id)
                if job.status not in (JobStatus.queued, JobStatus.running):
                    break
                assert restarted.poll() is None, restarted.stderr.read().decode()[-1000:]
                assert time.monotonic() < deadline, "the restarted worker did not finish it"
                time.sleep(0.1)
        finally:
            os.killpg(restarted.pid, signal.SIGTERM)
            restarted.wait(timeout=30)
        assert job.status is JobStatus.done, job.error
        assert job.attempts == 2 and job.result["added"] == ROWS
        assert _count(db_url, "SELECT count(*) FROM listen_response WHERE supplier = "
                              "'Big Co'") == ROWS
        assert _count(db_url, "SELECT count(*) FROM listen_import") == 1
        assert not upload.exists()
    finally:
        database.dispose()


@pytest.fixture(autouse=True)
def _no_cached_settings():
    from voices.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
