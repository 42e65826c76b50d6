"""Classifying stored comments, the coder's queue and decisions (append-only), agreement
over time, and coders' corrections reaching the next model."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from support import DEMO_EMAILS, csrf_from, sign_in
from voices.listen import analysis
from voices.listen.agreement import Review, agreement_by_period, label_agreement
from voices.listen.classifier import FeedbackClassifier
from voices.listen.models import Coding, CommentLabel, CommentTheme, FeedbackComment


def test_stored_predictions_are_the_models_with_probability_version_and_words(
        database, listen_demo, listen_model):
    model = FeedbackClassifier.load(listen_model)
    with database.sessionmaker() as session:
        comments = session.scalars(select(FeedbackComment).where(
            FeedbackComment.coded_at.is_(None)).order_by(FeedbackComment.id).limit(40)).all()
        predictions = model.predict([c.text for c in comments],
                                    question=[analysis.QUESTION_TEXT[c.question]
                                              for c in comments],
                                    rating=[analysis.RATING_CODE.get(c.response.rating)
                                            for c in comments])
        links = analysis.i_statements()
        for comment, expected in zip(comments, predictions, strict=True):
            if "empty" in comment.flag_list or "no_letters" in comment.flag_list:
                continue
            assert comment.model_version == model.version
            stored = {lab.label: lab.probability for lab in comment.labels}
            assert stored == pytest.approx(expected.probabilities)
            assert comment.confidence == pytest.approx(expected.confidence)
            assert comment.sentiment == expected.sentiment
            words = comment.explanation["words"]
            for pairs in words.values():
                for word, weight in pairs:
                    assert weight > 0 and all(w in comment.text.lower() for w in word.split())
            assert sorted(t.theme for t in comment.themes) == \
                sorted(link.theme for link in links.link(expected.labels, comment.text))


def test_the_queue_is_least_confident_first_and_one_key_accepts(client, database,
                                                                listen_demo):
    sign_in(client, DEMO_EMAILS["analyst"])
    with database.sessionmaker() as session:
        first = analysis.queue(session, None, limit=1)[0]
        lowest = session.scalar(select(func.min(FeedbackComment.confidence)).where(
            FeedbackComment.coded_at.is_(None), FeedbackComment.classified_at.is_not(None)))
        waiting = analysis.queue_length(session, None)
        predicted = first.explanation["predicted"]
    assert first.confidence == lowest
    page = client.get("/listen/review")
    assert f'action="/listen/review/{first.id}"' in page.text
    assert 'data-key="1"' in page.text and '/listen/review.js' in page.text
    accepted = client.post(f"/listen/review/{first.id}", data={
        "csrf_token": csrf_from(page.text), "action": "accept", "offset": "0"},
        follow_redirects=False)
    assert accepted.status_code == 303 and "done=accepted" in accepted.headers["location"]
    with database.sessionmaker() as session:
        coding = session.scalars(select(Coding).where(Coding.comment_id == first.id)).one()
        assert (coding.action, coding.labels, coding.agreement) == \
            ("accept", sorted(predicted), 1.0)
        assert coding.coder_id is not None and coding.coded_at is not None
        assert analysis.queue_length(session, None) == waiting - 1
        second = analysis.queue(session, None, limit=1)[0]
        model_labels = second.explanation["predicted"]
    other = "Parking" if "Parking" not in model_labels else "Discharge"
    page = client.get("/listen/review")
    corrected = client.post(f"/listen/review/{second.id}", data={
        "csrf_token": csrf_from(page.text), "action": "save", "offset": "0",
        "labels": [model_labels[0]], "add_label": other, "sentiment": "4"},
        follow_redirects=False)
    assert corrected.status_code == 303
    with database.sessionmaker() as session:
        coding = session.scalars(select(Coding).where(Coding.comment_id == second.id)).one()
        assert coding.action == "correct" and coding.sentiment == 4
        assert set(coding.labels) == {model_labels[0], other}
        assert coding.agreement == pytest.approx(label_agreement(model_labels, coding.labels))
        labels = session.scalars(select(CommentLabel).where(
            CommentLabel.comment_id == second.id)).all()
        assert {lab.label for lab in labels} == {model_labels[0], other}
        assert next(lab.source for lab in labels if lab.label == other) == "coder"
        themes = {t.theme for t in session.scalars(select(CommentTheme).where(
            CommentTheme.comment_id == second.id))}
        comment = session.get(FeedbackComment, second.id)
        assert themes == {link.theme for link in analysis.i_statements().link(
            coding.labels, comment.text)}
    unknown = client.post(f"/listen/review/{second.id}", data={
        "csrf_token": csrf_from(page.text), "action": "save", "labels": ["Not a theme"]})
    assert unknown.status_code == 422 and "is not a theme" in unknown.text


def test_coders_decisions_cannot_be_changed(database, listen_demo):
    with database.sessionmaker() as session:
        coding_id = session.scalar(select(Coding.id).limit(1))
    assert coding_id is not None
    with database.engine.connect() as conn, pytest.raises(DBAPIError):
        conn.execute(text("UPDATE listen_coding SET action = 'accept' WHERE id = :id"),
                     {"id": coding_id})


def test_agreement_by_month_by_hand():
    reviews = [Review("2026-01", True, 1.0, 1, 1), Review("2026-01", False, 0.5, 1, 4),
               Review("2026-02", False, 0.0, None, 5), Review("2026-01", False, 1 / 3, 2, 2)]
    january, february = agreement_by_period(reviews)
    assert (january.period, january.reviewed) == ("2026-01", 3)
    assert january.accepted_share == pytest.approx(1 / 3)
    assert january.mean_agreement == pytest.approx((1 + 0.5 + 1 / 3) / 3)
    assert january.sentiment_share == pytest.approx(2 / 3)
    assert february.sentiment_share is None and february.mean_agreement == 0.0
    assert label_agreement({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)
    assert label_agreement([], []) == 1.0


def test_corrections_reach_the_next_training_and_the_card_counts_them(
        listen_cli, database, listen_demo, listen_model, tmp_path):
    with database.session() as session:
        coder = session.get(analysis.Account, listen_demo.accounts["analyst"].id)
        for comment in analysis.queue(session, None, limit=14):
            analysis.record_coding(session, comment, coder,
                                   labels=["Parking", *comment.explanation["predicted"][:1]])
        _, comments, corrections = analysis.training_files(
            session, analysis.framework_labels(session))
    assert len(comments) >= 14 and corrections
    exported = listen_cli("listen", "export-training", "--out", str(tmp_path / "training"))
    assert exported.exit_code == 0, exported.output
    written = (tmp_path / "training" / "corrections.csv").read_text().splitlines()
    assert written[0] == "comment_id,label,value" and len(written) - 1 == len(corrections)
    # The next model learns from the original labelled file and the coders' decisions.
    from voices.listen.comments_file import write_rows
    from voices.listen.demo import labelled_comments
    from voices.listen.frameworks import builtin_framework

    base = labelled_comments(200, seed=11)
    labels = builtin_framework("qdc").labels
    write_rows(tmp_path / "labelled.csv", ["id", "comment", "question", "sentiment", *labels],
               [[cid, text, q, s, *(int(base.label_columns[lab][k]) for lab in labels)]
                for k, (cid, text, q, s) in enumerate(zip(base.id, base.comment, base.question,
                                                          base.sentiment))])
    trained = listen_cli("listen", "train", "--data", str(tmp_path / "labelled.csv"),
                         "--data", str(tmp_path / "training" / "comments.csv"),
                         "--corrections", str(tmp_path / "training" / "corrections.csv"),
                         "--framework", "qdc", "--no-metrics", "--out", str(tmp_path / "next"))
    assert trained.exit_code == 0, trained.output
    card = json.loads((tmp_path / "next" / "card.json").read_text())
    assert card["coder_corrections_used"] == len(corrections)
    assert card["data"]["comments"] == 200 + len(comments)
    # ... and agrees with the coders where the old model did not.
    before, after = FeedbackClassifier.load(listen_model), FeedbackClassifier.load(tmp_path / "next")
    corrected = [row[1] for row in comments]
    questions = [row[2] for row in comments]
    parking = before.labels.index("Parking")
    old = before.predict_proba(corrected, question=questions)[:, parking]
    new = after.predict_proba(corrected, question=questions)[:, after.labels.index("Parking")]
    assert new.mean() > old.mean() + 0.2
    twice = listen_cli("listen", "train", "--data", str(tmp_path / "training" / "comments.csv"),
                       "--data", str(tmp_path / "training" / "comments.csv"),
                       "--out", str(tmp_path / "never"))
    assert twice.exit_code == 2 and "is also in" in twice.output
    assert not (tmp_path / "never").exists()


def test_stored_comments_are_classified_by_command_and_by_job(listen_cli, client, database,
                                                              listen_demo, listen_model):
    from voices import jobs
    from voices.core.models import Job

    with database.session() as session:
        session.execute(FeedbackComment.__table__.update().values(
            model_version=None, classified_at=None))
        waiting = session.scalar(select(func.count(FeedbackComment.id)).where(
            FeedbackComment.coded_at.is_(None)))
    result = listen_cli("listen", "classify", "--model", str(listen_model))
    assert result.exit_code == 0, result.output
    assert f"{waiting:,} comments classified" in result.output
    with database.sessionmaker() as session:
        assert session.scalar(select(func.count(FeedbackComment.id)).where(
            FeedbackComment.classified_at.is_(None), FeedbackComment.coded_at.is_(None))) == 0
    with database.session() as session:
        some = session.scalars(select(FeedbackComment.id).where(
            FeedbackComment.coded_at.is_(None)).limit(5)).all()
        session.execute(FeedbackComment.__table__.update().where(
            FeedbackComment.id.in_(some)).values(model_version=None, classified_at=None))
    sign_in(client, DEMO_EMAILS["analyst"])
    page = client.get("/listen/models")
    assert "Coder and model agreement by month" in page.text
    started = client.post("/listen/classify", data={"csrf_token": csrf_from(page.text)},
                          follow_redirects=False)
    assert started.headers["location"].startswith("/jobs/")
    assert jobs.run_pending(database) == 1
    with database.sessionmaker() as session:
        job = session.scalars(select(Job)).one()
        assert job.status.value == "done" and job.result["classified"] == 5
