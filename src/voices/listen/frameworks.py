"""Coding frameworks as data: the QDC themes, I statements, and an organisation's own.

A framework is a YAML file. Two shapes are understood:

* a **coding framework** (``categories`` → ``subcategories``), such as ``qdc``: the labels
  a comment can be coded with;
* an **I-statement framework** (``themes`` with ``statements`` and ``cues``, plus a
  ``crosswalk`` from a coding framework's sub-categories to themes), such as
  ``i_statements``: what the comment says about person-centred, coordinated care.

Files are checked against the schema below and refused with located errors (file, line,
the key at fault, what was expected). Built-in frameworks live in ``frameworks/``.

References
----------
NHS England Patient Experience Qualitative Data Categorisation (QDC) framework, v6 and v7
    (pxtextmining project).
National Voices. A narrative for person-centred coordinated care. 2013.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable

import yaml

from voices.errors import ProblemCollector, ValidationError

BUILTIN = ("qdc", "i_statements")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Subcategory:
    name: str
    description: str
    category: str
    v7: str | None = None


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    subcategories: tuple[Subcategory, ...]


@dataclass(frozen=True)
class CodingFramework:
    """Categories and sub-categories; the sub-categories are the labels a model predicts."""

    name: str
    title: str
    version: str
    categories: tuple[Category, ...]

    @property
    def labels(self) -> list[str]:
        return [s.name for c in self.categories for s in c.subcategories]

    def subcategory(self, label: str) -> Subcategory:
        for c in self.categories:
            for s in c.subcategories:
                if s.name == label:
                    return s
        raise KeyError(label)


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    statements: tuple[str, ...]
    cues: tuple[str, ...]


@dataclass(frozen=True)
class ThemeLink:
    """One I-statement theme a comment speaks to, and why."""

    theme: str
    via_labels: tuple[str, ...] = ()
    via_words: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"theme": self.theme, "via_labels": list(self.via_labels),
                "via_words": list(self.via_words)}


@dataclass(frozen=True)
class IStatementFramework:
    """Themes of person-centred care, with a crosswalk from coded labels and text cues."""

    name: str
    title: str
    version: str
    themes: tuple[Theme, ...]
    crosswalk_framework: str | None = None
    crosswalk: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        patterns = {}
        for theme in self.themes:
            words = sorted(theme.cues, key=len, reverse=True)
            if words:
                alternation = "|".join(re.escape(w) for w in words)
                patterns[theme.id] = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
        object.__setattr__(self, "_patterns", patterns)

    def link(self, labels: Iterable[str], text: str = "") -> list[ThemeLink]:
        """Link one comment to the themes it speaks to.

        Parameters
        ----------
        labels:
            The coding-framework labels of the comment (predicted or coded).
        text:
            The (redacted) comment text; cue words found in it also link themes.

        Returns
        -------
        list[ThemeLink]
            One entry per theme, in framework order, saying which labels and words linked it.
        """
        labels = list(labels)
        out = []
        for theme in self.themes:
            via_labels = tuple(lab for lab in labels if theme.id in self.crosswalk.get(lab, ()))
            pattern = self._patterns.get(theme.id)  # type: ignore[attr-defined]
            via_words: tuple[str, ...] = ()
            if pattern is not None and text:
                seen = dict.fromkeys(m.group(0).lower() for m in pattern.finditer(text))
                via_words = tuple(seen)
            if via_labels or via_words:
                out.append(ThemeLink(theme.id, via_labels, via_words))
        return out


Framework = CodingFramework | IStatementFramework


# --------------------------------------------------------------------------------------
# Reading and checking
# --------------------------------------------------------------------------------------


class _Checker:
    """Walk a composed YAML node tree, collecting located problems."""

    def __init__(self, file: str) -> None:
        self.problems = ProblemCollector(file=file)

    def add(self, node: yaml.Node | None, where: str, message: str, expected: str | None = None):
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.add(message, row=line, column=where, expected=expected)

    def mapping(self, node: yaml.Node, where: str) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.add(node, where, "should be a set of key: value pairs", "a mapping")
            return None
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            if key.value in out:
                self.add(key, f"{where}.{key.value}".lstrip("."), "appears twice")
            out[str(key.value)] = value
        return out

    def text(self, parent: dict[str, yaml.Node], key: str, where: str, owner: yaml.Node,
             required: bool = True) -> str | None:
        node = parent.get(key)
        place = f"{where}.{key}".lstrip(".")
        if node is None:
            if required:
                self.add(owner, place, f"'{key}' is missing", "some text")
            return None
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.add(node, place, f"'{key}' should be some text", "some text")
            return None
        return str(node.value).strip()

    def sequence(self, parent: dict[str, yaml.Node], key: str, where: str, owner: yaml.Node,
                 required: bool = True) -> list[yaml.Node]:
        node = parent.get(key)
        place = f"{where}.{key}".lstrip(".")
        if node is None:
            if required:
                self.add(owner, place, f"'{key}' is missing", "a list")
            return []
        if not isinstance(node, yaml.SequenceNode) or (required and not node.value):
            self.add(node, place, f"'{key}' should be a non-empty list", "a list")
            return []
        return list(node.value)

    def texts(self, parent, key, where, owner, required=True) -> tuple[str, ...]:
        out = []
        for k, item in enumerate(self.sequence(parent, key, where, owner, required)):
            if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
                self.add(item, f"{where}.{key}[{k}]".lstrip("."), "should be some text")
            else:
                out.append(str(item.value).strip())
        return tuple(out)


def _coding(check: _Checker, top: dict[str, yaml.Node], root: yaml.Node, name: str,
            title: str, version: str) -> CodingFramework:
    categories = []
    seen: dict[str, int] = {}
    for i, cnode in enumerate(check.sequence(top, "categories", "", root)):
        where = f"categories[{i}]"
        c = check.mapping(cnode, where)
        if c is None:
            continue
        cname = check.text(c, "name", where, cnode) or f"category {i + 1}"
        cdesc = check.text(c, "description", where, cnode, required=False) or ""
        subs = []
        for j, snode in enumerate(check.sequence(c, "subcategories", where, cnode)):
            swhere = f"{where}.subcategories[{j}]"
            s = check.mapping(snode, swhere)
            if s is None:
                continue
            sname = check.text(s, "name", swhere, snode)
            sdesc = check.text(s, "description", swhere, snode)
            unknown = set(s) - {"name", "description", "v7", "examples"}
            for key in sorted(unknown):
                check.add(s[key], f"{swhere}.{key}", f"unknown key '{key}'",
                          "name, description, v7 or examples")
            if sname is None:
                continue
            if sname in seen:
                check.add(snode, f"{swhere}.name", f"sub-category '{sname}' is listed twice "
                          f"(first on line {seen[sname]})")
            seen[sname] = snode.start_mark.line + 1
            subs.append(Subcategory(sname, sdesc or "", cname,
                                    check.text(s, "v7", swhere, snode, required=False)))
        categories.append(Category(cname, cdesc, tuple(subs)))
    return CodingFramework(name, title, version, tuple(categories))


def _istatements(check: _Checker, top: dict[str, yaml.Node], root: yaml.Node, name: str,
                 title: str, version: str) -> IStatementFramework:
    themes = []
    ids: set[str] = set()
    for i, tnode in enumerate(check.sequence(top, "themes", "", root)):
        where = f"themes[{i}]"
        t = check.mapping(tnode, where)
        if t is None:
            continue
        tid = check.text(t, "id", where, tnode)
        if tid is not None and not _ID.match(tid):
            check.add(t["id"], f"{where}.id", f"'{tid}' is not a valid id",
                      "lower-case letters, digits and underscores")
        if tid in ids:
            check.add(t["id"], f"{where}.id", f"theme id '{tid}' is used twice")
        ids.add(tid or "")
        themes.append(Theme(tid or "", check.text(t, "name", where, tnode) or "",
                            check.texts(t, "statements", where, tnode),
                            check.texts(t, "cues", where, tnode, required=False)))
    crosswalk: dict[str, tuple[str, ...]] = {}
    target = None
    cnode = top.get("crosswalk")
    if cnode is not None:
        cw = check.mapping(cnode, "crosswalk")
        if cw is not None:
            target = check.text(cw, "framework", "crosswalk", cnode)
            links = cw.get("links")
            lk = check.mapping(links, "crosswalk.links") if links is not None else None
            if links is None:
                check.add(cnode, "crosswalk.links", "'links' is missing", "a mapping")
            for label, node in (lk or {}).items():
                where = f"crosswalk.links.{label}"
                if not isinstance(node, yaml.SequenceNode):
                    check.add(node, where, "should be a list of theme ids", "a list")
                    continue
                targets = []
                for item in node.value:
                    if item.value not in ids:
                        check.add(item, where, f"unknown theme '{item.value}'",
                                  "one of " + ", ".join(sorted(i for i in ids if i)))
                    targets.append(str(item.value))
                crosswalk[label] = tuple(targets)
    return IStatementFramework(name, title, version, tuple(themes), target, crosswalk)


def parse_framework(text: str, *, file: str = "framework") -> Framework:
    """Parse and check a framework from YAML text.

    Parameters
    ----------
    text:
        The YAML document.
    file:
        The name to use in error messages.

    Returns
    -------
    CodingFramework or IStatementFramework

    Raises
    ------
    ValidationError
        With every problem found, each with its line and key.
    """
    check = _Checker(file)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
                              row=mark.line + 1 if mark else None,
                              expected="a YAML document") from None
    if root is None:
        raise ValidationError("the file is empty", file=file, expected="a YAML document")
    top = check.mapping(root, "")
    if top is None:
        check.problems.raise_if_any()
    name = check.text(top, "name", "", root)
    if name is not None and not _ID.match(name):
        check.add(top["name"], "name", f"'{name}' is not a valid framework name",
                  "lower-case letters, digits and underscores")
    title = check.text(top, "title", "", root, required=False) or (name or "")
    version = check.text(top, "version", "", root, required=False) or "1"
    if ("categories" in top) == ("themes" in top):
        check.add(root, "", "a framework needs either 'categories' (a coding framework) or "
                  "'themes' (an I-statement framework), not both or neither")
        check.problems.raise_if_any()
    if "categories" in top:
        result: Framework = _coding(check, top, root, name or "", title, version)
    else:
        result = _istatements(check, top, root, name or "", title, version)
    check.problems.raise_if_any()
    return result


def read_framework(path: str | Path) -> Framework:
    """Read and check a framework YAML file (see :func:`parse_framework`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError("file not found", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text (byte {exc.start})", file=str(path),
                              expected="a UTF-8 YAML file") from None
    return parse_framework(text, file=str(path))


def builtin_framework(name: str) -> Framework:
    """Load a framework shipped with Voices: ``qdc`` or ``i_statements``."""
    if name not in BUILTIN:
        raise ValidationError(f"unknown framework '{name}'", column="framework",
                              expected="one of " + ", ".join(BUILTIN) + " or a .yaml file")
    text = resources.files("voices.listen").joinpath(f"frameworks/{name}.yaml").read_text("utf-8")
    return parse_framework(text, file=f"{name}.yaml")


def load_framework(name_or_path: str | Path) -> Framework:
    """A built-in framework by name, or an organisation's own from a YAML file."""
    if str(name_or_path) in BUILTIN:
        return builtin_framework(str(name_or_path))
    return read_framework(name_or_path)


def coding_framework(name_or_path: str | Path) -> CodingFramework:
    framework = load_framework(name_or_path)
    if not isinstance(framework, CodingFramework):
        raise ValidationError("this framework has themes, not categories",
                              file=str(name_or_path), expected="a coding framework")
    return framework
