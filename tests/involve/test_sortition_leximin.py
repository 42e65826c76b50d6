"""LEXIMIN against its anchors: the Nature 2021 reference output, an independent maximin
LP, brute force on tiny pools, and the dual certificate of leximin optimality."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from tests.involve.sortition_helpers import (
    POOLS,
    all_panels,
    best_person_panel,
    independent_maximin,
    independent_type_maximin,
    lottery_chances,
    person_matrix,
    quota_bounds,
    relaxation_maximin,
)

from voices.errors import ValidationError
from voices.involve.sortition_leximin import Leximin
from voices.involve.sortition_pool import PanelProblem, Pool, Quotas, ValueQuota

# One worker runs this file, so the big pools are fitted once and shared (see fitted()).
pytestmark = pytest.mark.xdist_group("leximin")


def fit(pool, quotas, k, **options) -> Leximin:
    return Leximin(**options).fit(PanelProblem.from_pool(pool, quotas, k), quotas)


def check_distribution(model: Leximin, k: int) -> None:
    """Every panel meets every quota; chances add to k; weights add to 1."""
    dist = model.distribution_
    assert dist.problem.violations(dist.panels).sum() == 0
    assert abs(dist.weights.sum() - 1) < 1e-9
    assert (dist.weights > 0).all()
    assert abs(dist.probabilities.sum() - k) < 1e-9


def check_certificate(model: Leximin, pool, quotas, tolerance=1e-6) -> None:
    """Verify each stage's dual certificate with SciPy's own MILP over person panels.

    For stage s with duals y (lower rows) and w (cap rows) and bound mu: (1) no quota-
    meeting panel has person weight sum above mu; (2) y >= 0, w <= 0, y adds to 1 over the
    types not fixed before; (3) value = mu - sum_{fixed before} y_t f_t - cap sum w_t;
    (4) the lottery gives the types fixed at s exactly value and the others at least value.
    A stage at value 1 is certified by the bound itself (a chance is at most 1).
    Together these prove no lottery is leximin-better (see the module docstring).
    """
    problem = model.distribution_.problem
    counts = problem.counts
    matrix = person_matrix(pool, quotas)
    lower, upper = quota_bounds(quotas)
    chances = model.distribution_.type_probabilities
    fixed_before = np.zeros(problem.n_types, bool)
    levels = np.zeros(problem.n_types)
    cap = model.cap_ or 0.0
    for stage in model.stages_:
        y, w = stage.lower_duals, stage.cap_duals
        if stage.value >= 1 - 1e-9:  # nobody's chance can exceed 1: certified by the bound
            assert np.all(np.abs(chances[~fixed_before] - 1) < tolerance)
            assert set(stage.fixed) == set(np.flatnonzero(~fixed_before))
            fixed_before[:] = True
            continue
        person_weights = ((y + w) / counts)[problem.person_type]
        best, _ = best_person_panel(person_weights, matrix, lower, upper, problem.k)
        assert best <= stage.bound + tolerance
        assert (y >= -1e-9).all() and (w <= 1e-9).all()
        assert abs(y[~fixed_before].sum() - 1) < tolerance
        implied = stage.bound - (y * levels)[fixed_before].sum() - cap * w.sum()
        assert abs(implied - stage.value) < tolerance
        assert np.all(np.abs(chances[stage.fixed] - stage.value) < tolerance)
        assert (chances[~fixed_before] >= stage.value - tolerance).all()
        assert (y[stage.fixed] > 0).all()
        fixed_before[stage.fixed] = True
        levels[stage.fixed] = stage.value
    assert fixed_before.all()


@pytest.mark.parametrize("name", ["example_small_20", "example_large_200"])
def test_nature_examples_give_everyone_one_in_ten(name, sortition_pool, shared_data):
    pool, quotas = sortition_pool(name)
    model = fit(pool, quotas, POOLS[name])
    check_distribution(model, POOLS[name])
    chances = model.distribution_.probabilities
    assert np.all(np.abs(chances - 0.1) <= 1e-6)
    reference = shared_data / "sortition" / "nature2021_reference_output" / \
        f"{name}_prob_allocs_data.csv"
    with reference.open() as handle:
        published = [float(r["selection probability"]) for r in csv.DictReader(handle)
                     if r["algorithm"].lower() == "leximin"]
    assert len(published) == pool.n
    assert np.allclose(np.sort(chances), np.sort(published), atol=1e-6)


def test_nature_original_format_reads_the_same_pool(shared_data, sortition_pool):
    from voices.involve.sortition_csv import read_pool, read_quotas

    folder = shared_data / "sortition" / "nature2021_examples_original" / "example_small_20"
    quotas = read_quotas(folder / "categories.csv")
    pool = read_pool(folder / "respondents.csv", quotas)
    assert pool.ids[:3] == ("p0", "p1", "p2") and pool.n == 200
    model = fit(pool, quotas, 20)
    assert np.all(np.abs(model.distribution_.probabilities - 0.1) <= 1e-6)


def test_fixture_matches_independent_maximin_and_is_certified(sortition_pool):
    pool, quotas = sortition_pool("sa_fixture_150_k22")
    model = fit(pool, quotas, 22)
    check_distribution(model, 22)
    optimum = independent_maximin(pool, quotas, 22)
    assert abs(model.distribution_.probabilities.min() - optimum) < 1e-6
    assert abs(model.maximin_ - optimum) < 1e-6
    check_certificate(model, pool, quotas)


def test_seeded_run_is_bit_for_bit_reproducible(sortition_pool):
    pool, quotas = sortition_pool("sa_fixture_150_k22")
    first, second = fit(pool, quotas, 22), fit(pool, quotas, 22)
    assert first.distribution_.panels.tobytes() == second.distribution_.panels.tobytes()
    assert first.distribution_.weights.tobytes() == second.distribution_.weights.tobytes()


def test_auto_cap_lowers_the_top_and_keeps_the_minimum_within_ten_percent(sortition_pool):
    pool, quotas = sortition_pool("sa_fixture_150_k22")
    free = fit(pool, quotas, 22)
    capped = fit(pool, quotas, 22, cap="auto")
    check_distribution(capped, 22)
    chances = capped.distribution_.probabilities
    assert chances.min() >= 0.9 * free.maximin_ - 1e-9
    assert chances.max() <= capped.cap_ + 1e-9
    assert chances.max() < free.distribution_.probabilities.max() - 0.05
    check_certificate(capped, pool, quotas)


def test_a_cap_below_what_quotas_allow_is_refused(sortition_pool):
    pool, quotas = sortition_pool("sa_fixture_150_k22")
    with pytest.raises(ValidationError) as caught:
        fit(pool, quotas, 22, cap=0.1)
    assert caught.value.code == "cap_too_low"


_FITTED: dict[str, Leximin] = {}


def fitted(name, sortition_pool) -> Leximin:
    """LEXIMIN on a shared pool, fitted once per test process (a seeded run is
    reproducible, checked above, so sharing it between tests changes nothing)."""
    if name not in _FITTED:
        pool, quotas = sortition_pool(name)
        _FITTED[name] = fit(pool, quotas, POOLS[name])
    return _FITTED[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["synth_600_6f_k40_s7", "synth_2000_6f_k100"])
def test_synthetic_pool_is_certified_leximin(name, sortition_pool):
    """The first stage's certificate, checked with SciPy's own person-level MILP, proves
    that no lottery gives everyone more than the least chance found, and the later stages'
    certificates that the sorted chances are leximin-optimal."""
    pool, quotas = sortition_pool(name)
    model = fitted(name, sortition_pool)
    check_distribution(model, POOLS[name])
    assert abs(model.distribution_.probabilities.min() - model.stages_[0].value) < 1e-6
    check_certificate(model, pool, quotas)


@pytest.mark.parametrize("name", list(POOLS))
def test_least_chance_equals_the_optimal_maximin_of_an_independent_lp(name, sortition_pool):
    """On every shared pool, the least chance of Voices' lottery equals the optimum of an
    independent LP (SciPy, over people; see ``relaxation_maximin``). That LP bounds every
    lottery's least chance from above, and the lottery checked here (whole panels that meet
    every quota, chances recomputed by the test) reaches the bound, so the bound is the
    optimal maximin value and Voices' least chance is it, to 1e-9."""
    pool, quotas = sortition_pool(name)
    k = POOLS[name]
    model = fitted(name, sortition_pool)
    optimum = relaxation_maximin(pool, quotas, k)
    chances = lottery_chances(model.distribution_, pool, quotas, k)
    assert np.abs(chances - model.distribution_.probabilities).max() < 1e-12
    assert abs(chances.min() - optimum) < 1e-9
    assert abs(chances.sum() - k) < 1e-9


@pytest.mark.slow
def test_synthetic_pool_matches_an_independent_column_generation_maximin(sortition_pool):
    """A second, differently built independent maximin (SciPy column generation over the
    pool's types, about 11 s on synth_600) agrees with the LP bound and with Voices. On
    synth_2000 this program takes about 3 minutes, so that pool relies on the LP above."""
    name = "synth_600_6f_k40_s7"
    pool, quotas = sortition_pool(name)
    model = fitted(name, sortition_pool)
    optimum = independent_type_maximin(pool, quotas, POOLS[name])
    assert abs(model.distribution_.probabilities.min() - optimum) < 1e-6
    assert abs(relaxation_maximin(pool, quotas, POOLS[name]) - optimum) < 1e-6


def _tiny_pool(draw):
    n = draw(st.integers(4, 8))
    genders = draw(st.lists(st.sampled_from("ab"), min_size=n, max_size=n))
    ages = draw(st.lists(st.sampled_from("xyz"), min_size=n, max_size=n))
    k = draw(st.integers(1, n - 1))
    rows = []
    for feature, values in (("gender", "ab"), ("age", "xyz")):
        for value in values:
            low = draw(st.integers(0, 2))
            rows.append(ValueQuota(feature, value, low, low + draw(st.integers(0, k))))
    pool = Pool(ids=tuple(f"p{i}" for i in range(n)), features=("gender", "age"),
                values=tuple(zip(genders, ages, strict=True)))
    return pool, Quotas(tuple(rows)), k


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_tiny_pools_match_brute_force_leximin(data):
    """On tiny pools, list every panel and run leximin by plain LPs (SciPy) to compare."""
    pool, quotas, k = _tiny_pool(data.draw)
    panels = all_panels(pool, quotas, k)
    try:
        problem = PanelProblem.from_pool(pool, quotas, k)
    except ValidationError:
        return
    if not panels:
        with pytest.raises(ValidationError):
            Leximin().fit(problem, quotas)
        return
    model = Leximin().fit(problem, quotas)
    check_distribution(model, k)
    incidence = np.zeros((pool.n, len(panels)))
    for j, panel in enumerate(panels):
        incidence[list(panel), j] = 1
    fixed: dict[int, float] = {}
    while len(fixed) < pool.n:  # textbook leximin over the explicit panel list
        free = [i for i in range(pool.n) if i not in fixed]
        m = len(panels)
        c = np.concatenate([np.zeros(m), [-1.0]])
        a_ub = [np.concatenate([-incidence[i], [1.0]]) for i in free]
        b_ub = [0.0] * len(free)
        for i, level in fixed.items():
            a_ub.append(np.concatenate([-incidence[i], [0.0]]))
            b_ub.append(-level + 1e-9)
        result = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub,
                         A_eq=np.concatenate([np.ones(m), [0.0]])[None, :], b_eq=[1.0],
                         bounds=[(0, None)] * m + [(0, 1)], method="highs")
        z = -result.fun
        for i in free:  # fix everyone who cannot go above z
            c2 = np.zeros(m + 1)
            c2[:m] = -incidence[i]
            extra = linprog(c2, A_ub=np.array(a_ub), b_ub=b_ub,
                            A_eq=np.concatenate([np.ones(m), [0.0]])[None, :], b_eq=[1.0],
                            bounds=[(0, None)] * m + [(z - 1e-9, z - 1e-9)], method="highs")
            if -extra.fun <= z + 1e-7:
                fixed[i] = z
    expected = np.array([fixed[i] for i in range(pool.n)])
    assert np.allclose(model.distribution_.probabilities, expected, atol=1e-6)


def test_this_file_runs_on_one_worker_when_the_suite_runs_in_groups(request):
    """``make test`` runs ``--dist loadgroup`` so that this file's big fits are shared
    and the browser tests share one server; a pytest that drops the group (pytest 9.2 with
    pytest-xdist 3.8 did, silently) would double the slowest tests' cost."""
    if not getattr(request.config.option, "loadgroup", False):  # set on xdist's workers
        pytest.skip("not running under pytest-xdist's --dist loadgroup")
    assert request.node.nodeid.endswith("@leximin")
