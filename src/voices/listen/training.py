"""Train and evaluate the default model on a checked comments table.

:func:`train` fits a :class:`~voices.listen.classifier.FeedbackClassifier` and writes its
model card; :func:`evaluate` trains on the training side of a respondent split and scores the
test side. Both redact every comment first, so the model never learns from personal details.
"""

from __future__ import annotations

import hashlib
import platform
import time
from dataclasses import asdict
from typing import Sequence

import numpy as np
import polars as pl

from voices.errors import ValidationError
from voices.listen.classifier import FeedbackClassifier, Settings
from voices.listen.comments_file import Comments
from voices.listen.evaluation import multilabel_metrics, respondent_split, sentiment_accuracy_3class
from voices.listen.frameworks import CodingFramework
from voices.listen.pipeline import prepare_comment
from voices.listen.redaction import Redactor


def prepared_texts(comments: Sequence[object], redactor: Redactor | None = None) -> list[str]:
    """Clean and redact comments (what the model sees)."""
    redactor = redactor or Redactor()
    return [redactor.redact(prepare_comment(t).text).text for t in comments]


def apply_corrections(comments: Comments, y: np.ndarray, labels: Sequence[str],
                      corrections: pl.DataFrame | None) -> tuple[np.ndarray, list[int | None], int]:
    """Let coders' corrections override or extend the file's labels.

    Parameters
    ----------
    corrections:
        Columns ``comment_id`` and ``label`` with ``value`` (0 or 1) for a theme correction;
        rows whose ``label`` is ``"sentiment"`` set the sentiment (1-5) instead. Later rows
        win. None or empty: no change.

    Returns
    -------
    tuple
        Corrected label matrix, corrected sentiment list, and how many corrections were used.
    """
    y = y.copy()
    sentiment = list(comments.sentiment)
    if corrections is None or corrections.height == 0:
        return y, sentiment, 0
    needed = {"comment_id", "label", "value"}
    if not needed <= set(corrections.columns):
        raise ValidationError("corrections are missing columns", column=", ".join(sorted(needed - set(corrections.columns))),
                              expected="comment_id, label, value")
    row_of = {cid: i for i, cid in enumerate(comments.id)}
    col_of = {lab: j for j, lab in enumerate(labels)}
    used = 0
    for k, rec in enumerate(corrections.iter_rows(named=True), start=1):
        i = row_of.get(str(rec["comment_id"]))
        if i is None:
            continue
        value = int(rec["value"])
        if rec["label"] == "sentiment":
            if value not in (1, 2, 3, 4, 5):
                raise ValidationError(f"sentiment {value}", row=k, column="value", expected="1 to 5")
            sentiment[i] = value
        elif rec["label"] in col_of:
            if value not in (0, 1):
                raise ValidationError(f"value {value}", row=k, column="value", expected="0 or 1")
            y[i, col_of[rec["label"]]] = value
        else:
            raise ValidationError(f"unknown label '{rec['label']}'", row=k, column="label",
                                  expected="a label of the framework or 'sentiment'")
        used += 1
    return y, sentiment, used


def train(comments: Comments, framework: CodingFramework, *, corrections: pl.DataFrame | None = None,
          settings: Settings | None = None, data_hash: str | None = None,
          redactor: Redactor | None = None) -> tuple[FeedbackClassifier, dict]:
    """Fit the default model on every comment in ``comments`` and build its model card."""
    labels = framework.labels
    y, sentiment, used = apply_corrections(comments, comments.label_matrix(labels), labels, corrections)
    started = time.perf_counter()
    texts = prepared_texts(comments.comment, redactor)
    model = FeedbackClassifier(labels, settings).fit(
        texts, y, sentiment=sentiment, question=comments.question, rating=comments.rating,
        groups=comments.respondent)
    seconds = time.perf_counter() - started
    card = model_card(model, framework, comments, data_hash=data_hash, corrections_used=used,
                      train_seconds=seconds)
    return model, card


def model_card(model: FeedbackClassifier, framework: CodingFramework, comments: Comments, *,
               data_hash: str | None, corrections_used: int, train_seconds: float,
               metrics: dict | None = None) -> dict:
    not_learned = [lab for lab, ok in zip(model.labels, model.trained_) if not ok]
    return {
        "model": "Voices default theme and sentiment model",
        "version": model.version,
        "framework": {"name": framework.name, "version": framework.version},
        "data": {"file": comments.file, "sha256": data_hash, "comments": len(comments),
                 "label_counts": model.label_counts_,
                 "sentiment_coded": sum(s is not None for s in comments.sentiment)},
        "coder_corrections_used": corrections_used,
        "labels_not_learned": {"labels": not_learned,
                               "why": f"fewer than {model.settings.min_label_count} examples"},
        "settings": asdict(model.settings),
        "tuning": ("Settings (regularisation C for themes and sentiment, n-gram ranges, the 0.5 "
                   "threshold with the most-probable-label fallback) were chosen by 5-fold "
                   "cross-validation grouped by respondent on the training side of the QDC split "
                   "(seed 42) only; the test side was not used for tuning."
                   + (" Per-label thresholds were tuned by grouped cross-validation on the "
                      "training data." if model.settings.threshold_folds > 1 else "")),
        "redaction": "Every comment is redacted before training and before classification.",
        "metrics": metrics,
        "train_seconds": round(train_seconds, 2),
        "intended_use": ("Suggest themes and sentiment for patient feedback so people can read "
                         "it by theme; a coder reviews low-confidence suggestions. Not for "
                         "judging individual staff."),
        "python": platform.python_version(),
    }


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_sha256(paths) -> str:
    """The SHA-256 of one file, or for several files the SHA-256 of their hashes in order."""
    hashes = [file_sha256(path) for path in paths]
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("\n".join(hashes).encode("ascii")).hexdigest()


def evaluate(comments: Comments, framework: CodingFramework, *, seed: int = 42, test_size: float = 0.2,
             settings: Settings | None = None, redactor: Redactor | None = None,
             corrections: pl.DataFrame | None = None) -> dict:
    """Train on the training side of a respondent split; score the test side (coders'
    ``corrections``, if given, change the labels on both sides first).

    Returns
    -------
    dict
        ``macro_f1``, ``micro_f1``, ``hamming_loss``, ``sentiment_accuracy_3class``,
        ``labels``, ``per_label_f1`` and the split sizes.
    """
    labels = framework.labels
    y, sentiment, _ = apply_corrections(comments, comments.label_matrix(labels), labels,
                                        corrections)
    texts = prepared_texts(comments.comment, redactor)
    split = respondent_split(comments.respondent, comments.comment, test_size=test_size, seed=seed)
    tr, te = split.train, split.test
    pick = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    model = FeedbackClassifier(labels, settings).fit(
        pick(texts, tr), y[tr], sentiment=pick(sentiment, tr),
        question=pick(comments.question, tr), rating=pick(comments.rating, tr),
        groups=pick(comments.respondent, tr))
    predictions = model.predict(pick(texts, te), question=pick(comments.question, te),
                                rating=pick(comments.rating, te))
    guess = np.array([[lab in p.labels for lab in labels] for p in predictions], dtype=bool)
    result = multilabel_metrics(y[te], guess, labels)
    result["sentiment_accuracy_3class"] = sentiment_accuracy_3class(
        pick(sentiment, te), [p.sentiment_3 for p in predictions])
    result["train_comments"], result["test_comments"] = int(len(tr)), int(len(te))
    result["test_duplicates_dropped"] = split.dropped_duplicates
    result["model_version"] = model.version
    return result


HELD_OUT = ("The model was also trained on 80% of the respondents (seed 42; duplicate texts "
            "dropped from the other side) and scored on the other 20%; the saved model is "
            "trained on every comment. Macro-F1 is over labels with at least 10 test comments.")


def card_metrics(comments: Comments, framework: CodingFramework, *,
                 corrections: pl.DataFrame | None = None, settings: Settings | None = None,
                 seed: int = 42) -> dict:
    """The held-out metrics for a model card (see :data:`HELD_OUT`), or why there are none."""
    try:
        result = evaluate(comments, framework, seed=seed, settings=settings,
                          corrections=corrections)
    except ValidationError as exc:
        return {"measured": False, "why": str(exc)}
    if not result["labels"]:
        return {"measured": False, "why": f"too few comments: no theme has 10 among the "
                                          f"{result['test_comments']} held-out comments"}
    keep = ("macro_f1", "micro_f1", "hamming_loss", "sentiment_accuracy_3class", "labels",
            "per_label_f1", "train_comments", "test_comments")
    return {"measured": True, "how": HELD_OUT, **{k: result[k] for k in keep}}

