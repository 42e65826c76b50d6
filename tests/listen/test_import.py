"""Importing suppliers' files through saved mappings: all or nothing, idempotent on the
supplier's response id, located errors, encodings, and the upload page's background job."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from listen_support import count
from support import DEMO_EMAILS, csrf_from, sign_in
from voices.errors import ValidationError
from voices.listen import importing
from voices.listen.models import FeedbackComment, FeedbackResponse, ImportRun
from voices.listen.questions import FFT_ANSWERS, fft_answer

HEADER = "Response ID,Date,Ward,Q1 Overall,Q2 What was good,Q3 What could be better,Age,Postcode"
ROWS = [
    "S-1,2026-03-14,rz1-emergency-department,Extremely good,Nurse Jane was lovely,,47,LS1 4AP",
    "S-2,14/03/2026,Podiatry,Poor,,Waited 3 hours,,",
    "S-3,2026-04-02 10:15,RZ1: Children's Ward,5,,Ring me on 07700 900123,85,",
]
MAPPING = ["listen", "mapping", "save", "survey-co", "--supplier", "Survey Co",
           "--column", "response_id=Response ID", "--column", "date=Date",
           "--column", "service=Ward", "--column", "rating=Q1 Overall",
           "--column", "what_good=Q2 What was good",
           "--column", "could_improve=Q3 What could be better", "--column", "age=Age",
           "--column", "postcode=Postcode", "--rating-value", "Extremely good=Very good"]


def _csv(path, rows, header=HEADER, encoding="utf-8"):
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def test_a_file_imported_twice_adds_each_response_once(listen_cli, database, demo_core,
                                                       tmp_path):
    assert listen_cli(*MAPPING).exit_code == 0
    first = listen_cli("listen", "import", str(_csv(tmp_path / "march.csv", ROWS)),
                       "--mapping", "survey-co", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout.strip().splitlines()[-1])["added"] == 3
    # The same responses again, now in a workbook with one new row: only that one is added.
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(HEADER.split(","))
    for row in ROWS + ["S-4,2026-04-05,Podiatry,Good,Quick,,,"]:
        book.active.append(row.split(","))
    book.save(tmp_path / "april.xlsx")
    second = listen_cli("listen", "import", str(tmp_path / "april.xlsx"), "--mapping",
                        "survey-co", "--json")
    result = json.loads(second.stdout.strip().splitlines()[-1])
    assert (result["rows"], result["added"], result["skipped"]) == (4, 1, 3)
    assert count(database, FeedbackResponse) == 4
    with database.sessionmaker() as session:
        stored = {r.supplier_response_id: r for r in session.scalars(select(FeedbackResponse))}
        assert (stored["S-1"].rating, stored["S-1"].age_band, stored["S-1"].postcode_district,
                stored["S-1"].period) == ("Very good", "45-54", "LS1", "2026-03")
        assert stored["S-2"].submitted_at.date() == dt.date(2026, 3, 14)
        assert stored["S-3"].rating == "Very poor"
        texts = sorted(c.text for c in session.scalars(select(FeedbackComment)))
        assert texts == ["Nurse [NAME] was lovely", "Quick", "Ring me on [PHONE]",
                         "Waited 3 hours"]
        assert len(session.scalars(select(ImportRun)).all()) == 2


def test_a_bad_file_changes_nothing_and_every_problem_is_located(sqlite_app, tmp_path):
    from voices.listen import service as listen

    database = sqlite_app.state.database
    rows = ROWS + [
        "S-5,2026-03-15,Podiatry,Brilliant,,,,",                      # unknown rating
        "S-6,the 3rd of May,Podiatry,Good,,,,",                        # not a date
        "S-7,2026-03-15,Ward 99,Good,,,,",                              # unknown service
        "S-1,2026-03-15,Podiatry,Good,,,,",                             # repeated id
        "S-8,2026-03-15,Podiatry,Good,,,200,",                          # not an age
        "S-9,2026-03-15,Podiatry,,,,,",                                 # nothing to store
    ]
    path = _csv(tmp_path / "bad.csv", rows)
    with database.session() as session:
        listen.save_mapping(session, importing.ColumnMapping(
            "survey-co", "Survey Co", {"response_id": "Response ID", "date": "Date",
                                       "service": "Ward", "rating": "Q1 Overall",
                                       "what_good": "Q2 What was good", "age": "Age"},
            {"Extremely good": "Very good"}))
    with database.sessionmaker() as session, pytest.raises(ValidationError) as caught:
        listen.import_file(session, path, "survey-co", settings=sqlite_app.state.settings)
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {(5, "Q1 Overall"), (6, "Date"), (7, "Ward"), (8, "Response ID"),
                     (9, "Age"), (10, "Q1 Overall")}
    assert all(p.file == "bad.csv" for p in caught.value.problems)
    assert count(database, FeedbackResponse) == 0 and count(database, ImportRun) == 0


def test_the_command_says_where_the_problem_is_in_one_line(listen_cli, database, demo_core,
                                                           tmp_path):
    listen_cli(*MAPPING)
    result = listen_cli("listen", "import", str(_csv(tmp_path / "x.csv",
                                                     ["S-1,2026-03-14,Podiatry,Superb,,,,"])),
                        "--mapping", "survey-co")
    assert result.exit_code == 2
    assert "x.csv, row 2, column 'Q1 Overall'" in result.output
    assert "Traceback" not in result.output
    missing = listen_cli("listen", "import", str(tmp_path / "x.csv"), "--mapping", "nope")
    assert missing.exit_code == 2 and "survey-co" in missing.output
    assert count(database, FeedbackResponse) == 0


def test_a_file_in_another_encoding_is_refused_unless_the_mapping_names_it(
        listen_cli, database, demo_core, tmp_path):
    listen_cli(*MAPPING)
    rows = ["S-1,2026-03-14,Podiatry,Good,Caf\u00e9 was open,,,"]
    legacy = _csv(tmp_path / "legacy.csv", rows, encoding="cp1252")
    refused = listen_cli("listen", "import", str(legacy), "--mapping", "survey-co")
    assert refused.exit_code == 2
    assert "legacy.csv, row 2" in refused.output and "0xe9" in refused.output
    assert count(database, FeedbackResponse) == 0
    bom16 = _csv(tmp_path / "utf16.csv", ["S-2,2026-03-14,Podiatry,Good,Café,,,"],
                 encoding="utf-16")      # Python writes a byte-order mark: unambiguous
    assert listen_cli("listen", "import", str(bom16), "--mapping", "survey-co").exit_code == 0
    assert listen_cli("listen", "mapping", "save", "survey-co", "--encoding",
                      "windows-1252").exit_code == 0
    assert listen_cli("listen", "import", str(legacy), "--mapping", "survey-co").exit_code == 0
    with database.sessionmaker() as session:
        assert sorted(c.text for c in session.scalars(select(FeedbackComment))) == \
            ["Café", "Café was open"]


def test_a_mapping_that_cannot_work_is_refused_with_each_problem():
    with pytest.raises(ValidationError) as caught:
        importing.check_mapping(importing.ColumnMapping(
            "bad name!", "", {"colour": "C", "what_good": "Q2"}, {"Top": "Excellent"},
            "dd/mm", "not-an-encoding"))
    columns = {p.column for p in caught.value.problems}
    assert {"name", "supplier", "colour", "response_id", "date", "service", "rating_values",
            "date_format", "encoding"} <= columns


@given(st.sampled_from(FFT_ANSWERS), st.sampled_from([str.upper, str.lower, str.title]),
       st.text(" \t", max_size=3))
def test_every_way_of_writing_an_answer_means_the_same(answer, case, space):
    assert fft_answer(space + case(answer) + space) == answer
    assert fft_answer(str(FFT_ANSWERS.index(answer) + 1)) == answer


def test_the_upload_page_imports_in_the_background(sqlite_client, sqlite_app, tmp_path):
    from voices import jobs
    from voices.core.models import Job

    sign_in(sqlite_client, DEMO_EMAILS["analyst"])
    page = sqlite_client.get("/listen/mappings/new")
    form = {"csrf_token": csrf_from(page.text), "name": "survey-co", "supplier": "Survey Co",
            "col_date": "Date", "col_service": "Ward", "col_rating": "Q1 Overall"}
    refused = sqlite_client.post("/listen/mappings/new", data=form)
    assert refused.status_code == 422 and 'href="#col_response_id"' in refused.text
    saved = sqlite_client.post("/listen/mappings/new", data={
        **form, "col_response_id": "Response ID", "col_what_good": "Q2 What was good",
        "rating_values": "Extremely good = Very good"}, follow_redirects=False)
    assert saved.status_code == 303
    page = sqlite_client.get("/listen/imports")
    good = _csv(tmp_path / "good.csv", ROWS).read_bytes()
    upload = sqlite_client.post("/listen/imports", data={"csrf_token": csrf_from(page.text),
                                                         "mapping": "survey-co"},
                                files={"file": ("good.csv", good, "text/csv")},
                                follow_redirects=False)
    assert upload.status_code == 303 and upload.headers["location"].startswith("/jobs/")
    bad = _csv(tmp_path / "bad.csv", ["S-9,2026-03-14,Podiatry,Superb,,,,"]).read_bytes()
    sqlite_client.post("/listen/imports", data={"csrf_token": csrf_from(page.text),
                                                "mapping": "survey-co"},
                       files={"file": ("bad.csv", bad, "text/csv")})
    database = sqlite_app.state.database
    assert jobs.run_pending(database) == 2
    with database.sessionmaker() as session:
        done, failed = session.scalars(select(Job).order_by(Job.id)).all()
        assert done.status.value == "done", (done.error, done.message)
        assert done.result["added"] == 3
        assert failed.status.value == "failed" and "bad.csv, row 2" in failed.error
    assert count(database, FeedbackResponse) == 3
    uploads = sqlite_app.state.settings.data_dir / "uploads" / "listen"
    assert list(uploads.iterdir()) == []
    status = sqlite_client.get(upload.headers["location"])
    assert "Imported 3 responses" in status.text
