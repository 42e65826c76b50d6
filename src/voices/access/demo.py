"""Demo access data: synthetic waiting lists for the demo trusts, two policies to compare
(one in use, one candidate, with version history), a small finished simulation, and
synthetic RTT figures for comparing the trusts with peers.

The lists come from :func:`voices.access.synthetic.synthetic_waiting_list` (about 7% of the
most deprived fifth waiting over 52 weeks against 4% of the least deprived, as the King's
Fund reported) and go through the same checks as an uploaded file. Deterministic from
the seed; loading it twice adds nothing. No real person's data.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from voices.access import service
from voices.access.models import RttImport, Simulation, WaitingListSnapshot
from voices.access.rtt import validate_rtt_extract, waiting_list_summary
from voices.access.snapshot import validate_snapshot
from voices.access.synthetic import synthetic_waiting_list
from voices.demo import DemoContext

LATEST = dt.date(2026, 10, 31)
EARLIER = dt.date(2026, 7, 31)
# trust ODS -> list size on each date
LISTS = {"RZ1": {LATEST: 24_000, EARLIER: 22_500}, "RZ2": {LATEST: 16_000}}
MARKER = "synthetic-demo"
RTT_PERIOD = "RTT-October-2026"


def _treatment_functions(context: DemoContext, code: str) -> dict[str, float]:
    """Each trust's list is spread over the treatment functions of its own services."""
    codes = sorted({s.treatment_function_code for s in context.services
                    if s.organisation.ods_code == code and s.treatment_function_code
                    and s.service_type.value in ("outpatient", "inpatient")})
    rng = np.random.default_rng(len(codes))
    weights = rng.uniform(0.5, 1.5, size=len(codes))
    return dict(zip(codes, (weights / weights.sum()).tolist()))


def _policy_texts() -> dict[str, str]:
    examples = service.example_policies()
    current = examples["accumulating_priority"]
    first = current.replace("    - {urgent: P2, other: P4, min_extra_weeks: 26}\n", "") \
        .replace("  pairs:\n", "")
    return {"first": first, "current": current, "candidate": examples["equity_weighted"],
            "fifo": examples["clinical_fifo"]}


def load_demo(session: Session, context: DemoContext) -> None:
    by_code = {t.ods_code: t for t in context.trusts}
    analyst = context.accounts.get("analyst")
    trust_analyst = context.accounts.get("analyst:RZ1", analyst)
    seed = context.seed
    for k, (code, dates) in enumerate(LISTS.items()):
        org = by_code[code]
        for j, (day, size) in enumerate(sorted(dates.items())):
            if session.scalar(select(WaitingListSnapshot.id).where(
                    WaitingListSnapshot.organisation_id == org.id,
                    WaitingListSnapshot.snapshot_date == day)):
                continue
            context.progress(f"access: {code} waiting list of {day} ({size:,} pathways)")
            raw = synthetic_waiting_list(size, snapshot_date=day, seed=seed + 10 * k + j,
                                         treatment_functions=_treatment_functions(context, code))
            snap = validate_snapshot(raw, snapshot_date=day, source=f"{code}-{day}.csv")
            service.store_snapshot(session, snap, organisation=org, actor=trust_analyst,
                                   file_name=f"{code.lower()}-waiting-list-{day}.csv",
                                   sha256=f"{MARKER}-{code}-{day}")
    session.flush()
    versions = _load_policies(session, context, by_code, trust_analyst, analyst)
    _load_simulation(session, context, by_code["RZ1"], versions, trust_analyst)
    _load_rtt(session, context, by_code)


def _load_policies(session: Session, context: DemoContext, by_code, trust_analyst, analyst):
    texts = _policy_texts()
    rz1, rz2 = by_code["RZ1"], by_code["RZ2"]
    existing = {e["policy"].slug: e for e in service.list_policies(session, None, rz1)}
    if "accumulating-priority" not in existing:
        context.progress("access: policies")
        first = service.save_policy(
            session, organisation=rz1, yaml_text=texts["first"], actor=analyst,
            reason="First written policy: priority grows with time waited, faster for more "
                   "urgent patients", make_active=True)
        service.save_policy(
            session, organisation=rz1, yaml_text=texts["current"], actor=trust_analyst,
            policy=first.policy, make_active=True,
            reason="Clinical governance asked for a stricter bound between P2 and P4: 26 weeks")
        service.save_policy(
            session, organisation=rz1, yaml_text=texts["candidate"], actor=trust_analyst,
            reason="Candidate for the elective access board: priority grows a little faster "
                   "for the most deprived areas, learning disability or autism, and "
                   "interpreter need")
        service.save_policy(session, organisation=rz2, yaml_text=texts["fifo"], actor=analyst,
                            reason="How the list is run today", make_active=True)
        session.flush()
        existing = {e["policy"].slug: e for e in service.list_policies(session, None, rz1)}
    return [existing["accumulating-priority"]["latest"],
            existing["equity-weighted-accumulating-priority"]["latest"]]


def _load_simulation(session: Session, context: DemoContext, org, versions, actor) -> None:
    if session.scalar(select(Simulation.id).where(Simulation.organisation_id == org.id)):
        return
    record = session.scalar(select(WaitingListSnapshot).where(
        WaitingListSnapshot.organisation_id == org.id,
        WaitingListSnapshot.snapshot_date == LATEST))
    context.progress("access: a simulation of the two policies")
    sim = Simulation(organisation_id=org.id, snapshot_id=record.id,
                     version_ids=[v.id for v in versions],
                     settings={"weeks": 52, "replications": 5, "seed": context.seed},
                     created_by=actor.id if actor else None)
    session.add(sim)
    session.flush()
    service.run_simulation(session, sim.id)


def _load_rtt(session: Session, context: DemoContext, by_code) -> None:
    """Synthetic RTT figures for the demo trusts and 24 peers, in the extract's own format
    (so they are read and summarised exactly as a real extract is)."""
    if session.scalar(select(RttImport.id).where(RttImport.sha256 == f"{MARKER}-rtt")):
        return
    context.progress("access: RTT figures for comparison")
    rng = np.random.default_rng(context.seed)
    providers = [(code, by_code[code].name.upper()) for code in LISTS] + [
        (f"RY{n:01d}" if n < 10 else f"R{chr(55 + n)}Y", f"DEMO PEER HOSPITALS {n} NHS TRUST")
        for n in range(1, 25)]
    functions = [("C_100", "General Surgery Service"), ("C_110", "Trauma and Orthopaedic Service"),
                 ("C_120", "Ear Nose and Throat Service"), ("C_130", "Ophthalmology Service"),
                 ("C_330", "Dermatology Service"), ("X02", "Other - Medical Services")]
    band_names = [f"Gt {w:02d} To {w + 1:02d} Weeks SUM 1" for w in range(104)] + \
        ["Gt 104 Weeks SUM 1"]
    rows = []
    for code, name in providers:
        if code in LISTS:   # the demo trusts: their own synthetic lists, counted by week
            frame = _latest_frame(session, by_code[code])
            per_function = []
            for tfc in sorted(set(frame["treatment_function_code"].to_list())):
                weeks = frame.filter(pl.col("treatment_function_code") == tfc)["days_waited"]
                counts = np.bincount(np.minimum(weeks.to_numpy() // 7, 104), minlength=105)
                per_function.append(counts)
                label = tfc if tfc.startswith("X") else f"C_{tfc}"
                rows.append(_rtt_row(code, name, label, f"Treatment function {tfc}", counts,
                                     band_names))
            rows.append(_rtt_row(code, name, "C_999", "Total", np.sum(per_function, axis=0),
                                 band_names))
            continue
        mean = rng.uniform(10, 26)
        per_function = []
        for tfc, tfc_name in functions:
            size = int(rng.integers(800, 6000))
            waits = np.minimum(rng.exponential(mean * rng.uniform(0.8, 1.2), size), 104)
            counts = np.bincount(waits.astype(int), minlength=105)[:105]
            per_function.append(counts)
            rows.append(_rtt_row(code, name, tfc, tfc_name, counts, band_names))
        rows.append(_rtt_row(code, name, "C_999", "Total", np.sum(per_function, axis=0),
                             band_names))
    extract = validate_rtt_extract(pl.DataFrame(rows), source="synthetic demo figures")
    by = ("period", "provider_code", "provider_name")
    service.store_rtt(session,
                      waiting_list_summary(extract, level="total", by=by),
                      waiting_list_summary(extract, level="specialty", by=by),
                      file_name="synthetic demo RTT figures", sha256=f"{MARKER}-rtt")


def _latest_frame(session: Session, org) -> pl.DataFrame:
    record = session.scalar(select(WaitingListSnapshot).where(
        WaitingListSnapshot.organisation_id == org.id,
        WaitingListSnapshot.snapshot_date == LATEST))
    return service.load_snapshot(session, record).frame


def _rtt_row(code: str, name: str, tfc: str, tfc_name: str, counts: np.ndarray,
             band_names: list[str]) -> dict:
    total = int(counts.sum())
    row = {"Period": RTT_PERIOD, "Provider Parent Org Code": "QZ9",
           "Provider Parent Name": "DEMO ICB", "Provider Org Code": code,
           "Provider Org Name": name, "Commissioner Parent Org Code": "QZ9",
           "Commissioner Parent Name": "DEMO ICB", "Commissioner Org Code": "00Z",
           "Commissioner Org Name": "DEMO COMMISSIONER", "RTT Part Type": "Part_2",
           "RTT Part Description": "Incomplete Pathways", "Treatment Function Code": tfc,
           "Treatment Function Name": tfc_name}
    row.update({band: str(int(c)) for band, c in zip(band_names, counts)})
    row.update({"Total": str(total), "Patients with unknown clock start date": "0",
                "Total All": str(total)})
    return row
