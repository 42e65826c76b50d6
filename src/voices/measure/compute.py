"""The full measure set on a table of responses: FFT at every level, every equity
breakdown with intervals and gaps, SII/RII across deprivation deciles, and funnel limits.

The engine turns each column into small integer codes and counts every breakdown with one
:func:`numpy.bincount` pass over the rows; everything after that works on the counts,
which are tiny next to the responses. Percentages are always worked out from summed
counts, never averaged.

Tables produced (each a Polars frame; see ``docs/measure.md`` for every column):

``fft_service``, ``fft_organisation``, ``fft_icb`` (if an ``icb`` column was given),
``fft_all``
    Friends and Family Test per service / organisation / ICB / everything, per period.
``equity_service``, ``equity_organisation``
    % positive for every group of every equity dimension, with Wilson intervals, and the
    gap to the dimension's reference group: difference in percentage points (Newcombe)
    and ratio (MOVER-R), with 95% intervals.
``sii_service``, ``sii_organisation``
    Slope and relative index of inequality of % positive across IMD deciles (needs an
    ``imd_decile`` column), with simulated intervals (PHE ``phe_sii`` method).
``funnel_service``
    Each service's % positive against funnel limits around that period's overall figure,
    with over-dispersion handled both ways (additive and multiplicative), and flags.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from scipy.special import logit

from voices.equity.dimensions import DIMENSIONS
from voices.errors import ValidationError
from voices.exports import write_frame
from voices.measure.fft import (
    ANSWER_COLUMNS,
    FFT_ANSWERS,
    NEGATIVE,
    POSITIVE,
    fft_summary,
    level_suffix,
)
from voices.measure.funnel import ProportionFunnel
from voices.measure.inequality import slope_index_batch
from voices.measure.intervals import difference_interval, ratio_interval, wilson_interval, z_for
from voices.measure.responses import Responses

# Answer code -> 0 positive, 1 negative, 2 neither / don't know.
_ANSWER_CLASS = np.full(len(FFT_ANSWERS), 2, dtype=np.int32)
_ANSWER_CLASS[list(POSITIVE)] = 0
_ANSWER_CLASS[list(NEGATIVE)] = 1


@dataclass(frozen=True)
class MeasureOptions:
    """Choices for :func:`compute_measures`.

    confidence_levels : levels of the Wilson intervals on percentages (95% and 99.8%)
    simulations, seed : draws and seed for the SII/RII intervals (``phe_sii`` default 100,000)
    references : reference group per equity dimension, overriding the defaults in
        :data:`voices.equity.dimensions.DIMENSIONS` (e.g. ``{"imd_decile": "10"}``)
    funnel_scale, winsorise_by : scale and winsorisation for the funnel over-dispersion
    """

    confidence_levels: tuple[float, ...] = (0.95, 0.998)
    simulations: int = 100_000
    seed: int = 0
    references: Mapping[str, str] = field(default_factory=dict)
    funnel_scale: str = "arcsine"
    winsorise_by: float = 0.1


@dataclass(frozen=True)
class MeasureSet:
    """The tables computed by :func:`compute_measures`, by name, and what made them."""

    tables: dict[str, pl.DataFrame]
    options: MeasureOptions
    rows: int
    responses: int
    source: str | None = None

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    def manifest(self) -> dict:
        return {"source": self.source, "rows": self.rows, "responses": self.responses,
                "options": {**asdict(self.options), "references": dict(self.options.references)},
                "tables": {k: {"rows": v.height, "columns": v.columns}
                           for k, v in self.tables.items()}}


@dataclass
class _Codes:
    """Integer codes of every row and the labels they stand for."""

    cell: np.ndarray            # (rows,) unit * periods + period, the counting cell
    answer: np.ndarray          # (rows,) answer code 0..5
    weight: np.ndarray | None   # (rows,) the count column, or None when every row is 1
    unit_org: np.ndarray        # (units,) organisation code of each unit
    unit_service: np.ndarray    # (units,) service code of each unit
    unit_icb: np.ndarray | None
    organisations: list[str]
    services: list[str]
    icbs: list[str] | None
    periods: list[str]

    @property
    def units(self) -> int:
        return len(self.unit_org)

    @property
    def total(self) -> float:
        return float(self.cell.size if self.weight is None else self.weight.sum())


def _physical(frame: pl.DataFrame, column: str) -> np.ndarray:
    """The Enum codes of a column (0..k-1), as a small integer array without copying."""
    return frame.get_column(column).to_physical().to_numpy()


def _index_dtype(size: int):
    return np.int32 if size < 2**31 - 1 else np.int64


def _encode(frame: pl.DataFrame) -> _Codes:
    organisations = list(frame.schema["organisation"].categories)
    services = list(frame.schema["service"].categories)
    periods = list(frame.schema["period"].categories)
    space = len(organisations) * len(services)
    dtype = _index_dtype(space)
    key = _physical(frame, "organisation").astype(dtype) * len(services) \
        + _physical(frame, "service")
    if space <= 50_000_000:
        present = np.flatnonzero(np.bincount(key, minlength=space))
        lookup = np.zeros(space, dtype=_index_dtype(len(present) * len(periods)))
        lookup[present] = np.arange(present.size)
        unit = lookup[key]
    else:
        present, unit = np.unique(key, return_inverse=True)
    del key
    unit_icb = icbs = None
    if "icb" in frame.columns:
        icbs = list(frame.schema["icb"].categories)
        unit_icb = np.zeros(present.size, dtype=np.int64)
        unit_icb[unit] = _physical(frame, "icb")
    cell = unit.astype(_index_dtype(present.size * len(periods)), copy=False) * len(periods)
    cell += _physical(frame, "period")
    count = frame.get_column("count")
    weight = None if count.min() == 1 and count.max() == 1 else \
        count.to_numpy().astype(np.float64, copy=False)
    return _Codes(cell=cell, answer=_physical(frame, "response"), weight=weight,
                  unit_org=present // len(services), unit_service=present % len(services),
                  unit_icb=unit_icb, organisations=organisations, services=services,
                  icbs=icbs, periods=periods)


def _count(codes: _Codes, inner: np.ndarray, inner_size: int) -> np.ndarray:
    """Weighted counts by unit, period and an inner code: shape (units, periods, inner)."""
    P = len(codes.periods)
    cells = codes.units * P
    key = codes.cell.astype(_index_dtype(cells * inner_size), copy=False) * inner_size
    key += inner
    counts = np.bincount(key, weights=codes.weight, minlength=cells * inner_size)
    return counts.astype(np.float64, copy=False).reshape(codes.units, P, inner_size)


def _by_group(unit_counts: np.ndarray, unit_group: np.ndarray, groups: int) -> np.ndarray:
    """Sum unit-level counts (units, ...) into groups (groups, ...)."""
    out = np.zeros((groups, *unit_counts.shape[1:]))
    np.add.at(out, unit_group, unit_counts)
    return out


Entities = dict[str, tuple[list[str], np.ndarray]]
"""Label columns of the entities counted: column name -> (names, each entity's name code)."""


def _gather(names: list[str], index: np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, names, dtype=pl.String).gather(np.asarray(index, dtype=np.int64))


def _label_columns(entities: Entities, periods: list[str], entity_idx: np.ndarray,
                   period_idx: np.ndarray) -> dict[str, pl.Series]:
    cols = {name: _gather(names, codes[entity_idx], name)
            for name, (names, codes) in entities.items()}
    cols["period"] = _gather(periods, period_idx, "period")
    return cols


def _wilson_columns(prefix: str, hits, n, levels) -> dict[str, np.ndarray]:
    cols = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        cols[prefix] = np.where(n > 0, 100.0 * hits / n, np.nan)
    for level in levels:
        lo, hi = wilson_interval(hits, n, level)
        cols[f"{prefix}_lower_{level_suffix(level)}"] = 100.0 * lo
        cols[f"{prefix}_upper_{level_suffix(level)}"] = 100.0 * hi
    return cols


def _unit_entities(codes: _Codes) -> Entities:
    entities = {"organisation": (codes.organisations, codes.unit_org),
                "service": (codes.services, codes.unit_service)}
    if codes.icbs is not None:
        entities = {"icb": (codes.icbs, codes.unit_icb), **entities}
    return entities


def _fft_tables(codes: _Codes, answers: np.ndarray, levels) -> dict[str, pl.DataFrame]:
    U, P, _ = answers.shape
    flat = answers.reshape(U * P, -1)
    keep = flat.sum(axis=1) > 0
    labels = _label_columns(_unit_entities(codes), codes.periods,
                            np.repeat(np.arange(U), P)[keep], np.tile(np.arange(P), U)[keep])
    counts = pl.DataFrame({**labels, **{c: flat[keep, i].astype(np.int64)
                                        for i, c in enumerate(ANSWER_COLUMNS)}})
    unit_keys = [c for c in labels if c != "period"]
    tables = {"fft_service": fft_summary(counts, [*unit_keys, "period"], levels),
              "fft_organisation": fft_summary(counts, ["organisation", "period"], levels)}
    if codes.icbs is not None:
        tables["fft_icb"] = fft_summary(counts, ["icb", "period"], levels)
    tables["fft_all"] = fft_summary(counts, ["period"], levels)
    return tables


def _equity_rows(entities: Entities, periods: list[str], counts: np.ndarray, dim_name: str,
                 reference: str, levels) -> pl.DataFrame:
    """Long table for one dimension from counts of shape (entities, periods, groups, 3)."""
    dim = DIMENSIONS[dim_name]
    codes_list = list(dim.codes)
    E, P, G, _ = counts.shape
    n = counts.sum(axis=-1)
    pos, neg = counts[..., 0], counts[..., 1]
    ref = codes_list.index(reference) if reference in codes_list else None
    ref_n = n[:, :, ref][:, :, None] if ref is not None else np.zeros((E, P, 1))
    ref_pos = pos[:, :, ref][:, :, None] if ref is not None else np.zeros((E, P, 1))
    ref_n_b, ref_pos_b = np.broadcast_to(ref_n, n.shape), np.broadcast_to(ref_pos, n.shape)
    gap, gap_lo, gap_hi = difference_interval(pos, n, ref_pos_b, ref_n_b)
    ratio, ratio_lo, ratio_hi = ratio_interval(pos, n, ref_pos_b, ref_n_b)
    group_idx = np.broadcast_to(np.arange(G), n.shape)
    is_ref = group_idx == ref if ref is not None else np.zeros(n.shape, bool)
    unknown = np.isin(group_idx, [codes_list.index(c) for c in dim.unknown_codes])
    no_gap = is_ref | unknown
    keep = (n > 0).ravel()
    entity_idx = np.broadcast_to(np.arange(E)[:, None, None], n.shape).ravel()[keep]
    period_idx = np.broadcast_to(np.arange(P)[None, :, None], n.shape).ravel()[keep]
    group_flat = group_idx.ravel()[keep]

    def flat(a):
        return np.asarray(a, dtype=float).ravel()[keep]

    def gapped(a, scale=1.0):
        return np.where(no_gap.ravel()[keep], np.nan, scale * flat(a))

    cols = _label_columns(entities, periods, entity_idx, period_idx)
    cols["dimension"] = pl.repeat(dim_name, len(group_flat), dtype=pl.String, eager=True)
    cols["group"] = _gather(codes_list, group_flat, "group")
    cols["group_label"] = _gather([dim.label_for(c) for c in codes_list], group_flat,
                                  "group_label")
    cols["responses"] = flat(n).astype(np.int64)
    cols["positive"] = flat(pos).astype(np.int64)
    cols["negative"] = flat(neg).astype(np.int64)
    cols.update(_wilson_columns("pct_positive", flat(pos), flat(n), levels))
    cols["reference_group"] = pl.repeat(reference, len(group_flat), dtype=pl.String,
                                        eager=True)
    cols["reference_group_responses"] = flat(ref_n_b).astype(np.int64)
    cols["is_reference"] = flat(is_ref).astype(bool)
    cols["gap_pct_points"] = gapped(gap, 100.0)
    cols["gap_lower_95"] = gapped(gap_lo, 100.0)
    cols["gap_upper_95"] = gapped(gap_hi, 100.0)
    cols["ratio"] = gapped(ratio)
    cols["ratio_lower_95"] = gapped(ratio_lo)
    cols["ratio_upper_95"] = gapped(ratio_hi)
    return pl.DataFrame(cols)


def _sii_rows(entities: Entities, periods: list[str], counts: np.ndarray,
              options: MeasureOptions) -> pl.DataFrame:
    """SII/RII of % positive across IMD deciles 1..10 for counts (entities, periods, 11, 3).

    Each set is fitted on the logit scale (``phe_sii`` with ``value_type = 2,
    transform = TRUE``, PHE's advice for proportions), with each decile's standard error
    taken from its Wilson 95% limits. A decile at exactly 0% or 100% positive has no logit;
    in such a set every decile uses the empirical logit ``log((x + 0.5) / (n - x + 0.5))``
    with standard error ``sqrt(1/(x + 0.5) + 1/(n - x + 0.5))`` (Cox 1970; Gart & Zweifel
    1967) instead, and the ``method`` column says so. A set needs responses in all ten
    deciles, as ``phe_sii`` requires.
    """
    E, P = counts.shape[:2]
    deciles = counts[:, :, :10, :]
    n = deciles.sum(axis=-1).reshape(E * P, 10)
    pos = deciles[..., 0].reshape(E * P, 10)
    keep = n.sum(axis=1) > 0
    n, pos = n[keep], pos[keep]
    complete = np.all(n > 0, axis=1)
    plain = complete & np.all((pos > 0) & (pos < n), axis=1)
    lo, hi = wilson_interval(pos, n, 0.95)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(plain[:, None], pos / n, (pos + 0.5) / (n + 1.0))
        se = np.where(plain[:, None], (logit(hi) - logit(lo)) / (2 * z_for(0.95)),
                      np.sqrt(1.0 / (pos + 0.5) + 1.0 / (n - pos + 0.5)))
    method = np.where(plain, "logit", np.where(complete, "empirical logit", ""))
    frame: dict[str, object] = _label_columns(entities, periods, np.repeat(np.arange(E), P)[keep],
                                              np.tile(np.arange(P), E)[keep])
    frame["responses"] = n.sum(axis=1).astype(np.int64)
    frame["deciles_with_responses"] = (n > 0).sum(axis=1).astype(np.int64)
    frame["method"] = pl.Series("method", method, dtype=pl.String)
    for i, level in enumerate(options.confidence_levels):
        res = slope_index_batch(value, np.where(n > 0, n, 0.0), standard_error=se,
                                kind="proportion", transform=True, confidence=level,
                                simulations=options.simulations, seed=options.seed)
        if i == 0:
            frame["sii_pct_points"] = 100.0 * res["sii"]
            frame["rii"] = res["rii"]
            frame["pct_positive_most_deprived_end"] = 100.0 * res["intercept"]
        suffix = level_suffix(level)
        frame[f"sii_lower_{suffix}"] = 100.0 * res["sii_lower"]
        frame[f"sii_upper_{suffix}"] = 100.0 * res["sii_upper"]
        frame[f"rii_lower_{suffix}"] = res["rii_lower"]
        frame[f"rii_upper_{suffix}"] = res["rii_upper"]
    frame["note"] = pl.Series("note", np.where(
        complete, "", "needs responses from all 10 deprivation deciles"), dtype=pl.String)
    return pl.DataFrame(frame)


def _funnel_rows(codes: _Codes, answers: np.ndarray, options: MeasureOptions) -> pl.DataFrame:
    P = answers.shape[1]
    n = answers.sum(axis=-1)
    pos = answers[..., list(POSITIVE)].sum(axis=-1)
    parts = []
    for p in range(P):
        units = np.flatnonzero(n[:, p] > 0)
        if units.size == 0:
            continue
        x, m = pos[units, p], n[units, p]
        cols: dict[str, object] = {
            **_label_columns(_unit_entities(codes), codes.periods, units,
                             np.full(units.size, p)),
            "responses": m.astype(np.int64), "positive": x.astype(np.int64),
            "pct_positive": 100.0 * x / m,
        }
        for method in ("additive", "multiplicative"):
            funnel = ProportionFunnel(overdispersion=method, scale=options.funnel_scale,
                                      winsorise_by=options.winsorise_by,
                                      confidence_levels=(0.95, 0.998)).fit(x, m)
            result = funnel.assess(x, m)
            if method == "additive":
                cols["target_pct"] = np.full(units.size, 100.0 * funnel.target_)
                cols["phi"] = np.full(units.size, funnel.phi_)
                cols["tau2"] = np.full(units.size, funnel.tau2_)
            for key in ("lower_95", "upper_95", "lower_998", "upper_998"):
                cols[f"{method}_{key}"] = 100.0 * result[key]
            cols[f"{method}_z"] = result["z"]
            cols[f"{method}_flag"] = pl.Series(result["flag"].astype(str), dtype=pl.String)
        parts.append(pl.DataFrame(cols))
    return pl.concat(parts) if parts else pl.DataFrame()


def compute_measures(responses: Responses, options: MeasureOptions | None = None) -> MeasureSet:
    """Compute the full measure set on checked responses.

    Parameters
    ----------
    responses : Responses
        From :func:`voices.measure.responses.read_responses` or ``validate_responses``.
    options : MeasureOptions, optional

    Returns
    -------
    MeasureSet
        Tables by name (see the module docstring).
    """
    options = options or MeasureOptions()
    for dim, ref in options.references.items():
        if dim not in DIMENSIONS or ref not in DIMENSIONS[dim].codes:
            raise ValidationError(f"'{ref}' is not a group of '{dim}'", column=dim,
                                  expected="a dimension code from voices.equity.dimensions")
    frame = responses.frame
    codes = _encode(frame)
    levels = options.confidence_levels
    answers = _count(codes, codes.answer, len(FFT_ANSWERS))
    tables = _fft_tables(codes, answers, levels)

    answer_class = _ANSWER_CLASS[codes.answer]  # int32 lookup: 0 positive, 1 negative, 2 other
    units = _unit_entities(codes)
    orgs = {"organisation": (codes.organisations, np.arange(len(codes.organisations)))}
    equity_service, equity_org, sii_service, sii_org = [], [], [], []
    for dim_name in responses.equity:
        dim = DIMENSIONS[dim_name]
        G = len(dim.codes)
        inner = _physical(frame, dim_name).astype(np.int32) * 3
        inner += answer_class
        counts = _count(codes, inner, G * 3).reshape(
            codes.units, len(codes.periods), G, 3)
        org_counts = _by_group(counts, codes.unit_org, len(codes.organisations))
        reference = options.references.get(dim_name, dim.reference)
        equity_service.append(_equity_rows(units, codes.periods, counts, dim_name, reference,
                                           levels))
        equity_org.append(_equity_rows(orgs, codes.periods, org_counts, dim_name, reference,
                                       levels))
        if dim_name == "imd_decile":
            sii_service.append(_sii_rows(units, codes.periods, counts, options))
            sii_org.append(_sii_rows(orgs, codes.periods, org_counts, options))
    if equity_service:
        tables["equity_service"] = pl.concat(equity_service)
        tables["equity_organisation"] = pl.concat(equity_org)
    if sii_service:
        tables["sii_service"] = sii_service[0]
        tables["sii_organisation"] = sii_org[0]
    tables["funnel_service"] = _funnel_rows(codes, answers, options)
    return MeasureSet(tables=tables, options=options, rows=frame.height,
                      responses=int(codes.total), source=responses.source)


def write_measures(measures: MeasureSet, out_dir: str | Path,
                   formats: tuple[str, ...] = ("csv",)) -> list[Path]:
    """Write every table (and ``manifest.json``) into ``out_dir``, all or nothing.

    Files are written into a temporary folder beside ``out_dir``, which then takes the
    place of ``out_dir`` in one rename, so an interrupted run never leaves half a set.
    ``out_dir`` may be missing, empty, or hold an earlier measure set (it is replaced);
    a folder holding anything else is refused rather than overwritten.

    Returns the paths written.
    """
    bad = [f for f in formats if f not in ("csv", "parquet")]
    if bad or not formats:
        raise ValidationError(f"unknown output format '{(bad or ['(none)'])[0]}'",
                              expected="csv, parquet or both")
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise ValidationError("the output path is a file, not a folder", file=str(out),
                                  expected="a folder (created if missing)")
        own = {p.name for p in out.iterdir()}
        if own and "manifest.json" not in own:
            raise ValidationError("the output folder already holds other files", file=str(out),
                                  expected="an empty folder, a new one, or an earlier "
                                           "measure set to replace")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    retired = out.parent / f".{out.name}-old-{os.getpid()}"
    try:
        names = []
        for name, table in measures.tables.items():
            if "csv" in formats:
                write_frame(table, staging / f"{name}.csv")  # formula-safe
                names.append(f"{name}.csv")
            if "parquet" in formats:
                table.write_parquet(staging / f"{name}.parquet")
                names.append(f"{name}.parquet")
        (staging / "manifest.json").write_text(json.dumps(measures.manifest(), indent=2))
        names.append("manifest.json")
        staging.chmod(0o755)
        if out.exists():
            os.replace(out, retired)
        os.replace(staging, out)
        return [out / n for n in names]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
