"""Theme discovery: cluster a project's responses into coherent groups an analyst can name and act on.

Pipeline of :func:`discover`:

1. features: the sentence embeddings joined with an L2-normalised TF-IDF (1-2-gram) SVD of the text at half
   weight, then each row replaced by the mean of its 10 nearest neighbours (kNN smoothing: denoises short,
   noisy responses so k-means finds topical groups rather than single-response quirks);
2. k: ``n_clusters`` if given, else chosen from the data by :func:`choose_k`: every candidate of
   :func:`candidate_ks` (4..60, at least 10 responses per cluster on average) is clustered on a seeded
   1,000-row subsample and scored by its silhouette; the pick is the smallest k scoring at least 90% of the
   best score (:func:`pick_k`);
3. k-means with k, several seeded restarts;
4. with ``min_cluster_size``: clusters smaller than that are dissolved into the nearest remaining cluster;
5. outliers: members far below their cluster's typical similarity to its centre (at most 5% of responses);
6. per cluster: size, c-TF-IDF keywords and phrases, the most representative responses, a suggested name.

How the constants were chosen: ``bench/discovery_quality.py --tune`` on a fixed seeded half of the NHS FFT
responses ("dev"), never on the other half ("eval") where the benchmark measures; the figures behind each choice
are in bench/README.md (discovery quality, tuning).

Density clustering as BERTopic does it (UMAP + HDBSCAN) was measured too (bench/README.md, discovery quality):
it leaves a large share of the responses as outliers, scores lower once they are assigned, and UMAP alone costs
more than the whole clustering, so it is not used for the clusters; UMAP is used (when installed) only for the
2-D map, :func:`layout_2d`.

Plain functions over numpy arrays and lists; no global state; every random step takes ``seed``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_mutual_info_score, silhouette_score
from sklearn.neighbors import NearestNeighbors

from ml.keywords import TermCounts, class_tfidf, group_terms, name_from_terms

#: Upper bound of the automatic number of clusters (more than this is hard for an analyst to review).
MAX_DEFAULT_CLUSTERS = 60
#: Cluster counts :func:`choose_k` tries (those above ``n / MIN_MEAN_CLUSTER_SIZE`` are dropped).
K_CANDIDATES = (4, 6, 8, 10, 12, 15, 20, 25, 30, 35, 40, 50, 60)
#: A candidate k must leave clusters of at least this many responses on average.
MIN_MEAN_CLUSTER_SIZE = 10
#: Rows of the seeded subsample on which :func:`choose_k` clusters and scores each candidate.
K_SAMPLE = 1000
#: k-means restarts per candidate in :func:`choose_k` (one start often merges two groups and splits another).
K_RESTARTS = 3
#: :func:`choose_k` takes the smallest candidate scoring at least this share of the best score (silhouette
#: keeps rising with k on kNN-smoothed text features, so the plain maximum is the largest candidate).
K_TOLERANCE = 0.9
#: How :func:`choose_k` scores a candidate: "silhouette" or "stability".
K_METHOD = "silhouette"
#: Subsamples (each this share of the rows) clustered twice per candidate by the "stability" method.
STABILITY_SHARE = 0.8
#: Dimensions of the TF-IDF SVD joined to the embeddings.
LSA_DIMS = 100
#: Weight of the (unit-norm) TF-IDF SVD block next to the (unit-norm) embedding.
TEXT_WEIGHT = 0.5
#: Neighbours averaged per response by the kNN smoothing (self included).
SMOOTH_NEIGHBOURS = 10
#: Above this many responses the O(n^2) kNN smoothing is skipped.
SMOOTH_MAX_ROWS = 50_000
#: k-means restarts (best inertia kept).
KMEANS_RESTARTS = 4
#: A member is an outlier when its similarity to its cluster centre is this many standard deviations below
#: the cluster's mean similarity ...
OUTLIER_Z = 2.5
#: ... keeping at most this share of all responses as outliers (the most extreme ones).
MAX_OUTLIER_SHARE = 0.05
#: ``layout_2d(method="auto")`` uses t-SNE up to this many rows when UMAP is not installed, PCA above.
TSNE_MAX_ROWS = 20_000


@dataclass
class ClusterSummary:
    """One discovered (or analyst-edited) cluster."""

    id: int
    size: int
    keywords: list[str]  # c-TF-IDF unigrams, best first
    phrases: list[str]  # c-TF-IDF bigrams, best first
    representatives: list[int]  # row indices of members closest to the centre (distinct texts), closest first
    name: str  # suggested name made from the keywords/phrases
    centroid: np.ndarray  # (d,) float32, unit-norm mean of the members' embeddings
    cohesion: float = 0.0  # mean cosine of members to the centroid (1 = identical)


@dataclass
class Discovery:
    """Result of :func:`discover`. ``labels[i]`` is the cluster id of response ``i``, -1 for outliers.

    Cluster ids are 0..k-1, numbered by size (0 = largest); ``clusters`` is in the same order.
    """

    labels: np.ndarray  # (n,) int64
    clusters: list[ClusterSummary]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def outliers(self) -> np.ndarray:
        """Row indices of the outlier group (label -1)."""
        return np.flatnonzero(self.labels < 0)

    @property
    def outlier_share(self) -> float:
        """Share of responses left as outliers."""
        return float(np.mean(self.labels < 0)) if len(self.labels) else 0.0


def _normalize(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), 1e-12)


def _check(X: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {X.shape}")
    if texts is not None and len(texts) != X.shape[0]:
        raise ValueError(f"texts ({len(texts)}) and X ({X.shape[0]} rows) must have the same length")
    return X


def candidate_ks(n: int, *, min_cluster_size: int | None = None) -> list[int]:
    """Cluster counts :func:`choose_k` tries for ``n`` responses: :data:`K_CANDIDATES` up to
    ``n / MIN_MEAN_CLUSTER_SIZE`` (and ``n / min_cluster_size``), at most ``n - 1``; never empty for n >= 3.
    """
    if n < 3:
        return [max(n, 1)] if n else []
    cap = min(n - 1, max(2, n // MIN_MEAN_CLUSTER_SIZE), MAX_DEFAULT_CLUSTERS)
    if min_cluster_size is not None:
        cap = min(cap, max(1, n // min_cluster_size))
    ks = [k for k in K_CANDIDATES if k <= cap]
    return ks or [max(1, min(cap, 2))]


def _subsample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size, replace=False))


def choose_k(
    features: np.ndarray,
    candidates: Sequence[int],
    *,
    seed: int = 0,
    method: str = K_METHOD,
    sample_size: int = K_SAMPLE,
    tolerance: float = K_TOLERANCE,
) -> tuple[int, dict[int, float]]:
    """Pick the number of clusters from the data alone: ``(best k, {k: score})``, higher scores better.

    Every candidate is clustered (k-means, :data:`K_RESTARTS` seeded starts) on one seeded subsample of at
    most ``sample_size`` rows of ``features`` (e.g. :func:`cluster_features`), so the cost does not grow with n.
    ``method="silhouette"``: the mean silhouette of that clustering. ``method="stability"``: two seeded
    subsamples of :data:`STABILITY_SHARE` of those rows are clustered apart and scored by the adjusted mutual
    information of their labels on the rows they share. The pick is :func:`pick_k` (``tolerance``). Candidates
    that are not between 2 and the subsample's size - 1 score nothing; with none left the smallest candidate
    is returned.
    """
    F = _check(features)
    if method not in {"silhouette", "stability"}:
        raise ValueError(f"unknown method {method!r}")
    ks = sorted({int(k) for k in candidates})
    if not ks:
        raise ValueError("no candidate k")
    rng = np.random.default_rng(seed)
    rows = _subsample(F.shape[0], sample_size, rng)
    S = F[rows]
    m = len(rows)
    scores: dict[int, float] = {}
    for k in ks:
        if not 2 <= k <= m - 1:
            continue
        if method == "silhouette":
            labels = _kmeans(S, k, seed, n_init=K_RESTARTS)
            scores[k] = float(silhouette_score(S, labels)) if len(np.unique(labels)) > 1 else -1.0
        else:
            a = _subsample(m, round(STABILITY_SHARE * m), np.random.default_rng([seed, k, 0]))
            b = _subsample(m, round(STABILITY_SHARE * m), np.random.default_rng([seed, k, 1]))
            if min(len(a), len(b)) <= k:
                continue
            la = np.full(m, -1, dtype=np.int64)
            lb = np.full(m, -1, dtype=np.int64)
            la[a] = _kmeans(S[a], k, seed, n_init=K_RESTARTS)
            lb[b] = _kmeans(S[b], k, seed + 1, n_init=K_RESTARTS)
            both = (la >= 0) & (lb >= 0)
            scores[k] = float(adjusted_mutual_info_score(la[both], lb[both]))
    if not scores:
        return ks[0], scores
    return pick_k(scores, tolerance), scores


def pick_k(scores: dict[int, float], tolerance: float = K_TOLERANCE) -> int:
    """The smallest k whose score is at least ``tolerance`` times the best (the best k itself when the best
    score is not positive; ties at the best go to the larger k). ``tolerance=1`` is the plain maximum."""
    best = max(scores.values())
    if best > 0 and tolerance < 1:
        return min(k for k, v in scores.items() if v >= tolerance * best)
    # Ties (e.g. two k both perfectly stable) go to the larger k: the finer grouping loses nothing.
    return max(k for k, v in scores.items() if v == best)


def _text_block(texts: Sequence[str], n: int, seed: int) -> np.ndarray | None:
    """Unit-norm TF-IDF SVD of the texts, or None when the texts carry too little vocabulary."""
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2 if n >= 50 else 1, dtype=np.float32)
    try:
        T = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary
        return None
    dims = min(LSA_DIMS, T.shape[1] - 1, n - 1)
    if dims < 2:
        return None
    S = TruncatedSVD(dims, random_state=seed).fit_transform(T)
    return _normalize(S)


def cluster_features(
    X: np.ndarray,
    texts: Sequence[str] | None,
    *,
    seed: int = 0,
    text_weight: float = TEXT_WEIGHT,
    neighbours: int = SMOOTH_NEIGHBOURS,
) -> np.ndarray:
    """Features used for clustering: embeddings (+ TF-IDF SVD of ``texts`` at ``text_weight``), kNN-smoothed
    over ``neighbours`` rows (1 = no smoothing).

    Returns an ``(n, d')`` float32 array of unit-norm rows.
    """
    X = _check(X, texts)
    n = X.shape[0]
    F = _normalize(X)
    S = _text_block(texts, n, seed) if texts is not None and n >= 3 and text_weight > 0 else None
    if S is not None:
        F = _normalize(np.hstack([F, text_weight * S]))
    nn = min(neighbours, n)
    if nn >= 2 and n <= SMOOTH_MAX_ROWS:
        # Euclidean neighbours of unit vectors = cosine neighbours; the row itself is among them.
        A = NearestNeighbors(n_neighbors=nn).fit(F).kneighbors_graph(F, mode="connectivity")
        F = _normalize(np.asarray(sp.csr_matrix(A) @ F) / nn)
    return F


def _kmeans(F: np.ndarray, k: int, seed: int, n_init: int = KMEANS_RESTARTS) -> np.ndarray:
    if k <= 1:
        return np.zeros(len(F), dtype=np.int64)
    with warnings.catch_warnings():  # "fewer distinct clusters than k" (repeated rows): fixed just below
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(F)
    return _fill_empty(F, km.labels_.astype(np.int64), k)


def _fill_empty(F: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Give every label 0..k-1 at least one member (k-means can leave some empty when rows repeat).

    Each empty label takes the member of the largest cluster that is least similar to that cluster's centre.
    """
    labels = labels.copy()
    for c in range(k):
        if np.any(labels == c):
            continue
        sizes = np.bincount(labels, minlength=k)
        big = int(np.argmax(sizes))
        if sizes[big] < 2:
            break
        idx = np.flatnonzero(labels == big)
        centre = _normalize(F[idx].mean(0))
        labels[idx[int(np.argmin(F[idx] @ centre))]] = c
    return labels


def _centres(F: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.stack([_normalize(F[labels == c].mean(0)) for c in ids]) if len(ids) else np.zeros((0, F.shape[1]))


def _dissolve_small(F: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Move members of clusters smaller than ``min_size`` to the nearest remaining cluster, smallest first."""
    labels = labels.copy()
    while True:
        ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
        if len(ids) <= 1 or sizes.min() >= min_size:
            return labels
        small = ids[np.argmin(sizes)]
        keep = ids[ids != small]
        C = _centres(F, labels, keep)
        members = np.flatnonzero(labels == small)
        labels[members] = keep[np.argmax(F[members] @ C.T, axis=1)]


def _mark_outliers(X: np.ndarray, labels: np.ndarray, max_share: float) -> np.ndarray:
    """Set to -1 the members far below their cluster's typical similarity to its centre (capped share)."""
    labels = labels.copy()
    Xn = _normalize(X)
    score = np.zeros(len(labels), dtype=np.float64)  # z-score of similarity within the cluster
    for c in np.unique(labels[labels >= 0]):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 5:
            continue
        sim = Xn[idx] @ _normalize(Xn[idx].mean(0))
        sd = float(sim.std())
        if sd > 1e-6:
            score[idx] = (sim - sim.mean()) / sd
    cand = np.flatnonzero(score < -OUTLIER_Z)
    cap = math.floor(max_share * len(labels))
    if len(cand) > cap:
        cand = cand[np.argsort(score[cand], kind="stable")[:cap]]
    labels[cand] = -1
    return labels


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by decreasing size (ties by old id); -1 stays -1."""
    ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -sizes))]
    remap = {int(old): new for new, old in enumerate(order)}
    return np.array([remap.get(int(v), -1) for v in labels], dtype=np.int64)


def discover(
    X: np.ndarray,
    texts: Sequence[str],
    *,
    n_clusters: int | None = None,
    min_cluster_size: int | None = None,
    seed: int = 0,
    max_outlier_share: float = MAX_OUTLIER_SHARE,
    top_n: int = 10,
    n_representatives: int = 5,
) -> Discovery:
    """Cluster responses (embeddings ``X`` (n, d) and their ``texts``) into groups with summaries.

    ``n_clusters`` fixes k; ``min_cluster_size`` alone caps k at ``n // min_cluster_size`` (and the default)
    and dissolves any smaller cluster into its nearest neighbour cluster; with both, k is ``n_clusters`` and
    small clusters are dissolved afterwards. Without ``n_clusters``, k is chosen from the data by
    :func:`choose_k` among :func:`candidate_ks`; ``settings`` records k, how it was chosen ("given" or the
    method) and each candidate's score (``k_scores``). At most ``max_outlier_share`` of the responses are
    labelled -1 (outliers). Same inputs and seed, same result.
    """
    X = _check(X, texts)
    n = X.shape[0]
    if n_clusters is not None and n_clusters < 1:
        raise ValueError("n_clusters must be at least 1")
    if min_cluster_size is not None and min_cluster_size < 1:
        raise ValueError("min_cluster_size must be at least 1")
    if n == 0:
        return Discovery(np.zeros(0, dtype=np.int64), [], {"n_clusters": 0, "seed": seed})
    F = cluster_features(X, texts, seed=seed)
    k_scores: dict[int, float] = {}
    if n_clusters is not None:
        k, chosen_by = min(n_clusters, n), "given"
    else:
        k, k_scores = choose_k(F, candidate_ks(n, min_cluster_size=min_cluster_size), seed=seed)
        chosen_by = K_METHOD
    labels = _kmeans(F, k, seed)
    if min_cluster_size is not None:
        labels = _dissolve_small(F, labels, min_cluster_size)
    labels = _mark_outliers(X, labels, max_outlier_share)
    labels = _relabel_by_size(labels)
    clusters = summarize_clusters(X, texts, labels, top_n=top_n, n_representatives=n_representatives)
    settings = {"n_clusters": k, "k_chosen_by": chosen_by, "k_scores": k_scores,
                "min_cluster_size": min_cluster_size, "seed": seed, "max_outlier_share": max_outlier_share,
                "method": "kmeans(embedding+tfidf-svd, knn-smoothed)"}
    return Discovery(labels, clusters, settings)


def _representatives(Xn: np.ndarray, texts: Sequence[str], idx: np.ndarray, centre: np.ndarray, m: int) -> list[int]:
    sim = Xn[idx] @ centre
    out: list[int] = []
    seen: set[str] = set()
    for j in np.argsort(-sim, kind="stable"):
        key = " ".join(str(texts[idx[j]]).lower().split())
        if key in seen:
            continue
        seen.add(key)
        out.append(int(idx[j]))
        if len(out) >= m:
            break
    return out


def summarize_clusters(
    X: np.ndarray,
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    top_n: int = 10,
    n_representatives: int = 5,
) -> list[ClusterSummary]:
    """Summaries for every cluster id >= 0 in ``labels`` (any ints; -1 = outlier, not summarised).

    Works from any labels array, e.g. after an analyst merged clusters or moved responses. Keywords and
    phrases are c-TF-IDF terms (outliers count as a class for the idf); representatives are members with the
    highest cosine to the unit-norm mean embedding, one per distinct text (case/space-insensitive). Returned
    largest first (ties by id).
    """
    X = _check(X, texts)
    labels = np.asarray(labels).astype(np.int64)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape ({X.shape[0]},), got {labels.shape}")
    ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
    if len(ids) == 0:
        return []
    terms = class_tfidf(texts, labels, top_n=top_n)
    Xn = _normalize(X)
    out = []
    for c in ids[np.lexsort((ids, -sizes))]:
        idx = np.flatnonzero(labels == c)
        centre = _normalize(Xn[idx].mean(0))
        t = terms[int(c)]
        name = name_from_terms(t.ranked) or f"Cluster {int(c)}"
        out.append(ClusterSummary(
            id=int(c), size=len(idx), keywords=t.keywords, phrases=t.phrases,
            representatives=_representatives(Xn, texts, idx, centre, n_representatives),
            name=name, centroid=centre.astype(np.float32), cohesion=float(np.mean(Xn[idx] @ centre)),
        ))
    return out


def summarize_group(
    X_members: np.ndarray,
    rows: np.ndarray,
    counts: TermCounts,
    text_of: Callable[[list[int]], list[str]],
    *,
    group_id: int,
    n_groups: int,
    top_n: int = 10,
    n_representatives: int = 5,
) -> ClusterSummary:
    """The summary :func:`summarize_clusters` makes of one group, from the group's members alone.

    ``X_members`` are the members' embeddings, ``rows`` their rows in ``counts`` (the term counts of all texts,
    :func:`ml.keywords.term_counts`) and ``n_groups`` the number of groups, outliers included, that keywords
    are weighed against. ``text_of(indices)`` gives the texts of members (only the few nearest the centre are
    asked for, to skip duplicates among the representatives, which index the members).
    """
    Xn = _normalize(_check(X_members))
    m = Xn.shape[0]
    if m == 0 or len(rows) != m:
        raise ValueError("a group needs at least one member, and one row of counts per member")
    centre = _normalize(Xn.mean(0))
    order = np.argsort(-(Xn @ centre), kind="stable")
    picked: list[int] = []
    seen: set[str] = set()
    start, batch = 0, 4 * n_representatives
    while len(picked) < n_representatives and start < m:
        part = [int(j) for j in order[start:start + batch]]
        for j, text in zip(part, text_of(part), strict=True):
            key = " ".join(str(text).lower().split())
            if key not in seen and len(picked) < n_representatives:
                seen.add(key)
                picked.append(j)
        start, batch = start + batch, batch * 4
    t = group_terms(rows, counts, n_groups=n_groups, top_n=top_n)
    return ClusterSummary(
        id=group_id, size=m, keywords=t.keywords, phrases=t.phrases, representatives=picked,
        name=name_from_terms(t.ranked) or f"Cluster {group_id}", centroid=centre.astype(np.float32),
        cohesion=float(np.mean(Xn @ centre)),
    )


def split_cluster(X_members: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Split one cluster's members (embeddings, (m, d)) into ``k`` non-empty sub-groups 0..k-1 (0 = largest).

    k-means on the unit-norm embeddings; if repeated rows leave a group empty it takes the member least like
    the largest group's centre, so every sub-label is used. Raises ``ValueError`` unless ``1 <= k <= m``.
    """
    F = _normalize(_check(X_members))
    m = F.shape[0]
    if not 1 <= k <= m:
        raise ValueError(f"k must be between 1 and the number of members ({m}), got {k}")
    return _relabel_by_size(_kmeans(F, k, seed))


def _scale_unit(Z: np.ndarray) -> np.ndarray:
    """Shift to 0 and divide by the larger axis range: coordinates in [0, 1], aspect ratio kept."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.min(0)
    span = float(Z.max()) if Z.size else 0.0
    if span > 0:
        Z = Z / span
    return Z.astype(np.float32)


def _umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def layout_2d(X: np.ndarray, *, seed: int = 0, method: str = "auto") -> np.ndarray:
    """2-D map of all responses, ``(n, 2)`` float32 in [0, 1] (aspect kept), for a scatter plot.

    ``method``: "umap" (cosine, needs umap-learn), "tsne" (scikit-learn, on a 50-d PCA), "pca", or "auto":
    UMAP when installed, else t-SNE up to :data:`TSNE_MAX_ROWS` rows, else PCA. Seeded and deterministic.
    """
    X = _normalize(_check(X))
    n = X.shape[0]
    if method not in {"auto", "umap", "tsne", "pca"}:
        raise ValueError(f"unknown layout method {method!r}")
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if n < 5 or X.shape[1] < 2:
        method = "pca"
    elif method == "auto":
        method = "umap" if _umap_available() else ("tsne" if n <= TSNE_MAX_ROWS else "pca")
    if method == "pca":
        dims = min(2, n, X.shape[1])
        Z = np.zeros((n, 2))
        if n > 1:
            Z[:, :dims] = PCA(dims, random_state=seed).fit_transform(X)
        return _scale_unit(Z)
    if method == "umap":
        import umap

        # On a 50-d PCA of the unit vectors (Euclidean ~ cosine there): far cheaper than cosine on 384-d.
        P = PCA(min(50, n, X.shape[1]), random_state=seed).fit_transform(X) if X.shape[1] > 50 else X
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), min_dist=0.1, random_state=seed,
                            n_epochs=200)
        return _scale_unit(reducer.fit_transform(P))
    from sklearn.manifold import TSNE

    P = PCA(min(50, n, X.shape[1]), random_state=seed).fit_transform(X) if X.shape[1] > 50 else X
    tsne = TSNE(2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed, max_iter=500)
    return _scale_unit(tsne.fit_transform(P))


def nearest(X: np.ndarray, query: np.ndarray, *, k: int, exclude: np.ndarray | None = None,
            norms: np.ndarray | None = None) -> list[int]:
    """"More like this": indices of the ``k`` rows of ``X`` most cosine-similar to ``query``, best first.

    ``query`` is one vector (d,) or several (m, d), whose normalised mean is used. Rows in ``exclude``
    (indices) are never returned. Ties go to the lower index. ``norms`` (n,), the rows' norms when known,
    spares a normalised copy of ``X`` (e.g. a memory-mapped matrix of 100,000 rows).
    """
    return [int(i) for i in ranked_by_similarity(X, query, exclude=exclude, norms=norms, top=max(0, k))[: max(0, k)]]


def ranked_by_similarity(X: np.ndarray, query: np.ndarray, *, exclude: np.ndarray | None = None,
                         norms: np.ndarray | None = None, top: int | None = None) -> np.ndarray:
    """Every row index of ``X`` but ``exclude``, most cosine-similar to ``query`` first (see :func:`nearest`).

    With ``top``, only the head of that ranking: its first ``top`` rows (more when rows tie with the last), in the
    same order, without sorting every row.
    """
    X = _check(X)
    q = np.asarray(query, dtype=np.float32)
    if q.ndim == 2:
        q = _normalize(q).mean(0)
    if q.shape != (X.shape[1],):
        raise ValueError(f"query must have {X.shape[1]} dimensions, got shape {np.shape(query)}")
    if norms is None:
        sim = (_normalize(X) @ _normalize(q)).astype(np.float64)
    else:
        if np.shape(norms) != (X.shape[0],):
            raise ValueError(f"norms must have shape ({X.shape[0]},), got {np.shape(norms)}")
        sim = ((X @ _normalize(q)) / np.maximum(np.asarray(norms, dtype=np.float32), 1e-12)).astype(np.float64)
    allowed = np.ones(len(sim), dtype=bool)
    if exclude is not None and len(exclude):
        allowed[np.asarray(exclude, dtype=np.int64)] = False
    idx = np.flatnonzero(allowed)
    if top is not None and 0 <= top < len(idx):
        if top == 0:
            return idx[:0]
        bar = np.partition(sim[idx], len(idx) - top)[len(idx) - top]  # the top-th highest similarity
        idx = idx[sim[idx] >= bar]  # every row tying with it too, so the order matches the full ranking's
    return idx[np.argsort(-sim[idx], kind="stable")]
