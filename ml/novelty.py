"""New waves of a survey: how unlike anything coded an answer is, a "new theme?" list, and the wave queue.

When a project takes a new wave of the same question, the model trained on the earlier waves' labels suggests
its themes at once. Two kinds of answers of the new wave deserve a person first: those the model is unsure of
(the active-learning utility of :mod:`ml.active_learning`) and those unlike anything coded before (their
:func:`novelty_scores`); the most novel, without near-duplicates, form a short "new theme?" list
(:func:`new_theme_candidates`): candidates for codes the codeframe lacks. :func:`wave_queue_rank` mixes the
two for the queue.

Pure Python over numpy arrays (no Django). Embeddings are any (n, d) float arrays, compared by cosine. The
defaults were chosen on a development split of the NHS data (wave 1 cut in two by date, never the scoring
wave): see bench/README.md, "Waves (issue 25)", and ``bench/waves.py --tune``.
"""

from __future__ import annotations

import numpy as np

#: Novelty = mean cosine distance to this many nearest coded answers (1: the nearest; on the dev split k = 1
#: and 3 found the most new themes, 10 and 30 fewer).
NOVELTY_K = 1
#: Weight of "no theme fits" (1 - the model's highest probability) added to the k-NN distance (on the dev split,
#: with the best diversity for each, 1.0 found as many new themes as 0, 0.25 and 0.5 or more, at every k).
FIT_WEIGHT = 1.0
#: Share of the wave queue's mix given to novelty (the rest to the active-learning uncertainty): the best of
#: 0, 0.25, 0.5, 0.75 and 1 for the F1 on the dev wave's unlabelled rows after 300 new labels.
WAVE_WEIGHT = 0.75
#: In the "new theme?" list, how much similarity to an answer already listed costs (MMR's trade-off).
DIVERSITY = 0.5
#: Two answers with cosine similarity above this are near-duplicates: never both in the list.
NEAR_DUPLICATE_COSINE = 0.95
#: The list is chosen among this many times ``top`` most novel answers.
SHORTLIST_FACTOR = 10
_CHUNK = 4096


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError("embeddings must be a 2-d array (n, d)")
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def knn_distance(X_new: np.ndarray, X_coded: np.ndarray, *, k: int = NOVELTY_K) -> np.ndarray:
    """Mean cosine distance (1 - similarity) of each row of ``X_new`` to its ``k`` nearest rows of ``X_coded``.

    Returns (n_new,) floats in [0, 2]; all ones when nothing is coded (every answer equally new). ``k`` is
    capped at the number of coded rows. Computed in chunks (memory bounded by ``4096 x n_coded``).
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    A = _unit(X_new)
    if len(A) == 0:
        return np.zeros(0)
    B = _unit(X_coded) if len(X_coded) else np.zeros((0, A.shape[1]), dtype=np.float32)
    if len(B) == 0:
        return np.ones(len(A))
    if A.shape[1] != B.shape[1]:
        raise ValueError("X_new and X_coded must have the same embedding dimension")
    kk = min(k, len(B))
    out = np.empty(len(A))
    for start in range(0, len(A), _CHUNK):
        S = A[start:start + _CHUNK] @ B.T
        top = np.partition(S, len(B) - kk, axis=1)[:, -kk:]
        out[start:start + len(S)] = 1.0 - top.mean(1)
    return np.clip(out, 0.0, 2.0)


def novelty_scores(X_new: np.ndarray, X_coded: np.ndarray, proba_new: np.ndarray | None = None, *,
                   k: int = NOVELTY_K, fit_weight: float = FIT_WEIGHT) -> np.ndarray:
    """How unlike anything coded each new answer is (higher = newer).

    The mean cosine distance of each row of ``X_new`` (n, d) to its ``k`` nearest rows of ``X_coded`` (m, d)
    (:func:`knn_distance`), plus ``fit_weight`` times ``1 - max(proba_new[i])`` when the model's calibrated
    probabilities ``proba_new`` (n, t) are given: an answer no theme fits is more likely a new theme. With no
    themes (t = 0) the term is 1. Deterministic; returns (n,) floats.
    """
    d = knn_distance(X_new, X_coded, k=k)
    if proba_new is not None and fit_weight:
        P = np.asarray(proba_new, dtype=np.float64)
        if P.ndim != 2 or len(P) != len(d):
            raise ValueError("proba_new must be (n_new, n_themes)")
        best = P.max(1) if P.shape[1] else np.zeros(len(P))
        d = d + fit_weight * (1.0 - np.clip(best, 0.0, 1.0))
    return d


def drop_near_duplicates(X: np.ndarray, order: np.ndarray | list[int], size: int, *,
                         cutoff: float = NEAR_DUPLICATE_COSINE) -> list[int]:
    """The first ``size`` rows of ``order`` (indices into ``X``), skipping any whose cosine similarity to a
    row already kept exceeds ``cutoff``. Fewer than ``size`` when ``order`` runs out."""
    U = _unit(X)
    kept: list[int] = []
    for i in np.asarray(order, dtype=int):
        if len(kept) >= size:
            break
        if kept and float((U[kept] @ U[i]).max()) > cutoff:
            continue
        kept.append(int(i))
    return kept


def new_theme_candidates(X_new: np.ndarray, scores: np.ndarray, *, top: int = 50, seed: int = 0,
                         diversity: float = DIVERSITY, cutoff: float = NEAR_DUPLICATE_COSINE) -> list[int]:
    """The "new theme?" list: up to ``top`` row indices of ``X_new``, most novel first, near-duplicates removed.

    Greedy maximal marginal relevance among the ``SHORTLIST_FACTOR * top`` highest ``scores`` (novelty, e.g.
    :func:`novelty_scores`): each step takes the row maximising ``score' - diversity * (highest cosine
    similarity to a row already taken)``, with ``score'`` the scores min-max scaled to [0, 1] over the
    shortlist; a row more similar than ``cutoff`` to one taken is never taken, so repeated answers ("Nothing.")
    cannot fill the list. ``seed`` breaks exact ties (a fixed random order), so the result is deterministic.
    """
    s = np.asarray(scores, dtype=np.float64)
    n = len(s)
    if len(X_new) != n:
        raise ValueError("X_new and scores must have the same length")
    if top <= 0 or n == 0:
        return []
    tie = np.random.default_rng(seed).permutation(n)
    ranked = np.lexsort((tie, -s))
    short = ranked[: min(n, SHORTLIST_FACTOR * top)]
    U = _unit(np.asarray(X_new)[short])
    v = s[short]
    span = float(v.max() - v.min())
    v = (v - v.min()) / span if span > 0 else np.zeros(len(v))
    max_sim = np.full(len(short), -1.0)
    open_ = np.ones(len(short), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < top and open_.any():
        gain = np.where(open_, v - diversity * np.maximum(max_sim, 0.0), -np.inf)
        j = int(np.argmax(gain))  # ties: the earlier in the shortlist (higher score, then the seeded order)
        chosen.append(int(short[j]))
        max_sim = np.maximum(max_sim, U @ U[j])
        open_ &= max_sim <= cutoff
    return chosen


def _percentile_rank(x: np.ndarray) -> np.ndarray:
    """Each value's rank scaled to [0, 1] (ties share their mean rank); 0.5 for a single value."""
    n = len(x)
    if n <= 1:
        return np.full(n, 0.5)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n, dtype=np.float64)
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    return np.asarray(sums[inv] / counts[inv] / (n - 1))


def wave_queue_rank(uncertainty: np.ndarray, novelty: np.ndarray, *, weight: float = WAVE_WEIGHT) -> np.ndarray:
    """The new wave's queue order: row indices, best first, mixing uncertainty and novelty.

    Each signal is turned into its percentile rank over the rows (so their scales do not matter), and rows are
    ordered by ``(1 - weight) * rank(uncertainty) + weight * rank(novelty)``, ties by index. ``weight=0`` is
    the active-learning order alone (``ml.active_learning.utility``, higher = more useful), ``weight=1``
    novelty alone. Deterministic.
    """
    u = np.asarray(uncertainty, dtype=np.float64)
    v = np.asarray(novelty, dtype=np.float64)
    if u.shape != v.shape or u.ndim != 1:
        raise ValueError("uncertainty and novelty must be 1-d arrays of the same length")
    if not 0.0 <= weight <= 1.0:
        raise ValueError("weight must be in [0, 1]")
    mix = (1.0 - weight) * _percentile_rank(u) + weight * _percentile_rank(v)
    return np.lexsort((np.arange(len(u)), -mix))
