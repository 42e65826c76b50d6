"""Check the locked dependencies against published vulnerability advisories.

``pip-audit`` and ``npm audit`` are the usual tools. Where they cannot reach their
advisory services (this project's build machine answers 404 for PyPI's per-release JSON
that pip-audit asks for, and 405 for npm's bulk advisory endpoint), this script asks what
it can and says plainly what it could not check:

* Python: for each ``name==version`` in ``requirements.lock``, PyPI's JSON for that release
  (``/pypi/<name>/<version>/json``, as pip-audit does); when that is not served, the
  project's JSON (``/pypi/<name>/json``), whose ``vulnerabilities`` list (PyPI fills it
  from the OSV database) is about the *latest* release, so it is used only when the locked
  version is the latest. Anything else is reported as not checked, with the latest version.
* npm: ``npm audit --json`` on ``package-lock.json``; if npm cannot reach its advisory
  service, every package is reported as not checked.

Prints one JSON object. Exit status: 0 when everything was checked and nothing is
vulnerable, 1 when a locked version has a known vulnerability, 2 when something could not
be checked (and nothing is known to be vulnerable).

Usage: ``python tools/audit_dependencies.py [--lock requirements.lock] [--no-npm]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPI = "https://pypi.org/pypi"


def locked_packages(text: str) -> dict[str, str]:
    """``{name: version}`` from a pip lock file of ``name==version`` lines.

    Comments, blank lines, options (``-e``, ``--hash``) and environment markers are
    skipped or stripped; a line that pins nothing raises ``ValueError`` naming its line.
    """
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise ValueError(f"line {number}: {raw.strip()!r} does not pin a version with ==")
        found[name.strip().lower()] = version.split()[0].strip()
    return found


def advisories_for(name: str, version: str,
                   fetch: Callable[[str], dict | None]) -> dict:
    """What PyPI says of one locked release: ``{"status": ..., ...}``.

    ``fetch(url)`` returns the decoded JSON, or ``None`` when the address is not served.
    Status is ``"vulnerable"`` (with ``ids``), ``"clean"`` or ``"unchecked"`` (with
    ``latest`` and ``why``).
    """
    release = fetch(f"{PYPI}/{name}/{version}/json")
    source = "release"
    if release is None:
        project = fetch(f"{PYPI}/{name}/json")
        if project is None:
            return {"status": "unchecked", "why": "PyPI has no JSON for this project"}
        latest = str(project.get("info", {}).get("version", ""))
        if latest != version:
            return {"status": "unchecked", "latest": latest,
                    "why": "only the latest release's advisories are served here"}
        release, source = project, "project (locked version is the latest)"
    vulnerabilities = [v for v in release.get("vulnerabilities") or []
                       if not v.get("withdrawn")]
    if vulnerabilities:
        return {"status": "vulnerable", "source": source,
                "ids": sorted(str(v.get("id")) for v in vulnerabilities),
                "fixed_in": sorted({f for v in vulnerabilities for f in v.get("fixed_in", [])})}
    return {"status": "clean", "source": source}


def fetch_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (https only)
            return json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def audit_python(lock: Path) -> dict:
    packages = locked_packages(lock.read_text())
    results = {name: {"version": version, **advisories_for(name, version, fetch_json)}
               for name, version in sorted(packages.items())}
    return _summary(results)


def audit_npm(folder: Path) -> dict:
    lock = json.loads((folder / "package-lock.json").read_text())
    names = sorted(path.removeprefix("node_modules/") for path in lock.get("packages", {})
                   if path.startswith("node_modules/"))
    completed = subprocess.run(["npm", "audit", "--json", "--package-lock-only"], cwd=folder,
                               capture_output=True, text=True, check=False)
    try:
        report = json.loads(completed.stdout or "{}")
    except json.JSONDecodeError:
        report = {}
    if "vulnerabilities" not in report:
        lines = completed.stderr.strip().splitlines()
        said = [line for line in lines if "audit" in line.lower() and "log" not in line.lower()]
        why = (report.get("error", {}) or {}).get("summary") or \
            (said or lines or ["npm audit gave no report"])[0]
        return _summary({n: {"status": "unchecked", "why": why[:200]} for n in names})
    found = report["vulnerabilities"]
    return _summary({n: ({"status": "vulnerable", "ids": [str(v) for v in found[n]["via"]]}
                         if n in found else {"status": "clean"}) for n in names})


def _summary(results: dict) -> dict:
    count = {s: sum(r["status"] == s for r in results.values())
             for s in ("clean", "vulnerable", "unchecked")}
    return {"packages": len(results), **count, "results": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    parser.add_argument("--no-npm", action="store_true")
    args = parser.parse_args()
    report = {"python": audit_python(args.lock)}
    if not args.no_npm:
        report["npm"] = audit_npm(ROOT)
    print(json.dumps(report, indent=1))
    parts = report.values()
    if any(p["vulnerable"] for p in parts):
        return 1
    return 2 if any(p["unchecked"] for p in parts) else 0


if __name__ == "__main__":
    sys.exit(main())
