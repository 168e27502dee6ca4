"""Waves benchmark (issue 25): a second wave of the same question, the carried-over model, the wave queue and
the "new theme?" list.

Usage: python bench/waves.py [--data FILE] [--seeds 0,1,2,3,4] [--labels 1000] [--quick]
       python bench/waves.py --tune      # ml.novelty's parameters on a development split (wave 1 only)

The respondents are sorted by their ``date`` (ties by respondent id): the earlier half is wave 1, the later
half wave 2. Per seed, wave 1 is coded by the app's loop (``bench.label_efficiency.simulate`` restricted to
wave-1 rows, 1,000 labels, batches of 50) and fitted as the app does (``app_fit``). On wave 2:

- f1@0: the carried-over model's micro/macro-F1 on every wave-2 row, before any new label;
- f1@100, f1@300: new-wave labels in batches of 50, each batch the head of ``ml.novelty.wave_queue_rank``
  (the app's active-learning utility, ``rare_entropy`` x local density as ``plan_queue`` computes it, mixed
  with ``novelty_scores`` against every coded row) without near-duplicates, the model refitted on wave-1 labels
  plus the new ones after each batch; scored on the wave-2 rows that run has not labelled. Baselines in the
  same run: ``uncertainty`` (weight 0: the app's utility alone) and ``random`` (wave-2 rows in
  ``explore_rank`` order). A second score on the ``common`` rows (wave-2 rows none of the three labelled)
  compares them on one set;
- new themes: themes in wave 2's gold codes but in none of wave 1's labelled rows ("natural"); found = how many
  of them have >= 1 response in the top-50 ``new_theme_candidates`` list computed when wave 2 arrives (N and
  found summed over seeds). ``held-out`` variant: per seed, 3 themes drawn (seeded) from those with 5-60
  wave-2 responses are removed from the codeframe: wave-1 labelled rows carrying one are dropped from the
  coded set, the model is refitted without them, and the list must find the 3 themes in wave 2. Baseline: 50
  wave-2 rows drawn at random (one seeded draw, and the exact expectation).

Macro F1 averages over themes present in the scored rows. ``--tune`` never reads wave 2: wave 1 is cut in
two by date (earlier half coded with 500 labels, later half the dev "new wave").

Last line: wave2 f1@0=… f1@100=… f1@300=… | new_themes found=F of N   (micro-F1; natural split, summed)
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from math import comb
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import NHS_DIR, cached_embeddings, cpu_name, load_coded, load_metadata
from bench.label_efficiency import app_fit, scores, simulate
from ml import novelty
from ml.active_learning import DEFAULT_STRATEGY, explore_rank, local_density, utility
from ml.classifier import predict_labels, predict_proba, predict_scores
from ml.embeddings import load_model
from ml.novelty import drop_near_duplicates, new_theme_candidates, novelty_scores, wave_queue_rank

BATCH = 50
CHECKPOINTS = (100, 300)
TOP = 50
HELD_OUT = 3
HELD_OUT_RANGE = (5, 60)


@dataclass
class Params:
    """ml.novelty's knobs for one run."""

    k: int = novelty.NOVELTY_K
    fit_weight: float = novelty.FIT_WEIGHT
    diversity: float = novelty.DIVERSITY
    weight: float = novelty.WAVE_WEIGHT


def split_waves(path: Path, ids: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(wave-1 rows, wave-2 rows, dates): the earlier half by (date, respondent id), then the later half."""
    dates = load_metadata(path, ids, ["date"])["date"]
    order = sorted(range(len(ids)), key=lambda i: (dates[i], ids[i]))
    half = len(order) // 2
    return np.sort(np.array(order[:half], dtype=int)), np.sort(np.array(order[half:], dtype=int)), dates


def code_first_wave(X: np.ndarray, Y: np.ndarray, texts: list[str], w1: np.ndarray, w2: np.ndarray, labels: int,
                    seed: int) -> np.ndarray:
    """The labelled mask after the app's loop coded ``labels`` rows of wave 1 (batches of 50)."""
    runs = simulate(X, Y, texts, w1, w2, strategy=DEFAULT_STRATEGY, batch=BATCH, max_labels=labels, seed=seed,
                    log=lambda m: None)
    return np.asarray(runs[max(runs)]["labelled"], dtype=bool)


def novelty_list(X: np.ndarray, clf: object, texts: list[str], coded: np.ndarray, rows: np.ndarray, p: Params,
                 seed: int, P: np.ndarray | None = None) -> list[int]:
    """The top-50 "new theme?" list of ``rows`` (row numbers of X) against the ``coded`` mask."""
    if P is None:
        P = predict_proba(clf, X[rows], [texts[i] for i in rows])  # type: ignore[arg-type]
    s = novelty_scores(X[rows], X[coded], P, k=p.k, fit_weight=p.fit_weight)
    return [int(rows[j]) for j in new_theme_candidates(X[rows], s, top=TOP, seed=seed, diversity=p.diversity)]


def themes_found(Y: np.ndarray, listed: list[int], themes: np.ndarray) -> int:
    """How many of ``themes`` have at least one listed row."""
    return int(Y[np.asarray(listed, dtype=int)][:, themes].any(0).sum()) if len(themes) and listed else 0


def random_found_expected(Y: np.ndarray, rows: np.ndarray, themes: np.ndarray, top: int = TOP) -> float:
    """Expected number of ``themes`` hit by ``top`` rows drawn uniformly without replacement from ``rows``."""
    n = len(rows)
    return float(sum(1 - comb(n - int(Y[rows, t].sum()), top) / comb(n, top) for t in themes)) if n >= top else 0.0


def label_wave(X: np.ndarray, Y: np.ndarray, texts: list[str], coded: np.ndarray, pool: np.ndarray,
               wave: np.ndarray, seed: int, how: str, p: Params, max_new: int) -> dict[int, tuple[np.ndarray,
                                                                                                   np.ndarray]]:
    """Label up to ``max_new`` rows of ``wave`` in batches; {n_new: (predictions on every wave row, labelled
    mask)} at 0 and each checkpoint. ``how``: "wave" (wave_queue_rank with ``p.weight``), "uncertainty"
    (weight 0) or "random"."""
    labelled = coded.copy()
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    wave_texts = [texts[i] for i in wave]
    n = 0
    while True:
        clf = app_fit(X, Y, texts, labelled, pool, seed)
        if n == 0 or n in CHECKPOINTS or n >= max_new:
            out[n] = (predict_labels(clf, predict_proba(clf, X[wave], wave_texts)), labelled.copy())
        if n >= max_new:
            return out
        unl = wave[~labelled[wave]]
        size = min(BATCH, max_new - n)
        if how == "random":
            batch = list(unl[np.argsort(explore_rank(unl, seed), kind="stable")][:size])
        else:
            unl_texts = [texts[i] for i in unl]
            u = utility(predict_scores(clf, X[unl], unl_texts), strategy=DEFAULT_STRATEGY,
                        theme_support=Y[labelled].sum(0), thresholds=clf.score_thresholds, seed=seed)
            u = u * local_density(X, unl, reference=wave)
            weight = 0.0 if how == "uncertainty" else p.weight
            nov = (np.zeros(len(unl)) if weight == 0 else
                   novelty_scores(X[unl], X[labelled], predict_proba(clf, X[unl], unl_texts), k=p.k,
                                  fit_weight=p.fit_weight))
            order = wave_queue_rank(u, nov, weight=weight)
            batch = [int(unl[j]) for j in drop_near_duplicates(X[unl], order, size)]
        labelled[batch] = True
        n += len(batch)


def held_out_themes(Y: np.ndarray, wave: np.ndarray, seed: int) -> np.ndarray:
    """``HELD_OUT`` themes drawn (seeded) among those with 5-60 responses in ``wave``."""
    counts = Y[wave].sum(0)
    eligible = np.flatnonzero((counts >= HELD_OUT_RANGE[0]) & (counts <= HELD_OUT_RANGE[1]))
    if len(eligible) == 0:
        return eligible
    return np.sort(np.random.default_rng(1000 + seed).choice(eligible, min(HELD_OUT, len(eligible)), replace=False))


def run_seed(X: np.ndarray, Y: np.ndarray, texts: list[str], w1: np.ndarray, w2: np.ndarray, labels: int,
             seed: int, p: Params, log: Callable[[str], None], *, hows: tuple[str, ...] = ("wave", "uncertainty",
                                                                                           "random"),
             max_new: int = max(CHECKPOINTS)) -> dict:
    """One seed: wave 1 coded, then each labelling of wave 2, the new-theme lists. A dict of figures."""
    t0 = time.perf_counter()
    coded = code_first_wave(X, Y, texts, w1, w2, labels, seed)
    pool = np.sort(np.concatenate([w1, w2]))
    runs = {how: label_wave(X, Y, texts, coded, pool, w2, seed, how, p, max_new) for how in hows}
    out: dict = {"seed": seed}
    last = max(runs[hows[0]])
    common = ~np.any([r[last][1][w2] for r in runs.values()], axis=0)
    out["n_common"] = int(common.sum())
    for how, r in runs.items():
        for n, (pred, lab) in r.items():
            rest = ~lab[w2]
            out[f"{how}@{n}"] = scores(Y[w2][rest], pred[rest])
            out[f"{how}@{n}_common"] = scores(Y[w2][common], pred[common])
    # new themes, natural split: in wave 2's gold codes, in none of wave 1's labelled rows
    clf = app_fit(X, Y, texts, coded, w1, seed)
    P0 = predict_proba(clf, X[w2], [texts[i] for i in w2])
    new = np.flatnonzero(Y[w2].any(0) & ~Y[coded].any(0))
    listed = novelty_list(X, clf, texts, coded, w2, p, seed, P0)
    rnd = list(np.random.default_rng(seed).choice(w2, TOP, replace=False))
    out.update(N=len(new), found=themes_found(Y, listed, new), found_random=themes_found(Y, rnd, new),
               found_random_exp=random_found_expected(Y, w2, new), new_themes=new)
    # held-out variant: a few themes the codeframe lacks; their coded wave-1 rows are dropped
    held = held_out_themes(Y, w2, seed)
    coded_h = coded & ~Y[:, held].any(1)
    clf_h = app_fit(X, Y, texts, coded_h, w1, seed)
    listed_h = novelty_list(X, clf_h, texts, coded_h, w2, p, seed)
    out.update(N_h=len(held), found_h=themes_found(Y, listed_h, held), found_h_random=themes_found(Y, rnd, held),
               found_h_random_exp=random_found_expected(Y, w2, held), held=held,
               hits_h=int(Y[np.asarray(listed_h)][:, held].any(1).sum()),
               hits_h_random=int(Y[np.asarray(rnd)][:, held].any(1).sum()))
    fig = " ".join(f"{how}@{n}={out[f'{how}@{n}'][0]:.3f}/{out[f'{how}@{n}'][1]:.3f}"
                   for how in hows for n in runs[how] if n or how == hows[0])
    log(f"seed={seed} {fig} | new themes found {out['found']}/{out['N']} (random {out['found_random']}) | "
        f"held-out found {out['found_h']}/{out['N_h']} (random {out['found_h_random']}) "
        f"({time.perf_counter() - t0:.0f}s)")
    return out


def _ms(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def tune(X: np.ndarray, Y: np.ndarray, texts: list[str], w1: np.ndarray, dates: list[str], ids: list[str],
         seeds: list[int], log: Callable[[str], None]) -> None:
    """ml.novelty's parameters on a development split: wave 1 cut in two by date (wave 2 never read)."""
    order = sorted(w1, key=lambda i: (dates[i], ids[i]))
    half = len(order) // 2
    a, b = np.sort(np.array(order[:half])), np.sort(np.array(order[half:]))
    labels = 500
    log(f"tuning: dev wave 1 = {len(a)} rows ({dates[order[0]]}..{dates[order[half - 1]]}, {labels} labels), "
        f"dev wave 2 = {len(b)} rows ({dates[order[half]]}..{dates[order[-1]]}); wave 2 untouched")
    states = []
    for s in seeds:
        coded = code_first_wave(X, Y, texts, a, b, labels, s)
        clf = app_fit(X, Y, texts, coded, a, s)
        held = held_out_themes(Y, b, s)
        coded_h = coded & ~Y[:, held].any(1)
        clf_h = app_fit(X, Y, texts, coded_h, a, s)
        states.append((s, coded, clf, coded_h, clf_h, held, np.flatnonzero(Y[b].any(0) & ~Y[coded].any(0))))
    log(f"dev natural new themes per seed: {[len(st[6]) for st in states]}; held-out {HELD_OUT} per seed")
    probas = {s: (predict_proba(clf, X[b], [texts[i] for i in b]), predict_proba(clf_h, X[b], [texts[i] for i in b]))
              for s, _, clf, _, clf_h, _, _ in states}
    best: tuple[tuple[float, ...], Params] | None = None
    for k in (1, 3, 10, 30):
        for fw in (0.0, 0.25, 0.5, 1.0):
            for div in (0.0, 0.5, 1.0):
                p = Params(k=k, fit_weight=fw, diversity=div)
                f_h, hits, f_n = [], [], []
                for s, coded, _, coded_h, _, held, new in states:
                    lh = novelty_list(X, None, texts, coded_h, b, p, s, probas[s][1])
                    ln = novelty_list(X, None, texts, coded, b, p, s, probas[s][0])
                    f_h.append(themes_found(Y, lh, held))
                    hits.append(int(Y[np.asarray(lh)][:, held].any(1).sum()))
                    f_n.append(themes_found(Y, ln, new))
                log(f"k={k:2d} fit_weight={fw:.2f} diversity={div:.1f}: held-out found {sum(f_h)}/"
                    f"{HELD_OUT * len(states)} ({_ms([float(x) for x in f_h])} a seed), rows of held-out themes in "
                    f"the list {_ms([float(x) for x in hits])}, natural found {sum(f_n)}/"
                    f"{sum(len(st[6]) for st in states)}")
                key = (float(sum(f_h) + sum(f_n)), float(np.mean(hits)))
                if best is None or key > best[0]:
                    best = (key, p)
    assert best is not None
    p = best[1]
    log(f"best list: k={p.k} fit_weight={p.fit_weight} diversity={p.diversity}")
    pool = np.sort(np.concatenate([a, b]))
    rnd_h = [random_found_expected(Y, b, st[5]) for st in states]
    rnd_n = [random_found_expected(Y, b, st[6]) for st in states]
    log(f"random 50 rows (expected): held-out found {sum(rnd_h):.1f}/{HELD_OUT * len(states)}, natural found "
        f"{sum(rnd_n):.1f}/{sum(len(st[6]) for st in states)}")
    variants: list[tuple[str, float]] = [(f"weight={w:.2f}", w) for w in (0.0, 0.25, 0.5, 0.75, 1.0)]
    variants.append(("random", 0.0))
    runs: dict[str, list[dict[int, tuple[np.ndarray, np.ndarray]]]] = {}
    for name, weight in variants:
        q = Params(k=p.k, fit_weight=p.fit_weight, diversity=p.diversity, weight=weight)
        how = "random" if name == "random" else "wave"
        runs[name] = [label_wave(X, Y, texts, st[1], pool, b, st[0], how, q, max(CHECKPOINTS)) for st in states]
    for n in CHECKPOINTS:
        common = [~np.any([runs[name][i][n][1][b] for name, _ in variants], axis=0) for i in range(len(states))]
        log(f"dev f1@{n}, micro / macro: on the rows that run did not label | on the rows no variant labelled "
            f"({np.mean([c.sum() for c in common]):.0f})")
        for name, _ in variants:
            rest = [scores(Y[b][~r[n][1][b]], r[n][0][~r[n][1][b]]) for r in runs[name]]
            com = [scores(Y[b][c], r[n][0][c]) for r, c in zip(runs[name], common, strict=True)]
            log(f"  {name:>12}: {_ms([x[0] for x in rest])} / {_ms([x[1] for x in rest])} | "
                f"{_ms([x[0] for x in com])} / {_ms([x[1] for x in com])}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--seeds", default=None, help="default 0,1,2,3,4 (0 with --quick)")
    ap.add_argument("--labels", type=int, default=None, help="wave-1 labels; default 1000 (300 with --quick)")
    ap.add_argument("--quick", action="store_true", help="one seed, fewer wave-1 labels: a smoke test")
    ap.add_argument("--tune", action="store_true", help="ml.novelty's parameters on a dev split of wave 1")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="Liblinear failed to converge")
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2,3,4")).split(",")]
    labels = args.labels or (300 if args.quick else 1000)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    log(f"cpu: {cpu_name()} ({platform.machine()})")
    data = load_coded(args.data)
    w1, w2, dates = split_waves(args.data, data.ids)
    X = cached_embeddings(load_model(), "all-MiniLM-L6-v2", data.texts)
    Y, texts = data.Y, data.texts
    if args.tune:
        tune(X, Y, texts, w1, dates, data.ids, seeds, log)
        return
    p = Params()
    log(f"data {args.data.name}: {len(data.ids)} respondents, {len(data.themes)} themes; wave 1 = {len(w1)} rows "
        f"({min(dates[i] for i in w1)}..{max(dates[i] for i in w1)}), wave 2 = {len(w2)} rows "
        f"({min(dates[i] for i in w2)}..{max(dates[i] for i in w2)}); {labels} wave-1 labels; seeds {seeds}"
        f"{' (--quick)' if args.quick else ''}")
    log(f"ml.novelty: k={p.k} fit_weight={p.fit_weight} diversity={p.diversity} wave weight={p.weight}; "
        f"batches of {BATCH}; list top {TOP}")
    res = [run_seed(X, Y, texts, w1, w2, labels, s, p, log) for s in seeds]

    def col(key: str, i: int, suffix: str = "") -> list[float]:
        return [float(r[f"{key}{suffix}"][i]) for r in res]

    log("")
    log(f"means ± sd over seeds {seeds}; scored on the wave-2 rows that run has not labelled "
        f"(common: the {_ms([r['n_common'] for r in res])} wave-2 rows none of the three runs labelled)")
    log("new labels | wave queue micro / macro | uncertainty only micro / macro | random micro / macro")
    for n in (0, *CHECKPOINTS):
        cells = [f"{_ms(col(f'{h}@{n}', 0))} / {_ms(col(f'{h}@{n}', 1))}" for h in ("wave", "uncertainty", "random")]
        log(f"{n:>10} | " + " | ".join(cells))
    for n in CHECKPOINTS:
        cells = [f"{_ms(col(f'{h}@{n}', 0, '_common'))} / {_ms(col(f'{h}@{n}', 1, '_common'))}"
                 for h in ("wave", "uncertainty", "random")]
        log(f"{n:>6} common | " + " | ".join(cells))
    names = lambda idx: ", ".join(data.themes[j] for j in idx)  # noqa: E731
    for r in res:
        log(f"seed={r['seed']} natural new themes ({r['N']}): {names(r['new_themes']) or '-'}; "
            f"held out: {names(r['held'])}")
    log(f"new themes (natural, summed over seeds): found {sum(r['found'] for r in res)} of "
        f"{sum(r['N'] for r in res)} | random 50: {sum(r['found_random'] for r in res)} (expected "
        f"{sum(r['found_random_exp'] for r in res):.1f})")
    log(f"held-out variant ({HELD_OUT} themes a seed, summed): found {sum(r['found_h'] for r in res)} of "
        f"{sum(r['N_h'] for r in res)} | random 50: {sum(r['found_h_random'] for r in res)} (expected "
        f"{sum(r['found_h_random_exp'] for r in res):.1f}); rows of held-out themes in the list "
        f"{_ms([r['hits_h'] for r in res])} vs random {_ms([r['hits_h_random'] for r in res])}")
    log(f"wall time {time.perf_counter() - t_start:.0f}s")

    def m(key: str, i: int) -> float:
        return float(np.mean(col(key, i)))

    log(f"wave2 macro f1@0={m('wave@0', 1):.3f} f1@100={m('wave@100', 1):.3f} f1@300={m('wave@300', 1):.3f} | "
        f"random f1@100={m('random@100', 1):.3f} f1@300={m('random@300', 1):.3f}")
    print(f"wave2 f1@0={m('wave@0', 0):.3f} f1@100={m('wave@100', 0):.3f} f1@300={m('wave@300', 0):.3f} | "
          f"new_themes found={sum(r['found'] for r in res)} of {sum(r['N'] for r in res)}")


if __name__ == "__main__":
    main()
