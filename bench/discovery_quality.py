"""Discovery-quality benchmark: how well do discovered clusters match the analysts' themes?

Usage: python bench/discovery_quality.py [--data FILE] [--on eval|all] [--ks 20,30,45,60,80] [--no-bertopic]
       python bench/discovery_quality.py --tune      # choose ml.discovery's constants on the dev half

The NHS respondents are cut into two fixed seeded halves (:func:`dev_eval_split`, seed 0 whatever --seed):
``--tune`` looks at the labels of the dev half only (it scores the k-selection rules and feature settings of
``ml.discovery`` there, so its constants can be set from it); the default mode reports on the other half
("eval", never used to choose anything) or, with ``--on all``, on every response (dev half included).

Reported, each on the chosen rows: ``ml.discovery.discover`` with k chosen automatically and at each k of
``--ks``; plain k-means on the embeddings at each k and at the true theme count (an oracle baseline);
BERTopic at its default settings (given the same embeddings and our offline MiniLM, so it never reaches the
Hugging Face hub) and, at each k, the same fit reduced to k topics (``reduce_topics``) with its outliers
reassigned to the nearest topic embedding (``reduce_outliers(strategy="embeddings")``). Without bertopic
installed, its default pipeline is re-created (UMAP(15, 5 dims, min_dist 0, cosine) + HDBSCAN(10)) and only
the defaults are reported.

Truth: each response's FIRST theme in file order. AMI / ARI are over ALL the chosen responses, outliers
counting as one more label (-1). Times cover clustering only (embeddings are cached in bench/.cache). The
last line is ``ours ... | bertopic ... | kmeans ...``: ours at its automatic k, BERTopic at its defaults,
k-means given the true theme count.
"""

from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import NHS_DIR, cached_embeddings, load_coded
from ml import discovery as disc
from ml.embeddings import embed_texts, load_model

#: Seed of the fixed dev/eval halves (not --seed: the halves must not move between runs).
SPLIT_SEED = 0
DEFAULT_KS = (20, 30, 45, 60, 80)

Log = Callable[[str], None]


def first_themes(path: Path, ids: Sequence[str]) -> np.ndarray:
    """Integer label per respondent: its first theme in file order ("" when it has none)."""
    first: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("theme"):
                first.setdefault(row["respondent_id"], row["theme"])
    _, y = np.unique(np.array([first.get(r, "") for r in ids]), return_inverse=True)
    return y


def dev_eval_split(n: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Two fixed halves of ``range(n)`` (sorted indices): (dev, eval); dev gets the smaller half when n is odd."""
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2:])


def score(y: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(AMI, ARI, outlier share); outliers (-1) stay one label of their own."""
    return (float(adjusted_mutual_info_score(y, labels)), float(adjusted_rand_score(y, labels)),
            float(np.mean(labels < 0)))


def offline_embedder(model: Any) -> Any:
    """``model`` as a BERTopic embedding backend, so BERTopic never loads one from the Hugging Face hub.

    (Given anything it does not recognise, e.g. our ONNX embedder, BERTopic falls back to loading
    "sentence-transformers/all-MiniLM-L6-v2" by name, which fails offline.)
    """
    from bertopic.backend import BaseEmbedder

    class _Embedder(BaseEmbedder):  # type: ignore[misc]
        def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
            return embed_texts(model, documents)

    return _Embedder()


def run_bertopic(X: np.ndarray, texts: list[str], model: Any, ks: Sequence[int],
                 log: Log) -> tuple[np.ndarray, str, dict[int, np.ndarray], float]:
    """BERTopic at its defaults on the given embeddings, then per k: reduced to k topics, outliers reassigned.

    Returns (default labels, name, {k: labels}, seconds of the default fit). Re-created default pipeline and
    no per-k results when bertopic is not installed.
    """
    t0 = time.perf_counter()
    try:
        import bertopic
        from bertopic import BERTopic
    except ImportError:
        from sklearn.cluster import HDBSCAN
        from umap import UMAP

        log("bertopic not installed: running its default pipeline re-created (UMAP + HDBSCAN)")
        U = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine").fit_transform(X)
        labels = HDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="eom",
                         copy=True).fit_predict(U)
        return labels, "recreated", {}, time.perf_counter() - t0
    fitted = BERTopic(embedding_model=offline_embedder(model))
    topics, _ = fitted.fit_transform(texts, embeddings=X)
    t_fit = time.perf_counter() - t0
    per_k: dict[int, np.ndarray] = {}
    fitted.embedding_model = None  # an ONNX Runtime session cannot be deep-copied; nothing below embeds
    for k in ks:
        m = copy.deepcopy(fitted)
        # Agglomerative merge of the topic vectors, as nr_topics does; its count includes the outlier topic.
        m.reduce_topics(texts, nr_topics=k + int(-1 in set(m.topics_)))
        reduced = m.reduce_outliers(texts, list(m.topics_), strategy="embeddings", embeddings=X)
        per_k[k] = np.asarray(reduced)
    return np.asarray(topics), f"bertopic {bertopic.__version__}", per_k, t_fit


def _n_topics(labels: np.ndarray) -> int:
    return len(set(labels.tolist()) - {-1})


def report(args: argparse.Namespace, X: np.ndarray, texts: list[str], y: np.ndarray, model: Any,
           log: Log) -> str:
    """The default mode: every method on the chosen rows and AMI per k; returns the summary line."""
    t0 = time.perf_counter()
    D = disc.discover(X, texts, seed=args.seed)
    t_ours = time.perf_counter() - t0
    ours = score(y, D.labels)
    scores = D.settings["k_scores"]
    log(f"ours (automatic k={D.settings['n_clusters']} by {D.settings['k_chosen_by']}): {len(D.clusters)} clusters, "
        f"ami={ours[0]:.3f} ari={ours[1]:.3f} outliers={ours[2]:.3f} "
        f"largest={D.clusters[0].size if D.clusters else 0} {t_ours:.1f}s")
    log("  k scores: " + " ".join(f"{k}:{v:.3f}" for k, v in scores.items()))
    for c in D.clusters[:12]:
        log(f"  {c.id:>3} {c.size:>5}  {c.name:<35} | {', '.join(c.keywords[:6])}")
    if len(D.clusters) > 12:
        log(f"  ... {len(D.clusters) - 12} more")

    n_true = len(np.unique(y))
    t0 = time.perf_counter()
    km_labels = KMeans(n_clusters=n_true, random_state=args.seed).fit_predict(X)
    t_km = time.perf_counter() - t0
    km = score(y, km_labels)
    log(f"kmeans k={n_true} (true theme count, oracle): ami={km[0]:.3f} ari={km[1]:.3f} {t_km:.1f}s")

    bt: tuple[float, float, float] = (float("nan"),) * 3
    t_bt, bt_k = float("nan"), {}
    if not args.no_bertopic:
        bt_labels, bt_name, bt_k, t_bt = run_bertopic(X, texts, model, args.ks, log)
        bt = score(y, bt_labels)
        log(f"{bt_name} (defaults): {_n_topics(bt_labels)} topics, ami={bt[0]:.3f} ari={bt[1]:.3f} "
            f"outliers={bt[2]:.3f} largest={np.bincount(bt_labels[bt_labels >= 0]).max()} {t_bt:.1f}s")

    log("AMI per k (ours = discover(n_clusters=k); kmeans on the embeddings; bertopic+ = its default fit "
        "reduced to k topics, outliers reassigned; [topics actually left])")
    log(f"  {'k':>4} {'ours':>6} {'kmeans':>7} {'bertopic+':>10}")
    for k in args.ks:
        a = score(y, disc.discover(X, texts, n_clusters=k, seed=args.seed).labels)[0]
        b = score(y, KMeans(n_clusters=k, random_state=args.seed).fit_predict(X))[0]
        c = f"{score(y, bt_k[k])[0]:.3f} [{_n_topics(bt_k[k])}]" if k in bt_k else "-"
        log(f"  {k:>4} {a:>6.3f} {b:>7.3f} {c:>10}")
    return (f"ours ami={ours[0]:.3f} ari={ours[1]:.3f} s={t_ours:.1f} outliers={ours[2]:.3f} | "
            f"bertopic ami={bt[0]:.3f} ari={bt[1]:.3f} s={t_bt:.1f} outliers={bt[2]:.3f} | "
            f"kmeans ami={km[0]:.3f} ari={km[1]:.3f} s={t_km:.1f}")


def tune(args: argparse.Namespace, X: np.ndarray, texts: list[str], y: np.ndarray, log: Log) -> str:
    """Dev half only: AMI per candidate k for a few feature settings; for the default features, the k that
    each selection rule (method, tolerance) picks from the data over three seeds, and the AMI there."""
    cands = disc.candidate_ks(len(texts))
    log(f"candidates {cands}; AMI of discover's k-means (+ outlier marking) at each k")
    settings = [(disc.TEXT_WEIGHT, disc.SMOOTH_NEIGHBOURS), (0.0, disc.SMOOTH_NEIGHBOURS),
                (1.0, disc.SMOOTH_NEIGHBOURS), (disc.TEXT_WEIGHT, 1), (disc.TEXT_WEIGHT, 20)]
    ami: dict[int, float] = {}
    for tw, nn in settings:
        F = disc.cluster_features(X, texts, seed=args.seed, text_weight=tw, neighbours=nn)
        amis = {k: score(y, disc._mark_outliers(X, disc._kmeans(F, k, args.seed), disc.MAX_OUTLIER_SHARE))[0]
                for k in cands}
        big = [v for k, v in amis.items() if k >= 25]
        log(f"text_weight={tw} neighbours={nn}: best AMI {max(amis.values()):.3f} at k={max(amis, key=amis.get)}, "
            f"mean over k>=25 {np.mean(big):.3f}")
        log("  ami " + " ".join(f"{k}:{v:.3f}" for k, v in amis.items()))
        if (tw, nn) == settings[0]:
            ami, F_default = amis, F
    log(f"selection rules on the default features (text_weight={disc.TEXT_WEIGHT}, "
        f"neighbours={disc.SMOOTH_NEIGHBOURS}): pick (AMI there) per seed")
    tolerances = (1.0, 0.95, 0.9, 0.85, 0.8)
    for method, size in (("silhouette", disc.K_SAMPLE), ("silhouette", 2000), ("stability", disc.K_SAMPLE)):
        picks: dict[float, list[str]] = {t: [] for t in tolerances}
        for seed in (0, 1, 2):
            t0 = time.perf_counter()
            _, sc = disc.choose_k(F_default, cands, seed=seed, method=method, sample_size=size)
            log(f"  {method} sample={size} seed={seed} ({time.perf_counter() - t0:.1f}s): "
                + " ".join(f"{c}:{v:.3f}" for c, v in sc.items()))
            for t in tolerances:
                k = disc.pick_k(sc, t)
                picks[t].append(f"{k}({ami[k]:.3f})")
        for t in tolerances:
            log(f"    {method} sample={size} tolerance={t}: " + " ".join(picks[t]))
    return ""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=None, help="embedding model name or local path (default: bundled MiniLM)")
    ap.add_argument("--on", choices=("eval", "all"), default="eval",
                    help="rows to report on: the eval half (default) or every response")
    ap.add_argument("--ks", type=lambda s: [int(v) for v in s.split(",") if v], default=list(DEFAULT_KS),
                    help="comma-separated k for the AMI-per-k table (default 20,30,45,60,80)")
    ap.add_argument("--tune", action="store_true", help="score k-selection rules and settings on the dev half")
    ap.add_argument("--no-bertopic", action="store_true", help="skip the BERTopic comparison")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    data = load_coded(args.data)
    model = load_model(args.model)
    X_all = cached_embeddings(model, args.model or "all-MiniLM-L6-v2", data.texts)
    y_all = first_themes(args.data, data.ids)
    dev, ev = dev_eval_split(len(data.ids))
    rows, part = (dev, "dev half") if args.tune else (ev, "eval half") if args.on == "eval" else \
        (np.arange(len(data.ids)), "all responses")
    X, y, texts = X_all[rows], y_all[rows], [data.texts[i] for i in rows]
    log(f"data {args.data.name}: {len(data.ids)} respondents, {len(data.themes)} themes; on the {part}: "
        f"{len(rows)} responses, {len(np.unique(y))} first themes; embeddings {X.shape} "
        f"({time.perf_counter() - t_start:.0f}s)")
    log("AMI/ARI vs each response's first theme; outliers count as their own label -1")
    summary = tune(args, X, texts, y, log) if args.tune else report(args, X, texts, y, model, log)
    log(f"wall time {time.perf_counter() - t_start:.0f}s")
    if summary:
        print(summary)  # the last line, in the form other runs compare


if __name__ == "__main__":
    main()
