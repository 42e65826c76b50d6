"""Theme prevalence, sentiment and I-statement domain scores from classified comments.

Input is a table of comments that the listen area (or anyone) has already classified:
one row per comment with its id, service, period, the themes it touches (a list, or text
with themes separated by ``|`` or ``;``) and its sentiment. Outputs are Polars tables
with counts, percentages and Wilson 95% intervals, so small services show how uncertain
their figures are.

Definitions
-----------
- **Theme prevalence**: the share of a service's comments that touch a theme (a comment
  can touch several, so shares add up to more than 100%), with the share of those
  comments that are positive and negative.
- **Sentiment**: the share of a service's comments that are positive, neutral or
  negative. Numbers 1-5 follow the NHS Patient Experience Qualitative Data
  Categorisation scale (1 very positive ... 5 very negative, 3 mixed or neutral).
- **I-statement domain score**: for each domain (a group of themes), among the comments
  touching the domain, the share that are positive and the share that are negative, and
  their difference (net score, -100 to 100).

References
----------
National Voices with Think Local Act Personal, for NHS England. *A narrative for
person-centred coordinated care* (2013): the six themes of its "I" statements are the
default domains (my goals and outcomes; care planning; information; communication;
decision making, including budgets; transitions).

NHS England / The Strategy Unit, *Patient Experience Qualitative Data Categorisation*
framework (v6, v7; github.com/The-Strategy-Unit/pxtextmining): the theme labels in the
default mapping and the 1-5 sentiment scale.

Wilson 1927 for the intervals (see :mod:`voices.measure.intervals`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from voices.errors import ValidationError
from voices.measure.intervals import wilson_interval

SENTIMENTS = ("positive", "neutral", "negative")

_SENTIMENT_WORDS = {
    "positive": "positive", "very positive": "positive", "pos": "positive",
    "neutral": "neutral", "mixed": "neutral", "neither": "neutral",
    "negative": "negative", "very negative": "negative", "neg": "negative",
    "1": "positive", "2": "positive", "3": "neutral", "4": "negative", "5": "negative",
}

#: Default I-statement domains: the six themes of National Voices' *Narrative for
#: person-centred coordinated care* (2013), each with the QDC v6/v7 theme labels that speak
#: to it. A comment already labelled with a domain itself (by its name or short id, as the
#: listen area's I-statement framework does) counts for that domain too.
I_STATEMENT_DOMAINS: dict[str, tuple[str, ...]] = {
    "My goals and outcomes": (
        "goals", "Impact of treatment/ care", "Activities & access to fresh air",
        "Pain management", "Feeling safe"),
    "Care planning": (
        "care_planning", "Care plans", "Patient records",
        "Psychological therapy arrangements", "Out of hours support (community services)"),
    "Information": (
        "information", "Information provision & guidance",
        "Information directly from staff during care",
        "Being kept informed, clarity & consistency of information", "Diagnosis & triage",
        "Supplying & understanding medication"),
    "Communication": (
        "communication", "Unspecified communication",
        "Staff listening, understanding & involving patients",
        "Staff manner & personal attributes", "Interaction with family/ carers",
        "Contacting services"),
    "Decision making, including budgets": (
        "decision_making", "Choice of services", "Funding & use of financial resources",
        "Mental Health Act"),
    "Transitions": (
        "transitions", "Discharge", "Admission", "Referals & continuity of care",
        "Continuity of care", "Staff continuity", "Transport to/ from services"),
}


def sentiment_label(value) -> str | None:
    """``'positive'``, ``'neutral'``, ``'negative'`` or ``None`` for one sentiment value."""
    if value is None:
        return None
    text = str(value).strip().casefold()
    text = text.removesuffix(".0")
    return _SENTIMENT_WORDS.get(text)


def prepare_comments(frame: pl.DataFrame, *, comment_id: str = "comment_id",
                     service: str = "service", period: str = "period",
                     themes: str = "themes", sentiment: str = "sentiment",
                     source: str | None = None) -> pl.DataFrame:
    """Check a classified-comments table and give it standard column names.

    Returns one row per comment with ``comment_id``, ``service``, ``period``,
    ``themes`` (a list of strings, without duplicates) and ``sentiment`` (``positive``,
    ``neutral``, ``negative`` or null). Raises :class:`ValidationError` naming every bad
    row and column (rows counted from 2, the header being row 1).
    """
    names = {"comment_id": comment_id, "service": service, "period": period,
             "themes": themes, "sentiment": sentiment}
    missing = [col for col in names.values() if col not in frame.columns]
    if missing:
        raise ValidationError(f"missing column{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(repr(m) for m in missing)}", file=source,
                              column=missing[0], expected=", ".join(names.values()))
    out = frame.select([pl.col(v).alias(k) for k, v in names.items()])
    if out.schema["themes"] != pl.List(pl.String):
        out = out.with_columns(
            pl.col("themes").cast(pl.String).str.replace_all(";", "|").str.split("|")
            .list.eval(pl.element().str.strip_chars()).list.eval(
                pl.element().filter(pl.element() != "")))
    raw = out["sentiment"].to_list()
    labels = [sentiment_label(v) for v in raw]
    problems = [i for i, (v, lab) in enumerate(zip(raw, labels))
                if v is not None and str(v).strip() != "" and lab is None]
    if problems:
        i = problems[0]
        raise ValidationError(
            f"unknown sentiment '{raw[i]}'"
            + (f" (and {len(problems) - 1} more rows)" if len(problems) > 1 else ""),
            file=source, row=i + 2, column=sentiment,
            expected="positive, neutral, negative, mixed, or 1-5")
    if out["comment_id"].null_count():
        i = out["comment_id"].is_null().arg_true()[0]
        raise ValidationError("comment id is empty", file=source, row=int(i) + 2,
                              column=comment_id, expected="an id for every comment")
    return out.with_columns(pl.Series("sentiment", labels, dtype=pl.String),
                            pl.col("themes").list.unique(maintain_order=True)
                            .fill_null(pl.lit([], dtype=pl.List(pl.String))))


def _with_shares(frame: pl.DataFrame, denominator: str, numerators: Sequence[str],
                 confidence: float = 0.95) -> pl.DataFrame:
    """Add ``pct_<n>`` and its Wilson limits for each numerator column."""
    n = frame[denominator].to_numpy()
    cols = []
    for name in numerators:
        x = frame[name].to_numpy()
        lo, hi = wilson_interval(x, n, confidence)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(n > 0, 100.0 * x / n, np.nan)
        cols += [pl.Series(f"pct_{name}", share),
                 pl.Series(f"pct_{name}_lower_95", 100.0 * lo),
                 pl.Series(f"pct_{name}_upper_95", 100.0 * hi)]
    return frame.with_columns(cols)


def _sentiment_counts(prefix: str = "") -> list[pl.Expr]:
    return [(pl.col("sentiment") == s).sum().cast(pl.Int64).alias(f"{prefix}{s}")
            for s in SENTIMENTS]


def sentiment_summary(comments: pl.DataFrame,
                      by: Sequence[str] = ("service", "period")) -> pl.DataFrame:
    """Share of comments that are positive, neutral and negative in each group."""
    by = list(by)
    out = (comments.group_by(by).agg(pl.len().cast(pl.Int64).alias("comments"),
                                     *_sentiment_counts())
           .sort(by))
    return _with_shares(out, "comments", SENTIMENTS)


def theme_prevalence(comments: pl.DataFrame,
                     by: Sequence[str] = ("service", "period")) -> pl.DataFrame:
    """How often each theme comes up in each group, and how positively.

    Returns ``by``, ``theme``, ``comments`` (all comments in the group), ``mentions``
    (comments touching the theme), ``pct_mentions`` with Wilson limits, and among the
    mentions the counts and shares ``positive`` / ``neutral`` / ``negative``.
    """
    by = list(by)
    totals = comments.group_by(by).agg(pl.len().cast(pl.Int64).alias("comments"))
    long = comments.explode("themes").drop_nulls("themes").rename({"themes": "theme"})
    counts = long.group_by([*by, "theme"]).agg(pl.len().cast(pl.Int64).alias("mentions"),
                                               *_sentiment_counts())
    out = counts.join(totals, on=by, how="left").sort([*by, "theme"])
    out = _with_shares(out, "comments", ["mentions"])
    return _with_shares(out, "mentions", SENTIMENTS)


def domain_scores(comments: pl.DataFrame,
                  domains: Mapping[str, Sequence[str]] | None = None,
                  by: Sequence[str] = ("service", "period")) -> pl.DataFrame:
    """I-statement domain scores: among comments touching a domain, % positive and negative.

    Parameters
    ----------
    comments : polars.DataFrame
        As returned by :func:`prepare_comments`.
    domains : mapping of domain name to its themes
        Defaults to :data:`I_STATEMENT_DOMAINS`. A comment touching several themes of one
        domain counts once for that domain.
    by : sequence of str
        Grouping columns.

    Returns
    -------
    polars.DataFrame
        ``by``, ``domain``, ``comments`` (touching the domain), counts and percentages of
        ``positive``, ``neutral``, ``negative`` with Wilson limits, and ``net_score``
        (% positive minus % negative).
    """
    by = list(by)
    domains = I_STATEMENT_DOMAINS if domains is None else domains
    lookup = pl.DataFrame(
        [(theme, domain) for domain, themes in domains.items() for theme in themes],
        schema={"theme": pl.String, "domain": pl.String}, orient="row")
    touched = (comments.explode("themes").rename({"themes": "theme"})
               .join(lookup, on="theme", how="inner")
               .unique([*by, "comment_id", "domain"]))
    out = (touched.group_by([*by, "domain"])
           .agg(pl.len().cast(pl.Int64).alias("comments"), *_sentiment_counts())
           .sort([*by, "domain"]))
    out = _with_shares(out, "comments", SENTIMENTS)
    return out.with_columns((pl.col("pct_positive") - pl.col("pct_negative")).alias("net_score"))
