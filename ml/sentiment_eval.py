"""How good a sentiment head is, measured out of fold on the responses people gave a sentiment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from ml.sentiment import clean_levels, fit_sentiment, predict_sentiment

MIN_ROWS = 30  # fewer labelled rows: no estimate (a fold would hold a handful)
FOLDS = 5


def sentiment_oof_quality(X: np.ndarray, texts: Sequence[str] | None, levels: Sequence[Any] | np.ndarray, *,
                          n_levels: int, seed: int = 0, folds: int = FOLDS) -> dict:
    """Accuracy and macro-F1 of out-of-fold predictions (stratified k-fold, seeded) over the rows with a level:
    ``{"accuracy", "macro_f1", "rows"}``; ``{}`` with under :data:`MIN_ROWS` rows or a level seen fewer times than
    there are folds everywhere (then no fold is stratified)."""
    y = clean_levels(levels, n_levels)
    keep = np.flatnonzero(y > 0)
    if len(keep) < MIN_ROWS:
        return {}
    y = y[keep]
    counts = np.bincount(y)
    k = min(folds, int(counts[counts > 0].min()))
    if k < 2:
        return {}
    X = np.asarray(X)[keep]
    kept_texts = None if texts is None else [texts[int(i)] for i in keep]
    predicted = np.zeros(len(y), dtype=np.int64)
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(X, y):
        model = fit_sentiment(X[train], None if kept_texts is None else [kept_texts[i] for i in train], y[train],
                              n_levels=n_levels, seed=seed)
        predicted[test], _ = predict_sentiment(model, X[test], None if kept_texts is None else
                                               [kept_texts[i] for i in test])
    return {"accuracy": round(float(accuracy_score(y, predicted)), 4),
            "macro_f1": round(float(f1_score(y, predicted, average="macro", zero_division=0)), 4),
            "rows": len(y)}
