"""Sentiment benchmark (issue 25): each response's sentiment level from its text, with the labels the app would get.

Usage: python bench/sentiment.py [--data FILE [--split FILE]] [--seeds 0,1,2,3,4] [--labels 1000] [--quick]
       python bench/sentiment.py --tune     # model, C and TF-IDF weight on a development split of the pool

The coded file needs a ``sentiment`` column (1 = very positive ... 5 = very negative; empty = not given), one
value per respondent (its first row's is read). Per seed: ``al@1000`` = the 1,000 pool rows the app's own theme
queue picks (``bench.label_efficiency.simulate``, as bench/autocode.py) get their sentiment, and
``ml.sentiment.fit_sentiment`` is fitted on them (rows without sentiment left out), on the same features as the
theme classifier; ``random@1000`` the same on 1,000 random pool rows (the exploration order); ``all`` on every
pool row with a sentiment. References: ``tfidf_lr@all`` = TF-IDF 1-2-grams + scikit-learn LogisticRegression on
every pool row (C and class weights chosen by ``--tune`` on the development split), and the floor
``tfidf_lr@1000`` = the same on the 1,000 random rows. Scored on ``test`` rows with a sentiment: accuracy and
macro-F1 over the levels present, on the 5 levels and on 3 (``ml.sentiment.sentiment_collapse``: 1-2
positive, 3 neutral, 4-5 negative; predictions collapsed by summing the merged levels' probabilities).
``--metadata`` adds a variant with the one-hot ``score`` column (the FFT rating) appended to the features:
reported apart, never the headline (sentiment must come from the text).

Last line: al@1000 acc=… macro_f1=… | all acc=… macro_f1=… | tfidf_lr@all acc=… macro_f1=… (5 levels, means)
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import (
    CACHE_DIR,
    NHS_DIR,
    cached_embeddings,
    cpu_name,
    load_coded,
    load_metadata,
    load_split,
    split_for,
)
from bench.label_efficiency import simulate
from ml.active_learning import DEFAULT_STRATEGY, explore_rank
from ml.sentiment import clean_levels, collapse_proba, fit_sentiment, predict_sentiment, sentiment_collapse

#: The reference's C grid and class weights (chosen on the development split by ``--tune``) ...
TFIDF_C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
TFIDF_WEIGHTS = ("balanced", None)
#: ... and the values ``--tune`` chose (see bench/README.md "Sentiment (issue 25)").
TFIDF_C = 4.0
TFIDF_CLASS_WEIGHT: str | None = None
#: Our model's candidates on the development split: method, C, TF-IDF weight (0: embeddings only).
TUNE_METHODS = ("multinomial", "ordinal")
TUNE_C = (0.25, 0.5, 1.0, 2.0, 4.0)
TUNE_TFIDF = (0.0, 0.5, 1.0, 2.0)


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """(accuracy, macro-F1 over the levels present in ``y_true``)."""
    present = np.unique(y_true)
    return (float(accuracy_score(y_true, y_pred)),
            float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)))


def both_scores(y5: np.ndarray, pred5: np.ndarray, proba5: np.ndarray) -> dict[str, float]:
    """5-level and 3-level (collapsed) accuracy / macro-F1 of one model's test predictions."""
    a5, m5 = scores(y5, pred5)
    a3, m3 = scores(sentiment_collapse(y5), collapse_proba(proba5).argmax(1) + 1)
    return {"acc": a5, "f1": m5, "acc3": a3, "f13": m3}


def tfidf_lr(train_texts: Sequence[str], y: np.ndarray, test_texts: Sequence[str], C: float,
             class_weight: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The reference: TF-IDF 1-2-grams (sublinear tf, min_df 2) + multinomial LogisticRegression.

    Returns (predicted levels, (n, 5) probabilities).
    """
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    lr = LogisticRegression(C=C, class_weight=class_weight, max_iter=2000)
    lr.fit(vec.fit_transform(train_texts), y)
    p = lr.predict_proba(vec.transform(test_texts))
    P = np.zeros((len(test_texts), 5))
    P[:, lr.classes_ - 1] = p
    return P.argmax(1) + 1, P


def ours(X: np.ndarray, texts: list[str], sent: np.ndarray, rows: np.ndarray, test: np.ndarray, seed: int,
         extra: np.ndarray | None = None, **kw: Any) -> dict[str, float]:
    """Fit ``ml.sentiment`` on ``rows`` (those without sentiment dropped) and score it on ``test``."""
    rows = rows[sent[rows] > 0]
    Xtr, Xte = (X[rows], X[test]) if extra is None else (np.hstack([X[rows], extra[rows]]),
                                                        np.hstack([X[test], extra[test]]))
    model = fit_sentiment(Xtr, [texts[i] for i in rows], sent[rows], seed=seed, **kw)
    pred, P = predict_sentiment(model, Xte, [texts[i] for i in test])
    return both_scores(sent[test], pred, P)


def reference(texts: list[str], sent: np.ndarray, rows: np.ndarray, test: np.ndarray, C: float = TFIDF_C,
              class_weight: str | None = TFIDF_CLASS_WEIGHT) -> dict[str, float]:
    rows = rows[sent[rows] > 0]
    pred, P = tfidf_lr([texts[i] for i in rows], sent[rows], [texts[i] for i in test], C, class_weight)
    return both_scores(sent[test], pred, P)


def random_rows(pool: np.ndarray, labels: int, seed: int) -> np.ndarray:
    """The first ``labels`` pool rows of the exploration order (a uniform random sample), as the app's queue."""
    return np.sort(pool[np.argsort(explore_rank(pool, seed), kind="stable")][:labels])


def queue_rows(X: np.ndarray, Y: np.ndarray, texts: list[str], pool: np.ndarray, scored: np.ndarray, seed: int,
               labels: int, cache: bool = False) -> np.ndarray:
    """The ``labels`` pool rows the app's theme queue labels (``simulate``); cached on disk when ``cache``."""
    key = hashlib.sha256(f"{seed}|{labels}|{DEFAULT_STRATEGY}".encode() + pool.tobytes() + scored.tobytes()
                         + X[:50].tobytes() + Y.tobytes()).hexdigest()[:20]
    path = CACHE_DIR / f"sent_queue_{key}.npy"
    if cache and path.exists():
        return np.load(path)
    runs = simulate(X, Y, texts, pool, scored, strategy=DEFAULT_STRATEGY, batch=50, max_labels=labels, seed=seed,
                    log=lambda m: None)
    rows = np.flatnonzero(runs[max(runs)]["labelled"])  # type: ignore[call-overload]
    if cache:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.save(path, rows)
    return rows


def _ms(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def tune(X: np.ndarray, Y: np.ndarray, texts: list[str], sent: np.ndarray, pool: np.ndarray, seeds: list[int],
         labels: int, log: Callable[[str], None]) -> None:
    """Our model (method, C, TF-IDF weight) and the reference's C / class weights on a development split.

    20% of the pool is scored, the rest labelled (as bench/autocode.py --tune); ``test`` is never read. Ours is
    judged at ``labels`` queue-chosen rows (the headline), the reference on all the rest (its headline).
    """
    perm = np.random.default_rng(1234).permutation(pool)
    cut = len(perm) // 5
    dev, rest = np.sort(perm[:cut]), np.sort(perm[cut:])
    dev = dev[sent[dev] > 0]
    log(f"tuning on pool {len(rest)} / dev {len(dev)} (test untouched); criterion: mean of accuracy and macro-F1")
    t0 = time.perf_counter()
    picked = {s: queue_rows(X, Y, texts, rest, dev, s, labels, cache=True) for s in seeds}
    log(f"queue rows ready ({time.perf_counter() - t0:.0f}s)")
    best: tuple[float, str] = (-1.0, "")
    for method in TUNE_METHODS:
        for C in TUNE_C:
            for w in TUNE_TFIDF:
                res = [ours(X, texts, sent, picked[s], dev, s, C=C, method=method, use_tfidf=w > 0,
                            tfidf_weight=w or 1.0) for s in seeds]
                acc, f1 = [r["acc"] for r in res], [r["f1"] for r in res]
                crit = (np.mean(acc) + np.mean(f1)) / 2
                name = f"{method} C={C} tfidf={w}"
                best = max(best, (crit, name))
                log(f"ours {name}: dev acc {_ms(acc)} macro_f1 {_ms(f1)} | 3-level acc "
                    f"{_ms([r['acc3'] for r in res])} macro_f1 {_ms([r['f13'] for r in res])}")
    log(f"best ours: {best[1]} ({best[0]:.3f})")
    best = (-1.0, "")
    for cw in TFIDF_WEIGHTS:
        for C in TFIDF_C_GRID:
            r = reference(texts, sent, rest, dev, C, cw)
            crit = (r["acc"] + r["f1"]) / 2
            best = max(best, (crit, f"C={C} class_weight={cw}"))
            log(f"tfidf_lr@all C={C} class_weight={cw}: dev acc {r['acc']:.3f} macro_f1 {r['f1']:.3f}")
    log(f"best tfidf_lr: {best[1]} ({best[0]:.3f})")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--split", type=Path, default=None)
    ap.add_argument("--seeds", default=None, help="default 0,1,2,3,4 (0 with --quick)")
    ap.add_argument("--labels", type=int, default=None, help="default 1000 (300 with --quick)")
    ap.add_argument("--quick", action="store_true", help="one seed, fewer labels: a smoke test")
    ap.add_argument("--tune", action="store_true", help="model, C and TF-IDF weight on a dev split of the pool")
    ap.add_argument("--metadata", action="store_true", help="also report a variant with the one-hot FFT score")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2,3,4")).split(",")]
    labels = args.labels or (300 if args.quick else 1000)
    split = split_for(args.data, args.split)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    log(f"cpu: {cpu_name()} ({platform.machine()})")
    data = load_coded(args.data)
    meta = load_metadata(args.data, data.ids, ["sentiment", "score"])
    sent = clean_levels(meta["sentiment"])
    if not (sent > 0).any():
        raise SystemExit(f"{args.data} has no sentiment column (or no value in it)")
    pool, test = load_split(data, split, seed=0)
    test = test[sent[test] > 0]
    from ml.embeddings import load_model

    X = cached_embeddings(load_model(), "all-MiniLM-L6-v2", data.texts)
    Y, texts = data.Y, data.texts
    if args.tune:
        tune(X, Y, texts, sent, pool, seeds, labels, log)
        return
    counts = np.bincount(sent[pool], minlength=6)[1:]
    log(f"data {args.data.name}: {len(data.ids)} respondents, pool {len(pool)} ({int((sent[pool] > 0).sum())} with "
        f"sentiment, levels 1-5: {' '.join(map(str, counts))}) / test {len(test)} with sentiment; seeds {seeds}; "
        f"{labels} labels{' (--quick)' if args.quick else ''}")
    extra = None
    if args.metadata:
        from ml.classifier import one_hot

        extra = one_hot(meta["score"])[0]
    al: list[dict[str, float]] = []
    rnd: list[dict[str, float]] = []
    floor: list[dict[str, float]] = []
    al_meta: list[dict[str, float]] = []
    for s in seeds:
        t0 = time.perf_counter()
        rows = queue_rows(X, Y, texts, pool, test, s, labels)
        al.append(ours(X, texts, sent, rows, test, s))
        rr = random_rows(pool, labels, s)
        rnd.append(ours(X, texts, sent, rr, test, s))
        floor.append(reference(texts, sent, rr, test))
        if extra is not None:
            al_meta.append(ours(X, texts, sent, rows, test, s, extra=extra))
        log(f"seed={s} al@{labels} acc={al[-1]['acc']:.3f} macro_f1={al[-1]['f1']:.3f} (3-level "
            f"{al[-1]['acc3']:.3f}/{al[-1]['f13']:.3f}) | random@{labels} {rnd[-1]['acc']:.3f}/{rnd[-1]['f1']:.3f} | "
            f"tfidf_lr@{labels} random {floor[-1]['acc']:.3f}/{floor[-1]['f1']:.3f}"
            + (f" | al+score {al_meta[-1]['acc']:.3f}/{al_meta[-1]['f1']:.3f}" if al_meta else "")
            + f" ({time.perf_counter() - t0:.0f}s)")
    # one fit each: deterministic, so the same for every seed
    every = ours(X, texts, sent, pool, test, seeds[0])
    ref = reference(texts, sent, pool, test)
    log("")
    log(f"test {len(test)} rows; means ± sd over seeds {seeds} (all and tfidf_lr@all: one deterministic fit); "
        f"cpu {cpu_name()}")
    log("model | 5-level acc | 5-level macro-F1 | 3-level acc | 3-level macro-F1")
    for name, res in ((f"al@{labels} (ours, theme queue's rows)", al), (f"random@{labels} (ours)", rnd),
                      (f"tfidf_lr@{labels} random (floor)", floor), ("all (ours, every pool row)", [every]),
                      ("tfidf_lr@all (reference)", [ref]), (f"al@{labels} + FFT score one-hot (not text)", al_meta)):
        if res:
            log(f"{name} | {_ms([r['acc'] for r in res])} | {_ms([r['f1'] for r in res])} | "
                f"{_ms([r['acc3'] for r in res])} | {_ms([r['f13'] for r in res])}")
    log(f"wall time {time.perf_counter() - t_start:.0f}s")
    print(f"al@{labels} acc={np.mean([r['acc'] for r in al]):.3f} macro_f1={np.mean([r['f1'] for r in al]):.3f} | "
          f"all acc={every['acc']:.3f} macro_f1={every['f1']:.3f} | "
          f"tfidf_lr@all acc={ref['acc']:.3f} macro_f1={ref['f1']:.3f}")


if __name__ == "__main__":
    main()
