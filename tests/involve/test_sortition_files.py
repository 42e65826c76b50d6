"""Reading and writing panel-lottery files, and refusing bad input with located errors."""

from __future__ import annotations

import pytest
from tests.involve.sortition_helpers import write

from voices.errors import ValidationError
from voices.involve.sortition_csv import (
    read_pool,
    read_quotas,
    write_pool,
    write_quotas,
)
from voices.involve.sortition_pool import PanelProblem
from voices.involve.sortition_solver import check_feasible, nearest_relaxation

FEATURES = "feature,value,min,max\ngender,f,1,2\ngender,m,1,2\nage,young,1,3\nage,old,0,3\n"
PEOPLE = "id,name,gender,age\n1,Ann,f,young\n2,Bo,m,old\n3,Cy,m,young\n4,Di,f,old\n"


def problems_of(error: ValidationError) -> list[tuple]:
    return [(p.row, p.column) for p in error.problems]


def test_round_trip_keeps_quotas_and_every_column(tmp_path):
    quotas = read_quotas(write(tmp_path / "features.csv", FEATURES))
    pool = read_pool(write(tmp_path / "people.csv", PEOPLE), quotas)
    assert quotas.features == ("gender", "age") and quotas.values_of("age") == ("young", "old")
    write_quotas(tmp_path / "again.csv", quotas)
    assert (tmp_path / "again.csv").read_text() == FEATURES
    write_pool(tmp_path / "selected.csv", pool, [1, 3])
    assert (tmp_path / "selected.csv").read_text() == "id,name,gender,age\n2,Bo,m,old\n4,Di,f,old\n"


def test_quota_file_errors_are_located(tmp_path):
    path = write(tmp_path / "features.csv",
                 "feature,value,min,max\ngender,f,3,1\ngender,m,x,2\ngender,f,0,1\n")
    with pytest.raises(ValidationError) as caught:
        read_quotas(path)
    found = problems_of(caught.value)
    assert (2, "min") in found  # min above max
    assert (3, "min") in found  # not a number
    assert (4, "value") in found  # listed twice
    assert all(p.file == str(path) for p in caught.value.problems)


def test_missing_quota_columns_are_refused(tmp_path):
    with pytest.raises(ValidationError) as caught:
        read_quotas(write(tmp_path / "f.csv", "name,low,high\ngender,1,2\n"))
    assert caught.value.row == 1 and "feature,value,min,max" in caught.value.expected


def test_pool_errors_are_located(tmp_path):
    quotas = read_quotas(write(tmp_path / "features.csv", FEATURES))
    people = write(tmp_path / "people.csv",
                   "id,gender,age\n1,f,young\n1,m,old\n3,x,young\n4,f,middle\n")
    pool = read_pool(people, quotas)
    with pytest.raises(ValidationError) as caught:
        PanelProblem.from_pool(pool, quotas, 2)
    found = problems_of(caught.value)
    assert (3, "id") in found  # duplicate id
    assert (4, "gender") in found  # unknown value
    assert (5, "age") in found
    assert all(p.file == str(people) for p in caught.value.problems if p.row)


@pytest.mark.parametrize("k", [0, 5, -1])
def test_panel_size_out_of_range(tmp_path, k):
    quotas = read_quotas(write(tmp_path / "features.csv", FEATURES))
    pool = read_pool(write(tmp_path / "people.csv", PEOPLE), quotas)
    with pytest.raises(ValidationError) as caught:
        PanelProblem.from_pool(pool, quotas, k)
    assert any(p.column == "k" for p in caught.value.problems)


def test_ragged_rows_and_missing_id_column(tmp_path):
    quotas = read_quotas(write(tmp_path / "features.csv", FEATURES))
    with pytest.raises(ValidationError) as caught:
        read_pool(write(tmp_path / "a.csv", "id,gender,age\n1,f\n"), quotas)
    assert caught.value.row == 2
    with pytest.raises(ValidationError) as caught:
        read_pool(write(tmp_path / "b.csv", "ref,gender,age\n1,f,young\n"), quotas)
    assert caught.value.column == "id"


def test_minimum_above_people_available_names_the_quota_row(tmp_path):
    quotas = read_quotas(write(tmp_path / "features.csv",
                               "feature,value,min,max\ngender,f,3,3\ngender,m,0,3\n"))
    pool = read_pool(write(tmp_path / "people.csv", "id,gender\n1,f\n2,m\n3,m\n"), quotas)
    with pytest.raises(ValidationError) as caught:
        PanelProblem.from_pool(pool, quotas, 3)
    assert (2, "min") in problems_of(caught.value)


def test_conflicting_quotas_name_values_and_the_nearest_fix(tmp_path):
    # every "f" is "young": 2 women needed but at most 1 young person allowed
    quotas = read_quotas(write(tmp_path / "features.csv",
                               "feature,value,min,max\ngender,f,2,2\ngender,m,0,2\n"
                               "age,young,0,1\nage,old,0,2\n"))
    pool = read_pool(write(tmp_path / "people.csv",
                           "id,gender,age\n1,f,young\n2,f,young\n3,m,old\n4,m,old\n"), quotas)
    problem = PanelProblem.from_pool(pool, quotas, 2)
    with pytest.raises(ValidationError) as caught:
        check_feasible(problem, quotas)
    error = caught.value
    assert error.code == "infeasible_quotas"
    assert "gender=f" in error.message or "age=young" in error.message
    relaxation = nearest_relaxation(problem)
    assert relaxation.total == 1  # one place: f min 2 -> 1, or young max 1 -> 2
    assert {(p.row, p.column) for p in error.problems[1:]} <= {(2, "min"), (4, "max")}
    relaxed = quotas.relaxed(relaxation.lower, relaxation.upper)
    check_feasible(PanelProblem.from_pool(pool, relaxed, 2), relaxed)
