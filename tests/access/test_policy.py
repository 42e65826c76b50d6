"""Prioritisation policies: reading, the clinical safeguard, ranking and explanations."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voices.access.policy import (
    Policy,
    SocialFactor,
    parse_policy,
    rank,
    read_policy,
    safeguard_breaches,
    safeguard_pairs,
)
from voices.access.snapshot import PRIORITIES
from voices.errors import ValidationError

from .conftest import snapshot_of

BASE = """\
name: Test policy
clinical_priorities:
  P1a: {rate: 4, head_start: 120}
  P1b: {rate: 3, head_start: 75}
  P2: {rate: 2, head_start: 45}
  P3: {rate: 1.5, head_start: 25}
  P4: {rate: 1, head_start: 10}
  P5: {rate: 0.5, head_start: 0}
  P6: {rate: 0.5, head_start: 0}
safeguard:
  min_extra_weeks: 13
  pairs:
    - {urgent: P2, other: P4, min_extra_weeks: 26}
"""


def test_the_example_policies_are_valid(policies_dir):
    names = {read_policy(p).name for p in policies_dir.glob("*.yaml")}
    assert names == {"Clinical priority, then longest wait", "Accumulating priority",
                     "Equity-weighted accumulating priority"}


def refused(text: str) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        parse_policy(textwrap.dedent(text), source="p.yaml")
    return excinfo.value


def test_a_p4_rate_above_p2_is_refused_at_its_key_and_line():
    error = refused(BASE.replace("P4: {rate: 1,", "P4: {rate: 2.5,"))
    keys = [(p.column, p.row) for p in error.problems]
    assert ("clinical_priorities.P4.rate", 7) in keys
    p4_p2 = next(p for p in error.problems if "ahead of a P2 pathway that has" in p.message
                 and p.column == "clinical_priorities.P4.rate")
    assert p4_p2.file == "p.yaml"
    assert "at least 26 weeks longer" in p4_p2.message
    assert p4_p2.expected == "a P4 rate of at most 2"


def test_social_factors_that_let_p4_overtake_p3_are_refused_at_the_factor():
    text = BASE + textwrap.dedent("""\
        social_factors:
          - name: deprived
            describe: most-deprived decile
            when: {imd_decile: [1]}
            rate_increase: 0.5
            applies_to: [P4]
          - name: carer
            describe: a carer
            when: {carer: true}
            rate_increase: 0.3
            applies_to: [P4]
        max_total_increase: 1.0
        """)
    error = refused(text)
    (problem,) = [p for p in error.problems if "P3 pathway" in p.message]
    assert problem.column == "social_factors[0].rate_increase"
    assert problem.row == 18
    assert "1.8 points a week" in problem.message
    # The same factors are fine once capped at 10%.
    parse_policy(text.replace("max_total_increase: 1.0", "max_total_increase: 0.1"))


def test_a_head_start_too_small_for_the_bound_is_refused():
    error = refused(BASE.replace("P2: {rate: 2, head_start: 45}", "P2: {rate: 2, head_start: 30}"))
    columns = {p.column for p in error.problems}
    assert columns == {"clinical_priorities.P2.head_start"}
    (problem,) = [p for p in error.problems if "a P4 pathway" in p.message]
    assert problem.expected == "a P2 head_start of at least 36"


_EXAMPLE = re.compile(r"a (P\w+) pathway(?: \(.*?\))? waiting (\d+) weeks? would be placed "
                      r"ahead of a (P\w+) pathway waiting (\d+(?:\.\d+)?) weeks?")


def _policy(rates, heads, bound, factors=(), cap=0.5, pairs=None):
    return Policy(name="p", rates=dict(zip(PRIORITIES, rates)),
                  head_starts=dict(zip(PRIORITIES, heads)), min_extra_weeks=bound,
                  pair_bounds=pairs or {}, social_factors=tuple(factors), max_total_increase=cap)


def _ahead(policy, a, b):
    """Is pathway a = (priority, decile, weeks) ranked ahead of pathway b?"""
    prio = np.array([PRIORITIES.index(a[0]), PRIORITIES.index(b[0])])
    attrs = {"imd_decile": np.array([a[1], b[1]], dtype=np.int8)}
    terms = policy.terms(prio, attrs)
    key = terms.order_key(np.array([a[2], b[2]], dtype=float))
    return key[0] > key[1] or (key[0] == key[1] and a[2] > b[2])


_DAYS_EXAMPLE = re.compile(r"a (P\w+) pathway(?: \(.*?\))? waiting (\d+) days? would be placed "
                           r"ahead of a (P\w+) pathway added today")


def _check_example(policy, message):
    """The worked example in a refusal names two pathways that really break the bound."""
    if match := _EXAMPLE.search(message):
        q, wq, p, wp = match.groups()
        wq, wp = float(wq), float(wp)
    else:
        q, days, p = _DAYS_EXAMPLE.search(message).groups()
        wq, wp = int(days) / 7, 0.0
    assert wq - wp < policy.bound(p, q)
    assert _ahead(policy, (q, 1, wq), (p, 9, wp))


def test_the_worked_example_in_a_refusal_really_breaks_the_safeguard():
    factor = SocialFactor("d", "most-deprived decile", {"imd_decile": (1,)}, 0.5, ("P4",))
    for heads in ([120, 75, 45, 25, 10, 0, 0], [120, 75, 45, 30, 10, 0, 0]):
        policy = _policy([4, 3, 2, 1.5, 1, 0.5, 0.5], heads, 13, [factor])
        messages = [m for _, m, _ in safeguard_breaches(policy)]
        assert messages
        for message in messages:
            _check_example(policy, message)
    faster = _policy([4, 3, 2, 1.5, 1.6, 0.5, 0.5], [120, 75, 45, 30, 10, 0, 0], 13)
    messages = [m for _, m, _ in safeguard_breaches(faster)]
    assert any("P4 pathways gain priority faster" in m and "P3 pathway" in m for m in messages)
    for message in messages:
        _check_example(faster, message)


rates_st = st.lists(st.floats(0.1, 5, allow_nan=False), min_size=7, max_size=7)
heads_st = st.lists(st.floats(0, 300, allow_nan=False), min_size=7, max_size=7)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rates=rates_st, heads=heads_st, bound=st.floats(0, 40), increase=st.floats(0.01, 0.5),
       applies=st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=7, unique=True),
       pairs=st.lists(st.tuples(st.integers(0, 19), st.floats(0, 20, allow_nan=False)),
                      max_size=3),
       data=st.data())
def test_the_safeguard_check_is_exact(rates, heads, bound, increase, applies, pairs, data):
    pair_list = safeguard_pairs()
    pair_bounds = {pair_list[i]: bound + extra for i, extra in pairs}
    factor = SocialFactor("d", "most-deprived decile", {"imd_decile": (1, 2)}, increase,
                          tuple(applies))
    policy = _policy(sorted(rates, reverse=True), sorted(heads, reverse=True), bound, [factor],
                     cap=0.5, pairs=pair_bounds)
    breaches = safeguard_breaches(policy)
    if breaches:
        # Every refusal carries an example that really breaks the bound ...
        for _, message, _ in breaches:
            if "For example" in message:
                _check_example(policy, message)
    else:
        # ... and an accepted policy is never broken, whatever the waits.
        for _ in range(40):
            p, q = data.draw(st.sampled_from(pair_list))
            wq = data.draw(st.floats(0, 2000, allow_nan=False))
            wp = data.draw(st.floats(0, 2000, allow_nan=False))
            dq = data.draw(st.sampled_from([0, 1, 5]))
            if _ahead(policy, (q, dq, wq), (p, 9, wp)):
                assert wq - wp >= policy.bound(p, q) - 1e-9


@pytest.mark.parametrize("change, key, fragment", [
    (lambda t: t + "colour: blue\n", "colour", "not a policy setting"),
    (lambda t: t.replace("  P6: {rate: 0.5, head_start: 0}\n", ""), "clinical_priorities.P6",
     "needs a rate"),
    (lambda t: t.replace("P3: {rate: 1.5,", "P3: {rate: -1,"), "clinical_priorities.P3.rate",
     "out of range"),
    (lambda t: t.replace("P3: {rate: 1.5,", "P3: {rate: fast,"), "clinical_priorities.P3.rate",
     "must be a number"),
    (lambda t: t.replace("min_extra_weeks: 13", "min_extra_weeks: soon"),
     "safeguard.min_extra_weeks", "must be a number"),
    (lambda t: t.replace("min_extra_weeks: 26}", "min_extra_weeks: 5}"),
     "safeguard.pairs[0].min_extra_weeks", "only make the safeguard stricter"),
    (lambda t: t.replace("{urgent: P2, other: P4", "{urgent: P4, other: P2"),
     "safeguard.pairs[0].urgent", "not more urgent"),
    (lambda t: t.replace("name: Test policy\n", ""), "name", "needs a name"),
    (lambda t: t + "social_factors:\n  - {name: e, when: {ethnic_category: [A]}, "
                   "rate_increase: 0.1}\n",
     "social_factors[0].when.ethnic_category", "cannot be used"),
    (lambda t: t + "social_factors:\n  - {name: e, when: {imd_decile: [1]}, "
                   "rate_increase: 0.9}\n",
     "social_factors[0].rate_increase", "out of range"),
    (lambda t: t + "social_factors:\n  - {name: e, when: {imd_decile: [0, 11]}, "
                   "rate_increase: 0.1}\n",
     "social_factors[0].when.imd_decile", "whole numbers from 1 to 10"),
])
def test_mistakes_are_refused_at_their_key(change, key, fragment):
    error = refused(change(BASE))
    matching = [p for p in error.problems if p.column == key]
    assert matching, [str(p) for p in error.problems]
    assert fragment in matching[0].message
    if key != "name":  # a key that is missing altogether has no line
        assert matching[0].row is not None


def test_yaml_syntax_errors_give_the_line():
    error = refused("name: x\nclinical_priorities: [\n  P1a: 1\n")
    assert error.row is not None and "not valid YAML" in error.message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_either_a_policy_or_a_validation_error(text):
    try:
        parse_policy(text)
    except ValidationError:
        pass


_yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 500), st.floats(allow_nan=True),
              st.text(max_size=8), st.sampled_from(PRIORITIES + ("never",))),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(
                                   ["rate", "head_start", "when", "imd_decile", "name",
                                    "rate_increase", "min_extra_weeks", "pairs", "urgent",
                                    "other", *PRIORITIES])), children, max_size=5)),
    max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional={
    "name": _yaml_values, "clinical_priorities": _yaml_values, "safeguard": _yaml_values,
    "social_factors": _yaml_values, "max_total_increase": _yaml_values}))
def test_any_structure_is_either_a_policy_or_a_validation_error(data):
    import yaml

    try:
        parse_policy(yaml.safe_dump(data))
    except ValidationError:
        pass


# --------------------------------------------------------------------------- ranking


def test_rank_explains_every_position_in_plain_words(policies_dir):
    policy = read_policy(policies_dir / "equity_weighted.yaml")
    snap = snapshot_of([
        {"pathway_id": "A", "clinical_priority": "P3", "weeks": 41, "imd_decile": 1,
         "learning_disability": "N", "interpreter_needed": "N"},
        {"pathway_id": "B", "clinical_priority": "P4", "weeks": 60, "imd_decile": 7,
         "learning_disability": "N", "interpreter_needed": "N"},
        {"pathway_id": "C", "clinical_priority": "P4", "weeks": 20, "imd_decile": None,
         "learning_disability": "Y", "interpreter_needed": "Y"},
    ])
    ranked = rank(snap, policy)
    by_id = {r["pathway_id"]: r for r in ranked.iter_rows(named=True)}
    assert by_id["A"]["explanation"] == (
        "P3; waiting 41 weeks; living in one of the 20% most deprived areas adds 10% to the "
        "rate at which priority grows; position 1 of 3")
    assert by_id["A"]["score"] == pytest.approx(30 + 1.5 * 1.1 * 41)
    assert by_id["B"]["explanation"] == "P4; waiting 60 weeks; position 2 of 3"
    assert by_id["C"]["explanation"] == (
        "P4; waiting 20 weeks; a learning disability or autism (10%) and needing an interpreter "
        "(5%) add to the rate at which priority grows; deprivation not known, so no increase "
        "for it; position 3 of 3")
    assert by_id["C"]["social_increase"] == pytest.approx(0.15)  # 10% + 5%, under the cap
    assert ranked["position"].to_list() == [1, 2, 3]


def test_unknown_values_never_earn_an_increase(policies_dir):
    policy = read_policy(policies_dir / "equity_weighted.yaml")
    snap = snapshot_of([{"clinical_priority": "P4", "weeks": 10}])
    assert rank(snap, policy)["social_increase"].item() == 0


def test_clinical_fifo_is_priority_then_longest_wait(policies_dir):
    policy = read_policy(policies_dir / "clinical_fifo.yaml")
    rng = np.random.default_rng(1)
    rows = [{"clinical_priority": rng.choice(PRIORITIES), "weeks": float(rng.integers(0, 700)),
             "treatment_function_code": rng.choice(["110", "120"])} for _ in range(300)]
    ranked = rank(snapshot_of(rows), policy)
    expected = ranked.sort(
        [pl.col("clinical_priority").cast(pl.String).replace_strict(
            {c: min(i, 5) for i, c in enumerate(PRIORITIES)}), "weeks_waited"],
        descending=[False, True], maintain_order=True)
    assert ranked["clinical_priority"].to_list() == expected["clinical_priority"].to_list()
    assert ranked["weeks_waited"].to_list() == expected["weeks_waited"].to_list()
    # Positions within each treatment function count 1, 2, 3 ...
    for _, group in ranked.group_by("treatment_function_code"):
        assert group["specialty_position"].to_list() == list(range(1, group.height + 1))


def test_positions_are_written_with_thousands_commas(policies_dir):
    policy = read_policy(policies_dir / "clinical_fifo.yaml")
    ranked = rank(snapshot_of([{"weeks": i % 50} for i in range(1200)]), policy)
    assert ranked["explanation"][-1].endswith("position 1,200 of 1,200")
    assert ranked["explanation"][998].endswith("position 999 of 1,200")
    assert ranked["explanation"][999].endswith("position 1,000 of 1,200")


def test_summary_states_the_rules(policies_dir):
    lines = read_policy(policies_dir / "equity_weighted.yaml").summary()
    assert "P2 (needs treatment within 1 month): starts with 55 points and gains 2 a week." \
        in lines
    assert any("at least 26 weeks longer" in line for line in lines)
    assert "Social increases together are capped at 20%." in lines


def test_an_accepted_policy_is_never_broken_on_a_real_ranking(policies_dir):
    policy = read_policy(policies_dir / "equity_weighted.yaml")
    rng = np.random.default_rng(7)
    rows = [{"clinical_priority": rng.choice(PRIORITIES[2:5]),
             "weeks": float(rng.integers(0, 200)), "imd_decile": int(rng.integers(1, 11)),
             "learning_disability": rng.choice(["Y", "N"]),
             "interpreter_needed": rng.choice(["Y", "N"])} for _ in range(400)]
    ranked = rank(snapshot_of(rows), policy)
    order = {c: i for i, c in enumerate(PRIORITIES)}
    records = ranked.select(pl.col("clinical_priority").cast(pl.String), "days_waited").rows()
    overtakes = 0
    for i, (prio_i, days_i) in enumerate(records):
        for prio_j, days_j in records[i + 1:]:
            if order[prio_i] > order[prio_j]:     # a less urgent pathway placed ahead
                overtakes += 1
                assert (days_i - days_j) / 7 >= policy.bound(prio_j, prio_i)
    assert overtakes > 0  # the policy does let long waiters go ahead, within the bound


def test_the_social_increase_is_capped(policies_dir):
    policy = read_policy(policies_dir / "equity_weighted.yaml")
    snap = snapshot_of([{"clinical_priority": "P4", "weeks": 5, "imd_decile": 2,
                         "learning_disability": "Y", "interpreter_needed": "Y"}])
    row = rank(snap, policy).row(0, named=True)
    assert row["social_increase"] == pytest.approx(0.20)
    assert "together capped at 20%" in row["explanation"]
