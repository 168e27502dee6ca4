from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ml.discovery import (
    K_METHOD,
    K_TOLERANCE,
    candidate_ks,
    choose_k,
    discover,
    layout_2d,
    nearest,
    pick_k,
    ranked_by_similarity,
    split_cluster,
    summarize_clusters,
    summarize_group,
)
from ml.keywords import class_tfidf, group_terms, term_counts

# Small real-looking survey text: three clear topics (waiting, staff manner, food) plus two odd ones out.
WAIT = [
    "Waited four hours for the ambulance to arrive", "The wait for an ambulance was far too long",
    "We waited hours in the corridor before anyone saw us", "Long waiting times at the hospital",
    "Ambulance took too long to arrive, we waited for hours", "Waiting time was much too long",
    "Too long a wait to be seen", "Had to wait hours for transport home",
]
STAFF = [
    "The staff were friendly and helpful", "Very kind and caring nurses", "Staff were polite and friendly",
    "The crew were lovely, kind and reassuring", "Friendly helpful staff who listened to me",
    "Nurses were caring and very kind", "Helpful, friendly and professional staff", "Kind caring staff",
]
FOOD = [
    "The food on the ward was cold", "Better food and more choice of meals please",
    "Hospital food was awful and cold", "More choice of food and drinks",
    "The meals were tasty and hot", "Food could be improved, cold meals",
    "Drinks and snacks should be available", "The food was not nice",
]
ODD = ["My parking ticket cost twelve pounds", "The wifi did not work in the day room"]
TEXTS = WAIT + STAFF + FOOD + ODD


@pytest.fixture(scope="module")
def small(model: Any) -> tuple[np.ndarray, list[str]]:
    from ml.embeddings import embed_texts

    return embed_texts(model, TEXTS), TEXTS


def _words(texts: list[str]) -> set[str]:
    return {w.strip(".,!?").lower() for t in texts for w in t.split()}


def test_discover_finds_the_topics_and_is_deterministic(small: tuple[np.ndarray, list[str]]) -> None:
    X, texts = small
    a = discover(X, texts, n_clusters=3, seed=0)
    b = discover(X, texts, n_clusters=3, seed=0)
    assert np.array_equal(a.labels, b.labels)
    assert [c.keywords for c in a.clusters] == [c.keywords for c in b.clusters]
    assert a.labels.shape == (len(texts),) and a.labels.dtype == np.int64
    assert 1 <= len(a.clusters) <= 3
    assert a.outlier_share <= 0.10
    # each topic is dominated by one cluster (its majority label covers at least 6 of its 8 responses)
    for lo in (0, 8, 16):
        lab = a.labels[lo:lo + 8]
        lab = lab[lab >= 0]
        assert np.bincount(lab).max() >= 6
    assert sorted(c.size for c in a.clusters) == sorted(np.bincount(a.labels[a.labels >= 0]).tolist())
    assert [c.id for c in a.clusters] == list(range(len(a.clusters)))  # numbered by size, largest first
    assert all(a.clusters[i].size >= a.clusters[i + 1].size for i in range(len(a.clusters) - 1))


def test_keywords_come_from_the_clusters_own_texts(small: tuple[np.ndarray, list[str]]) -> None:
    X, texts = small
    d = discover(X, texts, n_clusters=3, seed=0)
    for c in d.clusters:
        members = [texts[i] for i in np.flatnonzero(d.labels == c.id)]
        own = _words(members)
        assert c.keywords and c.name
        assert all(k in own for k in c.keywords)
        assert all(set(p.split()) <= own for p in c.phrases)
        assert all(any(w.lower() in own for w in part.split()) for part in c.name.split(", "))
    names = " ".join(c.name.lower() + " " + " ".join(c.keywords[:3]) for c in d.clusters)
    assert "food" in names and any(w in names for w in ("wait", "long", "hours"))


def test_class_tfidf_prefers_distinctive_terms() -> None:
    texts = ["cold food", "food was cold", "cold meals and food", "kind staff", "staff were kind", "kind nurse"]
    terms = class_tfidf(texts, np.array([0, 0, 0, 1, 1, 1]), top_n=3)
    assert terms[0].keywords[:2] == ["cold", "food"] or terms[0].keywords[:2] == ["food", "cold"]
    assert set(terms[1].keywords[:2]) == {"kind", "staff"}
    assert "cold food" in terms[0].phrases
    assert not set(terms[0].keywords) & {"kind", "staff", "nurse"}


def test_representatives_are_members_closest_to_the_centroid(small: tuple[np.ndarray, list[str]]) -> None:
    X, texts = small
    d = discover(X, texts, n_clusters=3, seed=0)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for c in d.clusters:
        members = np.flatnonzero(d.labels == c.id)
        assert set(c.representatives) <= set(members.tolist())
        centre = Xn[members].mean(0)
        centre /= np.linalg.norm(centre)
        np.testing.assert_allclose(c.centroid, centre, atol=1e-5)
        sims = Xn[members] @ centre
        expected = members[np.argsort(-sims, kind="stable")][: len(c.representatives)]
        assert c.representatives == expected.tolist()  # texts here are distinct, so no dedupe applies
        assert 0 < c.cohesion <= 1


def test_representatives_skip_duplicate_texts() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 8)).astype(np.float32)
    X[1] = X[0]
    texts = ["Nothing.", "nothing.", "a", "b", "c", "d"]
    [c] = summarize_clusters(X, texts, np.zeros(6, dtype=int), n_representatives=6)
    assert len(c.representatives) == 5 and not {0, 1} <= set(c.representatives)


def test_summarize_after_merge_and_move(small: tuple[np.ndarray, list[str]]) -> None:
    X, texts = small
    d = discover(X, texts, n_clusters=3, seed=0)
    merged = d.labels.copy()
    merged[merged == 2] = 0  # analyst merges cluster 2 into 0
    merged[len(WAIT) + len(STAFF)] = 7  # ... and moves one response into a new cluster 7
    merged[-1] = -1  # ... and marks one as an outlier
    summaries = summarize_clusters(X, texts, merged, top_n=5, n_representatives=3)
    by_id = {c.id: c for c in summaries}
    assert set(by_id) == set(np.unique(merged[merged >= 0]).tolist())
    assert by_id[0].size == int((merged == 0).sum())
    assert by_id[7].size == 1 and by_id[7].representatives == [len(WAIT) + len(STAFF)]
    assert all(len(c.keywords) <= 5 and len(c.representatives) <= 3 for c in summaries)
    assert summarize_clusters(X, texts, np.full(len(texts), -1)) == []
    with pytest.raises(ValueError):
        summarize_clusters(X, texts, merged[:-1])


def test_min_cluster_size_merges_small_clusters(small: tuple[np.ndarray, list[str]]) -> None:
    X, texts = small
    d = discover(X, texts, n_clusters=8, min_cluster_size=5, seed=1)
    assert all(c.size >= 5 for c in d.clusters)
    d2 = discover(X, texts, min_cluster_size=9, seed=1)
    assert all(c.size >= 9 for c in d2.clusters) and len(d2.clusters) <= len(texts) // 9


def test_split_gives_k_non_empty_groups(small: tuple[np.ndarray, list[str]]) -> None:
    X, _ = small
    members = X[: len(WAIT) + len(STAFF)]
    sub = split_cluster(members, 2, seed=0)
    assert sub.shape == (len(members),) and set(sub.tolist()) == {0, 1}
    assert np.array_equal(sub, split_cluster(members, 2, seed=0))
    # the two topics end up (mostly) in different sub-groups
    assert np.bincount(sub[: len(WAIT)]).max() >= 7 and np.bincount(sub[len(WAIT):]).max() >= 7
    # repeated rows cannot leave a group empty
    dup = np.repeat(X[:2], 5, axis=0)
    assert set(split_cluster(dup, 4, seed=0).tolist()) == {0, 1, 2, 3}
    with pytest.raises(ValueError):
        split_cluster(members, len(members) + 1)


def test_layout_shape_range_and_determinism(small: tuple[np.ndarray, list[str]]) -> None:
    X, _ = small
    for method in ("pca", "tsne"):
        Z = layout_2d(X, seed=0, method=method)
        assert Z.shape == (len(X), 2) and Z.dtype == np.float32
        assert Z.min() >= 0 and Z.max() <= 1 and np.isclose(Z.max(), 1.0)
        assert np.array_equal(Z, layout_2d(X, seed=0, method=method))
    assert layout_2d(X[:0]).shape == (0, 2)
    assert layout_2d(X[:1]).shape == (1, 2)


def test_nearest_excludes_and_ranks_by_cosine() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 16)).astype(np.float32)
    X[7] *= 10  # scale must not matter: cosine
    q = X[7] / 10 + 0.01 * rng.normal(size=16).astype(np.float32)
    assert nearest(X, q, k=1) == [7]
    got = nearest(X, q, k=5, exclude=np.array([7, 3]))
    assert 7 not in got and 3 not in got and len(got) == 5
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    sims = Xn @ (q / np.linalg.norm(q))
    sims[[7, 3]] = -np.inf
    assert got == np.argsort(-sims, kind="stable")[:5].tolist()
    # several query vectors: their normalised mean
    multi = nearest(X, X[[1, 2]], k=3, exclude=np.array([1, 2]))
    mean = Xn[[1, 2]].mean(0)
    s2 = Xn @ (mean / np.linalg.norm(mean))
    s2[[1, 2]] = -np.inf
    assert multi == np.argsort(-s2, kind="stable")[:3].tolist()
    assert len(nearest(X, q, k=100, exclude=np.arange(45))) == 5


def test_nhs_sample_outliers_bounded_and_no_catch_all(nhs_sample: dict[str, Any]) -> None:
    X, texts = nhs_sample["X"], nhs_sample["texts"]
    d = discover(X, texts, seed=0)
    assert d.outlier_share <= 0.10
    assert 5 <= len(d.clusters) <= 60
    assert d.clusters[0].size <= 0.25 * len(texts)  # no giant catch-all cluster
    assert all(c.keywords for c in d.clusters)
    # clusters relate to the analysts' themes: above what chance gives
    from sklearn.metrics import adjusted_mutual_info_score

    first = nhs_sample["Y"].argmax(1)
    assert adjusted_mutual_info_score(first, d.labels) > 0.1
    assert np.array_equal(d.labels, discover(X, texts, seed=0).labels)


def test_keywords_leave_out_the_pieces_of_contractions() -> None:
    texts = ["I've stopped cooking, I don't have time", "I've no time to cook and don't want to",
             "Delivery was late again", "The delivery came late"]
    terms = class_tfidf(texts, np.array([0, 0, 1, 1]), top_n=10)
    assert "cooking" in terms[0].keywords or "cook" in terms[0].keywords
    assert not {"ve", "don"} & set(terms[0].keywords)


def _blobs(n_centres: int, per: int, dim: int = 24, spread: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated Gaussian clusters: random unit centres, rows = centre + noise (sd ``spread``)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_centres, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(n_centres), per)
    X = centres[truth] + spread * rng.normal(size=(len(truth), dim))
    return X.astype(np.float32), truth


@pytest.mark.parametrize("method", ["silhouette", "stability"])
def test_choose_k_finds_the_number_of_separated_blobs(method: str) -> None:
    X, _ = _blobs(8, 40)
    tol = {"silhouette": K_TOLERANCE, "stability": 1.0}[method]  # stability ties at 1.0 on coarser k
    k, scores = choose_k(X, [4, 6, 8, 10, 12, 16], seed=0, method=method, tolerance=tol)
    assert k == 8, scores
    assert set(scores) == {4, 6, 8, 10, 12, 16}
    assert scores[8] == max(scores.values())
    X5, _ = _blobs(5, 40, seed=3)
    assert choose_k(X5, [3, 5, 8, 12], seed=0, method=method, tolerance=tol)[0] == 5


def test_choose_k_is_deterministic_for_a_seed_and_subsamples_large_inputs() -> None:
    X, _ = _blobs(6, 500, spread=0.6)  # 3,000 rows, overlapping: scores depend on the subsample
    a = choose_k(X, [3, 6, 9, 12], seed=7, sample_size=600)
    assert a == choose_k(X, [3, 6, 9, 12], seed=7, sample_size=600)
    assert a[1] != choose_k(X, [3, 6, 9, 12], seed=8, sample_size=600)[1]
    # candidates that a subsample cannot hold score nothing; none left: the smallest one comes back
    assert choose_k(X[:5], [2, 3, 10], seed=0)[1].keys() == {2, 3}
    assert choose_k(X[:3], [5, 9], seed=0) == (5, {})
    with pytest.raises(ValueError):
        choose_k(X, [], seed=0)
    with pytest.raises(ValueError):
        choose_k(X, [3], method="guess")


def test_pick_k_takes_the_smallest_k_close_to_the_best_score() -> None:
    rising = {10: 0.10, 20: 0.17, 30: 0.185, 40: 0.19, 60: 0.20}  # silhouette rising with k, as on NHS
    assert pick_k(rising, 0.9) == 30 and pick_k(rising, 0.85) == 20 and pick_k(rising, 1.0) == 60
    assert pick_k({3: 1.0, 5: 1.0, 8: 0.8}, 1.0) == 5  # ties at the best go to the larger k
    assert pick_k({3: -0.2, 5: -0.1}, 0.9) == 5  # no positive score: the best


def test_candidate_ks_respect_the_mean_cluster_size() -> None:
    assert max(candidate_ks(6205)) == 60 and min(candidate_ks(6205)) >= 2
    assert max(candidate_ks(200)) <= 20
    assert max(candidate_ks(6205, min_cluster_size=500)) <= 12
    assert candidate_ks(26) == [2] and candidate_ks(2) == [2] and candidate_ks(0) == []


def test_discover_without_k_chooses_it_and_records_the_scores() -> None:
    X, truth = _blobs(8, 30, dim=32)
    texts = [f"topic{c} answer {i}" for i, c in enumerate(truth)]
    d = discover(X, texts, seed=0)
    s = d.settings
    assert s["k_chosen_by"] == K_METHOD and s["n_clusters"] == 8
    assert set(s["k_scores"]) == set(candidate_ks(len(X))) and s["k_scores"][8] == max(s["k_scores"].values())
    assert len(d.clusters) == 8
    from sklearn.metrics import adjusted_mutual_info_score

    assert adjusted_mutual_info_score(truth, d.labels) > 0.9
    given = discover(X, texts, n_clusters=5, seed=0).settings
    assert given["n_clusters"] == 5 and given["k_chosen_by"] == "given" and given["k_scores"] == {}


def test_one_group_summarised_from_its_members_and_term_counts_equals_the_whole_summary() -> None:
    """What a cluster edit computes from the changed cluster alone (plus the counts of all texts) is what
    summarising every cluster of all texts gives, keywords, phrases, name and representatives alike."""
    rng = np.random.default_rng(3)
    words = ["wait", "staff", "kind", "parking", "food", "cold", "rude", "clean", "late", "doctor", "nurse", "bed"]
    texts = [" ".join(rng.choice(words, rng.integers(2, 7))) for _ in range(120)] + ["the and", "Staff kind."] * 3
    X, _ = _blobs(4, len(texts) // 4 + 1)
    X = X[: len(texts)]
    labels = rng.integers(-1, 4, len(texts))
    labels[labels == 2] = 7  # any ints
    whole = {s.id: s for s in summarize_clusters(X, texts, labels)}
    counts = term_counts(texts)
    assert counts.n_texts == len(texts)
    n_groups = len(np.unique(labels))
    for label, want in whole.items():
        idx = np.flatnonzero(labels == label)
        asked: list[int] = []

        def text_of(members: list[int], idx=idx, asked=asked) -> list[str]:  # type: ignore[no-untyped-def]
            asked.extend(members)
            return [texts[idx[j]] for j in members]

        got = summarize_group(X[idx], idx, counts, text_of, group_id=label, n_groups=n_groups)
        assert len(asked) < len(idx) or len(idx) <= 20  # only the texts nearest the centre are read
        assert (got.keywords, got.phrases, got.name, got.size) == (want.keywords, want.phrases, want.name, want.size)
        assert [int(idx[i]) for i in got.representatives] == want.representatives
        assert np.allclose(got.centroid, want.centroid) and got.cohesion == pytest.approx(want.cohesion)
    for label, terms in class_tfidf(texts, labels).items():
        own = group_terms(np.flatnonzero(labels == label), counts, n_groups=n_groups)
        assert [t for t, _ in own.ranked] == [t for t, _ in terms.ranked] and own.keywords == terms.keywords
        assert [w for _, w in own.ranked] == pytest.approx([w for _, w in terms.ranked])


def test_nearest_with_known_norms_ranks_as_without_and_leaves_the_matrix_alone() -> None:
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 16)).astype(np.float32) * rng.uniform(0.5, 3, (300, 1)).astype(np.float32)
    X.setflags(write=False)  # as a read-only memory map: never normalised in place
    q = rng.standard_normal(16)
    exclude = np.array([4, 9, 200])
    plain = nearest(X, q, k=25, exclude=exclude)
    assert nearest(X, q, k=25, exclude=exclude, norms=np.linalg.norm(X, axis=1)) == plain
    assert ranked_by_similarity(X, q, exclude=exclude).tolist()[:25] == plain
    with pytest.raises(ValueError, match="norms"):
        nearest(X, q, k=3, norms=np.ones(5))
