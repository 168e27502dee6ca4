"""Sentiment head: each response's sentiment level from its text, on the theme classifier's own features.

Levels are ints ``1 .. n_levels`` (NHS FFT: 1 = very positive ... 5 = very negative); 0, None, NaN, "" or any
value outside the range mean "no sentiment given" and such rows are left out of training. The features are
exactly those :func:`ml.classifier.fit_classifier` trains on (:func:`ml.classifier.fit_features`: sentence
embeddings plus weighted TF-IDF 1-2-grams of the same texts), so a project's embeddings serve both heads.

Two models (``method``):

- ``"multinomial"`` (the default): one softmax logistic regression over the levels, L2, class-balanced
  (scikit-learn's ``class_weight="balanced"``, so rare levels such as "very negative" are not drowned by the
  common ones); the predicted level is the most probable one.
- ``"ordinal"``: the levels' order used as well: one class-balanced binary logistic regression per cut
  ``level > k`` (Frank & Hall), fitted together by :func:`ml.logistic.fit_logistic`; ``P(level = k)`` is the
  difference of neighbouring cumulative probabilities (clipped at 0, renormalised).

On the NHS development split (``bench/sentiment.py --tune``, 1,000 rows picked by the theme queue) the
multinomial model with ``C =`` :data:`DEFAULT_C` and TF-IDF weight :data:`DEFAULT_TFIDF_WEIGHT` read best; the
ordinal one read lower on both accuracy and macro-F1 (see bench/README.md "Sentiment (issue 25)"). Pure numpy /
scikit-learn: no Django.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from ml.classifier import fit_features, transform_features
from ml.logistic import fit_logistic

#: Levels of the NHS FFT sentiment scale (1 = very positive ... 5 = very negative).
N_LEVELS = 5
#: Inverse L2 strength (scikit-learn's ``C``, loss summed over rows), chosen on the NHS development split.
DEFAULT_C = 1.0
#: Weight of the TF-IDF block next to the (unit-norm) embeddings, chosen on the same split.
DEFAULT_TFIDF_WEIGHT = 1.0
#: The models :func:`fit_sentiment` knows.
METHODS = ("multinomial", "ordinal")
#: Collapsed three-level scale of :func:`sentiment_collapse`: its values and their names.
POSITIVE, NEUTRAL, NEGATIVE = 1, 2, 3
COLLAPSED_NAMES = {POSITIVE: "positive", NEUTRAL: "neutral", NEGATIVE: "negative"}
#: Iteration cap of the multinomial solver (lbfgs; converges in far fewer on the NHS data).
MAX_ITER = 1000


@dataclass
class SentimentModel:
    """A fitted sentiment head; plain arrays and a scikit-learn vectorizer, so it pickles cleanly.

    ``coef`` (n_features, m) and ``intercept`` (m,) are per seen level (``classes``, sorted) for
    ``"multinomial"``, per cut ``level > classes[j]`` (j < m - 1; m - 1 columns) for ``"ordinal"``.
    """

    n_levels: int
    classes: np.ndarray  # (m,) int: the levels present in training, ascending
    coef: np.ndarray  # float32
    intercept: np.ndarray  # float32
    vectorizer: Any  # TfidfVectorizer | None
    tfidf_weight: float
    method: str
    C: float
    seed: int


def clean_levels(levels: Sequence[Any] | np.ndarray, n_levels: int = N_LEVELS) -> np.ndarray:
    """``levels`` as an int array (n,) with 0 for every missing or out-of-range value.

    Accepts ints, floats (NaN: missing), numeric strings ("" or anything else unreadable: missing) and None.
    """
    out = np.zeros(len(levels), dtype=np.int64)
    for i, v in enumerate(levels):
        if v is None:
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f) and f == int(f) and 1 <= int(f) <= n_levels:
            out[i] = int(f)
    return out


def sentiment_collapse(levels5: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Five levels to three: 1-2 -> :data:`POSITIVE` (1), 3 -> :data:`NEUTRAL` (2), 4-5 -> :data:`NEGATIVE` (3).

    Missing values (see :func:`clean_levels`) stay 0. Works on true levels and on predicted ones alike.
    """
    lv = clean_levels(levels5, N_LEVELS)
    return np.array([0, POSITIVE, POSITIVE, NEUTRAL, NEGATIVE, NEGATIVE], dtype=np.int64)[lv]


def collapse_proba(proba5: np.ndarray) -> np.ndarray:
    """(n, 5) level probabilities to (n, 3) positive / neutral / negative ones (sums of the merged levels)."""
    P = np.asarray(proba5)
    return np.stack([P[:, 0] + P[:, 1], P[:, 2], P[:, 3] + P[:, 4]], axis=1)


def fit_sentiment(
    X: np.ndarray,
    texts: Sequence[str] | None,
    levels: Sequence[Any] | np.ndarray,
    *,
    n_levels: int = N_LEVELS,
    seed: int = 0,
    C: float = DEFAULT_C,
    method: str = "multinomial",
    use_tfidf: bool = True,
    tfidf_weight: float = DEFAULT_TFIDF_WEIGHT,
    balanced: bool = True,
) -> SentimentModel:
    """Fit the sentiment head on embeddings ``X`` (n, d), their ``texts`` and ``levels`` (n,) in ``1..n_levels``.

    Rows whose level is missing (:func:`clean_levels`) are dropped first, the TF-IDF vocabulary included.
    ``texts=None`` or ``use_tfidf=False``: embeddings only. ``balanced`` weighs each level by the inverse of its
    frequency. Needs at least two distinct levels. Deterministic: the solvers are; ``seed`` is kept on the model
    (and would seed any randomised step).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    X = np.asarray(X, dtype=np.float32)
    y = clean_levels(levels, n_levels)
    if X.ndim != 2 or len(y) != X.shape[0]:
        raise ValueError(f"X {X.shape} must be 2-D with one row per level ({len(y)})")
    if texts is not None and len(texts) != len(y):
        raise ValueError("texts and levels must have the same length")
    keep = np.flatnonzero(y > 0)
    y = y[keep]
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("fitting sentiment needs at least two distinct levels among the labelled rows")
    kept_texts = None if texts is None else [texts[int(i)] for i in keep]
    F, vec = fit_features(X[keep], kept_texts, use_tfidf=use_tfidf, tfidf_weight=tfidf_weight)
    if method == "multinomial":
        lr = LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=MAX_ITER,
                                random_state=seed)
        lr.fit(F.tocsr(), y)
        coef = lr.coef_.T.astype(np.float32)
        intercept = lr.intercept_.astype(np.float32)
        if len(classes) == 2:  # scikit-learn keeps one column for two classes: make it a softmax pair
            coef = np.hstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
    else:
        cuts = y[:, None] > classes[None, :-1]  # (n, m - 1): level above each cut
        coef, intercept = fit_logistic(F, cuts, C, balanced=balanced, max_iter=300, grad_tol=1e-4)
    return SentimentModel(n_levels, classes.astype(np.int64), coef, intercept, vec, tfidf_weight, method, C, seed)


def sentiment_proba(model: SentimentModel, X: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
    """Probabilities (n, ``model.n_levels``) of each level (column ``j`` is level ``j + 1``); rows sum to 1.

    Levels never seen in training get probability 0.
    """
    X = np.asarray(X, dtype=np.float32)
    out = np.zeros((X.shape[0], model.n_levels), dtype=np.float64)
    cols = model.classes - 1
    for start in range(0, X.shape[0], 20000):  # chunked: no huge sparse matrix for 100k+ rows
        sl = slice(start, start + 20000)
        chunk_texts = None if texts is None else list(texts[sl])
        if model.vectorizer is not None and chunk_texts is None:
            raise ValueError("this sentiment model uses TF-IDF features: pass the texts as well")
        F = transform_features(X[sl], chunk_texts, model.vectorizer, model.tfidf_weight)
        z = F.dot(model.coef).astype(np.float64) + model.intercept
        if model.method == "multinomial":
            z -= z.max(1, keepdims=True)
            P = np.exp(z)
        else:
            above = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))  # P(level > classes[j])
            cum = np.hstack([np.ones((len(z), 1)), above, np.zeros((len(z), 1))])
            P = np.clip(cum[:, :-1] - cum[:, 1:], 0.0, None) + 1e-12
        out[sl, cols] = P / P.sum(1, keepdims=True)
    return out


def predict_sentiment(
    model: SentimentModel, X: np.ndarray, texts: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(labels (n,) int levels ``1..n_levels``, the most probable; proba (n, n_levels), see :func:`sentiment_proba`)."""
    P = sentiment_proba(model, X, texts)
    return (P.argmax(1) + 1).astype(np.int64), P
