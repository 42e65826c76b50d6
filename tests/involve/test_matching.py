"""Ranking interested partners for an opportunity, with the reasons for each rank."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from voices.involve import questions as q
from voices.involve.matching import WEIGHTS, OpportunityNeeds, PartnerProfile, rank, score

T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)

CHECK = OpportunityNeeds(conditions=frozenset({"diabetes", "kidney"}),
                         services=frozenset({"outpatient"}), carers=True,
                         topics=frozenset({"waiting"}),
                         formats=frozenset({"in_person"}),
                         venue_provides=frozenset({"step_free", "hearing_loop"}),
                         times=frozenset({"weekday_evening"}), hours_per_month=4.0)


def profile(**kw) -> PartnerProfile:
    base = dict(formats=frozenset({"in_person"}), times=frozenset({"weekday_evening"}),
                availability="5_to_10")
    base.update({k: frozenset(v) if isinstance(v, (set, list)) else v for k, v in kw.items()})
    return PartnerProfile(**base)


def test_weights_add_up_to_one():
    assert abs(sum(WEIGHTS.values()) - 1.0) < 1e-12


def test_a_worked_example_by_hand():
    # experience: diabetes and a carer = 2 of the 4 areas asked for -> 0.5
    # access: in person, needs step-free (met) and a quiet space (not met) -> 1 - 0.5*1/2
    # availability: free on weekday evenings (1), 2 of 4 hours a month -> 0.5*1 + 0.5*0.5
    # interest: wants to improve waiting -> 1
    p = profile(conditions={"diabetes"}, caring_role="adult", interests={"waiting"},
                venue_needs={"step_free", "quiet_space"}, availability="up_to_2")
    match = score(p, CHECK)
    assert match.parts == {"experience": 0.5, "access": 0.75, "availability": 0.75,
                           "interest": 1.0}
    assert abs(match.score - 100 * (0.45 * 0.5 + 0.30 * 0.75 + 0.15 * 0.75 + 0.10)) < 1e-9
    texts = " | ".join(r.text for r in match.reasons)
    assert "Experience of diabetes; is a carer (2 of the 4 areas you asked for)" in texts
    assert "Needs a quiet space to take a break, which the venue does not have" in texts
    assert "The venue has the step-free access they need" in texts
    assert "Can give about 2 hours a month; this needs 4" in texts
    assert {r.good for r in match.reasons if "quiet space" in r.text} == {False}


def test_no_way_to_take_part_means_no_access_and_says_so():
    match = score(profile(formats={"online"}, conditions={"diabetes", "kidney"}), CHECK)
    assert match.parts["access"] == 0.0
    assert any(r.criterion == "access" and r.good is False and "Cannot take part by meeting "
               "in person" in r.text for r in match.reasons)


def test_venue_needs_do_not_count_when_they_can_join_another_way():
    both = OpportunityNeeds(formats=frozenset({"in_person", "online"}))
    match = score(profile(formats={"online", "in_person"}, venue_needs={"bsl"}), both)
    assert match.parts["access"] == 1.0
    assert any("Can take part by video call" in r.text for r in match.reasons)


def test_without_matching_consent_nothing_is_used():
    match = score(profile(conditions={"diabetes"}, matching_consent=False), CHECK)
    assert match.score is None and match.parts == {}
    assert [r.criterion for r in match.reasons] == ["consent"]


def test_an_opportunity_asking_for_nothing_in_particular_suits_everyone_on_experience():
    open_call = OpportunityNeeds(formats=frozenset({"in_person"}))
    assert score(profile(), open_call).parts["experience"] == 1.0


def test_more_of_the_asked_for_experience_never_lowers_the_score():
    fewer = score(profile(conditions={"diabetes"}), CHECK).score
    more = score(profile(conditions={"diabetes", "kidney"}), CHECK).score
    assert more > fewer


def test_ranking_orders_by_score_then_by_who_asked_first_and_ties_share_a_rank():
    a = profile(conditions={"diabetes", "kidney"}, services_used={"outpatient"})  # higher
    b = profile(conditions={"diabetes"})
    c = profile(conditions={"diabetes"})
    d = profile(conditions={"kidney"}, matching_consent=False)
    ranked = rank([("b", b, T0), ("c", c, T0 + dt.timedelta(hours=1)), ("a", a, T0),
                   ("d", d, T0 - dt.timedelta(days=1))], CHECK)
    assert [r.key for r in ranked] == ["a", "b", "c", "d"]
    assert [r.rank for r in ranked] == [1, 2, 2, None]


profiles = st.builds(
    PartnerProfile,
    conditions=st.frozensets(st.sampled_from(list(q.CONDITIONS))),
    services_used=st.frozensets(st.sampled_from(list(q.SERVICES_USED))),
    caring_role=st.sampled_from(list(q.CARING_ROLES) + [None]),
    interests=st.frozensets(st.sampled_from(list(q.INTERESTS))),
    formats=st.frozensets(st.sampled_from(list(q.FORMATS))),
    venue_needs=st.frozensets(st.sampled_from(list(q.VENUE_NEEDS))),
    times=st.frozensets(st.sampled_from(list(q.TIMES))),
    availability=st.sampled_from(list(q.AVAILABILITY) + [None]),
    matching_consent=st.booleans())
needs = st.builds(
    OpportunityNeeds,
    conditions=st.frozensets(st.sampled_from(list(q.CONDITIONS))),
    services=st.frozensets(st.sampled_from(list(q.SERVICES_USED))),
    carers=st.booleans(), topics=st.frozensets(st.sampled_from(list(q.INTERESTS))),
    formats=st.frozensets(st.sampled_from(list(q.FORMATS)), min_size=1),
    venue_provides=st.frozensets(st.sampled_from(list(q.VENUE_NEEDS))),
    times=st.frozensets(st.sampled_from(list(q.TIMES))),
    hours_per_month=st.one_of(st.none(), st.floats(0.5, 40)))


@given(profiles, needs)
def test_scores_are_between_0_and_100_and_every_criterion_gives_reasons(p, o):
    match = score(p, o)
    if not p.matching_consent:
        assert match.score is None
        return
    assert 0.0 <= match.score <= 100.0
    assert all(0.0 <= v <= 1.0 for v in match.parts.values())
    assert abs(match.score - 100 * sum(WEIGHTS[k] * v for k, v in match.parts.items())) < 1e-6
    assert any(r.criterion == "access" for r in match.reasons)
    if o.experience_areas():
        assert any(r.criterion == "experience" for r in match.reasons)


@settings(max_examples=40)
@given(st.lists(profiles, min_size=1, max_size=12), needs)
def test_ranking_is_sorted_and_keeps_everyone(people, o):
    ranked = rank([(i, p, T0 + dt.timedelta(minutes=i)) for i, p in enumerate(people)], o)
    assert sorted(r.key for r in ranked) == list(range(len(people)))
    scores = [r.match.score for r in ranked if r.match.score is not None]
    assert scores == sorted(scores, reverse=True)
    unscored = [r for r in ranked if r.match.score is None]
    assert ranked[len(ranked) - len(unscored):] == unscored
