"""Probability calibration (Platt scaling) and its measure, the expected calibration error. Plain numpy.

The classifier's raw scores come from class-balanced logistic regressions: good for ranking and for
tuned thresholds, but a rare theme's "60%" is right far less often than 60% of the time. Platt scaling
fitted on out-of-fold scores maps them to probabilities an analyst can read as such.
"""

from __future__ import annotations

import numpy as np

#: Logits are clipped to this range before calibration (sigmoid(-30) from untrained fold columns).
LOGIT_CLIP = 15.0
#: Smallest slope kept: the map must stay strictly increasing so thresholds map one-to-one.
MIN_SLOPE = 1e-2


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.clip(np.log(p) - np.log1p(-p), -LOGIT_CLIP, LOGIT_CLIP)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def platt_fit(
    scores: np.ndarray, y: np.ndarray, *, fit_slope: bool = True, iterations: int = 50
) -> tuple[float, float]:
    """Fit ``p = sigmoid(a * logit(score) + b)`` to bool labels ``y``; return ``(a, b)``.

    Uses Platt's smoothed targets ((n+ + 1) / (n+ + 2) for positives, 1 / (n- + 2) for negatives), which
    is what keeps a theme with two or three positives sensible: its map stays close to its smoothed base
    rate instead of jumping to 0 or 1. Newton's method with a tiny ridge for numerical stability; the
    slope is floored at :data:`MIN_SLOPE` so the map is increasing (a score that ranks is never inverted).
    ``fit_slope=False`` keeps the slope at 1 and fits the intercept only: with a handful of positives a
    fitted slope is noise, a shift towards the base rate is not.
    """
    z = _logit(scores)
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = float(y.sum()), float((~y).sum())
    t = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    prior = (n_pos + 1) / (n_pos + n_neg + 2)
    a, b = 1.0, float(np.log(prior) - np.log1p(-prior))  # start: slope 1 at the smoothed base rate
    A = np.stack([z, np.ones_like(z)], axis=1)
    ridge = 1e-6

    def loss(a: float, b: float) -> float:
        f = a * z + b  # cross-entropy against the smoothed targets, overflow-free
        return float((t * np.logaddexp(0, -f) + (1 - t) * np.logaddexp(0, f)).sum() + ridge * (a * a + b * b) / 2)

    current = loss(a, b)
    for _ in range(iterations):
        p = _sigmoid(a * z + b)
        grad = A.T @ (p - t) + ridge * np.array([a, b])
        hess = (A * (p * (1 - p))[:, None]).T @ A + ridge * np.eye(2)
        if fit_slope:
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                break
        else:
            step = np.array([0.0, grad[1] / hess[1, 1]])
        # Backtracking: a full Newton step can overshoot when the scores are nearly separable.
        scale = 1.0
        while scale > 1e-6:
            trial = loss(a - scale * float(step[0]), b - scale * float(step[1]))
            if trial <= current:
                break
            scale /= 2
        else:
            break
        a, b, current = a - scale * float(step[0]), b - scale * float(step[1]), trial
        if scale * np.abs(step).max() < 1e-8:
            break
    if not np.isfinite(a) or not np.isfinite(b):
        return 1.0, 0.0
    return max(a, MIN_SLOPE), b


def platt_apply(scores: np.ndarray, slope: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Calibrated probabilities for raw ``scores`` (..., k) with per-column ``slope`` and ``intercept`` (k,)."""
    return _sigmoid(np.asarray(slope) * _logit(scores) + np.asarray(intercept))


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error over every (row, theme) pair, with ``bins`` equal-width bins on [0, 1].

    The share of pairs in each bin times the gap between its mean probability and its share of positives,
    summed over bins. 0 is perfect; a model that says 30% where themes apply 10% of the time scores 0.2.
    """
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(proba, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true {np.shape(y_true)} and proba {np.shape(proba)} must have the same shape")
    if p.size == 0:
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)  # p == 1.0 belongs to the last bin
    count = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, weights=p, minlength=bins) - np.bincount(which, weights=y, minlength=bins))
    # sum over bins of |sum p - sum y| / n == sum of (count/n) * |mean p - mean y|
    return float(gap[count > 0].sum() / p.size)
