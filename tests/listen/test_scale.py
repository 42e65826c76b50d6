"""Classification on Ray gives exactly the single-process results, in the original order."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from voices.cli import app
from voices.errors import ValidationError, VoicesError
from voices.listen.comments_file import Comments, read_comments
from voices.listen.frameworks import builtin_framework
from voices.listen.pipeline import classify_batches

ODD = ["", "<p>Great <b>staff</b> 👍</p>", "!!!", "Nurse Jane Smith rang 07700 900123, lovely",
       "x" * 6000]


def _slice(comments: Comments, start: int, stop: int) -> Comments:
    return dataclasses.replace(
        comments, comment=comments.comment[start:stop], id=comments.id[start:stop],
        respondent=comments.respondent[start:stop], question=comments.question[start:stop],
        rating=comments.rating[start:stop], sentiment=comments.sentiment[start:stop],
        label_columns={k: v[start:stop] for k, v in comments.label_columns.items()})


@pytest.fixture(scope="module")
def qdc(shared_data):
    fw = builtin_framework("qdc")
    return fw, read_comments(shared_data / "qdc" / "fft_comments_v6.csv", labels=fw.labels,
                             require_labels=True)


@pytest.fixture(scope="module")
def model(qdc):
    from voices.listen.training import train

    fw, comments = qdc
    fitted, _ = train(_slice(comments, 0, 300), fw)
    return fitted


@pytest.fixture(scope="module")
def new_comments(qdc):
    """A few hundred comments the model has not seen, plus awkward ones."""
    _, comments = qdc
    part = _slice(comments, 3000, 3300)
    return (part.comment + ODD, part.question + [None] * len(ODD),
            part.rating + ["1", None, "5", "2", None])


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray", reason="Ray is not installed (the scale extra: "
                                            "pip install 'voices[scale]')")
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             object_store_memory=100 * 1024 * 1024, logging_level="WARNING")
    yield ray
    ray.shutdown()


def _local(texts, model, question, rating, links):
    return [item for batch in classify_batches(texts, model, question=question, rating=rating,
                                               i_statements=links) for item in batch]


def _same(remote, local):
    assert len(remote) == len(local)
    for r, s in zip(remote, local):
        assert r.redacted_text == s.redacted_text and r.flags == s.flags
        assert r.prediction.labels == s.prediction.labels
        assert r.prediction.probabilities.keys() == s.prediction.probabilities.keys()
        for label, p in s.prediction.probabilities.items():
            assert abs(r.prediction.probabilities[label] - p) <= 1e-12
        assert r.prediction.explanation == s.prediction.explanation
        assert r.prediction.model_version == s.prediction.model_version
        assert r == s  # and everything else: sentiment, character share, I-statement links


def test_ray_gives_the_single_process_results_in_order(ray_instance, model, new_comments):
    from voices.listen.scale import classify_on_ray

    texts, question, rating = new_comments
    links = builtin_framework("i_statements")
    progress, offsets = [], []
    remote = classify_on_ray(texts, model, question=question, rating=rating, i_statements=links,
                             batch_size=23, workers=2,
                             progress=lambda done, total: progress.append((done, total)),
                             sink=lambda offset, batch: offsets.append((offset, len(batch))))
    _same(remote, _local(texts, model, question, rating, links))
    assert offsets == [(k, min(23, len(texts) - k)) for k in range(0, len(texts), 23)]
    assert progress[0] == (0, len(texts)) and progress[-1] == (len(texts), len(texts))
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert any(item.i_statements for item in remote)
    assert "[NAME]" in remote[len(texts) - 2].redacted_text  # the model only saw redacted text


def test_one_pool_classifies_chunk_after_chunk(ray_instance, model, new_comments):
    from voices.listen.scale import open_engine

    texts, question, rating = new_comments
    chunks = [(0, 120), (120, 121), (121, len(texts))]
    with open_engine(model, engine="ray") as on_ray, open_engine(model) as here:
        for start, stop in chunks:
            args = (texts[start:stop],)
            context = {"question": question[start:stop], "rating": rating[start:stop]}
            _same(on_ray(*args, **context), here(*args, **context))


def test_cli_engine_ray_writes_the_same_file(ray_instance, model, qdc, tmp_path):
    import polars as pl

    _, comments = qdc
    part = _slice(comments, 4000, 4150)
    data = tmp_path / "new.csv"
    pl.DataFrame({"id": part.id, "comment": part.comment, "question": part.question,
                  "rating": part.rating}).write_csv(data)
    model.save(tmp_path / "model")
    runner = CliRunner()
    base = ["listen", "classify", "--data", str(data), "--model", str(tmp_path / "model"),
            "--batch-size", "40"]
    result = runner.invoke(app, base + ["--out", str(tmp_path / "local.csv")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, base + ["--out", str(tmp_path / "ray.csv"), "--engine", "ray",
                                        "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    result = runner.invoke(app, base + ["--out", str(tmp_path / "x.csv"), "--engine", "spark"])
    assert result.exit_code == 2 and "--engine" in result.output
    result = runner.invoke(app, base + ["--out", str(tmp_path / "x.csv"), "--ray-address", "h:1"])
    assert result.exit_code == 2 and "--engine" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_inputs_are_checked_before_anything_runs(model):
    from voices.listen.scale import RayClassifier, open_engine

    with pytest.raises(ValidationError, match="--workers"):
        RayClassifier(model, workers=0)
    with pytest.raises(ValidationError, match="engine"), open_engine(model, engine="spark"):
        pass
    pool = RayClassifier(model)
    with pytest.raises(ValidationError, match="question"):
        next(pool.classify_batches(["a", "b"], question=["q"]))
    with pytest.raises(ValidationError, match="batch size"):
        next(pool.classify_batches(["a"], batch_size=0))


def test_an_address_nothing_answers_at_is_refused_at_once(model):
    from voices.listen.scale import classify_on_ray

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ValidationError, match="--ray-address"):
        classify_on_ray(["Lovely staff"], model, address=f"127.0.0.1:{port}")
    with pytest.raises(ValidationError, match="port"):
        classify_on_ray(["Lovely staff"], model, address="ray://head-node:ten")


def test_without_ray_the_error_says_what_to_install(model, monkeypatch):
    from voices.listen.scale import classify_on_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(VoicesError, match=r"pip install 'voices\[scale\]'"):
        classify_on_ray(["Lovely staff"], model)


def test_the_base_install_never_imports_ray():
    code = "import sys, voices.listen.scale, voices.listen.cli; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def _stored(database):
    """What classification stored for each comment: labels with probabilities, sentiment,
    the words that drove them, I-statement themes and the redacted text."""
    from sqlalchemy import select

    from voices.listen.models import FeedbackComment

    with database.sessionmaker() as session:
        return {c.id: (c.text, c.model_version, c.sentiment, c.confidence, c.explanation,
                       sorted((lab.label, lab.probability) for lab in c.labels),
                       sorted(t.theme for t in c.themes))
                for c in session.scalars(select(FeedbackComment).where(
                    FeedbackComment.coded_at.is_(None)))}


def _forget_classification(database):
    from voices.listen.models import FeedbackComment

    with database.session() as session:
        session.execute(FeedbackComment.__table__.update().values(model_version=None,
                                                                  classified_at=None))


def test_stored_comments_classified_on_ray_are_stored_as_here(ray_instance, listen_cli, database,
                                                              listen_demo, listen_model):
    _forget_classification(database)
    here = listen_cli("listen", "classify", "--model", str(listen_model), "--batch-size", "17")
    assert here.exit_code == 0, here.output
    expected = _stored(database)
    assert len(expected) >= 20 and all(v[1] for v in expected.values())
    _forget_classification(database)
    on_ray = listen_cli("listen", "classify", "--model", str(listen_model), "--batch-size", "17",
                        "--engine", "ray", "--workers", "2")
    assert on_ray.exit_code == 0, on_ray.output
    assert f"{len(expected):,} comments classified on Ray" in on_ray.output
    assert _stored(database) == expected
    again = listen_cli("listen", "classify", "--engine", "ray")  # nothing left to do
    assert again.exit_code == 0 and "0 comments classified" in again.output
