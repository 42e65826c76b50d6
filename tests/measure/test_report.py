"""The board report and the import and report commands, through the real `voices` CLI."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from voices.cli import app
from voices.measure.report import build_report, render_html, render_pdf

runner = CliRunner()


class _Tables(HTMLParser):
    """Every cell of every table in a page: ``tables[i][row][column]``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def published_tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def counts_from_1_to_7(tables) -> list[str]:
    """Every cell that is a count (a bare whole number) from 1 to 7."""
    return [cell for table in tables for row in table for cell in row
            if re.fullmatch(r"\d[\d,]*", cell) and 1 <= int(cell.replace(",", "")) <= 7]


@pytest.fixture
def cli_env(monkeypatch, demo_database, tmp_path):
    from voices.settings import get_settings

    monkeypatch.setenv("VOICES_DATABASE_URL", demo_database.url)
    monkeypatch.setenv("VOICES_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield demo_database
    get_settings.cache_clear()


def test_no_published_table_in_a_report_holds_a_count_from_1_to_7(cli_env, tmp_path):
    out = tmp_path / "board.html"
    result = runner.invoke(app, ["measure", "report", "--org", "RZ3", "--period", "2026-10",
                                 "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    tables = published_tables(html)
    cells = [c for t in tables for r in t for c in r]
    assert len(tables) >= 8 and len(cells) > 300
    assert counts_from_1_to_7(tables) == []
    assert "*" in cells                                  # small groups really are hidden
    whole_numbers = [int(c.replace(",", "")) for c in cells if re.fullmatch(r"\d[\d,]*", c)]
    assert whole_numbers and all(n % 5 == 0 for n in whole_numbers)
    headings = re.findall(r"<h2>([^<]+)</h2>", html)
    assert headings == ["Experience", "Inequality", "Measures of success", "Activity"]


def test_the_same_holds_for_every_organisation_and_the_pdf(demo_database):
    with demo_database.sessionmaker() as session:
        for code in ("QZ9", "RZ1"):
            report = build_report(session, code, "2026-03")
            assert counts_from_1_to_7(published_tables(render_html(report))) == []
        report = build_report(session, "RZ2", None, png=True)
    assert counts_from_1_to_7([t.rows for t in report.tables()]) == []
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" in pdf


def test_the_pdf_report_is_written_and_audited(cli_env, tmp_path):
    from sqlalchemy import select

    from voices.core.models import AuditEvent

    out = tmp_path / "reports" / "board.pdf"
    result = runner.invoke(app, ["measure", "report", "--org", "rz1", "--format", "pdf",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    with cli_env.sessionmaker() as session:
        event = session.scalar(select(AuditEvent).where(
            AuditEvent.action == "measure.report.export"))
    assert event is not None and event.detail == {"format": "pdf"}


def test_report_mistakes_are_one_located_line(cli_env, tmp_path):
    result = runner.invoke(app, ["measure", "report", "--org", "RZ1", "--format", "docx",
                                 "--out", str(tmp_path / "r.docx")])
    assert result.exit_code == 2 and "--format" in result.output
    result = runner.invoke(app, ["measure", "report", "--org", "XX9", "--out",
                                 str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "could not find that organisation" in result.output
    assert not (tmp_path / "r.html").exists()


def test_import_reports_every_problem_and_stores_nothing(cli_env, tmp_path):
    from sqlalchemy import func, select

    from voices.measure.models import ResponseCount

    with cli_env.sessionmaker() as session:
        before = session.scalar(select(func.count()).select_from(ResponseCount))
    bad = tmp_path / "return.csv"
    bad.write_text("organisation,service,period,response,count\n"
                   "RZ1,Podiatry,2026-11,Good,5\n"
                   "RZ1,Ophthalmology Clinic,Nov 2026,Good,5\n"
                   "RZ1,Ophthalmology Clinic,2026-11,Superb,-5\n")
    result = runner.invoke(app, ["measure", "import", str(bad)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("Error: return.csv, row 3, column 'period'")
    assert any("row 4, column 'response'" in line for line in lines)
    assert any("row 4, column 'count'" in line for line in lines)
    good = tmp_path / "good.csv"
    good.write_text("organisation,service,period,response,count\n"
                    "RZ1,Podiatry,2026-11,Good,5\n")
    result = runner.invoke(app, ["measure", "import", str(good)])
    assert result.exit_code == 2 and "row 2, column 'service'" in result.output
    with cli_env.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(ResponseCount)) == before
    good.write_text("organisation,service,period,response,count\n"
                    "RZ1,Ophthalmology Clinic,2026-11,Good,5\n")
    for _ in range(2):
        result = runner.invoke(app, ["measure", "import", str(good), "--json"])
        assert result.exit_code == 0, result.output
    with cli_env.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(ResponseCount)) == before + 1
