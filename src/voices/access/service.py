"""Reading and writing access data: snapshots, RTT figures, policies and simulations.

Routes and CLI commands call these functions. Each checks its input with the engine's
validated readers (:mod:`voices.access.snapshot`, :mod:`voices.access.rtt`,
:mod:`voices.access.policy`), changes nothing when it refuses, and writes the audit log
for every import, every change of policy and every view or export of pathway-level data.
The caller commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from voices.access.models import (
    ActivePolicy,
    Pathway,
    PolicyVersion,
    PrioritisationPolicy,
    RttFigure,
    RttImport,
    Simulation,
    WaitingListSnapshot,
)
from voices.access.policy import Policy, parse_policy, rank
from voices.access.rtt import read_rtt_extract, waiting_list_summary
from voices.access.snapshot import (
    OPTIONAL,
    PRIORITIES,
    Snapshot,
    check_snapshot_date,
    read_table,
    validate_snapshot,
    with_derived_columns,
)
from voices.access.waits import WaitEquity, wait_equity
from voices.core import audit
from voices.core.models import Account, AuditEvent, Organisation
from voices.db import utcnow
from voices.equity.imd import ImdLookup
from voices.errors import Conflict, NotFound, ValidationError

POLICY_FOLDER = Path(__file__).resolve().parent / "policies"
MAX_POLICY_BYTES = 20_000
MAX_REASON = 500
SIMULATION_JOB = "access.simulate"
IMPORT_JOB = "access.import"

# Columns stored for each pathway, in table order.
PATHWAY_COLUMNS = ("pathway_id", "treatment_function_code", "clock_start_date",
                   "clinical_priority", "procedure", "age", "sex", "ethnic_category", "lsoa",
                   "imd_decile", "learning_disability", "interpreter_needed", "carer")
_SCHEMA = {"pathway_id": pl.String, "treatment_function_code": pl.String,
           "clock_start_date": pl.Date, "clinical_priority": pl.String, "procedure": pl.String,
           "age": pl.Int16, "sex": pl.String, "ethnic_category": pl.String, "lsoa": pl.String,
           "imd_decile": pl.Int8, "learning_disability": pl.Boolean,
           "interpreter_needed": pl.Boolean, "carer": pl.Boolean}


# --------------------------------------------------------------------------- a small cache


class _Cache:
    """Recently used results (snapshots read back, equity tables, ranked lists), keyed by
    what identifies them exactly, so a page that is read twice is not worked out twice.
    Snapshots never change in place: a re-import makes a new row with a new key."""

    def __init__(self, size: int = 6) -> None:
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, make: Callable):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_cache = _Cache()


def _key(session: Session, record: WaitingListSnapshot) -> tuple:
    return (str(session.get_bind().url), record.id, record.sha256,
            record.imported_at.isoformat())


# --------------------------------------------------------------------------- organisations


def organisations_for(session: Session, scope: set[int] | None) -> list[Organisation]:
    """Organisations an account may work with, trusts first then by name."""
    query = select(Organisation).order_by(Organisation.name)
    if scope is not None:
        query = query.where(Organisation.id.in_(scope or {-1}))
    return list(session.scalars(query))


def organisation_by_code(session: Session, code: str, scope: set[int] | None = None,
                         column: str = "organisation") -> Organisation:
    org = session.scalar(select(Organisation).where(
        Organisation.ods_code == str(code or "").strip().upper()))
    if org is None or (scope is not None and org.id not in scope):
        raise ValidationError(f"No organisation you can see has the ODS code "
                              f"'{str(code)[:12]}'", column=column,
                              expected="the ODS code of your organisation, such as RZ1")
    return org


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class ImportResult:
    snapshot: WaitingListSnapshot
    replaced: bool
    summary: dict


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _imd_lookup(imd_path: Path | None) -> ImdLookup | None:
    if imd_path is None or not Path(imd_path).is_file():
        return None
    return ImdLookup.from_csv(Path(imd_path))


def read_snapshot_file(path: Path, *, snapshot_date: dt.date, file_name: str | None = None,
                       imd_path: Path | None = None) -> Snapshot:
    """Read and check a snapshot file with the engine's reader (all-or-nothing)."""
    raw, first_row = read_table(path)
    return validate_snapshot(raw, snapshot_date=snapshot_date,
                             source=file_name or Path(path).name,
                             imd_lookup=_imd_lookup(imd_path), first_row=first_row)


def import_snapshot(session: Session, path: Path, *, organisation: Organisation,
                    snapshot_date: object, actor: Account | None = None,
                    file_name: str | None = None, imd_path: Path | None = None,
                    progress: Callable[[float, str], None] | None = None) -> ImportResult:
    """Import a waiting-list snapshot for an organisation and date.

    The file is read and checked completely first; a file with any problem changes
    nothing (every problem is reported with its row and column). A snapshot of the same
    organisation and date is replaced; other dates are kept beside it.
    """
    say = progress or (lambda fraction, message: None)
    day = check_snapshot_date(snapshot_date)
    path = Path(path)
    name = file_name or path.name
    say(0.05, "Reading and checking the file")
    snap = read_snapshot_file(path, snapshot_date=day, file_name=name, imd_path=imd_path)
    return store_snapshot(session, snap, organisation=organisation, actor=actor,
                          file_name=name, sha256=_sha256(path), progress=say)


def store_snapshot(session: Session, snap: Snapshot, *, organisation: Organisation,
                   actor: Account | None = None, file_name: str = "", sha256: str = "",
                   progress: Callable[[float, str], None] | None = None) -> ImportResult:
    """Store a checked snapshot, replacing one of the same organisation and date."""
    say = progress or (lambda fraction, message: None)
    too_long = snap.frame.filter(pl.col("procedure").str.len_chars() > 200)
    if too_long.height:
        raise ValidationError("the procedure is longer than 200 characters",
                              file=file_name or None, column="procedure",
                              expected="a procedure code or short description")
    old = session.scalar(select(WaitingListSnapshot).where(
        WaitingListSnapshot.organisation_id == organisation.id,
        WaitingListSnapshot.snapshot_date == snap.snapshot_date))
    # The last progress report before writing: on SQLite, a report written while this
    # transaction holds the write lock would wait for it.
    say(0.3, f"Saving {snap.size:,} pathways")
    if old is not None:
        session.execute(delete(Pathway).where(Pathway.snapshot_id == old.id))
        session.execute(delete(WaitingListSnapshot).where(WaitingListSnapshot.id == old.id))
        session.expunge(old)
    record = WaitingListSnapshot(
        organisation_id=organisation.id, snapshot_date=snap.snapshot_date,
        file_name=Path(file_name or snap.source or "snapshot").name[:255],
        sha256=sha256 or hashlib.sha256(str(snap.frame.hash_rows().sum()).encode()).hexdigest(),
        pathways=snap.size, missing_columns=list(snap.missing_columns),
        unknowns=dict(snap.unknowns), notes=list(snap.notes),
        imported_by=actor.id if actor else None, imported_at=utcnow())
    session.add(record)
    session.flush()
    _insert_pathways(session, record.id, snap.frame)
    audit.record(session, "access.snapshot.import", actor=actor, record_type="access_snapshot",
                 record_id=record.id, organisation_id=organisation.id,
                 summary=f"Imported a waiting list of {snap.size:,} pathways for "
                         f"{snap.snapshot_date}" + (" (replacing the earlier import)"
                                                    if old is not None else ""))
    session.flush()
    return ImportResult(record, old is not None, snap.summary())


def _insert_pathways(session: Session, snapshot_id: int, frame: pl.DataFrame) -> None:
    """Write the pathways fast: PostgreSQL's COPY, or one prepared executemany on SQLite."""
    table = frame.select(
        pl.lit(snapshot_id).alias("snapshot_id"),
        *[pl.col(c).cast(pl.String) if c == "clinical_priority" else pl.col(c)
          for c in PATHWAY_COLUMNS])
    columns = ("snapshot_id",) + PATHWAY_COLUMNS
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        copy_sql = f"COPY access_pathway ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in table.iter_rows():
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO access_pathway ({', '.join(columns)}) VALUES ({marks})"
    batch = 20_000
    for start in range(0, table.height, batch):
        connection.exec_driver_sql(sql, list(table.slice(start, batch).iter_rows()))


def list_snapshots(session: Session, scope: set[int] | None,
                   organisation: Organisation | None = None) -> list[WaitingListSnapshot]:
    query = select(WaitingListSnapshot).join(WaitingListSnapshot.organisation).order_by(
        Organisation.name, WaitingListSnapshot.snapshot_date.desc())
    if scope is not None:
        query = query.where(WaitingListSnapshot.organisation_id.in_(scope or {-1}))
    if organisation is not None:
        query = query.where(WaitingListSnapshot.organisation_id == organisation.id)
    return list(session.scalars(query))


def get_snapshot(session: Session, snapshot_id: int, scope: set[int] | None
                 ) -> WaitingListSnapshot:
    """A snapshot the account may see (another organisation's is not found)."""
    record = session.get(WaitingListSnapshot, snapshot_id)
    if record is None or (scope is not None and record.organisation_id not in scope):
        raise NotFound("We could not find that waiting list.")
    return record


def load_snapshot(session: Session, record: WaitingListSnapshot) -> Snapshot:
    """A stored snapshot read back as the engine's typed :class:`Snapshot`."""
    def make() -> Snapshot:
        # Plain SQL (no per-value type conversion in Python): several times faster for
        # large lists; Polars types the columns in one go.
        rows = session.execute(text(
            f"SELECT {', '.join(PATHWAY_COLUMNS)} FROM access_pathway "
            "WHERE snapshot_id = :id ORDER BY pathway_id"), {"id": record.id}).fetchall()
        frame = pl.DataFrame(rows, schema=list(PATHWAY_COLUMNS), orient="row",
                             infer_schema_length=None)
        frame = frame.with_columns(
            (pl.col(name).str.to_date("%Y-%m-%d") if name == "clock_start_date"
             and frame[name].dtype == pl.String else pl.col(name).cast(dtype))
            for name, dtype in _SCHEMA.items())
        frame = frame.with_columns(pl.col("clinical_priority").cast(pl.Enum(list(PRIORITIES))))
        frame = with_derived_columns(frame, record.snapshot_date)
        unknowns = {name: int(frame[name].null_count()) for name in OPTIONAL}
        unknowns["ethnic_category"] = int(frame["ethnic_group"].null_count())
        return Snapshot(frame=frame, snapshot_date=record.snapshot_date,
                        source=record.file_name,
                        missing_columns=tuple(record.missing_columns or ()),
                        unknowns=unknowns, notes=tuple(record.notes or ()))
    return _cache.get(("snapshot",) + _key(session, record), make)


def snapshot_equity(session: Session, record: WaitingListSnapshot,
                    long_wait_weeks: int = 52) -> WaitEquity:
    """Waits by equity group for a stored snapshot (exact counts: for analysts)."""
    return _cache.get(("equity", long_wait_weeks) + _key(session, record),
                      lambda: wait_equity(load_snapshot(session, record),
                                          long_wait_weeks=long_wait_weeks))


def audit_view(session: Session, action: str, actor: Account, record: WaitingListSnapshot,
               summary: str, detail: dict | None = None) -> None:
    """Record a view or export of a snapshot's pathway-level or exact figures."""
    audit.record(session, action, actor=actor, record_type="access_snapshot",
                 record_id=record.id, organisation_id=record.organisation_id,
                 summary=summary, detail=detail)


# --------------------------------------------------------------------------- RTT figures


@dataclass(frozen=True)
class RttImportResult:
    record: RttImport
    periods: list[str]
    providers: int
    figures: int
    replaced: int


def import_rtt(session: Session, path: Path, *, actor: Account | None = None,
               file_name: str | None = None) -> RttImportResult:
    """Import NHS England's RTT full CSV extract: the waiting list (Part 2) per period and
    provider, for the whole list (``C_999`` rows) and per treatment function (the other
    rows), kept apart so they are never added together. A period and provider already
    imported are replaced."""
    path = Path(path)
    extract = read_rtt_extract(path)
    by = ("period", "provider_code", "provider_name")
    total = waiting_list_summary(extract, part="Part_2", level="total", by=by)
    detail = waiting_list_summary(extract, part="Part_2", level="specialty", by=by)
    return store_rtt(session, total, detail, file_name=file_name or path.name,
                     sha256=_sha256(path), actor=actor)


def store_rtt(session: Session, total: pl.DataFrame, detail: pl.DataFrame, *,
              file_name: str, sha256: str, actor: Account | None = None) -> RttImportResult:
    """Store RTT summaries (see :func:`import_rtt`), replacing periods and providers seen."""
    pairs = set(zip(total["period"].to_list(), total["provider_code"].to_list())) | \
        set(zip(detail["period"].to_list(), detail["provider_code"].to_list()))
    replaced = 0
    for period, provider in pairs:
        replaced += session.execute(delete(RttFigure).where(
            RttFigure.period == period, RttFigure.provider_code == provider)).rowcount or 0
    periods = sorted({p for p, _ in pairs})
    record = RttImport(file_name=Path(file_name).name[:255], sha256=sha256, periods=periods,
                       providers=len({c for _, c in pairs}),
                       imported_by=actor.id if actor else None)
    session.add(record)
    session.flush()
    rows = []
    for level, frame in (("total", total), ("specialty", detail)):
        frame = frame.with_columns(
            pl.lit("C_999").alias("treatment_function_code")) if level == "total" else frame
        for row in frame.iter_rows(named=True):
            rows.append({
                "import_id": record.id, "period": row["period"],
                "provider_code": row["provider_code"],
                "provider_name": (row.get("provider_name") or "")[:200], "level": level,
                "treatment_function_code": row["treatment_function_code"],
                "treatment_function_name": (row.get("treatment_function_name") or "")[:200],
                "pathways": row["pathways"], "unknown_clock_start": row["unknown_clock_start"],
                "within_18": row["within_18"], "over_52": row["over_52"],
                "over_65": row["over_65"], "over_78": row["over_78"],
                "over_104": row["over_104"], "median_weeks": _finite(row["median_weeks"]),
                "p92_weeks": _finite(row["p92_weeks"])})
    if rows:
        session.execute(insert(RttFigure), rows)
    audit.record(session, "access.rtt.import", actor=actor, record_type="access_rtt_import",
                 record_id=record.id, summary=f"Imported RTT figures for {len(periods)} "
                                              f"period(s) and {record.providers} provider(s)")
    session.flush()
    return RttImportResult(record, periods, record.providers, len(rows), replaced)


def _finite(value):
    import math

    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) \
        else float(value)


def rtt_periods(session: Session) -> list[str]:
    periods = session.scalars(select(RttFigure.period).distinct()).all()
    return sorted(periods, key=_period_order, reverse=True)


_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}


def _period_order(period: str) -> tuple:
    """RTT periods look like 'RTT-November-2024'; order them by date."""
    match = re.search(r"([A-Za-z]+)-(\d{4})$", period or "")
    if match and match[1].lower() in _MONTHS:
        return (int(match[2]), _MONTHS[match[1].lower()], period)
    return (0, 0, period or "")


def rtt_providers(session: Session, period: str | None = None) -> tuple[str | None, list[dict]]:
    """Every provider's whole waiting list in a period (default the latest), ordered by the
    share waiting under 18 weeks."""
    periods = rtt_periods(session)
    if not periods:
        return None, []
    period = period if period in periods else periods[0]
    rows = session.scalars(select(RttFigure).where(
        RttFigure.period == period, RttFigure.level == "total")).all()
    out = []
    for r in rows:
        pct = 100.0 * r.within_18 / r.pathways if r.pathways else None
        out.append({"provider_code": r.provider_code, "provider_name": r.provider_name,
                    "pathways": r.pathways, "within_18": r.within_18, "pct_within_18": pct,
                    "over_52": r.over_52, "pct_over_52": 100.0 * r.over_52 / r.pathways
                    if r.pathways else None, "over_65": r.over_65, "over_78": r.over_78,
                    "median_weeks": r.median_weeks, "p92_weeks": r.p92_weeks})
    out.sort(key=lambda r: (-(r["pct_within_18"] or 0), r["provider_code"]))
    return period, out


# --------------------------------------------------------------------------- policies


def example_policies() -> dict[str, str]:
    """The example policies that come with Voices: file stem -> YAML."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(POLICY_FOLDER.glob("*.yaml"))}


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].strip("-") or "policy"


def check_policy_text(text: object, source: str = "policy.yaml") -> Policy:
    """Read policy YAML (the engine checks it, the clinical safeguard included)."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("Enter the policy as YAML", column="yaml", code="invalid_policy")
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise ValidationError(f"The policy must be smaller than {MAX_POLICY_BYTES // 1000} kB",
                              column="yaml", code="invalid_policy")
    return parse_policy(text, source=source)


def list_policies(session: Session, scope: set[int] | None,
                  organisation: Organisation | None = None) -> list[dict]:
    """Policies with their latest version and whether a version is in use."""
    query = select(PrioritisationPolicy).join(PrioritisationPolicy.organisation).order_by(
        Organisation.name, PrioritisationPolicy.slug)
    if scope is not None:
        query = query.where(PrioritisationPolicy.organisation_id.in_(scope or {-1}))
    if organisation is not None:
        query = query.where(PrioritisationPolicy.organisation_id == organisation.id)
    active = {a.organisation_id: a for a in session.scalars(select(ActivePolicy))}
    out = []
    for policy in session.scalars(query):
        latest = policy.versions[0] if policy.versions else None
        chosen = active.get(policy.organisation_id)
        in_use = chosen.version if chosen and chosen.version.policy_id == policy.id else None
        out.append({"policy": policy, "latest": latest, "in_use": in_use})
    return out


def get_policy(session: Session, policy_id: int, scope: set[int] | None
               ) -> PrioritisationPolicy:
    policy = session.get(PrioritisationPolicy, policy_id)
    if policy is None or (scope is not None and policy.organisation_id not in scope):
        raise NotFound("We could not find that policy.")
    return policy


def get_version(session: Session, version_id: int, scope: set[int] | None) -> PolicyVersion:
    version = session.get(PolicyVersion, version_id)
    if version is None or (scope is not None and version.policy.organisation_id not in scope):
        raise NotFound("We could not find that policy version.")
    return version


def active_version(session: Session, organisation_id: int) -> PolicyVersion | None:
    chosen = session.get(ActivePolicy, organisation_id)
    return chosen.version if chosen else None


def save_policy(session: Session, *, organisation: Organisation, yaml_text: str, reason: str,
                actor: Account | None = None, policy: PrioritisationPolicy | None = None,
                make_active: bool = False) -> PolicyVersion:
    """Save a new version of a policy (a new policy when ``policy`` is None).

    The YAML is checked by the engine (located problems, the clinical safeguard); the
    reason says why it changed. Nothing is saved unless everything is right.
    """
    checked = check_policy_text(yaml_text)
    why = (reason or "").strip()
    if not why:
        raise ValidationError("Say why you are making this change", column="reason",
                              code="reason_required")
    if len(why) > MAX_REASON:
        raise ValidationError(f"The reason must be {MAX_REASON} characters or fewer",
                              column="reason", code="too_long")
    if policy is None:
        slug = slugify(checked.name)
        if session.scalar(select(PrioritisationPolicy.id).where(
                PrioritisationPolicy.organisation_id == organisation.id,
                PrioritisationPolicy.slug == slug)):
            raise Conflict(f"{organisation.name} already has a policy called "
                           f"'{checked.name}'. Open it and save a new version, or give this "
                           "one another name.", code="duplicate_policy")
        policy = PrioritisationPolicy(organisation_id=organisation.id, slug=slug,
                                      created_by=actor.id if actor else None)
        session.add(policy)
        session.flush()
        number = 1
    else:
        latest = policy.versions[0] if policy.versions else None
        if latest is not None and latest.yaml_text.strip() == yaml_text.strip():
            raise ValidationError(f"This is the same as version {latest.version}: there is "
                                  "nothing new to save", column="yaml", code="unchanged")
        number = (latest.version if latest else 0) + 1
    version = PolicyVersion(policy_id=policy.id, version=number, name=checked.name,
                            yaml_text=yaml_text, reason=why,
                            saved_by=actor.id if actor else None, saved_at=utcnow())
    session.add(version)
    session.flush()
    session.refresh(policy, ["versions"])
    audit.record(session, "access.policy.save", actor=actor, record_type="access_policy",
                 record_id=policy.id, organisation_id=policy.organisation_id,
                 summary=f"Saved version {number} of the policy '{checked.name}'",
                 detail={"version": number, "version_id": version.id})
    if make_active:
        activate_version(session, version, actor=actor)
    return version


def activate_version(session: Session, version: PolicyVersion,
                     actor: Account | None = None) -> None:
    """Make a policy version the one an organisation's list is ordered by."""
    org_id = version.policy.organisation_id
    chosen = session.get(ActivePolicy, org_id)
    if chosen is not None and chosen.version_id == version.id:
        return
    if chosen is None:
        session.add(ActivePolicy(organisation_id=org_id, version_id=version.id,
                                 set_by=actor.id if actor else None, set_at=utcnow()))
    else:
        chosen.version_id = version.id
        chosen.set_by = actor.id if actor else None
        chosen.set_at = utcnow()
    session.flush()
    session.expire_all()
    audit.record(session, "access.policy.activate", actor=actor, record_type="access_policy",
                 record_id=version.policy_id, organisation_id=org_id,
                 summary=f"Put version {version.version} of the policy '{version.name}' "
                         "in use", detail={"version": version.version, "version_id": version.id})


def policy_history(session: Session, policy: PrioritisationPolicy) -> list[dict]:
    """Who did what to a policy, when (from the audit log), newest first."""
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.record_type == "access_policy",
        AuditEvent.record_id == str(policy.id)).order_by(AuditEvent.id.desc())).all()
    ids = {e.actor_id for e in events if e.actor_id}
    names = {a.id: a.display_name for a in session.scalars(
        select(Account).where(Account.id.in_(ids or {-1})))}
    return [{"at": e.at, "action": e.action, "summary": e.summary,
             "who": names.get(e.actor_id, "Not known" if e.actor_id else "Voices")}
            for e in events]


@dataclass(frozen=True)
class DiffLine:
    kind: str          # "same", "added", "removed"
    old: int | None    # line number in the older version
    new: int | None    # line number in the newer version
    text: str


def policy_diff(older: str, newer: str) -> list[DiffLine]:
    """Line-by-line differences between two versions' YAML (difflib's sequence matcher)."""
    a, b = older.splitlines(), newer.splitlines()
    out: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend(DiffLine("same", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1))
            continue
        out.extend(DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2))
        out.extend(DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2))
    return out


def diff_with_context(lines: list[DiffLine], context: int = 2) -> list[DiffLine | int]:
    """The changed lines with ``context`` unchanged lines around each change; each run of
    unchanged lines left out becomes the number of lines it holds."""
    changed = [i for i, line in enumerate(lines) if line.kind != "same"]
    keep = {j for i in changed for j in range(i - context, i + context + 1)}
    out: list[DiffLine | int] = []
    skipped = 0
    for i, line in enumerate(lines):
        if i in keep:
            if skipped:
                out.append(skipped)
                skipped = 0
            out.append(line)
        else:
            skipped += 1
    if skipped:
        out.append(skipped)
    return out


def ranked_list(session: Session, record: WaitingListSnapshot, version: PolicyVersion
                ) -> pl.DataFrame:
    """A snapshot ordered by a policy version, with every position explained."""
    return _cache.get(("ranked", version.id, version.yaml_text) + _key(session, record),
                      lambda: rank(load_snapshot(session, record),
                                   check_policy_text(version.yaml_text)))


# --------------------------------------------------------------------------- simulations


def label_versions(versions: list[PolicyVersion]) -> list[str]:
    """Names for a comparison: the policy's name, with its version where names repeat."""
    names = [v.name for v in versions]
    return [f"{v.name} (version {v.version})" if names.count(v.name) > 1 else v.name
            for v in versions]


def start_simulation(session: Session, *, record: WaitingListSnapshot,
                     versions: list[PolicyVersion], weeks: int, replications: int,
                     seed: int = 0, actor: Account | None = None) -> Simulation:
    """Queue a simulation of policy versions on a snapshot (run by a background job)."""
    from voices import jobs

    if len(versions) < 2 or len({v.id for v in versions}) != len(versions):
        raise ValidationError("Choose two or more different policies to compare",
                              column="versions", code="too_few_policies")
    if not 1 <= weeks <= 156:
        raise ValidationError("Enter a number of weeks from 1 to 156", column="weeks")
    if not 2 <= replications <= 100:
        raise ValidationError("Enter a number of replications from 2 to 100",
                              column="replications")
    for version in versions:
        check_policy_text(version.yaml_text)
    sim = Simulation(organisation_id=record.organisation_id, snapshot_id=record.id,
                     version_ids=[v.id for v in versions],
                     settings={"weeks": weeks, "replications": replications, "seed": seed},
                     created_by=actor.id if actor else None, created_at=utcnow())
    session.add(sim)
    session.flush()
    job = jobs.enqueue(session, SIMULATION_JOB, {"simulation_id": sim.id},
                       key=f"{SIMULATION_JOB}:{sim.id}", actor=actor,
                       organisation_id=record.organisation_id)
    sim.job_id = job.id
    audit.record(session, "access.simulation.start", actor=actor, record_type="access_snapshot",
                 record_id=record.id, organisation_id=record.organisation_id,
                 summary=f"Started a simulation of {len(versions)} policies",
                 detail={"simulation_id": sim.id})
    return sim


def run_simulation(session: Session, simulation_id: int,
                   progress: Callable[[float, str], None] | None = None) -> Simulation:
    """Run a queued simulation and store its results (modelled figures only)."""
    from voices.access.simulation import WaitingListSimulator

    say = progress or (lambda fraction, message: None)
    sim = session.get(Simulation, simulation_id)
    if sim is None:
        raise NotFound("That simulation no longer exists")
    if sim.snapshot is None:
        raise ValidationError("The waiting list this simulation used has been removed")
    versions = [session.get(PolicyVersion, v) for v in sim.version_ids]
    if any(v is None for v in versions):
        raise ValidationError("A policy version this simulation used has been removed")
    labels = label_versions(versions)
    policies = [dataclasses.replace(check_policy_text(v.yaml_text), name=label)
                for v, label in zip(versions, labels)]
    say(0.05, "Reading the waiting list")
    snap = load_snapshot(session, sim.snapshot)
    settings = sim.settings
    simulator = WaitingListSimulator(weeks=int(settings["weeks"]),
                                     replications=int(settings["replications"]),
                                     seed=int(settings.get("seed", 0))).fit(snap)
    total = simulator.replications * len(policies) * simulator.steps
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        say(0.1 + 0.85 * done[0] / total, "Simulating")

    result = simulator.run(policies, progress=advance)
    sim.result = simulation_payload(result)
    sim.status = "done"
    sim.finished_at = utcnow()
    session.flush()
    return sim


def simulation_payload(result) -> dict:
    """What is kept of a simulation: comparison, results by deprivation quintile, and the
    week-by-week series (means across replications)."""
    import math

    def clean(rows: list[dict]) -> list[dict]:
        return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                 for k, v in row.items()} for row in rows]

    series = result.series.group_by(["policy", "week"], maintain_order=True).agg(
        pl.col("waiting").mean(), pl.col("over_52").mean()).sort(["policy", "week"])
    return {"settings": result.settings, "policies": list(result.policies),
            "confidence": result.confidence,
            "comparison": clean(result.comparison().to_dicts()),
            "quintiles": clean(result.groups("imd_quintile").to_dicts()),
            "series": clean(series.to_dicts())}


def list_simulations(session: Session, scope: set[int] | None, limit: int = 20
                     ) -> list[Simulation]:
    query = select(Simulation).order_by(Simulation.id.desc()).limit(limit)
    if scope is not None:
        query = query.where(Simulation.organisation_id.in_(scope or {-1}))
    return list(session.scalars(query))


def get_simulation(session: Session, simulation_id: int, scope: set[int] | None) -> Simulation:
    sim = session.get(Simulation, simulation_id)
    if sim is None or (scope is not None and sim.organisation_id not in scope):
        raise NotFound("We could not find that simulation.")
    return sim


def count_pathways(session: Session, record: WaitingListSnapshot) -> int:
    return session.scalar(select(func.count()).select_from(Pathway).where(
        Pathway.snapshot_id == record.id)) or 0


# --------------------------------------------------------------------------- the dashboard

DIMENSION_LABELS = {
    "imd_decile": "Deprivation decile (1 = most deprived)",
    "imd_quintile": "Deprivation quintile (1 = most deprived)",
    "ethnic_group": "Ethnic group",
    "age_band": "Age band",
    "sex": "Sex",
    "learning_disability": "Learning disability or autism",
    "ethnic_group_by_imd_quintile": "Ethnic group and deprivation quintile",
}
THRESHOLDS = (18, 52, 65, 78)


def group_label(dimension: str, code: str) -> str:
    """Plain words for a group code of :mod:`voices.access.waits`."""
    from voices.equity.dimensions import (
        AGE_BANDS_BROAD,
        ETHNIC_GROUPS,
        IMD_DECILES,
        IMD_QUINTILES,
        NOT_KNOWN,
    )

    if code == NOT_KNOWN:
        return "Not known"
    if dimension == "list":
        return "All pathways"
    if dimension == "imd_decile":
        return IMD_DECILES.get(code, code)
    if dimension == "imd_quintile":
        return IMD_QUINTILES.get(code, code)
    if dimension == "ethnic_group":
        return ETHNIC_GROUPS.get(code, code)
    if dimension == "age_band":
        return AGE_BANDS_BROAD.get(code, code)
    if dimension == "learning_disability":
        return {"yes": "Yes", "no": "No"}.get(code, code)
    if dimension == "ethnic_group_by_imd_quintile":
        ethnic, _, quintile = code.partition(" | quintile ")
        words = ETHNIC_GROUPS.get(ethnic, "Not known") if ethnic != NOT_KNOWN else "Not known"
        place = f"quintile {quintile}" if quintile != NOT_KNOWN else "quintile not known"
        return f"{words}, {place}"
    return code


def _clean(value):
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _sii_sentences(equity: WaitEquity) -> list[dict]:
    out = []
    for name, what, unit in (("pct_over_52", "share waiting over 52 weeks", "percentage points"),
                             ("pct_over_18", "share waiting over 18 weeks", "percentage points"),
                             ("mean_weeks", "mean wait", "weeks")):
        sii = equity.sii.get(name)
        if sii is None or _clean(sii.sii) is None:
            continue
        gap = -sii.sii
        direction = "longer" if gap > 0 else "shorter"
        amount = f"{abs(gap):.1f} {unit}"
        if name != "mean_weeks":
            direction = "higher" if gap > 0 else "lower"
        interval = ""
        if _clean(sii.sii_lower) is not None and _clean(sii.sii_upper) is not None:
            interval = (f" (95% interval {-sii.sii_upper:.1f} to {-sii.sii_lower:.1f})")
        out.append({"measure": name, "gap": gap, "lower": _clean(-sii.sii_upper),
                    "upper": _clean(-sii.sii_lower), "unit": unit,
                    "text": f"Across the ten deprivation deciles, the {what} is {amount} "
                            f"{direction} for the most deprived than for the least deprived"
                            f"{interval}. This is the slope index of inequality, which uses "
                            "every decile, not just the two ends."})
    return out


def _exact_rows(table: pl.DataFrame, dimension: str) -> list[dict]:
    rows = []
    for row in table.filter(pl.col("dimension") == dimension).to_dicts():
        item = {k: _clean(v) for k, v in row.items()}
        item["label"] = group_label(dimension, row["group"])
        rows.append(item)
    return rows


def _published_rows(table: pl.DataFrame, dimension: str) -> list[dict]:
    from voices.access.published import published_dimension

    rows = published_dimension(table.filter(pl.col("dimension") == dimension))
    for row in rows:
        row["label"] = "All pathways" if row["is_total"] else group_label(dimension,
                                                                          row["group"])
        for key in ("median_weeks", "mean_weeks", "p92_weeks"):
            row[key] = _clean(row[key])
    return [r for r in rows if not r["is_total"]] if dimension != "list" else rows[:1]


def dashboard(session: Session, record: WaitingListSnapshot, *, exact: bool) -> dict:
    """Everything the equity dashboard shows for a snapshot: exact figures for analysts,
    figures after disclosure control for everyone else."""
    equity = snapshot_equity(session, record)
    table = equity.table
    rows = _exact_rows if exact else _published_rows
    headline = rows(table, "list")[0]
    dimensions = [{"dimension": d, "label": label, "rows": rows(table, d)}
                  for d, label in DIMENSION_LABELS.items()]
    flags = []
    for dim in dimensions:
        for row in dim["rows"]:
            if row.get("flagged") and row.get("pathways") not in (None, "*") \
                    and row["group"] != "not_known":
                flags.append({"dimension": dim["label"].split(" (")[0], "group": row["label"],
                              "pct_over_52": row.get("pct_over_52"),
                              "list_pct_over_52": headline.get("pct_over_52")})
    unknowns = dict(record.unknowns or {})
    if not exact:
        from voices.equity.disclosure import disclose_counts

        names = list(unknowns)
        shown = disclose_counts([unknowns[n] for n in names], column_totals=False).as_lists()
        unknowns = {n: v[0] for n, v in zip(names, shown)}
    return {
        "snapshot": {"id": record.id, "organisation": record.organisation.ods_code,
                     "organisation_name": record.organisation.name,
                     "snapshot_date": record.snapshot_date.isoformat(),
                     "pathways": record.pathways if exact else headline["pathways"],
                     "file_name": record.file_name,
                     "imported_at": record.imported_at.isoformat()},
        "exact": exact, "confidence": equity.confidence,
        "long_wait_weeks": equity.long_wait_weeks, "headline": headline,
        "dimensions": dimensions, "flags": flags, "sii": _sii_sentences(equity),
        "unknowns": unknowns, "notes": list(record.notes or []),
        "missing_columns": list(record.missing_columns or []),
        "trend": snapshot_trend(session, record.organisation_id, exact=exact),
        "rtt": rtt_comparison(session, record, headline),
    }


def snapshot_trend(session: Session, organisation_id: int, *, exact: bool) -> list[dict]:
    """Headline figures of each of an organisation's snapshots, newest first (counted in
    the database, so the lists are not read)."""
    from sqlalchemy import case

    records = session.scalars(select(WaitingListSnapshot).where(
        WaitingListSnapshot.organisation_id == organisation_id).order_by(
        WaitingListSnapshot.snapshot_date.desc())).all()
    rows = []
    for r in records:
        counts = [func.sum(case((Pathway.clock_start_date
                                 < r.snapshot_date - dt.timedelta(days=7 * weeks), 1), else_=0))
                  for weeks in THRESHOLDS]
        values = session.execute(select(func.count(), *counts).where(
            Pathway.snapshot_id == r.id)).one()
        row = {"group": r.snapshot_date.isoformat(), "pathways": int(values[0])}
        row.update({f"over_{w}": int(v or 0) for w, v in zip(THRESHOLDS, values[1:])})
        row["snapshot_id"] = r.id
        rows.append(row)
    if not rows:
        return []
    frame = pl.DataFrame([{k: v for k, v in r.items() if k != "snapshot_id"} for r in rows])
    if exact:
        out = [{**r, **{f"pct_over_{w}": 100.0 * r[f"over_{w}"] / r["pathways"]
                        if r["pathways"] else None for w in THRESHOLDS}} for r in rows]
    else:
        from voices.access.published import published_dimension

        ids = {r["group"]: r["snapshot_id"] for r in rows}
        out = [{**r, "snapshot_id": ids[r["group"]]} for r in published_dimension(frame)
               if not r["is_total"]]
    return out


def rtt_comparison(session: Session, record: WaitingListSnapshot, headline: dict
                   ) -> dict | None:
    """How a snapshot's list compares with providers' published RTT figures (the latest
    period imported)."""
    import statistics

    period, providers = rtt_providers(session)
    if not providers:
        return None
    pct_over_18 = headline.get("pct_over_18")
    own = None if pct_over_18 in (None, "*") else 100.0 - float(pct_over_18)
    shares = [p["pct_within_18"] for p in providers if p["pct_within_18"] is not None]
    total = sum(p["pathways"] for p in providers)
    within = sum(p["within_18"] for p in providers)
    published = next((p for p in providers
                      if p["provider_code"] == record.organisation.ods_code), None)
    rank = None if own is None else 1 + sum(1 for s in shares if s > own)
    return {"period": period, "providers": len(providers),
            "pct_within_18": own, "rank": rank,
            "median_provider_pct_within_18": statistics.median(shares) if shares else None,
            "all_providers_pct_within_18": 100.0 * within / total if total else None,
            "published": published}
