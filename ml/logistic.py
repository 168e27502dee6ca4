"""Batched L2 logistic regression: one binary problem per label column, all columns solved together.

The objective, for each column ``j`` of ``Y`` (n, k) separately, over weights ``w`` (d,) and intercept ``b``::

    f_j(w, b) = sum_i c_ij * log(1 + exp(-s_ij * (x_i . w + b)))  +  (|w|^2 + b^2) / (2 * C)

- ``s_ij`` is +1 where ``Y[i, j]`` is true, else -1.
- ``c_ij`` are class weights: with ``balanced`` (the default) ``n / (2 * n_pos_j)`` on the column's positives
  and ``n / (2 * n_neg_j)`` on its negatives, which is scikit-learn's ``class_weight="balanced"``; without
  it, all are 1. There are no per-row sample weights.
- The loss is summed over rows, not averaged, so ``C * f_j`` is scikit-learn's ``C * sum(loss) + |w|^2 / 2``:
  ``C`` here *is* scikit-learn's ``C`` (no rescaling by ``n``).
- The intercept is penalised like a weight: this is liblinear's objective (``intercept_scaling=1``), the
  per-theme fit this solver replaced, kept so the switch changed the solver, not the model. scikit-learn's
  lbfgs leaves the intercept unpenalised, so the equivalent there is ``LogisticRegression(C=C,
  class_weight="balanced", fit_intercept=False)`` on ``X`` with a column of ones appended, whose coefficient
  is ``b`` (tests/ml/test_logistic.py checks exactly that).

How it is solved: L-BFGS per column in lockstep. Each column keeps its own curvature pairs and step length,
so the columns stay independent problems, while every loss and gradient evaluation is two matrix products
for all columns at once. Arithmetic is float32 (losses summed in float64), so the optimum is found to about
float32 precision, not float64's. Deterministic.

Features are an ``ndarray`` (n, d), a scipy sparse matrix, or any :class:`LinearFeatures` (e.g. the
classifier's dense embeddings with a sparse TF-IDF block kept apart).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

#: Defaults: at most this many L-BFGS iterations per fit, stopping earlier once every column's gradient norm
#: fell below ``GRAD_TOL`` times its starting value; ``LBFGS_MEMORY`` curvature pairs kept per column.
MAX_ITER = 60
GRAD_TOL = 1e-3
LBFGS_MEMORY = 5
#: Intercept of columns left out of a fit: sigmoid(-30) ~ 1e-13, i.e. "never".
NEVER_INTERCEPT = -30.0


@runtime_checkable
class LinearFeatures(Protocol):
    """A feature matrix ``F`` (n, n_features) seen only through its products with coefficient matrices."""

    @property
    def n_features(self) -> int: ...

    def dot(self, W: np.ndarray) -> np.ndarray:
        """``F @ W`` (n, k) float32 for ``W`` (n_features, k)."""
        ...

    def tdot(self, G: np.ndarray) -> np.ndarray:
        """``F.T @ G`` (n_features, k) float32 for ``G`` (n, k)."""
        ...


class _Matrix:
    """:class:`LinearFeatures` over one dense or sparse matrix."""

    def __init__(self, X: Any) -> None:
        if sparse.issparse(X):
            self._X = X.astype(np.float32).tocsr()
            self._XT = self._X.T.tocsr()
        else:
            self._X = np.asarray(X, dtype=np.float32)
            self._XT = self._X.T
        if self._X.ndim != 2:
            raise ValueError(f"features must be 2-D, got shape {self._X.shape}")

    @property
    def n_features(self) -> int:
        return int(self._X.shape[1])

    def dot(self, W: np.ndarray) -> np.ndarray:
        return np.asarray(self._X @ W, dtype=np.float32)

    def tdot(self, G: np.ndarray) -> np.ndarray:
        return np.asarray(self._XT @ G, dtype=np.float32)


def as_features(X: Any) -> LinearFeatures:
    """``X`` itself if it already is :class:`LinearFeatures`, else a float32 view of the (sparse) matrix."""
    return X if isinstance(X, LinearFeatures) else _Matrix(X)


def _cdot(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Column-wise dot products of two (d, k) matrices: (k,)."""
    return np.einsum("ij,ij->j", A, B)


def _loss_grad(
    F: LinearFeatures, W: np.ndarray, b: np.ndarray, sign: np.ndarray, cw: np.ndarray, inv_c: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column objective (k,), gradient in W (d, k) and in b (k,) of the weighted L2 logistic loss."""
    m = -sign * (F.dot(W) + b)  # margin violations
    e = np.exp(-np.abs(m))  # one exp serves the loss and its derivative, overflow-free
    loss = (cw * (np.maximum(m, 0) + np.log1p(e))).sum(0, dtype=np.float64)
    loss += 0.5 * inv_c * (_cdot(W, W) + b.astype(np.float64) ** 2)
    G = (-sign * cw) * np.where(m >= 0, 1, e) / (1 + e)  # times sigmoid(m)
    return loss, F.tdot(G) + inv_c * W, G.sum(0) + inv_c * b


def fit_logistic(
    X: Any, Y: np.ndarray, C: float, *, cols: np.ndarray | None = None, balanced: bool = True,
    init: tuple[np.ndarray, np.ndarray] | None = None, max_iter: int = MAX_ITER, grad_tol: float = GRAD_TOL,
    memory: int = LBFGS_MEMORY, threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the module's objective for each column of ``Y`` (n, k) in ``cols``; return (coef (d, k), b (k,)).

    ``X`` (n, d): see the module docstring. ``cols`` (k,) bool, default all: the other columns are not fitted
    and get zero weights and intercept :data:`NEVER_INTERCEPT`; every fitted column needs both classes for the
    balanced weights to mean anything. ``init`` (coef (d, k), intercept (k,)) warm-starts from earlier
    coefficients; the stopping rule (``grad_tol``, relative to each column's gradient at the start, and
    ``max_iter``) is then relative to that start too. ``threads`` split the columns (alternately) between
    threads, each with one BLAS thread; a column's result does not depend on the split beyond float round-off.
    Results are float32.
    """
    F = as_features(X)
    Y = np.asarray(Y)
    todo_mask = np.ones(Y.shape[1], dtype=bool) if cols is None else np.asarray(cols, dtype=bool)
    # One BLAS thread: the products are thin (k columns), and on a shared machine threads that wait for a
    # core cost more than they give. The columns are independent problems, so extra threads take alternate
    # columns instead (numpy releases the GIL in the products).
    todo = np.flatnonzero(todo_mask)
    parts = [todo[i::threads] for i in range(threads) if len(todo[i::threads])]
    masks = [np.isin(np.arange(len(todo_mask)), part) for part in parts]
    with threadpool_limits(limits=1, user_api="blas"):
        if len(masks) <= 1:
            return _lbfgs(F, Y, todo_mask, C, balanced, init, max_iter, grad_tol, memory)
        with ThreadPoolExecutor(len(masks)) as pool:
            fits = list(pool.map(lambda m: _lbfgs(F, Y, m, C, balanced, init, max_iter, grad_tol, memory), masks))
    coef, intercept = fits[0]
    for m, (w, b) in zip(masks[1:], fits[1:], strict=True):
        coef[:, m], intercept[m] = w[:, m], b[m]
    return coef, intercept


def _lbfgs(
    F: LinearFeatures, Y: np.ndarray, cols: np.ndarray, C: float, balanced: bool,
    init: tuple[np.ndarray, np.ndarray] | None, max_iter: int, grad_tol: float, memory: int,
) -> tuple[np.ndarray, np.ndarray]:
    k = Y.shape[1]
    d = F.n_features
    coef = np.zeros((d, k), dtype=np.float32)
    intercept = np.full(k, NEVER_INTERCEPT, dtype=np.float32)
    todo = np.flatnonzero(cols)
    if len(todo) == 0:
        return coef, intercept
    y = np.asarray(Y[:, todo], dtype=bool)
    n = len(y)
    sign = np.where(y, np.float32(1), np.float32(-1))
    if balanced:
        n_pos = y.sum(0).astype(np.float32)
        cw = np.where(y, n / (2 * np.maximum(n_pos, 1)), n / (2 * np.maximum(n - n_pos, 1))).astype(np.float32)
    else:
        cw = np.ones(y.shape, dtype=np.float32)
    inv_c = 1.0 / C
    if init is not None:
        W, b = init[0][:, todo].astype(np.float32), init[1][todo].astype(np.float32)
    else:
        W, b = np.zeros((d, len(todo)), dtype=np.float32), np.zeros(len(todo), dtype=np.float32)
    f, gW, gb = _loss_grad(F, W, b, sign, cw, inv_c)
    g0 = np.sqrt(_cdot(gW, gW) + gb * gb) + 1e-12
    hist: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for _ in range(max_iter):
        gnorm = np.sqrt(_cdot(gW, gW) + gb * gb)
        if (gnorm <= grad_tol * g0).all():
            break
        # two-loop recursion, one L-BFGS per column
        qW, qb = -gW, -gb
        alphas = []
        for sW, sb, yW, yb, rho in reversed(hist):
            a = rho * (_cdot(sW, qW) + sb * qb)
            qW, qb = qW - a * yW, qb - a * yb
            alphas.append(a)
        if hist:
            sW, sb, yW, yb, _ = hist[-1]
            gamma = (_cdot(sW, yW) + sb * yb) / np.maximum(_cdot(yW, yW) + yb * yb, 1e-20)
        else:
            gamma = 1.0 / np.maximum(gnorm, 1e-12)
        qW, qb = gamma * qW, gamma * qb
        for (sW, sb, yW, yb, rho), a in zip(hist, reversed(alphas), strict=True):
            beta = rho * (_cdot(yW, qW) + yb * qb)
            qW, qb = qW + (a - beta) * sW, qb + (a - beta) * sb
        slope = _cdot(gW, qW) + gb * qb
        bad = slope >= 0  # not a descent direction (float round-off): fall back to steepest descent
        if bad.any():
            qW[:, bad], qb[bad] = -gW[:, bad] / gnorm[bad], -gb[bad] / gnorm[bad]
            slope[bad] = -gnorm[bad]
        step = np.where(gnorm <= grad_tol * g0, 0, 1).astype(np.float32)  # converged columns stay put
        W1, b1 = W + step * qW, b + step * qb
        f1, gW1, gb1 = _loss_grad(F, W1, b1, sign, cw, inv_c)
        for _ in range(20):  # backtracking (Armijo), re-evaluating only the columns that failed
            # the |f| slack: float32 losses cannot resolve a smaller decrease, which would stall the search
            fail = np.flatnonzero(f1 > f + 1e-4 * step * slope + 1e-7 * np.abs(f))
            if len(fail) == 0:
                break
            step[fail] *= 0.5
            W1[:, fail], b1[fail] = W[:, fail] + step[fail] * qW[:, fail], b[fail] + step[fail] * qb[fail]
            f1[fail], gW1[:, fail], gb1[fail] = _loss_grad(F, W1[:, fail], b1[fail], sign[:, fail], cw[:, fail], inv_c)
        sW, sb, yW, yb = W1 - W, b1 - b, gW1 - gW, gb1 - gb
        sy = _cdot(sW, yW) + sb * yb
        # a pair without positive curvature (round-off) is kept with weight 0, i.e. ignored
        rho = np.where(sy > 1e-10, 1.0 / np.maximum(sy, 1e-10), 0.0).astype(np.float32)
        hist.append((sW, sb, yW, yb, rho))
        hist = hist[-memory:]
        W, b, f, gW, gb = W1, b1, f1, gW1, gb1
    coef[:, todo] = W
    intercept[todo] = b
    return coef, intercept
