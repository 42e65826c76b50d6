"""Slope and relative index of inequality checked against PHE's published worked examples.

Source of every expected number below: the worked-examples vignette of the R package
PHEindicatormethods ("Worked examples for phe_sii function", Emma Clegg and Georgina
Anderson; the rendered ``inst/doc/WorkedExamples_phe_sii.html`` of version 2.x), run on
the package's own test data (``tests/testthat/LE_testdata.csv``, ``DSR_testdata.csv``
and ``NCMP_testdata.csv`` in ukhsa-collaboration/PHEindicatormethods), whose rows are
copied here. The point estimates are deterministic and must match to the printed
precision; the limits come from a simulation (1,000 draws for example 1, 100,000 for
examples 2 and 3), so ours can only agree within Monte-Carlo error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voices.errors import ValidationError
from voices.measure.inequality import (
    relative_rank,
    slope_index_batch,
    slope_index_of_inequality,
)

# --- Example 1: life expectancy, value_type 0 (normal), standard errors supplied -------
# LE_testdata.csv, Sex 1; columns Pop, LifeExp, SE for deciles 1 (most deprived) .. 10.
LIFE_EXPECTANCY = {
    "E06000001": (
        [13837, 14519, 14940, 14599, 12311, 13196, 13335, 13388, 13685, 11779],
        [70.56313911, 72.61347473, 75.06710359, 75.20662276, 76.23469045, 75.21801932,
         77.09240397, 79.84156222, 80.81329918, 82.73763832],
        [1.133868862, 1.020288759, 1.108685178, 1.485618539, 1.311653285, 1.169033147,
         1.306645801, 1.090905616, 0.979426096, 1.319452272],
        # published: sii, 95% lower, 95% upper, 99.8% lower, 99.8% upper
        (11.68886, 9.215442, 14.07460, 7.896985, 15.27278),
    ),
    "E06000002": (
        [21675, 20065, 19750, 24713, 20112, 19618, 22408, 19752, 18939, 19312],
        [70.54853186, 71.57155734, 72.48698671, 73.51985519, 73.14605425, 76.15898712,
         78.65444871, 80.56476961, 80.85486627, 79.9711253],
        [0.947488056, 1.043688022, 0.969320245, 1.023567868, 1.006757968, 0.906037647,
         0.724013864, 1.118131371, 0.848327099, 0.94159082],
        (12.54785, 10.579679, 14.57307, 9.433565, 15.43696),
    ),
    "E06000004": (
        [31147, 30866, 25433, 32212, 27863, 27336, 24888, 28320, 30546, 28027],
        [69.20108791, 74.21283732, 74.932479, 76.34881505, 78.68231391, 79.80919091,
         81.06231776, 81.52758251, 84.52806861, 82.36568616],
        [0.796193843, 0.821750976, 0.938102831, 0.662956404, 0.683456844, 0.840229937,
         1.014952532, 0.804054345, 0.705796375, 0.884730389],
        (14.85223, 13.029586, 16.66506, 11.542089, 17.22223),
    ),
}


@pytest.mark.parametrize("area", sorted(LIFE_EXPECTANCY))
def test_life_expectancy_sii_matches_phe_vignette(area):
    pop, value, se, expected = LIFE_EXPECTANCY[area]
    sii, lo95, hi95, lo998, hi998 = expected
    r95 = slope_index_of_inequality(value, pop, standard_error=se, confidence=0.95)
    r998 = slope_index_of_inequality(value, pop, standard_error=se, confidence=0.998)
    assert r95.sii == pytest.approx(sii, abs=5e-5)
    # The published limits used only 1,000 draws: allow their Monte-Carlo error.
    assert r95.sii_lower == pytest.approx(lo95, abs=0.25)
    assert r95.sii_upper == pytest.approx(hi95, abs=0.25)
    assert r998.sii_lower == pytest.approx(lo998, abs=0.6)
    assert r998.sii_upper == pytest.approx(hi998, abs=0.6)


# --- Example 2: directly standardised rates, value_type 1, transform = TRUE, RII -------
# DSR_testdata.csv: Quintile 1..5, total_pop, value, lowercl, uppercl.
DSR = {
    2010: (
        [1434002, 1450590, 1453827, 1440980, 1457780],
        [150.2200205, 131.0221747, 127.4954973, 130.494241, 135.4664241],
        [147.3194185, 128.3676972, 125.0421198, 128.2469515, 133.2469515],
        [153.1498241, 133.7051129, 129.975513, 132.7657553, 137.8657553],
        # published: sii, rii, sii_lower, sii_upper, rii_lower, rii_upper
        (-14.03684, 0.9010655, -17.95990, -10.126662, 0.8752420, 0.9275826),
    ),
    2015: (
        [1508923, 1538008, 1538564, 1509602, 1457780],
        [143.8177637, 127.2058426, 122.4106945, 126.3922397, 135.4664241],
        [141.0941843, 124.7351196, 120.1654081, 124.3450367, 133.2469515],
        [146.568661, 129.7026732, 124.6801651, 128.4613495, 137.8657553],
        (-8.53077, 0.9368534, -12.23824, -4.816133, 0.9106841, 0.9638401),
    ),
}


@pytest.mark.parametrize("period", sorted(DSR))
def test_rate_sii_and_rii_with_log_transform_match_phe_vignette(period):
    pop, value, lower, upper, expected = DSR[period]
    sii, rii, sii_lo, sii_hi, rii_lo, rii_hi = expected
    r = slope_index_of_inequality(value, pop, value_lower=lower, value_upper=upper,
                                  kind="rate", transform=True)
    assert r.sii == pytest.approx(sii, abs=5e-5)
    assert r.rii == pytest.approx(rii, abs=5e-7)
    assert r.sii_lower == pytest.approx(sii_lo, abs=0.05)
    assert r.sii_upper == pytest.approx(sii_hi, abs=0.05)
    assert r.rii_lower == pytest.approx(rii_lo, abs=5e-4)
    assert r.rii_upper == pytest.approx(rii_hi, abs=5e-4)


# --- Example 3: prevalence (proportion), value_type 2, transform = TRUE, multiplier -100
# NCMP_testdata.csv, Period 607, AreaCode E92000001; Measured, Rate, LCL, UCL (percent).
NCMP = {
    "6": (
        [34353, 32112, 27715, 25372, 23889, 23260, 23180, 24193, 23609, 24488],
        [21.2121212121212, 21.4281265570503, 20.4077214504781, 19.1865048084503,
         17.4808489262841, 16.6638005159071, 15.6039689387403, 14.6571322283305,
         14.0370197805921, 12.0875530872264],
        [20.7830499225555, 20.9827711465288, 19.9373517258999, 18.7066648694241,
         17.0044640703038, 16.190410576997, 15.1425075468518, 14.2170753783533,
         13.5997670936376, 11.6852009907382],
        [21.6476300812899, 21.8803170788612, 20.8862933590925, 19.675673996565,
         17.9676905527535, 17.148199783417, 16.0768288675927, 15.1084110529924,
         14.4859737537153, 12.5017980504761],
        (10.964626, 10.442276, 11.487365),
    ),
    "R": (
        [36111, 31803, 26681, 24184, 23023, 21506, 22197, 23679, 23271, 23464],
        [12.0794217828363, 11.7410307203723, 11.3638919080994, 10.5896460469732,
         10.0073839204274, 9.41132707151493, 8.730909582376, 8.36606275602855,
         7.97559193846418, 6.96812137742925],
        [11.7473271937339, 11.3918517825361, 10.9886239767609, 10.2080757108839,
         9.62638859468932, 9.02830437346462, 8.36665612937408, 8.02012076260088,
         7.63441201710209, 6.64933849950753],
        [12.4195834343315, 12.0994510822713, 11.7502836842961, 10.9837345114021,
         10.4017228033421, 9.80884729303046, 9.10944479237356, 8.72551115710111,
         8.33064392278473, 7.30099206057122],
        (5.970062, 5.549097, 6.393890),
    ),
}


@pytest.mark.parametrize("school_year", sorted(NCMP))
def test_proportion_sii_with_logit_transform_matches_phe_vignette(school_year):
    pop, rate, lcl, ucl, expected = NCMP[school_year]
    sii, lo, hi = expected
    r = slope_index_of_inequality(np.array(rate) / 100, pop, value_lower=np.array(lcl) / 100,
                                  value_upper=np.array(ucl) / 100, kind="proportion",
                                  transform=True)
    # The vignette used multiplier = -100, which scales by -100 and swaps the limits.
    assert -100 * r.sii == pytest.approx(sii, abs=5e-6)
    assert -100 * r.sii_upper == pytest.approx(lo, abs=0.01)
    assert -100 * r.sii_lower == pytest.approx(hi, abs=0.01)


def test_relative_rank_is_cumulative_midpoint_from_phe_documentation():
    # phe_sii docs: a decile with 12% of the population gets 0.06, the next with 10% 0.17.
    ranks = relative_rank([12, 10, 78])
    assert ranks[:2] == pytest.approx([0.06, 0.17])


def _brute_force_phe_sii(values, pop, se, kind, sims, rng, confidence=0.95):
    """A direct transcription of phe_sii's method (transform = FALSE): draw every group,
    back-transform, refit the weighted line with a general least-squares solver."""
    a = np.asarray(pop, float) / np.sum(pop)
    b = np.cumsum(a) - a / 2
    X = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    model = np.log(values) if kind == "rate" else np.log(values / (1 - values))
    draws = rng.normal(model, se, size=(sims, len(values)))
    back = np.exp(draws) if kind == "rate" else 1 / (1 + np.exp(-draws))
    coefs = np.linalg.lstsq(X, (back * np.sqrt(a)).T, rcond=None)[0]
    slopes = np.sort(coefs[1])
    upper_p = confidence + (1 - confidence) / 2
    point = np.linalg.lstsq(X, np.asarray(values) * np.sqrt(a), rcond=None)[0][1]
    return point, slopes[round(sims * (1 - upper_p)) - 1], slopes[round(sims * upper_p) - 1]


def test_untransformed_proportion_matches_direct_simulation():
    pop, rate, lcl, ucl, _ = NCMP["R"]
    value = np.array(rate) / 100
    se = (np.log(np.array(ucl) / (100 - np.array(ucl)))
          - np.log(np.array(lcl) / (100 - np.array(lcl)))) / (2 * 1.959963984540054)
    point, lo, hi = _brute_force_phe_sii(value, pop, se, "proportion", 100_000,
                                         np.random.default_rng(99))
    r = slope_index_of_inequality(value, pop, standard_error=se, kind="proportion",
                                  transform=False)
    assert r.sii == pytest.approx(point, rel=1e-9)
    assert r.sii_lower == pytest.approx(lo, abs=5e-4)
    assert r.sii_upper == pytest.approx(hi, abs=5e-4)


def test_batch_gives_each_row_the_single_answer():
    pops, values, ses = zip(*[v[:3] for v in LIFE_EXPECTANCY.values()])
    batch = slope_index_batch(np.array(values), np.array(pops), standard_error=np.array(ses))
    for i, (pop, value, se) in enumerate(zip(pops, values, ses)):
        one = slope_index_of_inequality(value, pop, standard_error=se)
        assert batch["sii"][i] == pytest.approx(one.sii)
        assert batch["rii"][i] == pytest.approx(one.rii)


def test_same_seed_same_interval_and_no_limits_without_uncertainty():
    pop, value, se, _ = LIFE_EXPECTANCY["E06000001"]
    a = slope_index_of_inequality(value, pop, standard_error=se, seed=7)
    b = slope_index_of_inequality(value, pop, standard_error=se, seed=7)
    assert a == b
    bare = slope_index_of_inequality(value, pop)
    assert bare.sii == pytest.approx(a.sii) and np.isnan(bare.sii_lower)


def test_group_with_no_population_is_refused_for_that_set_only():
    values = np.array([[0.5, 0.6, 0.7, 0.8, 0.9], [0.5, 0.6, 0.7, 0.8, 0.9]])
    pop = np.array([[10, 10, 10, 10, 10], [10, 0, 10, 10, 10]])
    out = slope_index_batch(values, pop, standard_error=np.full((2, 5), 0.05),
                            simulations=1000)
    assert out["valid"].tolist() == [True, False]
    assert np.isfinite(out["sii"][0]) and np.isnan(out["sii"][1])
    one = slope_index_of_inequality(values[1], pop[1], standard_error=[0.05] * 5,
                                    simulations=1000)
    assert one.reason is not None and np.isnan(one.sii)


def test_bad_options_are_refused():
    with pytest.raises(ValidationError):
        slope_index_of_inequality([1, 2, 3], [1, 1, 1], kind="odds")
    with pytest.raises(ValidationError):
        slope_index_of_inequality([1, 2, 3], [1, 1, 1], simulations=10)
    with pytest.raises(ValidationError):
        slope_index_of_inequality([1, 2, 3], [1, 1])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 10_000), min_size=3, max_size=10),
       st.floats(-5, 5), st.floats(-50, 50))
def test_exact_straight_line_is_recovered(pop, slope, intercept):
    # If every group sits exactly on a line in relative rank, that line's slope is the
    # SII and its ends give the RII, whatever the population sizes.
    rank = relative_rank(pop)
    value = intercept + slope * rank
    r = slope_index_of_inequality(value, pop)
    assert r.sii == pytest.approx(slope, abs=1e-8)
    assert r.intercept == pytest.approx(intercept, abs=1e-8)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=5, max_size=10), st.floats(0.5, 3))
def test_reversing_the_order_reverses_the_slope(pop, noise):
    rng = np.random.default_rng(len(pop))
    value = 50 + rng.normal(0, noise, len(pop))
    forward = slope_index_of_inequality(value, pop)
    backward = slope_index_of_inequality(value[::-1], pop[::-1])
    assert backward.sii == pytest.approx(-forward.sii, abs=1e-8)
