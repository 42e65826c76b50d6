"""Scorecards: parsing with located errors, statuses, trends, and scoring measure tables."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from voices.errors import ValidationError
from voices.measure.compute import MeasureOptions, compute_measures
from voices.measure.fft import FFT_ANSWERS
from voices.measure.responses import validate_responses
from voices.measure.scorecard import (
    add_scorecard_tables,
    compute_scorecard,
    default_scorecard,
    load_scorecard,
    parse_scorecard,
    target_status,
    trend_of,
    validate_activity,
)

CARD = """title: Test card
trend_periods: 6
measures:
  - id: good
    title: Good experience
    group: experience
    source: fft
    statistic: pct_positive
    direction: higher
    target: 80
    unit: "%"
  - id: gap
    title: Sex gap
    group: inequality
    source: equity_gap
    dimension: sex
    statistic: largest_gap
    direction: lower
    target: 2
    min_responses: 10
  - id: wait
    title: Within 18 weeks
    group: activity
    source: activity
    statistic: rtt_18
    direction: higher
    target: 92
"""


def test_default_scorecard_puts_experience_and_inequality_first():
    card = default_scorecard()
    groups = [m.group for m in card.measures]
    assert groups[0] == "experience"
    assert groups.index("activity") > max(i for i, g in enumerate(groups) if g == "inequality")
    assert card.trend_periods == 12


def test_bad_yaml_is_refused_with_line_and_key_path(tmp_path):
    text = CARD.replace("direction: lower", "direction: down").replace("target: 92",
                                                                      "target: lots")
    path = tmp_path / "card.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        load_scorecard(path)
    problems = {p.column: p for p in info.value.problems}
    assert set(problems) == {"measures[1].direction", "measures[2].target"}
    direction = problems["measures[1].direction"]
    assert direction.file == str(path)
    assert direction.row == text.splitlines().index("    direction: down") + 1
    assert "higher" in direction.expected


def test_unknown_keys_duplicates_and_wrong_statistic_are_located():
    text = CARD.replace("statistic: pct_positive", "statistic: pct_happy") \
        .replace("id: wait", "id: good").replace("trend_periods: 6", "trend_periods: 6\ncolour: red")
    with pytest.raises(ValidationError) as info:
        parse_scorecard(text, source="card.yaml")
    located = {p.column for p in info.value.problems}
    assert located == {"colour", "measures[0].statistic", "measures[2].id"}


def test_yaml_syntax_error_gives_the_line():
    with pytest.raises(ValidationError) as info:
        parse_scorecard("title: x\nmeasures: [\n  - id: a\n", source="card.yaml")
    assert info.value.row is not None and info.value.file == "card.yaml"


@pytest.mark.parametrize("value, lo, hi, target, direction, expected", [
    (85, 82, 88, 80, "higher", "Better than target"),
    (78, 74, 82, 80, "higher", "About on target"),
    (70, 65, 75, 80, "higher", "Worse than target"),
    (3, 1, 5, 5, "lower", "About on target"),
    (1, 0.5, 1.5, 2, "lower", "Better than target"),
    (-1, -2, 0.5, 3, "closer_to_zero", "Better than target"),
    (-5, -7, -4, 3, "closer_to_zero", "Worse than target"),
    (93, None, None, 92, "higher", "Meeting target"),
    (float("nan"), None, None, 92, "higher", "No data"),
])
def test_status_in_plain_english(value, lo, hi, target, direction, expected):
    assert target_status(value, lo, hi, target, direction) == expected


def test_trend_needs_a_clear_slope():
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    rising = [80 + 0.5 * i for i in range(12)]
    noisy = [80, 82, 79, 81, 80, 82, 79, 81, 80, 82, 79, 81]
    assert trend_of(months, rising, "higher") == "Improving"
    assert trend_of(months, rising, "lower") == "Getting worse"
    assert trend_of(months, noisy, "higher") == "No clear change"
    assert trend_of(months[:2], rising[:2], "higher") == "Not enough data yet"
    # closer_to_zero: a gap shrinking from -6 towards 0 is an improvement
    assert trend_of(months[:6], [-6, -5, -4, -3, -2, -1], "closer_to_zero") == "Improving"


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(3)
    n = 12_000
    month = rng.integers(1, 7, n)
    p_good = 0.55 + 0.05 * month                   # improving month on month
    answer = np.where(rng.random(n) < p_good, 0, rng.integers(2, 6, n))
    frame = pl.DataFrame({"organisation": "RBD",
                          "service": rng.choice(["Ward 1", "Ward 2"], n),
                          "period": [f"2026-{m:02d}" for m in month],
                          "response": np.array(FFT_ANSWERS)[answer],
                          "sex": rng.choice(["1", "2"], n)})
    return compute_measures(validate_responses(frame), MeasureOptions(simulations=2000))


def test_scorecard_scores_each_service_in_card_order(tables):
    card = parse_scorecard(CARD)
    activity = validate_activity(pl.DataFrame({
        "service": ["Ward 1", ""], "organisation": ["RBD", "RBD"],
        "period": ["2026-06", "2026-06"], "measure": ["rtt_18", "rtt_18"],
        "value": ["90.5", "93"]}))
    sc = compute_scorecard(card, tables.tables, activity=activity)
    assert sc.height == 6 and sc["measure_id"].to_list()[:3] == ["good", "gap", "wait"]
    ward1 = {r["measure_id"]: r for r in sc.filter(pl.col("service") == "Ward 1")
             .iter_rows(named=True)}
    fft = tables["fft_service"].filter((pl.col("service") == "Ward 1")
                                       & (pl.col("period") == "2026-06")).row(0, named=True)
    good = ward1["good"]
    assert good["period"] == "2026-06" and good["value"] == pytest.approx(fft["pct_positive"])
    assert good["trend"] == "Improving" and len(good["trend_values"]) == 6
    assert good["summary"].startswith("Good experience: ")
    assert ward1["wait"]["status"] == "Not meeting target"
    assert ward1["gap"]["value"] >= 0 and "(" in ward1["gap"]["detail"]
    # the organisation's own activity row is used at organisation level, never an average
    org = compute_scorecard(card, tables.tables, level="organisation", activity=activity)
    assert org.filter(pl.col("measure_id") == "wait")["value"].item() == 93


def test_scorecard_tables_can_be_written_as_csv(tables, tmp_path):
    card = parse_scorecard(CARD)
    with_card = add_scorecard_tables(tables, card)
    path = tmp_path / "sc.csv"
    with_card["scorecard_service"].write_csv(path)
    back = pl.read_csv(path)
    assert back["trend_periods"][0].count(";") == 5
    missing = back.filter(pl.col("measure_id") == "wait")
    assert (missing["status"] == "No data").all() and math.isnan(
        missing["value"].cast(pl.Float64).fill_null(float("nan"))[0])


def test_activity_with_bad_numbers_is_refused():
    with pytest.raises(ValidationError) as info:
        validate_activity(pl.DataFrame({"service": ["A"], "period": ["2026-1"],
                                        "measure": ["x"], "value": ["lots"]}), source="a.csv")
    located = {(p.row, p.column) for p in info.value.problems}
    assert located == {(2, "value"), (2, "period")}
