"""Classifier, metrics, split, file reader, pipeline and CLI."""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.metrics import f1_score, hamming_loss
from typer.testing import CliRunner

from voices.cli import app
from voices.errors import ValidationError
from voices.listen.classifier import FeedbackClassifier, question_type
from voices.listen.comments_file import check_rows, read_comments
from voices.listen.evaluation import multilabel_metrics, respondent_split
from voices.listen.pipeline import classify_batches, prepare_comment
from voices.listen.training import apply_corrections

LABELS = ["Waiting", "Staff", "Food"]
_CUES = {"Waiting": ["waited hours", "long wait", "delay", "late again"],
         "Staff": ["kind nurse", "rude doctor", "caring staff", "helpful team"],
         "Food": ["cold meals", "tasty food", "no drinks", "nice lunch"]}


def _toy(n=240, seed=0):
    rng = random.Random(seed)
    texts, y, sentiment = [], [], []
    for _ in range(n):
        chosen = [lab for lab in LABELS if rng.random() < 0.4] or [rng.choice(LABELS)]
        good = rng.random() < 0.5
        words = [rng.choice(_CUES[lab]) for lab in chosen]
        words.append("lovely" if good else "awful")
        texts.append(" and ".join(words))
        y.append([lab in chosen for lab in LABELS])
        sentiment.append(1 if good else 5)
    return texts, np.array(y, dtype=int), sentiment


@pytest.fixture(scope="module")
def toy_model():
    texts, y, sentiment = _toy()
    return FeedbackClassifier(LABELS).fit(texts, y, sentiment=sentiment)


def test_learns_labels_and_explains_them(toy_model):
    [p] = toy_model.predict(["the food was cold meals and we waited hours, awful"])
    assert set(p.labels) == {"Food", "Waiting"}
    assert p.sentiment_3 == "negative"
    assert all(0.5 <= p.probabilities[lab] <= 1 for lab in p.labels)
    food_words = " ".join(w for w, _ in p.explanation["Food"])
    assert "meals" in food_words or "cold" in food_words
    assert p.model_version.startswith("linear-")


def test_every_comment_gets_a_label(toy_model):
    for p in toy_model.predict(["", "zzz qqq", "😀"]):
        assert len(p.labels) >= 1


def test_save_and_load_give_the_same_predictions(toy_model, tmp_path):
    toy_model.save(tmp_path / "m", {"note": "test"})
    loaded = FeedbackClassifier.load(tmp_path / "m")
    texts = ["kind nurse but long wait", "tasty food, lovely"]
    assert [p.to_dict() for p in loaded.predict(texts)] == [p.to_dict() for p in toy_model.predict(texts)]
    assert json.loads((tmp_path / "m" / "card.json").read_text())["note"] == "test"


def test_loading_a_missing_model_is_a_located_error(tmp_path):
    with pytest.raises(ValidationError):
        FeedbackClassifier.load(tmp_path)


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(3)
    truth = rng.random((200, 4)) < 0.3
    guess = rng.random((200, 4)) < 0.3
    m = multilabel_metrics(truth, guess, ["a", "b", "c", "d"], min_support=1, exclude=())
    assert m["macro_f1"] == pytest.approx(f1_score(truth, guess, average="macro"), abs=1e-4)
    assert m["micro_f1"] == pytest.approx(f1_score(truth, guess, average="micro"), abs=1e-4)
    assert m["hamming_loss"] == pytest.approx(hamming_loss(truth, guess), abs=1e-4)


def test_respondent_split_keeps_people_and_texts_apart():
    people = [f"p{i // 3}" for i in range(300)]
    texts = [("Nothing." if i % 10 == 0 else f"comment {i}") for i in range(300)]
    split = respondent_split(people, texts, seed=42)
    assert not {people[i] for i in split.train} & {people[i] for i in split.test}
    train_texts = {texts[i].casefold().strip(".") for i in split.train}
    assert all(texts[i].casefold().strip(".") not in train_texts for i in split.test)
    assert split.dropped_duplicates > 0
    assert respondent_split(people, texts, seed=42).test.tolist() == split.test.tolist()


def test_corrections_override_labels():
    comments = check_rows([["id", "comment", "Food", "Staff"], ["a", "x", "1", "0"], ["b", "y", "0", "0"]],
                          labels=["Food", "Staff"])
    fixes = pl.DataFrame({"comment_id": ["a", "b", "b"], "label": ["Food", "Staff", "sentiment"],
                          "value": [0, 1, 5]})
    y, sentiment, used = apply_corrections(comments, comments.label_matrix(["Food", "Staff"]),
                                           ["Food", "Staff"], fixes)
    assert y.tolist() == [[0, 0], [0, 1]] and sentiment == [None, 5] and used == 3


def test_question_types():
    assert question_type("What was good?") == "what_good"
    assert question_type("How could we improve?") == "could_improve"
    assert question_type("What could we do better?") == "could_improve"
    assert question_type(None) == "nonspecific"


@pytest.mark.parametrize("raw,flag", [
    ("", "empty"), ("   ", "empty"), ("<p>Great <b>staff</b></p>", "html"),
    ("word " * 10_000, "very_long"), ("服务很好，护士很友善", "other_script"),
    ("Brilliant 😀👍", "emoji"), ("!!! ???", "no_letters"),
])
def test_bad_comments_are_flagged_not_fatal(raw, flag):
    prepared = prepare_comment(raw)
    assert flag in prepared.flags
    assert "<" not in prepared.text and len(prepared.text) <= 5000


def test_pipeline_redacts_before_the_model_sees_text(toy_model):
    seen = []
    original = toy_model.predict
    toy_model.predict = lambda texts, **kw: (seen.extend(texts), original(texts, **kw))[1]
    try:
        batches = list(classify_batches(["Dr Okafor was a kind nurse, call 07700 900123", ""],
                                        toy_model, batch_size=1))
    finally:
        del toy_model.predict
    assert seen[0] == "Dr [NAME] was a kind nurse, call [PHONE]"
    assert batches[1][0].prediction.labels and "empty" in batches[1][0].flags


def test_reader_refuses_wrong_encoding_with_row(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes("comment\nfine\ncaf\xe9 was cold\n".encode("latin-1"))
    with pytest.raises(ValidationError) as caught:
        read_comments(path)
    assert caught.value.row == 3 and "UTF-8" in caught.value.expected
    assert len(read_comments(path, encoding="cp1252")) == 2


def test_reader_lists_every_bad_rating(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("comment,rating\na,Very good\nb,Excellent\nc,9\nd,\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_comments(path)
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "rating"), (4, "rating")]


def test_reader_reads_xlsx(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Comment", "Rating"])
    book.active.append(["Lovely staff", "Good"])
    book.save(tmp_path / "c.xlsx")
    comments = read_comments(tmp_path / "c.xlsx")
    assert comments.comment == ["Lovely staff"] and comments.rating == ["2"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(max_size=30), min_size=1, max_size=4), min_size=1, max_size=8))
def test_reader_never_crashes(rows):
    rows = [["comment", "rating", "sentiment"]] + rows
    try:
        comments = check_rows(rows, labels=["x"])
    except ValidationError as exc:
        assert exc.problems
    else:
        assert len(comments) <= len(rows) - 1


def test_cli_train_classify_and_refuse(tmp_path):
    texts, y, sentiment = _toy(120, seed=5)
    lines = ["comment,rating,sentiment," + ",".join(LABELS)]
    lines += [f"{t},{1 if s == 1 else 5},{s}," + ",".join(map(str, r)) for t, r, s in zip(texts, y, sentiment)]
    data = tmp_path / "data.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    framework = tmp_path / "fw.yaml"
    framework.write_text("name: toy\ncategories:\n  - name: All\n    subcategories:\n" + "".join(
        f"      - name: {lab}\n        description: {lab}.\n" for lab in LABELS), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["listen", "train", "--data", str(data), "--framework", str(framework),
                                 "--out", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert card["coder_corrections_used"] == 0 and card["data"]["sha256"]
    assert card["metrics"] == {"measured": False, "why": card["metrics"]["why"]}
    assert "too few comments" in card["metrics"]["why"]  # 120 made-up comments, many alike
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["listen", "classify", "--data", str(data), "--model",
                                 str(tmp_path / "model"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    import csv

    with out.open(encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 120 and all(row["labels"] and row["model_version"] for row in written)
    result = runner.invoke(app, ["listen", "evaluate", "--data", str(data), "--framework",
                                 str(framework), "--json"])
    assert result.exit_code == 0
    assert {"macro_f1", "micro_f1", "hamming_loss", "sentiment_accuracy_3class", "labels",
            "per_label_f1"} <= set(json.loads(result.stdout.strip().splitlines()[-1]))
    bad = tmp_path / "bad.csv"
    bad.write_text("comment,rating\nhi,Excellent\n", encoding="utf-8")
    result = runner.invoke(app, ["listen", "classify", "--data", str(bad), "--model",
                                 str(tmp_path / "model"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "row 2" in result.output


def test_the_model_card_says_how_the_model_did_on_unseen_respondents(shared_data):
    from voices.listen.frameworks import builtin_framework
    from voices.listen.training import card_metrics

    fw = builtin_framework("qdc")
    comments = read_comments(shared_data / "qdc" / "fft_comments_v6.csv", labels=fw.labels,
                             require_labels=True)
    keep = 700
    part = dataclasses.replace(
        comments, comment=comments.comment[:keep], id=comments.id[:keep],
        respondent=comments.respondent[:keep], question=comments.question[:keep],
        rating=comments.rating[:keep], sentiment=comments.sentiment[:keep],
        label_columns={k: v[:keep] for k, v in comments.label_columns.items()})
    held_out = card_metrics(part, fw)
    assert held_out["measured"] and "80% of the respondents" in held_out["how"]
    assert held_out["train_comments"] + held_out["test_comments"] <= keep
    assert 60 <= held_out["test_comments"] <= 140 and held_out["labels"] >= 3
    assert 0.3 < held_out["macro_f1"] < 1 and 0.6 < held_out["sentiment_accuracy_3class"] < 1
    assert set(held_out["per_label_f1"]) <= set(fw.labels)


@pytest.mark.slow
def test_default_model_on_the_qdc_split(shared_data):
    from voices.listen.frameworks import builtin_framework
    from voices.listen.training import evaluate

    fw = builtin_framework("qdc")
    comments = read_comments(shared_data / "qdc" / "fft_comments_v6.csv", labels=fw.labels,
                             require_labels=True)
    result = evaluate(comments, fw, seed=42)
    assert result["sentiment_accuracy_3class"] >= 0.85
    assert result["labels"] >= 15 and result["macro_f1"] >= 0.55
