from __future__ import annotations

import numpy as np
import pytest

from ml.novelty import (
    drop_near_duplicates,
    knn_distance,
    new_theme_candidates,
    novelty_scores,
    wave_queue_rank,
)


def _cloud(n: int = 200, d: int = 16, seed: int = 0) -> np.ndarray:
    """Coded answers: a tight cloud around one direction."""
    rng = np.random.default_rng(seed)
    centre = np.zeros(d)
    centre[0] = 1.0
    X = centre + rng.normal(size=(n, d)) * 0.1
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def test_an_answer_far_from_every_coded_answer_scores_higher_than_one_among_them():
    coded = _cloud()
    near = coded[:1] + 0.01
    far = np.zeros((1, coded.shape[1]), dtype=np.float32)
    far[0, 1] = 1.0  # orthogonal to the coded cloud
    s = novelty_scores(np.vstack([near, far]), coded, k=10)
    assert s[1] > s[0] + 0.5
    assert np.all(s >= 0)


def test_no_theme_fits_raises_novelty_when_the_probabilities_are_given():
    coded = _cloud()
    X = coded[:2] + 0.0
    P = np.array([[0.9, 0.1], [0.05, 0.1]])  # the second answer: no theme fits
    plain = novelty_scores(X, coded, k=5)
    mixed = novelty_scores(X, coded, P, k=5, fit_weight=1.0)
    assert mixed[1] - plain[1] == pytest.approx(0.9)
    assert mixed[0] - plain[0] == pytest.approx(0.1)
    assert np.array_equal(novelty_scores(X, coded, P, k=5, fit_weight=0.0), plain)


def test_nothing_coded_means_everything_is_equally_new_and_k_is_capped():
    X = _cloud(5)
    assert np.array_equal(novelty_scores(X, np.zeros((0, X.shape[1]))), np.ones(5))
    assert knn_distance(X, X[:2], k=50).shape == (5,)
    with pytest.raises(ValueError):
        knn_distance(X, X, k=0)


def test_duplicates_do_not_fill_the_new_theme_list():
    rng = np.random.default_rng(1)
    d = 16
    dup = np.zeros(d, dtype=np.float32)
    dup[1] = 1.0
    others = rng.normal(size=(30, d)).astype(np.float32)
    X = np.vstack([np.repeat(dup[None, :], 40, axis=0), others])
    scores = np.concatenate([np.full(40, 1.0), np.linspace(0.5, 0.9, 30)])  # the duplicates score highest
    top = new_theme_candidates(X, scores, top=10)
    assert len(top) == 10 and len(set(top)) == 10
    assert sum(i < 40 for i in top) == 1  # one copy of the repeated answer, then distinct ones
    assert top[0] < 40  # the most novel comes first
    U = X[top] / np.linalg.norm(X[top], axis=1, keepdims=True)
    sims = U @ U.T - np.eye(len(top)) * 2
    assert sims.max() <= 0.95


def test_the_list_is_shorter_when_only_duplicates_are_left_and_handles_edges():
    X = np.repeat(np.eye(4, dtype=np.float32)[:2], 10, axis=0)  # two distinct answers, ten copies each
    top = new_theme_candidates(X, np.arange(20, dtype=float), top=5)
    assert len(top) == 2
    assert new_theme_candidates(X, np.arange(20, dtype=float), top=0) == []
    with pytest.raises(ValueError):
        new_theme_candidates(X, np.arange(3, dtype=float))


def test_novelty_and_candidates_are_deterministic_for_a_seed():
    coded, new = _cloud(100, seed=2), np.random.default_rng(3).normal(size=(300, 16)).astype(np.float32)
    s1, s2 = novelty_scores(new, coded, k=7), novelty_scores(new, coded, k=7)
    assert np.array_equal(s1, s2)
    ties = np.round(s1, 1)  # many exact ties: the seed orders them, the same way every time
    assert new_theme_candidates(new, ties, top=20, seed=4) == new_theme_candidates(new, ties, top=20, seed=4)


def test_wave_rank_combines_uncertainty_and_novelty():
    u = np.array([0.9, 0.1, 0.5, 0.2])
    v = np.array([0.0, 1.0, 0.6, 0.1])
    assert list(wave_queue_rank(u, v, weight=0.0)) == [0, 2, 3, 1]  # uncertainty alone
    assert list(wave_queue_rank(u, v, weight=1.0)) == [1, 2, 3, 0]  # novelty alone
    mixed = list(wave_queue_rank(u, v, weight=0.5))
    assert mixed[0] == 2  # second on both beats first on one and last on the other
    assert sorted(mixed) == [0, 1, 2, 3]
    # scales do not matter: ranks are mixed, not raw values
    assert list(wave_queue_rank(u * 1000, v, weight=0.5)) == mixed
    assert list(wave_queue_rank(np.zeros(3), np.zeros(3))) == [0, 1, 2]  # ties by index
    with pytest.raises(ValueError):
        wave_queue_rank(u, v[:3])
    with pytest.raises(ValueError):
        wave_queue_rank(u, v, weight=1.5)


def test_drop_near_duplicates_keeps_the_order_and_skips_copies():
    X = np.vstack([np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32)])
    assert drop_near_duplicates(X, [3, 0, 1, 4, 2], 3) == [3, 1, 2]
    assert drop_near_duplicates(X, [0, 3], 5) == [0]
