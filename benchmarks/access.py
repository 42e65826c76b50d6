"""Benchmark the waiting-list simulator at national scale and at trust scale.

Prints one JSON object on stdout (progress goes to stderr):

    {"national": {"pathways": 7600000, "weeks": 52, "policies": 3, "seconds": S,
                  "peak_rss_gb": G, ...},
     "small": {"pathways": 52000, "weeks": 52, "seconds": s, ...},
     "machine": {...}}

National: a synthetic list of 7.6 million pathways (England's list in 2023), simulated
for 52 weekly steps under the three example policies, one replication, with England's
2022-23 flows scaled to the list (about 384,000 referrals and 327,000 treatments a
week, 0.7% other removals a week). ``seconds`` is the wall-clock time of fitting the
simulator and running all three policies, including the summaries by group; making the
synthetic list is timed separately (``list_seconds``); ``cpu_seconds`` is the CPU time
of the same work, a steadier figure when other programs share the machine.
``peak_rss_gb`` is the peak
resident memory of the process that did all of it (run in a child process so nothing
else counts).

Small: a list of 52,000 pathways with 1,000 referrals and 1,000 treatments a week
(52,000 referrals over the year, the scale the issue quotes for NHSRwaitinglist's R
simulator, about 13 s there), one first-in-first-out policy, 52 weekly steps; the
median of several runs. NHSRwaitinglist is an R package on CRAN, which this machine
cannot reach, so its time is quoted from the issue, not measured.

Usage: python benchmarks/access.py [--pathways N]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "POLARS_MAX_THREADS"):
    os.environ[_name] = "1"

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from voices.access.policy import read_policy
from voices.access.simulation import WaitingListSimulator
from voices.access.synthetic import synthetic_cohort

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "src" / "voices" / "access" / "policies"
NATIONAL = 7_600_000
REFERRALS_PER_PATHWAY = 384_000 / NATIONAL    # England 2022-23, per week
TREATMENTS_PER_PATHWAY = 327_000 / NATIONAL
REMOVALS_PER_WEEK = 0.007


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def national(pathways: int) -> dict:
    """Run the national-scale figure in this process and return it."""
    started = time.perf_counter()
    cohort = synthetic_cohort(pathways, seed=2024)
    list_seconds = time.perf_counter() - started
    log(f"national: list of {pathways:,} pathways made in {list_seconds:.1f} s")
    policies = [read_policy(POLICIES / f"{name}.yaml")
                for name in ("clinical_fifo", "accumulating_priority", "equity_weighted")]
    wall, cpu = time.perf_counter(), time.process_time()
    simulator = WaitingListSimulator(
        weeks=52, replications=1, seed=1,
        referrals_per_week=pathways * REFERRALS_PER_PATHWAY,
        capacity_per_week=pathways * TREATMENTS_PER_PATHWAY,
        removal_rate=REMOVALS_PER_WEEK).fit(cohort)
    done = {"steps": 0}

    def progress(steps: int) -> None:
        done["steps"] += steps
        if done["steps"] % 26 == 0:
            log(f"national: {done['steps']} of {52 * len(policies)} policy-weeks "
                f"({time.perf_counter() - wall:.1f} s)")

    result = simulator.run(policies, progress=progress)
    seconds = time.perf_counter() - wall
    cpu_seconds = time.process_time() - cpu
    table = result.replicate_list
    return {
        "pathways": pathways, "weeks": 52, "policies": len(policies),
        "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3),
        "list_seconds": round(list_seconds, 2),
        "referrals_simulated": int(result.settings["referrals_per_week"] * 52),
        "waiting_at_end": {row["policy"]: int(row["waiting"]) for row in table.to_dicts()},
    }


def small(pathways: int = 52_000, repeats: int = 7) -> dict:
    """Trust scale: 52,000 pathways and 1,000 referrals a week, first-in-first-out."""
    cohort = synthetic_cohort(pathways, seed=7)
    policy = read_policy(POLICIES / "clinical_fifo.yaml")
    times, cpu_times = [], []
    for repeat in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        WaitingListSimulator(weeks=52, replications=1, seed=repeat, referrals_per_week=1000,
                             capacity_per_week=1000, removal_rate=0.0).fit(cohort).run([policy])
        times.append(time.perf_counter() - wall)
        cpu_times.append(time.process_time() - cpu)
    return {"pathways": pathways, "weeks": 52, "seconds": round(statistics.median(times), 4),
            "cpu_seconds": round(statistics.median(cpu_times), 4),
            "referrals_per_week": 1000, "policies": 1, "runs": repeats,
            "fastest_seconds": round(min(times), 4),
            "anchor": {"name": "NHSRwaitinglist wl_simulator (R)", "seconds": 13,
                       "measured": False,
                       "note": "quoted from the issue; the package comes from CRAN, "
                               "which this machine cannot reach"}}


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "load_average": list(os.getloadavg()),
            "threads": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pathways", type=int, default=NATIONAL,
                        help="pathways on the national-scale list (default 7,600,000)")
    parser.add_argument("--part", choices=("national",), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "national":
        print(json.dumps(national(args.pathways)))
        return
    load_before = list(os.getloadavg())
    log("small: 52,000 pathways, 52 weeks")
    small_result = small()
    log(f"small: {small_result['seconds']} s")
    log(f"national: {args.pathways:,} pathways, 52 weeks, 3 policies (child process)")
    child = subprocess.run([sys.executable, __file__, "--part", "national", "--pathways",
                            str(args.pathways)], capture_output=True, text=True, check=False)
    sys.stderr.write(child.stderr)
    if child.returncode != 0:
        raise SystemExit(f"national run failed with exit code {child.returncode}")
    national_result = json.loads(child.stdout)
    info = machine()
    info["load_average_before"] = load_before
    print(json.dumps({"national": national_result, "small": small_result, "machine": info}))


if __name__ == "__main__":
    main()
