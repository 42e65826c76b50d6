"""Inequality between groups: gaps to a reference group, and the slope and relative
index of inequality across deprivation deciles.

Everything here is pure: NumPy arrays in, NumPy arrays or frozen dataclasses out.

The slope index of inequality (SII) follows the method Public Health England (now
OHID/UKHSA) uses for Fingertips indicators and ships in the R package
``PHEindicatormethods`` (function ``phe_sii``): groups are ordered from the most
deprived to the least deprived, each is placed at the midpoint of its share of the
cumulative population (its *relative rank*, 0 to 1), and a population-weighted least
squares line is fitted to the group values. The SII is the slope of that line: the
modelled difference between the least deprived end (rank 1) and the most deprived end
(rank 0). The relative index of inequality (RII) is the ratio of the fitted values at the
two ends. Confidence intervals come from simulation: each group value is drawn from a
normal distribution with its standard error, the line is refitted, and the interval is
read from the order statistics of the simulated slopes at the same positions ``phe_sii``
uses.

References
----------
Low A, Low A. Measuring the gap: quantifying and comparing local health inequalities.
*Journal of Public Health* 2004;26(4):388-395. doi:10.1093/pubmed/fdh175

Public Health England. *Technical Guide: Calculating the slope index of inequality*
(APHO/PHE, 2010-2018) and the Fingertips Public Health Technical Guidance.

PHEindicatormethods (R package, ukhsa-collaboration/PHEindicatormethods),
``phe_sii`` and its worked-examples vignette, versions 2.x.

Newcombe RG. Interval estimation for the difference between independent proportions:
comparison of eleven methods. *Statistics in Medicine* 1998;17:873-890 (method 10,
used for absolute gaps).

Zou GY, Donner A. Construction of confidence limits about effect measures: a general
approach. *Statistics in Medicine* 2008;27:1693-1702 (MOVER-R, used for relative gaps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit, logit
from scipy.stats import norm

from voices.errors import ValidationError

Kind = Literal["normal", "rate", "proportion"]
KINDS: tuple[str, ...] = ("normal", "rate", "proportion")

#: Default number of simulations, as in ``phe_sii``.
DEFAULT_SIMULATIONS = 100_000

# phe_sii derives a standard error from 95% limits whatever the requested confidence.
_Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class SlopeIndex:
    """The slope and relative index of inequality for one set of ordered groups.

    ``sii`` is in the units of the values (for example percentage points when the values
    are percentages): the modelled value at the least deprived end minus the value at the
    most deprived end. A positive SII means values rise as deprivation falls. ``rii`` is
    the modelled value at the least deprived end divided by the value at the most
    deprived end. ``intercept`` is the modelled value at the most deprived end (rank 0).
    Interval fields are ``nan`` when no standard errors or limits were given, or when the
    groups could not support a line (see ``reason``).
    """

    sii: float
    sii_lower: float
    sii_upper: float
    rii: float
    rii_lower: float
    rii_upper: float
    intercept: float
    confidence: float
    simulations: int
    kind: str
    transform: bool
    groups: int
    reason: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def relative_rank(population: np.ndarray) -> np.ndarray:
    """Midpoint of each group's share of the cumulative population (0 to 1).

    Groups must already be ordered from most to least deprived. Works on the last axis,
    so a ``(groups, deciles)`` array gives one set of ranks per row.

    References
    ----------
    Low & Low 2004; ``FindXValues`` in PHEindicatormethods.
    """
    pop = np.asarray(population, dtype=float)
    share = pop / pop.sum(axis=-1, keepdims=True)
    return np.cumsum(share, axis=-1) - share / 2.0


def _line_weights(population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``w0, w1`` with intercept = sum(w0*y) and slope = sum(w1*y).

    The population-weighted least-squares line of y on relative rank (Low & Low 2004;
    the same fit as ``lm(y*sqrt(a) ~ sqrt(a) + b*sqrt(a) - 1)`` in ``phe_sii``), written
    as fixed linear weights so that a whole batch of groups, and every simulated draw,
    is fitted with one multiply-and-sum.
    """
    pop = np.asarray(population, dtype=float)
    share = pop / pop.sum(axis=-1, keepdims=True)
    rank = np.cumsum(share, axis=-1) - share / 2.0
    mean_rank = (share * rank).sum(axis=-1, keepdims=True)
    spread = (share * (rank - mean_rank) ** 2).sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        w1 = share * (rank - mean_rank) / spread
    w0 = share - mean_rank * w1
    return w0, w1


def _to_model_scale(x: np.ndarray, kind: str) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "rate":
            return np.log(x)
        if kind == "proportion":
            return logit(x)
    return x


def _from_model_scale(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "rate":
        return np.exp(x)
    if kind == "proportion":
        return expit(x)
    return x


def _order_positions(simulations: int, confidence: float) -> tuple[int, int]:
    """0-based order-statistic positions of the lower and upper limits, as ``phe_sii``.

    ``phe_sii`` sorts the simulated values and takes positions
    ``round(n * (1 - c))`` and ``round(n * c)`` (1-based) with ``c = conf + (1-conf)/2``;
    R rounds half to even, as does :func:`numpy.rint`.
    """
    upper_p = confidence + (1.0 - confidence) / 2.0
    lo = int(np.rint(simulations * (1.0 - upper_p)))
    hi = int(np.rint(simulations * upper_p))
    return max(lo, 1) - 1, min(max(hi, 1), simulations) - 1


def _check_options(kind: str, confidence: float, simulations: int) -> None:
    if kind not in KINDS:
        raise ValidationError(f"unknown kind of value '{kind}'", expected=" or ".join(KINDS))
    if not 0.5 < confidence < 1.0:
        raise ValidationError(f"confidence {confidence} is out of range",
                              expected="a number between 0.5 and 1, such as 0.95 or 0.998")
    if simulations < 1000:
        raise ValidationError(f"{simulations} simulations is too few",
                              expected="at least 1000 (phe_sii's minimum)")


def slope_index_batch(
    values: np.ndarray,
    population: np.ndarray,
    *,
    standard_error: np.ndarray | None = None,
    value_lower: np.ndarray | None = None,
    value_upper: np.ndarray | None = None,
    kind: Kind = "normal",
    transform: bool = False,
    confidence: float = 0.95,
    simulations: int = DEFAULT_SIMULATIONS,
    seed: int | None = 0,
) -> dict[str, np.ndarray]:
    """SII and RII with simulated intervals for many sets of ordered groups at once.

    Parameters
    ----------
    values, population : array of shape ``(sets, groups)``
        One row per set (for example per service and period), one column per group
        ordered from most deprived (first) to least deprived (last). Rates are per unit of
        population as given; proportions are between 0 and 1.
    standard_error : array, optional
        Standard error of each value *on the modelling scale* (log for rates, logit for
        proportions, as is for ``kind="normal"``).
    value_lower, value_upper : array, optional
        95% limits of each value on its own scale; used to derive the standard error when
        ``standard_error`` is not given (as ``phe_sii`` does, always at 95%).
    kind : "normal", "rate" or "proportion"
        How the values behave: rates are simulated on the log scale and proportions on the
        logit scale (``value_type`` 0, 1, 2 in ``phe_sii``).
    transform : bool
        Fit the line on the log or logit scale and report the SII back in the original
        units (``transform = TRUE`` in ``phe_sii``, recommended there for rates and
        proportions). Ignored for ``kind="normal"``.
    confidence : float
        Two-sided confidence level of the intervals, e.g. 0.95 or 0.998.
    simulations : int
        Number of simulated draws (at least 1000; ``phe_sii`` uses 100,000 by default).
    seed : int or None
        Seed for the random draws, so that results can be reproduced.

    Returns
    -------
    dict of arrays of shape ``(sets,)``
        ``sii, sii_lower, sii_upper, rii, rii_lower, rii_upper, intercept`` and ``valid``
        (False where a set has a group with no population, no value or no standard error,
        or a proportion of exactly 0 or 1 on the logit scale; those rows are ``nan``).

    Notes
    -----
    When the line is fitted on the simulation scale (``kind="normal"``, or
    ``transform=True``) the fitted slope and intercept are fixed linear combinations of
    independent normal draws, so each simulated (intercept, slope) pair is bivariate
    normal with a covariance that can be written down. The draws are therefore made
    directly as correlated pairs: the same distribution as ``phe_sii``'s
    group-by-group draws, at a fraction of the cost, and the same standard normal draws
    serve every set (common random numbers), so one seed reproduces a whole batch. When
    values are simulated on the log or logit scale and fitted after transforming back
    (``transform=False`` for rates and proportions), each group is drawn separately as in
    ``phe_sii``.

    References
    ----------
    Low & Low 2004; PHEindicatormethods ``phe_sii`` and ``SimulationFunc``.
    """
    _check_options(kind, confidence, simulations)
    y = np.atleast_2d(np.asarray(values, dtype=float))
    pop = np.atleast_2d(np.asarray(population, dtype=float))
    if y.shape != pop.shape:
        raise ValidationError(f"values have shape {y.shape} but population has {pop.shape}",
                              expected="one population for each value")
    if y.shape[-1] < 2:
        raise ValidationError("a slope index needs at least two groups",
                              expected="values for each deprivation decile or quintile")
    model_y = _to_model_scale(y, kind)
    if standard_error is not None:
        se = np.atleast_2d(np.asarray(standard_error, dtype=float))
    elif value_lower is not None and value_upper is not None:
        lo = _to_model_scale(np.atleast_2d(np.asarray(value_lower, dtype=float)), kind)
        hi = _to_model_scale(np.atleast_2d(np.asarray(value_upper, dtype=float)), kind)
        se = (hi - lo) / (2.0 * _Z95)
    else:
        se = None

    linear = kind == "normal" or transform
    fit_y = model_y if linear else y
    valid = np.all((pop > 0) & np.isfinite(fit_y) & np.isfinite(model_y), axis=-1)
    if se is not None:
        valid &= np.all(np.isfinite(se) & (se >= 0), axis=-1)
    w0, w1 = _line_weights(np.where(pop > 0, pop, 1.0))
    fit_y = np.where(valid[:, None], fit_y, 0.0)
    intercept = (w0 * fit_y).sum(axis=-1)
    slope = (w1 * fit_y).sum(axis=-1)
    nan = np.full(y.shape[0], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rii = (intercept + slope) / intercept
    out = {"sii": slope.copy(), "rii": rii,
           "intercept": intercept.copy(), "sii_lower": nan.copy(), "sii_upper": nan.copy(),
           "rii_lower": nan.copy(), "rii_upper": nan.copy()}
    if linear and kind != "normal":
        at0 = _from_model_scale(intercept, kind)
        at1 = _from_model_scale(intercept + slope, kind)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.update(sii=at1 - at0, rii=at1 / at0, intercept=at0)

    if se is not None:
        se = np.where(valid[:, None], se, 0.0)
        lo_pos, hi_pos = _order_positions(simulations, confidence)
        rng = np.random.default_rng(seed)
        if linear:
            _simulate_linear(out, intercept, slope, w0, w1, se, kind, rng, simulations,
                             lo_pos, hi_pos)
        else:
            _simulate_per_group(out, model_y, w0, w1, se, kind, rng, simulations,
                                lo_pos, hi_pos)
    out = {key: np.where(valid, column, np.nan) for key, column in out.items()}
    out["valid"] = valid
    return out


def _simulate_linear(out, intercept, slope, w0, w1, se, kind, rng, simulations,
                     lo_pos, hi_pos) -> None:
    """Simulated limits when the line is fitted on the simulation scale (see Notes above)."""
    var = se ** 2
    var1 = (w1 ** 2 * var).sum(axis=-1)
    var0 = (w0 ** 2 * var).sum(axis=-1)
    cov = (w0 * w1 * var).sum(axis=-1)
    sd1 = np.sqrt(var1)
    z_slope = rng.standard_normal(simulations)
    ordered = np.sort(z_slope)
    slope_lo = slope + sd1 * ordered[lo_pos]
    slope_hi = slope + sd1 * ordered[hi_pos]
    if kind != "normal":
        # phe_sii (transform = TRUE): keep the midpoint of the fitted line and turn the
        # slope limits back into differences and ratios of the two ends' values.
        middle = intercept + slope / 2.0
        for side, s in (("lower", slope_lo), ("upper", slope_hi)):
            end0 = _from_model_scale(middle - s / 2.0, kind)
            end1 = _from_model_scale(middle + s / 2.0, kind)
            out[f"sii_{side}"] = end1 - end0
            out[f"rii_{side}"] = end1 / end0
        return
    out["sii_lower"], out["sii_upper"] = slope_lo, slope_hi
    # RII = (intercept + slope) / intercept needs the joint draw, set by set.
    z_rest = rng.standard_normal(simulations)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(var1 > 0, cov / var1, 0.0)
        rest_sd = np.sqrt(np.maximum(var0 - beta * cov, 0.0))
    chunk = max(1, 5_000_000 // simulations)
    for start in range(0, len(slope), chunk):
        part = slice(start, start + chunk)
        sim_slope = slope[part, None] + sd1[part, None] * z_slope
        sim_icept = (intercept[part, None] + beta[part, None] * (sim_slope - slope[part, None])
                     + rest_sd[part, None] * z_rest)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (sim_icept + sim_slope) / sim_icept
        ratio.partition((lo_pos, hi_pos), axis=-1)
        out["rii_lower"][part] = ratio[:, lo_pos]
        out["rii_upper"][part] = ratio[:, hi_pos]


def _simulate_per_group(out, model_y, w0, w1, se, kind, rng, simulations, lo_pos,
                        hi_pos) -> None:
    """``phe_sii`` with ``transform = FALSE`` for rates and proportions: draw each group on
    the log or logit scale, transform back, then refit."""
    sets, groups = model_y.shape
    chunk = max(1, 5_000_000 // (simulations * groups))
    for start in range(0, sets, chunk):
        part = slice(start, start + chunk)
        draws = rng.standard_normal((model_y[part].shape[0], simulations, groups))
        sims = _from_model_scale(model_y[part, None, :] + se[part, None, :] * draws, kind)
        sim_slope = (sims * w1[part, None, :]).sum(axis=-1)
        sim_icept = (sims * w0[part, None, :]).sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (sim_icept + sim_slope) / sim_icept
        for name, sim in (("sii", sim_slope), ("rii", ratio)):
            sim.partition((lo_pos, hi_pos), axis=-1)
            out[f"{name}_lower"][part] = sim[:, lo_pos]
            out[f"{name}_upper"][part] = sim[:, hi_pos]


def slope_index_of_inequality(
    value,
    population,
    *,
    value_lower=None,
    value_upper=None,
    standard_error=None,
    kind: Kind = "normal",
    transform: bool = False,
    confidence: float = 0.95,
    simulations: int = DEFAULT_SIMULATIONS,
    seed: int | None = 0,
) -> SlopeIndex:
    """Slope index of inequality (SII) and relative index of inequality (RII).

    Parameters
    ----------
    value : sequence of float
        The measure in each group, ordered **most deprived first** (IMD decile 1 first).
    population : sequence of float
        The size of each group (people, responses): the regression weights.
    value_lower, value_upper : sequence of float, optional
        95% confidence limits of each value, used to derive its standard error.
    standard_error : sequence of float, optional
        Standard error of each value on the modelling scale (log for rates, logit for
        proportions); used instead of the limits when given.
    kind : "normal", "rate" or "proportion"
        See :func:`slope_index_batch`.
    transform : bool
        Fit on the log or logit scale (recommended for rates and proportions).
    confidence : float
        Two-sided confidence level of the intervals (default 0.95).
    simulations : int
        Number of simulated draws (default 100,000, as ``phe_sii``).
    seed : int or None
        Random seed (default 0, so the same input always gives the same interval).

    Returns
    -------
    SlopeIndex
        Frozen dataclass with ``sii``, ``sii_lower``, ``sii_upper``, ``rii``,
        ``rii_lower``, ``rii_upper``, ``intercept`` and the options used. Intervals are
        ``nan`` when neither limits nor standard errors are given.

    References
    ----------
    Low A, Low A. *J Public Health* 2004;26:388-395. PHEindicatormethods ``phe_sii``
    (ukhsa-collaboration/PHEindicatormethods). PHE *Technical Guide: Calculating the
    slope index of inequality*.

    Examples
    --------
    >>> r = slope_index_of_inequality([60, 64, 70, 72, 75], [100, 120, 110, 90, 100],
    ...                               standard_error=[2, 2, 2, 2, 2], simulations=2000)
    >>> round(r.sii, 2), r.sii_lower < r.sii < r.sii_upper
    (18.87, True)
    """
    def as_row(x):
        return None if x is None else np.asarray(x, dtype=float)[None, :]

    values = np.asarray(value, dtype=float)
    if values.ndim != 1:
        raise ValidationError("values must be a flat list, one per group",
                              expected="a sequence of numbers ordered most deprived first")
    out = slope_index_batch(
        values[None, :], as_row(population), standard_error=as_row(standard_error),
        value_lower=as_row(value_lower), value_upper=as_row(value_upper), kind=kind,
        transform=transform, confidence=confidence, simulations=simulations, seed=seed)
    reason = None
    if not out["valid"][0]:
        reason = ("every group needs a population above zero, a value"
                  + (" strictly between 0 and 1" if kind == "proportion" else "")
                  + " and a standard error")
    return SlopeIndex(
        sii=float(out["sii"][0]), sii_lower=float(out["sii_lower"][0]),
        sii_upper=float(out["sii_upper"][0]), rii=float(out["rii"][0]),
        rii_lower=float(out["rii_lower"][0]), rii_upper=float(out["rii_upper"][0]),
        intercept=float(out["intercept"][0]), confidence=confidence,
        simulations=simulations, kind=kind, transform=bool(transform),
        groups=int(values.shape[0]), reason=reason)
