"""Label-efficiency benchmark: an analyst labelling the batches the app would serve, vs random labels.

Usage: python bench/label_efficiency.py [--data FILE [--split FILE]] [--strategy NAME] [--seeds 0,1,2,3,4]
       python bench/label_efficiency.py --tune      # choose the exploration share on a development split

Labels come only from the ``pool`` split (the oracle reveals the coded themes); scores are on ``test``.
Each batch is the head of ``ml.active_learning.plan_queue`` called exactly as the app's training service
calls it (raw scores, score thresholds, theme support, keys), and the Model page's estimate is
``fit_classifier(...).quality`` with ``eval_mask=explored_mask(...)``, as in the app. ``--tune`` never looks
at ``test``: it carves a development split (20%) out of the pool, labels from the rest and scores on it.
Macro F1 averages over themes that occur in the scored set. Figures are means (± sd) over the seeds.

Last line: al@1000 micro=… macro=… | random@1000 micro=… macro=… | tfidf_svm@all micro=… macro=… |
self_gap micro=… macro=… | ece=…
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import NHS_DIR, cached_embeddings, load_coded, load_split, split_for
from ml.active_learning import DEFAULT_STRATEGY, EXPLORE_SHARE, STRATEGIES, explore_rank, explored_mask, plan_queue
from ml.calibration import expected_calibration_error
from ml.classifier import ThemeClassifier, fit_classifier, predict_labels, predict_proba, predict_scores
from ml.embeddings import load_model

CHECKPOINTS = (50, 100, 200, 500, 1000)
SVM_C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)


def scores(Y_true: np.ndarray, Y_pred: np.ndarray) -> tuple[float, float]:
    """(micro F1, macro F1 over themes present in Y_true)."""
    present = Y_true.sum(0) > 0
    micro = f1_score(Y_true, Y_pred, average="micro", zero_division=0)
    macro = f1_score(Y_true[:, present], Y_pred[:, present], average="macro", zero_division=0)
    return float(micro), float(macro)


def app_fit(X: np.ndarray, Y: np.ndarray, texts: list[str], labelled: np.ndarray, pool: np.ndarray,
            seed: int, keys: np.ndarray | None = None, extra: np.ndarray | None = None) -> ThemeClassifier:
    """Fit as the app's training service does: its quality estimate judged on the explored labels.

    ``keys`` are the rows' stable ids (the app's response ids; default the row numbers); ``extra`` (all rows,
    m) optional metadata features (``fit_classifier(extra=...)``).
    """
    idx = np.flatnonzero(labelled)
    keys = np.arange(len(X)) if keys is None else keys
    explored = explored_mask(labelled, keys=keys, seed=seed, candidates=pool)
    return fit_classifier(X[idx], Y[idx], texts=[texts[i] for i in idx], seed=seed, eval_mask=explored[idx],
                          extra=None if extra is None else extra[idx])


def next_batch(X: np.ndarray, Y: np.ndarray, clf: ThemeClassifier | None, pool_scores: np.ndarray | None,
               labelled: np.ndarray, pool: np.ndarray, size: int, *, strategy: str, seed: int,
               explore: float = EXPLORE_SHARE, keys: np.ndarray | None = None) -> list[int]:
    """The next ``size`` rows: the head of the queue the app would store for this state (same call).

    ``pool_scores`` are :func:`predict_scores` of ``clf`` for the ``pool`` rows; ``keys`` as in :func:`app_fit`.
    """
    full = None
    if clf is not None and pool_scores is not None:
        full = np.zeros((len(X), Y.shape[1]), dtype=np.float32)
        full[pool] = pool_scores
    return plan_queue(
        X, full, labelled, strategy=strategy, seed=seed, theme_support=Y[labelled].sum(axis=0),
        thresholds=None if clf is None else clf.score_thresholds,
        keys=np.arange(len(X)) if keys is None else keys, candidates=pool,
        explore=explore,
    )[:size]


def simulate(X: np.ndarray, Y: np.ndarray, texts: list[str], pool: np.ndarray, test: np.ndarray, *,
             strategy: str, batch: int, max_labels: int, seed: int, log: Callable[[str], None],
             explore: float = EXPLORE_SHARE, extra: np.ndarray | None = None) -> dict[int, dict[str, float]]:
    """One labelling run; {n_labels: test micro/macro, the Model page's micro/macro, ece} at checkpoints.

    ``strategy="random"`` labels the pool in its exploration order (a uniform random sample). ``extra`` (all
    rows, m): optional metadata features for every fit and prediction (see :func:`app_fit`).
    """
    labelled = np.zeros(len(X), dtype=bool)
    if strategy == "random":
        first = list(pool[np.argsort(explore_rank(pool, seed), kind="stable")][:batch])
    else:
        first = next_batch(X, Y, None, None, labelled, pool, batch, strategy=strategy, seed=seed)
    labelled[first] = True
    out: dict[int, dict[str, float]] = {}
    test_texts = [texts[i] for i in test]
    pool_texts = [texts[i] for i in pool]
    while True:
        n = int(labelled.sum())
        t0 = time.perf_counter()
        clf = app_fit(X, Y, texts, labelled, pool, seed, extra=extra)
        fit_s = time.perf_counter() - t0
        if n in CHECKPOINTS or n >= max_labels:
            P = predict_proba(clf, X[test], test_texts, None if extra is None else extra[test])
            te = scores(Y[test], predict_labels(clf, P))
            q = clf.quality
            out[n] = {"micro": te[0], "macro": te[1], "est_micro": q.micro_f1 if q else 0.0,
                      "est_macro": q.macro_f1 if q else 0.0, "ece": expected_calibration_error(Y[test], P),
                      "labelled": labelled.copy()}  # type: ignore[dict-item]
            log(f"  {strategy:>13} seed={seed} n={n:5d} test micro={te[0]:.3f} macro={te[1]:.3f} | "
                f"estimate micro={out[n]['est_micro']:.3f} macro={out[n]['est_macro']:.3f} | "
                f"ece={out[n]['ece']:.4f} (fit {fit_s:.1f}s)")
        if n >= max_labels:
            break
        pool_scores = predict_scores(clf, X[pool], pool_texts, None if extra is None else extra[pool])
        nxt = next_batch(X, Y, clf, pool_scores, labelled, pool, min(batch, max_labels - n),
                         strategy="entropy" if strategy == "random" else strategy, seed=seed,
                         explore=1.0 if strategy == "random" else explore)
        labelled[nxt] = True
    return out


def svm_fit_predict(train_texts: list[str], Y_train: np.ndarray, test_texts: list[str], C: float) -> np.ndarray:
    """The conventional reference: TF-IDF 1-2-grams + one-vs-rest LinearSVC with balanced class weights."""
    vec = TfidfVectorizer(ngram_range=(1, 2))
    keep = Y_train.any(0) & ~Y_train.all(0)  # a column needs both classes
    pred = np.zeros((len(test_texts), Y_train.shape[1]), dtype=bool)
    if keep.any():
        svm = OneVsRestClassifier(LinearSVC(C=C, class_weight="balanced"))
        svm.fit(vec.fit_transform(train_texts), Y_train[:, keep])
        pred[:, keep] = svm.predict(vec.transform(test_texts)).astype(bool)
    return pred


def svm_choose_c(texts: list[str], Y: np.ndarray, log: Callable[[str], None]) -> float:
    """C for the reference by 5-fold CV (micro F1) on the given (pool) rows only."""
    best, best_c = -1.0, SVM_C_GRID[0]
    for C in SVM_C_GRID:
        pred = np.zeros(Y.shape, dtype=bool)
        for tr, va in KFold(5, shuffle=True, random_state=0).split(Y):
            pred[va] = svm_fit_predict([texts[i] for i in tr], Y[tr], [texts[i] for i in va], C)
        mi, ma = scores(Y, pred)
        log(f"  svm C={C}: 5-fold cv on the pool micro={mi:.3f} macro={ma:.3f}")
        if mi > best:
            best, best_c = mi, C
    return best_c


def _mean_sd(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--split", type=Path, default=None)
    ap.add_argument("--strategy", default=DEFAULT_STRATEGY, choices=STRATEGIES)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--max-labels", type=int, default=1000)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--explore", type=float, default=EXPLORE_SHARE, help="random share of the queue")
    ap.add_argument("--tune", action="store_true", help="compare exploration shares on a dev split of the pool")
    ap.add_argument("--model", default=None, help="embedding model name or local path (default: bundled MiniLM)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="Liblinear failed to converge")
    split = split_for(args.data, args.split)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    data = load_coded(args.data)
    pool, test = load_split(data, split, seed=0)
    seeds = [int(s) for s in args.seeds.split(",")]
    X = cached_embeddings(load_model(args.model), args.model or "all-MiniLM-L6-v2", data.texts)
    Y, texts = data.Y, data.texts
    if args.tune:
        # development split: 20% of the pool scored, the other 80% labelled; test is never read
        perm = np.random.default_rng(1234).permutation(pool)
        cut = len(perm) // 5
        dev, rest = np.sort(perm[:cut]), np.sort(perm[cut:])
        log(f"tuning on pool {len(rest)} / dev {len(dev)} (test untouched)")
        for explore in (0.1, 0.2, 0.3, 0.5):
            runs = [simulate(X, Y, texts, rest, dev, strategy=args.strategy, batch=args.batch,
                             max_labels=args.max_labels, seed=s, log=lambda m: None, explore=explore)
                    for s in seeds]
            n = args.max_labels
            log(f"explore={explore}: dev micro {_mean_sd([r[n]['micro'] for r in runs])} "
                f"macro {_mean_sd([r[n]['macro'] for r in runs])} | self_gap micro "
                f"{_mean_sd([r[n]['est_micro'] - r[n]['micro'] for r in runs])} macro "
                f"{_mean_sd([r[n]['est_macro'] - r[n]['macro'] for r in runs])}")
        return
    log(f"data {args.data.name}: {len(data.ids)} respondents, {len(data.themes)} themes, "
        f"pool {len(pool)} / test {len(test)}; seeds {seeds}; explore {args.explore}")
    al, rnd = [], []
    for s in seeds:
        al.append(simulate(X, Y, texts, pool, test, strategy=args.strategy, batch=args.batch,
                           max_labels=args.max_labels, seed=s, log=log, explore=args.explore))
        rnd.append(simulate(X, Y, texts, pool, test, strategy="random", batch=args.batch,
                            max_labels=args.max_labels, seed=s, log=log))
    n_last = max(al[0])
    C = svm_choose_c([texts[i] for i in pool], Y[pool], log)
    svm_all = scores(Y[test], svm_fit_predict([texts[i] for i in pool], Y[pool], [texts[i] for i in test], C))
    svm_1000 = []
    for r in rnd:
        rows = np.flatnonzero(r[n_last]["labelled"])  # type: ignore[call-overload]
        svm_1000.append(scores(Y[test], svm_fit_predict([texts[i] for i in rows], Y[rows],
                                                        [texts[i] for i in test], C)))
    ours_all = fit_classifier(X[pool], Y[pool], texts=[texts[i] for i in pool], seed=0)
    ours_all_te = scores(Y[test], predict_labels(ours_all, predict_proba(ours_all, X[test], [texts[i] for i in test])))

    log("")
    log(f"means ± sd over seeds {seeds}; 'estimate' = the Model page's F1 (explored labels), gap = estimate - test")
    log("labels | AL test micro / macro | AL estimate micro / macro | AL gap micro / macro | "
        "random test micro / macro | AL ece")
    for n in CHECKPOINTS:
        if n not in al[0]:
            continue
        def col(runs: list[dict[int, dict[str, float]]], key: str) -> str:
            return _mean_sd([r[n][key] for r in runs])  # noqa: B023
        gap_mi = _mean_sd([r[n]["est_micro"] - r[n]["micro"] for r in al])
        gap_ma = _mean_sd([r[n]["est_macro"] - r[n]["macro"] for r in al])
        log(f"{n:>6} | {col(al, 'micro')} / {col(al, 'macro')} | {col(al, 'est_micro')} / {col(al, 'est_macro')} | "
            f"{gap_mi} / {gap_ma} | {col(rnd, 'micro')} / {col(rnd, 'macro')} | {col(al, 'ece')}")
    q = ours_all.quality
    log(f"ours@all ({len(pool)}) test micro={ours_all_te[0]:.3f} macro={ours_all_te[1]:.3f} | "
        f"estimate micro={q.micro_f1 if q else 0:.3f} macro={q.macro_f1 if q else 0:.3f}")
    log(f"tfidf_svm@all ({len(pool)}, C={C} by 5-fold CV on the pool) test micro={svm_all[0]:.3f} "
        f"macro={svm_all[1]:.3f}")
    log(f"tfidf_svm@{n_last} random labels (C={C}) test micro {_mean_sd([s[0] for s in svm_1000])} "
        f"macro {_mean_sd([s[1] for s in svm_1000])}")
    log(f"wall time {time.perf_counter() - t_start:.0f}s")

    def m(runs: list[dict[int, dict[str, float]]], key: str) -> float:
        return float(np.mean([r[n_last][key] for r in runs]))

    print(f"al@{n_last} micro={m(al, 'micro'):.3f} macro={m(al, 'macro'):.3f} | "
          f"random@{n_last} micro={m(rnd, 'micro'):.3f} macro={m(rnd, 'macro'):.3f} | "
          f"tfidf_svm@all micro={svm_all[0]:.3f} macro={svm_all[1]:.3f} | "
          f"self_gap micro={m(al, 'est_micro') - m(al, 'micro'):+.3f} "
          f"macro={m(al, 'est_macro') - m(al, 'macro'):+.3f} | "
          f"ece={m(al, 'ece'):.4f}")


if __name__ == "__main__":
    main()
