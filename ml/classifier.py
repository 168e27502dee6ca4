"""Multi-label theme classifier over sentence embeddings (+ optional TF-IDF of the same text).

One logistic regression per theme (one-vs-rest), per-theme decision thresholds tuned on out-of-fold
scores, per-theme Platt calibration fitted on the same out-of-fold scores (so the probabilities shown to
analysts mean what they say), and a cross-validated quality report from the same predictions.

Raw scores (class-balanced, good for ranking) and calibrated probabilities are kept apart:
:func:`predict_scores` gives the former, :func:`predict_proba` the latter, and ``thresholds`` are in the
calibrated scale (``score_thresholds`` in the raw one), so ``proba >= thresholds`` iff ``score >=
score_thresholds``: calibration is increasing and changes no suggestion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import KFold

from ml.calibration import platt_apply, platt_fit
from ml.logistic import fit_logistic

#: Themes with fewer positive examples than this are not trained ("needs more examples").
MIN_EXAMPLES = 2
#: Tuned thresholds are shrunk towards 0.5 as if this many extra positives had voted for 0.5; with few
#: positives the out-of-fold optimum is noisy (and biased low, since fold models are less confident).
THRESHOLD_PRIOR = 10.0
#: Fewest representative (randomly sampled) rows for the quality report to use them alone.
MIN_EVAL_ROWS = 100
#: "Needs more examples" (see :func:`needs_more_examples`): below this support a weak F1 is a sign of too
#: few examples rather than of a theme the model cannot learn...
TRUSTED_SUPPORT = 20
#: ...and "weak" means a cross-validated F1 below this.
F1_FLOOR = 0.4
#: Fewest positives for a theme's calibration to fit a slope as well as an intercept (see ml.calibration).
MIN_CALIBRATION_POSITIVES = 8
#: Candidate decision thresholds searched per theme.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
#: Cross-validation folds (see :func:`default_folds`): more below this many labelled rows, where each fold
#: model misses a larger share of a rare theme's few examples and the estimate reads low (chosen on a
#: development split of the NHS pool: at 500 and 1,000 labels 3 folds read macro F1 0.03-0.06 low, 5 folds
#: 0.00-0.03, 10 folds about as 5 at twice the cost) ...
SMALL_LABEL_SET = 2000
FOLDS_SMALL = 5
#: ... and fewer above it, where retrain time matters more than the last bit of the estimate's bias.
FOLDS_LARGE = 3
#: Threads fitting themes side by side (one BLAS thread each).
FIT_THREADS = 2
#: The quality estimate's interval: a percentile bootstrap over the scored rows, this many resamples ...
QUALITY_RESAMPLES = 400
#: ... at this level (two-sided).
QUALITY_LEVEL = 0.9


@dataclass
class QualityReport:
    """Cross-validated quality estimate. ``per_theme`` has one dict per input theme, in input order."""

    micro_f1: float
    macro_f1: float
    per_theme: list[dict[str, Any]]
    n_labelled: int
    folds: int
    #: Percentile-bootstrap intervals (level :data:`QUALITY_LEVEL`) of the two F1s; None when not estimable.
    micro_ci: tuple[float, float] | None = None
    macro_ci: tuple[float, float] | None = None
    #: Rows the figures were scored on (the randomly explored ones when there are enough of them).
    n_scored: int = 0


@dataclass
class ThemeClassifier:
    """A fitted model; plain arrays and a scikit-learn vectorizer, so it pickles/joblib-dumps cleanly."""

    theme_ids: list[Any]
    trainable: np.ndarray  # (k,) bool
    coef: np.ndarray  # (d, k) float32; zero columns for untrainable themes
    intercept: np.ndarray  # (k,) float32; very negative for untrainable themes
    thresholds: np.ndarray  # (k,) float, calibrated scale; > 1 for untrainable themes (never suggested)
    score_thresholds: np.ndarray  # (k,) the same thresholds in the raw score scale
    calib_slope: np.ndarray  # (k,) Platt map per theme: sigmoid(slope * logit(score) + intercept)
    calib_intercept: np.ndarray  # (k,)
    vectorizer: TfidfVectorizer | None
    tfidf_weight: float
    seed: int
    quality: QualityReport | None = field(default=None)
    #: Out-of-fold calibrated probabilities (n, k) of the labelled rows, in input order, when the fit was asked to
    #: keep them (``keep_oof``): for judging the labels (label review) and the auto-code gate's correction.
    oof: np.ndarray | None = field(default=None)
    #: Columns of the optional ``extra`` features (e.g. a one-hot of the survey question) the model was fitted
    #: with; they follow the embeddings in ``coef`` and must be passed again to predict (0: none).
    n_extra: int = 0
    #: How those columns are made from each response's metadata, when they are one-hots of it
    #: (:func:`metadata_one_hot`): ``[(key, levels), ...]``; pass it back to build them for new rows.
    extra_spec: list[tuple[str, list[Any]]] | None = None


def _check_xy(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float32)
    Y = np.asarray(Y).astype(bool)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X {X.shape} and Y {Y.shape} must be 2-D with the same number of rows")
    return X, Y


@dataclass
class _Design:
    """Features of some rows: the dense embeddings and (optionally) weighted sparse TF-IDF, kept apart.

    Kept apart so products with the (d, k) coefficient matrix run as one dense BLAS product plus one small
    sparse one, for every theme at once, instead of a sparse product per theme over a densified matrix.
    """

    dense: np.ndarray  # (n, d_dense) float32
    sparse: Any  # (n, d_sparse) CSR float32, or None
    _sparse_t: Any = None  # its transpose as CSR, made on first use (F.T @ G runs once per solver step)

    @property
    def n_features(self) -> int:
        return self.dense.shape[1] + (0 if self.sparse is None else self.sparse.shape[1])

    def dot(self, W: np.ndarray) -> np.ndarray:
        """``F @ W`` for ``W`` (n_features, k)."""
        d = self.dense.shape[1]
        out = self.dense @ W[:d]
        if self.sparse is not None:
            out += np.asarray(self.sparse @ W[d:])
        return np.asarray(out, dtype=np.float32)

    def tocsr(self) -> Any:
        """The whole matrix (n, n_features) as one float32 CSR: the dense columns first, then the sparse ones."""
        from scipy import sparse

        if self.sparse is None:
            return sparse.csr_matrix(self.dense, dtype=np.float32)
        return sparse.hstack([sparse.csr_matrix(self.dense), self.sparse], format="csr", dtype=np.float32)

    def tdot(self, G: np.ndarray) -> np.ndarray:
        """``F.T @ G`` for ``G`` (n, k)."""
        top = self.dense.T @ G
        if self.sparse is None:
            return np.asarray(top, dtype=np.float32)
        if self._sparse_t is None:
            self._sparse_t = self.sparse.T.tocsr()
        return np.vstack([top, np.asarray(self._sparse_t @ G)]).astype(np.float32, copy=False)


def _dense(X: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
    """The embeddings with the optional extra features (n, m) appended as more dense columns."""
    if extra is None:
        return X
    E = np.asarray(extra, dtype=np.float32)
    if E.ndim != 2 or E.shape[0] != X.shape[0]:
        raise ValueError(f"extra {E.shape} must be 2-D with one row per row of X {X.shape}")
    return np.hstack([X, E]).astype(np.float32, copy=False)


def _features(X: np.ndarray, texts: Sequence[str] | None, vec: TfidfVectorizer | None, w: float,
              extra: np.ndarray | None = None) -> _Design:
    X = _dense(X, extra)
    if vec is None:
        return _Design(X, None)
    if texts is None:
        raise ValueError("this classifier uses TF-IDF features: pass the texts as well")
    if len(texts) != X.shape[0]:
        raise ValueError("texts and X must have the same length")
    return _Design(X, (w * vec.transform(texts)).astype(np.float32).tocsr())


def _rows(F: _Design, idx: np.ndarray) -> _Design:
    return _Design(F.dense[idx], None if F.sparse is None else F.sparse[idx])


def _fit_linear(
    F: _Design, Y: np.ndarray, cols: np.ndarray, C: float, init: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One class-balanced L2 logistic regression per theme in ``cols`` (:func:`ml.logistic.fit_logistic`).

    ``init`` warm-starts from earlier coefficients (e.g. the cross-validation folds' on the same features).
    """
    if F.sparse is not None and F._sparse_t is None:
        F._sparse_t = F.sparse.T.tocsr()  # made once, before the threads share it
    return fit_logistic(F, Y, C, cols=cols, balanced=True, init=init, threads=FIT_THREADS)


def _proba(F: _Design, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    z = F.dot(coef) + intercept
    return (1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))).astype(np.float32)


def _make_vectorizer(texts: Sequence[str] | None, use_tfidf: bool) -> TfidfVectorizer | None:
    if not use_tfidf or texts is None:
        return None
    # min_df=2: a word seen once cannot generalise and only inflates the feature space
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32)


def _fit_features(
    X: np.ndarray, texts: Sequence[str] | None, use_tfidf: bool, w: float, extra: np.ndarray | None = None,
) -> tuple[_Design, TfidfVectorizer | None]:
    vec = _make_vectorizer(texts, use_tfidf)
    if vec is None:
        return _Design(_dense(X, extra), None), None
    assert texts is not None
    try:
        vec.fit(texts)
    except ValueError:  # empty vocabulary (e.g. tiny or stop-word-only corpus): embeddings alone
        return _Design(_dense(X, extra), None), None
    return _features(X, texts, vec, w, extra), vec


def fit_features(
    X: np.ndarray, texts: Sequence[str] | None, *, use_tfidf: bool = True, tfidf_weight: float = 1.0,
    extra: np.ndarray | None = None,
) -> tuple[_Design, TfidfVectorizer | None]:
    """The features :func:`fit_classifier` trains on, for other heads on the same rows (e.g. ``ml.sentiment``).

    Embeddings ``X`` (n, d) with the optional ``extra`` columns, and, when ``use_tfidf`` and ``texts`` are given,
    ``tfidf_weight`` times the TF-IDF of the texts (vocabulary fitted on them; none if it comes out empty).
    Returns the feature matrix (``.dense``, ``.sparse``, ``.tocsr()``) and the fitted vectorizer (or None);
    pass the vectorizer to :func:`transform_features` for new rows.
    """
    return _fit_features(np.asarray(X, dtype=np.float32), texts, use_tfidf, tfidf_weight, extra)


def transform_features(
    X: np.ndarray, texts: Sequence[str] | None, vectorizer: TfidfVectorizer | None, tfidf_weight: float = 1.0,
    extra: np.ndarray | None = None,
) -> _Design:
    """The features of new rows for a head fitted on :func:`fit_features` (same vectorizer and weight)."""
    return _features(np.asarray(X, dtype=np.float32), texts, vectorizer, tfidf_weight, extra)


def needs_more_examples(support: int, f1: float | None) -> bool:
    """The one rule for flagging a theme "needs more examples" (model page, quality report, API).

    Fewer than :data:`MIN_EXAMPLES` positives (the theme is not trained at all), or fewer than
    :data:`TRUSTED_SUPPORT` positives with a cross-validated F1 below :data:`F1_FLOOR`: with that few
    examples a weak F1 says "label more of it". A well-supported theme with a weak F1 is not flagged:
    more of the same examples would not fix it (its definition or its overlap with others might).
    """
    return support < MIN_EXAMPLES or (support < TRUSTED_SUPPORT and (f1 or 0.0) < F1_FLOOR)


def best_threshold(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Threshold from :data:`THRESHOLD_GRID` maximising F1 of ``proba >= t``; ties go to the one nearest 0.5."""
    y_true = np.asarray(y_true, dtype=bool)
    pred = proba[:, None] >= THRESHOLD_GRID[None, :]
    tp = (pred & y_true[:, None]).sum(0)
    denom = pred.sum(0) + y_true.sum()
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return float(THRESHOLD_GRID[best[np.argmin(np.abs(THRESHOLD_GRID[best] - 0.5))]])


def _tune_thresholds(oof: np.ndarray, Y: np.ndarray, trainable: np.ndarray) -> np.ndarray:
    th = np.full(Y.shape[1], 2.0)  # > 1: never predicted
    for j in np.flatnonzero(trainable):
        n_pos = float(Y[:, j].sum())
        th[j] = (n_pos * best_threshold(Y[:, j], oof[:, j]) + THRESHOLD_PRIOR * 0.5) / (n_pos + THRESHOLD_PRIOR)
    return th


def _oof_predictions(
    F: _Design, Y: np.ndarray, trainable: np.ndarray, folds: int, seed: int, C: float,
) -> tuple[np.ndarray, list[np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
    """Out-of-fold probabilities (n, k), the validation index arrays, and the folds' mean coefficients.

    Every fold uses the same features (TF-IDF vocabulary from all labelled texts: no labels involved) so
    each fold's fit starts from the previous fold's solution, and their mean warm-starts the final fit.
    """
    oof = np.zeros(Y.shape, dtype=np.float32)
    splits = []
    init: tuple[np.ndarray, np.ndarray] | None = None
    total_w: np.ndarray | None = None
    total_b = np.zeros(Y.shape[1], dtype=np.float32)
    for tr, va in KFold(folds, shuffle=True, random_state=seed).split(Y):
        cols = trainable & (Y[tr].sum(0) >= 1) & (Y[tr].sum(0) < len(tr))
        coef, b = _fit_linear(_rows(F, tr), Y[tr], cols, C, init=init)
        oof[va] = _proba(_rows(F, va), coef, b)
        splits.append(va)
        init = (coef, np.where(cols, b, 0).astype(np.float32))
        total_w = coef if total_w is None else total_w + coef
        total_b += init[1]
    mean = None if total_w is None else (total_w / len(splits), total_b / len(splits))
    return oof, splits, mean


def _report(
    oof: np.ndarray, Y: np.ndarray, trainable: np.ndarray, splits: list[np.ndarray],
    thresholds: np.ndarray, theme_ids: list[Any], rows: np.ndarray | None = None,
) -> QualityReport:
    """Quality from OOF probabilities, with each fold judged by thresholds tuned on the *other* folds.

    Tuning and scoring thresholds on the same predictions would flatter the model; cross-fitting them
    costs no extra model fits and keeps the estimate honest. The thresholds are tuned on every labelled row
    of the other folds, as the served model's are; only ``rows`` (default all) are scored. Tuning them on
    the scored rows alone (a few hundred random ones) left rare themes without a positive to tune on, never
    predicted, and read macro F1 0.03-0.08 low at 500-1,000 labels.
    """
    pred = np.zeros(Y.shape, dtype=bool)
    for va in splits:
        rest = np.setdiff1d(np.arange(len(Y)), va)
        th = _tune_thresholds(oof[rest], Y[rest], trainable & (Y[rest].sum(0) >= 1))
        pred[va] = oof[va] >= th
    if rows is not None:
        pred, Y = pred[rows], Y[rows]
    p, r, f, s = precision_recall_fscore_support(Y, pred, average=None, zero_division=0)
    # The out-of-fold decisions against the labels as a 2x2 table per theme: the model as one more coder.
    tp, fp = (pred & Y).sum(0), (pred & ~Y).sum(0)
    fn, tn = (~pred & Y).sum(0), (~pred & ~Y).sum(0)
    per_theme = [
        {
            "theme": theme_ids[j],
            "tp": int(tp[j]), "fp": int(fp[j]), "fn": int(fn[j]), "tn": int(tn[j]),
            "precision": float(p[j]),
            "recall": float(r[j]),
            "f1": float(f[j]),
            "support": int(s[j]),
            "threshold": float(thresholds[j]) if trainable[j] else None,
            "needs_more_examples": needs_more_examples(int(s[j]), float(f[j])) or not bool(trainable[j]),
        }
        for j in range(Y.shape[1])
    ]
    present = Y.sum(0) > 0
    micro = float(f1_score(Y, pred, average="micro", zero_division=0))
    macro = float(np.mean(f[present])) if present.any() else 0.0
    micro_ci, macro_ci = f1_intervals(pred, Y, seed=len(Y)) if splits else (None, None)
    return QualityReport(micro, macro, per_theme, int(Y.any(1).sum()), len(splits), micro_ci, macro_ci, len(Y))


def f1_intervals(
    pred: np.ndarray, Y: np.ndarray, *, seed: int = 0, resamples: int = QUALITY_RESAMPLES,
    level: float = QUALITY_LEVEL,
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """Percentile-bootstrap intervals of micro and macro F1 of decisions ``pred`` against ``Y`` (both (n, k)).

    Rows (responses) are resampled, as the scored rows are a sample of the project's responses; macro F1
    averages over the themes present in each resample, as the point estimate does. Vectorised: each
    resample is a row of multinomial counts, so the per-theme tp/fp/fn of all resamples are three products.
    """
    n = len(Y)
    if n < 2:
        return None, None
    pred, Y = np.asarray(pred, dtype=bool), np.asarray(Y, dtype=bool)
    W = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float32)
    tp = W @ (pred & Y).astype(np.float32)
    fp = W @ (pred & ~Y).astype(np.float32)
    fn = W @ (~pred & Y).astype(np.float32)
    denom = 2 * tp + fp + fn
    micro = 2 * tp.sum(1) / np.maximum(denom.sum(1), 1.0)
    f = np.where(denom > 0, 2 * tp / np.maximum(denom, 1.0), 0.0)
    present = (tp + fn) > 0
    macro = (f * present).sum(1) / np.maximum(present.sum(1), 1)
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    lo_mi, hi_mi = np.quantile(micro, q)
    lo_ma, hi_ma = np.quantile(macro, q)
    return (float(lo_mi), float(hi_mi)), (float(lo_ma), float(hi_ma))


def default_folds(n_labelled: int) -> int:
    """Cross-validation folds for ``n_labelled`` rows: :data:`FOLDS_SMALL` below :data:`SMALL_LABEL_SET`."""
    return FOLDS_SMALL if n_labelled < SMALL_LABEL_SET else FOLDS_LARGE


def fit_classifier(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    texts: Sequence[str] | None = None,
    seed: int = 0,
    theme_ids: Sequence[Any] | None = None,
    folds: int | None = None,
    C: float = 4.0,
    use_tfidf: bool = True,
    tfidf_weight: float = 1.0,
    min_examples: int = MIN_EXAMPLES,
    eval_mask: np.ndarray | None = None,
    evaluate_mask: np.ndarray | None = None,
    calibrate: bool = True,
    keep_oof: bool = False,
    extra: np.ndarray | None = None,
    extra_spec: Sequence[tuple[str, Sequence[Any]]] | None = None,
) -> ThemeClassifier:
    """Fit the classifier on labelled rows ``X`` (n, d) embeddings and ``Y`` (n, k) bool theme matrix.

    ``texts`` (same order as X) enables the TF-IDF features. Themes with fewer than ``min_examples``
    positives are not trained: they get probability 0 and are flagged ``needs_more_examples``. Thresholds
    are tuned per theme on ``folds``-fold out-of-fold probabilities (default :func:`default_folds`); the
    cross-validated quality report, with bootstrap intervals (:func:`f1_intervals`), is
    attached as ``.quality``. ``eval_mask`` (n,) marks rows sampled at random (not picked by active
    learning); when at least :data:`MIN_EVAL_ROWS` are marked, the quality report is computed on those rows
    only, because actively chosen rows are harder than typical ones and would understate quality.
    ``evaluate_mask`` (n,) marks the rows whose labels may be used to judge the model at all (e.g. coded by
    a person, not bulk-accepted suggestions, which agree with the model by construction and would inflate
    its figures): the other rows still train the model, tune thresholds and fit calibration, but the
    quality report never scores them. ``calibrate=False`` leaves the probabilities raw (identity map), for
    comparison. ``keep_oof`` keeps the out-of-fold probabilities, calibrated, as ``.oof`` (None without folds).
    ``extra`` (n, m) are more features per row (e.g. a one-hot of the survey question each answer replies
    to, :func:`metadata_one_hot`), appended to the embeddings; the fitted model needs the same columns at
    prediction. ``extra_spec`` (how ``extra`` was made from the metadata) is kept on the model as is.
    Deterministic for a given ``seed``.
    """
    X, Y = _check_xy(X, Y)
    k = Y.shape[1]
    ids = list(theme_ids) if theme_ids is not None else list(range(k))
    if len(ids) != k:
        raise ValueError("theme_ids must have one entry per column of Y")
    pos = Y.sum(0)
    # every theme needs negatives as well as positives to be learnable
    trainable = (pos >= min_examples) & (pos < len(Y))
    n_folds = min(default_folds(len(Y)) if folds is None else folds, len(Y))
    score_th = np.full(k, 2.0)
    # identity map (slope 1, intercept 0) until calibration is fitted
    slope, offset = np.ones(k), np.zeros(k)
    quality = None
    judged = np.ones(len(Y), dtype=bool) if evaluate_mask is None else np.asarray(evaluate_mask, dtype=bool)
    if judged.shape != (len(Y),):
        raise ValueError("evaluate_mask must have one entry per row of X")
    F, vec = _fit_features(X, texts, use_tfidf, tfidf_weight, extra)
    init = None
    if n_folds >= 2 and trainable.any():
        oof, splits, init = _oof_predictions(F, Y, trainable, n_folds, seed, C)
        score_th = _tune_thresholds(oof, Y, trainable)
        if calibrate:
            for j in np.flatnonzero(trainable):
                slope[j], offset[j] = platt_fit(oof[:, j], Y[:, j], fit_slope=pos[j] >= MIN_CALIBRATION_POSITIVES)
        rows = np.flatnonzero(judged)
        if eval_mask is not None and (np.asarray(eval_mask, dtype=bool) & judged).sum() >= MIN_EVAL_ROWS:
            rows = np.flatnonzero(np.asarray(eval_mask, dtype=bool) & judged)
        # Scored on raw OOF scores with raw thresholds: the same decisions as calibrated ones.
        quality = _report(oof, Y, trainable, splits, score_th, ids, rows=rows)
        quality.n_labelled = len(Y)
    elif trainable.any():
        score_th = np.where(trainable, 0.5, 2.0)
    thresholds = _calibrated_thresholds(score_th, slope, offset)
    if quality is not None:
        for col, row in enumerate(quality.per_theme):
            row["threshold"] = float(thresholds[col]) if trainable[col] else None
    kept = None
    if keep_oof and n_folds >= 2 and trainable.any():
        kept = platt_apply(oof, slope, offset).astype(np.float32)
        kept[:, ~trainable] = 0.0
    coef, b = _fit_linear(F, Y, trainable, C, init=init)
    if quality is None:
        quality = _report(np.zeros(Y[judged].shape, np.float32), Y[judged], np.zeros(k, bool), [], thresholds, ids)
    return ThemeClassifier(ids, trainable, coef, b, thresholds, score_th, slope, offset, vec, tfidf_weight, seed,
                           quality, kept, 0 if extra is None else int(np.shape(extra)[1]),
                           None if extra_spec is None else [(key, list(lv)) for key, lv in extra_spec])


def _calibrated_thresholds(score_th: np.ndarray, slope: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Raw-scale thresholds mapped through each theme's (increasing) calibration; > 1 stays "never"."""
    mapped = platt_apply(np.clip(score_th, 0.0, 1.0), slope, offset)
    # float32 probabilities are compared with these: round down so a score at its threshold stays in
    mapped = np.nextafter(mapped.astype(np.float32), np.float32(0)).astype(np.float64)
    return np.where(score_th > 1.0, 2.0, mapped)


def predict_proba(clf: ThemeClassifier, X: np.ndarray, texts: Sequence[str] | None = None,
                  extra: np.ndarray | None = None) -> np.ndarray:
    """Calibrated probabilities (n, k) for every input theme; 0 for themes that are not trained."""
    return calibrate_scores(clf, predict_scores(clf, X, texts, extra))


def calibrate_scores(clf: ThemeClassifier, scores: np.ndarray) -> np.ndarray:
    """Map raw scores from :func:`predict_scores` to calibrated probabilities (untrained themes stay 0)."""
    out = platt_apply(scores, clf.calib_slope, clf.calib_intercept).astype(np.float32)
    out[:, ~clf.trainable] = 0.0
    return out


def predict_scores(clf: ThemeClassifier, X: np.ndarray, texts: Sequence[str] | None = None,
                   extra: np.ndarray | None = None) -> np.ndarray:
    """Raw (uncalibrated, class-balanced) scores (n, k): for ranking (active learning), not for display.

    Compare them with ``clf.score_thresholds``; rare themes score far higher than their true probability.
    ``extra``: the same extra feature columns the model was fitted with (``clf.n_extra``), one row per row of X.
    """
    X = np.asarray(X, dtype=np.float32)
    n_extra = getattr(clf, "n_extra", 0)  # models pickled before the field existed have none
    if n_extra and (extra is None or np.shape(extra)[1] != n_extra):
        raise ValueError(f"this classifier was fitted with {n_extra} extra feature columns: pass them as extra")
    if not n_extra and extra is not None:
        raise ValueError("this classifier was fitted without extra features")
    out = np.zeros((X.shape[0], len(clf.theme_ids)), dtype=np.float32)
    # chunked so 100k+ rows do not build one huge sparse matrix
    for start in range(0, X.shape[0], 20000):
        sl = slice(start, start + 20000)
        chunk_texts = list(texts[sl]) if texts is not None else None
        feats = _features(X[sl], chunk_texts, clf.vectorizer, clf.tfidf_weight,
                          None if extra is None else np.asarray(extra)[sl])
        out[sl] = _proba(feats, clf.coef, clf.intercept)
    out[:, ~clf.trainable] = 0.0
    return out


def predict_labels(clf: ThemeClassifier, probas: np.ndarray) -> np.ndarray:
    """Boolean (n, k) theme suggestions: calibrated probability at or above each theme's tuned threshold."""
    return np.asarray(probas) >= clf.thresholds[None, :]


def evaluate_cv(
    X: np.ndarray,
    Y: np.ndarray,
    texts: Sequence[str] | None = None,
    *,
    folds: int = 5,
    seed: int = 0,
    theme_ids: Sequence[Any] | None = None,
    **fit_kwargs: Any,
) -> QualityReport:
    """Cross-validated quality (micro/macro F1, per-theme precision/recall/F1/support/threshold)."""
    clf_quality = _cv_only(X, Y, texts, folds=folds, seed=seed, theme_ids=theme_ids, **fit_kwargs)
    return clf_quality


def _cv_only(
    X: np.ndarray, Y: np.ndarray, texts: Sequence[str] | None, *, folds: int, seed: int,
    theme_ids: Sequence[Any] | None, C: float = 4.0, use_tfidf: bool = True, tfidf_weight: float = 1.0,
    min_examples: int = MIN_EXAMPLES,
) -> QualityReport:
    X, Y = _check_xy(X, Y)
    k = Y.shape[1]
    ids = list(theme_ids) if theme_ids is not None else list(range(k))
    pos = Y.sum(0)
    trainable = (pos >= min_examples) & (pos < len(Y))
    n_folds = min(folds, len(Y))
    if n_folds < 2 or not trainable.any():
        return _report(np.zeros(Y.shape, np.float32), Y, np.zeros(k, bool), [], np.full(k, 2.0), ids)
    F, _ = _fit_features(X, texts, use_tfidf, tfidf_weight)
    oof, splits, _ = _oof_predictions(F, Y, trainable, n_folds, seed, C)
    return _report(oof, Y, trainable, splits, _tune_thresholds(oof, Y, trainable), ids)


def oof_proba(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    texts: Sequence[str] | None = None,
    seed: int = 0,
    folds: int | None = None,
    C: float = 4.0,
    use_tfidf: bool = True,
    tfidf_weight: float = 1.0,
    min_examples: int = MIN_EXAMPLES,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities (n, k) of the labelled rows: ``fit_classifier(..., keep_oof=True).oof``, the very
    matrix the app's retrain keeps for the auto-code gate's correction and the label review.

    Each row is scored by a model that did not see it (the fit's folds, features and seed), then mapped through
    each theme's Platt calibration fitted on those scores, so they read like :func:`predict_proba`. Untrained
    themes are 0. For judging the labels themselves (e.g. finding likely mislabelled rows) or the calibration,
    where in-sample probabilities would only echo the labels.
    """
    clf = fit_classifier(X, Y, texts=texts, seed=seed, folds=folds, C=C, use_tfidf=use_tfidf,
                         tfidf_weight=tfidf_weight, min_examples=min_examples, extra=extra, keep_oof=True)
    if clf.oof is None:
        return np.zeros(np.shape(Y), dtype=np.float32)
    return clf.oof


def one_hot(values: Sequence[Any], levels: Sequence[Any] | None = None) -> tuple[np.ndarray, list[Any]]:
    """(n, len(levels)) float32 one-hot of categorical ``values`` (e.g. each answer's survey question) and the levels.

    ``levels`` default to the sorted distinct values; a value not among them (or None) gets an all-zero row.
    Pass the levels a model was fitted with when predicting, so the columns line up.
    """
    lv = sorted({v for v in values if v is not None}, key=str) if levels is None else list(levels)
    pos = {v: i for i, v in enumerate(lv)}
    out = np.zeros((len(values), len(lv)), dtype=np.float32)
    for i, v in enumerate(values):
        j = pos.get(v)
        if j is not None:
            out[i, j] = 1.0
    return out, lv


def metadata_one_hot(
    metadata: Sequence[Mapping[str, Any] | None], spec: Sequence[str | tuple[str, Sequence[Any]]],
) -> tuple[np.ndarray, list[tuple[str, list[Any]]]]:
    """One-hot features (n, m) of some keys of each response's ``metadata`` dict, and the spec that made them.

    ``spec`` lists keys (levels taken from these rows: e.g. ``["question"]`` at fit time) or ``(key, levels)``
    pairs (a fitted model's ``extra_spec``: the same columns for new rows). Values are compared as stripped
    strings; a missing key or an unseen value gives zeros in that key's block.
    """
    def value(m: Mapping[str, Any] | None, key: str) -> str | None:
        v = None if m is None else m.get(key)
        return None if v is None or str(v).strip() == "" else str(v).strip()

    blocks, out_spec = [], []
    for item in spec:
        key, levels = (item, None) if isinstance(item, str) else (item[0], list(item[1]))
        E, lv = one_hot([value(m, key) for m in metadata], levels)
        blocks.append(E)
        out_spec.append((key, lv))
    E_all = np.hstack(blocks) if blocks else np.zeros((len(metadata), 0), dtype=np.float32)
    return E_all.astype(np.float32, copy=False), out_spec
