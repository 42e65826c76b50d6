"""Helpers for the access tests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from voices.access.snapshot import Snapshot, validate_snapshot

POLICIES = Path(__file__).resolve().parents[2] / "src" / "voices" / "access" / "policies"
DAY = date(2024, 11, 30)


def snapshot_of(rows: list[dict], snapshot_date: date = DAY) -> Snapshot:
    """A checked snapshot from a few rows; ``weeks`` sets the clock start before the date."""
    out = []
    for i, row in enumerate(rows):
        row = dict(row)
        weeks = row.pop("weeks", 10)
        row.setdefault("pathway_id", f"W{i + 1:05d}")
        row.setdefault("treatment_function_code", "110")
        row.setdefault("clinical_priority", "P4")
        row.setdefault("clock_start_date",
                       (snapshot_date - timedelta(days=round(weeks * 7))).isoformat())
        out.append({k: (None if v is None else str(v)) for k, v in row.items()})
    columns = sorted({k for r in out for k in r})
    raw = pl.DataFrame([{c: r.get(c) for c in columns} for r in out],
                       schema={c: pl.String for c in columns})
    return validate_snapshot(raw, snapshot_date=snapshot_date)


@pytest.fixture
def policies_dir() -> Path:
    return POLICIES
