"""Load benchmark: the public feedback form and co-design voting under many people at once.

``python benchmarks/load.py`` creates a fresh database (a new PostgreSQL database next to
``VOICES_TEST_DATABASE_URL``, or a temporary SQLite file when that is unset, saying so),
loads the demo data it needs (services with public feedback pages and an open co-design
conversation), starts ``voices serve`` on a free 127.0.0.1 port, and runs ``--clients``
simulated people for ``--seconds``:

* half give feedback exactly as a browser does: open ``/f/<service>`` (reading the form's
  CSRF token), send a rating (stored at once: the 303 to the next page is the promise),
  open the next page, send a comment (303 again), open the thank-you page, then start
  over as a new visitor;
* half vote in the open conversation: open ``/codesign/c/<slug>``, join, skip the optional
  questions, then open the vote page and vote on the statement it shows (a 303 to
  ``?saved=1`` is the promise) until none are left, then start over as a new participant.

Each person pauses ``--think`` seconds on average (default 5; uniformly 0.5x to 1.5x) between
requests, as someone reading a page would (real people take far longer). Every request's
latency is recorded. Afterwards the rows stored in the database (feedback responses,
comments and votes added during the run) are counted and compared with the submissions the
clients were told had been saved.

Prints one JSON object on stdout (progress on stderr)::

    {"database": "postgresql", "clients": 200, "seconds": 60, "accepted": n, "stored": n,
     "errors": 0, "p95_ms": x, "p99_ms": y, ...}

plus requests, requests per second, p50, per-kind accepted/stored and per-endpoint
p50/p95/p99. Rate limits are raised for the server it starts (every client comes from
127.0.0.1). Everything it started (server, database) is stopped and removed at the end.

The load generator runs on the same (shared, 2-core) machine as the server and uses a
good part of one core itself; figures are wall-clock and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STATEMENT = re.compile(r'name="statement" value="(\d+)"')
COMMENTS = [
    "The nurse on the ward was kind and explained everything clearly.",
    "Waiting for two hours in reception with no update was hard.",
    "Parking was difficult but the staff were lovely.",
    "Please tell people how long the wait will be.",
    "The doctor listened to me and my daughter.",
]
RATINGS = ["Very good", "Good", "Neither good nor poor", "Poor", "Very poor"]
VOTES = ["agree", "disagree", "pass"]
RAISED_LIMITS = {"VOICES_LOGIN_RATE_PER_MINUTE": "1000000",
                 "VOICES_PUBLIC_RATE_PER_MINUTE": "1000000",
                 "VOICES_NEW_FEEDBACK_PER_FIVE_MINUTES": "1000000",
                 "VOICES_VOTES_PER_MINUTE": "1000000",
                 "VOICES_STATEMENTS_PER_TEN_MINUTES": "1000000",
                 "VOICES_JOINS_PER_ADDRESS_PER_MINUTE": "1000000",
                 "VOICES_VOTES_PER_ADDRESS_PER_MINUTE": "1000000",
                 "VOICES_STATEMENTS_PER_ADDRESS_PER_TEN_MINUTES": "1000000"}
COUNTS = {"feedback": "SELECT count(*) FROM listen_response",
          "comments": "SELECT count(*) FROM listen_comment",
          "votes": "SELECT count(*) FROM codesign_vote"}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------- what it starts


def fresh_database(folder: Path) -> tuple[str, str]:
    """(kind, url) of an empty database made for this run."""
    base = os.environ.get("VOICES_TEST_DATABASE_URL")
    if not base:
        say("VOICES_TEST_DATABASE_URL is unset: running on SQLite, not PostgreSQL")
        return "sqlite", f"sqlite:///{folder / 'load.db'}"
    name = f"voices_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return "postgresql", make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict) -> None:
    voices = [sys.executable, "-m", "voices"]
    for args in (["db", "upgrade"], ["demo", "--area", "codesign"]):
        result = subprocess.run(voices + args, env=env, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise SystemExit(f"voices {' '.join(args)} failed:\n{result.stderr[-2000:]}")


def start_server(env: dict, port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "voices", "serve", "--port", str(port), "--workers",
         str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped:\n" + server.stderr.read().decode()[-2000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise SystemExit("the server did not start within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def targets(url: str) -> tuple[list[str], str]:
    """Service slugs with a public feedback page, and the slug of an open conversation."""
    engine = create_engine(url)
    with engine.connect() as conn:
        services = list(conn.execute(text("SELECT slug FROM service ORDER BY id LIMIT 20"))
                        .scalars())
        # a minute ahead: the demo opens its conversation "now", to the microsecond
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 60))
        conversation = conn.execute(text(
            "SELECT slug FROM codesign_conversation WHERE opens_at <= :now AND (closes_at IS "
            "NULL OR closes_at > :now) ORDER BY id LIMIT 1"), {"now": now}).scalar()
    engine.dispose()
    if not services or conversation is None:
        raise SystemExit("the demo has no service or no open conversation")
    return services, conversation


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {kind: conn.execute(text(sql)).scalar() for kind, sql in COUNTS.items()}
    engine.dispose()
    return found


def cpu_seconds(group: int) -> float:
    """CPU time used so far by the processes of a process group (the server's workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def background_jobs(url: str) -> dict:
    """Jobs by status, and their total running time (votes ask for opinion-map updates,
    run by a thread of the server's workers)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {status: n for status, n in conn.execute(text(
            "SELECT status, count(*) FROM job GROUP BY status"))}
        spans = conn.execute(text("SELECT started_at, finished_at FROM job WHERE finished_at "
                                  "IS NOT NULL AND started_at IS NOT NULL")).all()
    engine.dispose()
    found["seconds_running"] = round(sum((_time(b) - _time(a)).total_seconds()
                                         for a, b in spans), 1)
    return found


def _time(value) -> dt.datetime:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


# ----------------------------------------------------------------------- the people


class Run:
    """What all the simulated people saw: latencies per endpoint, errors, promises."""

    def __init__(self, seconds: float, think: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.think = think
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.accepted = {"feedback": 0, "comments": 0, "votes": 0}

    def going(self) -> bool:
        return time.monotonic() < self.deadline

    async def pause(self) -> None:
        if self.think > 0:
            await asyncio.sleep(random.uniform(0.5, 1.5) * self.think)

    async def request(self, client: httpx.AsyncClient, name: str, method: str, url: str,
                      expect: int, data: dict | None = None) -> httpx.Response | None:
        """One request, timed; anything but the expected status is an error (None)."""
        started = time.perf_counter()
        try:
            response = await client.request(method, url, data=data)
        except httpx.HTTPError as exc:
            self.errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        self.latencies[name].append(time.perf_counter() - started)
        if response.status_code != expect:
            self.errors[f"{name}: {response.status_code}"] += 1
            return None
        return response


def _csrf(response: httpx.Response) -> str | None:
    found = CSRF.search(response.text)
    return found.group(1) if found else None


async def give_feedback(run: Run, c: httpx.AsyncClient, services: list[str]) -> None:
    """One person after another giving feedback on a service, page by page."""
    while run.going():
        c.cookies.clear()  # a new visitor
        slug = random.choice(services)
        page = await run.request(c, "GET /f/{slug}", "GET", f"/f/{slug}", 200)
        token = page and _csrf(page)
        if not token:
            await run.pause()
            continue
        await run.pause()
        sent = await run.request(c, "POST /f/{slug}", "POST", f"/f/{slug}", 303,
                                 {"csrf_token": token, "rating": random.choice(RATINGS),
                                  "voices_hp": ""})
        if sent is None or sent.headers.get("location") != f"/f/{slug}/good":
            continue
        run.accepted["feedback"] += 1
        await run.pause()
        page = await run.request(c, "GET /f/{slug}/{step}", "GET", f"/f/{slug}/good", 200)
        if page is None:
            continue
        await run.pause()
        sent = await run.request(c, "POST /f/{slug}/{step}", "POST", f"/f/{slug}/good",
                                 303, {"csrf_token": _csrf(page) or token,
                                       "comment": random.choice(COMMENTS)})
        if sent is None or sent.headers.get("location") != f"/f/{slug}/better":
            continue
        run.accepted["comments"] += 1
        await run.pause()
        await run.request(c, "GET /f/{slug}/{step}", "GET", f"/f/{slug}/thank-you", 200)
        await run.pause()


async def vote(run: Run, c: httpx.AsyncClient, slug: str) -> None:
    """One participant after another joining the conversation and voting on every
    statement it shows them."""
    prefix = f"/codesign/c/{slug}"
    while run.going():
        c.cookies.clear()  # a new participant
        page = await run.request(c, "GET /codesign/c/{slug}", "GET", prefix, 200)
        token = page and _csrf(page)
        if not token:
            await run.pause()
            continue
        await run.pause()
        joined = await run.request(c, "POST /codesign/c/{slug}/join", "POST",
                                   f"{prefix}/join", 303, {"csrf_token": token})
        if joined is None:
            continue
        where = joined.headers["location"]
        while "/about/" in where and run.going():
            await run.pause()
            skipped = await run.request(c, "POST /codesign/c/{slug}/about/{name}", "POST",
                                        where, 303, {"csrf_token": token, "skip": "1"})
            if skipped is None:
                break
            where = skipped.headers["location"]
        seen: set[str] = set()
        while run.going():
            await run.pause()
            page = await run.request(c, "GET /codesign/c/{slug}/vote", "GET", where, 200)
            number = page and STATEMENT.search(page.text)
            if not number:
                break  # voted on everything (or the page failed): next participant
            number = number.group(1)
            await run.pause()
            sent = await run.request(c, "POST /codesign/c/{slug}/vote", "POST",
                                     f"{prefix}/vote", 303,
                                     {"csrf_token": token, "statement": number,
                                      "vote": random.choice(VOTES)})
            if sent is None or "saved=1" not in sent.headers.get("location", ""):
                break
            if number not in seen:  # a second vote on a statement replaces the first
                seen.add(number)
                run.accepted["votes"] += 1
            where = sent.headers["location"]


async def warm_up(base: str, services: list[str], conversation: str) -> None:
    """Open each kind of page once per server worker before measuring (each worker
    compiles its templates on first use)."""
    async with client(base, timeout=60) as c:
        for _ in range(4):
            for url in (f"/f/{services[0]}", f"/codesign/c/{conversation}",
                        f"/codesign/c/{conversation}/vote", "/healthz"):
                await c.get(url)


def client(base: str, timeout: float = 30) -> httpx.AsyncClient:
    """One person's browser. Plain HTTP to 127.0.0.1: verify=False skips building a TLS
    context (~90 ms of this process's CPU per client, which would stall every other
    client's requests). Idle connections are dropped after 3 s, before the server's 5 s
    keep-alive ends (as browsers do), so no request is sent on a connection the server is
    closing."""
    return httpx.AsyncClient(base_url=base, timeout=timeout, verify=False,
                             limits=httpx.Limits(keepalive_expiry=3.0))


async def drive(run: Run, base: str, clients: int, services: list[str],
                conversation: str) -> None:
    async def person(i: int, c: httpx.AsyncClient) -> None:
        # people arrive over the first pause, not all in the same millisecond
        await asyncio.sleep(random.uniform(0, run.think))
        async with c:
            if i % 2 == 0:
                await give_feedback(run, c, services)
            else:
                await vote(run, c, conversation)

    people = [client(base) for _ in range(clients)]
    run.deadline = time.monotonic() + run.seconds
    await asyncio.gather(*(person(i, c) for i, c in enumerate(people)))


# ----------------------------------------------------------------------- the figures


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def ms(value: float) -> float:
    return round(value * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=5.0,
                        help="mean pause between one person's requests, in seconds")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="voices-load-") as folder:
        kind, url = fresh_database(Path(folder))
        server = None
        try:
            env = dict(os.environ, VOICES_DATABASE_URL=url, VOICES_DATA_DIR=str(folder),
                       VOICES_SECRET_KEY=uuid.uuid4().hex, VOICES_LOG_LEVEL="WARNING",
                       **RAISED_LIMITS)
            say(f"loading the demo into a fresh {kind} database")
            prepare(env)
            services, conversation = targets(url)
            before = counts(url)
            port = free_port()
            server = start_server(env, port, args.workers)
            say(f"{args.clients} clients for {args.seconds:g} s against 127.0.0.1:{port} "
                f"({args.workers} workers)")
            asyncio.run(warm_up(f"http://127.0.0.1:{port}", services, conversation))
            run = Run(args.seconds, args.think)
            started = time.monotonic()
            server_cpu = cpu_seconds(server.pid)
            own_cpu = time.process_time()
            asyncio.run(drive(run, f"http://127.0.0.1:{port}", args.clients, services,
                              conversation))
            elapsed = time.monotonic() - started
            server_cpu = cpu_seconds(server.pid) - server_cpu
            own_cpu = time.process_time() - own_cpu
            after = counts(url)
            jobs = background_jobs(url)
        finally:
            if server is not None:
                stop_server(server)
            drop_database(url)

    stored = {k: after[k] - before[k] for k in COUNTS}
    every = [x for values in run.latencies.values() for x in values]
    result = {
        "database": kind, "clients": args.clients, "seconds": args.seconds,
        "accepted": sum(run.accepted.values()), "stored": sum(stored.values()),
        "errors": sum(run.errors.values()),
        "p95_ms": ms(percentile(every, 95)), "p99_ms": ms(percentile(every, 99)),
        "p50_ms": ms(percentile(every, 50)), "requests": len(every),
        "requests_per_second": round(len(every) / elapsed, 1),
        "think_seconds": args.think, "server_workers": args.workers,
        "server_cpu_seconds": round(server_cpu, 1),
        "load_generator_cpu_seconds": round(own_cpu, 1),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, len(every)), 1),
        "accepted_by_kind": run.accepted, "stored_by_kind": stored,
        "error_kinds": dict(run.errors), "jobs_after": jobs,
        "endpoints": {name: {"requests": len(v), "p50_ms": ms(percentile(v, 50)),
                             "p95_ms": ms(percentile(v, 95)), "p99_ms": ms(percentile(v, 99))}
                      for name, v in sorted(run.latencies.items())},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
