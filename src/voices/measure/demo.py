"""Demo measure data: 12 months of Friends and Family Test counts for every demo service,
with realistic inequality built in, activity figures, and scorecards.

Each month, each service's respondents are simulated one by one (deprivation decile,
ethnic group, disability, age band, sex) and then counted as an FFT supplier would send
them: totals, and a breakdown by each dimension. The chance of a good experience falls
with deprivation (more steeply in some services than others), is lower for some ethnic
groups and for disabled people, and varies by service; two services are genuine outliers
(one well below the rest, one well above). Deterministic from the seed; loading it twice
adds nothing.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.special import expit, logit
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from voices.demo import DemoContext
from voices.equity.dimensions import AGE_BANDS_BROAD, NOT_KNOWN, PREFER_NOT_TO_SAY
from voices.measure import aggregates
from voices.measure.fft import FFT_ANSWERS
from voices.measure.models import ActivityFigure, MeasureImport, ResponseCount
from voices.measure.scorecard import default_scorecard_text
from voices.measure.service import months_back, save_scorecard

LAST_PERIOD = "2026-10"
PERIODS = months_back(LAST_PERIOD, 12)
MARKER = "voices-demo"

# service type -> (monthly responses, share with a good experience)
TYPICAL = {"emergency": (520, 0.80), "inpatient": (170, 0.92), "outpatient": (380, 0.935),
           "maternity": (140, 0.91), "mental_health": (55, 0.86), "community": (110, 0.95)}
# genuine funnel-plot outliers: service name -> share with a good experience
OUTLIERS = {"Ward 3 – General Medicine": 0.66, "Podiatry": 0.99}
ETHNIC = (["white", "asian", "black", "mixed", "other", NOT_KNOWN],
          [0.77, 0.09, 0.06, 0.03, 0.02, 0.03])
ETHNIC_EFFECT = {"white": 0.0, "asian": -0.40, "black": -0.55, "mixed": -0.25, "other": -0.30,
                 NOT_KNOWN: -0.1}
DISABILITY = (["yes", "no", PREFER_NOT_TO_SAY, NOT_KNOWN], [0.22, 0.69, 0.03, 0.06])
AGE_BANDS = [b for b in AGE_BANDS_BROAD if b != NOT_KNOWN]
AGE_EFFECT = {"0-17": 0.1, "18-24": -0.35, "25-34": -0.2, "35-44": -0.1, "45-54": 0.0,
              "55-64": 0.1, "65-74": 0.25, "75-84": 0.2, "85+": 0.0}
# deprivation mix of each trust's patients (weights for deciles 1..10)
DECILE_MIX = {"RZ1": [16, 14, 12, 11, 10, 9, 8, 7, 7, 6], "RZ2": [8, 9, 10, 10, 11, 11, 11, 10, 10, 10],
              "RZ3": [12, 12, 11, 10, 10, 10, 9, 9, 9, 8]}


def _age_weights(service_type: str, name: str) -> np.ndarray:
    if "Children" in name:
        weights = [85, 10, 5, 0, 0, 0, 0, 0, 0]
    elif service_type == "maternity":
        weights = [1, 22, 50, 25, 2, 0, 0, 0, 0]
    elif "Elderly" in name:
        weights = [0, 0, 0, 0, 2, 8, 25, 40, 25]
    else:
        weights = [4, 8, 12, 13, 15, 16, 15, 11, 6]
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def simulate(context: DemoContext) -> pl.DataFrame:
    """One row per simulated respondent: organisation, service, period, response and
    the equity columns."""
    rng = np.random.default_rng(context.seed + 4)
    parts = []
    for s_index, svc in enumerate(context.services):
        kind = svc.service_type.value
        monthly, share = TYPICAL.get(kind, (120, 0.9))
        share = OUTLIERS.get(svc.name, share)
        gradient = rng.uniform(0.25, 1.1)        # how steeply deprivation matters here
        # the share is for the typical respondent; the groups below pull it down
        base = logit(share) + 0.5 * gradient + 0.3 + rng.normal(0, 0.12)
        ethnic_factor = rng.uniform(0.5, 1.5)
        disability_effect = -rng.uniform(0.3, 0.8)
        ods = svc.organisation.ods_code
        mix = np.asarray(DECILE_MIX.get(ods, [10] * 10), dtype=float)
        mix /= mix.sum()
        trend = rng.normal(0, 0.02)              # slow drift over the year
        ages = _age_weights(kind, svc.name)
        for p_index, period in enumerate(PERIODS):
            n = int(rng.poisson(monthly * (1.0 + 0.15 * np.sin((p_index + s_index) / 2.0))))
            decile = rng.choice(10, n, p=mix) + 1
            decile_code = np.where(rng.random(n) < 0.04, NOT_KNOWN, decile.astype(str))
            ethnic = rng.choice(ETHNIC[0], n, p=ETHNIC[1])
            disabled = rng.choice(DISABILITY[0], n, p=DISABILITY[1])
            age = np.asarray(AGE_BANDS)[rng.choice(len(AGE_BANDS), n, p=ages)]
            sex = np.where(kind == "maternity", "2", rng.choice(["1", "2", "X"], n,
                                                                p=[0.45, 0.53, 0.02]))
            score = (base + trend * p_index + rng.normal(0, 0.05)
                     - gradient * (10 - decile) / 9.0
                     + ethnic_factor * np.vectorize(ETHNIC_EFFECT.get)(ethnic)
                     + np.where(disabled == "yes", disability_effect, 0.0)
                     + np.vectorize(AGE_EFFECT.get)(age))
            good = expit(score)
            poor = (1.0 - good) * 0.45
            draw = rng.random(n)
            answer = np.where(draw < good * 0.68, 0, np.where(draw < good, 1, np.where(
                draw < good + poor * 0.6, 3, np.where(draw < good + poor, 4, np.where(
                    rng.random(n) < 0.75, 2, 5)))))
            parts.append(pl.DataFrame({
                "organisation": ods, "service": svc.name, "period": period,
                "response": np.asarray(FFT_ANSWERS)[answer], "imd_decile": decile_code,
                "ethnic_group": ethnic, "disability": disabled, "age_band": age,
                "sex": sex}))
    return pl.concat(parts)


def _activity(context: DemoContext) -> list[dict]:
    """% of people waiting less than 18 weeks for planned care: per service with a
    treatment function, and for each trust and the ICB as a whole."""
    rng = np.random.default_rng(context.seed + 5)
    rows = []
    by_trust: dict[int, list] = {}
    for svc in context.services:
        if not svc.treatment_function_code:
            continue
        level = rng.uniform(52, 78)
        slope = rng.uniform(-0.3, 0.6)
        for i, period in enumerate(PERIODS):
            value = float(np.clip(level + slope * i + rng.normal(0, 1.2), 30, 99))
            rows.append({"organisation_id": svc.organisation_id, "service_id": svc.id,
                         "period": period, "measure": "rtt_within_18_weeks_pct",
                         "value": round(value, 1), "lower": None, "upper": None})
            by_trust.setdefault(svc.organisation_id, []).append((period, value))
    icb: list = []
    for org_id, values in by_trust.items():
        for period in PERIODS:
            mean = float(np.mean([v for p, v in values if p == period]))
            rows.append({"organisation_id": org_id, "service_id": None, "period": period,
                         "measure": "rtt_within_18_weeks_pct", "value": round(mean, 1),
                         "lower": None, "upper": None})
            icb.append((period, mean))
    for period in PERIODS:
        mean = float(np.mean([v for p, v in icb if p == period]))
        rows.append({"organisation_id": context.icb.id, "service_id": None, "period": period,
                     "measure": "rtt_within_18_weeks_pct", "value": round(mean, 1),
                     "lower": None, "upper": None})
    return rows


def load_demo(session: Session, context: DemoContext) -> None:
    """Load the demo's measure data once (idempotent: a second run finds it and stops)."""
    marker = f"{MARKER}:{context.seed}"
    if session.scalar(select(MeasureImport.id).where(MeasureImport.sha256 == marker)):
        return
    context.progress("measure: 12 months of FFT counts with equity breakdowns")
    counts = aggregates.counts_from_responses(simulate(context))
    ids = {(s.organisation.ods_code, s.name): s.id for s in context.services}
    record = MeasureImport(kind="responses", file_name="demo", sha256=marker, rows=counts.height)
    activity = MeasureImport(kind="activity", file_name="demo", sha256=marker + ":activity",
                             rows=0)
    session.add_all([record, activity])
    session.flush()
    values = [{"service_id": ids[(o, s)], "period": p, "response": r, "dimension": d,
               "group_code": g, "count": c, "import_id": record.id}
              for o, s, p, r, d, g, c in counts.filter(pl.col("count") > 0).iter_rows()]
    for start in range(0, len(values), 10_000):
        session.execute(insert(ResponseCount.__table__), values[start:start + 10_000])
    kpis = _activity(context)
    activity.rows = len(kpis)
    session.execute(insert(ActivityFigure.__table__),
                    [{**k, "import_id": activity.id} for k in kpis])
    context.progress("measure: scorecards")
    analyst = context.accounts.get("analyst")
    text = default_scorecard_text()
    save_scorecard(session, context.icb, text, actor=analyst)
    trust = next((t for t in context.trusts if t.ods_code == "RZ1"), None)
    if trust is not None:
        own = text.replace("title: Measures of success",
                           "title: Northshire Teaching Hospitals measures of success", 1)
        own = own.replace("    target: 90\n", "    target: 92\n", 1)
        save_scorecard(session, trust, own, actor=context.accounts.get("analyst:RZ1", analyst))
    session.flush()

