"""ml.logistic against scikit-learn: the same data and objective give the same coefficients and probabilities.

The reference is ``LogisticRegression(C=C, class_weight="balanced" or None, fit_intercept=False,
solver="lbfgs")`` fitted per label column on ``X`` with a column of ones appended: ml.logistic penalises the
intercept like a weight (see its docstring), and that is the scikit-learn formulation that does too (its own
intercept would go unpenalised). Both are run to convergence, scikit-learn in float64 and ours in float32.

Tolerances: over every weight and the intercept, ``max |ours - sklearn| <= COEF_TOL * max(1, max |sklearn|)``
(1e-4), and over the fitted rows ``max |p_ours - p_sklearn| <= PROBA_TOL`` (5e-5). They are set by float32: run
to its stopping rule, our solver lands within about 3e-5 of the float64 optimum on these data (scikit-learn within
1e-6), and a tighter stopping rule reaches float32's noise floor, where L-BFGS wanders instead of stopping. Doubling
C, or leaving the intercept unpenalised, moves the reference by a hundred times the tolerances or more (checked
below), so a wrong penalty scale or intercept treatment fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from ml.logistic import NEVER_INTERCEPT, fit_logistic

#: Max weight/intercept difference, relative to the largest reference coefficient (at least 1).
COEF_TOL = 1e-4
#: Max difference of fitted probabilities.
PROBA_TOL = 5e-5
#: Our solver run to convergence (the defaults stop early, which the classifier can afford). It stops by the
#: gradient rule long before max_iter; a smaller grad_tol is below float32's resolution of the gradient.
CONVERGED = {"max_iter": 2000, "grad_tol": 1e-6}


def _embeddings(seed: int, n: int = 400, d: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length rows sharing a mean direction (as sentence embeddings do) and four planted label columns.

    Each column is a noisy linear concept; prevalences 50%, 20%, 6% and 2% (the last two imbalanced).
    """
    rng = np.random.default_rng(seed)
    common = rng.normal(size=d)
    X = rng.normal(size=(n, d)) + 1.5 * common / np.linalg.norm(common) * np.sqrt(d) / 4
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = np.zeros((n, 4), dtype=bool)
    for j, prevalence in enumerate((0.5, 0.2, 0.06, 0.02)):
        v = rng.normal(size=d)
        score = X @ (v / np.linalg.norm(v)) * np.sqrt(d) + 0.7 * rng.normal(size=n)
        Y[:, j] = score > np.quantile(score, 1 - prevalence)
    return X.astype(np.float32), Y


def _tfidf_like(seed: int, n: int, vocab: int = 300) -> sparse.csr_matrix:
    """A sparse, non-negative, row-normalised block (a stand-in for TF-IDF)."""
    M = sparse.random(n, vocab, density=0.02, rng=seed, format="csr", dtype=np.float64)
    norms = np.sqrt(np.asarray(M.multiply(M).sum(1))).ravel()
    return sparse.diags(1 / np.maximum(norms, 1e-12)) @ M


def _sklearn(X: np.ndarray, y: np.ndarray, C: float, balanced: bool,
             penalise_intercept: bool = True) -> tuple[np.ndarray, float]:
    """scikit-learn's fit of one column: (weights (d,), intercept), in float64."""
    X = np.asarray(X, dtype=np.float64)
    # The default penalty is L2 (``penalty="l2"`` itself is deprecated since scikit-learn 1.8).
    common = {"C": C, "class_weight": "balanced" if balanced else None, "solver": "lbfgs", "tol": 1e-10,
              "max_iter": 10_000}
    if penalise_intercept:
        lr = LogisticRegression(fit_intercept=False, **common).fit(np.hstack([X, np.ones((len(X), 1))]), y)
        return lr.coef_[0, :-1], float(lr.coef_[0, -1])
    lr = LogisticRegression(fit_intercept=True, **common).fit(X, y)
    return lr.coef_[0], float(lr.intercept_[0])


def _reference(X: np.ndarray, Y: np.ndarray, C: float, balanced: bool,
               penalise_intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
    fits = [_sklearn(X, Y[:, j], C, balanced, penalise_intercept) for j in range(Y.shape[1])]
    return np.stack([w for w, _ in fits], axis=1), np.array([b for _, b in fits])


def _coef_gap(ours: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray]) -> float:
    """max |difference| over weights and intercepts, relative to the reference's largest coefficient (>= 1)."""
    scale = max(1.0, float(np.abs(ref[0]).max()), float(np.abs(ref[1]).max()))
    return max(float(np.abs(ours[0] - ref[0]).max()), float(np.abs(ours[1] - ref[1]).max())) / scale


def _proba(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    return expit(np.asarray(X, dtype=np.float64) @ coef + intercept)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("C", [4.0, 0.5])
@pytest.mark.parametrize("balanced", [True, False])
def test_coefficients_and_probabilities_match_sklearn(seed: int, C: float, balanced: bool) -> None:
    X, Y = _embeddings(seed)
    coef, intercept = fit_logistic(X, Y, C, balanced=balanced, **CONVERGED)
    ref = _reference(X, Y, C, balanced)
    assert _coef_gap((coef, intercept), ref) <= COEF_TOL
    assert np.abs(_proba(X, coef, intercept) - _proba(X, *ref)).max() <= PROBA_TOL


def test_sparse_features_match_sklearn() -> None:
    """Embeddings with a sparse TF-IDF-like block, as the classifier fits them."""
    X, Y = _embeddings(3)
    S = sparse.hstack([sparse.csr_matrix(X), _tfidf_like(3, len(X))]).tocsr().astype(np.float32)
    coef, intercept = fit_logistic(S, Y, 4.0, **CONVERGED)
    dense = S.toarray()
    ref = _reference(dense, Y, 4.0, balanced=True)
    assert _coef_gap((coef, intercept), ref) <= COEF_TOL
    assert np.abs(_proba(dense, coef, intercept) - _proba(dense, *ref)).max() <= PROBA_TOL


def test_the_tolerances_catch_a_wrong_penalty_or_intercept() -> None:
    """Doubling C, an unpenalised intercept or unweighted classes is far outside both tolerances."""
    X, Y = _embeddings(0)
    ours = fit_logistic(X, Y, 4.0, **CONVERGED)
    wrong = {
        "C doubled": _reference(X, Y, 8.0, balanced=True),
        "intercept unpenalised": _reference(X, Y, 4.0, balanced=True, penalise_intercept=False),
        "no class weights": _reference(X, Y, 4.0, balanced=False),
    }
    for name, ref in wrong.items():
        assert _coef_gap(ours, ref) > 10 * COEF_TOL, name
        assert np.abs(_proba(X, *ours) - _proba(X, *ref)).max() > 10 * PROBA_TOL, name


def test_columns_left_out_threads_and_warm_starts_reach_the_same_optimum() -> None:
    X, Y = _embeddings(1)
    ref = _reference(X, Y, 4.0, balanced=True)
    cols = np.array([True, False, True, True])
    coef, intercept = fit_logistic(X, Y, 4.0, cols=cols, **CONVERGED)
    assert (coef[:, 1] == 0).all() and intercept[1] == np.float32(NEVER_INTERCEPT)
    assert _coef_gap((coef[:, cols], intercept[cols]), (ref[0][:, cols], ref[1][cols])) <= COEF_TOL
    # the columns split over two threads: the same problems, the same answers
    assert _coef_gap(fit_logistic(X, Y, 4.0, threads=2, **CONVERGED), ref) <= COEF_TOL
    # warm-started from another penalty's optimum
    init = fit_logistic(X, Y, 0.5, **CONVERGED)
    assert _coef_gap(fit_logistic(X, Y, 4.0, init=init, **CONVERGED), ref) <= COEF_TOL


def test_default_stopping_rule_is_close_to_the_optimum() -> None:
    """The defaults (what the classifier uses) stop early, within 0.02 of the optimum's probabilities."""
    X, Y = _embeddings(2)
    coef, intercept = fit_logistic(X, Y, 4.0)
    ref = _reference(X, Y, 4.0, balanced=True)
    assert np.abs(_proba(X, coef, intercept) - _proba(X, *ref)).max() <= 0.02
