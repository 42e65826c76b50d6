"""The durable job queue on both databases."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select, update

from support import DEMO_EMAILS, at_once, sign_in
from voices import jobs
from voices.core.models import Job, JobStatus
from voices.db import utcnow
from voices.errors import VoicesError

CALLS: list[dict] = []


@jobs.handler("test.add")
def _add(db, payload, report):
    report(0.5, "half way")
    CALLS.append(payload)
    return {"sum": payload["a"] + payload["b"]}


@jobs.handler("test.flaky")
def _flaky(db, payload, report):
    raise RuntimeError("transient")


@jobs.handler("test.refused")
def _refused(db, payload, report):
    raise VoicesError("The quotas cannot be met")


def _job(database, job_id) -> Job:
    with database.sessionmaker() as s:
        return s.get(Job, job_id)


def test_a_job_runs_once_and_keeps_its_result(database):
    with database.session() as s:
        job_id = jobs.enqueue(s, "test.add", {"a": 2, "b": 3}).id
    CALLS.clear()
    assert jobs.run_pending(database) == 1
    assert jobs.run_pending(database) == 0
    job = _job(database, job_id)
    assert job.status is JobStatus.done and job.result == {"sum": 5} and job.progress == 1.0
    assert CALLS == [{"a": 2, "b": 3}]


def test_same_key_waits_rather_than_piling_up(database):
    with database.session() as s:
        first = jobs.enqueue(s, "test.add", {"a": 1, "b": 1}, key="map:7")
        second = jobs.enqueue(s, "test.add", {"a": 1, "b": 1}, key="map:7")
        assert first.id == second.id
    running = jobs.claim(database, "w1")
    with database.session() as s:
        waiting = jobs.enqueue(s, "test.add", {"a": 1, "b": 1}, key="map:7").id
    assert waiting != running
    assert jobs.claim(database, "w2") is None  # one with that key is still running
    jobs.run(database, running)
    assert jobs.claim(database, "w2") == waiting


def test_a_crash_is_retried_then_fails_cleanly(database):
    with database.session() as s:
        job_id = jobs.enqueue(s, "test.flaky", max_attempts=2).id
    jobs.run(database, jobs.claim(database, "w"))
    job = _job(database, job_id)
    assert job.status is JobStatus.queued and job.run_after > utcnow()
    with database.session() as s:
        s.execute(update(Job).values(run_after=utcnow()))
    jobs.run(database, jobs.claim(database, "w"))
    job = _job(database, job_id)
    assert job.status is JobStatus.failed and "2 attempts" in job.error


def test_a_refusal_fails_at_once_with_its_message(database):
    with database.session() as s:
        job_id = jobs.enqueue(s, "test.refused").id
    jobs.run_pending(database)
    job = _job(database, job_id)
    assert job.status is JobStatus.failed and job.error == "The quotas cannot be met"


def test_jobs_of_a_stopped_worker_are_resumed_not_dropped(database):
    with database.session() as s:
        job_id = jobs.enqueue(s, "test.add", {"a": 1, "b": 2}).id
    assert jobs.claim(database, "dead-worker") == job_id  # then the worker dies
    with database.session() as s:
        s.execute(update(Job).values(heartbeat_at=utcnow() - dt.timedelta(minutes=5)))
    assert jobs.recover(database) == 1
    assert jobs.run_pending(database) == 1
    assert _job(database, job_id).result == {"sum": 3}


def test_progress_page_and_json(client, demo_core, database):
    with database.session() as s:
        job_id = jobs.enqueue(s, "test.add", {"a": 2, "b": 2},
                              organisation_id=demo_core.icb.id).id
    sign_in(client, DEMO_EMAILS["analyst"])
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200 and "Waiting to start" in page.text
    jobs.run_pending(database)
    assert client.get(f"/api/v1/jobs/{job_id}").json()["result"] == {"sum": 4}
    assert client.get("/api/v1/jobs/999999").status_code == 404


@pytest.mark.parametrize("role", ["partner"])
def test_partners_cannot_see_jobs(client, demo_core, database, role):
    with database.session() as s:
        job_id = jobs.enqueue(s, "test.add", {"a": 1, "b": 1}).id
    sign_in(client, DEMO_EMAILS[role])
    assert client.get(f"/jobs/{job_id}").status_code == 403


def _dead_worker() -> str:
    """The name a worker on this machine had, in a process that has since ended."""
    import socket
    import subprocess

    ended = subprocess.Popen(["true"])
    ended.wait()
    return f"{socket.gethostname()}:{ended.pid}"


def test_jobs_of_a_crashed_local_worker_are_resumed_at_once(database):
    """A worker restarted straight after a crash picks up the crashed one's job without
    waiting a minute for its heartbeat to go stale; a live worker's job is left alone."""
    import os
    import socket

    with database.session() as s:
        crashed = jobs.enqueue(s, "test.add", {"a": 4, "b": 5}).id
        alive = jobs.enqueue(s, "test.add", {"a": 1, "b": 1}).id
    assert jobs.claim(database, _dead_worker()) == crashed
    assert jobs.claim(database, f"{socket.gethostname()}:{os.getpid()}") == alive
    assert jobs.recover(database) == 1
    job = _job(database, crashed)
    assert job.status is JobStatus.queued and job.message == "Restarted after the service stopped"
    assert _job(database, alive).status is JobStatus.running
    assert jobs.run_pending(database) == 1
    assert _job(database, crashed).result == {"sum": 9}


def test_a_job_that_keeps_crashing_its_worker_fails_with_a_message(database):
    with database.session() as s:
        job_id = jobs.enqueue(s, "test.add", {"a": 1, "b": 1}, max_attempts=2).id
    for _ in range(2):
        assert jobs.claim(database, _dead_worker()) == job_id
        jobs.recover(database)
    job = _job(database, job_id)
    assert job.status is JobStatus.failed and job.finished_at is not None
    assert job.error == "The service stopped while this was running, too many times"
    assert jobs.run_pending(database) == 0


def test_two_requests_at_once_queue_one_job_for_a_key(database):
    """The check for a waiting job and the insert are one step: the second request waits
    for the first one's transaction, then reuses its job."""
    def request():
        with database.session() as s:
            job = jobs.enqueue(s, "test.add", {"a": 1, "b": 1}, key="map:9")
            time.sleep(0.3)                      # a slow request: still not committed
            return job.id

    first, second = at_once(request, request)
    assert first == second
    with database.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.key == "map:9")) == 1


def test_two_workers_at_once_take_each_job_once(database):
    with database.session() as s:
        queued = [jobs.enqueue(s, "test.add", {"a": n, "b": 0}).id for n in range(30)]

    def worker(name):
        def take():
            taken = []
            while (job_id := jobs.claim(database, name)) is not None:
                taken.append(job_id)
            return taken
        return take

    first, second = at_once(worker("w1"), worker("w2"))
    assert sorted(first + second) == queued
    with database.sessionmaker() as s:
        assert set(s.scalars(select(Job.attempts)).all()) == {1}


def test_two_workers_at_once_never_run_two_jobs_of_one_key(database):
    """Two waiting jobs can share a key (a crashed update put back while a vote queued the
    next). Two workers that see different ones as next (here: they run different kinds;
    or a retry comes due between their looks) and claim at the same moment start one of
    them, never both."""
    both = []
    for round_ in range(15):
        key = f"map:{round_}"
        with database.session() as s:
            s.add_all([Job(kind=kind, key=key, payload={"a": 1, "b": 1},
                           status=JobStatus.queued, run_after=utcnow())
                       for kind in ("test.add", "test.flaky")])
        claimed = at_once(lambda: jobs.claim(database, "w1", {"test.add"}),
                          lambda: jobs.claim(database, "w2", {"test.flaky"}))
        both.append(sum(job_id is not None for job_id in claimed))
        with database.session() as s:
            s.execute(update(Job).where(Job.key == key).values(status=JobStatus.done))
    assert both == [1] * 15
