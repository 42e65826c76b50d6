"""Panels chosen by fair lottery, stored: make a pool (from an opportunity's interested
partners, or an uploaded ``sortition-algorithms`` file pair), set and check quotas, run the
selection as a background job, publish the ticket list's fingerprint and where the seed
will come from, draw, and tell the people chosen.

The selection and the draw are :mod:`voices.involve.sortition` (LEXIMIN, the ticket
lottery); the pool and quota helpers are :mod:`voices.involve.panels`. People are kept by
partner reference or by the id in the uploaded file — never by name — and only the columns
the quotas use are kept from an uploaded file.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from voices import jobs
from voices.core import audit
from voices.core.models import Account, Job, Organisation
from voices.db import utcnow
from voices.equity.dimensions import DIMENSIONS
from voices.errors import Conflict, NotFound, Problem, ValidationError
from voices.involve import panels as panel_logic
from voices.involve import service as involve
from voices.involve.models import Interest, Opportunity, Panel, Partner, partner_reference
from voices.involve.sortition import PanelProblem, check_feasible, select_panel
from voices.involve.sortition_csv import read_pool, read_quotas
from voices.involve.sortition_lottery import draw_ticket

TICKETS = 1000
STATUSES = {"draft": "Setting quotas", "running": "Choosing", "ready": "Chances worked out",
            "published": "Published, waiting for the draw", "drawn": "Drawn",
            "failed": "Could not be chosen"}


def list_panels(db: Session, scope: set[int] | None) -> list[Panel]:
    query = select(Panel)
    if scope is not None:
        query = query.where(Panel.organisation_id.in_(scope or {-1}))
    return list(db.scalars(query.order_by(Panel.created_at.desc())))


def get_panel(db: Session, panel_id: int, scope: set[int] | None) -> Panel:
    panel = involve.get_row(db, Panel, panel_id)
    if panel is None or (scope is not None and panel.organisation_id not in scope):
        raise NotFound("We could not find that page.")
    return panel


def _reference_id(reference: str) -> int | None:
    return int(reference[1:]) if reference[:1] == "P" and reference[1:].isdigit() else None


def opportunity_pool(db: Session, opportunity: Opportunity, features: list[str]):
    """The partners interested in an opportunity (not withdrawn), by reference, with their
    group on each chosen dimension."""
    rows = db.execute(select(Partner.id, *involve.equality_answer_columns())
                      .join(Interest, Interest.partner_id == Partner.id)
                      .where(Interest.opportunity_id == opportunity.id,
                             Interest.status != "withdrawn")
                      .order_by(Interest.id)).all()
    people = [(partner_reference(row[0]), involve.equality_groups(row[1:])) for row in rows]
    return panel_logic.pool_from_groups(people, features,
                                        source=f"interested in opportunity {opportunity.id}")


def create_from_opportunity(db: Session, opportunity: Opportunity, *, name: str, k: int,
                            features: list[str], actor: Account) -> Panel:
    pool = opportunity_pool(db, opportunity, features)
    panel_logic.check_k(str(k), pool.n)
    population, _ = involve.population_for(db, opportunity.organisation)
    quotas = panel_logic.default_quotas(pool, k, population)
    panel = Panel(organisation_id=opportunity.organisation_id, opportunity_id=opportunity.id,
                  name=name, source="opportunity", k=k, pool=panel_logic.pool_to_json(pool),
                  quotas=panel_logic.quotas_to_json(quotas), created_by=actor.id,
                  status="draft")
    db.add(panel)
    db.flush()
    audit.record(db, "panel.create", actor=actor, record_type="panel", record_id=panel.id,
                 organisation_id=panel.organisation_id, summary=f"Pool of {pool.n}")
    return panel


def _read_upload(reader: Callable, content: bytes, file_name: str, *args):
    """Run a path-based CSV reader on uploaded bytes; errors name the uploaded file."""
    safe = Path(file_name).name[:100] or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="voices-panel-") as folder:
        path = Path(folder) / safe
        path.write_bytes(content)
        try:
            return reader(path, *args)
        except ValidationError as exc:
            problems = [Problem(p.message, file=safe, row=p.row, column=p.column,
                                expected=p.expected) for p in exc.problems]
            raise ValidationError(problems=problems, code=exc.code) from None


def create_from_upload(db: Session, organisation_id: int, *, name: str, k_text: str,
                       features: tuple[bytes, str], people: tuple[bytes, str],
                       id_column: str = "id", actor: Account) -> Panel:
    """A panel from a ``sortition-algorithms`` pair: ``features.csv`` (feature,value,min,max)
    and ``people.csv`` (an id column and one column per feature)."""
    quotas = _read_upload(read_quotas, *features)
    pool = _read_upload(read_pool, *people, quotas, id_column)
    k = panel_logic.check_k(k_text, pool.n)
    try:
        PanelProblem.from_pool(pool, quotas, k)          # every located input problem
    except ValidationError as exc:
        problems = [Problem(p.message, file=Path(p.file).name if p.file else None, row=p.row,
                            column=p.column, expected=p.expected) for p in exc.problems]
        raise ValidationError(problems=problems, code=exc.code) from None
    stored_pool = panel_logic.pool_to_json(pool)
    stored_pool["source"] = Path(people[1]).name[:100]
    panel = Panel(organisation_id=organisation_id, name=name, source="upload", k=k,
                  pool=stored_pool, quotas=panel_logic.quotas_to_json(quotas),
                  created_by=actor.id, status="draft")
    db.add(panel)
    db.flush()
    audit.record(db, "panel.create", actor=actor, record_type="panel", record_id=panel.id,
                 organisation_id=organisation_id, summary=f"Pool of {pool.n} from a file")
    return panel


def pool_of(panel: Panel):
    return panel_logic.pool_from_json(panel.pool)


def quotas_of(panel: Panel):
    return panel_logic.quotas_from_json(panel.quotas)


@dataclass(frozen=True)
class Feasibility:
    ok: bool
    message: str
    problems: tuple[str, ...] = ()


def feasibility(panel: Panel, quotas) -> Feasibility:
    """Whether any panel of the size can meet every quota together; if not, which quotas
    conflict and the nearest quotas that work."""
    pool = pool_of(panel)
    try:
        problem = PanelProblem.from_pool(pool, quotas, panel.k)
        check_feasible(problem, quotas)
    except ValidationError as exc:
        words = _in_words(quotas)
        return Feasibility(False, words(exc.problems[0].message if len(exc.problems) == 1
                                        else exc.message.split(" (and ")[0]),
                           tuple(words(p.message) for p in exc.problems))
    return Feasibility(True, f"A panel of {panel.k} from these {pool.n} people can meet every "
                             "quota.")


def _in_words(quotas) -> Callable[[str], str]:
    """Say 'Age band 18 to 24' where the engine says 'age_band=18-24'."""
    names = {f"{q.feature}={q.value}": (
        f"{DIMENSIONS[q.feature].label} '{panel_logic.label(q.feature, q.value)}'"
        if q.feature in DIMENSIONS else f"{q.feature}={q.value}") for q in quotas.rows}
    order = sorted(names, key=len, reverse=True)

    def words(text: str) -> str:
        for code in order:
            text = re.sub(rf"(?<![\w=-]){re.escape(code)}(?![\w-])", names[code], text)
        return text
    return words


def save_quotas(db: Session, panel: Panel, quotas, *, actor: Account) -> None:
    if panel.status in ("published", "drawn", "running"):
        raise Conflict("The quotas cannot change once the selection is running or published",
                       code="panel_locked")
    PanelProblem.from_pool(pool_of(panel), quotas, panel.k)   # located input problems
    panel.quotas = panel_logic.quotas_to_json(quotas)
    panel.status, panel.result = "draft", None
    audit.record(db, "panel.quotas", actor=actor, record_type="panel", record_id=panel.id,
                 organisation_id=panel.organisation_id)
    db.flush()


def start_selection(db: Session, panel: Panel, *, actor: Account) -> Job:
    """Check the quotas can be met, then run the selection in the background."""
    if panel.status in ("published", "drawn"):
        raise Conflict("This panel has been published; it cannot be chosen again",
                       code="panel_locked")
    found = feasibility(panel, quotas_of(panel))
    if not found.ok:
        raise ValidationError(found.message, column="quotas", code="infeasible_quotas")
    job = jobs.enqueue(db, "involve.panel_select", {"panel_id": panel.id},
                       key=f"involve.panel:{panel.id}", actor=actor,
                       organisation_id=panel.organisation_id)
    panel.status, panel.job_id, panel.result = "running", job.id, None
    audit.record(db, "panel.run", actor=actor, record_type="panel", record_id=panel.id,
                 organisation_id=panel.organisation_id)
    db.flush()
    return job


def run_selection(db: Session, panel_id: int,
                  report: Callable[[float, str], None] = lambda f, m: None) -> dict:
    """The job: LEXIMIN, then rounding to a lottery of equally likely tickets. Stores each
    person's chance, the summary and the ticket list on the panel."""
    panel = db.get(Panel, panel_id)
    if panel is None:
        raise NotFound("The panel no longer exists")
    pool, quotas = pool_of(panel), quotas_of(panel)
    report(0.05, f"Working out fair chances for {pool.n} people")

    def progress(done: int, total: int) -> None:
        report(0.05 + 0.85 * done / max(total, 1), "Working out fair chances")

    selection = select_panel(pool, quotas, panel.k, "leximin", progress=progress)
    report(0.92, f"Making {TICKETS} equally likely tickets")
    lottery = selection.lottery(TICKETS, seed=panel.id)
    summary = selection.summary()
    panel.result = {
        "summary": {k: summary[k] for k in ("algorithm", "n", "k", "seconds", "min_probability",
                                            "max_probability", "gini", "panels")},
        "probabilities": dict(zip(pool.ids, map(float, selection.probabilities), strict=True)),
        "tickets": lottery.text(), "digest": lottery.digest, "m": lottery.m,
        "max_change": lottery.max_change,
    }
    panel.status = "ready"
    db.flush()
    return {"next": f"/involve/panels/{panel.id}", "panel_id": panel.id}


def publish(db: Session, panel: Panel, seed_source: str, *, actor: Account) -> None:
    """Publish the ticket list's SHA-256 and where the seed will come from, before the
    draw (so nobody can choose a seed that favours someone)."""
    if panel.status != "ready" or not panel.result:
        raise Conflict("Work out the chances before publishing", code="panel_not_ready")
    text = " ".join(str(seed_source).split())
    if len(text) < 10 or len(text) > 500:
        raise ValidationError("Say where the seed will come from, for example the National "
                              "Lottery numbers drawn on a stated date (10 to 500 characters)",
                              column="seed_source", code="invalid_seed_source")
    panel.panels_hash = panel.result["digest"]
    panel.seed_source = text
    panel.published_at = utcnow()
    panel.status = "published"
    audit.record(db, "panel.publish", actor=actor, record_type="panel", record_id=panel.id,
                 organisation_id=panel.organisation_id,
                 detail={"sha256": panel.panels_hash})
    db.flush()


def draw(db: Session, panel: Panel, seed: str, *, actor: Account) -> list[str]:
    """Draw the published lottery with the public seed; tell the partners chosen."""
    if panel.status != "published":
        raise Conflict("Publish the ticket list's fingerprint before the draw",
                       code="panel_not_published")
    seed = str(seed).strip()
    if not seed or len(seed) > 200:
        raise ValidationError("Enter the seed, exactly as it was announced", column="seed",
                              code="required")
    text = panel.result["tickets"]
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != panel.panels_hash:       # the stored list must be the one published
        raise Conflict("The ticket list does not match its published fingerprint",
                       code="panel_tampered")
    lines = text.splitlines()
    number = draw_ticket(digest, seed, len(lines))
    chosen = lines[number - 1].split(",")
    panel.seed, panel.selected, panel.drawn_at, panel.status = seed, chosen, utcnow(), "drawn"
    panel.result = {**panel.result, "ticket": number}
    if panel.source == "opportunity":
        for reference in chosen:
            partner = involve.get_row(db, Partner, _reference_id(reference))
            if partner is None:
                continue                      # erased since the pool was made
            involve.notify(db, partner.account_id,
                           f"You have been chosen by lottery for {panel.name}. The "
                           "involvement team will contact you.",
                           f"/involve/opportunities/{panel.opportunity_id}"
                           if panel.opportunity_id else "/involve/me")
            interest = db.scalar(select(Interest).where(
                Interest.opportunity_id == panel.opportunity_id,
                Interest.partner_id == partner.id))
            if interest is not None and interest.status == "interested":
                interest.status = "selected"
    audit.record(db, "panel.draw", actor=actor, record_type="panel", record_id=panel.id,
                 organisation_id=panel.organisation_id, detail={"ticket": number})
    db.flush()
    return chosen


def tickets_are_public(panel: Panel) -> bool:
    """Whether anyone may download the ticket list once it is published: yes for pools of
    partners (the tickets hold partner references like P000123 and nothing else); no for
    uploaded files, whose ids could be anything, names included."""
    return (panel.source == "opportunity" and panel.published_at is not None
            and bool((panel.result or {}).get("tickets")))


def names_for(db: Session, references: list[str]) -> dict[str, str]:
    """Partner names for references (for the lead's view only)."""
    ids = [i for i in (_reference_id(r) for r in references) if i is not None]
    if not ids:
        return {}
    return {p.reference: p.name for p in db.scalars(select(Partner).where(Partner.id.in_(ids)))}


def organisation_of(db: Session, panel: Panel) -> Organisation:
    return db.get(Organisation, panel.organisation_id)
