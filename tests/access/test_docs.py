"""Every example in docs/access.md runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voices.cli import app

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "access.md"


@pytest.fixture
def workdir(tmp_path, monkeypatch, shared_data):
    """A folder where the docs' relative paths work: src/ and ../shared/ are linked."""
    work = tmp_path / "main"
    work.mkdir()
    (work / "src").symlink_to(REPO / "src")
    (tmp_path / "shared").symlink_to(shared_data.parent)
    monkeypatch.chdir(work)
    return work


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.mark.slow
def test_python_examples_run(workdir, capsys):
    namespace: dict = {}
    for code in blocks("python"):
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    printed = capsys.readouterr().out
    assert "21702 57.8 647" in printed
    assert "390.0" in printed and "30.076442" in printed and "61.15" in printed
    assert "is after the" in printed and "'P7'" in printed and "first at row 2" in printed
    assert "clinical_priorities.P4.rate" in printed


@pytest.mark.slow
def test_command_line_examples_run(workdir):
    from datetime import date

    from voices.access.synthetic import synthetic_waiting_list

    synthetic_waiting_list(5000, snapshot_date=date(2024, 11, 30), seed=1).write_csv("list.csv")
    runner = CliRunner()
    commands = [line[2:] for block in blocks("console") for line in block.splitlines()
                if line.startswith("$ voices ")]
    assert len(commands) == 6
    for command in commands:
        args = shlex.split(command)[1:]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output)
    assert (workdir / "ranked.csv").exists() and (workdir / "charts").is_dir()
