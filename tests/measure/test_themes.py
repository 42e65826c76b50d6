"""Theme prevalence, sentiment and I-statement domain scores from classified comments."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from voices.errors import ValidationError
from voices.measure.themes import (
    I_STATEMENT_DOMAINS,
    domain_scores,
    prepare_comments,
    sentiment_summary,
    theme_prevalence,
)

COMMENTS = pl.DataFrame({
    "comment_id": ["c1", "c2", "c3", "c4", "c5"],
    "service": ["Ward 1"] * 4 + ["Ward 2"],
    "period": ["2026-04"] * 5,
    "themes": ["Staff manner & personal attributes|Timeliness of care",
               "Timeliness of care; Discharge; Parking", "Staff manner & personal attributes",
               "", "Parking"],
    "sentiment": ["positive", "4", "Very positive", "3", None],
})


def test_prevalence_counts_comments_touching_each_theme():
    c = prepare_comments(COMMENTS)
    prev = theme_prevalence(c).filter(pl.col("service") == "Ward 1")
    timeliness = prev.filter(pl.col("theme") == "Timeliness of care").row(0, named=True)
    assert (timeliness["comments"], timeliness["mentions"]) == (4, 2)
    assert timeliness["pct_mentions"] == pytest.approx(50.0)
    assert (timeliness["positive"], timeliness["negative"]) == (1, 1)


def test_sentiment_shares_with_qdc_numbers_and_words():
    c = prepare_comments(COMMENTS)
    s = sentiment_summary(c).filter(pl.col("service") == "Ward 1").row(0, named=True)
    assert (s["comments"], s["positive"], s["neutral"], s["negative"]) == (4, 2, 1, 1)
    assert s["pct_positive"] == pytest.approx(50.0)


def test_domain_counts_a_comment_once_and_scores_net_positive():
    c = prepare_comments(COMMENTS)
    d = domain_scores(c).filter(pl.col("service") == "Ward 1")
    communication = d.filter(pl.col("domain") == "Communication").row(0, named=True)
    assert communication["comments"] == 2 and communication["net_score"] == pytest.approx(100.0)
    transitions = d.filter(pl.col("domain") == "Transitions").row(0, named=True)
    assert transitions["comments"] == 1 and transitions["net_score"] == pytest.approx(-100.0)


def test_comments_labelled_with_a_domain_id_count_for_it():
    c = prepare_comments(pl.DataFrame({"comment_id": ["a", "b"], "service": ["S", "S"],
                                       "period": ["2026-04"] * 2,
                                       "themes": ["information", "information|Discharge"],
                                       "sentiment": ["positive", "negative"]}))
    d = domain_scores(c)
    info = d.filter(pl.col("domain") == "Information").row(0, named=True)
    assert (info["comments"], info["positive"], info["negative"]) == (2, 1, 1)


def test_unknown_sentiment_is_refused_with_its_row():
    bad = COMMENTS.with_columns(pl.Series("sentiment", ["good", "bad", "1", "2", "3"]))
    with pytest.raises(ValidationError) as info:
        prepare_comments(bad, source="comments.csv")
    assert (info.value.row, info.value.column) == (2, "sentiment")


def test_on_published_qdc_comments_prevalence_equals_the_labelled_share(shared_data):
    """The QDC labels are one 0/1 column per theme: the prevalence of a theme must equal
    that column's mean within each trust, and sentiment must follow the 1-5 scale."""
    raw = pl.read_csv(shared_data / "qdc" / "fft_comments_v6.csv", infer_schema_length=0)
    labels = raw.columns[11:]
    flags = raw.select(labels).to_numpy() == "1"
    themes = ["|".join(np.array(labels)[row]) for row in flags]
    frame = raw.select(pl.col("Comment ID").alias("comment_id"),
                       pl.col("Trust").alias("service"), pl.lit("2021").alias("period"),
                       pl.Series("themes", themes), pl.col("Comment sentiment").alias("sentiment"))
    comments = prepare_comments(frame)
    prev = theme_prevalence(comments)
    for trust in ("NEAS", "NHFT"):
        mask = (raw["Trust"] == trust).to_numpy()
        for theme in ("Timeliness of care", "Staff manner & personal attributes", "Parking"):
            share = 100 * flags[mask, labels.index(theme)].mean()
            got = prev.filter((pl.col("service") == trust) & (pl.col("theme") == theme))
            # a theme nobody mentioned has no row
            assert (got["pct_mentions"].item() if got.height else 0.0) == pytest.approx(share)
            assert got.height == (share > 0)
        sentiment = sentiment_summary(comments).filter(pl.col("service") == trust)
        stated = raw.filter(pl.col("Trust") == trust)["Comment sentiment"]
        assert sentiment["positive"].item() == stated.is_in(["1", "2"]).sum()
        assert sentiment["negative"].item() == stated.is_in(["4", "5"]).sum()
    # every theme in the default crosswalk is a real QDC label (v6 data or v7 framework)
    # or a domain's own short id: no typos that would silently score nothing
    v7 = pl.read_csv(shared_data / "qdc" / "qdc_framework_v7_20230925_subcategories.csv")
    known = set(labels) | set(v7["Sub-category"].to_list())
    for themes in I_STATEMENT_DOMAINS.values():
        assert set(themes[1:]) <= known, set(themes[1:]) - known
