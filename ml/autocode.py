"""Auto-coding gate: which responses the model may code on its own, with an honest quality claim, and the QC check.

Plain numpy. ``P`` (n, k) are calibrated per-theme probabilities (:func:`ml.classifier.predict_proba`) and
``thresholds`` (k,) the model's decision thresholds in the same scale (``ThemeClassifier.thresholds``); a
theme is predicted when ``P >= thresholds``, and a threshold above 1 means the theme is not trained (its
column is ignored). Every random draw is seeded, so the same inputs and seed give the same plan.

Functions
---------
- ``response_confidence(P, thresholds) -> np.ndarray``: each row's probability that its whole predicted set is right
- ``gate_plan(P, thresholds, target=0.85, *, seed=0, draws=400, level=0.9) -> GatePlan``
- ``qc_measure(auto, human, *, seed=0, draws=1000, level=0.9) -> dict``: the model's codes vs a human's blind ones
- ``fit_gate_correction(oof, Y, thresholds) -> GateCorrection`` and ``apply_gate_correction(P, thresholds, corr)``:
  the out-of-fold correction that makes the gate's claim honest (see below)

Why a correction: per-theme Platt probabilities are calibrated theme by theme over all rows, but the gate
picks rows where the model is sure, and there the themes it does not predict are much less likely than
their marginal probabilities say (answers carry 1.4 themes on average: once one theme clearly applies, the
other 44 small probabilities over-count the misses). On a development split of the NHS pool the uncorrected
claim of 0.85 measured 0.96-0.98. :func:`fit_gate_correction` measures that on the labelled rows' out-of-fold
probabilities (:func:`ml.classifier.oof_proba`) and :func:`apply_gate_correction` rescales ``P`` before
:func:`gate_plan`; decisions are unchanged, only the probabilities of the errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.agreement import alpha_nominal

#: Rows whose predicted set is empty are never auto-coded. A survey coder gives every response at least one
#: code, and an empty set scores nothing in micro-F1 (no tp, no fp) yet is claimed at prod(1 - p), a product
#: of per-theme marginals that treats "none of 45 themes" as likely when each theme alone is unlikely; on the
#: NHS data every gold response has a theme, so such rows would only add misses.
ALLOW_EMPTY = False
#: :func:`fit_gate_correction` compares expected and observed errors over this share of the out-of-fold rows,
#: the most confident first: the region the gate codes. Development split (NHS pool, 1,000 active-learning
#: labels, seeds 0-4; claimed - measured): 0.1 +0.096, 0.15 +0.040, 0.2 +0.012 ± 0.024, 0.25 -0.023, 0.3 -0.042,
#: all rows -0.072. A small head over-corrects (few observed misses), a large one under-corrects.
HEAD_SHARE = 0.2
#: Pseudo-count added to both observed and expected error counts, so a head with no observed miss shrinks
#: the expectation rather than zeroing it.
CORRECTION_PRIOR = 1.0


@dataclass
class GatePlan:
    """The rows to auto-code, their codes, and the claim about them (see :func:`gate_plan`)."""

    rows: np.ndarray  # (m,) int indices into P of the rows auto-coded, most confident first
    labels: np.ndarray  # (m, k) bool: the themes each coded row gets (P >= thresholds)
    claimed_f1: float  # expected micro-F1 over the coded rows (nan when m == 0)
    interval: tuple[float, float]  # interval of that micro-F1 at `level` (nan, nan when m == 0)
    per_theme: np.ndarray  # (k,) int: coded rows carrying each theme
    confidence: np.ndarray  # (n,) float: every row's probability that its whole predicted set is right


def _check(P: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P as float64 in [0, 1], predicted (n, k) bool, trained (k,) bool)."""
    P = np.clip(np.asarray(P, dtype=np.float64), 0.0, 1.0)
    th = np.asarray(thresholds, dtype=np.float64)
    if P.ndim != 2 or th.shape != (P.shape[1],):
        raise ValueError(f"P {P.shape} must be (n, k) and thresholds {th.shape} (k,)")
    trained = th <= 1.0
    row = th[None, :]
    return P, np.greater_equal(P, row) & trained[None, :], trained


def response_confidence(P: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Each row's probability that its whole predicted set is right: prod over trained themes of p or 1 - p.

    ``p`` where the theme is predicted (``P >= thresholds``), ``1 - p`` where it is not; untrained columns
    (threshold > 1) are ignored. Summed in logs, as 45 small factors underflow nothing but lose digits.
    """
    P, pred, trained = _check(P, thresholds)
    right = np.where(pred, P, 1.0 - P)[:, trained]
    return np.exp(np.log(np.maximum(right, 1e-300)).sum(axis=1))


def _eligible(pred: np.ndarray) -> np.ndarray:
    """(n,) bool: rows the gate may code (:data:`ALLOW_EMPTY`)."""
    return np.ones(len(pred), dtype=bool) if ALLOW_EMPTY else np.asarray(pred.any(axis=1), dtype=bool)


def _expected_counts(P: np.ndarray, pred: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """(n, 3) expected tp, fp, fn per row if each theme applies with its probability (trained columns)."""
    Pt, pt = P[:, trained], pred[:, trained]
    return np.stack([(Pt * pt).sum(1), ((1.0 - Pt) * pt).sum(1), (Pt * ~pt).sum(1)], axis=1)


def _micro_f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1.0), np.nan)


def gate_plan(P: np.ndarray, thresholds: np.ndarray, target: float = 0.85, *, seed: int = 0,
              draws: int = 400, level: float = 0.9) -> GatePlan:
    """The longest head of the most confident rows whose expected micro-F1 is at least ``target``.

    Rows are ranked by :func:`response_confidence` (ties by row order); rows with no predicted theme are left
    out (:data:`ALLOW_EMPTY`). Over a head of the ranking the expected counts are summed (tp = sum of p over
    predicted themes, fp = sum of 1 - p over them, fn = sum of p over the themes not predicted) and the
    expected micro-F1 is ``2 tp / (2 tp + fp + fn)``; the plan codes the longest head where it is
    ``>= target``. The ranking puts the surest rows first, so that figure falls, nearly monotonically, as the
    head grows: the longest qualifying head is what "code as much as the target allows" means.

    ``interval``: ``draws`` Monte-Carlo worlds where each (coded row, theme) applies independently with its
    probability (seeded), the realised micro-F1 of the codes in each, and the percentile interval at
    ``level``. It is as honest as ``P`` is calibrated on confident rows: recalibrate ``P`` first when it is not.
    """
    P, pred, trained = _check(P, thresholds)
    k = P.shape[1]
    conf = response_confidence(P, thresholds)
    eligible = _eligible(pred)
    order = np.argsort(-conf, kind="stable")
    order = order[eligible[order]]
    counts = np.cumsum(_expected_counts(P[order], pred[order], trained), axis=0)
    f1 = _micro_f1(counts[:, 0], counts[:, 1], counts[:, 2]) if len(order) else np.zeros(0)
    ok = np.flatnonzero(f1 >= target)  # nan (nothing to score yet) never qualifies
    m = int(ok[-1]) + 1 if len(ok) else 0
    rows = order[:m].astype(int)
    labels = pred[rows]
    if m == 0:
        return GatePlan(rows, labels, math.nan, (math.nan, math.nan), np.zeros(k, dtype=int), conf)
    claimed = float(f1[m - 1])
    # Monte-Carlo: draw whole worlds of outcomes for the coded rows, score the fixed codes in each.
    rng = np.random.default_rng(seed)
    Pc, lab = P[rows][:, trained], labels[:, trained]
    realised = np.empty(draws)
    for d in range(draws):
        truth = rng.random(Pc.shape) < Pc
        tp = float((truth & lab).sum())
        realised[d] = 2 * tp / max(2 * tp + float((~truth & lab).sum()) + float((truth & ~lab).sum()), 1.0)
    lo, hi = np.quantile(realised, [(1 - level) / 2, 1 - (1 - level) / 2])
    return GatePlan(rows, labels, claimed, (float(lo), float(hi)), labels.sum(axis=0).astype(int), conf)


def _binary_alpha(d: np.ndarray, ones: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Krippendorff's nominal alpha for two coders, 0/1 values, no missing ones, from pooled counts.

    ``d`` units where the coders differ, ``ones`` 1-values over both coders, ``units`` units. With N = 2
    units pairable values, the coincidence matrix gives alpha = 1 - (N - 1) d / (n0 n1), n0 = N - n1;
    nan where there is no variation (n0 n1 == 0). The same figure as :func:`ml.agreement.alpha_nominal`.
    """
    N = 2.0 * units
    zeros = N - ones
    denom = zeros * ones
    return np.where(denom > 0, 1.0 - (N - 1) * d / np.where(denom > 0, denom, 1.0), np.nan)


def qc_measure(auto: np.ndarray, human: np.ndarray, *, seed: int = 0, draws: int = 1000,
               level: float = 0.9) -> dict[str, Any]:
    """Agreement of the model's auto-codes with a human's blind codes of the same ``m`` responses.

    ``auto`` and ``human`` are (m, k) bool. The human is the reference: precision, recall and micro-F1 pool
    every (response, theme) decision. ``alpha`` is Krippendorff's alpha (nominal) with model and human as
    two coders over every (response, theme) 0/1 decision (:func:`ml.agreement.alpha_nominal`). Each
    ``<name>_interval`` is a seeded percentile bootstrap over responses (a response's k decisions move
    together, as the responses are the sample). Undefined figures are nan.
    """
    a = np.asarray(auto, dtype=bool)
    h = np.asarray(human, dtype=bool)
    if a.shape != h.shape or a.ndim != 2:
        raise ValueError(f"auto {a.shape} and human {h.shape} must be the same (m, k) shape")
    m, k = a.shape
    # per-response counts: tp, fp, fn, disagreements, ones over both coders
    per = np.stack([(a & h).sum(1), (a & ~h).sum(1), (~a & h).sum(1), (a != h).sum(1), a.sum(1) + h.sum(1)],
                   axis=1).astype(np.float64)
    rel = np.vstack([a.ravel(), h.ravel()]).astype(np.float64)
    alpha = alpha_nominal(rel) if m else math.nan

    def figures(c: np.ndarray, units: np.ndarray) -> np.ndarray:
        tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            prec = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-300), np.nan)
            rec = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1e-300), np.nan)
        return np.stack([prec, rec, _micro_f1(tp, fp, fn), _binary_alpha(c[..., 3], c[..., 4], units)], axis=-1)

    point = figures(per.sum(0), np.array(float(m * k)))
    out: dict[str, Any] = {"n": m, "precision": float(point[0]), "recall": float(point[1]),
                           "micro_f1": float(point[2]), "alpha": float(alpha)}
    names = ("precision", "recall", "micro_f1", "alpha")
    if m == 0:
        out.update({f"{name}_interval": (math.nan, math.nan) for name in names})
        return out
    rng = np.random.default_rng(seed)
    W = rng.multinomial(m, np.full(m, 1.0 / m), size=draws).astype(np.float64)  # (draws, m) multiplicities
    reps = figures(W @ per, np.full(draws, float(m * k)))
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    for j, name in enumerate(names):
        finite = reps[:, j][np.isfinite(reps[:, j])]
        lo, hi = np.quantile(finite, q) if len(finite) else (math.nan, math.nan)
        out[f"{name}_interval"] = (float(lo), float(hi))
    return out


@dataclass
class GateCorrection:
    """Scales for the probability of each error kind on confident rows (1.0 = no change)."""

    fp_scale: float  # multiplies 1 - p of predicted themes
    fn_scale: float  # multiplies p of themes not predicted
    rows: int  # out-of-fold rows it was measured on


def fit_gate_correction(oof: np.ndarray, Y: np.ndarray, thresholds: np.ndarray, *,
                        head: float = HEAD_SHARE) -> GateCorrection:
    """Observed / expected false positives and false negatives on the most confident out-of-fold rows.

    ``oof`` (n, k) out-of-fold probabilities of the labelled rows in the same calibrated scale as
    ``thresholds`` (:func:`ml.classifier.oof_proba`), ``Y`` (n, k) their labels. Rows are ranked as
    :func:`gate_plan` ranks them (rows with no predicted theme left out) and the first ``head`` share of
    the labelled rows is used; each scale is ``(observed + prior) / (expected + prior)``
    (:data:`CORRECTION_PRIOR`), a ratio estimator shrunk towards 1.
    """
    P, pred, trained = _check(oof, thresholds)
    Y = np.asarray(Y, dtype=bool)
    if Y.shape != P.shape:
        raise ValueError(f"Y {Y.shape} must match oof {P.shape}")
    conf = response_confidence(P, thresholds)
    order = np.argsort(-conf, kind="stable")
    order = order[_eligible(pred)[order]]
    order = order[: max(int(head * len(P)), 0)]
    if len(order) == 0:
        return GateCorrection(1.0, 1.0, 0)
    expected = _expected_counts(P[order], pred[order], trained).sum(axis=0)
    p, y = pred[order][:, trained], Y[order][:, trained]
    fp, fn = float((p & ~y).sum()), float((~p & y).sum())
    c = CORRECTION_PRIOR
    return GateCorrection((fp + c) / (expected[1] + c), (fn + c) / (expected[2] + c), len(order))


def apply_gate_correction(P: np.ndarray, thresholds: np.ndarray, correction: GateCorrection) -> np.ndarray:
    """``P`` with the error probabilities rescaled: ``1 - (1 - p) * fp_scale`` where predicted, ``p * fn_scale``
    where not. Clipped so that no decision (``P >= thresholds``) changes; untrained columns are left as they are.
    """
    P, pred, trained = _check(P, thresholds)
    th = np.asarray(thresholds, dtype=np.float64)[None, :]
    up = np.maximum(1.0 - (1.0 - P) * correction.fp_scale, th)
    down = np.minimum(P * correction.fn_scale, np.nextafter(th, -np.inf))
    out = np.where(pred, np.clip(up, 0.0, 1.0), np.clip(down, 0.0, 1.0))
    return np.where(trained[None, :], out, P)
