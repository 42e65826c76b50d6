"""How long a trust's waiting list takes to import into the database, and to read back.

Writes a synthetic list (nobody real) as CSV, then on a fresh SQLite file (and on
PostgreSQL with ``--postgres URL``, a database made for the run and dropped after it)
times: importing it (checking with the engine's reader, then storing), importing the same
date again (which replaces it), reading it back as a typed snapshot, and working out the
equity dashboard's figures. Prints one JSON object; progress goes to stderr.

    python benchmarks/access_store.py [--pathways 100000] [--postgres postgresql+psycopg://…/db]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

# Pin thread pools before NumPy or Polars is imported (they are imported inside main()).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "POLARS_MAX_THREADS"):
    os.environ.setdefault(_name, "2")

def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


BENCH_DATABASE = "voices_bench_access_store"


def _postgres_admin(url: str, *statements: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def _fresh_postgres(url: str) -> str:
    from sqlalchemy.engine import make_url

    _postgres_admin(url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)',
                    f'CREATE DATABASE "{BENCH_DATABASE}"')
    return make_url(url).set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def measure(url: str, path: Path, day: date) -> dict:
    from voices.access import service
    from voices.db import Database
    from voices.demo import load
    from voices.migrate import upgrade

    upgrade(url)
    database = Database(url)
    out: dict = {}
    with database.sessionmaker() as session:
        trust = load(session, areas=()).trusts[0]
        for label in ("import_seconds", "reimport_same_date_seconds"):
            start = time.perf_counter()
            result = service.import_snapshot(session, path, organisation=trust,
                                             snapshot_date=day)
            session.commit()
            out[label] = round(time.perf_counter() - start, 3)
            _say(f"  {label}: {out[label]} s")
        service._cache.clear()
        start = time.perf_counter()
        snapshot = service.load_snapshot(session, result.snapshot)
        out["read_back_seconds"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        service.snapshot_equity(session, result.snapshot)
        out["equity_seconds"] = round(time.perf_counter() - start, 3)
        out["pathways_read_back"] = snapshot.size
    database.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pathways", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("VOICES_BENCH_POSTGRES_URL"))
    args = parser.parse_args()

    from voices.access.synthetic import synthetic_waiting_list

    day = date.today() - timedelta(days=7)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        synthetic_waiting_list(args.pathways, snapshot_date=day, seed=1).write_csv(path)
        result = {"pathways": args.pathways, "file_mb": round(path.stat().st_size / 2**20, 1)}
        _say("SQLite")
        result["sqlite"] = measure(f"sqlite:///{folder}/bench.db", path, day)
        if args.postgres:
            _say("PostgreSQL")
            result["postgresql"] = measure(_fresh_postgres(args.postgres), path, day)
            _postgres_admin(args.postgres,
                            f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    result["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                         "python": platform.python_version(),
                         "load_average": [round(x, 1) for x in os.getloadavg()]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
