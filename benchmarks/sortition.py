"""Benchmark panel selection: LEXIMIN and LEGACY here, maximin of `sortition-algorithms`.

Prints one JSON object keyed by pool name (progress goes to stderr). For each pool:
``leximin_seconds`` (wall clock; ``leximin_cpu_seconds`` is the CPU time this process used,
a guide when other work shares the machine), ``min_probability``, ``max_probability``,
``gini``, ``panels``, ``legacy_seconds``, ``legacy_min_probability``,
``legacy_max_probability``, and ``sa_maximin_*`` figures from the anchor, ``sortition-algorithms`` (PyPI), installed in its
own venv under ``.bench-envs/sortition/`` and run in a subprocess with a time limit
(``sa_maximin_status`` says ``ok``, ``timeout`` or ``error``).

Usage::

    python benchmarks/sortition.py [--pools a,b] [--anchor-timeout 1200] [--no-anchor]
                                   [--legacy-runs 10000]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
POOLS = {"example_small_20": 20, "example_large_200": 200, "sa_fixture_150_k22": 22,
         "synth_600_6f_k40_s7": 40, "synth_2000_6f_k100": 100}
TARGETS = {"example_large_200": 60, "synth_2000_6f_k100": 120, "synth_600_6f_k40_s7": 10}
ANCHOR_ENV = ROOT / ".bench-envs" / "sortition"
ANCHOR_VERSION = "0.12.15"

ANCHOR_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from sortition_algorithms.adapters import CSVFileDataSource, SelectionData
from sortition_algorithms.committee_generation.maximin import find_distribution_maximin
from sortition_algorithms.settings import Settings
features, people, k, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
source = CSVFileDataSource(features_file=Path(features), people_file=Path(people),
                           already_selected_file=None, selected_file=out / "s.csv",
                           remaining_file=out / "r.csv")
data = SelectionData(source)
feats, _ = data.load_features(k)
pool, _ = data.load_people(Settings(id_column="id", columns_to_keep=[]), feats)
start = time.perf_counter()
committees, weights, _ = find_distribution_maximin(feats, pool, k, [], "highspy")
seconds = time.perf_counter() - start
chance = {}
for committee, weight in zip(committees, weights):
    for person in committee:
        chance[person] = chance.get(person, 0.0) + weight
values = [chance.get(person, 0.0) for person in pool]
print(json.dumps({"seconds": seconds, "min": min(values), "max": max(values),
                  "panels": len(committees)}))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def anchor_python() -> Path | None:
    """Create or reuse the anchor's venv; returns its python, or None if it cannot be made."""
    python = ANCHOR_ENV / "bin" / "python"
    try:
        if not python.exists():
            log(f"creating {ANCHOR_ENV}")
            subprocess.run([sys.executable, "-m", "venv", str(ANCHOR_ENV)], check=True)
        check = subprocess.run([str(python), "-c", "import sortition_algorithms"],
                               capture_output=True, check=False)
        if check.returncode != 0:
            subprocess.run([str(python), "-m", "pip", "install", "-q",
                            f"sortition-algorithms=={ANCHOR_VERSION}", "highspy"], check=True)
        return python
    except (subprocess.CalledProcessError, OSError) as error:
        log(f"anchor environment unavailable: {error}")
        return None


def run_anchor(python: Path, folder: Path, k: int, timeout: float) -> dict:
    """Run the anchor's maximin in a subprocess with a time limit."""
    out = ROOT / ".bench-envs" / "sortition-out"
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        done = subprocess.run([str(python), "-c", ANCHOR_SCRIPT, str(folder / "features.csv"),
                               str(folder / "people.csv"), str(k), str(out)],
                              capture_output=True, text=True, timeout=timeout, check=False,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        return {"sa_maximin_status": "timeout",
                "sa_maximin_seconds": round(time.perf_counter() - started, 1),
                "sa_maximin_timeout_seconds": timeout}
    if done.returncode != 0:
        return {"sa_maximin_status": "error", "sa_maximin_error": done.stderr.strip()[-300:]}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"sa_maximin_status": "ok", "sa_maximin_seconds": round(figures["seconds"], 3),
            "sa_maximin_min_probability": figures["min"],
            "sa_maximin_max_probability": figures["max"], "sa_maximin_panels": figures["panels"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", default=",".join(POOLS))
    parser.add_argument("--anchor-timeout", type=float, default=1200.0)
    parser.add_argument("--no-anchor", action="store_true")
    parser.add_argument("--legacy-runs", type=int, default=10_000)
    args = parser.parse_args()

    from voices.involve.sortition import select_panel
    from voices.involve.sortition_csv import read_pool, read_quotas

    python = None if args.no_anchor else anchor_python()
    results: dict = {}
    for name in args.pools.split(","):
        k = POOLS[name]
        folder = DATA / "sortition" / "pools" / name
        quotas = read_quotas(folder / "features.csv")
        pool = read_pool(folder / "people.csv", quotas)
        log(f"{name}: LEXIMIN")
        cpu = time.process_time()
        leximin = select_panel(pool, quotas, k, "leximin")
        cpu = time.process_time() - cpu  # on a busy machine, closer to the idle wall time
        stats = leximin.summary()
        dist = leximin.distribution
        entry = {"n": pool.n, "k": k, "types": leximin.details["types"],
                 "leximin_seconds": round(leximin.seconds, 3),
                 "leximin_cpu_seconds": round(cpu, 3),
                 "min_probability": stats["min_probability"],
                 "max_probability": stats["max_probability"], "gini": stats["gini"],
                 "panels": stats["panels"], "stages": leximin.details["stages"],
                 "method": leximin.details["method"],
                 "pricing_calls": leximin.details["pricing_calls"],
                 "quota_violations": int(dist.problem.violations(dist.panels).sum()),
                 "probability_sum_error": abs(float(dist.probabilities.sum()) - k)}
        if name in TARGETS:
            entry["leximin_target_seconds"] = TARGETS[name]
        log(f"{name}: LEGACY x{args.legacy_runs}")
        legacy = select_panel(pool, quotas, k, "legacy", runs=args.legacy_runs, seed=0)
        entry.update({"legacy_seconds": round(legacy.seconds, 3), "legacy_runs": args.legacy_runs,
                      "legacy_min_probability": legacy.summary()["min_probability"],
                      "legacy_max_probability": legacy.summary()["max_probability"],
                      "legacy_gini": legacy.summary()["gini"],
                      "legacy_success_rate": legacy.details["success_rate"]})
        if python is not None:
            log(f"{name}: sortition-algorithms {ANCHOR_VERSION} maximin "
                f"(limit {args.anchor_timeout:.0f} s)")
            entry.update(run_anchor(python, folder, k, args.anchor_timeout))
            if entry.get("sa_maximin_status") == "ok":
                entry["speedup_vs_sa_maximin"] = round(
                    entry["sa_maximin_seconds"] / max(entry["leximin_seconds"], 1e-3), 1)
        results[name] = entry
        log(json.dumps({name: entry}))
    results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version(),
                          "load_average": os.getloadavg()}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
