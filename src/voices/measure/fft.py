"""The Friends and Family Test (FFT): percentage positive and negative, from counts.

Every FFT answer is one of six: *Very good*, *Good*, *Neither good nor poor*, *Poor*,
*Very poor*, *Don't know* (the question "Overall, how was your experience of our
service?", in use since April 2020).

NHS England's method, applied here at every level:

- % positive = (Very good + Good) / all responses, **including Don't know**;
- % negative = (Poor + Very poor) / all responses, including Don't know;
- a figure for an organisation or an integrated care board is worked out again from the
  **summed counts** of its services, never by averaging the services' percentages.

Intervals are Wilson score intervals (see :mod:`voices.measure.intervals`).

References
----------
NHS England. *Using the Friends and Family Test to improve patient experience* (FFT
guidance, 2019, in force from 1 April 2020), and *Calculation and presentation of Friends
and Family Test data* (england.nhs.uk/fft/calculations): "percentage of respondents who
would / would not recommend", with all responses, Don't know included, as the
denominator. NHS England, *Friends and Family Test data* (monthly publication; the
percentages at organisation level are calculated from the submitted counts).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from voices.measure.intervals import CONFIDENCE_LEVELS, wilson_interval

#: The six answers, in the order used for every counts array (last axis).
FFT_ANSWERS: tuple[str, ...] = (
    "Very good", "Good", "Neither good nor poor", "Poor", "Very poor", "Don't know")

#: Column names used for the counts of each answer, in the same order.
ANSWER_COLUMNS: tuple[str, ...] = (
    "very_good", "good", "neither_good_nor_poor", "poor", "very_poor", "dont_know")

POSITIVE = (0, 1)   # Very good, Good
NEGATIVE = (3, 4)   # Poor, Very poor


def normalise_answer(text: str) -> str:
    """How an answer is compared: case, spacing and curly apostrophes do not matter."""
    return " ".join(str(text).replace("\u2019", "'").replace("\u2018", "'").split()).casefold()


#: Normalised answer text -> index into :data:`FFT_ANSWERS`.
ANSWER_INDEX: dict[str, int] = {normalise_answer(a): i for i, a in enumerate(FFT_ANSWERS)}


def level_suffix(confidence: float) -> str:
    """``0.95 -> '95'``, ``0.998 -> '998'``: the suffix of interval column names."""
    return f"{confidence * 100:g}".replace(".", "")


def fft_scores(counts, confidence_levels=CONFIDENCE_LEVELS) -> dict[str, np.ndarray]:
    """FFT percentages and Wilson intervals from counts of the six answers.

    Parameters
    ----------
    counts : array of shape ``(..., 6)``
        Counts of each answer in the order of :data:`FFT_ANSWERS`.
    confidence_levels : sequence of float
        Levels for the intervals (default 95% and 99.8%).

    Returns
    -------
    dict of arrays of shape ``(...)``
        ``responses``, ``positive``, ``negative``, ``pct_positive``, ``pct_negative``
        (percentages, ``nan`` with no responses) and for each level ``L`` the Wilson
        limits ``pct_positive_lower_L``, ``pct_positive_upper_L``,
        ``pct_negative_lower_L``, ``pct_negative_upper_L``.

    References
    ----------
    NHS England FFT guidance (2019) and *Calculation and presentation of FFT data*;
    Wilson 1927.
    """
    c = np.asarray(counts, dtype=float)
    if c.shape[-1] != len(FFT_ANSWERS):
        raise ValueError(f"expected counts of {len(FFT_ANSWERS)} answers, got {c.shape[-1]}")
    responses = c.sum(axis=-1)
    positive = c[..., list(POSITIVE)].sum(axis=-1)
    negative = c[..., list(NEGATIVE)].sum(axis=-1)
    out = {"responses": responses, "positive": positive, "negative": negative}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, hits in (("positive", positive), ("negative", negative)):
            out[f"pct_{name}"] = np.where(responses > 0, 100.0 * hits / responses, np.nan)
    for level in confidence_levels:
        suffix = level_suffix(level)
        for name, hits in (("positive", positive), ("negative", negative)):
            lo, hi = wilson_interval(hits, responses, level)
            out[f"pct_{name}_lower_{suffix}"] = 100.0 * lo
            out[f"pct_{name}_upper_{suffix}"] = 100.0 * hi
    return out


def fft_summary(counts: pl.DataFrame, by: list[str],
                confidence_levels=CONFIDENCE_LEVELS) -> pl.DataFrame:
    """Sum answer counts within each group of ``by`` and work out the FFT figures again.

    Use this for every level of reporting (service, organisation, integrated care board,
    all): because the percentages are always recomputed from summed counts, an
    organisation's figure is never an average of its services' percentages.

    Parameters
    ----------
    counts : polars.DataFrame
        The ``by`` columns plus one count column per answer (:data:`ANSWER_COLUMNS`).
    by : list of str
        Columns to group by (may be empty for a single grand total).

    Returns
    -------
    polars.DataFrame
        ``by`` columns, the six summed counts, then the columns of :func:`fft_scores`,
        sorted by ``by``.
    """
    missing = [c for c in (*by, *ANSWER_COLUMNS) if c not in counts.columns]
    if missing:
        raise ValueError(f"counts frame lacks columns {missing}")
    sums = [pl.col(c).sum().cast(pl.Int64) for c in ANSWER_COLUMNS]
    summed = counts.group_by(by, maintain_order=False).agg(sums).sort(by) if by \
        else counts.select(sums)
    scores = fft_scores(summed.select(ANSWER_COLUMNS).to_numpy(), confidence_levels)
    scores["responses"] = scores["responses"].astype(np.int64)
    scores["positive"] = scores["positive"].astype(np.int64)
    scores["negative"] = scores["negative"].astype(np.int64)
    return summed.with_columns(pl.DataFrame(scores))
