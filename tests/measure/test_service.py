"""Storing measure data: imports are all-or-nothing and replace (never double) what they
cover; scorecards are versioned and audited; the demo has inequality built in."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import func, select

from voices.core.models import AuditEvent, Organisation
from voices.errors import NotFound, ValidationError
from voices.measure import service
from voices.measure.models import ActivityFigure, MeasureImport, ResponseCount, ScorecardVersion
from voices.measure.scorecard import default_scorecard_text

HEADER = "organisation,service,period,response,count,dimension,group\n"
FILE = HEADER + """RZ1,Emergency Department,2026-10,Very good,120,all,all
RZ1,Emergency Department,2026-10,Poor,10,all,all
RZ1,emergency department,2026-10,Very good,30,imd_decile,1
RZ1,Emergency Department,2026-10,Poor,6,imd_decile,1
RZ1,rz1-podiatry-missing,2026-10,Good,5,all,all
"""


def write(tmp_path, text, name="counts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows(session):
    return session.scalar(select(func.count()).select_from(ResponseCount))


def test_a_file_is_imported_once_however_often_it_is_loaded(session, demo_core, tmp_path):
    path = write(tmp_path, FILE.replace("RZ1,rz1-podiatry-missing,2026-10,Good,5,all,all\n",
                                        "RZ2,Urgent Treatment Centre,2026-10,Good,5,all,all\n"))
    first = service.import_file(session, path)
    session.commit()
    assert (first.rows, first.services, first.periods, first.replaced) == (5, 2, ["2026-10"], 0)
    assert rows(session) == 5
    again = service.import_file(session, path)
    session.commit()
    assert rows(session) == 5 and again.replaced == 3 and again.import_id == first.import_id
    assert session.scalar(select(func.count()).select_from(MeasureImport)) == 1
    frame = service.responses_frame(session, None, ["2026-10"])
    assert frame.filter(pl.col("dimension") == "all")["count"].sum() == 135
    # a later file for the same month and breakdown replaces it
    write(tmp_path, HEADER + "RZ1,Emergency Department,2026-10,Very good,99,all,all\n",
          "fix.csv")
    with pytest.raises(ValidationError) as info:   # the stored breakdown has 6 Poor answers
        service.import_file(session, tmp_path / "fix.csv")
    session.rollback()
    assert "already stored" in info.value.message
    write(tmp_path, HEADER + "RZ1,Emergency Department,2026-10,Very good,99,all,all\n"
          "RZ1,Emergency Department,2026-10,Poor,8,all,all\n", "fix.csv")
    service.import_file(session, tmp_path / "fix.csv")
    session.commit()
    totals = service.responses_frame(session, None, ["2026-10"]).filter(
        (pl.col("dimension") == "all") & (pl.col("service") == "Emergency Department"))
    assert sorted(totals.select("response", "count").rows()) == [("Poor", 8), ("Very good", 99)]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "measure.import")).all()
    assert len(events) == 3 and all("Emergency" not in e.summary for e in events)


def test_a_bad_file_changes_nothing(session, demo_core, tmp_path):
    good = FILE.replace("RZ1,rz1-podiatry-missing,2026-10,Good,5,all,all\n", "")
    service.import_file(session, write(tmp_path, good, "good.csv"))
    session.commit()
    before = session.execute(select(ResponseCount.service_id, ResponseCount.response,
                                    ResponseCount.count).order_by(ResponseCount.id)).all()
    for bad, (row, column) in [
        (good.replace("120", "121") + "RZ1,Emergency Department,2026-10,Meh,3,all,all\n",
         (6, "response")),
        (good.replace("120", "121") + "RZ9,Emergency Department,2026-10,Good,3,all,all\n",
         (6, "organisation")),
        (FILE.replace("120", "121"), (6, "service")),
        (good.replace("120", "121").replace("30,imd", "300,imd"), (4, "count")),
        (good.replace("120", "121") + "RZ1,Ophthalmology Clinic,2026-10,Good,3,sex,1\n",
         (6, "dimension")),
    ]:
        with pytest.raises(ValidationError) as info:
            service.import_file(session, write(tmp_path, bad, "bad.csv"))
        session.rollback()
        problem = info.value.problems[0]
        assert (problem.file, problem.row, problem.column) == ("bad.csv", row, column), bad
    after = session.execute(select(ResponseCount.service_id, ResponseCount.response,
                                   ResponseCount.count).order_by(ResponseCount.id)).all()
    assert after == before


def test_activity_figures_are_stored_for_services_and_the_organisation(session, demo_core,
                                                                       tmp_path):
    text = ("organisation,service,period,measure,value\n"
            "RZ1,Cardiology Outpatients,2026-10,rtt_within_18_weeks_pct,61.5\n"
            "RZ1,,2026-10,rtt_within_18_weeks_pct,63.2\n")
    path = write(tmp_path, text, "kpis.csv")
    assert service.import_file(session, path).kind == "activity"
    service.import_file(session, path)
    session.commit()
    assert session.scalar(select(func.count()).select_from(ActivityFigure)) == 2
    frame = service.activity_frame(session, None, ["2026-10"]).sort("service")
    assert frame.select("service", "value").rows() == [("", 63.2),
                                                       ("Cardiology Outpatients", 61.5)]


def test_scorecards_are_versioned_audited_and_inherited(session, demo_core):
    icb, rz1 = (session.scalar(select(Organisation).where(Organisation.ods_code == c))
                for c in ("QZ9", "RZ1"))
    analyst = demo_core.accounts["analyst"]
    assert service.scorecard_in_force(session, rz1).version is None   # the default
    text = default_scorecard_text()
    first = service.save_scorecard(session, icb, text, actor=analyst)
    assert service.save_scorecard(session, icb, text, actor=analyst).id == first.id
    second = service.save_scorecard(session, icb, text.replace("target: 90", "target: 91"),
                                    actor=analyst)
    session.commit()
    assert (first.version, second.version) == (1, 2)
    in_force = service.scorecard_in_force(session, rz1)            # a trust uses its ICB's
    assert in_force.owner.ods_code == "QZ9" and in_force.version.version == 2
    assert in_force.card.measures[0].target == 91
    assert "version 2" in in_force.describe() and "Sam Analyst" in in_force.describe()
    with pytest.raises(ValidationError) as info:
        service.save_scorecard(session, rz1, "title: x\nmeasures:\n  - id: A\n")
    assert info.value.problems[0].row is not None
    saves = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "measure.scorecard.save")).all()
    assert [e.actor_id for e in saves] == [analyst.id, analyst.id]
    assert session.scalar(select(func.count()).select_from(ScorecardVersion)) == 2


def test_scope_refuses_what_the_viewer_cannot_see(session, demo_core):
    rz1 = session.scalar(select(Organisation).where(Organisation.ods_code == "RZ1"))
    visible = {rz1.id}
    with pytest.raises(NotFound):
        service.resolve_scope(session, visible, organisation="RZ2")
    with pytest.raises(NotFound):
        service.resolve_scope(session, visible, organisation="RZ1",
                              service=demo_core.services[12].slug)      # an RZ2 service
    with pytest.raises(ValidationError):
        service.resolve_scope(session, visible, organisation="RZ1", period="2026-13")


# ------------------------------------------------------------ on the demo's data


def test_the_demo_has_twelve_months_inequality_and_outliers(demo_database):
    with demo_database.sessionmaker() as session:
        scope = service.resolve_scope(session, None, organisation="QZ9")
        assert len(scope.periods) == 12 and scope.period == "2026-10"
        data = service.inequality(session, scope)
        sii = data["sii"]
        assert sii["sii_lower"] > 0          # the less deprived report better experience
        groups = {d["dimension"]: {r["group"]: r for r in d["rows"]} for d in data["dimensions"]}
        assert groups["disability"]["yes"]["gap_upper"] < 0
        assert groups["ethnic_group"]["black"]["gap_upper"] < 0
        funnel = service.funnel(session, scope)
        flags = {p["service"]: p["flag"] for p in funnel["points"]}
        assert flags["Ward 3 – General Medicine"] == "below 99.8% limit"
        assert flags["Podiatry"].startswith("above")
        # the demo loads once: a second run adds nothing
        from voices.demo import load

        before = session.scalar(select(func.count()).select_from(ResponseCount))
        load(session, areas=("measure",))
        assert session.scalar(select(func.count()).select_from(ResponseCount)) == before


def test_dashboard_figures_are_recomputed_from_summed_counts(demo_database):
    with demo_database.sessionmaker() as session:
        scope = service.resolve_scope(session, None, organisation="RZ1")
        data = service.dashboard(session, scope, "sex")
        headline = data["headline"]
        assert headline["responses"] == sum(s["responses"] for s in data["services"])
        assert headline["positive"] == sum(s["positive"] for s in data["services"])
        assert headline["pct_positive"] == pytest.approx(
            100 * headline["positive"] / headline["responses"])
        assert sum(r["responses"] for r in data["groups"]["rows"]) == headline["responses"]
        card = service.scorecard(session, scope)
        assert [r["group"] for r in card["place"]][:2] == ["experience", "experience"]
        assert card["place"][0]["value"] == pytest.approx(headline["pct_positive"])
        assert card["owner"] == "RZ1" and len(card["services"]) == 11


def test_feedback_stored_by_listen_joins_the_imported_counts(session, demo_core, tmp_path,
                                                             monkeypatch):
    """The contract with the listen area: its service's ``responses_frame(session,
    organisation_ids, periods)`` gives one row per response (organisation, service, period,
    rating, equity columns); measure adds those to the imported counts."""
    import sys
    import types

    service.import_file(session, write(tmp_path, HEADER + (
        "RZ1,Emergency Department,2026-10,Good,10,all,all\n"
        "RZ1,Emergency Department,2026-10,Good,4,sex,2\n")))
    listened = pl.DataFrame({
        "organisation": ["RZ1"] * 3, "service": ["Emergency Department"] * 3,
        "period": ["2026-10"] * 3, "rating": ["Good", "very poor", None],
        "sex": ["Female", "1", None], "imd_decile": [1, None, 4]})
    fake = types.ModuleType("voices.listen.service")
    fake.responses_frame = lambda session, organisation_ids, periods: listened
    monkeypatch.setitem(sys.modules, "voices.listen.service", fake)
    monkeypatch.setattr("voices.listen.service", fake, raising=False)
    frame = service.responses_frame(session, None, ["2026-10"])
    totals = dict(frame.filter(pl.col("dimension") == "all")
                  .select("response", "count").rows())
    assert totals == {"Good": 11, "Very poor": 1}               # the unrated one is left out
    sex = dict(frame.filter(pl.col("dimension") == "sex").select("group", "count").rows())
    assert sex == {"2": 5, "1": 1}
    imd = dict(frame.filter(pl.col("dimension") == "imd_decile").select("group", "count").rows())
    assert imd == {"1": 1, "not_known": 1}
