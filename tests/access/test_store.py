"""Stored access data: snapshots side by side by date, RTT figures, versioned policies,
simulations as jobs, and the demo — on SQLite and PostgreSQL."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import func, select

from access_support import (
    BAD_FILES,
    DAY,
    EARLIER,
    UNSAFE_POLICY,
    older_rtt_extract,
    stored_lists,
    write_list,
)
from voices.access import service
from voices.access.models import (
    Pathway,
    PolicyVersion,
    RttFigure,
    Simulation,
    WaitingListSnapshot,
)
from voices.access.snapshot import read_snapshot
from voices.core.models import AuditEvent
from voices.errors import ValidationError


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_list_round_trips_and_the_same_date_is_replaced(session, demo_core, tmp_path):
    rz1 = next(t for t in demo_core.trusts if t.ods_code == "RZ1")
    analyst = demo_core.accounts["analyst:RZ1"]
    path = write_list(tmp_path, 700, seed=11)
    result = service.import_snapshot(session, path, organisation=rz1, snapshot_date=DAY,
                                     actor=analyst)
    session.commit()
    assert not result.replaced and result.snapshot.pathways == 700
    service._cache.clear()
    stored = service.load_snapshot(session, result.snapshot).frame
    original = read_snapshot(path, snapshot_date=DAY).frame.sort("pathway_id")
    assert stored.columns == original.columns
    assert stored.equals(original.select(stored.columns))
    # another date is kept beside it
    service.import_snapshot(session, write_list(tmp_path, 300, seed=12, day=EARLIER,
                                                name="earlier.csv"),
                            organisation=rz1, snapshot_date=EARLIER, actor=analyst)
    # the same date again replaces it (a different file: nothing of the first is left)
    again = service.import_snapshot(session, write_list(tmp_path, 250, seed=13, name="b.csv"),
                                    organisation=rz1, snapshot_date=DAY, actor=analyst)
    session.commit()
    assert again.replaced
    dates = session.scalars(select(WaitingListSnapshot.snapshot_date).order_by(
        WaitingListSnapshot.snapshot_date)).all()
    assert dates == [EARLIER, DAY]
    assert _count(session, Pathway) == 300 + 250
    assert service.load_snapshot(session, again.snapshot).size == 250
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.record_type == "access_snapshot")).all()
    assert actions.count("access.snapshot.import") == 3


def test_bad_files_are_refused_with_located_problems_and_change_nothing(session, demo_core,
                                                                       tmp_path):
    rz1 = next(t for t in demo_core.trusts if t.ods_code == "RZ1")
    good = service.import_snapshot(session, write_list(tmp_path, 200), organisation=rz1,
                                   snapshot_date=DAY)
    session.commit()
    for what, (text, row, column, words) in BAD_FILES.items():
        path = tmp_path / f"{what.replace(' ', '_')}.csv"
        path.write_text(text)
        with pytest.raises(ValidationError) as caught:
            service.import_snapshot(session, path, organisation=rz1, snapshot_date=DAY)
        session.rollback()
        problem = caught.value.problems[0]
        assert (problem.file, problem.row, problem.column) == (path.name, row, column), what
        assert words in problem.message, what
    future = (DAY.replace(year=DAY.year + 1)).isoformat()
    with pytest.raises(ValidationError, match="in the future") as caught:
        service.import_snapshot(session, write_list(tmp_path, 5), organisation=rz1,
                                snapshot_date=future)
    assert caught.value.column == "snapshot_date"
    session.rollback()
    assert _count(session, WaitingListSnapshot) == 1
    assert _count(session, Pathway) == 200
    assert service.load_snapshot(session, session.get(WaitingListSnapshot,
                                                      good.snapshot.id)).size == 200


def test_rtt_figures_never_double_count_the_c999_rows(session, shared_data):
    extract = shared_data / "rtt" / "rtt_full_extract_sample_RBD_2024-11.csv"
    first = service.import_rtt(session, extract)
    session.commit()
    period, providers = service.rtt_providers(session)
    assert period == "RTT-November-2024" and len(providers) == 1
    rbd = providers[0]
    # NHS England's published figures for Dorset County Hospital, November 2024 (README).
    assert rbd["provider_code"] == "RBD" and rbd["pathways"] == 21_702
    assert round(rbd["pct_within_18"], 1) == 57.8 and rbd["over_52"] == 647
    detail = session.scalar(select(func.sum(RttFigure.pathways)).where(
        RttFigure.level == "specialty"))
    assert detail == 21_702      # the C_999 row is the sum of the others, stored apart
    again = service.import_rtt(session, extract)
    session.commit()
    assert again.replaced == first.figures
    assert _count(session, RttFigure) == first.figures


def test_an_older_rtt_extract_is_stored_with_longer_waits_not_known(session, shared_data,
                                                                    tmp_path):
    raw = pl.read_csv(shared_data / "rtt" / "rtt_full_extract_sample_RBD_2024-11.csv",
                      infer_schema=False)
    path = tmp_path / "older.csv"
    older_rtt_extract(raw).write_csv(path)
    service.import_rtt(session, path)
    session.commit()
    total = session.scalars(select(RttFigure).where(RttFigure.level == "total")).one()
    assert (total.pathways, total.over_52) == (21_702, 647)
    assert (total.over_65, total.over_78, total.over_104) == (None, None, None)


def test_policies_keep_every_version_and_refuse_an_unsafe_one(session, demo_core):
    rz1 = next(t for t in demo_core.trusts if t.ods_code == "RZ1")
    analyst = demo_core.accounts["analyst:RZ1"]
    examples = service.example_policies()
    v1 = service.save_policy(session, organisation=rz1, yaml_text=examples["accumulating_priority"],
                             reason="First version", actor=analyst, make_active=True)
    session.commit()
    policy = v1.policy
    changed = examples["accumulating_priority"].replace("P3: {rate: 1.5, head_start: 25}",
                                                        "P3: {rate: 1.4, head_start: 25}")
    refusals = [(UNSAFE_POLICY, "a reason", "clinical_priorities.P4.rate", "P4"),
                (changed, "  ", "reason", "Say why"),
                (examples["accumulating_priority"], "again", "yaml", "same as version 1")]
    for text, reason, column, words in refusals:
        with pytest.raises(ValidationError) as caught:
            service.save_policy(session, organisation=rz1, yaml_text=text, reason=reason,
                                actor=analyst, policy=policy)
        session.rollback()
        assert caught.value.problems[0].column == column and words in caught.value.message
    with pytest.raises(ValidationError) as caught:
        service.check_policy_text(UNSAFE_POLICY)
    assert caught.value.problems[0].row == 7          # the line of P4's rate
    assert _count(session, PolicyVersion) == 1

    v2 = service.save_policy(session, organisation=rz1, yaml_text=changed, actor=analyst,
                             reason="P3 grows a little slower", policy=policy)
    session.commit()
    assert v2.version == 2 and service.active_version(session, rz1.id).id == v1.id
    service.activate_version(session, v2, actor=analyst)
    session.commit()
    assert service.active_version(session, rz1.id).id == v2.id
    history = service.policy_history(session, policy)
    assert [h["action"] for h in history] == ["access.policy.activate", "access.policy.save",
                                              "access.policy.activate", "access.policy.save"]
    assert {h["who"] for h in history} == {analyst.display_name}
    diff = service.policy_diff(v1.yaml_text, v2.yaml_text)
    assert [(d.kind, d.text.strip()) for d in diff if d.kind != "same"] == [
        ("removed", "P3: {rate: 1.5, head_start: 25}"),
        ("added", "P3: {rate: 1.4, head_start: 25}")]


def test_a_simulation_runs_as_a_job_and_keeps_only_modelled_figures(session, database,
                                                                   tmp_path):
    from voices import jobs

    ids = stored_lists(session, tmp_path, pathways=300)
    record = session.get(WaitingListSnapshot, ids["rz1"])
    versions = [session.get(PolicyVersion, ids["version"]),
                session.get(PolicyVersion, ids["candidate"])]
    sim = service.start_simulation(session, record=record, versions=versions, weeks=6,
                                   replications=2, actor=ids["context"].accounts["analyst"])
    session.commit()
    with pytest.raises(ValidationError, match="two or more"):
        service.start_simulation(session, record=record, versions=versions[:1], weeks=6,
                                 replications=2)
    session.rollback()
    assert jobs.run_pending(database) == 1
    session.expire_all()
    done = session.get(Simulation, sim.id)
    assert done.status == "done"
    result = done.result
    assert result["policies"] == [v.name for v in versions]
    measures = {(r["policy"], r["measure"]) for r in result["comparison"]}
    assert ("Equity-weighted accumulating priority", "pct_over_52") in measures
    assert {r["group"] for r in result["quintiles"]} >= {"1", "5"}
    frame = pl.DataFrame(result["series"])
    assert frame["week"].max() == 6
    text = str(result)
    assert not any(p in text for p in ("P00000001", "pathway_id"))   # no pathway data kept


@pytest.mark.slow
def test_the_demo_is_idempotent(session, demo_core):
    from voices.demo import load

    counts = []
    for _ in range(2):
        load(session, areas=("access",))
        counts.append([_count(session, m) for m in (WaitingListSnapshot, Pathway, PolicyVersion,
                                                    Simulation, RttFigure)])
    assert counts[0] == counts[1]
    assert counts[0][1] > 40_000
    sim = session.scalars(select(Simulation)).one()
    assert sim.status == "done" and len(sim.result["policies"]) == 2
    # the built-in deprivation gap shows up in the stored list
    record = session.scalars(select(WaitingListSnapshot).order_by(
        WaitingListSnapshot.pathways.desc())).first()
    equity = service.snapshot_equity(session, record)
    quintiles = equity.table.filter(pl.col("dimension") == "imd_quintile")
    share = dict(zip(quintiles["group"].to_list(), quintiles["pct_over_52"].to_list()))
    assert share["1"] > share["5"]


def test_the_import_commands_refuse_bad_files_in_one_located_line(session, demo_core, db_url,
                                                                  tmp_path, monkeypatch,
                                                                  shared_data):
    import json

    from typer.testing import CliRunner

    from voices.cli import app
    from voices.settings import get_settings

    monkeypatch.setenv("VOICES_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        good = write_list(tmp_path, 150)
        args = ["access", "import", str(good), "--org", "RZ1", "--date", DAY.isoformat()]
        first = runner.invoke(app, args + ["--json"])
        assert first.exit_code == 0, first.output
        assert json.loads(first.stdout)["pathways"] == 150
        for what, (text, row, column, words) in BAD_FILES.items():
            bad = tmp_path / "bad.csv"
            bad.write_text(text)
            result = runner.invoke(app, ["access", "import", str(bad), "--org", "RZ1",
                                         "--date", DAY.isoformat()])
            assert result.exit_code == 2, what
            last = result.output.strip().splitlines()[-1]
            assert last.startswith(f"error: bad.csv, row {row}, column '{column}'"), last
            assert words in last and "Traceback" not in result.output
        future = runner.invoke(app, args[:5] + ["--date", "2999-01-01"])
        assert future.exit_code == 2 and "in the future" in future.output
        unknown = runner.invoke(app, args[:3] + ["--org", "ZZ9", "--date", DAY.isoformat()])
        assert unknown.exit_code == 2 and "'--org'" in unknown.output
        rtt = runner.invoke(app, ["access", "import-rtt", "--json",
                                  str(shared_data / "rtt" /
                                      "rtt_full_extract_sample_RBD_2024-11.csv")])
        assert rtt.exit_code == 0 and json.loads(rtt.stdout)["providers"] == 1
        session.expire_all()
        assert _count(session, Pathway) == 150
    finally:
        get_settings.cache_clear()
