"""Likely mislabelled responses: rank labelled rows by how much their codes disagree with held-out predictions.

Uses cleanlab's multi-label confident learning (``cleanlab.multilabel_classification``) on out-of-fold
probabilities (:func:`ml.classifier.oof_proba`): in-sample probabilities have seen the labels and would vouch
for the very mistakes they should expose. Plain numpy + cleanlab, no Django.

Functions
---------
- ``label_issues(Y, oof) -> (rows, scores)``: row indices most-likely-mislabelled first, and their scores
"""

from __future__ import annotations

import numpy as np
from cleanlab.multilabel_classification.filter import find_label_issues
from cleanlab.multilabel_classification.rank import get_label_quality_scores

#: cleanlab's per-theme label quality score: "self_confidence", the held-out probability of the decision the
#: coder made on that theme (p where coded, 1 - p where not).
METHOD = "self_confidence"
#: ...aggregated over the themes into one score per row by a soft minimum: a mislabelled row is wrong on one or
#: two themes and right on the other forty-odd, so cleanlab's default (an exponential moving average over the
#: sorted per-theme scores) dilutes the one bad decision. Chosen on the bench's planted flips (NHS pool, 5% of
#: rows, seed 0): precision of the top 100 was 0.23 with the default, 0.59 / 0.74 / 0.85 with softmin at
#: temperature 0.1 / 0.05 / 0.02 (normalized_margin as self_confidence; confidence_weighted_entropy 0.53 at best).
AGGREGATOR = {"method": "softmin", "temperature": 0.02}


def label_issues(Y: np.ndarray, oof: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``Y`` (n, k) bool ranked most-likely-mislabelled first, with a score per ranked row.

    ``oof`` (n, k) are out-of-fold probabilities of each theme. Rows that cleanlab's ``find_label_issues``
    (multi-label, pruning by the estimated noise rate per theme) flags come first, then the others; within
    each group rows go by cleanlab's label quality score (:data:`METHOD`, :data:`AGGREGATOR`; lowest first).
    The returned score is ``1 - quality`` of each ranked row: in [0, 1], higher means more suspect; it
    decreases within each group but a flagged row can score below an unflagged one, since the flag also
    weighs the theme's noise rate. Deterministic (cleanlab's ranking involves no randomness; ties go by row order).
    """
    Y = np.asarray(Y, dtype=bool)
    P = np.clip(np.asarray(oof, dtype=np.float64), 0.0, 1.0)
    if Y.shape != P.shape or Y.ndim != 2:
        raise ValueError(f"Y {Y.shape} and oof {P.shape} must be the same (n, k) shape")
    n = len(Y)
    if n == 0:
        return np.zeros(0, dtype=int), np.zeros(0)
    # cleanlab needs every class to occur; themes nobody coded carry no evidence about a row's codes
    keep = Y.any(0)
    if not keep.any():
        return np.arange(n), np.zeros(n)
    labels = [list(np.flatnonzero(row)) for row in Y[:, keep]]
    probs = P[:, keep]
    quality = np.asarray(get_label_quality_scores(labels, probs, method=METHOD,
                                                    aggregator_kwargs=dict(AGGREGATOR)), dtype=np.float64)
    flagged = np.zeros(n, dtype=bool)
    if keep.sum() >= 2:  # its per-theme pruning needs at least two themes
        flagged[np.asarray(find_label_issues(labels, probs, n_jobs=1), dtype=bool)] = True
    # flagged first, then by quality ascending, then by row number (lexsort: last key is the primary)
    order = np.lexsort((np.arange(n), quality, ~flagged))
    return order.astype(int), 1.0 - quality[order]
