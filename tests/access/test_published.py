"""Pure pieces of the access pages: figures fit to publish, formula-safe CSV, the queueing
calculator (checked against NHSRwaitinglist's own test values) and chart summaries."""

from __future__ import annotations

import csv
import io

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voices.access.calculator import calculate
from voices.exports import csv_bytes, safe_cell
from voices.access.published import BANDS, band_counts, published_dimension
from voices.equity.disclosure import SUPPRESSED, published_counts_are_safe
from voices.errors import ValidationError


def _rows(bands: np.ndarray) -> pl.DataFrame:
    """Group rows as wait_equity gives them, from counts per band."""
    over = np.cumsum(bands[:, ::-1], axis=1)[:, ::-1]      # over_18 = bands 18_to_52 onwards
    return pl.DataFrame({"group": [f"g{i}" for i in range(len(bands))],
                         "pathways": bands.sum(axis=1), "over_18": over[:, 1],
                         "over_52": over[:, 2], "over_65": over[:, 3], "over_78": over[:, 4],
                         "median_weeks": np.full(len(bands), 10.0),
                         "flagged": [False] * len(bands)})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 60), min_size=5, max_size=5), min_size=2, max_size=7))
def test_published_groups_show_no_small_count_and_never_contradict_the_exact_ones(table):
    bands = np.array(table)
    rows = _rows(bands)
    assert band_counts(rows).select(BANDS).to_numpy().tolist() == bands.tolist()
    published = published_dimension(rows)
    assert published[-1]["is_total"]
    for row, exact in zip(published, rows.to_dicts() + [None]):
        shown = [row["pathways"]] + [row[f"over_{w}"] for w in (18, 52, 65, 78)]
        assert published_counts_are_safe(shown)
        if exact is None:
            continue
        for key in ("pathways", "over_18", "over_52", "over_65", "over_78"):
            if row[key] != SUPPRESSED:
                # rounding each band to 5 moves a sum by at most 2 for each band in it
                assert abs(row[key] - exact[key]) <= 2 * len(BANDS) + 2
        if row["pathways"] == SUPPRESSED:
            assert row["median_weeks"] is None


def test_a_long_wait_count_that_would_reveal_hidden_cells_is_hidden():
    # A group with 3 over 78 weeks and 2 from 65 to 78: both hidden, and so are the
    # counts over 65 and over 78 that would add them up; over 52 weeks stays hidden too
    # unless every band above 52 is shown.
    bands = np.array([[120, 40, 10, 2, 3], [200, 90, 30, 20, 15], [150, 60, 25, 12, 11]])
    first = published_dimension(_rows(bands))[0]
    assert first["over_78"] == SUPPRESSED and first["over_65"] == SUPPRESSED
    assert first["pathways"] == 175
    assert first["pct_over_18"] == pytest.approx(100 * first["over_18"] / 175, abs=0.05)


def test_formula_cells_are_neutralised_and_numbers_are_left_alone():
    for text in ("=1+1", "+44 20", "-2", "@SUM(A1)", "\tTab", "\rReturn"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("P00001") == "P00001" and safe_cell(-3) == -3 and safe_cell(None) is None
    raw = csv_bytes(["pathway_id", "position"], [["=cmd|' /C calc'!A0", 1], ["ok", 2]])
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [["pathway_id", "position"], ["'=cmd|' /C calc'!A0", "1"], ["ok", "2"]]


def test_the_calculator_gives_nhsrwaitinglists_published_values():
    # NHSRwaitinglist's tests: 30 a week with a 52-week target -> a list of 390;
    # relief capacity 30 + (1200 - 390) / 26 = 61.15.
    result = calculate({"demand": "30", "target": "52", "queue_size": "1,200",
                        "capacity": "29", "mean_wait": "30"})
    values = {m.key: m.value for m in result.measures}
    assert values["target_queue_size"] == pytest.approx(390)
    assert values["relief_capacity"] == pytest.approx(30 + (1200 - 390) / 26)
    assert values["load"] == pytest.approx(30 / 29)
    assert values["pressure"] == pytest.approx(2 * 30 / 52)
    words = {m.key: m.explanation for m in result.measures}
    assert "the list will grow" in words["load"] and "at risk" in words["pressure"]
    assert "1,200" in words["relief_capacity"] and "390" in words["relief_capacity"]
    percent = {m.key: m.value for m in calculate({"demand": 30,
                                                  "target": "92% within 18 weeks"}).measures}
    # exponential waits: P(wait > 18) = 8% when the mean is 18 / -ln(0.08)
    assert percent["target_mean_wait"] == pytest.approx(18 / -np.log(0.08))


def test_the_calculator_names_every_field_that_is_wrong():
    with pytest.raises(ValidationError) as caught:
        calculate({"demand": "", "target": "next year", "capacity": "0", "queue_size": "-4"})
    columns = [p.column for p in caught.value.problems]
    assert columns == ["demand", "target", "capacity", "queue_size"]
    assert caught.value.problems[0].message == "Enter referrals a week"


def test_simulation_charts_say_in_words_what_they_show():
    from voices.access import figures

    payload = {
        "policies": ["A", "B"], "settings": {"weeks": 52},
        "comparison": [{"policy": p, "measure": m, "mean": v, "lower": v - 1, "upper": v + 1}
                       for p, base in (("A", 100.0), ("B", 80.0))
                       for m, v in (("breaches_18", base * 3), ("breaches_52", base),
                                    ("breaches_65", base / 2))],
        "quintiles": [{"policy": p, "group": str(q), "measure": "pct_over_52",
                       "mean": 8.0 - q + (0 if p == "A" else -1), "lower": 1.0, "upper": 9.0}
                      for p in ("A", "B") for q in range(1, 6)],
        "series": [{"policy": p, "week": float(w), "waiting": 1000.0,
                    "over_52": 50.0 - w * (0.1 if p == "A" else 0.3)}
                   for p in ("A", "B") for w in range(53)],
    }
    breaches = figures.breaches_figure(payload)
    assert "A: 100 over 52 weeks" in breaches.summary and "B: 80 over 52 weeks" in breaches.summary
    quintile = figures.quintile_figure(payload)
    assert "quintile 1 7.0%" in quintile.summary and len(quintile.rows) == 10
    series = figures.series_figure(payload)
    assert "B: 50 at the start, 34 after 52 weeks" in series.summary
    assert all(fig.svg.startswith("<svg") for fig in (breaches, quintile, series))
