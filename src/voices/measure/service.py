"""Reading and writing measure data, and the figures behind every measure page and report.

Routes, the command line and the report call these functions. Imports are checked in full
before anything is written, replace what they cover (never add to it) and are audited;
scorecards are versioned and audited. Page functions return plain data (lists of dicts),
so each page and its JSON twin show the same numbers.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from voices.core import audit
from voices.core import service as core
from voices.core.models import Account, Organisation, Service
from voices.equity.dimensions import DIMENSIONS
from voices.errors import NotFound, ProblemCollector, ValidationError
from voices.measure import aggregates, published
from voices.measure.aggregates import ALL
from voices.measure.compute import MeasureOptions
from voices.measure.fft import ANSWER_COLUMNS, FFT_ANSWERS, fft_summary, normalise_answer
from voices.measure.funnel import ProportionFunnel
from voices.measure.imports import (
    breakdown_problems,
    file_kind,
    read_table,
    validate_activity_rows,
    validate_counts,
)
from voices.measure.models import ActivityFigure, MeasureImport, ResponseCount, ScorecardVersion
from voices.measure.responses import equity_code
from voices.measure.scorecard import (
    Scorecard,
    compute_scorecard,
    default_scorecard,
    parse_scorecard,
)
from voices.measure.themes import (
    I_STATEMENT_DOMAINS,
    domain_scores,
    sentiment_summary,
    theme_prevalence,
)

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: Simulated draws for slope-index intervals on pages and in reports (stable to about
#: 0.1 percentage points; the command-line engine defaults to phe_sii's 100,000).
PAGE_SIMULATIONS = 10_000
MAX_SCORECARD_BYTES = 100_000
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def month_name(period: str | None) -> str:
    """``2026-10`` -> ``October 2026``."""
    if not period or not PERIOD.match(period):
        return period or ""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def months_back(period: str, count: int) -> list[str]:
    """The ``count`` months ending with ``period``, oldest first."""
    year, month = (int(x) for x in period.split("-"))
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def _chunks(items: list, size: int = 400):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------- imports


@dataclass
class ImportResult:
    """What an import did."""

    kind: str
    file_name: str
    rows: int
    services: int
    periods: list[str]
    replaced: int
    import_id: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _service_lookup(session: Session, frame: pl.DataFrame, source: str,
                    problems: ProblemCollector, *, service_optional: bool = False
                    ) -> tuple[dict[str, Organisation], dict[tuple[str, str], int | None]]:
    """Resolve the file's organisations (ODS codes) and services (name or short link)."""
    codes = sorted(set(frame["organisation"].to_list()))
    orgs = {o.ods_code: o for o in session.scalars(
        select(Organisation).where(Organisation.ods_code.in_(codes)))}
    first_row = {}
    for row, code, name in frame.select("row", "organisation", "service").iter_rows():
        first_row.setdefault(("org", code), row)
        first_row.setdefault(("svc", code, name.casefold()), row)
    for code in codes:
        if code not in orgs:
            problems.add(f"no organisation has the ODS code '{code[:12]}'",
                         row=first_row[("org", code)], column="organisation",
                         expected="the ODS code of an organisation in Voices")
    services: dict[tuple[str, str], int | None] = {}
    by_org: dict[int, list[Service]] = {}
    for svc in session.scalars(select(Service).where(
            Service.organisation_id.in_([o.id for o in orgs.values()]))):
        by_org.setdefault(svc.organisation_id, []).append(svc)
    for code, name in sorted(set(frame.select("organisation", "service").iter_rows())):
        org = orgs.get(code)
        if org is None:
            continue
        if not name and service_optional:
            services[(code, name)] = None
            continue
        match = next((s.id for s in by_org.get(org.id, [])
                      if s.name.casefold() == name.casefold() or s.slug == name.lower()), None)
        if match is None:
            problems.add(f"{code} has no service called '{name[:60]}'",
                         row=first_row[("svc", code, name.casefold())], column="service",
                         expected="a service's name or short link as Voices knows it")
        services[(code, name)] = match
    return orgs, services


def _import_record(session: Session, kind: str, file_name: str, digest: str, rows: int,
                   actor: Account | None) -> MeasureImport:
    record = session.scalar(select(MeasureImport).where(MeasureImport.kind == kind,
                                                        MeasureImport.sha256 == digest))
    if record is None:
        record = MeasureImport(kind=kind, file_name=file_name[:255], sha256=digest, rows=rows,
                               imported_by=actor.id if actor else None)
        session.add(record)
    else:
        from voices.db import utcnow

        record.imported_at = utcnow()
        record.imported_by = actor.id if actor else record.imported_by
    session.flush()
    return record


def import_counts(session: Session, checked: pl.DataFrame, *, file_name: str, digest: str,
                  actor: Account | None = None) -> ImportResult:
    """Store checked response counts (from :func:`voices.measure.imports.validate_counts`).

    Each service, month and dimension in the file replaces what was stored for it, so
    importing the same file twice changes nothing the second time. Breakdowns must fit
    inside their totals (stored or in the file). Nothing is written if anything is wrong.
    """
    problems = ProblemCollector(file=file_name)
    orgs, services = _service_lookup(session, checked, file_name, problems)
    problems.raise_if_any()
    ids = pl.DataFrame([(o, s, i) for (o, s), i in services.items()], orient="row",
                       schema={"organisation": pl.String, "service": pl.String,
                               "service_id": pl.Int64})
    frame = checked.join(ids, on=["organisation", "service"], how="left")
    slices = sorted(set(frame.select("service_id", "period", "dimension").iter_rows()))
    pairs = sorted({(s, p) for s, p, _ in slices})
    stored = []
    for chunk in _chunks(pairs):
        stored += session.execute(select(
            ResponseCount.service_id, ResponseCount.period, ResponseCount.response,
            ResponseCount.dimension, ResponseCount.group_code, ResponseCount.count).where(
            tuple_(ResponseCount.service_id, ResponseCount.period).in_(chunk))).all()
    slice_set = set(slices)
    kept = [r for r in stored if (r[0], r[1], r[3]) not in slice_set]
    replaced = len({(r[0], r[1], r[3]) for r in stored if (r[0], r[1], r[3]) in slice_set})
    state = pl.concat([
        frame.select("service_id", "period", "response", "dimension", "group", "count", "row"),
        pl.DataFrame(kept, schema={"service_id": pl.Int64, "period": pl.String,
                                   "response": pl.String, "dimension": pl.String,
                                   "group": pl.String, "count": pl.Int64}, orient="row")
        .with_columns(pl.lit(None, pl.Int64).alias("row")),
    ])
    for row, column, message in breakdown_problems(state):
        problems.add(message, row=row, column=column,
                     expected="a total for every service and month, and groups that add up "
                              "to no more than it")
    problems.raise_if_any()
    record = _import_record(session, "responses", file_name, digest, checked.height, actor)
    for chunk in _chunks(slices, 300):
        session.execute(delete(ResponseCount).where(tuple_(
            ResponseCount.service_id, ResponseCount.period, ResponseCount.dimension
        ).in_(chunk)))
    values = [{"service_id": s, "period": p, "response": r, "dimension": d, "group_code": g,
               "count": c, "import_id": record.id}
              for s, p, r, d, g, c in frame.select(
                  "service_id", "period", "response", "dimension", "group", "count").iter_rows()]
    for chunk in _chunks(values, 5000):
        session.execute(insert(ResponseCount.__table__), chunk)
    org_ids = {orgs[c].id for c in set(checked["organisation"].to_list())}
    audit.record(session, "measure.import", actor=actor, record_type="measure_import",
                 record_id=record.id, organisation_id=next(iter(org_ids)) if len(org_ids) == 1
                 else None, summary=f"Imported {checked.height} rows of response counts",
                 detail={"kind": "responses", "slices": len(slices), "replaced": replaced})
    return ImportResult("responses", file_name, checked.height,
                        len({s for s, _ in pairs}), sorted({p for _, p in pairs}), replaced,
                        record.id)


def import_activity(session: Session, checked: pl.DataFrame, *, file_name: str, digest: str,
                    actor: Account | None = None) -> ImportResult:
    """Store checked activity figures; each service (or organisation), month and measure
    in the file replaces what was stored for it."""
    problems = ProblemCollector(file=file_name)
    orgs, services = _service_lookup(session, checked, file_name, problems,
                                     service_optional=True)
    problems.raise_if_any()
    rows = [(orgs[o].id, services[(o, s)], p, m, v, lo, hi)
            for o, s, p, m, v, lo, hi in checked.select(
                "organisation", "service", "period", "measure", "value", "lower", "upper"
            ).iter_rows()]
    record = _import_record(session, "activity", file_name, digest, checked.height, actor)
    replaced = 0
    for org_id, svc_id, period, measure, *_ in rows:
        condition = [ActivityFigure.organisation_id == org_id, ActivityFigure.period == period,
                     ActivityFigure.measure == measure,
                     ActivityFigure.service_id.is_(None) if svc_id is None
                     else ActivityFigure.service_id == svc_id]
        replaced += session.execute(delete(ActivityFigure).where(*condition)).rowcount or 0
    for chunk in _chunks(rows, 5000):
        session.execute(insert(ActivityFigure.__table__), [
            {"organisation_id": o, "service_id": s, "period": p, "measure": m, "value": v,
             "lower": lo, "upper": hi, "import_id": record.id} for o, s, p, m, v, lo, hi in chunk])
    audit.record(session, "measure.import", actor=actor, record_type="measure_import",
                 record_id=record.id, organisation_id=rows[0][0] if len(orgs) == 1 else None,
                 summary=f"Imported {checked.height} activity figures",
                 detail={"kind": "activity", "replaced": replaced})
    return ImportResult("activity", file_name, checked.height,
                        len({r[1] for r in rows if r[1] is not None}),
                        sorted({r[2] for r in rows}), replaced, record.id)


def import_file(session: Session, path: str | Path, *, kind: str | None = None,
                actor: Account | None = None) -> ImportResult:
    """Check and store a file of response counts or activity figures (CSV, XLSX, Parquet).

    ``kind`` is ``responses`` or ``activity``; by default it is worked out from the
    columns. All or nothing: on any problem a :class:`ValidationError` lists them all
    (file, row, column) and nothing is stored.
    """
    path = Path(path)
    frame, first_row = read_table(path)
    kind = kind or file_kind(frame)
    if kind not in ("responses", "activity"):
        raise ValidationError(f"unknown kind of file '{kind}'", column="--kind",
                              expected="responses or activity")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if kind == "responses":
        checked = validate_counts(frame, source=path.name, first_row=first_row)
        return import_counts(session, checked, file_name=path.name, digest=digest, actor=actor)
    checked = validate_activity_rows(frame, source=path.name, first_row=first_row)
    return import_activity(session, checked, file_name=path.name, digest=digest, actor=actor)


# ------------------------------------------------------------------------ reading


def _listen_counts(session: Session, organisation_ids: set[int] | None,
                   periods: list[str] | None) -> pl.DataFrame:
    """Feedback the listen area stores, as a counts frame (empty until listen stores any)."""
    try:
        from voices.listen import service as listen
    except ImportError:  # the listen area stores nothing yet
        return aggregates.empty_counts()
    reader = getattr(listen, "responses_frame", None)
    if reader is None:
        return aggregates.empty_counts()
    frame = reader(session, organisation_ids, periods)
    if frame is None or frame.height == 0:
        return aggregates.empty_counts()
    return aggregates.counts_from_responses(listened_responses(frame))


def listened_responses(frame: pl.DataFrame) -> pl.DataFrame:
    """The listen area's stored responses in the measure engine's terms: the rating as
    ``response`` (responses without a rating left out) and every equity column as a code
    (anything unrecognised counts as not known)."""
    rename = {"rating": "response", "rating_label": "response"}
    frame = frame.rename({k: v for k, v in rename.items() if k in frame.columns})
    frame = frame.filter(pl.col("response").is_not_null()).with_columns(
        pl.col("response").cast(pl.String).replace_strict(
            {a: a for a in FFT_ANSWERS} | {normalise_answer(a): a for a in FFT_ANSWERS},
            default=None).alias("response"))
    frame = frame.filter(pl.col("response").is_not_null())
    recoded = []
    for name, dim in DIMENSIONS.items():
        if name in frame.columns:
            values = frame[name].cast(pl.String)
            lookup = {v: equity_code(dim, v) or dim.validate(None)
                      for v in values.unique().to_list() if v is not None}
            recoded.append(values.replace_strict(lookup, default=None).alias(name))
    keep = ["organisation", "service", "period", "response",
            *(["count"] if "count" in frame.columns else [])]
    return frame.select(keep).with_columns(recoded)


def _within(query, organisation_column, organisation_ids, period_column, periods):
    """Limit a query to some organisations and months (``None``: all of them)."""
    if organisation_ids is not None:
        query = query.where(organisation_column.in_(sorted(organisation_ids)))
    if periods is not None:
        query = query.where(period_column.in_(sorted(set(periods))))
    return query


def responses_frame(session: Session, organisation_ids: set[int] | None,
                    periods: list[str] | None) -> pl.DataFrame:
    """Every response count Voices holds for these organisations and months, from imported
    FFT returns and survey aggregates and from the feedback the listen area stores, as one
    counts frame (see :mod:`voices.measure.aggregates`): ``organisation`` (ODS code),
    ``service`` (name), ``period``, ``response``, ``dimension``, ``group``, ``count``.

    ``None`` means every organisation / every month.
    """
    query = (select(Organisation.ods_code, Service.name, ResponseCount.period,
                    ResponseCount.response, ResponseCount.dimension, ResponseCount.group_code,
                    ResponseCount.count)
             .join(Service, Service.id == ResponseCount.service_id)
             .join(Organisation, Organisation.id == Service.organisation_id))
    query = _within(query, Service.organisation_id, organisation_ids, ResponseCount.period,
                    periods)
    stored = pl.DataFrame(session.execute(query).all(), schema=aggregates.SCHEMA, orient="row")
    listened = _listen_counts(session, organisation_ids, periods)
    if listened.height == 0:
        return stored
    return (pl.concat([stored, listened.select(list(aggregates.SCHEMA))])
            .group_by(list(aggregates.SCHEMA)[:-1]).agg(pl.col("count").sum())
            .select(list(aggregates.SCHEMA)))


def activity_frame(session: Session, organisation_ids: set[int] | None,
                   periods: list[str] | None) -> pl.DataFrame:
    """Stored activity figures: ``organisation``, ``service`` (empty for the organisation's
    own figure), ``period``, ``measure``, ``value``, ``lower``, ``upper``."""
    query = (select(Organisation.ods_code, func.coalesce(Service.name, ""), ActivityFigure.period,
                    ActivityFigure.measure, ActivityFigure.value, ActivityFigure.lower,
                    ActivityFigure.upper)
             .join(Organisation, Organisation.id == ActivityFigure.organisation_id)
             .outerjoin(Service, Service.id == ActivityFigure.service_id))
    query = _within(query, ActivityFigure.organisation_id, organisation_ids,
                    ActivityFigure.period, periods)
    return pl.DataFrame(session.execute(query).all(), orient="row", schema={
        "organisation": pl.String, "service": pl.String, "period": pl.String,
        "measure": pl.String, "value": pl.Float64, "lower": pl.Float64, "upper": pl.Float64})


def available_periods(session: Session, organisation_ids: set[int] | None) -> list[str]:
    """Months with any response counts for these organisations, oldest first."""
    query = (select(ResponseCount.period).distinct()
             .join(Service, Service.id == ResponseCount.service_id))
    if organisation_ids is not None:
        query = query.where(Service.organisation_id.in_(sorted(organisation_ids)))
    periods = set(session.scalars(query).all())
    listened = _listen_counts(session, organisation_ids, None)
    periods |= set(listened["period"].to_list())
    return sorted(periods)


# -------------------------------------------------------------------------- scope


@dataclass
class Scope:
    """What a page or report is about: an organisation (with those below it) or
    everything visible, optionally one service, and a month."""

    organisation: Organisation | None
    organisation_ids: set[int] | None
    service: Service | None
    period: str | None
    periods: list[str]
    organisations: list[Organisation] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.service is not None:
            return self.service.name
        return self.organisation.name if self.organisation else "All organisations"

    @property
    def code(self) -> str:
        return self.organisation.ods_code if self.organisation else "ALL"

    def to_dict(self) -> dict:
        return {"organisation": self.organisation.ods_code if self.organisation else None,
                "organisation_name": self.organisation.name if self.organisation else None,
                "service": self.service.slug if self.service else None,
                "service_name": self.service.name if self.service else None,
                "period": self.period, "periods": self.periods}


def resolve_scope(session: Session, visible: set[int] | None, *, organisation: str | None = None,
                  service: str | None = None, period: str | None = None,
                  default_organisation: Organisation | None = None) -> Scope:
    """Check the chosen organisation (ODS code), service (short link) and month against what
    the viewer may see (``visible``: organisation ids, ``None`` for all). Anything outside
    it is "not found", so ids cannot be probed."""
    org = None
    if organisation:
        org = session.scalar(select(Organisation).where(
            Organisation.ods_code == organisation.strip().upper()))
        if org is None or (visible is not None and org.id not in visible):
            raise NotFound("We could not find that organisation.")
    elif default_organisation is not None:
        org = default_organisation
    ids = core.organisation_scope(session, org.id) if org else visible
    svc = None
    if service:
        svc = session.scalar(select(Service).where(Service.slug == service.strip().lower()))
        if svc is None or (ids is not None and svc.organisation_id not in ids):
            raise NotFound("We could not find that service.")
    if period is not None and not PERIOD.match(period):
        raise ValidationError(f"'{period[:20]}' is not a month", column="period",
                              expected="a month such as 2026-10")
    periods = available_periods(session, ids)
    organisations = [o for o in core.list_organisations(session)
                     if visible is None or o.id in visible]
    services = core.list_services(session, ids)
    return Scope(org, ids, svc, period or (periods[-1] if periods else None), periods,
                 organisations, services)


def _place_counts(counts: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """The counts of the scope's place (its service, or everything in it) as one unit,
    labelled with the scope's code."""
    if scope.service is not None:
        counts = counts.filter((pl.col("organisation") == scope.service.organisation.ods_code)
                               & (pl.col("service") == scope.service.name))
    return counts.with_columns(pl.lit(scope.code).alias("organisation"),
                               pl.lit(scope.code).alias("service"))


def _pooled(counts: pl.DataFrame, period: str) -> pl.DataFrame:
    """Counts of several months as if they were one month, ``period``."""
    return (counts.with_columns(pl.lit(period).alias("period"))
            .group_by(list(aggregates.SCHEMA)[:-1]).agg(pl.col("count").sum())
            .select(list(aggregates.SCHEMA)))


def _service_links(scope: Scope) -> dict[tuple[str, str], Service]:
    return {(s.organisation.ods_code, s.name): s for s in scope.services}


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fft_rows(table: pl.DataFrame) -> list[dict]:
    rows = []
    for r in table.iter_rows(named=True):
        rows.append({
            "period": r.get("period"), "responses": int(r["responses"]),
            "positive": int(r["positive"]), "negative": int(r["negative"]),
            "pct_positive": _num(r["pct_positive"]),
            "pct_positive_lower": _num(r["pct_positive_lower_95"]),
            "pct_positive_upper": _num(r["pct_positive_upper_95"]),
            "pct_negative": _num(r["pct_negative"]),
            "pct_negative_lower": _num(r["pct_negative_lower_95"]),
            "pct_negative_upper": _num(r["pct_negative_upper_95"]),
        })
    return rows


def _answer_counts(counts: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Totals as one column per FFT answer, for :func:`fft_summary`."""
    totals = counts.filter(pl.col("dimension") == ALL)
    columns = dict(zip(FFT_ANSWERS, ANSWER_COLUMNS, strict=True))
    wide = (totals.with_columns(pl.col("response").replace_strict(columns).alias("answer"))
            .group_by(*by, "answer").agg(pl.col("count").sum())
            .pivot(on="answer", index=by, values="count"))
    for name in ANSWER_COLUMNS:
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(name))
    return wide.with_columns([pl.col(c).fill_null(0) for c in ANSWER_COLUMNS])


# ---------------------------------------------------------------------- dashboard


def dashboard(session: Session, scope: Scope, dimension: str | None = None) -> dict:
    """The measures dashboard: the place's FFT trend over 12 months, each service's FFT in
    the month with its funnel flag, and (with ``dimension``) the place's groups."""
    data: dict = {"scope": scope.to_dict(), "period_name": month_name(scope.period),
                  "trend": [], "services": [], "headline": None, "groups": None,
                  "comments": None}
    if scope.period is None:
        return data
    window = months_back(scope.period, 12)
    counts = responses_frame(session, scope.organisation_ids, window)
    if scope.service is not None:
        counts = counts.filter(
            (pl.col("organisation") == scope.service.organisation.ods_code)
            & (pl.col("service") == scope.service.name))
    if counts.height == 0:
        return data
    trend = fft_summary(_answer_counts(counts, ["period"]), ["period"])
    data["trend"] = _fft_rows(trend)
    current = [r for r in data["trend"] if r["period"] == scope.period]
    data["headline"] = current[0] if current else None
    month = counts.filter(pl.col("period") == scope.period)
    if month.filter(pl.col("dimension") == ALL).height:
        per_service = fft_summary(_answer_counts(month, ["organisation", "service"]),
                                  ["organisation", "service"])
        flags = _funnel_flags(per_service, "additive")
        links = _service_links(scope)
        keys = per_service.select("organisation", "service").rows()
        for row, key, flag in zip(_fft_rows(per_service), keys, flags, strict=True):
            svc = links.get(key)
            data["services"].append({**row, "organisation": key[0], "service": key[1],
                                     "slug": svc.slug if svc else None, "flag": flag})
    if dimension:
        data["groups"] = _groups_for(month, scope, dimension, scope.period)
    data["comments"] = comments(session, scope)
    return data


def _funnel_flags(per_service: pl.DataFrame, method: str) -> list[str]:
    x = per_service["positive"].to_numpy().astype(float)
    n = per_service["responses"].to_numpy().astype(float)
    if len(n) < 2:
        return [""] * len(n)
    funnel = ProportionFunnel(overdispersion=method).fit(x, n)
    return [str(f) for f in funnel.assess(x, n)["flag"]]


def _group_rows(table: pl.DataFrame, dimension: str) -> list[dict]:
    dim = DIMENSIONS[dimension]
    order = {code: i for i, code in enumerate(dim.codes)}
    rows = []
    for r in sorted(table.filter(pl.col("dimension") == dimension).iter_rows(named=True),
                    key=lambda r: order.get(r["group"], 99)):
        rows.append({
            "group": r["group"], "label": r["group_label"], "responses": int(r["responses"]),
            "positive": int(r["positive"]), "pct": _num(r["pct_positive"]),
            "lower": _num(r["pct_positive_lower_95"]), "upper": _num(r["pct_positive_upper_95"]),
            "is_reference": bool(r["is_reference"]),
            "is_unknown": r["group"] in dim.unknown_codes,
            "gap": _num(r["gap_pct_points"]), "gap_lower": _num(r["gap_lower_95"]),
            "gap_upper": _num(r["gap_upper_95"]), "ratio": _num(r["ratio"]),
            "ratio_lower": _num(r["ratio_lower_95"]), "ratio_upper": _num(r["ratio_upper_95"]),
        })
    return rows


def _groups_for(counts: pl.DataFrame, scope: Scope, dimension: str, period: str) -> dict:
    if dimension not in DIMENSIONS:
        raise ValidationError(f"'{dimension[:40]}' is not an equity dimension",
                              column="dimension", expected="one of " + ", ".join(DIMENSIONS))
    tables = aggregates.measures_from_counts(
        _place_counts(counts, scope), MeasureOptions(simulations=PAGE_SIMULATIONS),
        dimensions=[dimension])
    table = tables.get("equity_organisation")
    dim = DIMENSIONS[dimension]
    return {"dimension": dimension, "label": dim.label,
            "reference": dim.label_for(dim.reference),
            "rows": _group_rows(table, dimension) if table is not None else []}


def dimensions_in(session: Session, scope: Scope) -> list[str]:
    """Equity dimensions with any breakdown for the scope, in the standard order."""
    query = (select(ResponseCount.dimension).distinct()
             .join(Service, Service.id == ResponseCount.service_id)
             .where(ResponseCount.dimension != ALL))
    if scope.organisation_ids is not None:
        query = query.where(Service.organisation_id.in_(sorted(scope.organisation_ids)))
    found = set(session.scalars(query).all())
    found |= set(_listen_counts(session, scope.organisation_ids, None)["dimension"].to_list())
    return [d for d in DIMENSIONS if d in found]


# ------------------------------------------------------------------------ comments

#: The listen area decides which I-statement themes a comment touches (through its own
#: crosswalk); measure only names them, so the two never drift apart: each domain here is
#: exactly one of listen's theme ids.
LISTEN_DOMAINS = {name: (themes[0],) for name, themes in I_STATEMENT_DOMAINS.items()}


def _listen_comments(session: Session, organisation_ids: set[int] | None,
                     periods: list[str] | None) -> pl.DataFrame | None:
    try:
        from voices.listen import service as listen
    except ImportError:  # the listen area stores nothing yet
        return None
    reader = getattr(listen, "comments_frame", None)
    return None if reader is None else reader(session, organisation_ids, periods)


def comments(session: Session, scope: Scope, months: int = 12) -> dict | None:
    """What people said in classified comments over ``months`` months to the scope's
    month: sentiment, the most mentioned themes, and I-statement domain scores (from the
    listen area; ``None`` when it holds no classified comments for the place)."""
    if scope.period is None:
        return None
    window = months_back(scope.period, months)
    frame = _listen_comments(session, scope.organisation_ids, window)
    if frame is None or frame.height == 0:
        return None
    if scope.service is not None:
        frame = frame.filter((pl.col("organisation") == scope.service.organisation.ods_code)
                             & (pl.col("service") == scope.service.name))
    if frame.height == 0:
        return None
    place = frame.select(
        pl.col("comment_id"), pl.lit(scope.code).alias("place"),
        pl.col("themes").fill_null([]), pl.col("i_statement_themes").fill_null([]),
        pl.col("sentiment_3").alias("sentiment"))
    by = ["place"]
    mood = sentiment_summary(place, by).row(0, named=True)
    themes = theme_prevalence(place, by).sort("mentions", descending=True).head(10)
    domains = domain_scores(place.with_columns(pl.col("i_statement_themes").alias("themes")),
                            LISTEN_DOMAINS, by)
    order = {name: i for i, name in enumerate(LISTEN_DOMAINS)}
    return {
        "months": months, "from_period_name": month_name(window[0]),
        "comments": int(mood["comments"]),
        "sentiment": {k: _num(mood[f"pct_{k}"]) for k in ("positive", "neutral", "negative")},
        "themes": [{"theme": r["theme"], "mentions": int(r["mentions"]),
                    "pct_mentions": _num(r["pct_mentions"]),
                    "pct_positive": _num(r["pct_positive"]),
                    "pct_negative": _num(r["pct_negative"])}
                   for r in themes.iter_rows(named=True)],
        "domains": sorted([{"domain": r["domain"], "comments": int(r["comments"]),
                            "pct_positive": _num(r["pct_positive"]),
                            "pct_negative": _num(r["pct_negative"]),
                            "net_score": _num(r["net_score"])}
                           for r in domains.iter_rows(named=True)],
                          key=lambda d: order.get(d["domain"], 99)),
    }


# -------------------------------------------------------------------------- funnel


def funnel_points(services: list[tuple[str, str, str | None]], positive, responses, *,
                  method: str = "additive", scale: str = "arcsine") -> dict:
    """Funnel-plot data for services (``(organisation, service, slug)`` each) with these
    counts: each service's flag and limits, the limit curves, the target, phi and tau2."""
    x = np.asarray(positive, dtype=float)
    n = np.asarray(responses, dtype=float)
    data: dict = {"points": [], "limits": [], "target_pct": None, "phi": None, "tau2": None}
    if n.size == 0:
        return data
    model = ProportionFunnel(overdispersion=method, scale=scale).fit(x, n)
    result = model.assess(x, n)
    for i, (org, name, slug) in enumerate(services):
        data["points"].append({
            "organisation": org, "service": name, "slug": slug, "responses": int(n[i]),
            "positive": int(x[i]), "pct_positive": 100.0 * x[i] / n[i],
            "z": _num(result["z"][i]), "flag": str(result["flag"][i]),
            **{key: 100.0 * float(result[key][i])
               for key in ("lower_95", "upper_95", "lower_998", "upper_998")}})
    grid = np.unique(np.geomspace(max(1.0, n.min() * 0.8), n.max() * 1.2, 60).round())
    limits = model.limits(grid)
    data["limits"] = [{"responses": int(g), **{k: 100.0 * float(v[i]) for k, v in limits.items()}}
                      for i, g in enumerate(grid)]
    data["target_pct"] = 100.0 * model.target_
    data["phi"] = _num(model.phi_)
    data["tau2"] = _num(model.tau2_)
    return data


def funnel(session: Session, scope: Scope, method: str = "additive",
           scale: str = "arcsine") -> dict:
    """Services compared on % positive in one month: 95% and 99.8% limits around the
    overall figure, over-dispersion handled by ``method`` (additive or multiplicative)."""
    data: dict = {"scope": scope.to_dict(), "period_name": month_name(scope.period),
                  "method": method, "scale": scale, "points": [], "limits": [],
                  "target_pct": None, "phi": None, "tau2": None}
    if scope.period is None:
        return data
    counts = responses_frame(session, scope.organisation_ids, [scope.period])
    if counts.filter(pl.col("dimension") == ALL).height == 0:
        return data
    per_service = fft_summary(_answer_counts(counts, ["organisation", "service"]),
                              ["organisation", "service"])
    links = _service_links(scope)
    services = [(o, s, links[(o, s)].slug if (o, s) in links else None)
                for o, s in per_service.select("organisation", "service").rows()]
    data.update(funnel_points(services, per_service["positive"].to_numpy(),
                              per_service["responses"].to_numpy(), method=method, scale=scale))
    return data


# ---------------------------------------------------------------------- inequality


def inequality(session: Session, scope: Scope, measure: str = "pct_positive",
               months: int = 12) -> dict:
    """Every equity dimension for the place, pooled over ``months`` months to the scope's
    month: each group's figure with its interval, its gap to the reference group, and the
    slope and relative index of inequality across deprivation deciles."""
    if measure not in ("pct_positive", "pct_negative"):
        raise ValidationError(f"'{measure[:40]}' is not a measure", column="measure",
                              expected="pct_positive or pct_negative")
    data: dict = {"scope": scope.to_dict(), "measure": measure, "months": months,
                  "period_name": month_name(scope.period), "dimensions": [], "sii": None}
    if scope.period is None:
        return data
    window = months_back(scope.period, months)
    data["from_period_name"] = month_name(window[0])
    counts = _place_counts(responses_frame(session, scope.organisation_ids, window), scope)
    if measure == "pct_negative":
        counts = aggregates.mirror(counts)
    tables = aggregates.measures_from_counts(_pooled(counts, scope.period),
                                             MeasureOptions(simulations=PAGE_SIMULATIONS))
    table = tables.get("equity_organisation")
    if table is not None:
        for name in DIMENSIONS:
            rows = _group_rows(table, name)
            if rows:
                dim = DIMENSIONS[name]
                data["dimensions"].append({"dimension": name, "label": dim.label,
                                           "reference": dim.label_for(dim.reference),
                                           "rows": rows})
    sii = tables.get("sii_organisation")
    if sii is not None and sii.height:
        r = sii.row(0, named=True)
        data["sii"] = {"sii": _num(r["sii_pct_points"]), "sii_lower": _num(r["sii_lower_95"]),
                       "sii_upper": _num(r["sii_upper_95"]), "rii": _num(r["rii"]),
                       "rii_lower": _num(r["rii_lower_95"]), "rii_upper": _num(r["rii_upper_95"]),
                       "method": r["method"], "note": r["note"],
                       "most_deprived_end": _num(r["pct_positive_most_deprived_end"])}
    return data


# ---------------------------------------------------------------------- scorecards


def save_scorecard(session: Session, organisation: Organisation, text: str,
                   actor: Account | None = None) -> ScorecardVersion:
    """Check and save a new version of an organisation's scorecard (YAML).

    Raises :class:`ValidationError` with every problem located (line, key path). Saving
    text identical to the version in force adds no version.
    """
    if len(text.encode("utf-8")) > MAX_SCORECARD_BYTES:
        raise ValidationError("the scorecard is too long", column="scorecard_yaml",
                              expected=f"at most {MAX_SCORECARD_BYTES // 1000} KB of YAML")
    card = parse_scorecard(text, source="scorecard")
    latest = session.scalar(select(ScorecardVersion).where(
        ScorecardVersion.organisation_id == organisation.id)
        .order_by(ScorecardVersion.version.desc()).limit(1))
    if latest is not None and latest.yaml_text == text:
        return latest
    version = ScorecardVersion(organisation_id=organisation.id,
                               version=(latest.version + 1) if latest else 1,
                               title=card.title[:200], yaml_text=text,
                               saved_by=actor.id if actor else None)
    session.add(version)
    session.flush()
    audit.record(session, "measure.scorecard.save", actor=actor,
                 record_type="measure_scorecard_version", record_id=version.id,
                 organisation_id=organisation.id,
                 summary=f"Saved scorecard version {version.version}")
    return version


def scorecard_versions(session: Session, organisation: Organisation) -> list[ScorecardVersion]:
    return list(session.scalars(select(ScorecardVersion).where(
        ScorecardVersion.organisation_id == organisation.id)
        .order_by(ScorecardVersion.version.desc())))


@dataclass
class ScorecardInForce:
    card: Scorecard
    version: ScorecardVersion | None
    owner: Organisation | None      # whose scorecard it is (None: Voices' default)

    def describe(self) -> str:
        if self.version is None:
            return "The default Voices scorecard (no organisation has saved its own)."
        return (f"{self.owner.name}'s scorecard, version {self.version.version}, saved "
                f"{self.version.saved_at:%d %B %Y}"
                + (f" by {self.version.author.display_name}" if self.version.author else "")
                + ".")


def scorecard_in_force(session: Session, organisation: Organisation | None) -> ScorecardInForce:
    """The organisation's newest scorecard, else the nearest one above it (a trust uses its
    ICB's), else the default that ships with Voices."""
    org = organisation
    seen = set()
    while org is not None and org.id not in seen:
        seen.add(org.id)
        version = session.scalar(select(ScorecardVersion).where(
            ScorecardVersion.organisation_id == org.id)
            .order_by(ScorecardVersion.version.desc()).limit(1))
        if version is not None:
            return ScorecardInForce(parse_scorecard(version.yaml_text, source="scorecard"),
                                    version, org)
        org = org.parent
    return ScorecardInForce(default_scorecard(), None, None)


def _scorecard_dimensions(card: Scorecard) -> list[str]:
    dims = {m.dimension for m in card.measures if m.source == "equity_gap" and m.dimension}
    if any(m.source == "sii" for m in card.measures):
        dims.add("imd_decile")
    return sorted(dims)


def _scorecard_rows(frame: pl.DataFrame) -> list[dict]:
    rows = []
    for r in frame.iter_rows(named=True):
        rows.append({
            "measure_id": r["measure_id"], "title": r["title"], "group": r["group"],
            "service": r.get("service"), "period": r["period"], "value": _num(r["value"]),
            "lower": _num(r["lower_95"]), "upper": _num(r["upper_95"]),
            "target": _num(r["target"]), "direction": r["direction"], "unit": r["unit"],
            "status": r["status"], "trend": r["trend"],
            "trend_periods": list(r["trend_periods"]),
            "trend_values": [_num(v) for v in r["trend_values"]],
            "detail": r["detail"], "summary": r["summary"]})
    return rows


def scorecard(session: Session, scope: Scope, *, rounded: bool = False) -> dict:
    """The scorecard in force for the scope's organisation, scored for the place (the
    service chosen, or the organisation with everything below it) and for each service.

    With ``rounded``, every figure is worked out from counts rounded to 5 with groups of 1
    to 7 left out (:func:`voices.measure.published.rounded_counts`), for publication.
    """
    in_force = scorecard_in_force(session, scope.organisation)
    card = in_force.card
    data: dict = {"scope": scope.to_dict(), "period_name": month_name(scope.period),
                  "title": card.title, "description": card.description,
                  "in_force": in_force.describe(),
                  "version": in_force.version.version if in_force.version else None,
                  "owner": in_force.owner.ods_code if in_force.owner else None,
                  "place": [], "services": []}
    if scope.period is None:
        return data
    window = months_back(scope.period, card.trend_periods)
    counts = responses_frame(session, scope.organisation_ids, window)
    activity = activity_frame(session, scope.organisation_ids, window)
    options = MeasureOptions(simulations=PAGE_SIMULATIONS)
    dims = _scorecard_dimensions(card)
    place_counts = _place_counts(counts, scope)
    if rounded:  # round the place's own counts, not each service's
        place_counts = published.rounded_counts(
            place_counts, ["organisation", "service", "period", "dimension", "group"])
    if scope.service is not None:
        place_activity = activity.filter(
            (pl.col("organisation") == scope.service.organisation.ods_code)
            & (pl.col("service") == scope.service.name))
    elif scope.organisation is not None:
        place_activity = activity.filter((pl.col("organisation") == scope.code)
                                         & (pl.col("service") == ""))
    else:
        place_activity = activity.clear()
    place_activity = place_activity.with_columns(pl.lit(scope.code).alias("organisation"),
                                                 pl.lit("").alias("service"))
    tables = aggregates.measures_from_counts(place_counts, options, dimensions=dims)
    if tables:
        data["place"] = _scorecard_rows(compute_scorecard(
            card, tables, level="organisation", activity=place_activity, period=scope.period))
    if scope.service is None and not rounded:
        service_tables = aggregates.measures_from_counts(counts, options, dimensions=dims)
        if service_tables:
            frame = compute_scorecard(card, service_tables, level="service",
                                      activity=activity.filter(pl.col("service") != ""),
                                      period=scope.period)
            links = _service_links(scope)
            by_service: dict[tuple[str, str], list[dict]] = {}
            for row, raw in zip(_scorecard_rows(frame), frame.iter_rows(named=True),
                                strict=True):
                by_service.setdefault((raw["organisation"], raw["service"]), []).append(row)
            for key, rows in by_service.items():
                svc = links.get(key)
                data["services"].append({"organisation": key[0], "service": key[1],
                                         "slug": svc.slug if svc else None, "measures": rows})
    return data


# ----------------------------------------------------------------------- published


def _published_rows(rows: list[published.PublishedRow]) -> list[dict]:
    return [r.to_dict() for r in rows]


def published_measures(session: Session, scope: Scope) -> dict:
    """The published view of the scope's organisation: disclosure-controlled counts, and
    percentages, intervals, gaps and slope index worked out from them alone."""
    data: dict = {"scope": {k: v for k, v in scope.to_dict().items()},
                  "period_name": month_name(scope.period), "services": [], "trend": [],
                  "dimensions": [], "sii": None}
    if scope.period is None:
        return data
    window = months_back(scope.period, 12)
    data["from_period_name"] = month_name(window[0])
    counts = responses_frame(session, scope.organisation_ids, window)
    totals = counts.filter(pl.col("dimension") == ALL)
    month = totals.filter(pl.col("period") == scope.period)
    if month.height:
        keyed = month.with_columns(pl.concat_str("organisation", pl.lit("|"), "service")
                                   .alias("key"))
        labels = {f"{s.organisation.ods_code}|{s.name}": s.name for s in scope.services}
        data["services"] = _published_rows(published.publish_table(
            published.class_table(keyed, "key"), "key", labels,
            total_label=f"All services of {scope.label}"))
    if totals.height:
        data["trend"] = _published_rows(published.publish_table(
            published.class_table(totals, "period"), "period",
            {p: month_name(p) for p in window}, order=window,
            total_label=f"12 months to {month_name(scope.period)}"))
    for name, dim in DIMENSIONS.items():
        part = counts.filter(pl.col("dimension") == name)
        if part.height == 0:
            continue
        part = aggregates.complete_breakdowns(pl.concat([totals, part])).filter(
            pl.col("dimension") == name)
        rows = published.publish_table(published.class_table(part, "group"), "group",
                                       {c: dim.label_for(c) for c in dim.codes},
                                       order=list(dim.codes))
        gaps = published.publish_gaps(rows, dim.reference or "", skip=sorted(dim.unknown_codes))
        entries = []
        for row in rows:
            entry = row.to_dict()
            gap = gaps.get(row.code)
            entry.update({"is_reference": row.code == dim.reference,
                          "is_unknown": row.code in dim.unknown_codes,
                          "gap": gap.gap_pct_points if gap else None,
                          "gap_lower": gap.lower if gap else None,
                          "gap_upper": gap.upper if gap else None})
            entries.append(entry)
        data["dimensions"].append({"dimension": name, "label": dim.label,
                                   "reference": dim.label_for(dim.reference),
                                   "rows": entries})
        if name == "imd_decile":
            slope = published.publish_slope(rows, simulations=PAGE_SIMULATIONS)
            data["sii"] = dict(slope.__dict__)
    return data


def publishable_organisations(session: Session) -> list[Organisation]:
    """Organisations with any response counts (their own or below them)."""
    with_data = set(session.scalars(select(Service.organisation_id).distinct().join(
        ResponseCount, ResponseCount.service_id == Service.id)).all())
    orgs = core.list_organisations(session)
    parents = {o.id: o.parent_id for o in orgs}
    keep = set()
    for org_id in with_data:
        while org_id is not None and org_id not in keep:
            keep.add(org_id)
            org_id = parents.get(org_id)
    # the widest first (an ICB before its trusts), then by name
    return sorted((o for o in orgs if o.id in keep), key=lambda o: (o.parent_id is not None,
                                                                    o.name))
