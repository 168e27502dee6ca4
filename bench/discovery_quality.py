"""Discovery-quality benchmark: how well do discovered clusters match the analysts' themes?

Usage: python bench/discovery_quality.py [--data FILE] [--seed N] [--no-bertopic]
Compares ``ml.discovery.discover`` (its own defaults) with BERTopic at its default settings (given the same
MiniLM embeddings and model; if bertopic is not installed, its default pipeline re-created: UMAP(15, 5 dims,
min_dist 0, cosine) + HDBSCAN(min_cluster_size=10)) and plain k-means with k = the file's theme count.
Truth: each response's FIRST theme in file order. AMI / ARI are computed over ALL responses, outliers
counting as one more label (-1). Times cover clustering only (embeddings are cached in bench/.cache).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import NHS_DIR, cached_embeddings, load_coded
from ml.discovery import discover
from ml.embeddings import load_model


def first_themes(path: Path, ids: Sequence[str]) -> np.ndarray:
    """Integer label per respondent: its first theme in file order ("" when it has none)."""
    first: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("theme"):
                first.setdefault(row["respondent_id"], row["theme"])
    _, y = np.unique(np.array([first.get(r, "") for r in ids]), return_inverse=True)
    return y


def score(y: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(AMI, ARI, outlier share); outliers (-1) stay one label of their own."""
    return (float(adjusted_mutual_info_score(y, labels)), float(adjusted_rand_score(y, labels)),
            float(np.mean(labels < 0)))


def run_bertopic(X: np.ndarray, texts: list[str], model: Any, log: Any) -> tuple[np.ndarray, str]:
    """BERTopic with default settings on the given embeddings; re-created pipeline if not installed."""
    try:
        from bertopic import BERTopic
    except ImportError:
        from sklearn.cluster import HDBSCAN
        from umap import UMAP

        log("bertopic not installed: running its default pipeline re-created (UMAP + HDBSCAN)")
        U = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine").fit_transform(X)
        return HDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="eom",
                       copy=True).fit_predict(U), "recreated"
    import bertopic

    topics, _ = BERTopic(embedding_model=model).fit_transform(texts, embeddings=X)
    return np.asarray(topics), f"bertopic {bertopic.__version__}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=None, help="embedding model name or local path (default: bundled MiniLM)")
    ap.add_argument("--no-bertopic", action="store_true", help="skip the BERTopic comparison")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    data = load_coded(args.data)
    y = first_themes(args.data, data.ids)
    n_themes = len(data.themes)
    model = load_model(args.model)
    X = cached_embeddings(model, args.model or "all-MiniLM-L6-v2", data.texts)
    log(f"data {args.data.name}: {len(data.ids)} respondents, {n_themes} themes "
        f"({len(np.unique(y))} used as first theme); embeddings {X.shape} ({time.perf_counter() - t_start:.0f}s)")
    log("AMI/ARI over all responses vs each response's first theme; outliers count as their own label -1")

    t0 = time.perf_counter()
    D = discover(X, data.texts, seed=args.seed)
    t_ours = time.perf_counter() - t0
    ours = score(y, D.labels)
    log(f"ours: {len(D.clusters)} clusters (k={D.settings['n_clusters']}), ami={ours[0]:.3f} ari={ours[1]:.3f} "
        f"outliers={ours[2]:.3f} largest={D.clusters[0].size if D.clusters else 0} {t_ours:.1f}s")
    for c in D.clusters[:15]:
        log(f"  {c.id:>3} {c.size:>5}  {c.name:<35} | {', '.join(c.keywords[:6])}")
    if len(D.clusters) > 15:
        log(f"  ... {len(D.clusters) - 15} more")

    if args.no_bertopic:
        bt, t_bt, bt_name = (float("nan"),) * 3, float("nan"), "skipped"
    else:
        t0 = time.perf_counter()
        bt_labels, bt_name = run_bertopic(X, data.texts, model, log)
        t_bt = time.perf_counter() - t0
        bt = score(y, bt_labels)
        log(f"{bt_name} (defaults): {len(set(bt_labels.tolist()) - {-1})} topics, ami={bt[0]:.3f} ari={bt[1]:.3f} "
            f"outliers={bt[2]:.3f} largest={np.bincount(bt_labels[bt_labels >= 0]).max()} {t_bt:.1f}s")

    t0 = time.perf_counter()
    km_labels = KMeans(n_clusters=n_themes, random_state=args.seed).fit_predict(X)
    t_km = time.perf_counter() - t0
    km = score(y, km_labels)
    log(f"kmeans k={n_themes}: ami={km[0]:.3f} ari={km[1]:.3f} largest={np.bincount(km_labels).max()} {t_km:.1f}s")
    log(f"wall time {time.perf_counter() - t_start:.0f}s")
    print(f"ours ami={ours[0]:.3f} ari={ours[1]:.3f} s={t_ours:.1f} outliers={ours[2]:.3f} | "
          f"bertopic ami={bt[0]:.3f} ari={bt[1]:.3f} s={t_bt:.1f} outliers={bt[2]:.3f} | "
          f"kmeans ami={km[0]:.3f} ari={km[1]:.3f} s={t_km:.1f}")


if __name__ == "__main__":
    main()
