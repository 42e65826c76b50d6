"""Benchmark for `listen` on Ray: start-up time and throughput against the single-process path.

Prints one JSON object on stdout (progress on stderr):

* ``ray_start_seconds``: starting a local Ray instance (``ray.init``, 2 CPUs, no dashboard);
* ``workers_ready_seconds``: starting the actor pool, shipping the model once and loading it
  in every worker;
* ``local`` and ``ray``: comments per second for the shared QDC file once and four times over
  (clean, redact, label, sentiment, explanations, I-statement links), the Ray figures with
  the workers already running, plus Ray end to end (start + workers + the file once), which
  is what ``voices listen classify --engine ray`` costs on one machine;
* ``identical``: whether every result from Ray equals the single-process result.

The model is the default model trained on the whole file. Timings are wall-clock on a shared
2-core machine while other people were working, so they are noisy; Ray cannot be faster than
the CPUs it is given, and here it has the same two cores as the local path.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ[_var] = "1"

import json
import pickle
import platform
import sys
import time
from pathlib import Path

from voices.listen.comments_file import read_comments
from voices.listen.frameworks import builtin_framework
from voices.listen.pipeline import classify_batches
from voices.listen.scale import RayClassifier
from voices.listen.training import train

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = SHARED / "qdc" / "fft_comments_v6.csv"
WORKERS = 2
BATCH = 500
REPEAT = 4


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(run):
    started = time.perf_counter()
    value = run()
    return value, time.perf_counter() - started


def main() -> None:
    import ray

    framework = builtin_framework("qdc")
    links = builtin_framework("i_statements")
    comments = read_comments(DATA, labels=framework.labels, require_labels=True)
    n = len(comments)
    log(f"read {n} comments; training the default model on all of them")
    (model, _), train_seconds = timed(lambda: train(comments, framework))
    sizes = {1: (comments.comment, comments.question, comments.rating),
             REPEAT: (comments.comment * REPEAT, comments.question * REPEAT,
                      comments.rating * REPEAT)}

    local, local_rate = {}, {}
    for times, (texts, question, rating) in sizes.items():
        local[times], seconds = timed(lambda t=texts, q=question, r=rating: [
            item for batch in classify_batches(t, model, question=q, rating=r,
                                               i_statements=links, batch_size=BATCH)
            for item in batch])
        local_rate[times] = round(len(texts) / seconds, 1)
        log(f"local, {len(texts)} comments: {local_rate[times]} a second")

    _, start_seconds = timed(lambda: ray.init(
        address="local", num_cpus=WORKERS, include_dashboard=False, logging_level="WARNING",
        object_store_memory=256 * 1024 * 1024))
    log(f"Ray started in {start_seconds:.1f} s")
    pool = RayClassifier(model, i_statements=links, workers=WORKERS)

    def ready():
        pool.open()
        pool.classify([""] * WORKERS, batch_size=1)  # every worker has loaded the model

    _, ready_seconds = timed(ready)
    log(f"workers ready in {ready_seconds:.1f} s")
    ray_rate, identical = {}, True
    for times, (texts, question, rating) in sizes.items():
        results, seconds = timed(lambda t=texts, q=question, r=rating: pool.classify(
            t, question=q, rating=r, batch_size=BATCH))
        ray_rate[times] = round(len(texts) / seconds, 1)
        identical = identical and results == local[times]
        log(f"Ray, {len(texts)} comments: {ray_rate[times]} a second; identical: {identical}")
        if times == 1:
            file_seconds = seconds
    pool.close()
    ray.shutdown()
    end_to_end = start_seconds + ready_seconds + file_seconds
    result = {
        "benchmark": "listen_ray",
        "input": {"file": "qdc/fft_comments_v6.csv", "comments": n, "repeat": REPEAT,
                  "batch_size": BATCH, "workers": WORKERS},
        "ray_version": ray.__version__,
        "model": {"version": model.version, "train_seconds": round(train_seconds, 2),
                  "pickled_megabytes": round(len(pickle.dumps(model)) / 1e6, 2)},
        "ray_start_seconds": round(start_seconds, 2),
        "workers_ready_seconds": round(ready_seconds, 2),
        "local": {"comments_per_second": local_rate[1],
                  f"comments_per_second_x{REPEAT}": local_rate[REPEAT]},
        "ray": {"comments_per_second_warm": ray_rate[1],
                f"comments_per_second_warm_x{REPEAT}": ray_rate[REPEAT],
                "end_to_end_seconds_file": round(end_to_end, 2),
                "comments_per_second_end_to_end_file": round(n / end_to_end, 1)},
        "ray_vs_local_warm_x4": round(ray_rate[REPEAT] / local_rate[REPEAT], 2),
        "identical": identical,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "note": ("wall-clock timings on a shared 2-core machine; others were working at the "
                 "same time"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
