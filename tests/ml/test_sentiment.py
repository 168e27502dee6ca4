"""ml.sentiment: the sentiment head learns, ignores rows without a level, collapses 5 levels to 3, is seeded."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ml.classifier import fit_classifier, fit_features, transform_features
from ml.sentiment import (
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    SentimentModel,
    clean_levels,
    collapse_proba,
    fit_sentiment,
    predict_sentiment,
    sentiment_collapse,
    sentiment_proba,
)

WORDS = {1: "wonderful superb", 2: "good kind", 3: "okay average", 4: "slow rude", 5: "awful dangerous"}


def _toy(n: int = 250, seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Five levels, each a cluster around its own direction of a 12-d space, with a level word in each text."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(1, 6, size=n)
    centres = np.eye(12, dtype=np.float32)[:5] * 3.0
    X = (centres[levels - 1] + rng.normal(scale=0.5, size=(n, 12))).astype(np.float32)
    texts = [f"the visit was {WORDS[int(v)]} {['today', 'again', 'overall'][i % 3]}" for i, v in enumerate(levels)]
    return X, texts, levels


def test_it_learns_a_separable_toy_set_with_and_without_texts():
    X, texts, y = _toy()
    Xt, texts_t, yt = _toy(120, seed=1)
    for tx, tx_t in ((texts, texts_t), (None, None)):
        model = fit_sentiment(X, tx, y, seed=0)
        labels, _ = predict_sentiment(model, Xt, tx_t)
        assert (labels == yt).mean() >= 0.95
    ordinal = fit_sentiment(X, texts, y, method="ordinal")
    assert (predict_sentiment(ordinal, Xt, texts_t)[0] == yt).mean() >= 0.9


def test_predictions_have_the_right_shapes_and_probabilities_sum_to_one():
    X, texts, y = _toy()
    for method in ("multinomial", "ordinal"):
        model = fit_sentiment(X, texts, y, method=method)
        labels, P = predict_sentiment(model, X[:7], texts[:7])
        assert labels.shape == (7,) and P.shape == (7, 5)
        assert set(labels.tolist()) <= {1, 2, 3, 4, 5}
        assert np.all(P >= 0) and np.allclose(P.sum(1), 1.0)
        assert np.array_equal(labels, P.argmax(1) + 1)
        assert np.allclose(sentiment_proba(model, X[:7], texts[:7]), P)


def test_levels_never_seen_get_probability_zero_and_are_never_predicted():
    X, texts, y = _toy()
    keep = y != 5
    model = fit_sentiment(X[keep], [t for t, k in zip(texts, keep, strict=True) if k], y[keep])
    labels, P = predict_sentiment(model, X, texts)
    assert np.all(P[:, 4] == 0) and 5 not in labels
    assert list(model.classes) == [1, 2, 3, 4]


def test_missing_levels_are_left_out_of_training():
    X, texts, y = _toy()
    # the same rows plus junk rows whose level is missing in every spelling: the fit must not change
    junk = np.random.default_rng(5).normal(size=(6, 12)).astype(np.float32) * 10
    missing: list[object] = [0, None, float("nan"), "", "n/a", 7]
    X2 = np.vstack([X, junk])
    texts2 = texts + ["nonsense words here"] * 6
    levels2: list[object] = [int(v) for v in y] + missing
    a = fit_sentiment(X, texts, y)
    b = fit_sentiment(X2, texts2, levels2)
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.intercept, b.intercept)
    assert list(clean_levels(missing)) == [0] * 6
    assert list(clean_levels(["3", 2.0, 5, "1"])) == [3, 2, 5, 1]


def test_collapse_maps_five_levels_to_three():
    assert list(sentiment_collapse([1, 2, 3, 4, 5, 0, None])) == [POSITIVE, POSITIVE, NEUTRAL, NEGATIVE, NEGATIVE, 0, 0]
    assert (POSITIVE, NEUTRAL, NEGATIVE) == (1, 2, 3)
    P = np.array([[0.1, 0.2, 0.3, 0.25, 0.15]])
    assert np.allclose(collapse_proba(P), [[0.3, 0.3, 0.4]])


def test_fits_are_deterministic_for_a_seed_and_pickle():
    X, texts, y = _toy()
    a, b = fit_sentiment(X, texts, y, seed=3), fit_sentiment(X, texts, y, seed=3)
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.intercept, b.intercept)
    again = pickle.loads(pickle.dumps(a))
    assert isinstance(again, SentimentModel)
    assert np.array_equal(predict_sentiment(again, X, texts)[1], predict_sentiment(a, X, texts)[1])


def test_it_needs_two_levels_a_known_method_and_matching_lengths():
    X, texts, y = _toy(20)
    with pytest.raises(ValueError, match="two distinct levels"):
        fit_sentiment(X, texts, np.full(20, 2))
    with pytest.raises(ValueError, match="method"):
        fit_sentiment(X, texts, y, method="tree")
    with pytest.raises(ValueError):
        fit_sentiment(X, texts[:5], y)
    two = fit_sentiment(X, texts, np.where(y > 3, 5, 1))  # two levels: still a softmax over both
    _, P = predict_sentiment(two, X, texts)
    assert np.allclose(P.sum(1), 1.0) and np.all(P[:, 1:4] == 0)


def test_it_uses_the_theme_classifiers_features():
    """The head's features are the classifier's (embeddings, then the weighted TF-IDF of the same texts)."""
    X, texts, y = _toy()
    F, vec = fit_features(X, texts, tfidf_weight=0.5)
    assert vec is not None and F.sparse is not None
    dense = F.tocsr().toarray()
    assert np.allclose(dense[:, :12], X) and np.allclose(dense[:, 12:], 0.5 * vec.transform(texts).toarray())
    assert np.allclose(transform_features(X, texts, vec, 0.5).tocsr().toarray(), dense)
    clf = fit_classifier(X, np.eye(5, dtype=bool)[y - 1], texts=texts)
    assert clf.vectorizer is not None
    assert clf.vectorizer.vocabulary_ == vec.vocabulary_ == fit_sentiment(X, texts, y).vectorizer.vocabulary_
