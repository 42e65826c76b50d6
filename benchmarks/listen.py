"""Benchmark for `listen`: theme and sentiment quality against the pxtextmining SVC recipe,
training time, end-to-end classification speed, and redaction precision and recall.

Prints one JSON object on stdout (progress on stderr):

* ``voices`` and ``pxtextmining_recipe``: macro_f1, micro_f1, hamming_loss,
  sentiment_accuracy_3class, labels, per_label_f1 on the same respondent split (80/20,
  seed 42, duplicate texts dropped from the test side) of the QDC file;
* ``train_seconds``: training the default model on the whole shared file (and
  ``train_cpu_seconds``, this process's CPU time: every step runs on one thread here, so
  on a machine nobody else is using the two are about the same);
* ``comments_per_second``: text -> prepared -> redacted -> labels, sentiment, explanations
  and I-statement links, end to end (the "store" step of phase 2 is a no-op sink here);
* ``stored``: the same, from comments stored in a database to stored labels and themes
  (``classify_stored``, committing each batch of 1,000), on a fresh SQLite file;
* ``correction_loop``: macro-F1 on test respondents no coder saw, for the first model and for
  the next model trained with and without coders' corrections of the other test respondents
  (the labellers' codes stand in for the coders);
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


def scores(model, texts, comments, idx, labels, y):
    """The model's metrics on rows ``idx`` (``texts``: redacted text, indexable by row)."""
    predictions = model.predict([texts[i] for i in idx],
                                question=[comments.question[i] for i in idx],
                                rating=[comments.rating[i] for i in idx])
    guess = np.array([[lab in p.labels for lab in labels] for p in predictions])
    out = multilabel_metrics(y[idx], guess, labels)
    out["sentiment_accuracy_3class"] = sentiment_accuracy_3class(
        [comments.sentiment[i] for i in idx], [p.sentiment_3 for p in predictions])
    return out


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
    ours = scores(model, texts, comments, te, labels, y)
    ours["fit_seconds"] = round(voices_fit, 2)
    log(f"voices: macro-F1 {ours['macro_f1']}, sentiment {ours['sentiment_accuracy_3class']}")
    loop = correction_loop(comments, framework, model, split)  # before the slow recipe
    log(f"correction loop: {json.dumps({k: v for k, v in loop.items() if k != 'folds'})}")
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
    return ours, theirs, sizes, loop


def _rows(comments, idx, file, labels, y=None):
    """Some rows of a Comments table (optionally with other labels), as a new table."""
    from voices.listen.comments_file import Comments

    pick = lambda seq: [seq[i] for i in idx]  # noqa: E731
    matrix = comments.label_matrix(labels)[idx] if y is None else y
    return Comments(file, pick(comments.comment), pick(comments.id), pick(comments.respondent),
                    pick(comments.question), pick(comments.rating), pick(comments.sentiment),
                    {lab: matrix[:, j].astype(np.int8) for j, lab in enumerate(labels)})


def correction_loop(comments, framework, model, split):
    """Does the coder's loop close? The test side's respondents are cut in two halves. Coders
    review one half (the model's labels, corrected to the labellers' codes, as the review
    page stores them); the next model is trained on the training side plus the reviewed
    comments with the model's labels and the corrections (what ``voices listen
    export-training`` writes and ``voices listen train --data FILE --data comments.csv
    --corrections corrections.csv`` reads). Three models are scored on the other half, which
    no coder saw: the first model, the next one with corrections, and the next one without
    them (the same extra comments with the model's own labels), to show what the coders'
    corrections add beyond more text. Then the halves swap; figures are the mean of both."""
    import polars as pl

    from voices.listen.comments_file import combine_comments

    labels = framework.labels
    te = np.asarray(split.test)
    halves = respondent_split([comments.respondent[i] for i in te],
                              [comments.comment[i] for i in te], test_size=0.5, seed=7)
    redacted = dict(zip(te.tolist(), prepared_texts([comments.comment[i] for i in te])))
    pick = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    y = comments.label_matrix(labels)
    keys = ("macro_f1", "micro_f1", "hamming_loss", "sentiment_accuracy_3class")

    def score(fitted, unseen):
        out = scores(fitted, redacted, comments, unseen, labels, y)
        return {k: out[k] for k in (*keys, "labels")}

    folds = []
    for reviewed, unseen in ((te[halves.train], te[halves.test]),
                             (te[halves.test], te[halves.train])):
        said = model.predict(pick(redacted, reviewed), question=pick(comments.question, reviewed),
                             rating=pick(comments.rating, reviewed))
        model_y = np.array([[lab in p.labels for lab in labels] for p in said], dtype=np.int8)
        fixes = []
        for k, i in enumerate(reviewed):
            for j, lab in enumerate(labels):
                if model_y[k, j] != y[i, j]:
                    fixes.append((comments.id[i], lab, int(y[i, j])))
            if comments.sentiment[i] is not None and comments.sentiment[i] != said[k].sentiment:
                fixes.append((comments.id[i], "sentiment", comments.sentiment[i]))
        corrections = pl.DataFrame(fixes, schema=["comment_id", "label", "value"], orient="row")
        as_model_said = _rows(comments, reviewed, "reviewed", labels, model_y)
        as_model_said.sentiment = [p.sentiment for p in said]
        combined = combine_comments([_rows(comments, np.asarray(split.train), "training", labels),
                                     as_model_said])
        log(f"correction loop: {len(reviewed)} reviewed, {corrections.height} corrections")
        with_coders, card = train(combined, framework, corrections=corrections)
        without, _ = train(combined, framework)
        folds.append({"reviewed_comments": int(len(reviewed)), "scored_comments": int(len(unseen)),
                      "corrections": corrections.height,
                      "corrections_used": card["coder_corrections_used"],
                      "first_model": score(model, unseen),
                      "next_model_with_corrections": score(with_coders, unseen),
                      "next_model_without_corrections": score(without, unseen)})
    mean = {name: {k: round(float(np.mean([f[name][k] for f in folds])), 4) for k in keys}
            for name in ("first_model", "next_model_with_corrections",
                         "next_model_without_corrections")}
    return {"corrections": sum(f["corrections"] for f in folds),
            "corrections_used": sum(f["corrections_used"] for f in folds),
            **mean,
            "macro_f1_gain_over_first_model": round(
                mean["next_model_with_corrections"]["macro_f1"] - mean["first_model"]["macro_f1"], 4),
            "macro_f1_gain_from_corrections": round(
                mean["next_model_with_corrections"]["macro_f1"]
                - mean["next_model_without_corrections"]["macro_f1"], 4),
            "folds": folds}


def stored(comments, model, card, copies=2):
    """Text to stored labels: the QDC comments stored as feedback in a fresh SQLite database,
    then ``classify_stored`` (read, redact, label, sentiment, explanations, I-statement links,
    write labels and themes, commit each batch), as ``voices listen classify`` does."""
    import tempfile

    from sqlalchemy import insert, select

    from voices.core.models import Service
    from voices.db import Database
    from voices.demo import load
    from voices.listen.analysis import classify_stored
    from voices.listen.models import FeedbackComment, FeedbackResponse
    from voices.migrate import upgrade

    question = {"what_good": "what_good", "could_improve": "could_improve"}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        database = Database(url)
        with database.sessionmaker() as session:
            load(session, areas=())
        folder = model.save(Path(tmp) / "model", card)
        n = copies * len(comments)
        with database.session() as session:
            service_id = session.scalar(select(Service.id).limit(1))
            session.execute(insert(FeedbackResponse), [
                {"id": k + 1, "service_id": service_id, "period": "2026-01", "source": "import"}
                for k in range(n)])
            session.execute(insert(FeedbackComment), [
                {"response_id": k + 1, "text": comments.comment[k % len(comments)],
                 "question": question.get(question_type(comments.question[k % len(comments)]),
                                          "other")}
                for k in range(n)])
        with Clock() as clock:
            result = classify_stored(database, model_path=folder, batch_size=1000)
        database.dispose()
    return {"database": "SQLite (a file)", "comments": result["classified"],
            "seconds": round(clock.wall, 2), "cpu_seconds": round(clock.cpu, 2),
            "comments_per_second": round(result["classified"] / clock.wall, 1),
            "comments_per_cpu_second": round(result["classified"] / clock.cpu, 1)}


class Clock:
    """Wall-clock seconds and this process's CPU seconds (the CPU figure is what the work
    costs on a machine nobody else is using; on a busy shared machine wall-clock is longer)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def speed(comments, framework):
    with Clock() as training:
        model, card = train(comments, framework)
    links = builtin_framework("i_statements")
    texts = comments.comment * 4  # about 25,000 comments
    question = comments.question * 4
    rating = comments.rating * 4
    n = 0
    with Clock() as classifying:
        for batch in classify_batches(texts, model, question=question, rating=rating,
                                      i_statements=links, batch_size=2000,
                                      sink=lambda o, b: None):
            n += len(batch)
    figures = {"train_seconds": round(training.wall, 2),
               "train_cpu_seconds": round(training.cpu, 2),
               "comments_per_second": round(n / classifying.wall, 1),
               "comments_per_cpu_second": round(n / classifying.cpu, 1),
               "classified_comments": n}
    return figures, (model, card)


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
    timings, (full_model, card) = speed(comments, framework)
    log(f"speed: {json.dumps(timings)}")
    stored_speed = stored(comments, full_model, card)
    log(f"stored: {json.dumps(stored_speed)}")
    ours, theirs, sizes, loop = quality(comments, framework)
    result = {
        "benchmark": "listen",
        "data": {"file": "shared/data/qdc/fft_comments_v6.csv", "comments": len(comments), **sizes},
        "voices": ours,
        "pxtextmining_recipe": theirs,
        "macro_f1_gain": round(ours["macro_f1"] - theirs["macro_f1"], 4),
        **timings,
        "stored": stored_speed,
        "correction_loop": loop,
        "redaction": red,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "note": ("wall-clock timings on a shared 2-core machine; others were working at the "
                 "same time. The *_cpu_* figures are this process's CPU time for the same work "
                 "(one thread): close to the wall-clock time with the machine to itself, less any "
                 "waiting for the disk."),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
