"""How far coders agree with the model, comment by comment and month by month.

For one comment, label agreement is the Jaccard index of the model's labels and the coder's:
the labels both chose divided by the labels either chose (1 when they match, 0 when they
share none). Over a month, the report gives how many comments were reviewed, the share
accepted exactly as the model had them, the mean label agreement, and — where both gave a
sentiment — the share where the coder kept the model's sentiment on the three-class scale.

References
----------
Jaccard P. The distribution of the flora in the alpine zone. *New Phytologist*
    1912;11(2):37-50 (the index).
Sorower MS. *A literature survey on algorithms for multi-label learning*. Oregon State
    University, 2010 (Jaccard as a per-example multi-label agreement measure).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

THREE = {1: "positive", 2: "positive", 3: "neutral_mixed", 4: "negative", 5: "negative"}


def label_agreement(model: Iterable[str], coder: Iterable[str]) -> float:
    """Jaccard index of two label sets (two empty sets agree fully)."""
    a, b = set(model), set(coder)
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Review:
    """One coder decision, as the agreement report needs it."""

    period: str                 # YYYY-MM of the decision
    accepted: bool              # kept the model's labels and sentiment exactly
    agreement: float            # label_agreement(model, coder)
    model_sentiment: int | None
    coder_sentiment: int | None


@dataclass(frozen=True)
class PeriodAgreement:
    period: str
    reviewed: int
    accepted_share: float
    mean_agreement: float
    sentiment_share: float | None   # None when no review had both sentiments


def agreement_by_period(reviews: Sequence[Review]) -> list[PeriodAgreement]:
    """Summarise coder decisions by month, oldest first."""
    groups: dict[str, list[Review]] = {}
    for review in reviews:
        groups.setdefault(review.period, []).append(review)
    out = []
    for period in sorted(groups):
        items = groups[period]
        paired = [r for r in items if r.model_sentiment and r.coder_sentiment]
        same = sum(THREE[r.model_sentiment] == THREE[r.coder_sentiment] for r in paired)
        out.append(PeriodAgreement(
            period, len(items), sum(r.accepted for r in items) / len(items),
            sum(r.agreement for r in items) / len(items),
            same / len(paired) if paired else None))
    return out
