"""Honest evaluation: split by respondent, multi-label metrics, redaction scores.

References
----------
Tsoumakas G, Katakis I, Vlahavas I. Mining multi-label data. In: Data Mining and Knowledge
    Discovery Handbook, 2010 (macro/micro F1, Hamming loss).
scikit-learn ``f1_score`` and ``hamming_loss`` (the figures match them on the same input;
    see tests).
Stubbs A, Uzuner Ö. Annotating longitudinal clinical narratives for de-identification: the
    2014 i2b2/UTHealth corpus. J Biomed Inform 2015;58:S20-S29 (span-level precision and
    recall for de-identification).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from voices.listen.redaction import KINDS, Span

EXCLUDED_FROM_MACRO = ("Labelling not possible",)


def normalise_for_duplicates(text: str | None) -> str:
    """Lower-case, collapse spaces, strip outer punctuation: "Nothing. " == "nothing"."""
    return " ".join((text or "").casefold().split()).strip(string.punctuation + " ")


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    test: np.ndarray
    dropped_duplicates: int


def respondent_split(respondents: Sequence[str | None], texts: Sequence[str | None], *,
                     test_size: float = 0.2, seed: int = 42) -> Split:
    """Split comments so that a respondent's comments are all on one side.

    Respondents are shuffled with ``numpy.random.default_rng(seed)`` and the first
    ``test_size`` share of them (by count of respondents) go to the test side. Test comments
    whose normalised text also appears on the training side are then dropped, so duplicate
    texts ("Nothing.") are never on both sides.

    Parameters
    ----------
    respondents:
        Respondent id per comment (None: the comment is its own respondent).
    texts:
        Comment text per comment.
    test_size:
        Share of respondents on the test side.
    seed:
        Random seed.

    Returns
    -------
    Split
        Row indices of each side, and how many test comments were dropped as duplicates.
    """
    keys = [r if r is not None else f"\0row{i}" for i, r in enumerate(respondents)]
    unique = sorted(set(keys))
    order = np.random.default_rng(seed).permutation(len(unique))
    n_test = int(round(test_size * len(unique)))
    test_people = {unique[k] for k in order[:n_test]}
    is_test = np.array([k in test_people for k in keys])
    train = np.flatnonzero(~is_test)
    seen = {normalise_for_duplicates(texts[i]) for i in train}
    test_all = np.flatnonzero(is_test)
    test = np.array([i for i in test_all if normalise_for_duplicates(texts[i]) not in seen], dtype=int)
    return Split(train, test, int(len(test_all) - len(test)))


def multilabel_metrics(truth: np.ndarray, guess: np.ndarray, labels: Sequence[str], *,
                       min_support: int = 10, exclude: Sequence[str] = EXCLUDED_FROM_MACRO) -> dict:
    """Macro-F1, micro-F1, Hamming loss and per-label F1 over the labels that count.

    A label counts when it has at least ``min_support`` true comments and is not in
    ``exclude``. Macro-F1 is the plain mean of the per-label F1; micro-F1 pools true and
    false positives and negatives over the counted labels; Hamming loss is the share of
    wrong label cells over the counted labels.

    Returns
    -------
    dict
        ``macro_f1``, ``micro_f1``, ``hamming_loss``, ``labels`` (how many counted) and
        ``per_label_f1`` (label → F1, with its support).
    """
    truth = np.asarray(truth, dtype=bool)
    guess = np.asarray(guess, dtype=bool)
    support = truth.sum(axis=0)
    keep = [j for j, lab in enumerate(labels) if support[j] >= min_support and lab not in exclude]
    tp = (truth & guess).sum(axis=0).astype(float)
    fp = (~truth & guess).sum(axis=0).astype(float)
    fn = (truth & ~guess).sum(axis=0).astype(float)
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    k = np.array(keep, dtype=int)
    micro_den = 2 * tp[k].sum() + fp[k].sum() + fn[k].sum()
    return {
        "macro_f1": round(float(f1[k].mean()), 4) if len(k) else 0.0,
        "micro_f1": round(float(2 * tp[k].sum() / micro_den), 4) if micro_den else 0.0,
        "hamming_loss": round(float((truth[:, k] != guess[:, k]).mean()), 4) if len(k) else 0.0,
        "labels": len(k),
        "per_label_f1": {labels[j]: round(float(f1[j]), 4) for j in k},
        "per_label_support": {labels[j]: int(support[j]) for j in k},
    }


def sentiment_accuracy_3class(truth: Sequence[int | None], guess_3: Sequence[str | None]) -> float:
    """Share of coded comments whose three-class sentiment is right (uncoded ones skipped)."""
    from voices.listen.classifier import SENTIMENT_3

    pairs = [(SENTIMENT_3[int(t)], g) for t, g in zip(truth, guess_3) if t in SENTIMENT_3]
    return round(sum(a == b for a, b in pairs) / len(pairs), 4) if pairs else 0.0


def redaction_scores(texts: Sequence[str], truth: Sequence[Sequence[Span]],
                     found: Sequence[Sequence[Span]]) -> dict[str, dict]:
    """Precision and recall per kind of personal detail.

    A true detail counts as found when every non-space character of it is covered by found
    spans of the same kind (nothing of it is left readable). A found span counts as right
    when it overlaps a true detail of the same kind.

    Returns
    -------
    dict
        kind → ``{"precision", "recall", "true", "found"}``.
    """
    tally = {k: [0, 0, 0, 0] for k in KINDS}  # true, true found, found, found right
    for text, gold, pred in zip(texts, truth, found):
        for g in gold:
            covered = set()
            for p in pred:
                if p.kind == g.kind:
                    covered.update(range(max(p.start, g.start), min(p.end, g.end)))
            need = {i for i in range(g.start, g.end) if not text[i].isspace()}
            tally[g.kind][0] += 1
            tally[g.kind][1] += need <= covered
        for p in pred:
            tally[p.kind][2] += 1
            tally[p.kind][3] += any(g.kind == p.kind and g.start < p.end and p.start < g.end
                                    for g in gold)
    return {k: {"precision": round(r / f, 4) if f else None, "recall": round(tf / t, 4) if t else None,
                "true": t, "found": f} for k, (t, tf, f, r) in tally.items()}
