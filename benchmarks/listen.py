"""Benchmark for `listen`: theme and sentiment quality against the pxtextmining SVC recipe,
training time, end-to-end classification speed, and redaction precision and recall.

Prints one JSON object on stdout (progress on stderr):

* ``voices`` and ``pxtextmining_recipe``: macro_f1, micro_f1, hamming_loss,
  sentiment_accuracy_3class, labels, per_label_f1 on the same respondent split (80/20,
  seed 42, duplicate texts dropped from the test side) of the QDC file;
* ``train_seconds``: training the default model on the whole shared file;
* ``comments_per_second``: text -> prepared -> redacted -> labels, sentiment, explanations
  and I-statement links, end to end (the "store" step of phase 2 is a no-op sink here);
* ``redaction``: precision and recall per kind on 600 held-out synthetic comments, plus
  what the redactor changes in the real QDC comments.

The pxtextmining recipe is re-implemented here with scikit-learn (pxtextmining pins an old
Python): its text cleaning (digits removed; , . - become spaces; other punctuation removed;
lower case), TfidfVectorizer(max_df=0.9, min_df=0 -> 1, ngram_range=(1, 2)) with the question
type one-hot encoded, one SVC per label (C=15, class_weight="balanced", probability=True,
max_iter=1000, cache_size=1000), label when probability > 0.5, else the most probable
label; the same features and SVC for 5-class sentiment. It sees the same redacted text.

Timings are wall-clock on a shared 2-core machine and are noisy.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import string  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from voices.listen.classifier import FeedbackClassifier, question_type, three_class, THREE_CLASSES  # noqa: E402
from voices.listen.comments_file import read_comments  # noqa: E402
from voices.listen.evaluation import (  # noqa: E402
    multilabel_metrics, redaction_scores, respondent_split, sentiment_accuracy_3class)
from voices.listen.frameworks import builtin_framework  # noqa: E402
from voices.listen.pipeline import classify_batches  # noqa: E402
from voices.listen.redaction import Redactor  # noqa: E402
from voices.listen.synthetic import pii_comments  # noqa: E402
from voices.listen.training import prepared_texts, train  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = SHARED / "qdc" / "fft_comments_v6.csv"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pxtextmining_clean(text: str) -> str:
    """pxtextmining's remove_punc_and_nums, re-written."""
    text = re.sub(r"[\n\r]", " ", text)
    text = "".join(ch for ch in text if not ch.isdigit())
    for mark in string.punctuation:
        text = text.replace(mark, " " if mark in ",.-" else "")
    return " ".join(word.lower() for word in text.split(" ") if word)


def pxtextmining_recipe(train_texts, train_q, y_train, s_train, test_texts, test_q):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.svm import SVC

    vectoriser = TfidfVectorizer(max_df=0.9, min_df=1, ngram_range=(1, 2))
    onehot = OneHotEncoder(handle_unknown="ignore")
    q_train = np.array([[question_type(q)] for q in train_q])
    q_test = np.array([[question_type(q)] for q in test_q])
    X_train = sp.hstack([onehot.fit_transform(q_train),
                         vectoriser.fit_transform([pxtextmining_clean(t) for t in train_texts])]).tocsr()
    X_test = sp.hstack([onehot.transform(q_test),
                        vectoriser.transform([pxtextmining_clean(t) for t in test_texts])]).tocsr()
    proba = np.zeros((X_test.shape[0], y_train.shape[1]))
    svc = dict(C=15, probability=True, class_weight="balanced", max_iter=1000, cache_size=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(y_train.shape[1]):
            if len(np.unique(y_train[:, j])) < 2 or y_train[:, j].sum() < 2:
                continue
            proba[:, j] = SVC(**svc).fit(X_train, y_train[:, j]).predict_proba(X_test)[:, 1]
        chosen = proba > 0.5
        none = ~chosen.any(axis=1)
        chosen[np.flatnonzero(none), np.argmax(proba[none], axis=1)] = True
        keep = np.array([s is not None for s in s_train])
        model = SVC(**svc).fit(X_train[keep], np.array([s for s in s_train if s is not None]))
        three = three_class(model.predict_proba(X_test), model.classes_)
    return chosen, [THREE_CLASSES[k] for k in three]


def quality(comments, framework):
    labels = framework.labels
    y = comments.label_matrix(labels)
    texts = prepared_texts(comments.comment)
    split = respondent_split(comments.respondent, comments.comment, seed=42)
    tr, te = split.train, split.test
    pick = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    log(f"split: {len(tr)} training comments, {len(te)} test comments")
    started = time.perf_counter()
    model = FeedbackClassifier(labels).fit(
        pick(texts, tr), y[tr], sentiment=pick(comments.sentiment, tr),
        question=pick(comments.question, tr), rating=pick(comments.rating, tr))
    voices_fit = time.perf_counter() - started
    predictions = model.predict(pick(texts, te), question=pick(comments.question, te),
                                rating=pick(comments.rating, te))
    guess = np.array([[lab in p.labels for lab in labels] for p in predictions])
    ours = multilabel_metrics(y[te], guess, labels)
    ours["sentiment_accuracy_3class"] = sentiment_accuracy_3class(
        pick(comments.sentiment, te), [p.sentiment_3 for p in predictions])
    ours["fit_seconds"] = round(voices_fit, 2)
    log(f"voices: macro-F1 {ours['macro_f1']}, sentiment {ours['sentiment_accuracy_3class']}")
    log("pxtextmining recipe: fitting one SVC per label (a few minutes)...")
    started = time.perf_counter()
    chosen, three = pxtextmining_recipe(pick(texts, tr), pick(comments.question, tr), y[tr],
                                        pick(comments.sentiment, tr), pick(texts, te),
                                        pick(comments.question, te))
    recipe_seconds = time.perf_counter() - started
    theirs = multilabel_metrics(y[te], chosen, labels)
    theirs["sentiment_accuracy_3class"] = sentiment_accuracy_3class(pick(comments.sentiment, te), three)
    theirs["fit_seconds"] = round(recipe_seconds, 2)
    log(f"pxtextmining recipe: macro-F1 {theirs['macro_f1']}")
    sizes = {"train_comments": int(len(tr)), "test_comments": int(len(te)),
             "test_duplicates_dropped": split.dropped_duplicates}
    return ours, theirs, sizes


def speed(comments, framework):
    started = time.perf_counter()
    model, card = train(comments, framework)
    train_seconds = time.perf_counter() - started
    links = builtin_framework("i_statements")
    texts = comments.comment * 4  # about 25,000 comments
    question = comments.question * 4
    rating = comments.rating * 4
    started = time.perf_counter()
    n = 0
    for batch in classify_batches(texts, model, question=question, rating=rating,
                                  i_statements=links, batch_size=2000, sink=lambda o, b: None):
        n += len(batch)
    seconds = time.perf_counter() - started
    return round(train_seconds, 2), round(n / seconds, 1), n


def redaction(comments):
    redactor = Redactor()
    held_out = pii_comments(600, seed=20240917, family="held_out")
    found = [redactor.find(c.text) for c in held_out]
    scores = redaction_scores([c.text for c in held_out], [c.spans for c in held_out], found)
    from voices.listen.redaction import _default_lexicon
    lexicon = _default_lexicon()
    unseen_total = unseen_found = 0
    for c, spans in zip(held_out, found):
        for g in c.spans:
            first = c.text[g.start:g.end].split()[0].casefold()
            if g.kind == "NAME" and first not in lexicon.given | lexicon.surnames | lexicon.ambiguous:
                unseen_total += 1
                covered = set()
                for p in spans:
                    if p.kind == "NAME":
                        covered.update(range(p.start, p.end))
                unseen_found += all(i in covered for i in range(g.start, g.end) if not c.text[i].isspace())
    texts = [t for t in comments.comment if t and t.strip()]
    # The QDC file's "Person identifiable info?" column: comments the labellers flagged.
    import polars as pl
    raw = pl.read_csv(DATA, infer_schema=False)
    flag = raw["Person identifiable info?"].fill_null("").str.strip_chars()
    flagged = [t or "" for t, f in zip(raw["FFT answer"].to_list(), flag.to_list()) if f not in ("", "0")]
    unflagged = [t for t, f in zip(raw["FFT answer"].to_list(), flag.to_list()) if f in ("", "0") and t]
    changed_unflagged = sum(redactor.redact(t).changed for t in unflagged)
    kinds = {}
    for t in texts:
        for s in redactor.find(t):
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
    return {
        "synthetic_held_out": {"comments": len(held_out), "seed": 20240917, "per_kind": scores,
                               "names_not_in_word_list": {"true": unseen_total, "found": unseen_found}},
        "qdc_flagged_person_identifiable": {
            "flagged": len(flagged), "changed": sum(redactor.redact(t).changed for t in flagged),
            "note": "the column is empty in the shared file: no comment is flagged"},
        "qdc_not_flagged": {"comments": len(unflagged), "changed": changed_unflagged,
                            "share_changed": round(changed_unflagged / max(len(unflagged), 1), 4),
                            "spans_by_kind": kinds},
    }


def main() -> None:
    framework = builtin_framework("qdc")
    comments = read_comments(DATA, labels=framework.labels, require_labels=True)
    log(f"read {len(comments)} comments")
    red = redaction(comments)
    log("redaction measured")
    train_seconds, per_second, n = speed(comments, framework)
    log(f"train {train_seconds} s, classify {per_second}/s")
    ours, theirs, sizes = quality(comments, framework)
    result = {
        "benchmark": "listen",
        "data": {"file": "shared/data/qdc/fft_comments_v6.csv", "comments": len(comments), **sizes},
        "voices": ours,
        "pxtextmining_recipe": theirs,
        "macro_f1_gain": round(ours["macro_f1"] - theirs["macro_f1"], 4),
        "train_seconds": train_seconds,
        "comments_per_second": per_second,
        "classified_comments": n,
        "redaction": red,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "note": "wall-clock timings on a shared 2-core machine; others were working at the same time",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
