"""Benchmark: a lead's involve pages on a large partner community.

    python benchmarks/involve.py [--partners N] [--k K] [--repeats R]

Makes a fresh SQLite database with the demo organisations and a synthetic community of
``N`` partners (default 3,000; the demo's generator, with its self-selection bias), all of
them interested in one opportunity, and two involvement log entries each. Then, through
the real web app (FastAPI's test client, signed in as the demo lead), times the median of
``R`` runs of:

- ``opportunity_page_seconds``: the opportunity's page, which ranks everyone interested
  with the reasons for each rank and shows the first page of the list;
- ``all_on_one_page_seconds`` (the anchor): the same page listing everyone at once, as the
  page did before it was split into pages; ``page_speedup`` is the ratio;
- ``ranking_api_seconds``: the full ranked list as JSON (``/api/v1/.../interest``);
- ``community_page_seconds``, ``community_filtered_seconds``: the community list (first
  page), and filtered by a condition;
- ``makeup_page_seconds``, ``makeup_csv_seconds``: the community beside the population on
  each equity dimension (with charts), and its disclosure-controlled CSV;
- ``finance_csv_seconds``, ``finance_xlsx_seconds``: the involvement log exports;
- ``panel_seconds``: a panel of ``K`` (default 30) from everyone interested, on age band,
  sex and deprivation quintile: pool and default quotas, the live quota check, LEXIMIN and
  the 1,000-ticket lottery (the background job's work), then the panel page.

Prints one JSON object on stdout (progress on stderr). Wall-clock on a shared machine:
compare ratios measured in the same run rather than seconds across runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import datetime as dt
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

LEAD = "lead@voices.example"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_time(action, repeats: int) -> tuple[float, object]:
    """The median wall-clock time of ``repeats`` runs, after one untimed run (templates are
    compiled and caches filled on first use)."""
    result = action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 4), result


def build(url: str, partners: int) -> dict:
    """The demo organisations and accounts, then the synthetic community."""
    from voices.db import Database, utcnow
    from voices.demo import load
    from voices.involve import demo as involve_demo
    from voices.involve import service as involve
    from voices.involve.models import Interest, LogEntry
    from voices.involve.payments import involvement_payment
    from voices.migrate import upgrade

    upgrade(url)
    database = Database(url)
    with database.sessionmaker() as db:
        context = load(db, areas=())
        lead = context.accounts["involvement_lead"]
        rng = np.random.default_rng(2026)
        now = utcnow().replace(microsecond=0)
        start = time.perf_counter()
        people = involve_demo.synthetic_partners(db, rng, context.icb.id, partners, now=now)
        opportunity = involve.create_opportunity(db, context.icb.id, {
            "project": "Urgent care strategy", "role": "Citizens' panel member",
            "time_needed": "Four Saturdays", "hours_per_month": 6.0,
            "formats": ["in_person", "online"], "venue_provides": ["step_free", "hearing_loop"],
            "times": ["weekend", "weekday_evening"], "conditions": ["heart", "diabetes"],
            "services": ["ae", "gp"], "topics": ["waiting"], "payment_level": "level_4",
            "closing_date": dt.date.today() + dt.timedelta(days=60)}, actor=lead)
        level = involve.payment_policy().get("level_4")
        for i, partner in enumerate(people):
            db.add(Interest(opportunity_id=opportunity.id, partner_id=partner.id,
                            note="I would like to help" if i % 3 else ""))
            for month in (1, 2):
                db.add(LogEntry(organisation_id=context.icb.id, partner_id=partner.id,
                                opportunity_id=opportunity.id, project="Urgent care strategy",
                                activity="Panel day", hours=3.0, payment_level=level.code,
                                payment_pence=involvement_payment(level, 3.0),
                                expenses_pence=450, expenses_note="Bus",
                                activity_date=dt.date.today() - dt.timedelta(days=30 * month),
                                created_by=lead.id))
        db.commit()
        built = round(time.perf_counter() - start, 2)
        opportunity_id = opportunity.id
    database.dispose()
    return {"opportunity_id": opportunity_id, "build_seconds": built}


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--partners", type=int, default=3000)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voices-bench-involve-") as name:
        out = run(Path(name), args)
    print(json.dumps(out))


def run(folder: Path, args: argparse.Namespace) -> dict:
    """Build the community in ``folder`` and time the pages (see the module's doc)."""
    from voices import jobs
    from voices.db import Database
    from voices.demo import DEMO_PASSWORD
    from voices.involve import pages_lead
    from voices.involve.models import Panel
    from voices.settings import Settings
    from voices.web.app import create_app

    url = f"sqlite:///{folder / 'involve.db'}"
    log(f"making a community of {args.partners} partners ...")
    made = build(url, args.partners)
    oid = made["opportunity_id"]
    database = Database(url)
    settings = Settings(database_url=url, data_dir=folder / "data", run_jobs_in_app=False,
                        secret_key="benchmark-secret-key-not-for-production", _env_file=None)
    out: dict[str, object] = {"partners": args.partners, "interested": args.partners,
                              "log_entries": 2 * args.partners, **made}
    with TestClient(create_app(settings, database), base_url="http://testserver") as client:
        page = client.get("/login")
        client.post("/login", data={"email": LEAD, "password": DEMO_PASSWORD,
                                    "csrf_token": csrf(page.text)})

        def get(path: str):
            def action():
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return response
            return action

        timings = {
            "opportunity_page": f"/involve/manage/{oid}",
            "ranking_api": f"/api/v1/involve/opportunities/{oid}/interest",
            "community_page": "/involve/community",
            "community_filtered": "/involve/community?condition=heart",
            "makeup_page": "/involve/community/makeup",
            "makeup_csv": "/involve/community/makeup.csv",
            "finance_csv": "/involve/log/export.csv",
            "finance_xlsx": "/involve/log/export.xlsx",
        }
        for name, path in timings.items():
            log(f"{name} ...")
            seconds, response = median_time(get(path), args.repeats)
            out[f"{name}_seconds"] = seconds
            out[f"{name}_kb"] = round(len(response.content) / 1024, 1)
        log("anchor: everyone on one page ...")
        per_page = pages_lead.INTEREST_PER_PAGE
        pages_lead.INTEREST_PER_PAGE = args.partners
        try:
            seconds, response = median_time(get(f"/involve/manage/{oid}"), args.repeats)
        finally:
            pages_lead.INTEREST_PER_PAGE = per_page
        out["all_on_one_page_seconds"] = seconds
        out["all_on_one_page_kb"] = round(len(response.content) / 1024, 1)
        out["page_speedup"] = round(seconds / out["opportunity_page_seconds"], 1)

        log(f"a panel of {args.k} from {args.partners} ...")
        start = time.perf_counter()
        form = client.get("/involve/panels/new")
        created = client.post("/involve/panels/new", data={
            "name": "Benchmark panel", "source": "opportunity", "opportunity_id": str(oid),
            "k": str(args.k), "features": ["age_band", "sex", "imd_quintile"],
            "csrf_token": csrf(form.text)}, follow_redirects=False)
        assert created.status_code == 303, created.text[:2000]
        panel_path = created.headers["location"]
        page = client.get(panel_path)
        ran = client.post(panel_path + "/run", data={"csrf_token": csrf(page.text)},
                          follow_redirects=False)
        assert ran.status_code == 303, ran.text[:2000]
        assert jobs.run_pending(database) == 1
        assert client.get(panel_path).status_code == 200
        out["panel_seconds"] = round(time.perf_counter() - start, 2)
        with database.sessionmaker() as db:
            panel = db.scalars(select(Panel)).one()
            summary = panel.result["summary"]
            out["panel"] = {"n": summary["n"], "k": summary["k"],
                            "leximin_seconds": summary["seconds"],
                            "min_probability": round(summary["min_probability"], 6),
                            "max_probability": round(summary["max_probability"], 6),
                            "panels": summary["panels"], "status": panel.status}
    database.dispose()
    out["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                      "load_average": [round(x, 2) for x in os.getloadavg()]}
    return out


if __name__ == "__main__":
    main()
