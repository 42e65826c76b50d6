"""Confidence intervals for proportions, means, and differences and ratios of proportions.

All functions are vectorised: pass scalars or NumPy arrays (or Polars series converted with
``.to_numpy()``) and get arrays of the same shape back. Empty groups (no responses) give
``nan`` rather than an error, so a whole table can be computed in one call.

References
----------
Wilson EB. Probable inference, the law of succession, and statistical inference.
*J Am Stat Assoc* 1927;22:209-212.

Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
methods. *Statistics in Medicine* 1998;17:857-872 (method 3, the Wilson score interval).

Newcombe RG. Interval estimation for the difference between independent proportions:
comparison of eleven methods. *Statistics in Medicine* 1998;17:873-890 (method 10).

Zou GY, Donner A. Construction of confidence limits about effect measures: a general
approach. *Statistics in Medicine* 2008;27:1693-1702; Donner A, Zou GY. Closed-form
confidence intervals for functions of the normal mean and standard deviation.
*Statistical Methods in Medical Research* 2012;21:347-359 (MOVER-R for ratios).

Public Health England. *Technical Guide: Confidence Intervals* (APHO, 2008; Fingertips
Public Health Technical Guidance), which recommends Wilson for proportions and Student's t
for means; PHEindicatormethods ``phe_proportion`` and ``phe_mean`` implement the same.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, t

#: The two confidence levels used across Voices: 95% and 99.8% (the funnel-plot limits,
#: about 2 and 3 standard deviations).
CONFIDENCE_LEVELS: tuple[float, float] = (0.95, 0.998)


def z_for(confidence: float) -> float:
    """The two-sided standard normal critical value for a confidence level.

    ``z_for(0.95)`` is 1.959964 and ``z_for(0.998)`` is 3.090232.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return float(norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def wilson_interval(successes, trials, confidence: float = 0.95):
    """Wilson score interval for a proportion.

    Parameters
    ----------
    successes, trials : array-like of counts
        Number with the attribute (e.g. positive answers) and number asked (all answers).
    confidence : float
        Two-sided level, e.g. 0.95 or 0.998.

    Returns
    -------
    (lower, upper) : tuple of float arrays
        Limits as proportions between 0 and 1; ``nan`` where ``trials`` is 0.

    References
    ----------
    Wilson 1927; Newcombe 1998 (single proportion, method 3); PHE Technical Guide:
    Confidence Intervals, section on proportions; PHEindicatormethods ``wilson_lower`` /
    ``wilson_upper``.
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = z_for(confidence)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = 2.0 * x + z2
        spread = z * np.sqrt(z2 + 4.0 * x * (1.0 - x / n))
        denom = 2.0 * (n + z2)
        lower = (centre - spread) / denom
        upper = (centre + spread) / denom
    empty = n <= 0
    lower = np.where(empty, np.nan, np.clip(lower, 0.0, 1.0))
    upper = np.where(empty, np.nan, np.clip(upper, 0.0, 1.0))
    return lower, upper


def mean_interval(count, total, total_of_squares, confidence: float = 0.95):
    """Mean with a Student's t interval, from sufficient statistics.

    Working from the count, the sum and the sum of squares of each group means a whole
    table of groups can be summarised in one pass (for example with Polars ``group_by``)
    and the intervals computed afterwards.

    Parameters
    ----------
    count : array-like
        Number of observations in each group.
    total, total_of_squares : array-like
        Sum of the observations and sum of their squares in each group.
    confidence : float
        Two-sided level.

    Returns
    -------
    (mean, lower, upper, standard_deviation) : tuple of float arrays
        Interval ``mean ± t(n-1) · sd / sqrt(n)``; limits are ``nan`` for fewer than two
        observations, the mean is ``nan`` for none.

    References
    ----------
    Student. The probable error of a mean. *Biometrika* 1908;6:1-25. Armitage P, Berry G,
    Matthews JNS. *Statistical Methods in Medical Research*, 4th ed., 2002, section 4.2.
    PHE Technical Guide: Confidence Intervals (means); PHEindicatormethods ``phe_mean``.
    """
    n = np.asarray(count, dtype=float)
    s = np.asarray(total, dtype=float)
    ss = np.asarray(total_of_squares, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        var = np.where(n > 1, (ss - n * mean * mean) / (n - 1.0), np.nan)
        sd = np.sqrt(np.maximum(var, 0.0))
        tcrit = t.ppf(1.0 - (1.0 - confidence) / 2.0, np.where(n > 1, n - 1.0, np.nan))
        half = tcrit * sd / np.sqrt(n)
    return mean, mean - half, mean + half, sd


def mean_interval_of(values, confidence: float = 0.95):
    """Mean and t interval of a single sample (a convenience over :func:`mean_interval`)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    m, lo, hi, _ = mean_interval(v.size, v.sum(), (v * v).sum(), confidence)
    return float(m), float(lo), float(hi)


def _two_proportions(x1, n1, x2, n2, confidence):
    """Both proportions with their Wilson limits: ``p1, l1, u1, p2, l2, u2``."""
    out = []
    for x, n in ((x1, n1), (x2, n2)):
        x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(n > 0, x / n, np.nan))
        out.extend(wilson_interval(x, n, confidence))
    return tuple(out)


def difference_interval(x1, n1, x2, n2, confidence: float = 0.95):
    """Difference of two independent proportions ``p1 - p2`` with Newcombe's interval.

    Newcombe's hybrid score interval (his method 10) combines the two Wilson intervals;
    it behaves well with small groups and with proportions near 0 or 1.

    Returns
    -------
    (difference, lower, upper) : tuple of float arrays (proportions, not percentages)

    References
    ----------
    Newcombe RG. *Statistics in Medicine* 1998;17:873-890, method 10.
    """
    p1, l1, u1, p2, l2, u2 = _two_proportions(x1, n1, x2, n2, confidence)
    d = p1 - p2
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, lower, upper


def ratio_interval(x1, n1, x2, n2, confidence: float = 0.95):
    """Ratio of two independent proportions ``p1 / p2`` with a MOVER-R interval.

    The method of variance estimates recovery for ratios (MOVER-R) built on the two
    Wilson intervals. Unlike the log (Katz) interval it needs no special handling of
    zero counts: when ``p2`` is 0 the ratio and its upper limit are infinite.

    Returns
    -------
    (ratio, lower, upper) : tuple of float arrays

    References
    ----------
    Zou & Donner, *Stat Med* 2008;27:1693-1702; Donner & Zou, *Stat Methods Med Res*
    2012;21:347-359, equation for the ratio of two parameters; Newcombe RG. *Confidence
    Intervals for Proportions and Related Measures of Effect Size*. CRC Press, 2013, ch. 10.
    """
    p1, l1, u1, p2, l2, u2 = _two_proportions(x1, n1, x2, n2, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        prod = p1 * p2
        lower = (prod - np.sqrt(np.maximum(prod ** 2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2),
                                           0.0))) / (u2 * (2 * p2 - u2))
        upper = (prod + np.sqrt(np.maximum(prod ** 2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2),
                                           0.0))) / (l2 * (2 * p2 - l2))
        ratio = p1 / p2
    upper = np.where(l2 <= 0, np.inf, upper)
    lower = np.where(p1 <= 0, 0.0, lower)
    return ratio, lower, upper
