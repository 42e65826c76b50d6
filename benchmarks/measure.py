"""Benchmark: the full measure set on millions of FFT responses, against plain pandas.

    python benchmarks/measure.py [--rows N] [--simulations S]

Generates ``N`` responses (default 10,000,000) over 500 services in 50 organisations and
10 ICBs, 12 months and 6 equity dimensions, with inequality built in (experience worse in
more deprived areas, varying by service). Then times:

- ``seconds``: :func:`voices.measure.compute.compute_measures` (FFT per service, organisation,
  ICB and month; every equity breakdown with Wilson intervals and gaps to the reference
  group with Newcombe and MOVER-R intervals; SII/RII per service and per organisation per
  month with 100,000 simulated draws; funnel limits both ways per month);
- ``pandas_seconds``: a straightforward pandas implementation of the same measures
  (``groupby`` for every breakdown, ``groupby().apply`` per service for the SII and per
  month for the funnel), written below;

checks that both give the same numbers (``same_results``), and prints one JSON object on
stdout (progress goes to stderr). Timings are wall-clock on a shared machine, so expect
noise between runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))

import argparse
import json
import platform
import resource
import sys
import time

import numpy as np
import pandas as pd
import polars as pl

from voices.equity.dimensions import DIMENSIONS
from voices.measure.compute import MeasureOptions, compute_measures
from voices.measure.fft import FFT_ANSWERS
from voices.measure.intervals import (
    difference_interval,
    ratio_interval,
    wilson_interval,
    z_for,
)
from voices.measure.responses import Responses, validate_responses

SERVICES, ORGANISATIONS, ICBS, PERIODS = 500, 50, 10, 12
EQUITY = ("imd_decile", "ethnic_group", "age_band", "sex", "disability", "carer")
LEVELS = (0.95, 0.998)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- data


def _enum(codes: np.ndarray, categories: list[str]) -> pl.Series:
    return pl.Series(categories, dtype=pl.Enum(categories)).gather(codes)


def generate(rows: int, seed: int = 20261123) -> Responses:
    """Synthetic responses with realistic inequality, already in checked (canonical) form."""
    rng = np.random.default_rng(seed)
    service = rng.integers(0, SERVICES, rows)
    organisation = service // (SERVICES // ORGANISATIONS)
    icb = organisation // (ORGANISATIONS // ICBS)
    equity = {}
    for name in EQUITY:
        known = len(DIMENSIONS[name].codes) - 1          # last code is "not known"
        weights = np.r_[np.ones(known), 0.15]
        equity[name] = rng.choice(known + 1, rows, p=weights / weights.sum())
    # log-odds of a positive answer: service effect, worse in deprived deciles and for
    # some groups, so the dashboards have real gaps to find.
    service_effect = rng.normal(1.6, 0.35, SERVICES)
    decile = np.where(equity["imd_decile"] < 10, equity["imd_decile"], 5)
    log_odds = (service_effect[service] + 0.06 * (decile - 4.5)
                - 0.25 * (equity["disability"] == 0) - 0.15 * (equity["ethnic_group"] == 3))
    p_positive = 1.0 / (1.0 + np.exp(-log_odds))
    u, v = rng.random(rows), rng.random(rows)
    other = np.select([v < 0.35, v < 0.6, v < 0.85], [2, 3, 4], 5)
    answer = np.where(u < p_positive, np.where(u < 0.6 * p_positive, 0, 1), other)
    columns = {
        "organisation": _enum(organisation, [f"R{i:02d}" for i in range(ORGANISATIONS)]),
        "service": _enum(service, [f"S{i:03d}" for i in range(SERVICES)]),
        "icb": _enum(icb, [f"QH{i}" for i in range(ICBS)]),
        "period": _enum(rng.integers(0, PERIODS, rows),
                        [f"2026-{m:02d}" for m in range(1, PERIODS + 1)]),
        "response": _enum(answer, list(FFT_ANSWERS)),
        "count": pl.Series(np.ones(rows, dtype=np.int64)),
    }
    for name in EQUITY:
        columns[name] = _enum(equity[name], list(DIMENSIONS[name].codes))
    return Responses(pl.DataFrame(columns), EQUITY)


# ------------------------------------------------------------------ pandas baseline


def _pd_scores(counts: pd.DataFrame) -> pd.DataFrame:
    """FFT percentages from a frame whose columns are the six answers."""
    out = counts.copy()
    out["responses"] = counts.sum(axis=1)
    out["positive"] = counts["Very good"] + counts["Good"]
    out["negative"] = counts["Poor"] + counts["Very poor"]
    for name in ("positive", "negative"):
        out[f"pct_{name}"] = 100 * out[name] / out["responses"]
        for level in LEVELS:
            lo, hi = wilson_interval(out[name].to_numpy(), out["responses"].to_numpy(), level)
            suffix = f"{level * 100:g}".replace(".", "")
            out[f"pct_{name}_lower_{suffix}"] = 100 * lo
            out[f"pct_{name}_upper_{suffix}"] = 100 * hi
    return out


def _pd_equity(df: pd.DataFrame, keys: list[str], dim: str) -> pd.DataFrame:
    g = (df.groupby([*keys, "period", dim], observed=True)
         .agg(responses=("count", "sum"), positive=("pos", "sum"), negative=("neg", "sum"))
         .reset_index())
    reference = DIMENSIONS[dim].reference
    ref = (g[g[dim] == reference][[*keys, "period", "responses", "positive"]]
           .rename(columns={"responses": "ref_n", "positive": "ref_pos"}))
    g = g.merge(ref, on=[*keys, "period"], how="left").fillna({"ref_n": 0, "ref_pos": 0})
    g["pct_positive"] = 100 * g["positive"] / g["responses"]
    for level in LEVELS:
        lo, hi = wilson_interval(g["positive"].to_numpy(), g["responses"].to_numpy(), level)
        suffix = f"{level * 100:g}".replace(".", "")
        g[f"pct_positive_lower_{suffix}"], g[f"pct_positive_upper_{suffix}"] = 100 * lo, 100 * hi
    args = (g["positive"].to_numpy(), g["responses"].to_numpy(), g["ref_pos"].to_numpy(),
            g["ref_n"].to_numpy())
    d, dlo, dhi = difference_interval(*args)
    r, rlo, rhi = ratio_interval(*args)
    no_gap = ((g[dim] == reference) | g[dim].isin(list(DIMENSIONS[dim].unknown_codes))).to_numpy()
    for name, values in (("gap_pct_points", 100 * d), ("gap_lower_95", 100 * dlo),
                         ("gap_upper_95", 100 * dhi), ("ratio", r), ("ratio_lower_95", rlo),
                         ("ratio_upper_95", rhi)):
        g[name] = np.where(no_gap, np.nan, values)
    g["dimension"] = dim
    return g.rename(columns={dim: "group"})


def _pd_sii_group(group: pd.DataFrame, z_sorted: np.ndarray, simulations: int) -> pd.Series:
    """One service-month: weighted least squares of logit % positive on relative rank
    (empirical logits when a decile is at 0% or 100%, as voices.measure.compute does)."""
    names = ["sii_pct_points", "rii"] + [f"{k}_{side}_{f'{lv * 100:g}'.replace('.', '')}"
                                         for lv in LEVELS for k in ("sii", "rii")
                                         for side in ("lower", "upper")]
    out = dict.fromkeys(names, np.nan)
    group = group.sort_values("imd_decile")
    n = group["responses"].to_numpy(float)
    x = group["positive"].to_numpy(float)
    if len(n) != 10 or (n <= 0).any():
        return pd.Series(out)
    if ((x > 0) & (x < n)).all():
        lo, hi = wilson_interval(x, n, 0.95)
        y = np.log(x / (n - x))
        se = (np.log(hi / (1 - hi)) - np.log(lo / (1 - lo))) / (2 * z_for(0.95))
    else:
        y = np.log((x + 0.5) / (n - x + 0.5))
        se = np.sqrt(1 / (x + 0.5) + 1 / (n - x + 0.5))
    a = n / n.sum()
    b = np.cumsum(a) - a / 2
    X = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    intercept, slope = np.linalg.lstsq(X, y * np.sqrt(a), rcond=None)[0]
    weights = np.linalg.pinv(X) * np.sqrt(a)                     # coefficient = weights @ y
    sd = np.sqrt(np.sum(weights[1] ** 2 * se ** 2))

    def ends(s):
        middle = intercept + slope / 2
        e0, e1 = 1 / (1 + np.exp(-(middle - s / 2))), 1 / (1 + np.exp(-(middle + s / 2)))
        return 100 * (e1 - e0), e1 / e0

    out["sii_pct_points"], out["rii"] = ends(slope)
    for level in LEVELS:
        upper_p = level + (1 - level) / 2
        i_lo = max(int(np.rint(simulations * (1 - upper_p))), 1) - 1
        i_hi = int(np.rint(simulations * upper_p)) - 1
        suffix = f"{level * 100:g}".replace(".", "")
        out[f"sii_lower_{suffix}"], out[f"rii_lower_{suffix}"] = ends(slope + sd * z_sorted[i_lo])
        out[f"sii_upper_{suffix}"], out[f"rii_upper_{suffix}"] = ends(slope + sd * z_sorted[i_hi])
    return pd.Series(out)


def _pd_funnel_period(group: pd.DataFrame) -> pd.DataFrame:
    """One month: arcsine-scale funnel with additive and multiplicative over-dispersion."""
    group = group[group["responses"] > 0].copy()
    n, x = group["responses"].to_numpy(float), group["positive"].to_numpy(float)
    target = x.sum() / n.sum()
    s = 1 / (2 * np.sqrt(n))
    z = (np.arcsin(np.sqrt(x / n)) - np.arcsin(np.sqrt(target))) / s
    lo_q, hi_q = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, lo_q, hi_q) ** 2)
    w = 1 / s ** 2
    k = len(n)
    tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w ** 2).sum() / w.sum())) \
        if k * phi > k - 1 else 0.0
    group["target_pct"], group["phi"], group["tau2"] = 100 * target, phi, tau2
    for method, spread in (("additive", np.sqrt(s ** 2 + tau2)),
                           ("multiplicative", s * np.sqrt(max(phi, 1.0)))):
        for level in LEVELS:
            suffix = f"{level * 100:g}".replace(".", "")
            centre, half = np.arcsin(np.sqrt(target)), z_for(level) * spread
            group[f"{method}_lower_{suffix}"] = 100 * np.sin(np.clip(centre - half, 0, np.pi / 2)) ** 2
            group[f"{method}_upper_{suffix}"] = 100 * np.sin(np.clip(centre + half, 0, np.pi / 2)) ** 2
    return group


def pandas_measures(df: pd.DataFrame, simulations: int, seed: int) -> dict[str, pd.DataFrame]:
    df = df.assign(pos=df["response"].isin(["Very good", "Good"]) * df["count"],
                   neg=df["response"].isin(["Poor", "Very poor"]) * df["count"])
    unit = ["icb", "organisation", "service"]
    counts = (df.groupby([*unit, "period", "response"], observed=True)["count"].sum()
              .unstack("response", fill_value=0).reindex(columns=list(FFT_ANSWERS), fill_value=0))
    out = {"fft_service": _pd_scores(counts).reset_index()}
    for name, keys in (("fft_organisation", ["organisation", "period"]),
                       ("fft_icb", ["icb", "period"]), ("fft_all", ["period"])):
        out[name] = _pd_scores(counts.groupby(level=keys, observed=True).sum()).reset_index()
    out["equity_service"] = pd.concat([_pd_equity(df, unit[1:], d) for d in EQUITY])
    out["equity_organisation"] = pd.concat([_pd_equity(df, ["organisation"], d) for d in EQUITY])
    z_sorted = np.sort(np.random.default_rng(seed).standard_normal(simulations))
    for name, keys in (("sii_service", ["organisation", "service"]),
                       ("sii_organisation", ["organisation"])):
        imd = (df[df["imd_decile"] != "not_known"]
               .groupby([*keys, "period", "imd_decile"], observed=True)
               .agg(responses=("count", "sum"), positive=("pos", "sum")).reset_index())
        out[name] = (imd.groupby([*keys, "period"], observed=True)
                     .apply(_pd_sii_group, z_sorted=z_sorted, simulations=simulations,
                            include_groups=False).reset_index())
    service_counts = out["fft_service"][["organisation", "service", "period", "responses",
                                         "positive"]]
    out["funnel_service"] = pd.concat(
        [_pd_funnel_period(part) for _, part in service_counts.groupby("period", observed=True)])
    return out


# ------------------------------------------------------------------------ comparison

COMPARE = {
    "fft_service": (["organisation", "service", "period"],
                    ["responses", "pct_positive", "pct_negative", "pct_positive_lower_95",
                     "pct_positive_upper_998", "pct_negative_upper_95"]),
    "fft_organisation": (["organisation", "period"], ["responses", "pct_positive",
                                                      "pct_positive_lower_998"]),
    "fft_icb": (["icb", "period"], ["responses", "pct_positive", "pct_negative_upper_95"]),
    "fft_all": (["period"], ["responses", "pct_positive", "pct_positive_upper_95"]),
    "equity_service": (["organisation", "service", "period", "dimension", "group"],
                       ["responses", "pct_positive", "pct_positive_lower_998", "gap_pct_points",
                        "gap_lower_95", "gap_upper_95", "ratio", "ratio_lower_95",
                        "ratio_upper_95"]),
    "equity_organisation": (["organisation", "period", "dimension", "group"],
                            ["responses", "pct_positive", "gap_pct_points", "ratio_upper_95"]),
    "sii_service": (["organisation", "service", "period"],
                    ["sii_pct_points", "rii", "sii_lower_95", "sii_upper_95", "rii_lower_95",
                     "rii_upper_95", "sii_lower_998", "sii_upper_998"]),
    "sii_organisation": (["organisation", "period"], ["sii_pct_points", "rii", "sii_lower_95",
                                                      "rii_upper_998"]),
    "funnel_service": (["organisation", "service", "period"],
                       ["target_pct", "phi", "tau2", "additive_lower_95", "additive_upper_998",
                        "multiplicative_lower_998", "multiplicative_upper_95"]),
}


def same_results(ours: dict[str, pl.DataFrame], theirs: dict[str, pd.DataFrame]) -> dict:
    report = {}
    for name, (keys, values) in COMPARE.items():
        a = ours[name].select([*keys, *values])
        b = pl.from_pandas(theirs[name][[*keys, *values]].astype(
            {k: str for k in keys}).reset_index(drop=True))
        if name.startswith("sii"):      # pandas leaves out services without all ten deciles
            a = a.filter(pl.col("sii_pct_points").is_not_nan())
            b = b.filter(pl.col("sii_pct_points").is_not_nan())
        joined = a.join(b, on=keys, how="full", suffix="_pd", coalesce=True)
        ok = joined.height == a.height == b.height
        worst = 0.0
        for v in values:
            x = joined[v].cast(pl.Float64).to_numpy()
            y = joined[f"{v}_pd"].cast(pl.Float64).to_numpy()
            close = np.isclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)
            ok &= bool(close.all())
            finite = np.isfinite(x) & np.isfinite(y)
            if finite.any():
                worst = max(worst, float(np.max(np.abs(x[finite] - y[finite]))))
        report[name] = {"rows": a.height, "same": ok, "max_abs_difference": worst}
    return report


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--simulations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    log(f"generating {args.rows:,} responses ...")
    responses = generate(args.rows)
    options = MeasureOptions(simulations=args.simulations, seed=args.seed)

    log("checking them as text, as a CSV would arrive ...")
    as_text = responses.frame.with_columns(pl.exclude("count").cast(pl.String))
    start = time.perf_counter()
    validate_responses(as_text)
    validate_seconds = time.perf_counter() - start
    del as_text

    log(f"  {validate_seconds:.2f} s")
    log("computing with voices.measure ...")
    start = time.perf_counter()
    ours = compute_measures(responses, options)
    seconds = time.perf_counter() - start
    log(f"  {seconds:.2f} s")

    log("computing with the pandas baseline ...")
    frame = responses.frame.to_pandas()
    start = time.perf_counter()
    theirs = pandas_measures(frame, args.simulations, args.seed)
    pandas_seconds = time.perf_counter() - start
    log(f"  {pandas_seconds:.2f} s")

    report = same_results(ours.tables, theirs)
    result = {
        "rows": args.rows,
        "seconds": round(seconds, 3),
        "pandas_seconds": round(pandas_seconds, 3),
        "speedup": round(pandas_seconds / seconds, 2),
        "same_results": all(r["same"] for r in report.values()),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3),
        "validate_seconds": round(validate_seconds, 3),
        "services": SERVICES, "organisations": ORGANISATIONS, "icbs": ICBS,
        "periods": PERIODS, "equity_dimensions": list(EQUITY),
        "simulations": args.simulations,
        "tables": {k: v.height for k, v in ours.tables.items()},
        "comparison": report,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version(), "polars": pl.__version__,
                    "numpy": np.__version__, "pandas": pd.__version__,
                    "polars_max_threads": os.environ.get("POLARS_MAX_THREADS")},
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
