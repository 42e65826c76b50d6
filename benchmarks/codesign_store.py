"""How fast co-design conversations work through the database: storing votes one at a time
(as the voting pages do) and updating a stored conversation's opinion map (as the
background job does: read every vote, update the map, store it).

For each case a synthetic conversation (nobody real; three opinion groups of made-up
voters) is written straight into a fresh SQLite file (and into PostgreSQL with
``--postgres URL``, a server database that is dropped and re-created), then:

* ``votes_per_second``: votes stored with ``service.cast_vote`` and committed one by one,
  each queueing the map update, as a vote from the voting page is;
* ``read_votes_seconds``: reading every vote back as the sparse vote matrix;
* ``first_update_seconds``: the first opinion map update (no previous map);
* ``next_update_seconds``: the next update after a few more votes, warm-started from the
  stored map (what happens while a conversation runs);
* ``peak_rss_gb``: peak resident memory of the process that ran the case (each case runs in
  its own process).

Prints one JSON object; progress goes to stderr.

    python benchmarks/codesign_store.py [--case demo|large] [--postgres postgresql+psycopg://…/db]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Pin thread pools before NumPy, SciPy or Polars is imported (imported inside the cases).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "POLARS_MAX_THREADS"):
    os.environ.setdefault(_name, "2")

#: (participants, statements, votes): the size of the demo conversation, and a large one
CASES = {"demo": (800, 60, 30_000), "large": (20_000, 200, 1_000_000)}
#: votes stored one at a time through the service, per case
SINGLE_VOTES = 1_000


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fresh_postgres(url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = "voices_bench_codesign_store"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _synthetic_votes(participants: int, statements: int, votes: int, seed: int = 0):
    """(participant index, statement index, vote) with three opinion groups: each group
    agrees with its own third of the statements and mostly disagrees with the others'."""
    import numpy as np

    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, participants)
    # each participant votes on a random subset of about votes / participants statements
    per_person = np.clip(np.round(rng.gamma(4.0, votes / participants / 4.0, participants)),
                         7, statements).astype(int)
    people = np.repeat(np.arange(participants), per_person)
    chosen = np.concatenate([rng.choice(statements, n, replace=False) for n in per_person])
    own = (chosen % 3) == group[people]
    p_agree = np.where(own, 0.8, 0.25)
    draw = rng.random(len(people))
    vote = np.where(draw < p_agree, 1, np.where(draw < p_agree + 0.1, 0, -1))
    return people, chosen, vote


def _store(session, conversation, participants: int, statements: int, votes: int) -> int:
    """Write the synthetic conversation straight into the tables (setup, not measured)."""
    import numpy as np
    from sqlalchemy import insert, select

    from voices.codesign.models import Participant, Statement, Vote
    from voices.db import utcnow

    now = utcnow()
    session.execute(insert(Statement), [
        {"conversation_id": conversation.id, "number": i, "text": f"Statement {i}",
         "seed": True, "status": "accepted", "created_at": now} for i in range(statements)])
    for start in range(0, participants, 50_000):
        session.execute(insert(Participant), [
            {"conversation_id": conversation.id, "number": i, "key_hash": f"{i:064x}",
             "joined_at": now} for i in range(start, min(participants, start + 50_000))])
    statement_ids = np.array(session.scalars(select(Statement.id).where(
        Statement.conversation_id == conversation.id).order_by(Statement.number)).all())
    participant_ids = np.array(session.scalars(select(Participant.id).where(
        Participant.conversation_id == conversation.id).order_by(Participant.number)).all())
    people, chosen, vote = _synthetic_votes(participants, statements, votes)
    rows = np.column_stack([participant_ids[people], statement_ids[chosen], vote]).tolist()
    # the driver's executemany: SQLAlchemy's would take most of a minute for a million rows
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {Vote.__tablename__} (participant_id, statement_id, conversation_id, "
           f"vote, unclear, voted_at) VALUES ({', '.join([mark] * 6)})")
    cursor = session.connection().connection.cursor()
    for start in range(0, len(rows), 100_000):
        cursor.executemany(sql, [(p, s, conversation.id, v, False, now)
                                 for p, s, v in rows[start:start + 100_000]])
    cursor.close()
    session.commit()
    return len(rows)


def run_case(name: str, url: str) -> dict:
    from voices.codesign import service
    from voices.db import Database
    from voices.demo import load
    from voices.migrate import upgrade

    participants, statements, votes = CASES[name]
    upgrade(url)
    database = Database(url)
    out: dict = {"participants": participants, "statements": statements}
    with database.sessionmaker() as session:
        demo = load(session, areas=())
        conversation = service.create_conversation(
            session, organisation_id=demo.trusts[0].id, question="A benchmark conversation?",
            actor=demo.accounts["involvement_lead"], slug=f"bench-{name}")
        session.commit()
        started = time.perf_counter()
        out["votes"] = _store(session, conversation, participants, statements, votes)
        out["setup_seconds"] = round(time.perf_counter() - started, 3)
        _say(f"  stored {out['votes']:,} votes in {out['setup_seconds']} s")

        # votes one at a time, by new participants, as from the voting pages
        started = time.perf_counter()
        stored = 0
        for i in range(SINGLE_VOTES // 10):
            person = service.join(session, conversation, key=f"single-{i}")
            session.commit()
            for number in range(10):
                service.cast_vote(session, conversation, person, number, "agree")
                session.commit()
                stored += 1
        elapsed = time.perf_counter() - started
        out["votes_per_second"] = round(stored / elapsed, 1)
        _say(f"  {out['votes_per_second']} votes a second, one at a time")

        started = time.perf_counter()
        matrix = service.vote_matrix(session, conversation.id)
        out["read_votes_seconds"] = round(time.perf_counter() - started, 3)
        del matrix
        started = time.perf_counter()
        record = service.update_map(session, conversation.id)
        session.commit()
        out["first_update_seconds"] = round(time.perf_counter() - started, 3)
        out["groups"] = record.group_count
        out["placed"] = record.placed
        _say(f"  first update {out['first_update_seconds']} s, {out['groups']} groups")
        for number in range(10):
            service.cast_vote(session, conversation, person, number, "disagree")
        session.commit()
        started = time.perf_counter()
        service.update_map(session, conversation.id)
        session.commit()
        out["next_update_seconds"] = round(time.perf_counter() - started, 3)
        _say(f"  next update {out['next_update_seconds']} s")
    database.dispose()
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
                               3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted(CASES), action="append",
                        help="Only this case (repeatable). Default: every case.")
    parser.add_argument("--postgres", help="Also measure on this PostgreSQL server "
                        "(a database named voices_bench_codesign_store is re-created).")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:                      # a child process: one case on one database
        print(json.dumps(run_case(*args.one)))
        return
    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    result: dict = {"benchmark": "codesign_store", "machine": {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count()}, "single_votes": SINGLE_VOTES, "cases": {}}
    with tempfile.TemporaryDirectory(prefix="voices-bench-") as folder:
        for engine in engines:
            for name in args.case or list(CASES):
                url = (f"sqlite:///{Path(folder) / f'{name}.db'}" if engine == "sqlite"
                       else _fresh_postgres(args.postgres))
                _say(f"{name} on {engine}")
                child = subprocess.run([sys.executable, __file__, "--one", name, url],
                                       capture_output=True, text=True, check=False)
                sys.stderr.write(child.stderr[-2000:] if child.returncode else child.stderr)
                result["cases"][f"{name}_{engine}"] = (
                    json.loads(child.stdout) if child.returncode == 0
                    else {"error": child.stderr.strip().splitlines()[-1:]})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
