from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ml.active_learning import (
    STRATEGIES,
    cold_start_batch,
    local_density,
    plan_queue,
    select_batch,
    utility,
)


def _blobs(n_clusters: int = 8, per: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, 32)) * 5
    X = np.vstack([c + rng.normal(size=(per, 32)) * 2.0 for c in centres]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, np.repeat(np.arange(n_clusters), per)


def _with_duplicates(X: np.ndarray) -> np.ndarray:
    # every row 0..19 appears 5 times: duplicates must never share a batch
    return np.vstack([X, np.repeat(X[:20], 4, axis=0)])


def _no_near_duplicates(X: np.ndarray, batch: list[int]) -> bool:
    V = X[batch] / np.linalg.norm(X[batch], axis=1, keepdims=True)
    S = V @ V.T
    np.fill_diagonal(S, 0)
    return bool(S.max() < 0.95)


def test_cold_start_covers_distinct_clusters() -> None:
    X, cluster = _blobs()
    batch = cold_start_batch(X, 8, seed=0)
    assert len(batch) == 8 == len(set(batch))
    assert len(set(cluster[batch])) == 8  # one per cluster, not 8 from the biggest


def test_cold_start_with_duplicates_and_determinism() -> None:
    X = _with_duplicates(_blobs()[0])
    a = cold_start_batch(X, 12, seed=1)
    assert a == cold_start_batch(X, 12, seed=1)
    assert _no_near_duplicates(X, a)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_select_batch_every_strategy(strategy: str) -> None:
    X = _with_duplicates(_blobs()[0])
    rng = np.random.default_rng(0)
    probas = rng.random((len(X), 4)).astype(np.float32)
    probas[320:] = 0.5  # make the duplicated rows maximally uncertain: the strategy wants them all
    labelled = np.zeros(len(X), dtype=bool)
    labelled[::7] = True
    batch = select_batch(X, probas, labelled, 10, strategy=strategy, seed=0, theme_support=np.array([5, 1, 0, 9]))
    assert len(batch) == 10 == len(set(batch))
    assert not labelled[batch].any()
    assert _no_near_duplicates(X, batch)
    assert batch == select_batch(X, probas, labelled, 10, strategy=strategy, seed=0,
                                 theme_support=np.array([5, 1, 0, 9]))


def test_entropy_prefers_uncertain_items() -> None:
    X, _ = _blobs()
    probas = np.full((len(X), 3), 0.02, dtype=np.float32)
    uncertain = [5, 50, 100, 150, 200]
    probas[uncertain] = 0.5
    labelled = np.zeros(len(X), dtype=bool)
    labelled[0] = True
    for s in ("entropy", "rare_entropy", "margin", "min_confidence"):
        assert set(select_batch(X, probas, labelled, 5, strategy=s)) == set(uncertain)


def test_rare_entropy_favours_rare_themes() -> None:
    probas = np.array([[0.5, 0.01], [0.01, 0.5]])
    u = utility(probas, strategy="rare_entropy", theme_support=np.array([100, 2]))
    assert u[1] > u[0]
    assert np.isclose(*utility(probas, strategy="entropy"))


def test_rare_entropy_prefers_typical_rows_over_outliers() -> None:
    X, _ = _blobs()
    outliers = np.random.default_rng(1).normal(size=(5, X.shape[1])).astype(np.float32)
    X = np.vstack([X, outliers / np.linalg.norm(outliers, axis=1, keepdims=True)])
    dens = local_density(X, np.arange(len(X)))
    assert dens[-5:].max() < dens[:-5].min()
    probas = np.full((len(X), 2), 0.02)
    probas[[3, 43, 83, 123, 163]] = 0.5  # typical and uncertain
    probas[-5:] = 0.5  # outliers, equally uncertain
    labelled = np.zeros(len(X), dtype=bool)
    labelled[0] = True
    for pick in (select_batch(X, probas, labelled, 5), plan_queue(X, probas, labelled, explore=0)[:5]):
        assert set(pick) == {3, 43, 83, 123, 163}
    assert set(select_batch(X, probas, labelled, 10, strategy="entropy")) >= set(range(len(X) - 5, len(X)))


def test_unknown_strategy_rejected() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        utility(np.zeros((2, 2)), strategy="nope")


def test_no_labels_means_cold_start() -> None:
    X, cluster = _blobs()
    batch = select_batch(X, None, np.zeros(len(X), dtype=bool), 8)
    assert len(set(cluster[batch])) == 8


def test_exploration_takes_its_share_of_every_batch() -> None:
    X, _ = _blobs()
    probas = np.random.default_rng(0).random((len(X), 3))
    labelled = np.zeros(len(X), dtype=bool)
    labelled[:10] = True
    queue = plan_queue(X, probas, labelled, explore=0.3, seed=0)
    greedy = plan_queue(X, probas, labelled, explore=0.0, seed=0)
    assert len(queue) == len(set(queue)) and not labelled[queue].any()
    assert len(set(queue[:10]) - set(greedy[:10])) >= 3  # 3 of every 10 positions come from exploration


def test_the_queue_orders_every_unlabelled_item_once() -> None:
    X = _with_duplicates(_blobs()[0])
    probas = np.random.default_rng(0).random((len(X), 3))
    labelled = np.zeros(len(X), dtype=bool)
    labelled[:30] = True
    order = plan_queue(X, probas, labelled, strategy="entropy", explore=0)
    assert sorted(order) == list(np.flatnonzero(~labelled))
    u = utility(probas[order[:50]], strategy="entropy")
    assert (np.diff(u) <= 1e-12).all()  # head is sorted by utility (no exact duplicates in the head)
    cold = plan_queue(X, None, np.zeros(len(X), dtype=bool))
    assert sorted(cold) == list(range(len(X)))


def test_nhs_cold_start_batch_is_varied(nhs_sample: dict[str, Any]) -> None:
    X, texts = nhs_sample["X"], nhs_sample["texts"]
    batch = cold_start_batch(X, 20, seed=0)
    assert len({texts[i].strip().lower() for i in batch}) == 20
    # more distinct themes than a run of the same size from the data's most common theme
    Y = nhs_sample["Y"]
    assert Y[batch].any(0).sum() >= 5


def test_plan_queue_interleaves_exploration_and_explored_mask_is_a_random_prefix() -> None:
    from ml.active_learning import explore_rank, explored_mask, plan_queue

    X = _with_duplicates(_blobs()[0])
    probas = np.random.default_rng(0).random((len(X), 3))
    labelled = np.zeros(len(X), dtype=bool)
    labelled[:30] = True
    keys = np.arange(len(X)) * 7 + 1000  # stable ids, not row numbers
    order = plan_queue(X, probas, labelled, strategy="entropy", seed=3, keys=keys)
    assert sorted(order) == list(np.flatnonzero(~labelled))
    assert order == plan_queue(X, probas, labelled, strategy="entropy", seed=3, keys=keys)
    # 3 of every 10 positions come from the exploration stream, in its fixed random order
    stream = [i for i in np.argsort(explore_rank(keys, 3), kind="stable") if not labelled[i]]
    explored = [order[p] for p in range(len(order)) if int((p + 1) * 0.3) > int(p * 0.3)]
    assert len(explored[:15]) == 15 and all(i in stream for i in explored)
    # the strategy picks at the head are select_batch's (70% of the batch), without near-duplicates
    head = [order[p] for p in range(50) if not int((p + 1) * 0.3) > int(p * 0.3)]
    assert head[:20] == select_batch(X, probas, labelled, 20, strategy="entropy", seed=3)
    # once the first rows of the exploration order are labelled, exactly they are the explored sample
    done = np.zeros(len(X), dtype=bool)
    first = np.argsort(explore_rank(keys, 3), kind="stable")[:40]
    done[first] = True
    done[np.flatnonzero(~done)[:5]] = True  # a few strategy picks beyond the prefix
    mask = explored_mask(done, keys=keys, seed=3)
    assert set(np.flatnonzero(mask)) >= set(first) and not (mask & ~done).any()
    assert mask.sum() < done.sum()
