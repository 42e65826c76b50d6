"""The panels page: a pool, quotas with a live check, the selection as a background job,
each person's chance, the published fingerprint, the public draw, the people told."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pytest
from sqlalchemy import func, select

from involve_support import ANSWERS, PASSWORD, post
from support import DEMO_EMAILS, sign_in
from voices import jobs
from voices.core import service as core
from voices.core.models import Account, Organisation
from voices.errors import ValidationError
from voices.involve import panels as panel_logic
from voices.involve import questions
from voices.involve import service as involve
from voices.involve.community import Population
from voices.involve.models import Interest, Notification, Opportunity, Panel
from voices.involve.sortition_lottery import draw_ticket

AGES = ["25-34", "45-54", "65-74", "65-74", "65-74", "75-84"]


def test_default_quotas_follow_the_population_and_never_ask_for_more_than_the_pool_has():
    people = [(f"P{i:06d}", {"age_band": AGES[i % 6], "sex": "12"[i % 2]}) for i in range(30)]
    pool = panel_logic.pool_from_groups(people, ["age_band", "sex"])
    population = Population({"age_band": {"25-34": 0.5, "45-54": 0.25, "65-74": 0.2,
                                          "75-84": 0.05}})
    quotas = panel_logic.default_quotas(pool, 8, population)
    by = {(q.feature, q.value): (q.min, q.max) for q in quotas.rows}
    assert by[("age_band", "25-34")] == (3, 5)        # 8 × 0.5 = 4 → 3 to 5 (pool has 5)
    assert by[("age_band", "65-74")] == (0, 3)        # 8 × 0.2 = 1.6 → 0 to 3
    assert by[("sex", "1")] == (3, 5) and by[("sex", "2")] == (3, 5)   # the pool's own shares


def test_quotas_typed_on_the_page_are_checked_field_by_field():
    people = [(f"P{i}", {"sex": "12"[i % 2]}) for i in range(10)]
    template = panel_logic.default_quotas(panel_logic.pool_from_groups(people, ["sex"]), 4)
    quotas = panel_logic.quotas_from_form({"min-0": ["1"], "max-0": ["3"], "min-1": ["2"],
                                           "max-1": ["2"]}, template, 4)
    assert [(q.min, q.max) for q in quotas.rows] == [(1, 3), (2, 2)]
    with pytest.raises(ValidationError) as caught:
        panel_logic.quotas_from_form({"min-0": ["x"], "max-0": ["3"], "min-1": ["3"],
                                      "max-1": ["2"]}, template, 4)
    assert [p.column for p in caught.value.problems] == ["min-0", "min-1"]
    with pytest.raises(ValidationError):
        panel_logic.pool_from_groups(people, ["shoe_size"])
    with pytest.raises(ValidationError):
        panel_logic.check_k("0", 10)


def _community(session, count: int) -> Opportunity:
    """``count`` partners, all interested in one opportunity of the ICB."""
    org = session.scalar(select(Organisation).where(Organisation.ods_code == "QZ9"))
    lead = session.scalar(select(Account).where(Account.email == DEMO_EMAILS["involvement_lead"]))
    opportunity = involve.create_opportunity(session, org.id, {
        "project": "Planned care", "role": "Check and Challenge member",
        "time_needed": "3 hours a month", "formats": ["in_person"],
        "payment_level": "level_4", "closing_date": dt.date(2099, 1, 1)}, actor=lead)
    for i in range(count):
        _, draft = involve.start_draft(session, org)
        answers = {**ANSWERS, "email": f"p{i}@example.org", "name": f"Person {i}",
                   "age_band": AGES[i % 6], "sex": "12"[i % 2],
                   "consent_equality": "no" if i % 7 == 6 else "yes"}
        while (question := questions.next_question(draft.answers)) is not None:
            value = answers[question.key]
            involve.save_answer(session, draft, question,
                                {question.key: value if isinstance(value, list) else [value]})
        partner = involve.complete_signup(session, draft, PASSWORD)
        session.add(Interest(opportunity_id=opportunity.id, partner_id=partner.id))
    session.commit()
    return opportunity


def test_a_lead_chooses_a_panel_from_interested_partners_and_draws_it_in_public(
        client, demo_core, session, database):
    opportunity = _community(session, 21)
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    response = post(client, "/involve/panels/new", {
        "name": "Check and Challenge 2027", "source": "opportunity",
        "opportunity_id": str(opportunity.id), "k": "6", "features": ["age_band", "sex"]})
    assert response.status_code == 303
    panel = session.scalars(select(Panel)).one()
    page = client.get(f"/involve/panels/{panel.id}").text
    assert "These quotas work" in page
    assert 'hx-post="/involve/panels/%d/check"' % panel.id in page    # live check with htmx
    assert ">Check</button>" in page                                   # and without it
    # quotas that cannot all be met: the check names the conflict, nothing is saved
    rows = panel_logic.quotas_from_json(panel.quotas).rows
    form = {f"{b}-{i}": str(getattr(q, b)) for i, q in enumerate(rows) for b in ("min", "max")}
    oldest = next(i for i, q in enumerate(rows) if q.value == "75-84")   # all women
    men = next(i for i, q in enumerate(rows) if q.feature == "sex" and q.value == "1")
    loose = {**{f"min-{i}": "0" for i in range(len(rows))},
             **{f"max-{i}": "6" for i in range(len(rows))}}
    bad = {**loose, f"min-{oldest}": "3", f"min-{men}": "4"}      # 3 + 4 > 6 seats
    fragment = post(client, f"/involve/panels/{panel.id}/check", bad,
                    page=f"/involve/panels/{panel.id}")
    assert "cannot all be met" in fragment.text and "<html" not in fragment.text
    assert "Sex &#39;Male&#39; conflicts" in fragment.text       # names the conflict in words
    checked = post(client, f"/involve/panels/{panel.id}/quotas", {**bad, "action": "check"},
                   page=f"/involve/panels/{panel.id}")
    assert "cannot all be met" in checked.text and "<html" in checked.text
    refused = post(client, f"/involve/panels/{panel.id}/quotas", {**form, "min-0": "many"},
                   page=f"/involve/panels/{panel.id}")
    assert refused.status_code == 422 and 'href="#min-0"' in refused.text
    session.expire_all()
    assert session.get(Panel, panel.id).quotas == panel.quotas
    # run the selection in the background
    response = post(client, f"/involve/panels/{panel.id}/run", {},
                    page=f"/involve/panels/{panel.id}")
    assert response.headers["location"].startswith("/jobs/")
    assert jobs.run_pending(database) == 1
    session.expire_all()
    panel = session.get(Panel, panel.id)
    probabilities = np.array(list(panel.result["probabilities"].values()))
    assert panel.status == "ready" and len(probabilities) == 21
    assert abs(probabilities.sum() - 6) < 1e-6              # chances add up to the panel size
    assert panel.result["m"] == 1000
    page = client.get(f"/involve/panels/{panel.id}").text
    assert "Lowest chance" in page and "Each person&#39;s chance of selection" in page
    # draw only after publishing the fingerprint and the seed's source
    early = post(client, f"/involve/panels/{panel.id}/draw", {"seed": "1 2 3"},
                 page=f"/involve/panels/{panel.id}")
    assert early.status_code == 422
    post(client, f"/involve/panels/{panel.id}/publish",
         {"seed_source": "The Lotto numbers drawn on Saturday 5 December 2026"},
         page=f"/involve/panels/{panel.id}")
    public = client.get(f"/involve/panels/{panel.id}/public")
    session.expire_all()
    panel = session.get(Panel, panel.id)
    assert panel.panels_hash in public.text and "Not drawn yet" in public.text
    tickets = client.get(f"/involve/panels/{panel.id}/tickets.txt").content
    assert hashlib.sha256(tickets).hexdigest() == panel.panels_hash
    post(client, f"/involve/panels/{panel.id}/draw", {"seed": "4 8 15 16 23 42"},
         page=f"/involve/panels/{panel.id}")
    session.expire_all()
    panel = session.get(Panel, panel.id)
    number = draw_ticket(panel.panels_hash, "4 8 15 16 23 42", 1000)   # anyone can repeat it
    assert panel.selected == tickets.decode().splitlines()[number - 1].split(",")
    assert len(panel.selected) == 6 and panel.status == "drawn"
    # the people chosen are told in the app, and marked as invited
    chosen_accounts = {involve.partner_for_account(session, a).reference: a.id
                       for a in session.scalars(select(Account).where(
                           Account.email.like("p%@example.org")))}
    told = set(session.scalars(select(Notification.account_id)))
    assert {chosen_accounts[r] for r in panel.selected} == told
    assert session.scalar(select(func.count()).select_from(Interest).where(
        Interest.status == "selected")) == 6
    client.cookies.clear()
    winner = next(a for r, a in chosen_accounts.items() if r in panel.selected)
    sign_in(client, session.get(Account, winner).email, PASSWORD)
    assert "You have been chosen by lottery" in client.get("/involve/me").text
    # anyone, signed in or not, can fetch the published ticket list and repeat the draw
    client.cookies.clear()
    public = client.get(f"/involve/panels/{panel.id}/public")
    assert f'href="/involve/panels/{panel.id}/public/tickets.txt"' in public.text
    published = client.get(f"/involve/panels/{panel.id}/public/tickets.txt").content
    assert published == tickets and hashlib.sha256(published).hexdigest() == panel.panels_hash
    assert "Person" not in published.decode()                  # references, never names


def test_an_uploaded_file_pair_gives_every_person_the_papers_chance(client, demo_core, session,
                                                                   database, shared_data):
    folder = shared_data / "sortition" / "pools" / "example_small_20"
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    bad = post(client, "/involve/panels/new", {"name": "Nature example", "source": "upload",
                                               "k": "20"},
               files={"features_file": ("features.csv", b"feature,value,min\nx,y,1\n"),
                      "people_file": ("people.csv", (folder / "people.csv").read_bytes())},
               page="/involve/panels/new")
    assert bad.status_code == 422 and "features.csv" in bad.text
    assert session.scalar(select(func.count()).select_from(Panel)) == 0
    response = post(client, "/involve/panels/new", {"name": "Nature example",
                                                    "source": "upload", "k": "20"},
                    files={"features_file": ("features.csv",
                                             (folder / "features.csv").read_bytes()),
                           "people_file": ("people.csv", (folder / "people.csv").read_bytes())},
                    page="/involve/panels/new")
    assert response.status_code == 303
    panel = session.scalars(select(Panel)).one()
    post(client, f"/involve/panels/{panel.id}/run", {}, page=f"/involve/panels/{panel.id}")
    jobs.run_pending(database)
    session.expire_all()
    probabilities = np.array(list(session.get(Panel, panel.id).result["probabilities"]
                                  .values()))
    # Flanigan et al. (Nature 2021) reference output: LEXIMIN gives everyone 0.1
    assert len(probabilities) == 200 and np.allclose(probabilities, 0.1, atol=1e-6)
    # an uploaded file's ids could be names: its ticket list is not made public
    post(client, f"/involve/panels/{panel.id}/publish",
         {"seed_source": "The Lotto numbers drawn on Saturday 5 December 2026"},
         page=f"/involve/panels/{panel.id}")
    client.cookies.clear()
    public = client.get(f"/involve/panels/{panel.id}/public")
    assert public.status_code == 200 and "public/tickets.txt" not in public.text
    assert client.get(f"/involve/panels/{panel.id}/public/tickets.txt").status_code == 404


def test_another_organisations_lead_cannot_reach_a_panel(client, demo_core, session):
    opportunity = _community(session, 8)
    lead = session.scalar(select(Account).where(Account.email == DEMO_EMAILS["involvement_lead"]))
    from voices.involve import panel_service

    panel = panel_service.create_from_opportunity(session, opportunity, name="P", k=3,
                                                  features=["sex"], actor=lead)
    rz2 = session.scalar(select(Organisation).where(Organisation.ods_code == "RZ2"))
    core.create_account(session, email="lead.rz2@voices.example", password=PASSWORD,
                        role="involvement_lead", organisation_id=rz2.id)
    session.commit()
    sign_in(client, "lead.rz2@voices.example", PASSWORD)
    for path in (f"/involve/panels/{panel.id}", f"/involve/panels/{panel.id}/tickets.txt"):
        assert client.get(path).status_code == 404
    assert client.get(f"/involve/panels/{panel.id}/public").status_code == 404  # unpublished


def test_the_selection_job_reports_its_progress_as_it_goes(demo_core, session, monkeypatch):
    opportunity = _community(session, 10)
    lead = session.scalar(select(Account).where(Account.email == DEMO_EMAILS["involvement_lead"]))
    from voices.involve import panel_service

    panel = panel_service.create_from_opportunity(session, opportunity, name="P", k=4,
                                                  features=["age_band", "sex"], actor=lead)
    engine = panel_service.select_panel

    def reporting_engine(*args, progress=None, **kwargs):    # the engine's own steps
        for done in (0, 1, 2):
            progress(done, 2)
        return engine(*args, **kwargs)
    monkeypatch.setattr(panel_service, "select_panel", reporting_engine)
    reports: list[tuple[float, str]] = []
    result = panel_service.run_selection(session, panel.id,
                                         lambda done, message: reports.append((done, message)))
    fractions = [done for done, _ in reports]
    assert len(reports) == 5 and fractions == sorted(fractions)      # never goes backwards
    assert fractions[0] <= 0.05 and fractions[3] == pytest.approx(0.9)  # the engine's share
    assert 0.9 <= fractions[-1] < 1.0
    assert "10 people" in reports[0][1] and "tickets" in reports[-1][1]
    assert result["next"] == f"/involve/panels/{panel.id}" and panel.status == "ready"


def test_a_partner_erased_before_the_draw_stays_a_ticket_number_and_nothing_else(
        client, demo_core, session):
    from voices.involve import panel_service

    opportunity = _community(session, 8)
    lead = session.scalar(select(Account).where(Account.email == DEMO_EMAILS["involvement_lead"]))
    panel = panel_service.create_from_opportunity(session, opportunity, name="Erasure panel",
                                                  k=3, features=["sex"], actor=lead)
    panel_service.run_selection(session, panel.id)
    panel_service.publish(session, panel, "The Lotto numbers on 5 December 2026", actor=lead)
    session.commit()
    gone = involve.find_partner_by_email(session, "p0@example.org")
    reference = gone.reference
    involve.erase_partner(session, gone, actor=None)
    session.commit()
    chosen = panel_service.draw(session, panel, "1 2 3 4 5 6", actor=lead)   # still draws
    session.commit()
    assert len(chosen) == 3
    told = {a for a in session.scalars(select(Notification.account_id))}
    assert len(told) == len(set(chosen) - {reference})        # nobody left to tell for them
    sign_in(client, DEMO_EMAILS["involvement_lead"])
    page = client.get(f"/involve/panels/{panel.id}").text
    assert reference in page and "Erased partner" in page and "Person 0" not in page
    client.cookies.clear()
    tickets = client.get(f"/involve/panels/{panel.id}/public/tickets.txt").content
    assert hashlib.sha256(tickets).hexdigest() == panel.panels_hash     # still checkable
