"""Label-efficiency benchmark: simulate an analyst labelling batches chosen by active learning vs random.

Usage: python bench/label_efficiency.py [--data FILE [--split FILE]] [--strategy NAME] [--seed N]
Labels come only from the ``pool`` split (the oracle reveals the coded themes); scores are on ``test``.
Macro F1 averages over themes that occur in the scored set (test, or the labelled set for CV figures).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import NHS_DIR, cached_embeddings, load_coded, load_split
from ml.active_learning import DEFAULT_STRATEGY, STRATEGIES, cold_start_batch, select_batch_detailed
from ml.classifier import fit_classifier, predict_labels, predict_proba
from ml.embeddings import load_model

CHECKPOINTS = (50, 100, 200, 500, 1000)


def scores(Y_true: np.ndarray, Y_pred: np.ndarray) -> tuple[float, float]:
    """(micro F1, macro F1 over themes present in Y_true)."""
    present = Y_true.sum(0) > 0
    micro = f1_score(Y_true, Y_pred, average="micro", zero_division=0)
    macro = f1_score(Y_true[:, present], Y_pred[:, present], average="macro", zero_division=0)
    return float(micro), float(macro)


def simulate(X, Y, texts, pool, test, *, strategy, batch, max_labels, seed, log, explore=0.0):  # type: ignore[no-untyped-def]
    """Run one labelling simulation; return {n_labels: (test_micro, test_macro, cv_micro, cv_macro)}."""
    labelled = np.zeros(len(X), dtype=bool)
    pool_mask = np.zeros(len(X), dtype=bool)
    pool_mask[pool] = True
    if strategy == "random":
        first = list(np.random.default_rng(seed).choice(pool, batch, replace=False))
    else:
        first = cold_start_batch(X, batch, seed=seed, candidates=pool)
    labelled[first] = True
    representative = np.zeros(len(X), dtype=bool)  # randomly drawn labels: unbiased for quality estimates
    if strategy == "random":
        representative[first] = True
    out: dict[int, tuple[float, float, float, float]] = {}
    test_texts = [texts[i] for i in test]
    fit_times = []
    while True:
        idx = np.flatnonzero(labelled)
        t0 = time.perf_counter()
        clf = fit_classifier(X[idx], Y[idx], texts=[texts[i] for i in idx], seed=seed,
                             eval_mask=representative[idx])
        probas_pool = predict_proba(clf, X[pool], [texts[i] for i in pool])
        fit_times.append(time.perf_counter() - t0)
        n = int(labelled.sum())
        if n in CHECKPOINTS or n >= max_labels:
            te = scores(Y[test], predict_labels(clf, predict_proba(clf, X[test], test_texts)))
            q = clf.quality
            out[n] = (*te, q.micro_f1 if q else 0.0, q.macro_f1 if q else 0.0)
            log(f"  {strategy:>13} n={n:5d} test micro={te[0]:.3f} macro={te[1]:.3f} | "
                f"cv micro={out[n][2]:.3f} macro={out[n][3]:.3f}  (fit+predict {fit_times[-1]:.1f}s)")
        if n >= max_labels:
            break
        full = np.zeros((len(X), Y.shape[1]), dtype=np.float32)
        full[pool] = probas_pool
        nxt, rand = select_batch_detailed(
            X, full, labelled, min(batch, max_labels - n), strategy=strategy, seed=seed + n,
            theme_support=Y[idx].sum(0), thresholds=clf.thresholds, candidates=pool,
            explore=0.0 if strategy == "random" else explore)
        labelled[nxt] = True
        representative[nxt] = np.array(rand) | (strategy == "random")
    log(f"  {strategy}: mean fit+predict {np.mean(fit_times):.2f}s, max {np.max(fit_times):.2f}s")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--split", type=Path, default=None)
    ap.add_argument("--strategy", default=DEFAULT_STRATEGY, choices=STRATEGIES)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--max-labels", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--explore", type=float, default=0.3, help="random share of each active-learning batch")
    ap.add_argument("--model", default=None, help="embedding model name or local path (default: bundled MiniLM)")
    args = ap.parse_args(argv)
    split = args.split
    if split is None and args.data == NHS_DIR / "coded_responses.csv" and (NHS_DIR / "split.csv").exists():
        split = NHS_DIR / "split.csv"
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    data = load_coded(args.data)
    pool, test = load_split(data, split, seed=args.seed)
    log(f"data {args.data.name}: {len(data.ids)} respondents, {len(data.themes)} themes, "
        f"pool {len(pool)} / test {len(test)}")
    X = cached_embeddings(load_model(args.model), args.model or "all-MiniLM-L6-v2", data.texts)
    log(f"embeddings ready {X.shape} ({time.perf_counter() - t_start:.0f}s)")
    Y, texts = data.Y, data.texts

    al = simulate(X, Y, texts, pool, test, strategy=args.strategy, batch=args.batch,
                  max_labels=args.max_labels, seed=args.seed, log=log, explore=args.explore)
    rnd = simulate(X, Y, texts, pool, test, strategy="random", batch=args.batch,
                   max_labels=args.max_labels, seed=args.seed, log=log)

    ours_all = fit_classifier(X[pool], Y[pool], texts=[texts[i] for i in pool], seed=args.seed)
    ours_all_te = scores(Y[test], predict_labels(ours_all, predict_proba(ours_all, X[test], [texts[i] for i in test])))
    vec = TfidfVectorizer(ngram_range=(1, 2))
    svm = OneVsRestClassifier(LinearSVC())
    keep = Y[pool].any(0)  # OneVsRest cannot fit a column with no positives
    svm.fit(vec.fit_transform([texts[i] for i in pool]), Y[pool][:, keep])
    svm_pred = np.zeros((len(test), Y.shape[1]), dtype=bool)
    svm_pred[:, keep] = svm.predict(vec.transform([texts[i] for i in test])).astype(bool)
    svm_te = scores(Y[test], svm_pred)

    log("")
    log(f"{'labels':>6} | {'AL test mi/ma':>15} | {'AL cv mi/ma':>13} | {'gap mi/ma':>13} | "
        f"{'random test mi/ma':>17} | {'random cv mi/ma':>15}")
    for n in CHECKPOINTS:
        if n not in al:
            continue
        a, r = al[n], rnd[n]
        log(f"{n:>6} | {a[0]:.3f} / {a[1]:.3f}   | {a[2]:.3f} / {a[3]:.3f} | {a[2]-a[0]:+.3f}/{a[3]-a[1]:+.3f} | "
            f"{r[0]:.3f} / {r[1]:.3f}     | {r[2]:.3f} / {r[3]:.3f}")
    q = ours_all.quality
    log(f"ours@all ({len(pool)}) test micro={ours_all_te[0]:.3f} macro={ours_all_te[1]:.3f} | "
        f"cv micro={q.micro_f1 if q else 0:.3f} macro={q.macro_f1 if q else 0:.3f}")
    log(f"tfidf_svm@all ({len(pool)}) test micro={svm_te[0]:.3f} macro={svm_te[1]:.3f}")
    log(f"wall time {time.perf_counter() - t_start:.0f}s")
    n_last = max(al)
    print(f"al@{n_last} micro={al[n_last][0]:.3f} macro={al[n_last][1]:.3f} | "
          f"random@{n_last} micro={rnd[n_last][0]:.3f} macro={rnd[n_last][1]:.3f} | "
          f"tfidf_svm@all micro={svm_te[0]:.3f} macro={svm_te[1]:.3f}")


if __name__ == "__main__":
    main()
