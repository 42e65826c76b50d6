"""Theme and sentiment classification of feedback comments, with explanations.

The default model runs on a CPU with scikit-learn, NumPy and SciPy only:

* **features** — TF-IDF of words and word pairs, plus TF-IDF of character 2–5-grams within
  words (robust to misspellings such as "recieved"), both with sub-linear term frequency;
  plus which question the comment answers ("what was good", "what could be better",
  other). Sentiment also sees the star rating when there is one.
* **themes** — one logistic regression per label (one-vs-rest, balanced class weights).
  A label is predicted when its probability passes its threshold (0.5 unless thresholds
  were tuned by cross-validation); a comment that passes none gets its most probable label,
  as in pxtextmining.
* **sentiment** — multinomial logistic regression over the five classes (1 very positive …
  5 very negative), also reported as three: positive (1–2), neutral or mixed (3),
  negative (4–5), taking the most probable of the three summed groups.
* **explanations** — because the model is linear, each label's score is a sum of
  per-feature contributions (weight × feature value). The words and word pairs with the
  largest positive contributions are "the words that drove it"; the share of the score
  that came from spelling-level (character) evidence is given too.

Models are saved without pickle: arrays in ``model.npz`` and vocabularies, settings and the
model card in JSON, so loading a model file never runs code.

References
----------
Salton G, Buckley C. Term-weighting approaches in automatic text retrieval. Information
    Processing & Management 1988;24(5):513-523 (TF-IDF, sub-linear tf).
Fan R-E, Chang K-W, Hsieh C-J, Wang X-R, Lin C-J. LIBLINEAR: a library for large linear
    classification. JMLR 2008;9:1871-1874 (the solver, through scikit-learn).
King G, Zeng L. Logistic regression in rare events data. Political Analysis 2001;9:137-163
    (re-weighting classes, scikit-learn's ``class_weight="balanced"``).
pxtextmining (NHS England QDC project): question type as a feature; the most probable label
    when none passes the threshold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from voices.errors import ValidationError

FORMAT = "voices-listen-linear/1"
QUESTION_TYPES = ("what_good", "could_improve", "nonspecific")
RATINGS = ("1", "2", "3", "4", "5", "6")
SENTIMENT_3 = {1: "positive", 2: "positive", 3: "neutral_mixed", 4: "negative", 5: "negative"}
THREE_CLASSES = ("positive", "neutral_mixed", "negative")
_TOKENS = r"(?u)\b\w[\w']*\b"


def question_type(question: str | None) -> str:
    """Put a free-text survey question into one of three kinds (as pxtextmining does).

    "What was good?" → ``what_good``; questions about improving or doing better →
    ``could_improve``; anything else ("Why?", blank) → ``nonspecific``.
    """
    q = (question or "").casefold()
    if "good" in q and "better" not in q and "improve" not in q:
        return "what_good"
    if "better" in q or "improve" in q or "could we" in q:
        return "could_improve"
    return "nonspecific"


@dataclass(frozen=True)
class Settings:
    """Model settings (chosen by 5-fold cross-validation grouped by respondent on the
    training side of the QDC split; see the model card)."""

    c_themes: float = 4.0
    c_sentiment: float = 2.0
    min_label_count: int = 5
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 2
    threshold_folds: int = 0
    explain_top: int = 3


@dataclass(frozen=True)
class Prediction:
    """What the model says about one comment."""

    labels: tuple[str, ...]
    probabilities: dict[str, float]
    sentiment: int | None
    sentiment_3: str | None
    sentiment_probability: float | None
    explanation: dict[str, list[tuple[str, float]]]
    model_version: str
    character_share: dict[str, float] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        """The lowest probability among the predicted labels (for a coder's queue)."""
        return min(self.probabilities[lab] for lab in self.labels) if self.labels else 0.0

    def to_dict(self) -> dict:
        return {
            "labels": list(self.labels),
            "probabilities": self.probabilities,
            "sentiment": self.sentiment,
            "sentiment_3": self.sentiment_3,
            "sentiment_probability": self.sentiment_probability,
            "explanation": {k: [[w, round(c, 4)] for w, c in v] for k, v in self.explanation.items()},
            "character_share": self.character_share,
            "model_version": self.model_version,
        }


def _context_matrix(values: Sequence[str] | None, n: int, choices: Sequence[str]) -> sp.csr_matrix:
    out = np.zeros((n, len(choices) + 1))
    index = {c: k for k, c in enumerate(choices)}
    for i in range(n):
        value = values[i] if values is not None else None
        out[i, index.get(str(value) if value is not None else "", len(choices))] = 1.0
    return sp.csr_matrix(out)


class FeedbackClassifier:
    """Multi-label themes and five-class sentiment for feedback comments.

    Parameters
    ----------
    labels:
        The coding framework's labels, in order (for example ``CodingFramework.labels``).
    settings:
        Model settings; the defaults are the published model's.

    Examples
    --------
    >>> model = FeedbackClassifier(["Staff", "Waiting"])  # doctest: +SKIP
    >>> model.fit(texts, y, sentiment=s, question=q).predict(["Lovely nurse"])  # doctest: +SKIP
    """

    def __init__(self, labels: Sequence[str], settings: Settings | None = None) -> None:
        self.labels = list(labels)
        self.settings = settings or Settings()
        self.version = "unfitted"

    # -- features ---------------------------------------------------------------------
    def _vectorisers(self) -> tuple[TfidfVectorizer, TfidfVectorizer]:
        s = self.settings
        words = TfidfVectorizer(ngram_range=tuple(s.word_ngrams), min_df=s.min_df,
                                sublinear_tf=True, token_pattern=_TOKENS, dtype=np.float32)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(s.char_ngrams),
                                min_df=s.min_df, sublinear_tf=True, dtype=np.float32)
        return words, chars

    def _features(self, texts: Sequence[str], question: Sequence[str] | None
                  ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        words = self.words_.transform(texts)
        chars = self.chars_.transform(texts)
        q = _context_matrix([question_type(x) for x in question] if question is not None
                            else None, len(texts), QUESTION_TYPES)
        return words, sp.hstack([words, chars, q], format="csr", dtype=np.float32)

    # -- fitting ----------------------------------------------------------------------
    def fit(self, texts: Sequence[str], y: np.ndarray, *, sentiment: Sequence[int | None] | None = None,
            question: Sequence[str] | None = None, rating: Sequence[str | None] | None = None,
            groups: Sequence[str] | None = None) -> "FeedbackClassifier":
        """Fit themes (and sentiment when given).

        Parameters
        ----------
        texts:
            Redacted comment texts.
        y:
            0/1 array, one row per comment and one column per label.
        sentiment:
            1–5 per comment, or None where not coded.
        question:
            The question each comment answers (free text; put into three kinds).
        rating:
            The FFT rating per comment ("1" very good … "5" very poor, "6" don't know).
        groups:
            Respondent of each comment; used to keep a respondent's comments in one fold
            when tuning thresholds by cross-validation.

        Returns
        -------
        FeedbackClassifier
            ``self``, fitted.
        """
        texts = list(texts)
        y = np.asarray(y, dtype=np.int8)
        if y.shape != (len(texts), len(self.labels)):
            raise ValidationError(f"labels have shape {y.shape}", expected=f"({len(texts)}, {len(self.labels)})")
        if len(texts) < 10:
            raise ValidationError(f"only {len(texts)} comments to learn from", expected="at least 10")
        self.words_, self.chars_ = self._vectorisers()
        self.words_.fit(texts)
        self.chars_.fit(texts)
        self.n_word_ = len(self.words_.vocabulary_)
        self.n_char_ = len(self.chars_.vocabulary_)
        _, X = self._features(texts, question)
        counts = y.sum(axis=0)
        self.trained_ = counts >= self.settings.min_label_count
        self.coef_, self.intercept_ = self._fit_themes(X, y)
        self.thresholds_ = np.full(len(self.labels), 0.5)
        if self.settings.threshold_folds > 1:
            self.thresholds_ = self._tune_thresholds(texts, y, question, groups)
        self.sentiment_classes_ = np.array([], dtype=int)
        if sentiment is not None:
            self._fit_sentiment(X, sentiment, rating)
        self.label_counts_ = {lab: int(c) for lab, c in zip(self.labels, counts)}
        digest = hashlib.sha256()
        digest.update(self.coef_.tobytes())
        digest.update(json.dumps(asdict(self.settings), sort_keys=True).encode())
        self.version = f"linear-1.0+{digest.hexdigest()[:10]}"
        return self

    def _fit_themes(self, X: sp.csr_matrix, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coef = np.zeros((X.shape[1], len(self.labels)), dtype=np.float32)
        intercept = np.full(len(self.labels), -20.0)
        for j in np.flatnonzero(self.trained_):
            model = LogisticRegression(C=self.settings.c_themes, class_weight="balanced",
                                       solver="liblinear")
            model.fit(X, y[:, j])
            coef[:, j] = model.coef_[0]
            intercept[j] = model.intercept_[0]
        return coef, intercept

    def _fit_sentiment(self, X, sentiment, rating) -> None:
        s = np.array([int(v) if v is not None and str(v).strip() not in ("", "nan") else 0
                      for v in sentiment])
        keep = np.isin(s, [1, 2, 3, 4, 5])
        if keep.sum() < 10 or len(np.unique(s[keep])) < 2:
            return
        Xs = sp.hstack([X, _context_matrix(rating, X.shape[0], RATINGS)], format="csr")
        model = LogisticRegression(C=self.settings.c_sentiment, max_iter=2000)
        model.fit(Xs[keep], s[keep])
        self.sentiment_classes_ = model.classes_.astype(int)
        coef, intercept = model.coef_, model.intercept_
        if len(model.classes_) == 2:  # binary: softmax over (0, w.x + b) is the same model
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        self.sentiment_coef_ = coef.T.astype(np.float32)
        self.sentiment_intercept_ = intercept

    def _tune_thresholds(self, texts, y, question, groups) -> np.ndarray:
        """Per-label thresholds maximising F1 on out-of-fold probabilities (training side only)."""
        from sklearn.model_selection import GroupKFold

        groups = np.asarray(groups if groups is not None else np.arange(len(texts)))
        oof = np.zeros(y.shape)
        for fit_idx, held_idx in GroupKFold(self.settings.threshold_folds).split(texts, groups=groups):
            inner = FeedbackClassifier(self.labels, Settings(**{**asdict(self.settings), "threshold_folds": 0}))
            inner.fit([texts[i] for i in fit_idx], y[fit_idx],
                      question=[question[i] for i in fit_idx] if question is not None else None)
            oof[held_idx] = inner.predict_proba([texts[i] for i in held_idx],
                                                question=[question[i] for i in held_idx] if question is not None else None)
        thresholds = np.full(y.shape[1], 0.5)
        grid = np.arange(0.1, 0.91, 0.05)
        for j in np.flatnonzero(self.trained_):
            f1 = [_f1(y[:, j], oof[:, j] >= t) for t in grid]
            thresholds[j] = grid[int(np.argmax(f1))]
        return thresholds

    # -- predicting -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ValidationError("the model has not been trained", expected="a trained model")

    def predict_proba(self, texts: Sequence[str], *, question: Sequence[str] | None = None) -> np.ndarray:
        """Probability of each label for each comment (rows: comments, columns: labels)."""
        self._check_fitted()
        _, X = self._features(list(texts), question)
        return _sigmoid(X @ self.coef_ + self.intercept_)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """0/1 labels from probabilities: pass the threshold, else the most probable label."""
        chosen = proba >= self.thresholds_
        none = ~chosen.any(axis=1)
        if none.any():
            best = np.argmax(proba[none] / self.thresholds_, axis=1)
            chosen[np.flatnonzero(none), best] = True
        return chosen

    def predict(self, texts: Sequence[str], *, question: Sequence[str] | None = None,
                rating: Sequence[str | None] | None = None) -> list[Prediction]:
        """Labels, probabilities, sentiment and explanations for each comment.

        Parameters
        ----------
        texts:
            Redacted comment texts.
        question, rating:
            Optional context for each comment (see :meth:`fit`).

        Returns
        -------
        list[Prediction]
        """
        self._check_fitted()
        texts = list(texts)
        if not texts:
            return []
        words, X = self._features(texts, question)
        scores = X @ self.coef_ + self.intercept_
        proba = _sigmoid(scores)
        chosen = self.decide(proba)
        sent_class, sent_prob, sent_3 = self._sentiment(X, rating, len(texts))
        names = self.words_.get_feature_names_out() if not hasattr(self, "_names") else self._names
        self._names = names
        out = []
        word_part = words @ self.coef_[: self.n_word_]
        char_part = X[:, self.n_word_: self.n_word_ + self.n_char_] @ self.coef_[self.n_word_: self.n_word_ + self.n_char_]
        for i in range(len(texts)):
            picked = np.flatnonzero(chosen[i])
            row = words.getrow(i)
            explanation = {}
            share = {}
            for j in picked:
                contrib = row.data * self.coef_[row.indices, j]
                top = np.argsort(-contrib)[: self.settings.explain_top]
                explanation[self.labels[j]] = [(str(names[row.indices[k]]), float(contrib[k]))
                                               for k in top if contrib[k] > 0]
                total = abs(word_part[i, j]) + abs(char_part[i, j])
                share[self.labels[j]] = round(float(abs(char_part[i, j]) / total), 3) if total else 0.0
            out.append(Prediction(
                labels=tuple(self.labels[j] for j in picked),
                probabilities={self.labels[j]: round(float(proba[i, j]), 4) for j in picked},
                sentiment=sent_class[i], sentiment_3=sent_3[i], sentiment_probability=sent_prob[i],
                explanation=explanation, model_version=self.version, character_share=share,
            ))
        return out

    def sentiment_proba(self, texts: Sequence[str], *, question=None, rating=None) -> np.ndarray:
        """Probability of each sentiment class (columns: ``sentiment_classes_``)."""
        self._check_fitted()
        _, X = self._features(list(texts), question)
        return self._sentiment_matrix(X, rating)

    def _sentiment_matrix(self, X, rating) -> np.ndarray:
        Xs = sp.hstack([X, _context_matrix(rating, X.shape[0], RATINGS)], format="csr")
        z = Xs @ self.sentiment_coef_ + self.sentiment_intercept_
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def _sentiment(self, X, rating, n):
        if len(self.sentiment_classes_) == 0:
            return [None] * n, [None] * n, [None] * n
        p = self._sentiment_matrix(X, rating)
        cls = self.sentiment_classes_[np.argmax(p, axis=1)]
        three = three_class(p, self.sentiment_classes_)
        return ([int(c) for c in cls], [round(float(v), 4) for v in p.max(axis=1)],
                [THREE_CLASSES[k] for k in three])

    # -- saving -----------------------------------------------------------------------
    def save(self, directory: str | Path, card: dict | None = None) -> Path:
        """Write the model (``model.npz``, ``model.json``) and its card (``card.json``)."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"coef": self.coef_, "intercept": self.intercept_, "thresholds": self.thresholds_,
                  "trained": self.trained_, "word_idf": self.words_.idf_, "char_idf": self.chars_.idf_,
                  "sentiment_classes": self.sentiment_classes_}
        if len(self.sentiment_classes_):
            arrays["sentiment_coef"] = self.sentiment_coef_
            arrays["sentiment_intercept"] = self.sentiment_intercept_
        np.savez_compressed(directory / "model.npz", **arrays)
        meta = {
            "format": FORMAT, "version": self.version, "labels": self.labels,
            "settings": asdict(self.settings), "label_counts": self.label_counts_,
            "word_vocabulary": _vocabulary_list(self.words_.vocabulary_),
            "char_vocabulary": _vocabulary_list(self.chars_.vocabulary_),
        }
        (directory / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if card is not None:
            (directory / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n",
                                                 encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "FeedbackClassifier":
        """Read a model written by :meth:`save` (no pickle: nothing in the files can run)."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
            arrays = np.load(directory / "model.npz", allow_pickle=False)
        except FileNotFoundError:
            raise ValidationError("no model here", file=str(directory),
                                  expected="a folder written by 'voices listen train'") from None
        except (ValueError, json.JSONDecodeError) as exc:
            raise ValidationError(f"the model files are damaged ({exc.__class__.__name__})",
                                  file=str(directory)) from None
        if meta.get("format") != FORMAT:
            raise ValidationError(f"unknown model format {meta.get('format')!r}", file=str(directory),
                                  expected=FORMAT)
        s = meta["settings"]
        settings = Settings(**{**s, "word_ngrams": tuple(s["word_ngrams"]), "char_ngrams": tuple(s["char_ngrams"])})
        model = cls(meta["labels"], settings)
        words, chars = model._vectorisers()
        words.vocabulary = {w: k for k, w in enumerate(meta["word_vocabulary"])}
        chars.vocabulary = {w: k for k, w in enumerate(meta["char_vocabulary"])}
        # Fit on nothing would fail; set the fitted state directly from the saved arrays.
        words.vocabulary_, chars.vocabulary_ = words.vocabulary, chars.vocabulary
        words.fixed_vocabulary_ = chars.fixed_vocabulary_ = True
        words.idf_, chars.idf_ = arrays["word_idf"], arrays["char_idf"]
        model.words_, model.chars_ = words, chars
        model.n_word_, model.n_char_ = len(words.vocabulary_), len(chars.vocabulary_)
        model.coef_, model.intercept_ = arrays["coef"], arrays["intercept"]
        model.thresholds_, model.trained_ = arrays["thresholds"], arrays["trained"]
        model.sentiment_classes_ = arrays["sentiment_classes"]
        if len(model.sentiment_classes_):
            model.sentiment_coef_ = arrays["sentiment_coef"]
            model.sentiment_intercept_ = arrays["sentiment_intercept"]
        model.label_counts_ = meta["label_counts"]
        model.version = meta["version"]
        return model


def three_class(proba: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """Index into :data:`THREE_CLASSES` of the most probable group of five-class sentiment."""
    groups = np.zeros((proba.shape[0], 3))
    for k, c in enumerate(classes):
        groups[:, THREE_CLASSES.index(SENTIMENT_3[int(c)])] += proba[:, k]
    return np.argmax(groups, axis=1)


def _vocabulary_list(vocabulary: dict[str, int]) -> list[str]:
    out = [""] * len(vocabulary)
    for word, k in vocabulary.items():
        out[k] = word
    return out


def _sigmoid(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def _f1(truth: np.ndarray, guess: np.ndarray) -> float:
    tp = float(np.sum(truth & guess))
    denominator = float(np.sum(truth) + np.sum(guess))
    return 2 * tp / denominator if denominator else 0.0
