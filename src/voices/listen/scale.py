"""Batch classification on a Ray cluster (the ``[scale]`` extra).

The same work as :func:`voices.listen.pipeline.classify_batches` — clean, redact, label,
sentiment, explanations, I-statement links — spread over the CPUs of a Ray cluster, or of
a local Ray instance on this machine. Results are the single-process results exactly: each
worker runs :func:`classify_batches` itself on its batch, and every computation in it is per
comment (TF-IDF rows are normalised on their own, scores are row by row), so how comments
are grouped into batches or spread over workers changes nothing.

How it works: the fitted model, the redactor and the I-statement framework are put in
Ray's object store once (``ray.put``); a pool of actors (one per CPU) each loads them once;
comments go to the actors in batches, a few batches ahead of the workers so none waits;
batches come back in any order and are handed on in the original order.

Ray is imported only when a cluster is used, so the base install never needs it.

References
----------
Moritz P, Nishihara R, Wang S, et al. Ray: a distributed framework for emerging AI
    applications. OSDI 2018:561-577 (tasks, actors and the shared object store).
Ray documentation, "Anti-pattern: passing the same large argument by value repeatedly"
    (put a large object in the object store once and pass its reference).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Self

from voices.errors import ValidationError, VoicesError
from voices.listen.classifier import FeedbackClassifier
from voices.listen.frameworks import IStatementFramework
from voices.listen.pipeline import ClassifiedComment, Sink, classify_batches
from voices.listen.redaction import Redactor

INSTALL_HINT = "Install the scale extra: pip install 'voices[scale]'"
LOCAL_OBJECT_STORE_MB = 256
BATCHES_AHEAD = 2
CLUSTER_ADDRESS = ("the address of a running Ray cluster, such as head-node:6379 or "
                   "ray://head-node:10001")
Progress = Callable[[int, int], None]


def _import_ray():
    try:
        import ray
    except ImportError:
        raise VoicesError(INSTALL_HINT, code="scale_extra_missing") from None
    return ray


class _BatchWorker:
    """What each Ray actor holds: the model and its helpers, loaded once."""

    def __init__(self, model: FeedbackClassifier, i_statements: IStatementFramework | None,
                 redactor: Redactor) -> None:
        self.model, self.i_statements, self.redactor = model, i_statements, redactor

    def classify(self, texts: list, question: list | None, rating: list | None
                 ) -> list[ClassifiedComment]:
        if not texts:
            return []
        return next(iter(classify_batches(texts, self.model, question=question, rating=rating,
                                          i_statements=self.i_statements, redactor=self.redactor,
                                          batch_size=len(texts))))


class RayClassifier:
    """A pool of Ray workers that each hold one copy of a fitted model.

    Use it as a context manager; classify as many lists of comments as you like while it
    is open (for example one database chunk at a time), so Ray starts and the model ships
    only once.

    Parameters
    ----------
    model:
        A fitted :class:`~voices.listen.classifier.FeedbackClassifier`.
    i_statements:
        If given, each comment is linked to I-statement themes.
    redactor:
        The redactor (default settings if None). The model only ever sees redacted text.
    address:
        A running Ray cluster to connect to (``"head-node:6379"``, ``"ray://head:10001"`` or
        ``"auto"``). None starts a local Ray instance on this machine, limited to ``workers``
        CPUs, and stops it on close. If Ray is already running in this process (for example
        started by a test or a notebook), that instance is used and left running.
    workers:
        How many workers (actors, one CPU each), at most the cluster's CPUs. Default: every
        CPU of the cluster, or of this machine for a local instance.
    object_store_mb:
        Size of a local instance's shared object store (ignored for a cluster).

    Examples
    --------
    >>> with RayClassifier(model, i_statements=links) as pool:  # doctest: +SKIP
    ...     results = pool.classify(texts, question=questions, rating=ratings)
    """

    def __init__(self, model: FeedbackClassifier, *, i_statements: IStatementFramework | None = None,
                 redactor: Redactor | None = None, address: str | None = None,
                 workers: int | None = None, object_store_mb: int = LOCAL_OBJECT_STORE_MB) -> None:
        model._check_fitted()
        if workers is not None and workers < 1:
            raise ValidationError(f"{workers} workers", column="--workers", expected="1 or more")
        self.model, self.i_statements = model, i_statements
        self.redactor = redactor or Redactor()
        self.address, self.workers, self.object_store_mb = address, workers, object_store_mb
        self._ray = None
        self._started_ray = False
        self._actors: list = []

    # -- lifetime ---------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        """Start or join Ray, ship the model once and start the workers."""
        if self._actors:
            return
        if self.address is not None:
            _check_reachable(self.address)
        ray = self._ray = _import_ray()
        if not ray.is_initialized():
            self._init(ray)
        try:
            cpus = max(int(ray.cluster_resources().get("CPU", 0)), 1)
            count = min(self.workers or cpus, cpus)  # an actor without a CPU would never start
            shared = [ray.put(self.model), ray.put(self.i_statements), ray.put(self.redactor)]
            actor = ray.remote(num_cpus=1)(_BatchWorker)
            self._actors = [actor.remote(*shared) for _ in range(count)]
        except Exception:
            self.close()
            raise

    def _init(self, ray) -> None:
        options = {"include_dashboard": False, "logging_level": "WARNING"}
        if self.address is None:
            options.update(address="local", num_cpus=self.workers or os.cpu_count() or 1,
                           object_store_memory=self.object_store_mb * 1024 * 1024)
        else:
            options.update(address=self.address)
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            if self.address is None:
                raise VoicesError(f"Ray could not start on this machine: {exc}",
                                  code="ray_unavailable") from None
            raise ValidationError(f"cannot connect to a Ray cluster at '{self.address}' ({exc})",
                                  column="--ray-address", expected=CLUSTER_ADDRESS) from None
        self._started_ray = True

    def close(self) -> None:
        """Stop the workers, and Ray itself if this object started it."""
        ray, self._ray = self._ray, None
        if ray is None:
            return
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    # -- classifying ------------------------------------------------------------------
    def classify_batches(self, texts: Sequence[object], *,
                         question: Sequence[str | None] | None = None,
                         rating: Sequence[str | None] | None = None, batch_size: int = 1000,
                         sink: Sink | None = None, progress: Progress | None = None
                         ) -> Iterator[list[ClassifiedComment]]:
        """Classify comments on the workers, yielding batches in input order.

        Parameters
        ----------
        texts, question, rating:
            As for :func:`voices.listen.pipeline.classify_batches`.
        batch_size:
            Comments sent to a worker at a time.
        sink:
            Called as ``sink(offset, batch)`` for each batch, in input order.
        progress:
            Called as ``progress(done, total)`` whenever a worker finishes a batch (batches
            may finish out of order; ``done`` counts every comment classified so far).

        Yields
        ------
        list[ClassifiedComment]
            One list per batch, in input order; identical to the single-process results.
        """
        if batch_size < 1:
            raise ValidationError(f"batch size {batch_size}", column="--batch-size",
                                  expected="1 or more")
        for name, values in (("question", question), ("rating", rating)):
            if values is not None and len(values) != len(texts):
                raise ValidationError(f"{len(values)} {name} values for {len(texts)} comments",
                                      column=name, expected="one per comment")
        self.open()
        ray = self._ray
        total = len(texts)
        offsets = list(range(0, total, batch_size))
        pending: dict = {}  # ObjectRef -> (offset, actor)
        finished: dict[int, list[ClassifiedComment]] = {}
        done = 0
        submitted = 0
        next_offset = 0
        if progress is not None:
            progress(0, total)

        def submit(actor) -> None:
            nonlocal submitted
            if submitted == len(offsets):
                return
            start = offsets[submitted]
            end = start + batch_size
            ref = actor.classify.remote(
                list(texts[start:end]),
                list(question[start:end]) if question is not None else None,
                list(rating[start:end]) if rating is not None else None)
            pending[ref] = (start, actor)
            submitted += 1

        try:
            for _ in range(BATCHES_AHEAD):  # keep each worker a batch ahead
                for actor in self._actors:
                    submit(actor)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                start, actor = pending.pop(ready[0])
                finished[start] = ray.get(ready[0])
                done += len(finished[start])
                submit(actor)
                if progress is not None:
                    progress(done, total)
                while next_offset in finished:
                    batch = finished.pop(next_offset)
                    if sink is not None:
                        sink(next_offset, batch)
                    yield batch
                    next_offset += batch_size
        except ray.exceptions.RayError as exc:
            raise VoicesError(
                f"Classification failed on the Ray cluster ({_first_line(exc)}). Every node "
                f"needs the same version of Voices with the scale extra: pip install "
                f"'voices[scale]'", code="ray_failed") from None

    def classify(self, texts: Sequence[object], *, question: Sequence[str | None] | None = None,
                 rating: Sequence[str | None] | None = None, batch_size: int | None = None,
                 progress: Progress | None = None) -> list[ClassifiedComment]:
        """Classify comments on the workers; one result per comment, in input order.

        ``batch_size`` defaults to an even share of the comments for each worker (at most
        1,000), which suits one database chunk at a time.
        """
        self.open()
        if batch_size is None:
            share = -(-len(texts) // max(len(self._actors), 1))
            batch_size = max(1, min(1000, share))
        out: list[ClassifiedComment] = []
        for batch in self.classify_batches(texts, question=question, rating=rating,
                                           batch_size=batch_size, progress=progress):
            out.extend(batch)
        return out


def classify_on_ray(texts: Sequence[object], model: FeedbackClassifier, *,
                    question: Sequence[str | None] | None = None,
                    rating: Sequence[str | None] | None = None,
                    i_statements: IStatementFramework | None = None,
                    redactor: Redactor | None = None, batch_size: int = 1000,
                    address: str | None = None, workers: int | None = None,
                    sink: Sink | None = None, progress: Progress | None = None
                    ) -> list[ClassifiedComment]:
    """Redact and classify comments on Ray, with the same results as the single-process path.

    Parameters
    ----------
    texts, model, question, rating, i_statements, redactor, batch_size, sink:
        As for :func:`voices.listen.pipeline.classify_batches`.
    address, workers:
        Where to run and how many workers (see :class:`RayClassifier`).
    progress:
        Called as ``progress(done, total)`` as batches finish.

    Returns
    -------
    list[ClassifiedComment]
        One result per comment, in input order.

    Raises
    ------
    VoicesError
        If Ray is not installed ("Install the scale extra ..."), cannot start, or a worker
        fails; :class:`~voices.errors.ValidationError` if the cluster cannot be reached.
    """
    out: list[ClassifiedComment] = []
    with RayClassifier(model, i_statements=i_statements, redactor=redactor, address=address,
                       workers=workers) as pool:
        for batch in pool.classify_batches(texts, question=question, rating=rating,
                                           batch_size=batch_size, sink=sink, progress=progress):
            out.extend(batch)
    return out


ENGINES = ("local", "ray")


@contextmanager
def open_engine(model: FeedbackClassifier, *, engine: str = "local",
                i_statements: IStatementFramework | None = None, redactor: Redactor | None = None,
                address: str | None = None, workers: int | None = None
                ) -> Iterator[Callable[..., list[ClassifiedComment]]]:
    """A function that classifies one list of comments at a time, here or on Ray.

    For callers that fetch comments chunk by chunk (such as classifying the comments stored
    in the database): open the engine once, call it for each chunk. With ``engine="ray"``,
    Ray starts and the model ships once for all the chunks.

    Parameters
    ----------
    model, i_statements, redactor:
        As for :func:`voices.listen.pipeline.classify_batches`.
    engine:
        ``"local"`` (this process) or ``"ray"``.
    address, workers:
        For ``"ray"``: see :class:`RayClassifier`.

    Yields
    ------
    callable
        ``classify(texts, *, question=None, rating=None, progress=None)`` returning one
        :class:`~voices.listen.pipeline.ClassifiedComment` per text, in order; the same
        results whichever the engine.

    Examples
    --------
    >>> with open_engine(model, engine="ray", i_statements=links) as classify:  # doctest: +SKIP
    ...     for chunk in chunks:
    ...         store(chunk.ids, classify(chunk.texts, question=chunk.questions))
    """
    if engine not in ENGINES:
        raise ValidationError(f"unknown engine '{engine}'", column="--engine",
                              expected=" or ".join(ENGINES))
    if engine == "ray":
        with RayClassifier(model, i_statements=i_statements, redactor=redactor, address=address,
                           workers=workers) as pool:
            yield pool.classify
        return
    redactor = redactor or Redactor()

    def classify(texts, *, question=None, rating=None, progress=None):
        out: list[ClassifiedComment] = []
        for batch in classify_batches(texts, model, question=question, rating=rating,
                                      i_statements=i_statements, redactor=redactor):
            out.extend(batch)
            if progress is not None:
                progress(len(out), len(texts))
        return out

    yield classify


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Refuse an address nothing answers at, quickly (Ray itself keeps retrying for minutes)."""
    where = address.removeprefix("ray://").rsplit("/", 1)[0]
    if address == "auto" or ":" not in where:
        return
    host, _, port = where.rpartition(":")
    if not port.isdigit():
        raise ValidationError(f"'{address}' has no port number", column="--ray-address",
                              expected=CLUSTER_ADDRESS)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ValidationError(f"nothing answers at '{address}' ({exc.strerror or exc})",
                              column="--ray-address", expected=CLUSTER_ADDRESS) from None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if "Error" in line and not line.startswith("File ")]
    return (useful[-1] if useful else lines[0] if lines else exc.__class__.__name__)[:300]
