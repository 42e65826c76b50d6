"""`voices codesign conversations | import | update | report | export` on a real database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from voices.cli import app

runner = CliRunner()


@pytest.fixture
def cli_database(monkeypatch, sqlite_url, tmp_path):
    from voices.demo import load
    from voices.settings import get_settings

    monkeypatch.setenv("VOICES_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("VOICES_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    from voices.db import get_database

    with get_database(sqlite_url).sessionmaker() as session:
        load(session, areas=())
    yield sqlite_url
    get_settings.cache_clear()


def test_import_update_report_and_export_from_the_command_line(cli_database, shared_data,
                                                                tmp_path):
    folder = shared_data / "polis" / "15-per-hour-seattle"
    imported = runner.invoke(app, ["codesign", "import", str(folder), "--organisation", "RZ1",
                                   "--question", "Should the minimum wage be $15?"])
    assert imported.exit_code == 0, imported.output
    assert "339 people, 31 statements shown, 2872 votes" in imported.output
    again = runner.invoke(app, ["codesign", "import", str(folder), "--organisation", "RZ1"])
    assert again.exit_code == 2 and "already imported" in again.output

    listed = json.loads(runner.invoke(app, ["codesign", "conversations", "--json"]).output)
    assert [(c["slug"], c["voters"], c["status"]) for c in listed] == [
        ("polis-15-per-hour-seattle", 339, "closed")]
    updated = runner.invoke(app, ["codesign", "update", "polis-15-per-hour-seattle"])
    assert updated.exit_code == 0 and "339 people voted" in updated.output

    out = tmp_path / "report.pdf"
    report = runner.invoke(app, ["codesign", "report", "polis-15-per-hour-seattle",
                                 "--format", "pdf", "--out", str(out)])
    assert report.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
    wrong = runner.invoke(app, ["codesign", "report", "polis-15-per-hour-seattle",
                                "--format", "docx", "--out", str(tmp_path / "r.docx")])
    assert wrong.exit_code == 2 and "expected html or pdf" in wrong.output

    exported = runner.invoke(app, ["codesign", "export", "polis-15-per-hour-seattle",
                                   str(tmp_path / "out")])
    assert exported.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "comments.csv", "participants-votes.csv", "votes.csv"]
    missing = runner.invoke(app, ["codesign", "export", "no-such-conversation",
                                  str(tmp_path / "x")])
    assert missing.exit_code == 2 and missing.output.count("\n") == 1
