"""How a partner community's make-up compares with the population it should reflect.

For each equity dimension (age band, sex, ethnic group, disability, carer, deprivation
quintile) the community's share of each group — among the partners who answered — is set
beside the population's share. A group is *under-represented* when its community share is
less than four-fifths of its population share: the "four-fifths rule" for adverse impact
(US Equal Employment Opportunity Commission, *Uniform Guidelines on Employee Selection
Procedures*, 29 CFR 1607.4(D), 1978), used here as a plain, explainable threshold.

Counts shown to leads or exported pass through disclosure control first
(:func:`voices.equity.disclose_counts`: 1–7 hidden, the rest rounded to 5, secondary
suppression), and shares are computed from the disclosed counts. A hidden group is still
marked under-represented when its exact share is below four-fifths of the population's:
that says only that it falls below a threshold, never its count.

Population shares come from a file the lead uploads (YAML or CSV, read by
:func:`parse_population_yaml` / :func:`parse_population_csv`) or, when none has been
uploaded, from the default in ``data/population_default.yaml`` (national Census 2021
headline figures; no age bands).
"""

from __future__ import annotations

import csv
import math
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from voices.equity import disclose_counts
from voices.equity.dimensions import (
    DIMENSIONS,
    NOT_KNOWN,
    PREFER_NOT_TO_SAY,
    ethnic_group,
    imd_quintile,
)
from voices.errors import ProblemCollector, ValidationError
from voices.exports import csv_bytes

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "population_default.yaml"
COMPARED = ("age_band", "sex", "ethnic_group", "disability", "carer", "imd_quintile")
FOUR_FIFTHS = 0.8
SHARE_TOLERANCE = 0.02


@dataclass(frozen=True)
class Population:
    """Population shares per dimension: dimension → group code → share (summing to 1)."""

    shares: Mapping[str, Mapping[str, float]]
    source: str = ""

    def groups(self, dimension: str) -> dict[str, float]:
        return dict(self.shares.get(dimension, {}))


@dataclass(frozen=True)
class GroupRow:
    code: str
    label: str
    count: int | str            # exact, or disclosed (a rounded count or '*')
    community_share: float | None
    population_share: float | None
    flagged: bool | None = None   # decided on exact counts, when the shown ones are hidden

    @property
    def difference(self) -> float | None:
        """Percentage points: community share minus population share."""
        if self.community_share is None or self.population_share is None:
            return None
        return 100.0 * (self.community_share - self.population_share)

    @property
    def ratio(self) -> float | None:
        if self.community_share is None or not self.population_share:
            return None
        return self.community_share / self.population_share

    @property
    def under_represented(self) -> bool:
        if self.flagged is not None:
            return self.flagged
        ratio = self.ratio
        return ratio is not None and ratio < FOUR_FIFTHS


@dataclass(frozen=True)
class DimensionMakeup:
    dimension: str
    label: str
    rows: tuple[GroupRow, ...]
    answered: int | str
    not_answered: int | str
    total: int | str

    @property
    def under_represented(self) -> list[GroupRow]:
        return [r for r in self.rows if r.under_represented]


# ---------------------------------------------------------------------- partner values


def partner_groups(answers: Mapping[str, object]) -> dict[str, str]:
    """The group a partner is in on each compared dimension (``not_known`` where they did
    not answer or preferred not to say)."""
    def known(value: object, allowed: Iterable[str]) -> str:
        text = None if value is None else str(value)
        return text if text in set(allowed) else NOT_KNOWN

    category = answers.get("ethnic_category")
    decile = answers.get("imd_decile")
    quintile = imd_quintile(int(decile)) if isinstance(decile, int) else None
    return {
        "age_band": known(answers.get("age_band"), DIMENSIONS["age_band"].known_codes()),
        "sex": known(answers.get("sex"), ("1", "2")),
        "ethnic_group": ethnic_group(category) if category not in (None, PREFER_NOT_TO_SAY)
        else NOT_KNOWN,
        "disability": known(answers.get("disability"), ("yes", "no")),
        "carer": known(answers.get("carer"), ("yes", "no")),
        "imd_quintile": str(quintile) if quintile else NOT_KNOWN,
    }


def count_groups(partners: Iterable[Mapping[str, str]]) -> dict[str, Counter]:
    """Counts per dimension and group, from :func:`partner_groups` of each partner."""
    counts = {d: Counter() for d in COMPARED}
    for groups in partners:
        for dimension in COMPARED:
            counts[dimension][groups.get(dimension, NOT_KNOWN)] += 1
    return counts


# ------------------------------------------------------------------------- comparison


def _codes(dimension: str, population: Population) -> list[str]:
    codes = DIMENSIONS[dimension].known_codes()
    if dimension == "age_band" and "0-17" not in population.groups(dimension):
        codes = [c for c in codes if c != "0-17"]      # partners are adults
    extra = [c for c in population.groups(dimension) if c not in codes]
    return codes + extra


def compare(dimension: str, counts: Mapping[str, int], population: Population, *,
            disclosed: bool = True) -> DimensionMakeup:
    """The community's make-up on one dimension beside the population's.

    Parameters
    ----------
    dimension : one of :data:`COMPARED`
    counts : group code → number of partners (``not_known`` for no answer)
    population : the shares to compare with (a dimension without shares gives rows with
        ``population_share`` None)
    disclosed : apply disclosure control to the counts and compute shares from the
        disclosed figures (anything shown outside the analyst role, or exported)

    Returns
    -------
    DimensionMakeup
    """
    codes = _codes(dimension, population)
    known = [int(counts.get(c, 0)) for c in codes]
    missing = int(sum(v for c, v in counts.items() if c not in codes))
    pop = population.groups(dimension)
    dim = DIMENSIONS[dimension]
    if disclosed:
        # one table: every group, those who did not answer, and the total of everyone
        table = disclose_counts(known + [missing], row_totals=False, column_totals=True)
        cells = [table.cell(i, 0) for i in range(len(codes) + 2)]
        shown, not_answered, total = cells[:len(codes)], cells[-2], cells[-1]
        if all(isinstance(c, int) for c in shown):
            answered = base = sum(shown)
        elif isinstance(total, int) and isinstance(not_answered, int):
            answered = base = total - not_answered   # derivable from what is shown anyway
        else:
            answered, base = "*", None
    else:
        shown = known
        not_answered, total = missing, sum(known) + missing
        answered = base = sum(known)
    rows = []
    exact_base = sum(known)
    for code, count, exact in zip(codes, shown, known, strict=True):
        share = (count / base) if isinstance(count, int) and base else None
        flagged = None
        if share is None and exact_base and pop.get(code):
            # a hidden group is still flagged when it is under-represented (saying only
            # that, never its count): the most under-represented groups are often the
            # smallest, and hiding that would hide the finding itself
            flagged = exact / exact_base < FOUR_FIFTHS * pop[code]
        rows.append(GroupRow(code, dim.label_for(code), count, share, pop.get(code), flagged))
    return DimensionMakeup(dimension, dim.label, tuple(rows), answered, not_answered, total)


def makeup(counts: Mapping[str, Mapping[str, int]], population: Population, *,
           disclosed: bool = True) -> list[DimensionMakeup]:
    """:func:`compare` on every compared dimension."""
    return [compare(d, counts.get(d, {}), population, disclosed=disclosed) for d in COMPARED]


# --------------------------------------------------------------- population from files


def _group_code(dimension: str, value: object, problems: ProblemCollector, row: int | None,
                column: str) -> str | None:
    if isinstance(value, bool):
        value = "yes" if value else "no"
    try:
        code = DIMENSIONS[dimension].validate(value, row=row, column=column)
    except ValidationError as exc:
        problems.add(exc.problems[0].message, row=row, column=column,
                     expected=exc.problems[0].expected)
        return None
    if code in DIMENSIONS[dimension].unknown_codes:
        problems.add(f"'{value}' is not a group the population can be split into",
                     row=row, column=column, expected="a known group, not 'not known'")
        return None
    return code


def _share(value: object, problems: ProblemCollector, row: int | None, column: str,
           percent: bool) -> float | None:
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        number = float("nan")
    if math.isnan(number) or number < 0 or number > (100 if percent else 1):
        problems.add(f"'{str(value)[:20]}' is not a share", row=row, column=column,
                     expected="a percentage from 0 to 100" if percent
                     else "a proportion from 0 to 1")
        return None
    return number / 100 if percent else number


def _finish(shares: dict[str, dict[str, float]], problems: ProblemCollector,
            source: str, rows_of: Mapping[str, int | None]) -> Population:
    if not shares and not problems:
        problems.add("The file has no population shares", column="dimension")
    for dimension, groups in shares.items():
        total = sum(groups.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            problems.add(f"The shares for {dimension} add up to {total:.3f}, not 1 "
                         f"(or 100%)", row=rows_of.get(dimension), column="share",
                         expected="shares adding up to 1")
    problems.raise_if_any()
    normalised = {d: {c: v / sum(g.values()) for c, v in g.items()} for d, g in shares.items()}
    return Population(normalised, source)


def _dimension(name: object, problems: ProblemCollector, row: int | None) -> str | None:
    text = str(name).strip()
    if text not in COMPARED:
        problems.add(f"'{text[:40]}' is not a dimension Voices compares", row=row,
                     column="dimension", expected="one of " + ", ".join(COMPARED))
        return None
    return text


def parse_population_yaml(text: str, file: str | None = None) -> Population:
    """Population shares from YAML: ``source`` (text) and ``dimensions`` (dimension →
    group → share, as proportions or, with ``percent: true``, percentages)."""
    problems = ProblemCollector(file=file)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError("The file is not valid YAML", file=file,
                              row=mark.line + 1 if mark else None,
                              code="invalid_yaml") from None
    except (ValueError, RecursionError):  # a value YAML cannot build, e.g. date 0000-00-00
        raise ValidationError("The file is not valid YAML: a value cannot be read",
                              file=file, code="invalid_yaml") from None
    if not isinstance(data, dict) or not isinstance(data.get("dimensions"), dict):
        raise ValidationError("The file must have a 'dimensions' mapping", file=file,
                              column="dimensions", code="invalid_population")
    percent = bool(data.get("percent", False))
    shares: dict[str, dict[str, float]] = {}
    for name, groups in data["dimensions"].items():
        dimension = _dimension(name, problems, None)
        if dimension is None:
            continue
        if not isinstance(groups, dict) or not groups:
            problems.add(f"{dimension} must map each group to its share", column=dimension)
            continue
        for group, value in groups.items():
            code = _group_code(dimension, group, problems, None, f"{dimension}.{group}")
            share = _share(value, problems, None, f"{dimension}.{group}", percent)
            if code is not None and share is not None:
                if code in shares.get(dimension, {}):
                    problems.add(f"{dimension} has the group {code} twice", column=dimension)
                shares.setdefault(dimension, {})[code] = share
    return _finish(shares, problems, str(data.get("source", "") or "")[:300], {})


def parse_population_csv(text: str, file: str | None = None) -> Population:
    """Population shares from CSV with the columns ``dimension``, ``group`` and ``share``
    (a proportion) or ``percent``. Every problem is reported with its row and column."""
    problems = ProblemCollector(file=file)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ValidationError("The file is empty", file=file, row=1,
                              code="empty_file") from None
    except csv.Error:
        raise ValidationError("The file is not a readable CSV", file=file, row=1,
                              code="invalid_csv") from None
    percent = "percent" in header and "share" not in header
    value_column = "percent" if percent else "share"
    needed = ["dimension", "group", value_column]
    missing = [c for c in needed if c not in header]
    if missing:
        raise ValidationError(f"The file has no '{missing[0]}' column", file=file, row=1,
                              column=missing[0], expected="columns dimension, group, share",
                              code="missing_column")
    index = {name: header.index(name) for name in needed}
    shares: dict[str, dict[str, float]] = {}
    rows_of: dict[str, int] = {}
    try:
        for row_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                problems.add("The row has too few cells", row=row_number,
                             expected=f"{len(header)} cells")
                continue
            dimension = _dimension(row[index["dimension"]], problems, row_number)
            if dimension is None:
                continue
            rows_of.setdefault(dimension, row_number)
            code = _group_code(dimension, row[index["group"]].strip(), problems, row_number,
                               "group")
            share = _share(row[index[value_column]], problems, row_number, value_column,
                           percent)
            if code is None or share is None:
                continue
            if code in shares.get(dimension, {}):
                problems.add(f"{dimension} has the group {code} twice", row=row_number,
                             column="group")
                continue
            shares.setdefault(dimension, {})[code] = share
    except csv.Error:
        raise ValidationError("The file is not a readable CSV", file=file,
                              row=reader.line_num, code="invalid_csv") from None
    return _finish(shares, problems, file or "uploaded file", rows_of)


def parse_population(content: bytes, file_name: str) -> Population:
    """Population shares from an uploaded file, by its extension (.yaml/.yml or .csv)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("The file must be text in UTF-8", file=file_name,
                              code="not_utf8") from None
    lowered = file_name.lower()
    if lowered.endswith((".yaml", ".yml")):
        return parse_population_yaml(text, file_name)
    if lowered.endswith(".csv"):
        return parse_population_csv(text, file_name)
    raise ValidationError("Upload a .csv or .yaml file", file=file_name, column="file",
                          code="unsupported_file")


def default_population() -> Population:
    return parse_population_yaml(DEFAULT_FILE.read_text(encoding="utf-8"), DEFAULT_FILE.name)


def makeup_csv(rows: Sequence[DimensionMakeup]) -> bytes:
    """The disclosed comparison as CSV, for export."""
    def lines():
        for dim in rows:
            for row in dim.rows:
                yield [dim.dimension, row.label, row.count,
                       "" if row.community_share is None else f"{100 * row.community_share:.1f}",
                       "" if row.population_share is None
                       else f"{100 * row.population_share:.1f}",
                       "" if row.difference is None else f"{row.difference:.1f}",
                       "yes" if row.under_represented else "no"]
            yield [dim.dimension, "Not answered", dim.not_answered, "", "", "", ""]

    # Group labels can come from an uploaded population file: written formula-safe.
    return csv_bytes(["dimension", "group", "partners", "community_percent",
                      "population_percent", "difference_points", "under_represented"],
                     lines(), bom=False)
