"""PostgreSQL restarted while the app is serving: requests in flight get a clean 503 with a
retry hint, the app recovers by itself, and nothing it acknowledged is lost.

Runs only with VOICES_TEST_DATABASE_URL, as root on a machine whose PostgreSQL is managed by
pg_ctlcluster (CI), and on its own (`-m serial`) because it restarts the server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("VOICES_TEST_DATABASE_URL", "")

pytestmark = [
    pytest.mark.serial,
    pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL skipped: no VOICES_TEST_DATABASE_URL"),
    pytest.mark.skipif(shutil.which("pg_ctlcluster") is None or os.geteuid() != 0,
                       reason="needs root and pg_ctlcluster to restart PostgreSQL"),
]


def _restart_postgres() -> None:
    version = max(os.listdir("/etc/postgresql"))
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)


@pytest.fixture
def pg_database():
    name = f"voices_restart_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    for _ in range(30):
        try:
            admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
            break
        except Exception:
            time.sleep(1)


def test_restart_gives_503_then_recovers_without_losing_anything(pg_database, tmp_path):
    env = dict(os.environ, VOICES_DATABASE_URL=pg_database, VOICES_DATA_DIR=str(tmp_path),
               VOICES_SECRET_KEY="restart-test", VOICES_RUN_JOBS_IN_APP="false")
    voices = [sys.executable, "-m", "voices"]
    subprocess.run(voices + ["db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(voices + ["demo", "--core-only"], env=env, check=True, capture_output=True)
    token = subprocess.run([sys.executable, "-c", (
        "from voices.db import get_database; from voices.core import service as c;"
        "from voices.core.models import Account; from sqlalchemy import select;"
        "db = get_database();"
        "s = db.sessionmaker();"
        "a = s.scalar(select(Account).where(Account.email == 'admin@voices.example'));"
        "print(c.create_api_token(s, a, 'restart')[1]); s.commit()")],
        env=env, check=True, capture_output=True, text=True).stdout.strip()
    port = 8600 + os.getpid() % 300
    server = subprocess.Popen(voices + ["serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # the served app compiles its pages first
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.1)
        acknowledged: list[str] = []
        outcomes: list[int] = []
        bad: list[str] = []
        stop = threading.Event()
        # not "Z": the demo trusts are RZ1-RZ3
        letters = [a + b for a in "ABCDEFGHJKLMNPQSTUVWXY" for b in "0123456789"]

        def client() -> None:
            with httpx.Client(base_url=base, timeout=10,
                              headers={"Authorization": f"Bearer {token}"}) as c:
                for suffix in letters:
                    if stop.is_set():
                        return
                    code = "R" + suffix
                    try:
                        r = c.post("/api/v1/organisations",
                                   json={"ods_code": code, "name": f"Trust {code}"})
                    except httpx.HTTPError:
                        outcomes.append(0)  # connection dropped: not acknowledged
                        continue
                    outcomes.append(r.status_code)
                    if r.status_code == 201:
                        acknowledged.append(code)
                    elif r.status_code == 503:
                        if "retry-after" not in r.headers or \
                                r.json()["error"]["code"] != "database_unavailable":
                            bad.append(f"503 without a retry hint: {r.text[:200]}")
                    else:
                        bad.append(f"{r.status_code}: {r.text[:200]}")
                    time.sleep(0.02)

        worker = threading.Thread(target=client)
        worker.start()
        time.sleep(1.0)
        _restart_postgres()
        worker.join(timeout=180)
        stop.set()
        assert not bad, bad[:5]
        assert 503 in outcomes, "no request was in flight during the restart"
        assert outcomes[-20:].count(201) == 20, "the app did not recover by itself"
        engine = create_engine(pg_database)
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT ods_code FROM organisation")).scalars())
        engine.dispose()
        missing = set(acknowledged) - stored
        assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
        assert healthz_ok(base)
    finally:
        server.terminate()
        server.wait(timeout=20)


def healthz_ok(base: str) -> bool:
    return httpx.get(f"{base}/healthz", timeout=5).json() == {"status": "ok", "database": "ok"}
