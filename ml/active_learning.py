"""Choosing which responses to label next (active learning) with batch diversity and a cold start."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from sklearn.cluster import KMeans

#: Valid strategy names, for a per-project setting. "rare_entropy" is the default: binary entropy summed
#: over themes, each theme weighted up when it has few labelled examples so rare themes get found, and
#: (when rows are chosen by :func:`select_batch` or :func:`plan_queue`) times the row's local density, so
#: typical responses come before outliers of equal uncertainty (information density, Settles & Craven 2008).
STRATEGIES: tuple[str, ...] = ("rare_entropy", "entropy", "margin", "min_confidence", "ranked_batch", "random")
DEFAULT_STRATEGY = "rare_entropy"
#: Two responses whose embeddings have cosine similarity above this count as near-duplicates.
NEAR_DUPLICATE_COSINE = 0.95
#: Strategies whose utility is multiplied by :func:`local_density` when choosing rows.
DENSITY_WEIGHTED: frozenset[str] = frozenset({"rare_entropy"})
#: Local density = mean cosine similarity to the ``DENSITY_NEIGHBOURS`` most similar of a fixed random
#: sample of ``DENSITY_SAMPLE`` rows (a cheap k-NN density: linear in the number of rows).
DENSITY_SAMPLE = 500
DENSITY_NEIGHBOURS = 20


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def utility(
    probas: np.ndarray,
    *,
    strategy: str = DEFAULT_STRATEGY,
    theme_support: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Usefulness of labelling each row (higher = more useful) under ``strategy``.

    ``probas`` is (n, k); ``theme_support`` (k,) counts labelled positives per theme (for "rare_entropy");
    ``thresholds`` (k,) are the classifier's decision thresholds (for "margin", default 0.5).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    probas = np.asarray(probas, dtype=np.float64)
    n, k = probas.shape
    if strategy == "random" or k == 0:
        return np.asarray(np.random.default_rng(seed).random(n))
    if strategy in ("entropy", "ranked_batch"):
        return _binary_entropy(probas).sum(1)
    if strategy == "rare_entropy":
        support = np.zeros(k) if theme_support is None else np.asarray(theme_support, dtype=np.float64)
        # 1/sqrt(1+support): a theme with 3 examples counts ~4x one with 50 -> queries spread over themes
        weights = 1.0 / np.sqrt(1.0 + support)
        return (_binary_entropy(probas) * weights).sum(1)
    if strategy == "margin":
        th = np.full(k, 0.5) if thresholds is None else np.clip(np.asarray(thresholds, dtype=np.float64), 0, 1)
        return -np.abs(probas - th).min(1)  # closest to any decision boundary first
    # min_confidence (as modAL.multilabel.min_confidence): the least confident theme decides
    return -np.maximum(probas, 1 - probas).min(1)


def local_density(X: np.ndarray, rows: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Local density of ``X[rows]`` (higher = more typical), floored at 1e-3 so it can scale a utility.

    Mean cosine similarity of each row to its :data:`DENSITY_NEIGHBOURS` nearest rows among a fixed sample
    (seed 0, so it does not move between batches) of :data:`DENSITY_SAMPLE` rows of ``X[reference]``
    (default: all rows).
    """
    X = np.asarray(X, dtype=np.float32)
    rows = np.asarray(rows, dtype=int)
    ref_rows = np.arange(len(X)) if reference is None else np.asarray(reference, dtype=int)
    if len(rows) == 0 or len(ref_rows) == 0:
        return np.ones(len(rows))
    if len(ref_rows) > DENSITY_SAMPLE:
        ref_rows = np.random.default_rng(0).choice(ref_rows, DENSITY_SAMPLE, replace=False)
    ref = X[ref_rows] / np.maximum(np.linalg.norm(X[ref_rows], axis=1, keepdims=True), 1e-12)
    k = min(DENSITY_NEIGHBOURS, len(ref_rows))
    out = np.empty(len(rows))
    for start in range(0, len(rows), 10000):  # chunked: bounded memory at 100k+ rows
        V = X[rows[start:start + 10000]]
        S = (V @ ref.T) / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
        out[start:start + len(V)] = np.partition(S, len(ref_rows) - k, axis=1)[:, -k:].mean(1)
    return np.clip(out, 1e-3, None)


def _pick_diverse(X: np.ndarray, candidates: np.ndarray, size: int, cutoff: float) -> list[int]:
    """Greedily keep candidates in order, skipping any too similar to one already kept."""
    chosen: list[int] = []
    kept = np.zeros((0, X.shape[1]), dtype=np.float32)
    for i in candidates:
        v = X[i]
        if len(chosen) and float((kept @ v).max()) > cutoff * float(np.linalg.norm(v)):
            continue
        chosen.append(int(i))
        kept = np.vstack([kept, v[None, :] / max(float(np.linalg.norm(v)), 1e-12)])
        if len(chosen) == size:
            break
    return chosen


def cold_start_batch(X: np.ndarray, size: int, *, seed: int = 0, candidates: np.ndarray | None = None) -> list[int]:
    """Diverse first batch when nothing is labelled: the medoid of each of ``size`` k-means clusters.

    Returns indices into ``X`` (restricted to ``candidates`` if given), biggest cluster first, with no two
    near-duplicates.
    """
    X = np.asarray(X, dtype=np.float32)
    pool = np.arange(len(X)) if candidates is None else np.asarray(candidates)
    if size <= 0 or len(pool) == 0:
        return []
    Xp = X[pool]
    # cluster distinct vectors only, so repeated answers ("Nothing.") cannot take several clusters
    _, first = np.unique(Xp.round(5), axis=0, return_index=True)
    uniq = np.sort(first)
    n_clusters = min(size, len(uniq))
    km = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit(Xp[uniq])
    dist = km.transform(Xp[uniq])
    sizes = np.bincount(km.labels_, minlength=n_clusters)
    order: list[int] = []
    for c in np.argsort(-sizes, kind="stable"):
        members = np.flatnonzero(km.labels_ == c)
        order.append(int(pool[uniq[members[np.argmin(dist[members, c])]]]))
    chosen = _pick_diverse(X, np.array(order), size, NEAR_DUPLICATE_COSINE)
    if len(chosen) < size:  # top up from the rest, still avoiding near-duplicates
        rest = np.setdiff1d(pool, chosen)
        rest = np.random.default_rng(seed).permutation(rest)
        chosen = _pick_diverse(X, np.concatenate([np.array(chosen, dtype=int), rest]), size, NEAR_DUPLICATE_COSINE)
    return chosen


def select_batch(
    X: np.ndarray,
    probas: np.ndarray | None,
    labelled_mask: np.ndarray,
    size: int,
    *,
    strategy: str = DEFAULT_STRATEGY,
    seed: int = 0,
    theme_support: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
    candidates: np.ndarray | None = None,
) -> list[int]:
    """Next ``size`` unlabelled rows of ``X`` by the strategy alone, most useful first, without near-duplicates
    (the strategy stream of :func:`plan_queue`, which is what the app and the benchmark serve).

    ``probas`` (n, k) are the current model's probabilities for all rows (None = no model yet: cold start).
    ``candidates`` optionally restricts which rows may be chosen. Deterministic for a given ``seed``.
    """
    return _select(X, probas, labelled_mask, size, strategy=strategy, seed=seed, theme_support=theme_support,
                   thresholds=thresholds, candidates=candidates)


def _select(
    X: np.ndarray,
    probas: np.ndarray | None,
    labelled_mask: np.ndarray,
    size: int,
    *,
    strategy: str,
    seed: int,
    theme_support: np.ndarray | None,
    thresholds: np.ndarray | None,
    candidates: np.ndarray | None,
) -> list[int]:
    X = np.asarray(X, dtype=np.float32)
    labelled = np.asarray(labelled_mask, dtype=bool)
    allowed = ~labelled
    if candidates is not None:
        allowed &= np.isin(np.arange(len(X)), candidates)
    unl = np.flatnonzero(allowed)
    if size <= 0 or len(unl) == 0:
        return []
    if probas is None or not labelled.any():
        return cold_start_batch(X, size, seed=seed, candidates=unl)
    if theme_support is None:
        theme_support = np.zeros(np.asarray(probas).shape[1])
    u = utility(np.asarray(probas)[unl], strategy=strategy, theme_support=theme_support,
                thresholds=thresholds, seed=seed)
    if strategy in DENSITY_WEIGHTED:
        u = u * local_density(X, unl, reference=candidates)
    # shortlist generously: some of the top items will be dropped as near-duplicates
    n_short = min(len(unl), max(size * 10, 200))
    # The n_short highest utilities, in no order (modAL's multi_argmax, inlined: importing modAL imports torch).
    short = np.argpartition(-u, n_short - 1)[:n_short] if n_short < len(unl) else np.arange(len(unl))
    short = short[np.lexsort((short, -u[short]))]  # by utility, ties by index: deterministic
    if strategy == "ranked_batch":
        from modAL.batch import ranked_batch  # here only: modAL imports torch, which no other strategy needs

        # modAL's ranked batch mode (Cardoso et al.): trades uncertainty against distance to labelled data
        shim = SimpleNamespace(on_transformed=False, X_training=X[labelled])
        span = np.ptp(u[short]) or 1.0
        unc = (u[short] - u[short].min()) / span
        ranked, _ = ranked_batch(shim, X[unl[short]], unc, n_instances=min(size * 2, len(short)),
                                 metric="euclidean", n_jobs=None)
        short = np.concatenate([np.asarray(ranked, dtype=int), np.setdiff1d(short, ranked, assume_unique=True)])
    chosen = _pick_diverse(X, unl[short], size, NEAR_DUPLICATE_COSINE)
    if len(chosen) < size:  # shortlist exhausted by near-duplicates: continue down the full ranking
        rest = np.setdiff1d(unl[np.lexsort((unl, -u))], chosen, assume_unique=True)
        rest = rest[np.argsort(-u[np.searchsorted(unl, rest)], kind="stable")]
        chosen = _pick_diverse(X, np.concatenate([np.array(chosen, dtype=int), rest]), size, NEAR_DUPLICATE_COSINE)
    return chosen


#: Share of the queue served as uniform random exploration (every ``1 / EXPLORE_SHARE``-th position, so any
#: run of 10 consecutive items holds 3): the model also sees typical rows, and the randomly explored labels
#: give the Model page an unbiased quality estimate (see :func:`explored_mask`).
EXPLORE_SHARE = 0.3
#: The first ``HEAD`` strategy picks of a queue are screened for near-duplicates of each other.
HEAD = 200
#: A queue with no model yet starts with the medoids of this many k-means clusters (see :func:`cold_start_batch`).
COLD_START_SIZE = 200
#: :func:`explored_mask` tolerates this share of unlabelled rows (skipped or still leased) in its prefix.
EXPLORE_GAPS = 0.02


def explore_rank(keys: np.ndarray, seed: int = 0) -> np.ndarray:
    """A fixed pseudo-random rank per row from a stable integer key (e.g. a response id) and ``seed``.

    The exploration stream serves unlabelled rows in this order. Keyed, not positional, so a row keeps its
    rank when other rows are imported or deleted (splitmix64 of ``key ^ seed``).
    """
    with np.errstate(over="ignore"):
        z = np.asarray(keys, dtype=np.uint64) ^ np.uint64(seed & 0xFFFFFFFFFFFFFFFF)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(z ^ (z >> np.uint64(31)))


def explored_mask(
    labelled_mask: np.ndarray, *, keys: np.ndarray | None = None, seed: int = 0, candidates: np.ndarray | None = None
) -> np.ndarray:
    """Labelled rows that form a uniform random sample of the pool: for an unbiased quality estimate.

    The rows of the pool (``candidates``, default all) taken in :func:`explore_rank` order are a random
    permutation, whatever labelled them (exploration, the strategy, an import); the longest prefix of it that
    is labelled, but for :data:`EXPLORE_GAPS` of rows skipped or still leased, is a simple random sample. Pass
    its mask (n,) to ``fit_classifier(eval_mask=...)``.
    """
    labelled = np.asarray(labelled_mask, dtype=bool)
    pool = np.arange(len(labelled)) if candidates is None else np.asarray(candidates, dtype=int)
    key = np.arange(len(labelled)) if keys is None else np.asarray(keys)
    order = pool[np.argsort(explore_rank(key[pool], seed), kind="stable")]
    gaps = np.cumsum(~labelled[order])
    ok = gaps <= np.floor(EXPLORE_GAPS * np.arange(1, len(order) + 1))
    end = len(order) if ok.all() else int(np.argmin(ok))
    out = np.zeros(len(labelled), dtype=bool)
    out[order[:end]] = True
    return out & labelled


def plan_queue(
    X: np.ndarray,
    scores: np.ndarray | None,
    labelled_mask: np.ndarray,
    *,
    strategy: str = DEFAULT_STRATEGY,
    seed: int = 0,
    theme_support: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
    keys: np.ndarray | None = None,
    candidates: np.ndarray | None = None,
    explore: float = EXPLORE_SHARE,
) -> list[int]:
    """The labelling queue: every unlabelled row (of ``candidates``), in the order it should be served.

    The one selector: the app stores this order and serves batches from its head; the label-efficiency
    benchmark labels its first ``batch`` rows. Positions ``p`` with ``floor((p + 1) * explore) >
    floor(p * explore)`` take the next row of the exploration stream (unlabelled rows in
    :func:`explore_rank` order of ``keys``, default the row numbers); the others the next row of the strategy
    stream: the :data:`HEAD` best rows by ``strategy`` without near-duplicates (as :func:`select_batch`),
    then the rest by utility. ``scores`` (n, k) are the model's raw scores with ``thresholds`` in their
    scale; with no model (``scores`` None or nothing labelled) the queue opens with the medoids of a
    k-means (:func:`cold_start_batch`) and continues with the exploration stream. Deterministic.
    """
    X = np.asarray(X, dtype=np.float32)
    labelled = np.asarray(labelled_mask, dtype=bool)
    allowed = ~labelled
    if candidates is not None:
        allowed &= np.isin(np.arange(len(X)), candidates)
    unl = np.flatnonzero(allowed)
    if len(unl) == 0:
        return []
    key = np.arange(len(X)) if keys is None else np.asarray(keys)
    stream_explore = unl[np.argsort(explore_rank(key[unl], seed), kind="stable")]
    if scores is None or not labelled.any():
        head = cold_start_batch(X, min(COLD_START_SIZE, len(unl)), seed=seed, candidates=unl)
        first = set(head)
        return head + [int(i) for i in stream_explore if i not in first]
    head = _select(X, scores, labelled, min(HEAD, len(unl)), strategy=strategy, seed=seed,
                   theme_support=theme_support, thresholds=thresholds, candidates=candidates)
    if theme_support is None:
        theme_support = np.zeros(np.asarray(scores).shape[1])
    u = utility(np.asarray(scores)[unl], strategy=strategy, theme_support=theme_support,
                thresholds=thresholds, seed=seed)
    if strategy in DENSITY_WEIGHTED:
        u = u * local_density(X, unl, reference=candidates)  # as in _select: the same densities
    in_head = np.zeros(len(X), dtype=bool)
    in_head[head] = True
    by_utility = unl[np.lexsort((unl, -u))]
    stream_strategy = np.concatenate([np.array(head, dtype=int), by_utility[~in_head[by_utility]]])
    taken = np.zeros(len(X), dtype=bool)
    out: list[int] = []
    ends = {True: 0, False: 0}
    streams = {True: stream_explore, False: stream_strategy}
    for p in range(len(unl)):
        explored = explore > 0 and int((p + 1) * explore) > int(p * explore)
        stream = streams[explored]
        i = ends[explored]
        while i < len(stream) and taken[stream[i]]:
            i += 1
        if i == len(stream):  # this stream is used up: the other one holds every row left
            explored = not explored
            stream, i = streams[explored], ends[explored]
            while taken[stream[i]]:
                i += 1
        taken[stream[i]] = True
        out.append(int(stream[i]))
        ends[explored] = i + 1
    return out
