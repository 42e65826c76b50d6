"""Every Python example in the docs runs, from the repository root, as a reader would:
the examples on one page run in order in one session (later ones may use earlier names),
and lines written `# => …` show what an example prints and are checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
SEPARATOR = "<<<voices-docs-example-end>>>"


def _pages():
    for doc in DOCS:
        blocks = [m.group(1) for m in BLOCK.finditer(doc.read_text())]
        if blocks:
            yield pytest.param(blocks, id=doc.stem)


def _reader_checkout(tmp_path: Path) -> Path:
    """A folder that looks like the repository root (its files linked, `../shared` beside
    it) so that files an example writes land in the test's own folder, not the checkout."""
    checkout = tmp_path / ROOT.name
    checkout.mkdir()
    for item in ROOT.iterdir():
        if item.name not in {".git", ".venv", "node_modules"}:
            (checkout / item.name).symlink_to(item)
    if (ROOT.parent / "shared").exists():
        (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    return checkout


@pytest.mark.parametrize("blocks", list(_pages()))
def test_python_examples_run(blocks, tmp_path):
    script = "".join(f"{code}\nprint({SEPARATOR!r})\n" for code in blocks)
    result = subprocess.run([sys.executable, "-c", script], cwd=_reader_checkout(tmp_path),
                            capture_output=True,
                            text=True, timeout=600)
    outputs = result.stdout.split(SEPARATOR + "\n")
    failed_at = len(outputs)  # the example that did not finish
    assert result.returncode == 0, (
        f"example {failed_at} failed:\n{blocks[failed_at - 1][:1500]}\n{result.stderr[-3000:]}")
    for n, (code, printed) in enumerate(zip(blocks, outputs, strict=False), start=1):
        expected = [line[5:] for line in code.splitlines() if line.startswith("# => ")]
        if expected:
            assert printed.split() == " ".join(expected).split(), f"example {n}: {printed}"
