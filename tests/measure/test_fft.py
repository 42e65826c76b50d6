"""Friends and Family Test scores follow NHS England's method at every level."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voices.measure.fft import (
    ANSWER_COLUMNS,
    FFT_ANSWERS,
    fft_scores,
    fft_summary,
    normalise_answer,
)


def test_percent_positive_counts_dont_know_in_the_denominator():
    # 50 Very good, 30 Good, 5 Neither, 4 Poor, 3 Very poor, 8 Don't know = 100 answers:
    # positive (50 + 30) / 100 = 80%, negative (4 + 3) / 100 = 7% (NHS England method:
    # every response, Don't know included, is in the denominator).
    s = fft_scores([50, 30, 5, 4, 3, 8])
    assert s["responses"] == 100
    assert s["pct_positive"] == pytest.approx(80.0)
    assert s["pct_negative"] == pytest.approx(7.0)


def test_interval_is_wilson_for_the_positive_share():
    s = fft_scores([50, 30, 5, 4, 3, 8])
    # Wilson 95% for 80/100, by hand: (2x + z² ± z sqrt(z² + 4x(1 - x/n))) / 2(n + z²)
    z = 1.959963984540054
    root = z * np.sqrt(z * z + 4 * 80 * (1 - 80 / 100))
    assert s["pct_positive_lower_95"] == pytest.approx(100 * (160 + z * z - root) / (2 * (100 + z * z)))
    assert s["pct_positive_upper_95"] == pytest.approx(100 * (160 + z * z + root) / (2 * (100 + z * z)))
    assert s["pct_positive_lower_998"] < s["pct_positive_lower_95"]


def test_no_responses_gives_no_percentage():
    s = fft_scores([0, 0, 0, 0, 0, 0])
    assert np.isnan(s["pct_positive"]) and np.isnan(s["pct_positive_lower_95"])


def _counts(rows):
    return pl.DataFrame(
        [{"organisation": o, "service": s, "period": "2026-04",
          **dict(zip(ANSWER_COLUMNS, c))} for o, s, c in rows])


def test_organisation_figure_is_recomputed_from_summed_counts_not_averaged():
    # Ward A: 9 of 10 positive (90%); Ward B: 100 of 200 positive (50%).
    # Averaging the wards would give 70%; the method gives 109 / 210 = 51.9%.
    counts = _counts([("RBD", "Ward A", [5, 4, 1, 0, 0, 0]),
                      ("RBD", "Ward B", [60, 40, 50, 20, 20, 10])])
    org = fft_summary(counts, ["organisation", "period"])
    assert org["responses"].item() == 210
    assert org["pct_positive"].item() == pytest.approx(100 * 109 / 210)
    assert org["pct_positive"].item() != pytest.approx(70.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 400), min_size=6, max_size=6), min_size=1,
                max_size=8))
def test_every_level_equals_the_method_applied_to_its_summed_counts(wards):
    counts = _counts([("RBD", f"Ward {i}", c) for i, c in enumerate(wards)])
    org = fft_summary(counts, ["organisation", "period"])
    total = np.sum(wards, axis=0)
    if total.sum() == 0:
        assert np.isnan(org["pct_positive"].item())
        return
    assert org["pct_positive"].item() == pytest.approx(100 * (total[0] + total[1]) / total.sum())
    assert org["pct_negative"].item() == pytest.approx(100 * (total[3] + total[4]) / total.sum())
    assert org[list(ANSWER_COLUMNS)].row(0) == tuple(int(t) for t in total)


def test_answers_match_whatever_the_case_spacing_or_apostrophe():
    assert normalise_answer("  don\u2019t   KNOW ") == normalise_answer("Don't know")
    assert len(FFT_ANSWERS) == 6
