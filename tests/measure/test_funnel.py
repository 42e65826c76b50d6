"""Funnel-plot limits against PHE's published test outputs and hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from voices.errors import ValidationError
from voices.measure.funnel import (
    FLAGS,
    ProportionFunnel,
    between_variance,
    dispersion_ratio,
    winsorise,
)

# PHEindicatormethods, tests/testthat/testdata_funnel_prop_outputs.csv (proportion funnels,
# baseline 80.642448%): population, 95% lower, 95% upper, 99.8% lower, 99.8% upper.
PHE_PROPORTION_LIMITS = [
    (1, 3.204264, 100, 0, 100),
    (18, 62.390093, 98.894803, 51.864359, 100),
    (41, 68.548635, 92.73626, 61.574398, 99.710497),
    (50, 69.691035, 91.593861, 63.375595, 97.909301),
    (1008, 78.203374, 83.081521, 76.796814, 84.488082),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]


@pytest.mark.parametrize("n, lo95, hi95, lo998, hi998", PHE_PROPORTION_LIMITS)
def test_unadjusted_limits_match_phe_published_outputs(n, lo95, hi95, lo998, hi998):
    funnel = ProportionFunnel(overdispersion="none", scale="identity", target=0.80642448)
    funnel.fit([10], [20])
    lim = funnel.limits(n)
    assert 100 * lim["lower_95"] == pytest.approx(lo95, abs=2e-6)
    assert 100 * lim["upper_95"] == pytest.approx(hi95, abs=2e-6)
    assert 100 * lim["lower_998"] == pytest.approx(lo998, abs=2e-6)
    assert 100 * lim["upper_998"] == pytest.approx(hi998, abs=2e-6)


# A small set of services, worked by hand below (Spiegelhalter 2005; FunnelPlotR).
X = np.array([40, 95, 130, 310, 180, 260, 75, 402, 150, 88], dtype=float)
N = np.array([50, 120, 150, 400, 200, 300, 100, 500, 170, 120], dtype=float)


def _by_hand():
    target = X.sum() / N.sum()
    s = 1 / (2 * np.sqrt(N))
    z = (np.arcsin(np.sqrt(X / N)) - np.arcsin(np.sqrt(target))) / s
    lo, hi = np.quantile(z, [0.1, 0.9])        # R's default quantile, type 7
    zw = np.minimum(np.maximum(z, lo), hi)
    phi = np.mean(zw ** 2)
    w = 1 / s ** 2
    tau2 = (len(N) * phi - (len(N) - 1)) / (w.sum() - (w ** 2).sum() / w.sum())
    return target, s, z, phi, max(tau2, 0.0)


def test_additive_overdispersion_on_arcsine_scale_by_hand():
    target, s, z, phi, tau2 = _by_hand()
    funnel = ProportionFunnel(overdispersion="additive", scale="arcsine").fit(X, N)
    assert funnel.target_ == pytest.approx(target)
    assert funnel.z_ == pytest.approx(z)
    assert funnel.phi_ == pytest.approx(phi)
    assert tau2 > 0 and funnel.tau2_ == pytest.approx(tau2)
    lim = funnel.limits(N)
    centre = np.arcsin(np.sqrt(target))
    for level, zc in ((95, 1.959964), (998, 3.090232)):
        assert lim[f"lower_{level}"] == pytest.approx(
            np.sin(centre - zc * np.sqrt(s ** 2 + tau2)) ** 2, abs=1e-6)
        assert lim[f"upper_{level}"] == pytest.approx(
            np.sin(centre + zc * np.sqrt(s ** 2 + tau2)) ** 2, abs=1e-6)


def test_multiplicative_overdispersion_widens_by_root_phi():
    target, s, _, phi, _ = _by_hand()
    funnel = ProportionFunnel(overdispersion="multiplicative", scale="arcsine").fit(X, N)
    centre = np.arcsin(np.sqrt(target))
    lim = funnel.limits(N)
    assert phi > 1
    assert lim["upper_95"] == pytest.approx(
        np.sin(centre + 1.959964 * np.sqrt(phi) * s) ** 2, abs=1e-6)


def test_logit_scale_uses_binomial_standard_error_at_target():
    funnel = ProportionFunnel(overdispersion="none", scale="logit", target=0.8).fit(X, N)
    lim = funnel.limits(400)
    se = 1 / np.sqrt(400 * 0.8 * 0.2)
    assert lim["upper_95"] == pytest.approx(1 / (1 + np.exp(-(np.log(4) + 1.959964 * se))),
                                            abs=1e-6)


def test_flags_outliers_against_their_own_limits():
    x = np.array([90, 50, 60, 800, 20])
    n = np.array([100, 100, 100, 1000, 100])
    funnel = ProportionFunnel(overdispersion="none", scale="identity", target=0.6).fit(x, n)
    flags = funnel.assess(x, n)["flag"].tolist()
    assert flags == [FLAGS[0], FLAGS[3], FLAGS[2], FLAGS[0], FLAGS[4]]


def test_no_overdispersion_means_no_extra_variance():
    assert between_variance(0.8, np.full(10, 0.05)) == 0.0
    assert dispersion_ratio(winsorise(np.array([1.0, -1.0, 1.0, -1.0]))) == pytest.approx(1.0)


def test_services_without_responses_are_left_out_and_not_flagged():
    funnel = ProportionFunnel().fit([5, 0, 30], [10, 0, 40])
    result = funnel.assess([5, 0, 30], [10, 0, 40])
    assert result["flag"][1] == "" and np.isfinite(funnel.phi_)


def test_impossible_counts_are_refused():
    with pytest.raises(ValidationError):
        ProportionFunnel().fit([11], [10])
    with pytest.raises(ValidationError):
        ProportionFunnel(overdispersion="both").fit([1], [10])
