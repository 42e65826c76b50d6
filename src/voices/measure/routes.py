"""Measure pages and their JSON twins: dashboard, funnel plot, inequality, scorecard (with
its editor) for analysts, and the published measures page for everyone."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from voices.core import audit
from voices.core.models import Account, Role
from voices.equity.dimensions import DIMENSIONS
from voices.errors import ValidationError, VoicesError
from voices.measure import figures
from voices.measure import service as measure
from voices.measure.published import percent, shown
from voices.measure.scorecard import default_scorecard_text
from voices.web.access import (
    ANALYSTS,
    PUBLIC,
    STAFF,
    check_organisation,
    get_db,
    visible_organisations,
)
from voices.web.api import ERRORS
from voices.web.forms import FormErrors, form_text
from voices.web.templating import render

router = APIRouter(prefix="/measure", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/measure", tags=["measure"])

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
Organisation = Query(None, max_length=10, description="ODS code (default: your organisation)")
ServiceSlug = Query(None, max_length=80, description="The service's short link")
Period = Query(None, pattern=PERIOD, description="Month, YYYY-MM (default: the latest)")
Dimension = Query(None, max_length=40, description="An equity dimension, e.g. ethnic_group")
Method = Literal["additive", "multiplicative"]
Measure = Literal["pct_positive", "pct_negative"]
MEASURE_WORDS = {"pct_positive": "good experience", "pct_negative": "poor experience"}

CRUMBS = [{"href": "/", "text": "Home"}, {"href": "/measure", "text": "Measure"}]


def _scope(db: Session, account: Account | None, organisation, service, period,
           *, public: bool = False) -> measure.Scope:
    visible = None if public or account is None else visible_organisations(db, account)
    default = None
    if not public and account is not None and account.organisation is not None:
        default = account.organisation
    return measure.resolve_scope(db, visible, organisation=organisation or None,
                                 service=service or None, period=period or None,
                                 default_organisation=default)


def _options(scope: measure.Scope, *, public: bool = False,
             organisations: list | None = None) -> dict:
    orgs = organisations if organisations is not None else scope.organisations
    chosen = scope.organisation.ods_code if scope.organisation else ""
    org_items = ([] if public else [{"value": "", "text": "All organisations you can see"}]) + [
        {"value": o.ods_code, "text": f"{o.name} ({o.ods_code})", "selected": o.ods_code == chosen}
        for o in orgs]
    service_items = [{"value": "", "text": "All services"}] + [
        {"value": s.slug, "text": s.name,
         "selected": scope.service is not None and s.id == scope.service.id}
        for s in scope.services]
    period_items = [{"value": p, "text": measure.month_name(p), "selected": p == scope.period}
                    for p in reversed(scope.periods)]
    return {"organisation_items": org_items, "service_items": service_items,
            "period_items": period_items}


def _query(scope: measure.Scope, **extra) -> str:
    from urllib.parse import urlencode

    params = {"organisation": scope.organisation.ods_code if scope.organisation else None,
              "period": scope.period, **extra}
    return urlencode({k: v for k, v in params.items() if v})


def _exact(row: dict) -> str:
    return f"{row['responses']:,}"


# ------------------------------------------------------------------------- dashboard


@router.get("")
def dashboard_page(request: Request, organisation: str | None = Organisation,
                   service: str | None = ServiceSlug, period: str | None = Period,
                   dimension: str | None = Dimension, account: Account = Depends(STAFF),
                   db: Session = Depends(get_db)):
    if account.role is Role.involvement_lead:
        # Exact counts are for analysts; involvement leads see what the public sees.
        return RedirectResponse("/measure/published", status_code=303)
    scope = _scope(db, account, organisation, service, period)
    data = measure.dashboard(db, scope, dimension or None)
    if dimension:
        _audit_groups(db, account, scope)
    label = scope.label
    trend = figures.trend_figure(data["trend"], title=f"Good experience, {label}, by month",
                                 counts=_exact)
    services = figures.services_figure(
        data["services"], title=f"Good experience by service, {data['period_name']}",
        overall=data["headline"]["pct_positive"] if data["headline"] else None, counts=_exact)
    groups = None
    if data["groups"] and data["groups"]["rows"]:
        g = data["groups"]
        groups = figures.groups_figure(g["rows"], title=f"Good experience by {g['label'].lower()}"
                                       f", {label}, {data['period_name']}",
                                       reference=g["reference"], what="good experience",
                                       counts=_exact)
    dims = measure.dimensions_in(db, scope)
    return render(request, "measure/dashboard.html", {
        "data": data, "scope": scope, "trend_figure": trend, "services_figure": services,
        "groups_figure": groups, "dimension": dimension or "",
        "dimension_items": [{"value": "", "text": "None"}] + [
            {"value": d, "text": DIMENSIONS[d].label, "selected": d == dimension} for d in dims],
        "query": _query(scope), "crumbs": CRUMBS[:1], **_options(scope),
        "pct": figures.pct, "interval": figures.interval, "points": figures.points})


# ---------------------------------------------------------------------------- funnel


@router.get("/funnel")
def funnel_page(request: Request, organisation: str | None = Organisation,
                period: str | None = Period, method: Method = "additive",
                account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    scope = _scope(db, account, organisation, None, period)
    data = measure.funnel(db, scope, method)
    fig = figures.funnel_figure(data, title=f"Funnel plot of good experience, {scope.label}, "
                                            f"{data['period_name']}")
    return render(request, "measure/funnel.html", {
        "data": data, "scope": scope, "figure": fig, "query": _query(scope),
        "method_items": [{"value": "additive", "text": "Additive (random effects)",
                          "checked": method == "additive"},
                         {"value": "multiplicative", "text": "Multiplicative (scaled limits)",
                          "checked": method == "multiplicative"}],
        "crumbs": CRUMBS, **_options(scope), "pct": figures.pct, "interval": figures.interval})


# ------------------------------------------------------------------------ inequality


def _inequality(db: Session, account: Account, organisation, service, period, measure_name,
                months) -> tuple[measure.Scope, dict]:
    """The inequality figures, audited: they show exact counts by equity group."""
    scope = _scope(db, account, organisation, service, period)
    data = measure.inequality(db, scope, measure_name, int(months))
    _audit_groups(db, account, scope)
    return scope, data


def _audit_groups(db: Session, account: Account, scope: measure.Scope) -> None:
    """Exact counts by equity group are a view of (aggregated) personal data: audited."""
    org_id = scope.organisation.id if scope.organisation else None
    audit.record(db, "measure.groups.view", actor=account, record_type="organisation",
                 record_id=org_id, organisation_id=org_id,
                 summary="Viewed exact counts by equity group")
    db.commit()


@router.get("/inequality")
def inequality_page(request: Request, organisation: str | None = Organisation,
                    service: str | None = ServiceSlug, period: str | None = Period,
                    measure_name: Measure = Query("pct_positive", alias="measure"),
                    months: Literal["1", "3", "12"] = "12",
                    account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    scope, data = _inequality(db, account, organisation, service, period, measure_name,
                              months)
    what = MEASURE_WORDS[measure_name]
    charts = []
    for dim in data["dimensions"]:
        charts.append(figures.groups_figure(
            dim["rows"], title=f"{what.capitalize()} by {dim['label'].lower()}, {scope.label}",
            reference=dim["reference"], what=what, counts=_exact))
    return render(request, "measure/inequality.html", {
        "data": data, "scope": scope, "charts": charts, "what": what,
        "query": _query(scope), "crumbs": CRUMBS, **_options(scope),
        "measure_items": [{"value": k, "text": f"% {v}", "selected": k == measure_name}
                          for k, v in MEASURE_WORDS.items()],
        "months_items": [{"value": m, "text": t, "selected": m == months} for m, t in
                         (("1", "The month only"), ("3", "3 months"), ("12", "12 months"))],
        "pct": figures.pct, "interval": figures.interval, "points": figures.points})


# ------------------------------------------------------------------------- scorecard

STATUS_TAGS = {"Better than target": "nhsuk-tag--green", "Meeting target": "nhsuk-tag--green",
               "About on target": "nhsuk-tag--blue", "Worse than target": "nhsuk-tag--red",
               "Not meeting target": "nhsuk-tag--red", "No data": "nhsuk-tag--grey"}


def _value(row: dict, key: str = "value") -> str:
    value = row.get(key)
    if value is None:
        return "No data"
    return f"{value:.1f}%" if row["unit"] == "%" else f"{value:.1f} {row['unit']}".strip()


@router.get("/scorecard")
def scorecard_page(request: Request, organisation: str | None = Organisation,
                   service: str | None = ServiceSlug, period: str | None = Period,
                   saved: int | None = Query(None, ge=1, le=1_000_000),
                   account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    scope = _scope(db, account, organisation, service, period)
    data = measure.scorecard(db, scope)
    fig = figures.scorecard_figure(data["place"], title=f"Measures of success, {scope.label}, "
                                                        "month by month")
    return render(request, "measure/scorecard.html", {
        "data": data, "scope": scope, "figure": fig, "query": _query(scope),
        "crumbs": CRUMBS, **_options(scope), "tags": STATUS_TAGS, "value": _value,
        "notice": f"Scorecard version {saved} saved." if saved else None, "notice_success": True})


def _editable(db: Session, account: Account, organisation: str | None):
    scope = _scope(db, account, organisation, None, None)
    org = scope.organisation or (scope.organisations[0] if scope.organisations else None)
    return scope, org


def _editor(request: Request, db: Session, scope, org, text: str, errors=None,
            status_code: int = 200):
    versions = measure.scorecard_versions(db, org) if org else []
    return render(request, "measure/scorecard_edit.html", {
        "scope": scope, "organisation": org, "text": text, "versions": versions,
        "errors": errors, "crumbs": [*CRUMBS, {"href": "/measure/scorecard"
                                               + (f"?organisation={org.ods_code}" if org else ""),
                                               "text": "Scorecard"}],
        "organisation_items": [{"value": o.ods_code, "text": f"{o.name} ({o.ods_code})",
                                "selected": org is not None and o.id == org.id}
                               for o in scope.organisations]}, status_code=status_code)


@router.get("/scorecard/edit")
def scorecard_edit(request: Request, organisation: str | None = Organisation,
                   account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    scope, org = _editable(db, account, organisation)
    in_force = measure.scorecard_in_force(db, org)
    text = in_force.version.yaml_text if in_force.version else \
        default_scorecard_text()
    return _editor(request, db, scope, org, text)


class ScorecardErrors(FormErrors):
    """Every located problem in the YAML, each linking to the text box."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[str] = []

    def add_problems(self, error: VoicesError) -> None:
        problems = getattr(error, "problems", None) or []
        for problem in problems:
            where = f"Line {problem.row}: " if problem.row else ""
            text = where + problem.message + (f" (expected {problem.expected})"
                                              if problem.expected else "")
            self.items.append(text)
        if not problems:
            self.items.append(error.message)
        self.add("scorecard_yaml", self.items[0])

    def summary(self) -> list[dict]:
        return [{"text": text, "href": "#scorecard_yaml"} for text in self.items] or \
            super().summary()


@router.post("/scorecard/edit")
async def scorecard_save(request: Request, account: Account = Depends(ANALYSTS),
                         db: Session = Depends(get_db)):
    form = await request.form()
    scope, org = _editable(db, account, form_text(form, "organisation", 10) or None)
    text = form_text(form, "scorecard_yaml", measure.MAX_SCORECARD_BYTES + 1)
    upload = form.get("scorecard_file")
    errors = ScorecardErrors()
    if upload is not None and not isinstance(upload, str) and upload.filename:
        raw = await upload.read(measure.MAX_SCORECARD_BYTES + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.add_problems(ValidationError("the file is not UTF-8 text",
                                                expected="a YAML file saved as UTF-8"))
    if org is None:
        errors.add_problems(ValidationError("choose an organisation"))
    if not errors:
        try:
            check_organisation(db, account, org.id)
            version = measure.save_scorecard(db, org, text, actor=account)
            db.commit()
            return RedirectResponse(f"/measure/scorecard?organisation={org.ods_code}"
                                    f"&saved={version.version}", status_code=303)
        except ValidationError as exc:
            db.rollback()
            errors.add_problems(exc)
    return _editor(request, db, scope, org, text, errors, status_code=422)


# ------------------------------------------------------------------------- published


def _published_figures(data: dict, scope: measure.Scope, *, png: bool = False) -> dict:
    trend_rows = [{**r, "period": r["code"], "period_name": r["label"]}
                  for r in data["trend"] if not r["is_total"]]
    service_rows = [{**r, "service": r["label"]} for r in data["services"] if not r["is_total"]]
    counts = (lambda r: shown(r["responses"]))
    out = {"trend": figures.trend_figure(trend_rows, title=f"Good experience, {scope.label}, "
                                                           "by month", counts=counts, png=png),
           "services": figures.services_figure(
               service_rows, title=f"Good experience by service, {data['period_name']}",
               counts=counts, png=png),
           "dimensions": []}
    for dim in data["dimensions"]:
        rows = [{**r, "pct": r["pct_positive"], "lower": r["pct_positive_lower"],
                 "upper": r["pct_positive_upper"]} for r in dim["rows"] if not r["is_total"]]
        out["dimensions"].append(figures.groups_figure(
            rows, title=f"Good experience by {dim['label'].lower()}, {scope.label}",
            reference=dim["reference"], what="good experience", counts=counts, png=png))
    return out


@router.get("/published")
def published_page(request: Request, organisation: str | None = Organisation,
                   period: str | None = Period, account: Account | None = Depends(PUBLIC),
                   db: Session = Depends(get_db)):
    orgs = measure.publishable_organisations(db)
    if not organisation and orgs:
        organisation = orgs[0].ods_code
    scope = _scope(db, None, organisation, None, period, public=True)
    data = measure.published_measures(db, scope)
    return render(request, "measure/published.html", {
        "data": data, "scope": scope, "figures": _published_figures(data, scope),
        **_options(scope, public=True, organisations=orgs), "shown": shown, "percent": percent,
        "interval": figures.interval, "points": figures.points,
        "crumbs": [{"href": "/", "text": "Home"}]})


# ---------------------------------------------------------------------- JSON twins


class ScopeOut(BaseModel):
    organisation: str | None
    organisation_name: str | None
    service: str | None
    service_name: str | None
    period: str | None
    periods: list[str]


class FftOut(BaseModel):
    period: str | None = None
    responses: int
    positive: int
    negative: int
    pct_positive: float | None
    pct_positive_lower: float | None
    pct_positive_upper: float | None
    pct_negative: float | None
    pct_negative_lower: float | None
    pct_negative_upper: float | None


class ServiceFftOut(FftOut):
    organisation: str
    service: str
    slug: str | None
    flag: str = Field(description="Funnel-plot flag against the other services (additive)")


class GroupOut(BaseModel):
    group: str
    label: str
    responses: int
    positive: int
    pct: float | None
    lower: float | None
    upper: float | None
    is_reference: bool
    is_unknown: bool
    gap: float | None = Field(description="Percentage points from the reference group")
    gap_lower: float | None
    gap_upper: float | None
    ratio: float | None
    ratio_lower: float | None
    ratio_upper: float | None


class DimensionOut(BaseModel):
    dimension: str
    label: str
    reference: str
    rows: list[GroupOut]


class ThemeOut(BaseModel):
    theme: str
    mentions: int
    pct_mentions: float | None
    pct_positive: float | None
    pct_negative: float | None


class DomainOut(BaseModel):
    domain: str
    comments: int
    pct_positive: float | None
    pct_negative: float | None
    net_score: float | None


class CommentsOut(BaseModel):
    months: int
    from_period_name: str
    comments: int
    sentiment: dict[str, float | None]
    themes: list[ThemeOut]
    domains: list[DomainOut]


class DashboardOut(BaseModel):
    scope: ScopeOut
    period_name: str
    headline: FftOut | None
    trend: list[FftOut]
    services: list[ServiceFftOut]
    groups: DimensionOut | None
    comments: CommentsOut | None = Field(
        None, description="Classified comments from the listen area, over 12 months")


@api_router.get("/dashboard", response_model=DashboardOut, responses=ERRORS,
                summary="FFT by month and by service, and optionally by group")
def dashboard_json(organisation: str | None = Organisation, service: str | None = ServiceSlug,
                   period: str | None = Period, dimension: str | None = Dimension,
                   account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    scope = _scope(db, account, organisation, service, period)
    data = measure.dashboard(db, scope, dimension or None)
    if dimension:
        _audit_groups(db, account, scope)
    return data


class FunnelPointOut(BaseModel):
    organisation: str
    service: str
    slug: str | None
    responses: int
    positive: int
    pct_positive: float
    z: float | None
    flag: str
    lower_95: float
    upper_95: float
    lower_998: float
    upper_998: float


class FunnelOut(BaseModel):
    scope: ScopeOut
    period_name: str
    method: str
    scale: str
    target_pct: float | None
    phi: float | None
    tau2: float | None
    points: list[FunnelPointOut]
    limits: list[dict[str, float]]


@api_router.get("/funnel", response_model=FunnelOut, responses=ERRORS,
                summary="Services compared on % positive with 95% and 99.8% limits")
def funnel_json(organisation: str | None = Organisation, period: str | None = Period,
                method: Method = "additive", account: Account = Depends(ANALYSTS),
                db: Session = Depends(get_db)):
    return measure.funnel(db, _scope(db, account, organisation, None, period), method)


class SiiOut(BaseModel):
    sii: float | None
    sii_lower: float | None
    sii_upper: float | None
    rii: float | None
    rii_lower: float | None
    rii_upper: float | None
    method: str
    note: str
    most_deprived_end: float | None


class InequalityOut(BaseModel):
    scope: ScopeOut
    measure: str
    months: int
    period_name: str
    dimensions: list[DimensionOut]
    sii: SiiOut | None


@api_router.get("/inequality", response_model=InequalityOut, responses=ERRORS,
                summary="Every equity dimension: groups, gaps, slope index of inequality")
def inequality_json(organisation: str | None = Organisation, service: str | None = ServiceSlug,
                    period: str | None = Period,
                    measure_name: Measure = Query("pct_positive", alias="measure"),
                    months: Literal["1", "3", "12"] = "12",
                    account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    return _inequality(db, account, organisation, service, period, measure_name, months)[1]


class ScorecardRowOut(BaseModel):
    measure_id: str
    title: str
    group: str
    period: str | None
    value: float | None
    lower: float | None
    upper: float | None
    target: float | None
    direction: str
    unit: str
    status: str
    trend: str
    trend_periods: list[str]
    trend_values: list[float | None]
    detail: str
    summary: str


class ScorecardServiceOut(BaseModel):
    organisation: str
    service: str
    slug: str | None
    measures: list[ScorecardRowOut]


class ScorecardOut(BaseModel):
    scope: ScopeOut
    period_name: str
    title: str
    description: str
    in_force: str
    version: int | None
    owner: str | None
    place: list[ScorecardRowOut]
    services: list[ScorecardServiceOut]


@api_router.get("/scorecard", response_model=ScorecardOut, responses=ERRORS,
                summary="The scorecard in force, scored for the place and each service")
def scorecard_json(organisation: str | None = Organisation, service: str | None = ServiceSlug,
                   period: str | None = Period, account: Account = Depends(ANALYSTS),
                   db: Session = Depends(get_db)):
    return measure.scorecard(db, _scope(db, account, organisation, service, period))


class ScorecardIn(BaseModel):
    organisation: str = Field(..., max_length=10, description="ODS code")
    yaml: str = Field(..., max_length=measure.MAX_SCORECARD_BYTES,
                      description="The scorecard, as YAML (see docs/measure.md)")


class ScorecardSavedOut(BaseModel):
    organisation: str
    version: int
    title: str


@api_router.post("/scorecard", response_model=ScorecardSavedOut, status_code=201,
                 responses=ERRORS, summary="Save a new version of an organisation's scorecard")
def scorecard_save_json(body: ScorecardIn, account: Account = Depends(ANALYSTS),
                        db: Session = Depends(get_db)):
    scope = _scope(db, account, body.organisation, None, None)
    if scope.organisation is None:
        raise ValidationError("choose an organisation", column="organisation",
                              expected="an ODS code")
    version = measure.save_scorecard(db, scope.organisation, body.yaml, actor=account)
    db.commit()
    return ScorecardSavedOut(organisation=scope.organisation.ods_code, version=version.version,
                             title=version.title)


class PublishedRowOut(BaseModel):
    label: str
    code: str
    positive: int | str = Field(description="A count rounded to 5, or * when hidden")
    negative: int | str
    other: int | str
    responses: int | str
    pct_positive: float | None
    pct_positive_lower: float | None
    pct_positive_upper: float | None
    pct_negative: float | None
    is_total: bool


class PublishedGroupOut(PublishedRowOut):
    is_reference: bool
    is_unknown: bool
    gap: float | None
    gap_lower: float | None
    gap_upper: float | None


class PublishedDimensionOut(BaseModel):
    dimension: str
    label: str
    reference: str
    rows: list[PublishedGroupOut]


class PublishedSlopeOut(BaseModel):
    sii_pct_points: float | None
    sii_lower: float | None
    sii_upper: float | None
    rii: float | None
    rii_lower: float | None
    rii_upper: float | None
    reason: str | None


class PublishedOut(BaseModel):
    scope: ScopeOut
    period_name: str
    services: list[PublishedRowOut]
    trend: list[PublishedRowOut]
    dimensions: list[PublishedDimensionOut]
    sii: PublishedSlopeOut | None


@api_router.get("/published", response_model=PublishedOut, responses=ERRORS,
                summary="Published measures: disclosure-controlled counts and percentages")
def published_json(organisation: str | None = Organisation, period: str | None = Period,
                   account: Account | None = Depends(PUBLIC), db: Session = Depends(get_db)):
    orgs = measure.publishable_organisations(db)
    if not organisation and orgs:
        organisation = orgs[0].ods_code
    return measure.published_measures(
        db, _scope(db, None, organisation, None, period, public=True))
