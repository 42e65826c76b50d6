"""A durable job queue in Voices' own database (SQLite or PostgreSQL): no extra server.

Areas register a handler per kind of job::

    @jobs.handler("listen.classify")
    def classify(db: Database, payload: dict, report: Progress) -> dict: ...

and enqueue work with :func:`enqueue`. Workers (a thread inside the web app, or
``voices worker``) claim jobs one at a time with a conditional UPDATE, so two workers never
run the same job, and jobs that share a ``key`` never run at the same time (at most one runs
and one waits: a second request while one is waiting returns the waiting one). Enqueueing
and claiming a keyed job hold a lock on the key until their transaction ends (PostgreSQL: an
advisory lock; SQLite: its single write lock), so two of them at once cannot both see "none
waiting" or "none running". Running
jobs send a heartbeat; when a worker dies, :func:`recover` (run by every worker at start and
every 30 s) puts its jobs back in the queue (or fails them cleanly after ``max_attempts``)
— a restart never silently drops work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import exists, func, not_, or_, select, update
from sqlalchemy.orm import Session, aliased

from voices.core.models import Account, Job, JobStatus
from voices.db import Database, utcnow
from voices.errors import VoicesError

log = logging.getLogger("voices.jobs")

HEARTBEAT_SECONDS = 5.0
STALE_AFTER = dt.timedelta(seconds=60)
RECOVER_EVERY = 30.0  # seconds between a worker's looks for jobs of stopped workers
CLAIM_TRIES = 5  # candidates a worker tries before it waits (others took the earlier ones)


@dataclass
class Progress:
    """What a handler calls to say how far it has got (written to the job row)."""

    db: Database
    job_id: int
    _last: float = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < 0.5 and fraction < 1.0:
            return
        self._last = now
        with self.db.session() as session:
            session.execute(update(Job).where(Job.id == self.job_id).values(
                progress=max(0.0, min(1.0, float(fraction))), message=message[:500],
                heartbeat_at=utcnow()))


Handler = Callable[[Database, dict, Progress], dict | None]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _HANDLERS[kind] = func
        return func
    return register


def registered() -> dict[str, Handler]:
    _import_area_handlers()
    return dict(_HANDLERS)


def _import_area_handlers() -> None:
    import importlib

    for area in ("listen", "measure", "access", "involve", "codesign"):
        try:
            importlib.import_module(f"voices.{area}.jobs")
        except ModuleNotFoundError as exc:
            if exc.name != f"voices.{area}.jobs":
                raise


def _lock(session: Session, key: str | None) -> None:
    """Hold, until the session's transaction ends, the lock every enqueue and claim of this
    ``key`` takes: on PostgreSQL a transaction-level advisory lock numbered from the key
    (other keys carry on); on SQLite the database's one write lock, which a write that
    changes nothing takes (SQLite runs one writer at a time anyway). What the holder then
    reads about the key's jobs stays true until it commits."""
    if session.get_bind().dialect.name == "postgresql":
        if key is not None:
            number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(),
                                    "big", signed=True)
            session.execute(select(func.pg_advisory_xact_lock(number)))
    else:
        session.execute(update(Job).where(Job.id == -1).values(attempts=Job.attempts)
                        .execution_options(synchronize_session=False))


def enqueue(session: Session, kind: str, payload: dict | None = None, *, key: str | None = None,
            actor: Account | None = None, organisation_id: int | None = None,
            max_attempts: int = 3) -> Job:
    """Add a job (in the caller's transaction). With a ``key``, an identical job still
    waiting is reused instead of adding another, also when two callers ask at once (the
    second waits for the first's transaction, then finds its job)."""
    if key is not None:
        _lock(session, key)
        waiting = session.scalar(select(Job).where(Job.key == key,
                                                   Job.status == JobStatus.queued)
                                 .order_by(Job.id).limit(1))
        if waiting is not None:
            return waiting
    job = Job(kind=kind, key=key, payload=payload or {}, max_attempts=max_attempts,
              created_by=actor.id if actor else None, organisation_id=organisation_id,
              status=JobStatus.queued, run_after=utcnow())
    session.add(job)
    session.flush()
    return job


def _runnable(now: dt.datetime, kinds: set[str] | None, passed: list[int]):
    """(id, key) of queued jobs due by ``now`` whose key has none running, oldest first."""
    running_keys = select(Job.key).where(Job.status == JobStatus.running,
                                         Job.key.is_not(None)).scalar_subquery()
    candidate = select(Job.id, Job.key).where(
        Job.status == JobStatus.queued, Job.run_after <= now,
        or_(Job.key.is_(None), not_(Job.key.in_(running_keys))))
    if kinds is not None:
        candidate = candidate.where(Job.kind.in_(kinds))
    if passed:
        candidate = candidate.where(Job.id.not_in(passed))
    return candidate.order_by(Job.id).limit(1)


def claim(db: Database, worker: str, kinds: set[str] | None = None) -> int | None:
    """Atomically take the oldest runnable job; returns its id, or None.

    The UPDATE that takes it only changes a job still queued (on PostgreSQL a second
    worker's UPDATE waits for the first's and then finds it running), and for a keyed job
    only while no job with that key is running, checked under the key's lock; a worker
    that loses a job to another tries the next one (each try in its own transaction, so a
    worker never holds one key's lock while it waits for another's)."""
    now = utcnow()
    passed: list[int] = []
    for _ in range(CLAIM_TRIES):
        with db.session() as session:
            row = session.execute(_runnable(now, kinds, passed)).first()
            if row is None:
                return None
            job_id, key = row
            taking = update(Job).where(Job.id == job_id, Job.status == JobStatus.queued)
            if key is not None:
                _lock(session, key)
                other = aliased(Job)
                taking = taking.where(~exists().where(other.key == key,
                                                      other.status == JobStatus.running))
            claimed = session.execute(
                taking.values(status=JobStatus.running, worker=worker, started_at=now,
                              heartbeat_at=now, attempts=Job.attempts + 1)
                .execution_options(synchronize_session=False))
            if claimed.rowcount == 1:
                return job_id
        passed.append(job_id)
    return None


def run(db: Database, job_id: int) -> None:
    """Run a claimed job to the end, recording its result or a clean failure."""
    with db.session() as session:
        job = session.get(Job, job_id)
        kind, payload, attempts, max_attempts = job.kind, dict(job.payload or {}), \
            job.attempts, job.max_attempts
    func = registered().get(kind)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                with db.session() as s:
                    s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow()))
            except Exception:  # a missed heartbeat is not fatal
                log.warning("job %s heartbeat failed", job_id)

    pulse = threading.Thread(target=beat, daemon=True)
    pulse.start()
    values: dict
    try:
        if func is None:
            raise VoicesError(f"No handler for jobs of kind '{kind}'", code="unknown_job_kind")
        result = func(db, payload, Progress(db, job_id))
        values = {"status": JobStatus.done, "result": result or {}, "progress": 1.0,
                  "finished_at": utcnow(), "error": None}
    except VoicesError as exc:
        values = {"status": JobStatus.failed, "error": exc.message[:2000],
                  "finished_at": utcnow()}
    except Exception as exc:  # noqa: BLE001 - recorded, retried, never lost
        log.error("job %s (%s) failed with %s", job_id, kind, type(exc).__name__, exc_info=exc)
        if attempts < max_attempts:
            values = {"status": JobStatus.queued, "error": type(exc).__name__,
                      "run_after": utcnow() + dt.timedelta(seconds=2 ** attempts)}
        else:
            values = {"status": JobStatus.failed, "finished_at": utcnow(),
                      "error": f"Stopped after {attempts} attempts ({type(exc).__name__})"}
    finally:
        stop.set()
    with db.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))


def _gone(worker: str | None) -> bool:
    """True when a worker name (``host:pid[:…]``) is a process of this machine that no
    longer exists: its jobs need not wait for their heartbeat to go stale."""
    parts = (worker or "").split(":")
    if len(parts) < 2 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but belongs to someone else
        return False
    return False


def recover(db: Database, *, stale_after: dt.timedelta = STALE_AFTER) -> int:
    """Put back jobs whose worker stopped, or fail them (with a message) after too many tries.

    A worker has stopped when its heartbeat is older than ``stale_after``, or at once when
    it was a process of this machine that no longer exists (killed, or the machine
    restarted), so a worker restarted straight after a crash picks up the crashed one's
    jobs."""
    cutoff = utcnow() - stale_after
    with db.session() as session:
        running = session.scalars(select(Job).where(Job.status == JobStatus.running)).all()
        stale = [job for job in running
                 if job.heartbeat_at is None or job.heartbeat_at < cutoff or _gone(job.worker)]
        for job in stale:
            if job.attempts < job.max_attempts:
                job.status = JobStatus.queued
                job.message = "Restarted after the service stopped"
            else:
                job.status = JobStatus.failed
                job.error = "The service stopped while this was running, too many times"
                job.finished_at = utcnow()
        return len(stale)


def run_pending(db: Database, *, worker: str | None = None, limit: int | None = None) -> int:
    """Run queued jobs until none are left (or ``limit``); returns how many ran."""
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    done = 0
    while limit is None or done < limit:
        job_id = claim(db, worker)
        if job_id is None:
            return done
        run(db, job_id)
        done += 1
    return done


class Worker(threading.Thread):
    """A background thread that keeps running jobs until stopped."""

    def __init__(self, db: Database, poll_seconds: float = 1.0) -> None:
        super().__init__(daemon=True, name="voices-jobs")
        self.db = db
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.name_for_jobs = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    def run(self) -> None:
        last_recovery = -float("inf")
        while not self.stopping.is_set():
            if time.monotonic() - last_recovery >= RECOVER_EVERY:
                # at start, then now and again: a worker that died while this one was
                # running is noticed once its heartbeat is stale
                try:
                    recover(self.db)
                    last_recovery = time.monotonic()
                except Exception:
                    log.warning("could not look for jobs of stopped workers")
            try:
                ran = run_pending(self.db, worker=self.name_for_jobs, limit=10)
            except Exception as exc:  # database restarting: wait and try again
                log.warning("job worker paused (%s)", type(exc).__name__)
                ran = 0
            if not ran:
                self.stopping.wait(self.poll_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.join(timeout)
