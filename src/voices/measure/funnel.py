"""Funnel plots for comparing services on a proportion (such as FFT % positive).

A funnel plot puts each service's proportion against its number of responses, with
control limits around a target that narrow as the number grows. A service outside the
99.8% limits is very unlikely to differ from the target by chance alone.

Real services differ for reasons the limits do not know about (case mix, how feedback is
collected), so a plot of many large services often shows more spread than chance allows:
*over-dispersion*. Two standard remedies, both from Spiegelhalter (2005):

- **multiplicative**: widen every limit by ``sqrt(phi)``, where ``phi`` is the mean
  squared z-score after winsorising the most extreme 10% at each end;
- **additive (random effects)**: add a between-service variance ``tau2`` (a
  DerSimonian-Laird moment estimate from the same winsorised z-scores) to each service's
  own variance, on the arcsine-square-root or logit scale.

Usage is scikit-learn-like: configure :class:`ProportionFunnel`, ``fit`` it to the
services' counts (this estimates the target, ``phi`` and ``tau2``), then ask for
``limits`` at any denominators or ``assess`` services against them.

References
----------
Spiegelhalter DJ. Funnel plots for comparing institutional performance. *Statistics in
Medicine* 2005;24:1185-1202.

Spiegelhalter DJ. Handling over-dispersion of performance indicators. *Quality and
Safety in Health Care* 2005;14:347-351.

NHS-R Community, FunnelPlotR (R package, nhs-r-community/FunnelPlotR): proportions on the
arcsine-square-root scale with ``s = 1/(2 sqrt(n))``, 10% winsorisation, ``phi`` and
``tau2`` as in Spiegelhalter 2005, limits ``sin(asin(sqrt(target)) ± z sqrt(s² + tau2))²``.

Public Health England, PHEindicatormethods ``phe_funnel`` / ``calculate_funnel_limits``
(proportions): unadjusted limits ``target ± z sqrt(target (1 - target) / n)`` at 95% and
99.8%, cut to the range 0 to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from voices.errors import ValidationError
from voices.measure.intervals import z_for

Overdispersion = Literal["none", "multiplicative", "additive"]
Scale = Literal["identity", "arcsine", "logit"]

#: Plain-English flags, from the highest to the lowest.
FLAGS = ("above 99.8% limit", "above 95% limit", "within limits", "below 95% limit",
         "below 99.8% limit")


def _transform(p, scale: str):
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "arcsine":
            return np.arcsin(np.sqrt(np.clip(p, 0.0, 1.0)))
        if scale == "logit":
            return np.log(p / (1.0 - p))
    return p


def _untransform(y, scale: str):
    y = np.asarray(y, dtype=float)
    if scale == "arcsine":
        return np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2
    if scale == "logit":
        return 1.0 / (1.0 + np.exp(-y))
    return np.clip(y, 0.0, 1.0)


def _standard_error(denominator, target: float, scale: str):
    """Null standard error of one service's proportion on the chosen scale."""
    n = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "arcsine":
            return 1.0 / (2.0 * np.sqrt(n))
        if scale == "logit":
            return 1.0 / np.sqrt(n * target * (1.0 - target))
        return np.sqrt(target * (1.0 - target) / n)


def winsorise(z, fraction: float = 0.1):
    """Pull the lowest and highest ``fraction`` of z-scores in to the quantiles at
    ``fraction`` and ``1 - fraction`` (quantiles as R's default, type 7)."""
    z = np.asarray(z, dtype=float)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return z
    lo, hi = np.quantile(finite, [fraction, 1.0 - fraction])
    return np.clip(z, lo, hi)


def dispersion_ratio(z_winsorised) -> float:
    """``phi``: the mean squared (winsorised) z-score (Spiegelhalter 2005, eq. 2)."""
    z = np.asarray(z_winsorised, dtype=float)
    z = z[np.isfinite(z)]
    return float(np.mean(z * z)) if z.size else float("nan")


def between_variance(phi: float, standard_errors) -> float:
    """``tau2``: the additive between-service variance (Spiegelhalter 2005, eq. 3).

    ``tau2 = (I phi - (I - 1)) / (sum w - sum w² / sum w)`` with ``w = 1 / s²``, and 0 when
    ``I phi <= I - 1`` (no more spread than chance allows).
    """
    s = np.asarray(standard_errors, dtype=float)
    s = s[np.isfinite(s) & (s > 0)]
    count = s.size
    if count < 2 or not np.isfinite(phi) or count * phi <= count - 1:
        return 0.0
    w = 1.0 / s ** 2
    return float(max(0.0, (count * phi - (count - 1)) / (w.sum() - (w * w).sum() / w.sum())))


@dataclass
class ProportionFunnel:
    """Control limits for comparing services on a proportion, with over-dispersion handled.

    Parameters
    ----------
    overdispersion : "none", "multiplicative" or "additive"
        How to allow for more spread between services than chance: not at all, by
        widening with ``sqrt(phi)``, or by adding ``tau2`` (random effects).
    scale : "identity", "arcsine" or "logit"
        The scale on which z-scores and limits are worked out. ``identity`` with no
        over-dispersion gives PHE's published limits; ``arcsine`` with ``additive`` gives
        FunnelPlotR's.
    winsorise_by : float
        Fraction winsorised at each end before estimating ``phi`` (default 0.1).
    target : float, optional
        A fixed target proportion (for example a national average). By default the
        pooled proportion of the services fitted (sum of numerators / sum of
        denominators).
    confidence_levels : tuple of float
        Limits to draw (default 95% and 99.8%).

    Attributes (after ``fit``)
    --------------------------
    target_ : float
    phi_ : float
        Dispersion ratio; 1 means the services vary as much as chance alone allows.
    tau2_ : float
        Between-service variance on the chosen scale (0 unless over-dispersed).
    z_ : array
        Each fitted service's unadjusted z-score.
    """

    overdispersion: Overdispersion = "additive"
    scale: Scale = "arcsine"
    winsorise_by: float = 0.1
    target: float | None = None
    confidence_levels: tuple[float, ...] = (0.95, 0.998)
    target_: float = field(default=float("nan"), init=False)
    phi_: float = field(default=float("nan"), init=False)
    tau2_: float = field(default=0.0, init=False)
    z_: np.ndarray = field(default_factory=lambda: np.empty(0), init=False, repr=False)

    def _check(self) -> None:
        if self.overdispersion not in ("none", "multiplicative", "additive"):
            raise ValidationError(f"unknown over-dispersion method '{self.overdispersion}'",
                                  expected="none, multiplicative or additive")
        if self.scale not in ("identity", "arcsine", "logit"):
            raise ValidationError(f"unknown scale '{self.scale}'",
                                  expected="identity, arcsine or logit")
        if not 0.0 <= self.winsorise_by < 0.5:
            raise ValidationError(f"cannot winsorise by {self.winsorise_by}",
                                  expected="a fraction from 0 to below 0.5, such as 0.1")

    def fit(self, numerator, denominator) -> ProportionFunnel:
        """Estimate the target, the z-scores, ``phi`` and ``tau2`` from services' counts.

        Services with no responses are left out of the estimates.
        """
        self._check()
        x = np.asarray(numerator, dtype=float)
        n = np.asarray(denominator, dtype=float)
        if x.shape != n.shape:
            raise ValidationError("numerators and denominators differ in length",
                                  expected="one numerator per denominator")
        if np.any(x < 0) or np.any(x > n):
            raise ValidationError("a numerator is negative or larger than its denominator",
                                  expected="0 <= numerator <= denominator")
        used = n > 0
        self.target_ = (float(self.target) if self.target is not None
                        else float(x[used].sum() / n[used].sum()) if used.any()
                        else float("nan"))
        self.z_ = self.z_scores(x, n)
        zw = winsorise(self.z_[used], self.winsorise_by)
        self.phi_ = dispersion_ratio(zw)
        s = _standard_error(n[used], self.target_, self.scale)
        self.tau2_ = between_variance(self.phi_, s) if self.overdispersion == "additive" else 0.0
        return self

    def z_scores(self, numerator, denominator):
        """Unadjusted z-scores ``(g(p) - g(target)) / s`` on the chosen scale."""
        x = np.asarray(numerator, dtype=float)
        n = np.asarray(denominator, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(n > 0, x / n, np.nan)
        s = _standard_error(n, self.target_, self.scale)
        return (_transform(p, self.scale) - _transform(self.target_, self.scale)) / s

    def limits(self, denominator) -> dict[str, np.ndarray]:
        """Lower and upper limits (proportions) at each denominator, for each level.

        Keys are ``lower_95``, ``upper_95``, ``lower_998``, ``upper_998`` (for the
        default levels).
        """
        n = np.asarray(denominator, dtype=float)
        s = _standard_error(n, self.target_, self.scale)
        if self.overdispersion == "multiplicative":
            spread = s * np.sqrt(max(self.phi_, 1.0)) if np.isfinite(self.phi_) else s
        else:
            spread = np.sqrt(s * s + self.tau2_)
        centre = _transform(self.target_, self.scale)
        out = {}
        for level in self.confidence_levels:
            z = z_for(level)
            suffix = f"{level * 100:g}".replace(".", "")
            out[f"lower_{suffix}"] = _untransform(centre - z * spread, self.scale)
            out[f"upper_{suffix}"] = _untransform(centre + z * spread, self.scale)
        return out

    def assess(self, numerator, denominator) -> dict[str, np.ndarray]:
        """Each service's proportion, its limits and a plain-English flag.

        Returns ``proportion``, the limit arrays of :meth:`limits`, ``z`` (adjusted for
        over-dispersion), and ``flag`` (one of :data:`FLAGS`; empty where there are no
        responses). A service exactly on a limit counts as within it.
        """
        x = np.asarray(numerator, dtype=float)
        n = np.asarray(denominator, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(n > 0, x / n, np.nan)
        lim = self.limits(n)
        levels = sorted(self.confidence_levels)
        inner = f"{levels[0] * 100:g}".replace(".", "")
        outer = f"{levels[-1] * 100:g}".replace(".", "")
        flag = np.full(p.shape, FLAGS[2], dtype=object)
        flag[p > lim[f"upper_{inner}"]] = FLAGS[1]
        flag[p > lim[f"upper_{outer}"]] = FLAGS[0]
        flag[p < lim[f"lower_{inner}"]] = FLAGS[3]
        flag[p < lim[f"lower_{outer}"]] = FLAGS[4]
        flag[~(n > 0)] = ""
        z = self.z_scores(x, n)
        s = _standard_error(n, self.target_, self.scale)
        if self.overdispersion == "multiplicative" and np.isfinite(self.phi_):
            z = z / np.sqrt(max(self.phi_, 1.0))
        elif self.overdispersion == "additive":
            with np.errstate(divide="ignore", invalid="ignore"):
                z = z * s / np.sqrt(s * s + self.tau2_)
        return {"proportion": p, **lim, "z": z, "flag": flag}
