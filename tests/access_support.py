"""Helpers for the access storage, page and browser tests (import as ``access_support``)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from voices.access.synthetic import synthetic_waiting_list

DAY = date.today() - timedelta(days=20)        # snapshot dates are never in the future
EARLIER = DAY - timedelta(days=92)
AFTER = (DAY + timedelta(days=10)).isoformat()
OLD, OLDER = (DAY - timedelta(days=200)).isoformat(), (DAY - timedelta(days=300)).isoformat()
HEADER = "pathway_id,treatment_function_code,clock_start_date,clinical_priority\n"

UNSAFE_POLICY = """\
name: Lets P4 overtake P2
clinical_priorities:
  P1a: {rate: 4, head_start: 120}
  P1b: {rate: 3, head_start: 75}
  P2: {rate: 2, head_start: 45}
  P3: {rate: 1.5, head_start: 25}
  P4: {rate: 3, head_start: 10}
  P5: {rate: 0.5, head_start: 0}
  P6: {rate: 0.5, head_start: 0}
safeguard:
  min_extra_weeks: 13
"""

BAD_FILES = {
    # what is wrong: (file text, row, column, words in the message)
    "future clock start": (HEADER + f"A1,110,{OLD},P2\nA2,110,{AFTER},P3\n",
                           3, "clock_start_date", "after the snapshot date"),
    "unknown priority": (HEADER + f"A1,110,{OLD},P2\nA2,110,{OLDER},P9\n",
                         3, "clinical_priority", "is not a clinical priority code"),
    "duplicate pathway": (HEADER + f"A1,110,{OLD},P2\nA1,120,{OLDER},P3\n",
                          3, "pathway_id", "appears more than once"),
}


def write_list(folder: Path, pathways: int, *, seed: int = 3, day: date = DAY,
               name: str = "list.csv") -> Path:
    """A synthetic waiting list as a trust would send it (nobody real)."""
    path = folder / name
    synthetic_waiting_list(pathways, snapshot_date=day, seed=seed).write_csv(path)
    return path


def stored_lists(session, folder: Path, *, pathways: int = 400) -> dict:
    """RZ1's list on two dates, RZ2's on one, and two RZ1 policies (the first in use)."""
    from voices.access import service
    from voices.demo import load

    context = load(session, areas=())
    trusts = {t.ods_code: t for t in context.trusts}
    analyst = context.accounts["analyst:RZ1"]
    out = {"context": context, "trusts": trusts}
    for key, (code, day, seed) in {"rz1": ("RZ1", DAY, 3), "rz1_earlier": ("RZ1", EARLIER, 4),
                                   "rz2": ("RZ2", DAY, 5)}.items():
        path = write_list(folder, pathways, seed=seed, day=day, name=f"{key}.csv")
        out[key] = service.import_snapshot(session, path, organisation=trusts[code],
                                           snapshot_date=day, actor=analyst).snapshot.id
    examples = service.example_policies()
    first = service.save_policy(session, organisation=trusts["RZ1"],
                                yaml_text=examples["accumulating_priority"], actor=analyst,
                                reason="How we order the list now", make_active=True)
    second = service.save_policy(session, organisation=trusts["RZ1"],
                                 yaml_text=examples["equity_weighted"], actor=analyst,
                                 reason="A candidate to compare")
    session.commit()
    out.update(policy=first.policy_id, version=first.id, candidate=second.id,
               candidate_policy=second.policy_id)
    return out


def older_rtt_extract(raw: pl.DataFrame) -> pl.DataFrame:
    """An RTT extract (read as text) as published before April 2021: the week bands end
    with an open band "Gt 52 Weeks SUM 1"."""
    later = [f"Gt {w:02d} To {w + 1:02d} Weeks SUM 1" for w in range(52, 104)] + \
        ["Gt 104 Weeks SUM 1"]
    reported = pl.any_horizontal([pl.col(c).is_not_null() & (pl.col(c) != "") for c in later])
    folded = pl.sum_horizontal([pl.col(c).cast(pl.Int64, strict=False) for c in later])
    return raw.with_columns(pl.when(reported).then(folded.cast(pl.Utf8))
                            .otherwise(pl.lit(None)).alias("Gt 52 Weeks SUM 1")).drop(later)
