"""ml.label_review: planted flips in a synthetic multi-label set come out on top, against cleanlab's own calls."""

from __future__ import annotations

import numpy as np
from cleanlab.multilabel_classification.filter import find_label_issues

from ml.label_review import label_issues


def _planted(n: int = 800, k: int = 6, flips: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    P = rng.beta(0.3, 2.0, size=(n, k))
    P[np.arange(n), rng.integers(0, k, n)] = rng.beta(5, 1.2, size=n)
    Y = rng.random((n, k)) < P  # labels drawn from the (held-out) probabilities: honest labels
    flipped = rng.choice(n, flips, replace=False)
    Yn = Y.copy()
    for i in flipped:  # the row's set replaced by one theme it did not have
        Yn[i] = False
        Yn[i, rng.choice(np.flatnonzero(~Y[i]))] = True
    return Yn, P, flipped


def test_planted_flips_rank_well_above_chance() -> None:
    Y, P, flipped = _planted()
    rows, scores = label_issues(Y, P)
    assert sorted(rows.tolist()) == list(range(len(Y)))  # a ranking of every row
    top = np.isin(rows[:40], flipped).mean()
    assert top >= 0.5  # chance is 40 / 800 = 0.05
    assert scores.shape == rows.shape and ((scores >= 0) & (scores <= 1)).all()


def test_rows_cleanlab_flags_come_first_each_group_by_score() -> None:
    Y, P, _ = _planted(seed=1)
    rows, scores = label_issues(Y, P)
    keep = Y.any(0)
    flagged = find_label_issues([list(np.flatnonzero(r)) for r in Y[:, keep]], P[:, keep], n_jobs=1)
    n_flagged = int(flagged.sum())
    assert 0 < n_flagged < len(Y)
    assert set(rows[:n_flagged].tolist()) == set(np.flatnonzero(flagged).tolist())
    assert np.all(np.diff(scores[:n_flagged]) <= 0) and np.all(np.diff(scores[n_flagged:]) <= 0)


def test_a_theme_nobody_coded_and_untrained_zeros_do_not_break_it() -> None:
    Y, P, flipped = _planted(seed=2)
    Y = np.hstack([Y, np.zeros((len(Y), 1), bool)])
    P = np.hstack([P, np.zeros((len(P), 1))])
    rows, _ = label_issues(Y, P)
    assert np.isin(rows[:40], flipped).mean() >= 0.5
    empty_rows, empty_scores = label_issues(np.zeros((0, 3), bool), np.zeros((0, 3)))
    assert empty_rows.shape == (0,) and empty_scores.shape == (0,)
