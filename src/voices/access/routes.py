"""Access pages and their JSON twins: waiting lists and who waits longest, prioritisation
policies (with versions, history and an editor), ranked lists, simulations, the queueing
calculator and RTT comparisons.

Analysts see exact figures and pathway-level lists (every view and export audited);
involvement leads see the equity figures after disclosure control.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from voices.access import figures
from voices.access import service as access
from voices.access.calculator import DEFAULTS as CALCULATOR_DEFAULTS
from voices.access.calculator import FIELDS as CALCULATOR_FIELDS
from voices.access.calculator import calculate
from voices.access.models import PolicyVersion
from voices.access.simulation import MEASURE_LABELS
from voices.core.models import Account, Role
from voices.errors import ValidationError, VoicesError
from voices.exports import frame_csv
from voices.web.access import ANALYSTS, STAFF, get_db, visible_organisations
from voices.web.api import ERRORS
from voices.web.forms import FormErrors, form_text
from voices.web.templating import render

router = APIRouter(prefix="/access", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/access", tags=["access"])

CRUMBS = [{"href": "/", "text": "Home"}, {"href": "/access", "text": "Access"}]
PER_PAGE = 50
MAX_UPLOAD_BYTES = 200 * 2**20
INLINE_IMPORT_BYTES = 2 * 2**20
UPLOAD_TYPES = (".csv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")


def _scope(db: Session, account: Account) -> set[int] | None:
    return visible_organisations(db, account)


def _exact(account: Account) -> bool:
    return account.role in (Role.admin, Role.analyst)


def _org_items(orgs, selected: int | None, blank: str | None = None) -> list[dict]:
    items = [{"value": "", "text": blank}] if blank else []
    return items + [{"value": o.ods_code, "text": f"{o.name} ({o.ods_code})",
                     "selected": o.id == selected} for o in orgs]


class ProblemErrors(FormErrors):
    """Form errors where one field (a file or YAML) can have many located problems: each
    problem is its own line in the error summary, linking to that field."""

    def __init__(self, field_map: dict | None = None) -> None:
        super().__init__(field_map)
        self.items: list[dict] = []

    def add_problems(self, error: VoicesError, field: str, *, lines: bool = False) -> None:
        problems = getattr(error, "problems", None) or []
        if not problems:
            self.add(field, error.message)
            self.items.append({"text": error.message, "href": f"#{field}"})
            return
        for problem in problems:
            target = self._field_map.get(problem.column, None) if problem.column else None
            target = target or field
            if lines:
                where = f"Line {problem.row}: " if problem.row else ""
                text = where + problem.message
            else:
                text = str(problem)
            if problem.expected and lines:
                text += f" (expected {problem.expected})"
            self.items.append({"text": text, "href": f"#{target}"})
            self.add(target, text)

    def summary(self) -> list[dict]:
        return self.items + [item for item in super().summary()
                             if item["text"] not in {i["text"] for i in self.items}]


# ---------------------------------------------------------------------------- landing


@router.get("")
def landing(request: Request, account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    scope = _scope(db, account)
    snapshots = access.list_snapshots(db, scope)
    return render(request, "access/index.html", {
        "snapshots": snapshots, "policies": access.list_policies(db, scope),
        "simulations": access.list_simulations(db, scope, limit=5),
        "exact": _exact(account), "crumbs": CRUMBS[:1],
        "notice": _notice(request)})


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done")
    return {"activated": "The policy version is now in use.",
            "saved": "The new version has been saved."}.get(done or "")


# ---------------------------------------------------------------------------- import


def _import_form(request: Request, db: Session, account: Account, values: dict | None = None,
                 errors: FormErrors | None = None, status: int = 200):
    orgs = access.organisations_for(db, _scope(db, account))
    chosen = (values or {}).get("organisation") or (
        account.organisation.ods_code if account.organisation else "")
    return render(request, "access/import.html", {
        "values": values or {}, "errors": errors,
        "organisation_items": [{"value": o.ods_code, "text": f"{o.name} ({o.ods_code})",
                                "selected": o.ods_code == chosen} for o in orgs],
        "crumbs": CRUMBS}, status_code=status)


@router.get("/import")
def import_page(request: Request, account: Account = Depends(ANALYSTS),
                db: Session = Depends(get_db)):
    return _import_form(request, db, account)


@router.post("/import")
async def import_upload(request: Request, account: Account = Depends(ANALYSTS),
                        db: Session = Depends(get_db)):
    form = await request.form()
    values = {"organisation": form_text(form, "organisation", 10),
              "snapshot_date": form_text(form, "snapshot_date", 20)}
    errors = ProblemErrors({"snapshot_date": "snapshot_date", "organisation": "organisation"})
    organisation = day = None
    try:
        organisation = access.organisation_by_code(db, values["organisation"],
                                                   _scope(db, account))
    except VoicesError as exc:
        errors.add_problems(exc, "organisation")
    try:
        day = access.check_snapshot_date(values["snapshot_date"])
    except VoicesError as exc:
        errors.add_problems(exc, "snapshot_date")
    upload = form.get("file")
    name = Path(getattr(upload, "filename", "") or "").name
    if upload is None or isinstance(upload, str) or not name:
        errors.add_problems(ValidationError("Choose a waiting-list file to import"), "file")
    elif Path(name).suffix.lower() not in UPLOAD_TYPES:
        errors.add_problems(ValidationError("The file must be a CSV, Excel (.xlsx) or Parquet "
                                            "file"), "file")
    if errors:
        return _import_form(request, db, account, values, errors, 422)
    folder = Path(request.app.state.settings.data_dir) / "uploads" / "access" / \
        f"upload-{uuid.uuid4().hex}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name.replace("/", "_")[:200]
    size = 0
    with target.open("wb") as handle:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                break
            handle.write(chunk)
    if size > MAX_UPLOAD_BYTES:
        target.unlink(missing_ok=True)
        folder.rmdir()
        errors.add_problems(ValidationError(f"The file must be smaller than "
                                            f"{MAX_UPLOAD_BYTES // 2**20} MB"), "file")
        return _import_form(request, db, account, values, errors, 422)
    imd = request.app.state.settings.imd_path
    if size <= INLINE_IMPORT_BYTES:
        # Small files are checked while you wait, so every problem can be listed here.
        try:
            result = access.import_snapshot(db, target, organisation=organisation,
                                            snapshot_date=day, actor=account, file_name=name,
                                            imd_path=imd)
            db.commit()
        except VoicesError as exc:
            db.rollback()
            errors.add_problems(exc, "file")
            return _import_form(request, db, account, values, errors, 422)
        finally:
            target.unlink(missing_ok=True)
            folder.rmdir()
        return RedirectResponse(f"/access/snapshots/{result.snapshot.id}?imported="
                                f"{'replaced' if result.replaced else 'new'}", status_code=303)
    from voices import jobs

    job = jobs.enqueue(db, access.IMPORT_JOB, {
        "path": str(target), "organisation_id": organisation.id,
        "snapshot_date": day.isoformat(), "file_name": name[:200], "actor_id": account.id,
        "imd_path": str(imd) if imd else None}, actor=account, organisation_id=organisation.id)
    db.commit()
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


# ---------------------------------------------------------------------------- dashboard


def _short_label(dimension: str, row: dict) -> str:
    """Axis labels short enough to read under a bar."""
    if dimension == "ethnic_group" and row["group"] != "not_known":
        return row["group"].capitalize()
    return row["label"].replace(" (most deprived)", " most").replace(
        " (least deprived)", " least").replace("Decile ", "")


def _dashboard_figures(data: dict) -> list:
    exact = data["exact"]
    overall = data["headline"].get("pct_over_52")
    overall = overall if isinstance(overall, (int, float)) else None
    out = []
    for dimension, axis in (("imd_decile", "Deprivation decile"), ("ethnic_group", "Ethnic group"),
                            ("age_band", "Age band")):
        dim = next(d for d in data["dimensions"] if d["dimension"] == dimension)
        rows = [{"label": _short_label(dimension, r),
                 "value": r.get("pct_over_52"), "lower": r.get("pct_over_52_lower"),
                 "upper": r.get("pct_over_52_upper")} for r in dim["rows"]]
        fig = figures.groups_figure(rows, title="", what="Waiting over 52 weeks", axis=axis,
                                    overall=overall, intervals=exact)
        if fig is not None:
            out.append(fig)
    return out


def _dashboard(db: Session, account: Account, snapshot_id: int, via: str):
    """A snapshot's equity figures as this account may see them; exact views are audited."""
    record = access.get_snapshot(db, snapshot_id, _scope(db, account))
    exact = _exact(account)
    data = access.dashboard(db, record, exact=exact)
    if exact:
        access.audit_view(db, "access.waits.view", account, record,
                          "Viewed exact waiting times by equity group" + via)
        db.commit()
    return record, data


@router.get("/snapshots/{snapshot_id}")
def dashboard_page(request: Request, snapshot_id: int, account: Account = Depends(STAFF),
                   db: Session = Depends(get_db)):
    record, data = _dashboard(db, account, snapshot_id, "")
    exact = data["exact"]
    imported = request.query_params.get("imported")
    return render(request, "access/dashboard.html", {
        "data": data, "record": record, "figures": _dashboard_figures(data), "exact": exact,
        "policies": access.list_policies(db, _scope(db, account)),
        "notice": {"new": f"Imported {record.pathways:,} pathways.",
                   "replaced": f"Imported {record.pathways:,} pathways, replacing the earlier "
                               "import of this date."}.get(imported or ""),
        "notice_success": True, "crumbs": CRUMBS})


@router.get("/snapshots/{snapshot_id}/waits.csv")
def waits_csv(snapshot_id: int, account: Account = Depends(STAFF),
              db: Session = Depends(get_db)):
    """The equity tables after disclosure control (fit to publish), for everyone."""
    record = access.get_snapshot(db, snapshot_id, _scope(db, account))
    data = access.dashboard(db, record, exact=False)
    header = ["dimension", "group", "pathways"] + [f"{k}_{w}" for w in access.THRESHOLDS
                                                   for k in ("over", "pct_over")] + \
        ["median_weeks", "mean_weeks", "p92_weeks", "long_waits_above_the_list"]
    rows = [["list", "All pathways", data["headline"]["pathways"],
             *[data["headline"][f"{k}_{w}"] for w in access.THRESHOLDS for k in ("over", "pct_over")],
             *[_round(data["headline"][k]) for k in ("median_weeks", "mean_weeks", "p92_weeks")],
             ""]]
    for dim in data["dimensions"]:
        for r in dim["rows"]:
            rows.append([dim["dimension"], r["label"], r["pathways"],
                         *[r[f"{k}_{w}"] for w in access.THRESHOLDS for k in ("over", "pct_over")],
                         *[_round(r[k]) for k in ("median_weeks", "mean_weeks", "p92_weeks")],
                         "yes" if r["flagged"] else ""])
    access.audit_view(db, "access.waits.export", account, record,
                      "Exported waiting times by equity group (after disclosure control)")
    db.commit()
    from voices.exports import csv_bytes

    name = f"waits-{record.organisation.ods_code}-{record.snapshot_date}.csv"
    return Response(csv_bytes(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _round(value, digits: int = 1):
    return round(value, digits) if isinstance(value, float) else value


# ---------------------------------------------------------------------------- ranked list


def _version_items(db: Session, account: Account, selected: int | None) -> list[dict]:
    items = []
    for entry in access.list_policies(db, _scope(db, account)):
        policy = entry["policy"]
        versions = [v for v in [entry["latest"], entry["in_use"]] if v is not None]
        for version in dict.fromkeys(versions):
            tag = " – in use" if entry["in_use"] is not None and version.id == \
                entry["in_use"].id else ""
            items.append({"value": str(version.id),
                          "text": f"{version.name}, version {version.version} "
                                  f"({policy.organisation.ods_code}){tag}",
                          "selected": version.id == selected})
    return items


def _chosen_version(db: Session, account: Account, record, policy: int | None
                    ) -> PolicyVersion | None:
    if policy is not None:
        return access.get_version(db, policy, _scope(db, account))
    active = access.active_version(db, record.organisation_id)
    if active is not None:
        return active
    listed = access.list_policies(db, _scope(db, account), record.organisation)
    return listed[0]["latest"] if listed else None


@router.get("/snapshots/{snapshot_id}/ranked")
def ranked_page(request: Request, snapshot_id: int,
                policy: int | None = Query(None, ge=1, le=2**31),
                page: int = Query(1, ge=1, le=1_000_000), account: Account = Depends(ANALYSTS),
                db: Session = Depends(get_db)):
    record = access.get_snapshot(db, snapshot_id, _scope(db, account))
    version = _chosen_version(db, account, record, policy)
    rows, pages, total, summary = [], 1, 0, []
    if version is not None:
        ranked = access.ranked_list(db, record, version)
        total = ranked.height
        pages = max(1, -(-total // PER_PAGE))
        page = min(page, pages)
        rows = ranked.slice((page - 1) * PER_PAGE, PER_PAGE).to_dicts()
        summary = access.check_policy_text(version.yaml_text).summary()
        access.audit_view(db, "access.ranked.view", account, record,
                          f"Viewed page {page} of the ranked list",
                          detail={"policy_version_id": version.id, "page": page})
        db.commit()

    def link(n: int) -> str:
        return f"?{urlencode({'policy': version.id, 'page': n})}" if version else f"?page={n}"

    return render(request, "access/ranked.html", {
        "record": record, "version": version, "rows": rows, "page": page, "pages": pages,
        "total": total, "summary": summary, "per_page": PER_PAGE,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
        "version_items": _version_items(db, account, version.id if version else None),
        "crumbs": [*CRUMBS, {"href": f"/access/snapshots/{record.id}",
                             "text": f"{record.organisation.ods_code}, {record.snapshot_date}"}]})


@router.get("/snapshots/{snapshot_id}/ranked.csv")
def ranked_csv(snapshot_id: int, policy: int | None = Query(None, ge=1, le=2**31),
               account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    record = access.get_snapshot(db, snapshot_id, _scope(db, account))
    version = _chosen_version(db, account, record, policy)
    if version is None:
        raise ValidationError("There is no policy to order the list by yet", column="policy")
    ranked = access.ranked_list(db, record, version)
    access.audit_view(db, "access.ranked.export", account, record,
                      f"Exported the ranked list ({ranked.height:,} pathways)",
                      detail={"policy_version_id": version.id})
    db.commit()
    name = f"ranked-{record.organisation.ods_code}-{record.snapshot_date}-v{version.version}.csv"
    return Response(frame_csv(ranked), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------------------- policies


@router.get("/policies")
def policies_page(request: Request, account: Account = Depends(STAFF),
                  db: Session = Depends(get_db)):
    return render(request, "access/policies.html", {
        "policies": access.list_policies(db, _scope(db, account)), "exact": _exact(account),
        "crumbs": CRUMBS, "notice": _notice(request), "notice_success": True})


def _policy_form(request: Request, db: Session, account: Account, *, policy=None,
                 values: dict, errors: FormErrors | None = None, status: int = 200):
    orgs = access.organisations_for(db, _scope(db, account))
    return render(request, "access/policy_form.html", {
        "policy": policy, "values": values, "errors": errors,
        "examples": list(access.example_policies()),
        "organisation_items": [{"value": o.ods_code, "text": f"{o.name} ({o.ods_code})",
                                "selected": o.ods_code == values.get("organisation")}
                               for o in orgs],
        "crumbs": [*CRUMBS, {"href": "/access/policies", "text": "Policies"}]},
        status_code=status)


@router.get("/policies/new")
def policy_new(request: Request, example: str | None = Query(None, max_length=60),
               account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    examples = access.example_policies()
    text = examples.get(example or "", examples.get("equity_weighted", ""))
    default = account.organisation.ods_code if account.organisation else ""
    return _policy_form(request, db, account, values={"yaml": text, "organisation": default,
                                                      "reason": "", "example": example or ""})


def _policy_values(form) -> dict:
    return {"yaml": form_text(form, "yaml", access.MAX_POLICY_BYTES + 1),
            "reason": form_text(form, "reason", access.MAX_REASON + 1),
            "organisation": form_text(form, "organisation", 10),
            "make_active": form_text(form, "make_active", 10) == "yes"}


@router.post("/policies/new")
async def policy_create(request: Request, account: Account = Depends(ANALYSTS),
                        db: Session = Depends(get_db)):
    values = _policy_values(await request.form())
    errors = ProblemErrors({"reason": "reason", "organisation": "organisation"})
    try:
        org = access.organisation_by_code(db, values["organisation"], _scope(db, account))
        version = access.save_policy(db, organisation=org, yaml_text=values["yaml"],
                                     reason=values["reason"], actor=account,
                                     make_active=values["make_active"])
        db.commit()
        return RedirectResponse(f"/access/policies/{version.policy_id}?done=saved",
                                status_code=303)
    except VoicesError as exc:
        db.rollback()
        errors.add_problems(exc, "yaml", lines=True)
    return _policy_form(request, db, account, values=values, errors=errors, status=422)


@router.get("/policies/{policy_id}")
def policy_page(request: Request, policy_id: int,
                version: int | None = Query(None, ge=1, le=100_000),
                account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    policy = access.get_policy(db, policy_id, _scope(db, account))
    shown = next((v for v in policy.versions if v.version == version), None) \
        if version else policy.versions[0]
    if shown is None:
        from voices.errors import NotFound

        raise NotFound("We could not find that version of the policy.")
    in_use = access.active_version(db, policy.organisation_id)
    return render(request, "access/policy.html", {
        "policy": policy, "shown": shown, "summary": access.check_policy_text(
            shown.yaml_text).summary(), "in_use": in_use, "exact": _exact(account),
        "history": access.policy_history(db, policy), "notice": _notice(request),
        "notice_success": True,
        "crumbs": [*CRUMBS, {"href": "/access/policies", "text": "Policies"}]})


@router.get("/policies/{policy_id}/edit")
def policy_edit(request: Request, policy_id: int, account: Account = Depends(ANALYSTS),
                db: Session = Depends(get_db)):
    policy = access.get_policy(db, policy_id, _scope(db, account))
    return _policy_form(request, db, account, policy=policy, values={
        "yaml": policy.versions[0].yaml_text, "reason": "",
        "organisation": policy.organisation.ods_code})


@router.post("/policies/{policy_id}/edit")
async def policy_save(request: Request, policy_id: int, account: Account = Depends(ANALYSTS),
                      db: Session = Depends(get_db)):
    policy = access.get_policy(db, policy_id, _scope(db, account))
    values = _policy_values(await request.form())
    values["organisation"] = policy.organisation.ods_code
    errors = ProblemErrors({"reason": "reason"})
    try:
        access.save_policy(db, organisation=policy.organisation, yaml_text=values["yaml"],
                           reason=values["reason"], actor=account, policy=policy,
                           make_active=values["make_active"])
        db.commit()
        return RedirectResponse(f"/access/policies/{policy.id}?done=saved", status_code=303)
    except VoicesError as exc:
        db.rollback()
        errors.add_problems(exc, "yaml", lines=True)
    return _policy_form(request, db, account, policy=policy, values=values, errors=errors,
                        status=422)


@router.post("/policies/{policy_id}/activate")
async def policy_activate(request: Request, policy_id: int,
                          account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    policy = access.get_policy(db, policy_id, _scope(db, account))
    form = await request.form()
    number = form_text(form, "version", 10)
    version = next((v for v in policy.versions if str(v.version) == number), None)
    if version is None:
        raise ValidationError("Choose a version of this policy", column="version")
    access.activate_version(db, version, actor=account)
    db.commit()
    return RedirectResponse(f"/access/policies/{policy.id}?done=activated", status_code=303)


@router.get("/policies/{policy_id}/diff")
def policy_diff_page(request: Request, policy_id: int,
                     older: int | None = Query(None, alias="from", ge=1, le=100_000),
                     newer: int | None = Query(None, alias="to", ge=1, le=100_000),
                     account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    policy = access.get_policy(db, policy_id, _scope(db, account))
    by_number = {v.version: v for v in policy.versions}
    latest = policy.versions[0].version
    new = by_number.get(newer or latest)
    old = by_number.get(older or (new.version - 1 if new else 0))
    if new is None or old is None:
        from voices.errors import NotFound

        raise NotFound("There is no earlier version to compare with.")
    lines = access.policy_diff(old.yaml_text, new.yaml_text)
    return render(request, "access/policy_diff.html", {
        "policy": policy, "old": old, "new": new, "lines": access.diff_with_context(lines),
        "changed": sum(1 for line in lines if line.kind != "same"),
        "crumbs": [*CRUMBS, {"href": "/access/policies", "text": "Policies"},
                   {"href": f"/access/policies/{policy.id}", "text": new.name}]})


# ---------------------------------------------------------------------------- simulation


def _simulate_form(request: Request, db: Session, account: Account, values: dict,
                   errors: FormErrors | None = None, status: int = 200):
    scope = _scope(db, account)
    snapshots = access.list_snapshots(db, scope)
    chosen = set(values.get("versions") or [])
    return render(request, "access/simulate.html", {
        "values": values, "errors": errors,
        "snapshot_items": [{"value": str(s.id), "text": f"{s.organisation.name}, "
                            f"{s.snapshot_date:%d %B %Y} ({s.pathways:,} pathways)",
                            "selected": str(s.id) == values.get("snapshot")} for s in snapshots],
        "version_items": [{**item, "checked": item["value"] in chosen}
                          for item in _version_items(db, account, None)],
        "crumbs": CRUMBS}, status_code=status)


@router.get("/simulate")
def simulate_page(request: Request, snapshot: int | None = Query(None, ge=1, le=2**31),
                  account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    return _simulate_form(request, db, account, {
        "snapshot": str(snapshot or ""), "weeks": "52", "replications": "10", "versions": []})


def _whole(text: str, field: str, label: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValidationError(f"Enter {label} as a whole number", column=field) from None


@router.post("/simulate")
async def simulate_start(request: Request, account: Account = Depends(ANALYSTS),
                         db: Session = Depends(get_db)):
    form = await request.form()
    values = {"snapshot": form_text(form, "snapshot", 12), "weeks": form_text(form, "weeks", 6),
              "replications": form_text(form, "replications", 6),
              "versions": [v for v in form.getlist("versions") if isinstance(v, str)][:10]}
    errors = ProblemErrors()
    scope = _scope(db, account)
    record = None
    try:
        record = access.get_snapshot(db, int(values["snapshot"]), scope)
    except (ValueError, VoicesError):
        errors.add_problems(ValidationError("Choose a waiting list"), "snapshot")
    weeks = replications = 0
    for field, label in (("weeks", "the number of weeks"),
                         ("replications", "the number of replications")):
        try:
            number = _whole(values[field], field, label)
            weeks, replications = (number, replications) if field == "weeks" \
                else (weeks, number)
        except VoicesError as exc:
            errors.add_problems(exc, field)
    versions = []
    for value in values["versions"]:
        try:
            versions.append(access.get_version(db, int(value), scope))
        except (ValueError, VoicesError):
            errors.add_problems(ValidationError("Choose policies from the list"), "versions")
    if not errors:
        try:
            sim = access.start_simulation(db, record=record, versions=versions, weeks=weeks,
                                          replications=replications, actor=account)
            db.commit()
            return RedirectResponse(f"/jobs/{sim.job_id}", status_code=303)
        except VoicesError as exc:
            db.rollback()
            for problem in getattr(exc, "problems", []):
                errors.add_problems(ValidationError(problem.message), problem.column or
                                    "versions")
    return _simulate_form(request, db, account, values, errors, 422)


def _comparison_rows(payload: dict) -> list[dict]:
    by = {(r["policy"], r["measure"]): r for r in payload["comparison"]}
    rows = []
    for measure, label in MEASURE_LABELS.items():
        cells = [by.get((policy, measure)) for policy in payload["policies"]]
        if any(c is not None for c in cells):
            counted = measure in ("waiting", "treated", "removed") or \
                measure.startswith("breaches_")
            rows.append({"measure": measure, "label": label, "cells": cells,
                         "digits": 0 if counted else 1})
    return rows


@router.get("/simulations/{simulation_id}")
def simulation_page(request: Request, simulation_id: int, account: Account = Depends(STAFF),
                    db: Session = Depends(get_db)):
    sim = access.get_simulation(db, simulation_id, _scope(db, account))
    payload = sim.result
    charts = []
    if payload:
        charts = [f for f in (figures.breaches_figure(payload), figures.quintile_figure(payload),
                              figures.series_figure(payload)) if f is not None]
    return render(request, "access/simulation.html", {
        "sim": sim, "payload": payload, "charts": charts,
        "rows": _comparison_rows(payload) if payload else [],
        "crumbs": CRUMBS})


# ---------------------------------------------------------------------------- calculator


@router.get("/calculator")
def calculator_page(request: Request, account: Account = Depends(STAFF)):
    params = request.query_params
    asked = any(params.get(name) for name in CALCULATOR_FIELDS)
    values = {name: (params.get(name, "")[:60] if asked else CALCULATOR_DEFAULTS.get(name, ""))
              for name in CALCULATOR_FIELDS}
    errors, result = None, None
    if asked:
        try:
            result = calculate(values)
        except ValidationError as exc:
            errors = ProblemErrors()
            for problem in exc.problems:
                errors.add(problem.column, problem.message)
    return render(request, "access/calculator.html", {
        "values": values, "errors": errors, "result": result, "crumbs": CRUMBS},
        status_code=422 if errors else 200)


# ---------------------------------------------------------------------------- RTT


@router.get("/rtt")
def rtt_page(request: Request, period: str | None = Query(None, max_length=40),
             account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    chosen, providers = access.rtt_providers(db, period)
    scope = _scope(db, account)
    own = {o.ods_code for o in access.organisations_for(db, scope)}
    return render(request, "access/rtt.html", {
        "period": chosen, "providers": providers, "own": own,
        "period_items": [{"value": p, "text": p.replace("RTT-", "").replace("-", " "),
                          "selected": p == chosen} for p in access.rtt_periods(db)],
        "crumbs": CRUMBS})


# ---------------------------------------------------------------------------- JSON twins


class SnapshotOut(BaseModel):
    id: int
    organisation: str
    snapshot_date: str
    pathways: int
    file_name: str
    imported_at: str
    missing_columns: list[str]
    unknowns: dict[str, int]
    notes: list[str]


@api_router.get("/snapshots", response_model=list[SnapshotOut], responses=ERRORS,
                summary="Waiting-list snapshots you can see, newest first for each organisation")
def snapshots_json(account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    return [SnapshotOut(id=s.id, organisation=s.organisation.ods_code,
                        snapshot_date=s.snapshot_date.isoformat(), pathways=s.pathways,
                        file_name=s.file_name, imported_at=s.imported_at.isoformat(),
                        missing_columns=list(s.missing_columns or []),
                        unknowns=dict(s.unknowns or {}), notes=list(s.notes or []))
            for s in access.list_snapshots(db, _scope(db, account))]


class WaitsOut(BaseModel):
    snapshot: dict
    exact: bool = Field(description="True: exact counts (analysts). False: after disclosure "
                                    "control (counts rounded to 5, 1-7 hidden as '*')")
    confidence: float
    long_wait_weeks: int
    headline: dict
    dimensions: list[dict]
    flags: list[dict]
    sii: list[dict]
    unknowns: dict
    notes: list[str]
    trend: list[dict]
    rtt: dict | None


@api_router.get("/snapshots/{snapshot_id}/waits", response_model=WaitsOut, responses=ERRORS,
                summary="Who waits longest: waits by equity group, flags and the SII")
def waits_json(snapshot_id: int, account: Account = Depends(STAFF),
               db: Session = Depends(get_db)):
    return _dashboard(db, account, snapshot_id, " (API)")[1]


class RankedRowOut(BaseModel):
    position: int
    pathway_id: str
    treatment_function_code: str
    specialty_position: int
    clinical_priority: str
    days_waited: int
    weeks_waited: int
    score: float
    rate: float
    social_increase: float
    explanation: str


class RankedOut(BaseModel):
    snapshot_id: int
    policy_version_id: int
    policy: str
    version: int
    page: int
    pages: int
    pathways: int
    rows: list[RankedRowOut]


@api_router.get("/snapshots/{snapshot_id}/ranked", response_model=RankedOut, responses=ERRORS,
                summary="The list ordered by a policy, each position explained (audited)")
def ranked_json(snapshot_id: int, policy: int | None = Query(None, ge=1, le=2**31),
                page: int = Query(1, ge=1, le=1_000_000),
                per_page: int = Query(PER_PAGE, ge=1, le=1000),
                account: Account = Depends(ANALYSTS), db: Session = Depends(get_db)):
    record = access.get_snapshot(db, snapshot_id, _scope(db, account))
    version = _chosen_version(db, account, record, policy)
    if version is None:
        raise ValidationError("There is no policy to order the list by yet", column="policy")
    ranked = access.ranked_list(db, record, version)
    pages = max(1, -(-ranked.height // per_page))
    rows = ranked.slice((page - 1) * per_page, per_page).to_dicts()
    access.audit_view(db, "access.ranked.view", account, record,
                      f"Viewed page {page} of the ranked list (API)",
                      detail={"policy_version_id": version.id, "page": page})
    db.commit()
    return RankedOut(snapshot_id=record.id, policy_version_id=version.id, policy=version.name,
                     version=version.version, page=page, pages=pages, pathways=ranked.height,
                     rows=rows)


class VersionOut(BaseModel):
    id: int
    version: int
    name: str
    yaml: str
    reason: str
    saved_at: str
    saved_by: str | None
    summary: list[str]


class PolicyOut(BaseModel):
    id: int
    organisation: str
    slug: str
    name: str
    latest_version: int
    in_use_version: int | None
    versions: list[VersionOut] = []


def _policy_out(db: Session, policy, *, versions: bool) -> PolicyOut:
    in_use = access.active_version(db, policy.organisation_id)
    latest = policy.versions[0]
    return PolicyOut(
        id=policy.id, organisation=policy.organisation.ods_code, slug=policy.slug,
        name=latest.name, latest_version=latest.version,
        in_use_version=in_use.version if in_use and in_use.policy_id == policy.id else None,
        versions=[VersionOut(id=v.id, version=v.version, name=v.name, yaml=v.yaml_text,
                             reason=v.reason, saved_at=v.saved_at.isoformat(),
                             saved_by=v.author.display_name if v.author else None,
                             summary=access.check_policy_text(v.yaml_text).summary())
                  for v in policy.versions] if versions else [])


@api_router.get("/policies", response_model=list[PolicyOut], responses=ERRORS,
                summary="Prioritisation policies you can see")
def policies_json(account: Account = Depends(STAFF), db: Session = Depends(get_db)):
    return [_policy_out(db, e["policy"], versions=False)
            for e in access.list_policies(db, _scope(db, account)) if e["latest"]]


@api_router.get("/policies/{policy_id}", response_model=PolicyOut, responses=ERRORS,
                summary="A policy with every version: YAML, who saved it, when and why")
def policy_json(policy_id: int, account: Account = Depends(STAFF),
                db: Session = Depends(get_db)):
    return _policy_out(db, access.get_policy(db, policy_id, _scope(db, account)),
                       versions=True)


class PolicyIn(BaseModel):
    organisation: str = Field(..., max_length=10, description="ODS code")
    yaml: str = Field(..., max_length=access.MAX_POLICY_BYTES,
                      description="The policy, as YAML (see docs/access.md)")
    reason: str = Field(..., max_length=access.MAX_REASON, description="Why it is changing")
    policy_id: int | None = Field(None, description="Save a new version of this policy "
                                                    "(default: a new policy)")
    make_active: bool = Field(False, description="Put this version in use")


@api_router.post("/policies", response_model=PolicyOut, status_code=201, responses=ERRORS,
                 summary="Save a policy, or a new version of one (checked, safeguard included)")
def policy_save_json(body: PolicyIn, account: Account = Depends(ANALYSTS),
                     db: Session = Depends(get_db)):
    scope = _scope(db, account)
    org = access.organisation_by_code(db, body.organisation, scope)
    policy = access.get_policy(db, body.policy_id, scope) if body.policy_id else None
    if policy is not None and policy.organisation_id != org.id:
        raise ValidationError("That policy belongs to another organisation",
                              column="policy_id")
    version = access.save_policy(db, organisation=org, yaml_text=body.yaml, reason=body.reason,
                                 actor=account, policy=policy, make_active=body.make_active)
    db.commit()
    return _policy_out(db, version.policy, versions=False)


class SimulationOut(BaseModel):
    id: int
    status: str
    organisation: str
    snapshot_id: int | None
    job_id: int | None
    settings: dict
    result: dict | None
    error: str | None


@api_router.get("/simulations/{simulation_id}", response_model=SimulationOut,
                responses=ERRORS, summary="A simulation's comparison of policies")
def simulation_json(simulation_id: int, account: Account = Depends(STAFF),
                    db: Session = Depends(get_db)):
    sim = access.get_simulation(db, simulation_id, _scope(db, account))
    return SimulationOut(id=sim.id, status=sim.status, organisation=sim.organisation.ods_code,
                         snapshot_id=sim.snapshot_id, job_id=sim.job_id, settings=sim.settings,
                         result=sim.result, error=sim.error)


class CalculatorIn(BaseModel):
    demand: float = Field(..., ge=0, description="Referrals a week")
    target: str = Field(..., max_length=60, description="e.g. '92% within 18 weeks' or '52'")
    capacity: float | None = Field(None, gt=0, description="Treatments a week now")
    queue_size: float | None = Field(None, ge=0, description="Pathways waiting now")
    mean_wait: float | None = Field(None, ge=0, description="Mean wait now, in weeks")
    time_to_target: float = Field(26, gt=0, description="Weeks to reach the target size")
    cv_demand: float = Field(1, ge=0)
    cv_capacity: float = Field(1, ge=0)


class MeasureOut(BaseModel):
    key: str
    label: str
    value: float
    unit: str
    explanation: str


class CalculationOut(BaseModel):
    target: str
    measures: list[MeasureOut]


@api_router.post("/calculator", response_model=CalculationOut, responses=ERRORS,
                 summary="Queueing measures (NHSRwaitinglist's formulas, in weeks), in words")
def calculator_json(body: CalculatorIn, account: Account = Depends(STAFF)):
    return calculate(body.model_dump()).to_dict()


class RttOut(BaseModel):
    period: str | None
    providers: list[dict]


@api_router.get("/rtt", response_model=RttOut, responses=ERRORS,
                summary="Providers' published waiting lists (RTT Part 2, C_999 totals)")
def rtt_json(period: str | None = Query(None, max_length=40), account: Account = Depends(STAFF),
             db: Session = Depends(get_db)):
    chosen, providers = access.rtt_providers(db, period)
    return RttOut(period=chosen, providers=providers)
