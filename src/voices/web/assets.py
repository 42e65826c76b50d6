"""Front-end assets: copied from the npm packages (nhsuk-frontend, htmx.org) into the app's
static folder by `voices assets` (run by the Makefile), so the app serves everything itself
and works offline. Built files are not committed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"

# @font-face rules that load Frutiger from assets.nhs.uk: dropped so nothing is fetched from
# another site; the NHS font stack falls back to Arial, as the design system intends offline.
_REMOTE_FONT = re.compile(r"@font-face\{[^}]*https?://[^}]*\}")


def build(node_modules: Path = NODE_MODULES, vendor: Path = VENDOR) -> list[Path]:
    """Copy the needed files from node_modules into static/vendor. Returns what was written."""
    nhsuk = node_modules / "nhsuk-frontend" / "dist" / "nhsuk"
    htmx = node_modules / "htmx.org" / "dist" / "htmx.min.js"
    missing = [p for p in (nhsuk / "nhsuk-frontend.min.css", nhsuk / "nhsuk-frontend.min.js",
                           htmx) if not p.exists()]
    if missing:
        raise FileNotFoundError(
            "Front-end packages are not installed (run `npm ci`): missing "
            + ", ".join(str(p) for p in missing))
    if vendor.exists():
        shutil.rmtree(vendor)
    (vendor / "images").mkdir(parents=True)
    written = []
    css = _REMOTE_FONT.sub("", (nhsuk / "nhsuk-frontend.min.css").read_text())
    css = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)
    (vendor / "nhsuk-frontend.min.css").write_text(css)
    js = re.sub(r"//# sourceMappingURL=\S+", "", (nhsuk / "nhsuk-frontend.min.js").read_text())
    (vendor / "nhsuk-frontend.min.js").write_text(js)
    js = re.sub(r"//# sourceMappingURL=\S+", "", htmx.read_text())
    (vendor / "htmx.min.js").write_text(js)
    for image in (nhsuk / "assets" / "images").iterdir():
        shutil.copy2(image, vendor / "images" / image.name)
    written.extend(sorted(vendor.rglob("*")))
    return written


def ready(vendor: Path = VENDOR) -> bool:
    return (vendor / "nhsuk-frontend.min.css").exists()
