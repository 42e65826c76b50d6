"""The dependency audit script: reading the lock file and judging PyPI's advisories."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("audit_dependencies",
                                               ROOT / "tools" / "audit_dependencies.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)


def test_the_projects_own_lock_file_pins_every_package():
    packages = audit.locked_packages((ROOT / "requirements.lock").read_text())
    assert len(packages) > 50
    assert "fastapi" in packages and all(packages.values())


def test_lock_lines_with_comments_markers_and_options_are_read():
    text = "# comment\n\nJinja2==3.1.6  # via fastapi\n-e .\nfoo==1.0 ; python_version<'4'\n"
    assert audit.locked_packages(text) == {"jinja2": "3.1.6", "foo": "1.0"}


def test_a_line_that_pins_nothing_is_named():
    with pytest.raises(ValueError, match="line 2"):
        audit.locked_packages("a==1\nb>=2\n")


@given(st.text())
def test_any_lock_text_is_read_or_refused_with_a_value_error(text):
    try:
        packages = audit.locked_packages(text)
    except ValueError as error:
        assert str(error).startswith("line ")
    else:
        assert all(isinstance(v, str) and v for v in packages.values())


def _pypi(pages: dict):
    asked = []

    def fetch(url):
        asked.append(url)
        return pages.get(url)

    return fetch, asked


def test_a_release_with_an_advisory_is_vulnerable():
    fetch, _ = _pypi({f"{audit.PYPI}/demo/1.0/json": {"vulnerabilities": [
        {"id": "PYSEC-1", "fixed_in": ["1.1"]}, {"id": "OLD", "withdrawn": "2020"}]}})
    result = audit.advisories_for("demo", "1.0", fetch)
    assert result["status"] == "vulnerable" and result["ids"] == ["PYSEC-1"]
    assert result["fixed_in"] == ["1.1"]


def test_project_json_counts_only_when_the_locked_version_is_the_latest():
    latest = {f"{audit.PYPI}/demo/json": {"info": {"version": "2.0"}, "vulnerabilities": []}}
    fetch, asked = _pypi(latest)
    assert audit.advisories_for("demo", "2.0", fetch)["status"] == "clean"
    assert asked == [f"{audit.PYPI}/demo/2.0/json", f"{audit.PYPI}/demo/json"]
    fetch, _ = _pypi(latest)
    older = audit.advisories_for("demo", "1.0", fetch)
    assert older["status"] == "unchecked" and older["latest"] == "2.0"
    fetch, _ = _pypi({})
    assert audit.advisories_for("gone", "1.0", fetch)["status"] == "unchecked"
