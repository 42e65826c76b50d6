"""The sign-up questions: which apply when, and how each answer is checked."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voices.errors import ValidationError
from voices.involve import questions as q
from voices.involve.consent import ConsentEvent, current, is_given


def _form(**values):
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


def test_every_equality_question_offers_prefer_not_to_say_and_says_why():
    equality = [x for x in q.QUESTIONS if x.section == "equality"]
    assert {x.key for x in equality} == {"age_band", "sex", "ethnic_category", "disability",
                                         "carer", "area"}
    for question in equality:
        assert question.prefer_not and question.why_we_ask
        form = _form(**{question.key: "prefer_not_to_say"}) if question.kind == "radios" \
            else _form(**{f"{question.key}_prefer_not": "yes"})
        assert q.parse_answer(question, form) == {question.key: q.PREFER_NOT}


def test_equality_questions_are_asked_only_with_consent():
    keys = [x.key for x in q.questions_for({"consent_equality": "no"})]
    assert "age_band" not in keys and "area" not in keys
    keys = [x.key for x in q.questions_for({"consent_equality": "yes"})]
    assert {"age_band", "sex", "ethnic_category", "disability", "carer", "area"} <= set(keys)


def test_phone_and_address_follow_the_contact_method():
    assert q.next_question({"name": "A", "email": "a@b.co", "contact_method": "text"}).key \
        == "phone"
    assert q.next_question({"name": "A", "email": "a@b.co", "contact_method": "post"}).key \
        == "postal_address"
    answers = {"name": "A", "email": "a@b.co", "contact_method": "email",
               "phone": "07700900982"}
    assert "phone" not in q.relevant_answers(answers)      # stale answers are dropped


def test_meeting_needs_are_asked_only_of_people_who_meet_in_person():
    assert "venue_needs" in [x.key for x in q.questions_for({"formats": ["in_person"]})]
    assert "venue_needs" not in [x.key for x in q.questions_for({"formats": ["online"]})]


def test_required_answers_are_refused_with_the_field_named():
    for key in ("name", "email", "contact_method", "conditions", "formats", "consent_contact"):
        with pytest.raises(ValidationError) as caught:
            q.parse_answer(q.BY_KEY[key], {})
        assert caught.value.column == key and caught.value.code == "required"


def test_choices_outside_the_list_are_refused():
    with pytest.raises(ValidationError) as caught:
        q.parse_answer(q.BY_KEY["sex"], _form(sex="3"))
    assert caught.value.code == "invalid_choice" and caught.value.column == "sex"
    with pytest.raises(ValidationError):
        q.parse_answer(q.BY_KEY["interests"], _form(interests=["waiting", "<script>"]))


def test_none_of_these_cannot_be_ticked_with_other_answers():
    question = q.BY_KEY["conditions"]
    with pytest.raises(ValidationError) as caught:
        q.parse_answer(question, _form(conditions=["none", "diabetes"]))
    assert caught.value.code == "exclusive_choice"
    assert q.parse_answer(question, _form(conditions=["none"])) == \
        {"conditions": [], "conditions_other": ""}
    # something else, typed in, is an answer on its own
    assert q.parse_answer(question, _form(conditions_other="Lupus")) == \
        {"conditions": [], "conditions_other": "Lupus"}


def test_checkbox_answers_keep_the_lists_order_and_drop_repeats():
    answer = q.parse_answer(q.BY_KEY["times"], _form(times=["weekend", "weekday_morning",
                                                            "weekend"]))
    assert answer == {"times": ["weekday_morning", "weekend"]}


def test_emails_are_normalised_and_bad_ones_refused():
    assert q.parse_answer(q.BY_KEY["email"], _form(email=" Ann@Example.COM ")) == \
        {"email": "ann@example.com"}
    with pytest.raises(ValidationError) as caught:
        q.parse_answer(q.BY_KEY["email"], _form(email="ann at example"))
    assert caught.value.code == "invalid_email"


@pytest.mark.parametrize("typed, stored", [
    ("07700 900982", "07700900982"), ("+44 7700 900982", "07700900982"),
    ("(0113) 496-0000", "01134960000"), ("0044 113 496 0000", "01134960000")])
def test_uk_phone_numbers_are_stored_in_one_shape(typed, stored):
    assert q.normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "07700 90098", "+1 202 555 0100", "phone me"])
def test_other_phone_numbers_are_refused(typed):
    with pytest.raises(ValidationError) as caught:
        q.normalise_phone(typed)
    assert caught.value.column == "phone"


def test_only_the_first_half_of_a_postcode_is_kept():
    area = q.BY_KEY["area"]
    assert q.parse_answer(area, _form(area="ls12 4ab")) == {"area": "LS12"}
    assert q.parse_answer(area, _form(area="NE1")) == {"area": "NE1"}
    assert q.parse_answer(area, _form(area="e01000001")) == {"area": "E01000001"}
    with pytest.raises(ValidationError) as caught:
        q.parse_answer(area, _form(area="Leeds"))
    assert caught.value.code == "invalid_postcode"


@given(st.text(max_size=20))
def test_area_parser_keeps_a_district_or_lsoa_or_refuses(text):
    try:
        place = q.parse_area(text)
    except ValidationError as exc:
        assert exc.column == "area"
        return
    kept = place["lsoa"] or place["postcode_district"]
    assert re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?|[EW]01[0-9]{6}", kept)
    # never more than the first half: a whole postcode never survives
    assert len(kept) <= 9 and " " not in kept


@given(st.dictionaries(st.sampled_from([x.key for x in q.QUESTIONS] + ["conditions_other",
                                        "area_prefer_not", "evil"]),
                       st.lists(st.text(max_size=30), max_size=4), max_size=6),
       st.sampled_from(q.QUESTIONS))
def test_any_form_gives_an_answer_or_a_located_error(form, question):
    try:
        answer = q.parse_answer(question, form)
    except ValidationError as exc:
        assert exc.column in (question.key, question.other_field)
        return
    assert question.key in answer
    value = answer[question.key]
    if question.kind == "checkboxes":
        assert set(value) <= set(question.options)
    elif question.kind == "radios":
        assert value in set(question.options) | {q.PREFER_NOT}
    else:
        assert isinstance(value, str) and len(value) <= question.max_length
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value)


def test_answers_read_back_in_words():
    answers = {"conditions": ["diabetes"], "conditions_other": "Lupus", "sex": "prefer_not_to_say",
               "adjustments": ""}
    assert q.display_answer(q.BY_KEY["conditions"], answers) == "Diabetes, Lupus"
    assert q.display_answer(q.BY_KEY["sex"], answers) == "Prefer not to say"
    assert q.display_answer(q.BY_KEY["adjustments"], answers) == "Nothing to add"
    assert q.display_answer(q.BY_KEY["interests"], answers) == "Not answered"


def test_the_latest_consent_answer_counts(utc=None):
    import datetime as dt

    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    events = [ConsentEvent("matching", True, "m-1", t0),
              ConsentEvent("matching", False, "m-1", t0 + dt.timedelta(days=3)),
              ConsentEvent("contact", True, "c-1", t0 + dt.timedelta(days=1))]
    assert not is_given(events, "matching") and is_given(events, "contact")
    assert current(reversed(events))["matching"].given is False
    assert current(events)["equality"] is None
