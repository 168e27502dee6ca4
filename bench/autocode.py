"""Auto-coding benchmark: how much of a project the model may code alone, and whether its claim holds.

Usage: python bench/autocode.py [--data FILE [--split FILE]] [--seeds 0,1,2,3,4] [--labels 1000] [--quick]
       python bench/autocode.py --tune     # the gate correction's head share etc. on a development split
       python bench/autocode.py --tune --metadata question,service,score   # the model with metadata features

Per seed: 1,000 pool labels chosen by the app's own queue (``bench.label_efficiency.simulate``), the app's
fit (``app_fit``), calibrated probabilities on ``test``, the gate correction fitted on the labelled rows'
out-of-fold probabilities (``ml.autocode.fit_gate_correction``) and ``gate_plan(P, thresholds, 0.85)``.
``measured`` is the micro-F1 of the coded rows' codes against the gold codes; ``qc100`` is
``qc_measure`` on 100 of the coded rows drawn at random (a person blind-coding a QC sample), and it
"covers" when its interval contains ``measured``. ``zero_shot`` is ``ml.zero_shot`` from theme names alone.
``label_review`` flips 5% of the pool's rows (a flipped row's theme set is replaced by one theme it did not
have), computes out-of-fold probabilities of every pool row with the app's classifier and reports the share
of true flips among the top 100 rows of ``ml.label_review.label_issues``. The floor: TF-IDF logistic
regression on 1,000 random pool labels, Platt-calibrated on its out-of-fold scores, test rows ranked by the
probability that their whole predicted set (p >= 0.5) is right, scored at 20% and 30% coverage.

``--metadata COLS``: one-hot of those metadata columns of the coded file appended to the model's features
(``fit_classifier(extra=...)``) in every fit, prediction and out-of-fold call, the queue's included.

Last line: labels=1000 target=0.85 coverage=… claimed_f1=… measured_f1=… | qc100 f1=… ci=[…,…] |
zero_shot micro=… | label_review p@100=…
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import NHS_DIR, cached_embeddings, cpu_name, load_coded, load_split, metadata_features, split_for
from bench.label_efficiency import app_fit, simulate
from ml import autocode
from ml.active_learning import DEFAULT_STRATEGY, explore_rank
from ml.autocode import apply_gate_correction, fit_gate_correction, gate_plan, qc_measure, response_confidence
from ml.calibration import platt_apply, platt_fit
from ml.classifier import oof_proba, predict_labels, predict_proba
from ml.embeddings import embed_texts, load_model
from ml.label_review import label_issues
from ml.zero_shot import blend, theme_text, zero_shot_labels, zero_shot_proba

TARGET = 0.85
QC_SIZE = 100
FLIP_SHARE = 0.05
FLOOR_COVERAGES = (0.2, 0.3)


def micro(Y: np.ndarray, pred: np.ndarray) -> float:
    return float(f1_score(Y, pred, average="micro", zero_division=0)) if len(Y) else float("nan")


def head_f1(conf: np.ndarray, pred: np.ndarray, Y: np.ndarray, share: float, eligible: np.ndarray) -> float:
    """Micro-F1 of the ``share`` most confident rows (eligible rows first, then by confidence)."""
    order = np.lexsort((-conf, ~eligible))[: round(share * len(conf))]
    return micro(Y[order], pred[order])


def floor_tfidf(texts: list[str], Y: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int) -> dict[str, float]:
    """The issue's floor: TF-IDF LR, Platt on 5-fold out-of-fold scores, rank by P(whole set right)."""
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    Xtr = vec.fit_transform([texts[i] for i in train])
    Xte = vec.transform([texts[i] for i in test])
    Ytr = Y[train]
    P = np.zeros((len(test), Y.shape[1]))
    th = np.full(Y.shape[1], 2.0)  # untrained: never predicted
    for j in np.flatnonzero((Ytr.sum(0) >= 2) & (Ytr.sum(0) < len(train))):
        lr = LogisticRegression(C=4.0, max_iter=1000)
        oof = np.zeros(len(train))
        for tr, va in KFold(5, shuffle=True, random_state=seed).split(Xtr):
            if Ytr[tr, j].any():
                oof[va] = lr.fit(Xtr[tr], Ytr[tr, j]).predict_proba(Xtr[va])[:, 1]
        a, b = platt_fit(oof, Ytr[:, j])
        P[:, j] = platt_apply(lr.fit(Xtr, Ytr[:, j]).predict_proba(Xte)[:, 1], np.array(a), np.array(b))
        th[j] = 0.5
    pred = np.greater_equal(P, th)
    conf = response_confidence(P, th)
    every = np.ones(len(test), dtype=bool)
    return {f"f1@{s}": head_f1(conf, pred, Y[test], s, every) for s in FLOOR_COVERAGES}


def flip_labels(Y: np.ndarray, rows: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Y with ``share`` of ``rows`` flipped: the row's theme set replaced by one theme it did not have."""
    rng = np.random.default_rng(seed)
    flipped = np.sort(rng.choice(rows, round(share * len(rows)), replace=False))
    Yn = Y.copy()
    for i in flipped:
        Yn[i] = False
        Yn[i, rng.choice(np.flatnonzero(~Y[i]))] = True
    return Yn, flipped


def run_seed(X: np.ndarray, Y: np.ndarray, texts: list[str], pool: np.ndarray, test: np.ndarray, seed: int,
             labels: int, Z_test: np.ndarray, log: Callable[[str], None], *, review: bool = True,
             extra: np.ndarray | None = None) -> dict:
    t0 = time.perf_counter()
    runs = simulate(X, Y, texts, pool, test, strategy=DEFAULT_STRATEGY, batch=50, max_labels=labels, seed=seed,
                    log=lambda m: None, extra=extra)

    def E(rows: np.ndarray) -> np.ndarray | None:
        return None if extra is None else extra[rows]

    out: dict = {}
    test_texts = [texts[i] for i in test]
    # zero-shot -> trained hand-over at the curve's first points
    for n in (50, 100):
        if n in runs:
            clf_n = app_fit(X, Y, texts, runs[n]["labelled"], pool, seed, extra=extra)  # type: ignore[arg-type]
            Pn = predict_proba(clf_n, X[test], test_texts, E(test))
            B = blend(Z_test, Pn, n)
            out[f"trained@{n}"] = micro(Y[test], predict_labels(clf_n, Pn))
            top = np.greater_equal(B, B.max(1, keepdims=True))  # every row gets at least its best theme
            out[f"blend@{n}"] = micro(Y[test], np.greater_equal(B, clf_n.thresholds) | top)
    labelled = runs[max(runs)]["labelled"]
    idx = np.flatnonzero(labelled)  # type: ignore[arg-type]
    clf = app_fit(X, Y, texts, labelled, pool, seed, extra=extra)  # type: ignore[arg-type]
    P = predict_proba(clf, X[test], test_texts, E(test))
    th = clf.thresholds
    oof = oof_proba(X[idx], Y[idx], texts=[texts[i] for i in idx], seed=seed, extra=E(idx))
    corr = fit_gate_correction(oof, Y[idx], th)
    Pc = apply_gate_correction(P, th, corr)
    raw = gate_plan(P, th, TARGET, seed=seed)
    plan = gate_plan(Pc, th, TARGET, seed=seed)
    Yt = Y[test]
    pred = np.greater_equal(P, th)
    out.update(labels=len(idx), correction=(corr.fp_scale, corr.fn_scale), overall=micro(Yt, pred),
               raw_coverage=len(raw.rows) / len(test), raw_claimed=raw.claimed_f1,
               raw_measured=micro(Yt[raw.rows], raw.labels),
               coverage=len(plan.rows) / len(test), claimed=plan.claimed_f1, interval=plan.interval,
               measured=micro(Yt[plan.rows], plan.labels))
    out["mc_covers"] = plan.interval[0] <= out["measured"] <= plan.interval[1]
    pick = np.sort(np.random.default_rng(seed).choice(len(plan.rows), min(QC_SIZE, len(plan.rows)), replace=False))
    qc = qc_measure(plan.labels[pick], Yt[plan.rows[pick]], seed=seed)
    out.update(qc_n=qc["n"], qc_f1=qc["micro_f1"], qc_ci=qc["micro_f1_interval"], qc_alpha=qc["alpha"])
    out["qc_covers"] = qc["micro_f1_interval"][0] <= out["measured"] <= qc["micro_f1_interval"][1]
    eligible = pred.any(1)
    conf = response_confidence(Pc, th)
    for s in FLOOR_COVERAGES:
        out[f"ours_f1@{s}"] = head_f1(conf, pred, Yt, s, eligible)
    floor_rows = pool[np.argsort(explore_rank(pool, seed), kind="stable")][:labels]
    out.update({f"floor_{k}": v for k, v in floor_tfidf(texts, Y, floor_rows, test, seed).items()})
    if review:
        Yn, flipped = flip_labels(Y, pool, FLIP_SHARE, seed)
        oof_pool = oof_proba(X[pool], Yn[pool], texts=[texts[i] for i in pool], seed=seed, extra=E(pool))
        ranked, _ = label_issues(Yn[pool], oof_pool)
        out["p@100"] = float(np.isin(pool[ranked[:100]], flipped).mean())
    log(f"seed={seed} labels={len(idx)} test micro={out['overall']:.3f} | correction fp x{corr.fp_scale:.2f} "
        f"fn x{corr.fn_scale:.2f} | uncorrected: coverage={out['raw_coverage']:.3f} claimed={raw.claimed_f1:.3f} "
        f"measured={out['raw_measured']:.3f} | gate: coverage={out['coverage']:.3f} claimed={plan.claimed_f1:.3f} "
        f"mc_ci=[{plan.interval[0]:.3f},{plan.interval[1]:.3f}] measured={out['measured']:.3f} "
        f"|claimed-measured|={abs(plan.claimed_f1 - out['measured']):.3f} | qc{qc['n']} f1={qc['micro_f1']:.3f} "
        f"ci=[{qc['micro_f1_interval'][0]:.3f},{qc['micro_f1_interval'][1]:.3f}] alpha={qc['alpha']:.3f} "
        f"covers={out['qc_covers']} | f1@20%/30% ours {out['ours_f1@0.2']:.3f}/{out['ours_f1@0.3']:.3f} "
        f"floor {out['floor_f1@0.2']:.3f}/{out['floor_f1@0.3']:.3f} | zero->trained @50 "
        f"{out.get('trained@50', float('nan')):.3f}->blend {out.get('blend@50', float('nan')):.3f} @100 "
        f"{out.get('trained@100', float('nan')):.3f}->blend {out.get('blend@100', float('nan')):.3f}"
        + (f" | label_review p@100={out['p@100']:.2f}" if review else "")
        + f" ({time.perf_counter() - t0:.0f}s)")
    return out


def _ms(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def tune(X: np.ndarray, Y: np.ndarray, texts: list[str], pool: np.ndarray, seeds: list[int], labels: int,
         log: Callable[[str], None], extra: np.ndarray | None = None) -> None:
    """Gate correction head share on a development split of the pool (20% scored, 80% labelled); no test.

    Also the most confident dev rows' micro-F1 at 30% and 50% and the longest head of the ranking that
    measures >= the target (``best``: what a perfectly honest gate could code with this model).
    """
    perm = np.random.default_rng(1234).permutation(pool)
    cut = len(perm) // 5
    dev, rest = np.sort(perm[:cut]), np.sort(perm[cut:])
    log(f"tuning on pool {len(rest)} / dev {len(dev)} (test untouched)")
    heads = (0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0)
    gaps: dict[float, list[float]] = {h: [] for h in heads}
    for s in seeds:
        runs = simulate(X, Y, texts, rest, dev, strategy=DEFAULT_STRATEGY, batch=50, max_labels=labels, seed=s,
                        log=lambda m: None, extra=extra)
        lab = runs[max(runs)]["labelled"]
        idx = np.flatnonzero(lab)  # type: ignore[arg-type]
        clf = app_fit(X, Y, texts, lab, rest, s, extra=extra)  # type: ignore[arg-type]
        P = predict_proba(clf, X[dev], [texts[i] for i in dev], None if extra is None else extra[dev])
        th = clf.thresholds
        oof = oof_proba(X[idx], Y[idx], texts=[texts[i] for i in idx], seed=s,
                        extra=None if extra is None else extra[idx])
        pred, Yd = np.greater_equal(P, th), Y[dev]
        conf = response_confidence(apply_gate_correction(P, th, fit_gate_correction(oof, Y[idx], th)), th)
        order = np.lexsort((-conf, ~pred.any(1)))
        tp = np.cumsum((pred & Yd)[order].sum(1))
        errors = np.cumsum((pred & ~Yd)[order].sum(1)) + np.cumsum((~pred & Yd)[order].sum(1))
        f1 = 2 * tp / np.maximum(2 * tp + errors, 1)
        ok = np.flatnonzero((f1 >= TARGET) & pred.any(1)[order])
        log(f"seed={s} dev micro={micro(Yd, pred):.3f} | head micro-F1 at 30% {f1[round(0.3 * len(dev)) - 1]:.3f} "
            f"at 50% {f1[len(dev) // 2 - 1]:.3f} | best coverage at measured >= {TARGET}: "
            f"{(ok[-1] + 1 if len(ok) else 0) / len(dev):.3f}")
        for head in heads:
            corr = fit_gate_correction(oof, Y[idx], th, head=head)
            plan = gate_plan(apply_gate_correction(P, th, corr), th, TARGET, seed=s, draws=100)
            measured = micro(Y[dev][plan.rows], plan.labels)
            gaps[head].append(plan.claimed_f1 - measured)
            log(f"seed={s} head={head}: fp x{corr.fp_scale:.2f} fn x{corr.fn_scale:.2f} coverage="
                f"{len(plan.rows) / len(dev):.3f} claimed={plan.claimed_f1:.3f} measured={measured:.3f}")
    for head in heads:
        log(f"head={head}: claimed - measured {_ms(gaps[head])}, mean |gap| {np.mean(np.abs(gaps[head])):.3f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--split", type=Path, default=None)
    ap.add_argument("--seeds", default=None, help="default 0,1,2,3,4 (0 with --quick)")
    ap.add_argument("--labels", type=int, default=None, help="default 1000 (300 with --quick)")
    ap.add_argument("--quick", action="store_true", help="one seed, fewer labels: a smoke test")
    ap.add_argument("--tune", action="store_true", help="gate correction head share on a dev split of the pool")
    ap.add_argument("--metadata", default="", help="comma-separated metadata columns to one-hot into the model "
                    "(e.g. question,service,score; default none)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="Liblinear failed to converge")
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2,3,4")).split(",")]
    labels = args.labels or (300 if args.quick else 1000)
    split = split_for(args.data, args.split)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    log(f"cpu: {cpu_name()} ({platform.machine()}); gate target {TARGET}, correction head share "
        f"{autocode.HEAD_SHARE}, empty sets {'allowed' if autocode.ALLOW_EMPTY else 'never auto-coded'}")
    data = load_coded(args.data)
    pool, test = load_split(data, split, seed=0)
    model = load_model()
    X = cached_embeddings(model, "all-MiniLM-L6-v2", data.texts)
    Y, texts = data.Y, data.texts
    columns = [c for c in args.metadata.split(",") if c]
    extra = metadata_features(args.data, data.ids, columns)
    if columns:
        log(f"metadata features: one-hot of {', '.join(columns)} ({0 if extra is None else extra.shape[1]} columns)")
    if args.tune:
        tune(X, Y, texts, pool, seeds, labels, log, extra)
        return
    log(f"data {args.data.name}: {len(data.ids)} respondents, {len(data.themes)} themes, pool {len(pool)} / "
        f"test {len(test)}; seeds {seeds}; {labels} labels{' (--quick)' if args.quick else ''}")
    T = embed_texts(model, [theme_text(t) for t in data.themes])
    Z_test = zero_shot_proba(X[test], T)
    zero = micro(Y[test], zero_shot_labels(Z_test))
    log(f"zero_shot (theme names only) test micro={zero:.3f}")
    res = [run_seed(X, Y, texts, pool, test, s, labels, Z_test, log, extra=extra) for s in seeds]

    def col(key: str) -> list[float]:
        return [float(r[key]) for r in res]

    gaps = [abs(r["claimed"] - r["measured"]) for r in res]
    log("")
    log(f"means ± sd over seeds {seeds}")
    log(f"coverage {_ms(col('coverage'))} | claimed {_ms(col('claimed'))} | measured {_ms(col('measured'))} | "
        f"|claimed-measured| per seed {' '.join(f'{g:.3f}' for g in gaps)} (<= 0.03 in "
        f"{sum(g <= 0.03 for g in gaps)}/{len(res)})")
    log(f"uncorrected Platt: coverage {_ms(col('raw_coverage'))} claimed {_ms(col('raw_claimed'))} "
        f"measured {_ms(col('raw_measured'))}")
    log(f"Monte-Carlo interval covers measured in {sum(r['mc_covers'] for r in res)}/{len(res)} seeds; "
        f"qc{QC_SIZE} interval covers measured in {sum(r['qc_covers'] for r in res)}/{len(res)} seeds; "
        f"qc alpha {_ms(col('qc_alpha'))}")
    for s in FLOOR_COVERAGES:
        log(f"at {s:.0%} coverage: ours micro-F1 {_ms(col(f'ours_f1@{s}'))} | floor (TF-IDF LR, 1,000 random "
            f"labels, Platt) {_ms(col(f'floor_f1@{s}'))}")
    if "blend@50" in res[0]:
        log(f"zero-shot blend at 50 labels {_ms(col('blend@50'))} vs trained alone {_ms(col('trained@50'))}; "
            f"at 100 {_ms(col('blend@100'))} vs {_ms(col('trained@100'))}")
    log(f"label_review p@100 {_ms(col('p@100'))} ({FLIP_SHARE:.0%} of pool rows flipped: chance "
        f"{FLIP_SHARE:.2f})")
    log(f"wall time {time.perf_counter() - t_start:.0f}s")
    qlo, qhi = np.mean([r["qc_ci"][0] for r in res]), np.mean([r["qc_ci"][1] for r in res])
    print(f"labels={labels} target={TARGET} coverage={np.mean(col('coverage')):.3f} "
          f"claimed_f1={np.mean(col('claimed')):.3f} measured_f1={np.mean(col('measured')):.3f} | "
          f"qc100 f1={np.mean(col('qc_f1')):.3f} ci=[{qlo:.3f},{qhi:.3f}] | zero_shot micro={zero:.3f} | "
          f"label_review p@100={np.mean(col('p@100')):.3f}")


if __name__ == "__main__":
    main()
