"""Panels from the partner community: the pool, default quotas and quotas typed on a page,
as the sortition engine's :class:`~voices.involve.sortition_pool.Pool` and
:class:`~voices.involve.sortition_pool.Quotas`.

A pool from an opportunity is the partners interested in it; each is described by the
equity dimensions the lead chooses (age band, sex, ethnic group, disability, carer,
deprivation quintile), from their equality answers. Partners who did not answer (or chose
"prefer not to say", or did not agree to the equality questions) have the value
``not_known``, so everyone interested stays in the pool.

Default quotas aim at the population's shares (the community's own shares where the
population has no figures): for a panel of ``k`` and a group with share ``s``, between
``floor(k·s) − 1`` and ``ceil(k·s) + 1`` members, never more than the pool has; ``not_known``
is left free. Leads change them on the page before running the selection.

Pure: plain data in, engine objects out. Stored as JSON (:func:`quotas_to_json`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from voices.equity.dimensions import DIMENSIONS, NOT_KNOWN
from voices.errors import ProblemCollector, ValidationError
from voices.involve.community import COMPARED, Population
from voices.involve.sortition_pool import Pool, Quotas, ValueQuota

FEATURES = COMPARED


def pool_from_groups(people: Sequence[tuple[str, Mapping[str, str]]],
                     features: Sequence[str], *, source: str = "interested partners") -> Pool:
    """A pool from (id, groups) pairs, where groups maps each dimension to a group code
    (as :func:`voices.involve.community.partner_groups` gives)."""
    unknown = [f for f in features if f not in FEATURES]
    if unknown or not features:
        raise ValidationError("Choose at least one of the equity dimensions",
                              column="features", expected=", ".join(FEATURES),
                              code="invalid_features")
    if not people:
        raise ValidationError("Nobody is in this pool yet", column="pool",
                              code="empty_pool")
    return Pool(ids=tuple(pid for pid, _ in people), features=tuple(features),
                values=tuple(tuple(groups.get(f, NOT_KNOWN) for f in features)
                             for _, groups in people), source=source)


def default_quotas(pool: Pool, k: int, population: Population | None = None) -> Quotas:
    """Quotas around the population's shares (see the module docstring)."""
    rows: list[ValueQuota] = []
    for j, feature in enumerate(pool.features):
        counts = Counter(person[j] for person in pool.values)
        known = {v: c for v, c in counts.items() if v != NOT_KNOWN}
        target = population.groups(feature) if population else {}
        if not target or not set(known) & set(target):
            total = sum(known.values()) or 1
            target = {v: c / total for v, c in known.items()}
        for value in _ordered(feature, counts):
            have = counts[value]
            if value == NOT_KNOWN:
                rows.append(ValueQuota(feature, value, 0, min(have, k)))
                continue
            share = target.get(value, 0.0)
            low = max(0, math.floor(k * share) - 1)
            high = max(low, math.ceil(k * share) + 1)
            rows.append(ValueQuota(feature, value, min(low, have), min(high, have, k)))
    return Quotas(tuple(rows), source="quotas")


def _ordered(feature: str, counts: Mapping[str, int]) -> list[str]:
    codes = list(DIMENSIONS[feature].codes) if feature in DIMENSIONS else []
    return sorted(counts, key=lambda v: (codes.index(v) if v in codes else len(codes), v))


def label(feature: str, value: str) -> str:
    """A feature value in words (the code itself for uploaded features)."""
    if feature in DIMENSIONS:
        return DIMENSIONS[feature].label_for(value)
    return value


def quotas_from_form(form: Mapping[str, Sequence[str]], template: Quotas, k: int) -> Quotas:
    """Quotas typed on the page (fields ``min-<i>`` and ``max-<i>`` for row ``i`` of
    ``template``), every problem named by its field."""
    problems = ProblemCollector()
    rows = []
    for i, quota in enumerate(template.rows):
        values = []
        for bound in ("min", "max"):
            field = f"{bound}-{i}"
            raw = form.get(field, [])
            text = (raw[0] if isinstance(raw, (list, tuple)) and raw else raw or "")
            text = str(text).strip()
            if not text.isdigit() or int(text) > 100_000:
                problems.add(f"Enter the {'fewest' if bound == 'min' else 'most'} people with "
                             f"{label(quota.feature, quota.value)} as a whole number",
                             column=field)
                values.append(getattr(quota, bound))
            else:
                values.append(int(text))
        if values[0] > values[1]:
            problems.add(f"The fewest with {label(quota.feature, quota.value)} must not be "
                         "more than the most", column=f"min-{i}")
        rows.append(ValueQuota(quota.feature, quota.value, values[0], values[1], i + 2))
    problems.raise_if_any()
    return Quotas(tuple(rows), source="quotas")


def quotas_to_json(quotas: Quotas) -> list[dict]:
    return [{"feature": q.feature, "value": q.value, "min": q.min, "max": q.max}
            for q in quotas.rows]


def quotas_from_json(rows: Sequence[Mapping]) -> Quotas:
    return Quotas(tuple(ValueQuota(r["feature"], r["value"], int(r["min"]), int(r["max"]),
                                   i + 2) for i, r in enumerate(rows)), source="quotas")


def pool_to_json(pool: Pool) -> dict:
    return {"features": list(pool.features), "ids": list(pool.ids),
            "values": [list(v) for v in pool.values], "source": pool.source}


def pool_from_json(data: Mapping) -> Pool:
    return Pool(ids=tuple(data["ids"]), features=tuple(data["features"]),
                values=tuple(tuple(v) for v in data["values"]), source=data.get("source"))


def check_k(text: str, pool_size: int) -> int:
    """The panel size typed by the lead: a whole number from 1 to the pool's size."""
    text = str(text).strip()
    if not text.isdigit() or not 1 <= int(text) <= max(pool_size, 1):
        raise ValidationError(f"Enter the panel size as a whole number from 1 to {pool_size}",
                              column="k", code="invalid_k")
    return int(text)
