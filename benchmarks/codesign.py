"""Benchmark for `codesign`: the opinion map against Pol.is's own groups and red-dwarf.

Prints one JSON object on stdout (progress on stderr) with, for every public conversation
in ``../shared/data/polis/`` and for a synthetic conversation of 100,000 participants ×
2,000 statements with 10,000,000 votes:

* ``seconds``: Voices' whole map as ``voices codesign map`` makes it (read the export,
  replay ``votes.csv`` in time order, or one update when there is only
  ``participants-votes.csv``; then consensus and representative statements). For the
  synthetic case: one full update (map + consensus + representative statements) from the
  sparse vote matrix; ``build_seconds`` is the time to build that matrix from the events.
* ``update_seconds``: one full update from nothing on the final votes (no replay).
* ``peak_rss_gb``: peak resident memory of the process that ran the case (each case runs
  in its own process).
* ``groups``, ``placed``; where the export has Pol.is's groups, ``ari_vs_polis_export``:
  adjusted Rand index between Voices' groups and Pol.is's, over participants placed by both
  (``compared``); for the synthetic case ``ari_vs_planted`` against the planted camps.
* ``reddwarf_seconds``, ``reddwarf_ari_vs_polis_export`` (``reddwarf_ari_vs_planted``):
  red-dwarf (the Python re-implementation of Pol.is, PyPI ``red-dwarf``) run on the same
  latest votes and the same moderated-out statements with ``random_state=0``, in its own
  virtual environment ``.bench-envs/codesign/`` and a separate process limited to
  ``REDDWARF_SECONDS`` seconds and ``REDDWARF_MEMORY_GB`` of address space; a run that hits
  a limit is recorded as ``reddwarf_error``. red-dwarf cannot replay votes in time order,
  so it sees only the final votes.
* a ``summary`` with medians and the cases where Voices' ARI is below red-dwarf's.

BLAS and Polars threads are pinned to 1. Timings are wall-clock on a shared 2-core machine
where others are working, so they are noisy.

Usage: ``python benchmarks/codesign.py`` (all cases), or ``--case NAME`` for one case
(``synthetic`` or a conversation folder name), or ``--skip-reddwarf``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POLIS = ROOT.parent / "shared" / "data" / "polis"
BENCH_ENV = ROOT / ".bench-envs" / "codesign"
REDDWARF_VERSION = "0.4.0"
REDDWARF_SECONDS = 300
REDDWARF_MEMORY_GB = 8
SYNTHETIC = {"participants": 100_000, "statements": 2_000, "votes_each": 100, "camps": 3,
             "seed": 0}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_gb() -> float:
    """Peak resident memory of this process image, in GB.

    ``VmHWM`` from ``/proc/self/status``: unlike ``ru_maxrss``, it does not carry over the
    parent's peak into a process started with fork and exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 ** 2  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


# ------------------------------------------------------------------ inputs


def synthetic_votes(participants: int, statements: int, votes_each: int, camps: int,
                    seed: int) -> tuple[np.ndarray, ...]:
    """Planted camps: each participant votes on ``votes_each`` distinct statements; with
    their camp's stance 70% of the time, against it 15%, pass 15%."""
    rng = np.random.default_rng(seed)
    camp = rng.integers(0, camps, participants)
    stance = rng.choice(np.array([-1, 1], dtype=np.int8), size=(camps, statements))
    coprime = np.array([s for s in range(1, statements) if np.gcd(s, statements) == 1])
    start = rng.integers(0, statements, participants)
    step = rng.choice(coprime, participants)
    # start + step * i (mod m) for i < votes_each: distinct statements per participant
    column = ((start[:, None] + step[:, None] * np.arange(votes_each)[None, :])
              % statements).ravel()
    row = np.repeat(np.arange(participants), votes_each)
    draw = rng.random(len(row), dtype=np.float32)
    leaning = stance[camp[row], column]
    vote = np.where(draw < 0.7, leaning, np.where(draw < 0.85, -leaning, 0)).astype(np.int8)
    timestamp = np.arange(len(row), dtype=np.int64)
    return row, column, vote, timestamp, camp


def latest_votes(matrix) -> dict[str, np.ndarray]:
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.votes.indptr))
    return {"participant": matrix.participants[rows], "statement":
            matrix.statements[matrix.votes.indices], "vote": matrix.votes.data.astype(np.int64)}


def adjusted_rand(truth: dict, labels: dict) -> tuple[float | None, int]:
    from sklearn.metrics import adjusted_rand_score

    common = [p for p in labels if p in truth]
    if not common:
        return None, 0
    return float(adjusted_rand_score([truth[p] for p in common],
                                     [labels[p] for p in common])), len(common)


# ---------------------------------------------------------------- Voices cases


def voices_conversation(name: str) -> dict:
    from voices.codesign.opinion import OpinionMap, update_schedule
    from voices.codesign.polis_formats import read_polis_export
    from voices.codesign.summary import map_summary

    folder = POLIS / name
    started = time.perf_counter()
    export = read_polis_export(folder)
    engine = OpinionMap()
    updates = 1
    if export.votes is not None:
        events = export.votes
        schedule = update_schedule(events["timestamp"].to_numpy())
        updates = len(schedule)
        result = engine.replay(events["voter-id"].to_numpy(), events["comment-id"].to_numpy(),
                               events["vote"].to_numpy(), events["timestamp"].to_numpy(),
                               moderated_out=export.moderated_out, schedule=schedule)
    else:
        result = engine.fit(export.vote_matrix(), moderated_out=export.moderated_out)
    summary = map_summary(result, moderated_out=export.moderated_out)
    seconds = time.perf_counter() - started

    votes = export.vote_matrix()
    started = time.perf_counter()
    single = engine.fit(votes, moderated_out=export.moderated_out)
    map_summary(single, moderated_out=export.moderated_out)
    update_seconds = time.perf_counter() - started

    polis = export.polis_groups()
    membership = {int(p): g for p, g in summary["membership"].items()}
    ari, compared = adjusted_rand(polis, membership)
    single_ari, _ = adjusted_rand(polis, single.membership())
    return {
        "participants": int(votes.shape[0]), "statements": int(votes.shape[1]),
        "votes": int(votes.n_votes), "vote_events": None if export.votes is None
        else int(export.votes.height), "replayed_updates": updates,
        "seconds": round(seconds, 3), "update_seconds": round(update_seconds, 3),
        "peak_rss_gb": round(peak_rss_gb(), 3), "groups": summary["groups"],
        "placed": summary["in_conversation"], "polis_groups": len(set(polis.values())),
        "polis_placed": len(polis), "ari_vs_polis_export": _round(ari), "compared": compared,
        "ari_single_update_vs_polis_export": _round(single_ari),
    }


def voices_synthetic() -> dict:
    from voices.codesign.opinion import OpinionMap
    from voices.codesign.summary import map_summary
    from voices.codesign.votes import VoteMatrix

    row, column, vote, _, camp = synthetic_votes(**SYNTHETIC)
    started = time.perf_counter()
    votes = VoteMatrix.from_events(row, column, vote)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = OpinionMap().fit(votes)
    summary = map_summary(result)
    seconds = time.perf_counter() - started
    membership = {int(p): g for p, g in summary["membership"].items()}
    ari, compared = adjusted_rand(dict(enumerate(camp.tolist())), membership)
    return {
        "participants": int(votes.shape[0]), "statements": int(votes.shape[1]),
        "votes": int(votes.n_votes), "seconds": round(seconds, 3),
        "update_seconds": round(seconds, 3), "build_seconds": round(build_seconds, 3),
        "peak_rss_gb": round(peak_rss_gb(), 3), "groups": summary["groups"],
        "placed": summary["in_conversation"], "planted_camps": SYNTHETIC["camps"],
        "ari_vs_planted": _round(ari), "compared": compared,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def run_case(case: str) -> dict:
    """Run one Voices case in a fresh process so its peak memory is its own."""
    completed = subprocess.run([sys.executable, __file__, "--case", case, "--voices-only"],
                               check=False, capture_output=True, text=True,
                               env=os.environ.copy())
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:]}
    return json.loads(completed.stdout)


# -------------------------------------------------------------------- red-dwarf

REDDWARF_RUNNER = r"""
import json, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
from reddwarf.implementations.polis import run_pipeline

data = np.load(sys.argv[1])
votes = {"participant_id": data["participant"], "statement_id": data["statement"],
         "vote": data["vote"], "modified": np.zeros(len(data["vote"]), dtype=np.int64)}
started = time.perf_counter()
result = run_pipeline(votes=votes, mod_out_statement_ids=data["moderated_out"].tolist(),
                      random_state=0)
seconds = time.perf_counter() - started
labels = result.participants_df["cluster_id"]
peak = [l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:")]
out = {"seconds": seconds,
       "peak_rss_gb": int(peak[0].split()[1]) / 1024 ** 2,
       "participants": [int(p) for p, g in labels.items() if pd.notna(g)],
       "groups": [int(g) for g in labels if pd.notna(g)]}
print(json.dumps(out))
"""


def reddwarf_python() -> Path:
    """Create (or reuse) the benchmark's own environment with red-dwarf installed."""
    python = BENCH_ENV / "bin" / "python"
    check = [str(python), "-c", "import reddwarf.implementations.polis"]
    if python.exists() and subprocess.run(check, check=False, capture_output=True).returncode == 0:
        return python
    log(f"creating {BENCH_ENV} with red-dwarf {REDDWARF_VERSION}")
    subprocess.run([sys.executable if sys.prefix == sys.base_prefix else "python3", "-m",
                    "venv", str(BENCH_ENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q",
                    f"red-dwarf=={REDDWARF_VERSION}"], check=True,
                   stdout=sys.stderr, stderr=sys.stderr)
    return python


def _limit_memory() -> None:
    limit = REDDWARF_MEMORY_GB * 1024 ** 3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_reddwarf(python: Path, latest: dict[str, np.ndarray], moderated_out: list,
                 truth: dict) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "votes.npz"
        runner = Path(folder) / "runner.py"
        np.savez(data, moderated_out=np.asarray(moderated_out, dtype=np.int64), **latest)
        runner.write_text(REDDWARF_RUNNER)
        started = time.perf_counter()
        try:
            completed = subprocess.run([str(python), str(runner), str(data)],
                                       check=False, capture_output=True, text=True,
                                       timeout=REDDWARF_SECONDS, preexec_fn=_limit_memory,
                                       env=os.environ.copy())
        except subprocess.TimeoutExpired:
            return {"reddwarf_seconds": None,
                    "reddwarf_error": f"stopped after the {REDDWARF_SECONDS} s time limit"}
        elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        if "MemoryError" in completed.stderr or "Unable to allocate" in completed.stderr \
                or completed.returncode < 0:
            last = f"out of memory under the {REDDWARF_MEMORY_GB} GB limit ({last[:160]})"
        return {"reddwarf_seconds": None, "reddwarf_error": last[:300],
                "reddwarf_wall_seconds": round(elapsed, 3)}
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    labels = dict(zip(out["participants"], out["groups"]))
    ari, compared = adjusted_rand(truth, labels)
    return {"reddwarf_seconds": round(out["seconds"], 3),
            "reddwarf_peak_rss_gb": round(out["peak_rss_gb"], 3),
            "reddwarf_groups": len(set(out["groups"])), "reddwarf_placed": len(labels),
            "reddwarf_ari": _round(ari), "reddwarf_compared": compared}


def reddwarf_conversation(python: Path, name: str) -> dict:
    from voices.codesign.polis_formats import read_polis_export

    export = read_polis_export(POLIS / name)
    out = run_reddwarf(python, latest_votes(export.vote_matrix()), export.moderated_out,
                       export.polis_groups())
    if "reddwarf_ari" in out:
        out["reddwarf_ari_vs_polis_export"] = out.pop("reddwarf_ari")
    return out


def reddwarf_synthetic(python: Path) -> dict:
    from voices.codesign.votes import VoteMatrix

    row, column, vote, _, camp = synthetic_votes(**SYNTHETIC)
    latest = latest_votes(VoteMatrix.from_events(row, column, vote))
    del row, column, vote
    out = run_reddwarf(python, latest, [], dict(enumerate(camp.tolist())))
    if "reddwarf_ari" in out:
        out["reddwarf_ari_vs_planted"] = out.pop("reddwarf_ari")
    return out


# ------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="one case: 'synthetic' or a conversation folder")
    parser.add_argument("--voices-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-reddwarf", action="store_true")
    args = parser.parse_args()

    if args.voices_only:  # child process: one Voices case
        case = args.case
        print(json.dumps(voices_synthetic() if case == "synthetic"
                         else voices_conversation(case)))
        return

    conversations = sorted(p.name for p in POLIS.iterdir() if p.is_dir())
    cases = [args.case] if args.case else conversations + ["synthetic"]
    python = None if args.skip_reddwarf else reddwarf_python()
    results: dict[str, dict] = {}
    for case in cases:
        log(f"{case}: Voices")
        result = run_case(case)
        if python is not None:
            log(f"{case}: red-dwarf")
            result.update(reddwarf_synthetic(python) if case == "synthetic"
                          else reddwarf_conversation(python, case))
        results[case] = result
        log(f"{case}: {json.dumps(result)}")

    real = [r for name, r in results.items() if name != "synthetic"]
    ours = [r["ari_vs_polis_export"] for r in real if r.get("ari_vs_polis_export") is not None]
    theirs = [r["reddwarf_ari_vs_polis_export"] for r in real
              if r.get("reddwarf_ari_vs_polis_export") is not None]
    summary = {
        "median_ari_vs_polis_export": _round(float(np.median(ours))) if ours else None,
        "median_reddwarf_ari_vs_polis_export":
            _round(float(np.median(theirs))) if theirs else None,
        "conversations_below_reddwarf": sorted(
            name for name, r in results.items()
            if r.get("reddwarf_ari_vs_polis_export") is not None
            and r.get("ari_vs_polis_export") is not None
            and r["ari_vs_polis_export"] < r["reddwarf_ari_vs_polis_export"]),
        "ari_compares": "participants placed by both Voices (or red-dwarf) and Pol.is",
    }
    for r in results.values():
        if r.get("reddwarf_seconds") and r.get("update_seconds"):
            # same input (the final votes), one update each
            r["update_seconds_ratio_voices_to_reddwarf"] = round(
                r["update_seconds"] / r["reddwarf_seconds"], 3)
    import scipy
    import sklearn

    print(json.dumps({
        "benchmark": "codesign opinion map",
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version(), "numpy": np.__version__,
                    "scipy": scipy.__version__, "scikit_learn": sklearn.__version__,
                    "threads": 1},
        "reddwarf": {"version": REDDWARF_VERSION, "time_limit_seconds": REDDWARF_SECONDS,
                     "memory_limit_gb": REDDWARF_MEMORY_GB} if python else None,
        "synthetic_input": SYNTHETIC,
        "cases": results,
        "summary": summary,
    }, indent=1))


if __name__ == "__main__":
    main()
