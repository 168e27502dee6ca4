from __future__ import annotations

import pickle
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.metrics import f1_score

from ml.classifier import (
    F1_FLOOR,
    FOLDS_LARGE,
    FOLDS_SMALL,
    MIN_EXAMPLES,
    SMALL_LABEL_SET,
    TRUSTED_SUPPORT,
    best_threshold,
    default_folds,
    evaluate_cv,
    f1_intervals,
    fit_classifier,
    needs_more_examples,
    predict_labels,
    predict_proba,
)


def _synthetic(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three themes driven by three directions of a 16-d space, plus one rare and one empty theme."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 16)).astype(np.float32)
    Y = np.zeros((n, 5), dtype=bool)
    Y[:, 0] = X[:, 0] > 0.3
    Y[:, 1] = X[:, 1] > 1.2  # ~12% positives: the best threshold is usually far from 0.5
    Y[:, 2] = X[:, 2] + 0.5 * rng.normal(size=n) > 0
    Y[3, 3] = True  # one example only
    # column 4: no examples at all
    return X, Y


def test_fit_predict_shapes_cover_all_themes() -> None:
    X, Y = _synthetic()
    clf = fit_classifier(X, Y, theme_ids=["a", "b", "c", "rare", "empty"], use_tfidf=False)
    P = predict_proba(clf, X)
    assert P.shape == (len(X), 5)
    assert ((P >= 0) & (P <= 1)).all()
    L = predict_labels(clf, P)
    assert L.dtype == bool and L.shape == P.shape
    assert f1_score(Y[:, :3], L[:, :3], average="micro") > 0.7


def test_rare_themes_get_no_suggestions_and_need_more_examples() -> None:
    X, Y = _synthetic()
    clf = fit_classifier(X, Y, theme_ids=["a", "b", "c", "rare", "empty"], use_tfidf=False)
    P = predict_proba(clf, X)
    assert (P[:, 3:] == 0).all()
    assert not predict_labels(clf, P)[:, 3:].any()
    assert clf.quality is not None
    flags = {t["theme"]: t["needs_more_examples"] for t in clf.quality.per_theme}
    assert flags == {"a": False, "b": False, "c": False, "rare": True, "empty": True}
    rare = clf.quality.per_theme[3]
    assert rare["support"] == 1 and rare["threshold"] is None


def test_thresholds_tuned_and_improve_oof_f1() -> None:
    X, Y = _synthetic(600)
    clf = fit_classifier(X, Y, use_tfidf=False)
    assert not np.allclose(clf.thresholds[:3], 0.5)
    # on fresh data, tuned thresholds should not be worse than 0.5 overall
    Xt, Yt = _synthetic(2000, seed=1)
    P = predict_proba(clf, Xt)
    tuned = f1_score(Yt[:, :3], predict_labels(clf, P)[:, :3], average="macro")
    fixed = f1_score(Yt[:, :3], P[:, :3] >= 0.5, average="macro")
    assert tuned >= fixed - 0.01


def test_best_threshold_finds_optimum() -> None:
    y = np.array([0, 0, 0, 1, 1, 0, 1, 0], dtype=bool)
    p = np.array([0.1, 0.15, 0.2, 0.3, 0.32, 0.05, 0.35, 0.12])
    t = best_threshold(y, p)
    assert 0.2 < t <= 0.3
    assert f1_score(y, p >= t) == 1.0


def test_deterministic_for_seed() -> None:
    X, Y = _synthetic()
    a = fit_classifier(X, Y, seed=3, use_tfidf=False)
    b = fit_classifier(X, Y, seed=3, use_tfidf=False)
    np.testing.assert_array_equal(predict_proba(a, X), predict_proba(b, X))
    np.testing.assert_array_equal(a.thresholds, b.thresholds)
    assert a.quality is not None and b.quality is not None
    assert a.quality.micro_f1 == b.quality.micro_f1


def test_picklable_and_joblib_dumpable(tmp_path: Any) -> None:
    X, Y = _synthetic()
    texts = [f"answer number {i % 7} about item {i % 3}" for i in range(len(X))]
    clf = fit_classifier(X, Y, texts=texts)
    assert clf.vectorizer is not None
    path = tmp_path / "clf.joblib"
    joblib.dump(clf, path)
    again = joblib.load(path)
    np.testing.assert_array_equal(predict_proba(again, X, texts), predict_proba(clf, X, texts))
    assert pickle.loads(pickle.dumps(clf)).theme_ids == clf.theme_ids
    with pytest.raises(ValueError):
        predict_proba(clf, X)  # TF-IDF model needs texts


def test_tiny_inputs_do_not_crash() -> None:
    X = np.eye(3, dtype=np.float32)
    Y = np.array([[1, 0], [0, 0], [1, 0]], dtype=bool)
    clf = fit_classifier(X, Y, texts=["a", "b", "c"])
    assert predict_proba(clf, X, ["a", "b", "c"]).shape == (3, 2)
    one = fit_classifier(X[:1], Y[:1])
    assert not predict_labels(one, predict_proba(one, X)).any()


def test_evaluate_cv_report_fields() -> None:
    X, Y = _synthetic()
    rep = evaluate_cv(X, Y, folds=5, use_tfidf=False)
    assert rep.folds == 5 and len(rep.per_theme) == 5
    assert 0.5 < rep.micro_f1 <= 1 and 0 < rep.macro_f1 <= 1
    assert set(rep.per_theme[0]) >= {"precision", "recall", "f1", "support", "threshold", "needs_more_examples"}
    assert rep.per_theme[0]["support"] == int(Y[:, 0].sum())
    # shuffled labels: quality must collapse (the estimate is not a constant)
    perm = np.random.default_rng(0).permutation(len(Y))
    assert evaluate_cv(X, Y[perm], folds=5, use_tfidf=False).micro_f1 < rep.micro_f1 - 0.2


def test_nhs_quality_and_cv_honesty(nhs_sample: dict[str, Any]) -> None:
    X, Y, texts = nhs_sample["X"], nhs_sample["Y"], nhs_sample["texts"]
    perm = np.random.default_rng(1).permutation(len(X))  # rows are ordered by source: shuffle
    tr, te = perm[:600], perm[600:]
    clf = fit_classifier(X[tr], Y[tr], texts=[texts[i] for i in tr], theme_ids=nhs_sample["themes"])
    pred = predict_labels(clf, predict_proba(clf, X[te], [texts[i] for i in te]))
    test_micro = f1_score(Y[te], pred, average="micro", zero_division=0)
    assert test_micro > 0.4
    assert clf.quality is not None
    assert abs(clf.quality.micro_f1 - test_micro) < 0.1
    assert all(t["needs_more_examples"] == needs_more_examples(t["support"], t["f1"]) for t in clf.quality.per_theme)
    assert any(t["needs_more_examples"] for t in clf.quality.per_theme) >= bool((Y[tr].sum(0) < 2).any())


def test_needs_more_examples_is_one_rule_over_support_and_f1() -> None:
    assert needs_more_examples(0, None) and needs_more_examples(MIN_EXAMPLES - 1, 1.0)
    assert needs_more_examples(9, 0.0)  # the case that used to go unflagged
    assert needs_more_examples(TRUSTED_SUPPORT - 1, F1_FLOOR - 0.01)
    assert not needs_more_examples(TRUSTED_SUPPORT - 1, F1_FLOOR)
    assert not needs_more_examples(TRUSTED_SUPPORT, 0.05)  # plenty of examples: more would not help


def test_report_flags_follow_the_rule() -> None:
    X, Y = _synthetic(400)
    noise = np.zeros((len(X), 1), dtype=bool)
    noise[np.random.default_rng(5).choice(len(X), 9, replace=False)] = True  # 9 positives, nothing to learn
    Y = np.hstack([Y, noise])
    clf = fit_classifier(X, Y, theme_ids=["a", "b", "c", "rare", "empty", "noise"], use_tfidf=False)
    assert clf.quality is not None
    rows = {t["theme"]: t for t in clf.quality.per_theme}
    assert rows["noise"]["support"] == 9 and rows["noise"]["f1"] < F1_FLOOR
    assert rows["noise"]["needs_more_examples"] and clf.trainable[5]
    assert [t["theme"] for t in clf.quality.per_theme if t["needs_more_examples"]] == ["rare", "empty", "noise"]
    assert all(t["needs_more_examples"] == needs_more_examples(t["support"], t["f1"]) for t in clf.quality.per_theme)


def test_evaluate_mask_keeps_accepted_suggestions_out_of_the_quality_estimate() -> None:
    X, Y = _synthetic(300)
    # 200 "accepted suggestions": easy positives of theme "a", far from its boundary, as a model picks them
    rng = np.random.default_rng(7)
    Xs = rng.normal(size=(200, 16)).astype(np.float32)
    Xs[:, 0] = 2.5 + np.abs(Xs[:, 0])
    Ys = np.zeros((200, 5), dtype=bool)
    Ys[:, 0] = True
    Ys[:, 1] = Xs[:, 1] > 1.2
    Ys[:, 2] = Xs[:, 2] > 0
    X_all, Y_all = np.vstack([X, Xs]), np.vstack([Y, Ys])
    human = np.r_[np.ones(len(X), bool), np.zeros(200, bool)]
    judged = fit_classifier(X_all, Y_all, use_tfidf=False, evaluate_mask=human)
    everything = fit_classifier(X_all, Y_all, use_tfidf=False)
    assert judged.quality is not None and everything.quality is not None
    # scored on people's labels only ...
    assert [t["support"] for t in judged.quality.per_theme] == Y.sum(0).tolist()
    assert everything.quality.per_theme[0]["support"] == int(Y[:, 0].sum()) + 200
    assert everything.quality.per_theme[0]["f1"] > judged.quality.per_theme[0]["f1"] + 0.02  # inflated
    assert judged.quality.n_labelled == len(X_all)
    # ... but trained on everything
    np.testing.assert_array_equal(judged.coef, everything.coef)
    np.testing.assert_array_equal(judged.thresholds, everything.thresholds)
    with pytest.raises(ValueError):
        fit_classifier(X_all, Y_all, use_tfidf=False, evaluate_mask=human[:10])


def test_f1_intervals_cover_the_estimate_and_narrow_with_more_rows() -> None:
    rng = np.random.default_rng(0)

    def decisions(n: int) -> tuple[np.ndarray, np.ndarray]:
        Y = rng.random((n, 4)) < 0.3
        pred = Y ^ (rng.random((n, 4)) < 0.2)  # 20% of the decisions wrong
        return pred, Y

    pred, Y = decisions(200)
    (mi_lo, mi_hi), (ma_lo, ma_hi) = f1_intervals(pred, Y, seed=1)
    micro = f1_score(Y, pred, average="micro")
    macro = f1_score(Y, pred, average="macro")
    assert mi_lo < micro < mi_hi and ma_lo < macro < ma_hi
    assert f1_intervals(pred, Y, seed=1) == ((mi_lo, mi_hi), (ma_lo, ma_hi))  # seeded
    big_pred, big_Y = decisions(5000)
    (b_lo, b_hi), _ = f1_intervals(big_pred, big_Y, seed=1)
    assert b_hi - b_lo < (mi_hi - mi_lo) / 3  # about 1/sqrt(25) as wide
    # perfect decisions: no uncertainty left to show
    assert f1_intervals(Y, Y, seed=1) == ((1.0, 1.0), (1.0, 1.0))
    assert f1_intervals(Y[:1], Y[:1]) == (None, None)


def test_quality_report_carries_its_interval_and_folds_follow_the_label_count() -> None:
    X, Y = _synthetic(n=300)
    q = fit_classifier(X, Y, use_tfidf=False).quality
    assert q is not None and q.folds == FOLDS_SMALL == default_folds(300)
    assert q.micro_ci is not None and q.micro_ci[0] <= q.micro_f1 <= q.micro_ci[1]
    assert q.macro_ci is not None and q.macro_ci[0] <= q.macro_f1 <= q.macro_ci[1]
    assert q.n_scored == 300
    assert default_folds(SMALL_LABEL_SET) == FOLDS_LARGE < FOLDS_SMALL
    X2, Y2 = _synthetic(n=SMALL_LABEL_SET, seed=1)
    q2 = fit_classifier(X2, Y2, use_tfidf=False).quality
    assert q2 is not None and q2.folds == FOLDS_LARGE
    assert q2.micro_ci is not None and q2.micro_ci[1] - q2.micro_ci[0] < q.micro_ci[1] - q.micro_ci[0]


def test_kept_out_of_fold_probabilities_never_saw_their_row():
    """On labels that are pure noise a fit echoes its own labels, out-of-fold probabilities cannot."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 40)).astype(np.float32)
    Y = rng.random((300, 3)) < 0.3
    clf = fit_classifier(X, Y, seed=0, keep_oof=True, use_tfidf=False)
    assert clf.oof is not None and clf.oof.shape == Y.shape
    inside = predict_proba(clf, X)
    for j in range(3):
        assert roc_auc_score(Y[:, j], inside[:, j]) > 0.7  # the fit saw these labels
        assert abs(roc_auc_score(Y[:, j], clf.oof[:, j]) - 0.5) < 0.12  # held-out rows: chance
    assert fit_classifier(X, Y, seed=0, use_tfidf=False).oof is None  # only kept when asked for


def test_extra_features_are_used_and_required_at_prediction() -> None:
    """A theme driven by a categorical column (e.g. the survey question) is learnt from its one-hot ``extra``."""
    from ml.classifier import one_hot, oof_proba, predict_scores

    rng = np.random.default_rng(0)
    n = 400
    X = rng.normal(size=(n, 8)).astype(np.float32)
    question = [("Why?", "What was good?", "Improve?")[i % 3] for i in range(n)]
    Y = np.zeros((n, 2), dtype=bool)
    Y[:, 0] = X[:, 0] > 0
    Y[:, 1] = np.array([q == "What was good?" for q in question])  # not in X at all
    E, levels = one_hot(question)
    assert E.shape == (n, 3) and levels == sorted(set(question)) and (E.sum(1) == 1).all()
    assert (one_hot(["Why?", "never seen", None], levels)[0].sum(1) == [1, 0, 0]).all()
    plain = fit_classifier(X, Y, use_tfidf=False)
    clf = fit_classifier(X, Y, use_tfidf=False, extra=E)
    assert plain.n_extra == 0 and clf.n_extra == 3
    f1_plain = f1_score(Y[:, 1], predict_labels(plain, predict_proba(plain, X))[:, 1])
    f1_extra = f1_score(Y[:, 1], predict_labels(clf, predict_proba(clf, X, extra=E))[:, 1])
    assert f1_extra > 0.95 > f1_plain
    assert oof_proba(X, Y, use_tfidf=False, extra=E)[:, 1][Y[:, 1]].min() > 0.5
    with pytest.raises(ValueError, match="extra"):
        predict_scores(clf, X)
    with pytest.raises(ValueError, match="without extra"):
        predict_scores(plain, X, extra=E)
    # a model pickled before the field existed predicts as before
    state = pickle.loads(pickle.dumps(plain))
    del state.__dict__["n_extra"]
    np.testing.assert_array_equal(predict_scores(state, X), predict_scores(plain, X))


def test_metadata_one_hot_spec_round_trips_through_the_model() -> None:
    from ml.classifier import metadata_one_hot

    meta = [{"question": "Why?", "score": "1"}, {"question": " What was good? "}, {}, None, {"question": "Why?"}]
    E, spec = metadata_one_hot(meta, ["question", "score"])
    assert spec == [("question", ["What was good?", "Why?"]), ("score", ["1"])]
    assert E.tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 1, 0]]
    E2, _ = metadata_one_hot([{"question": "Why?", "score": "5"}], spec)  # unseen score: zeros
    assert E2.tolist() == [[0, 1, 0]]
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    Y = np.zeros((60, 2), dtype=bool)
    Y[::2, 0] = True
    Y[1::3, 1] = True
    meta = [{"question": "Why?" if i % 2 else "What was good?"} for i in range(60)]
    E, spec = metadata_one_hot(meta, ["question"])
    clf = fit_classifier(X, Y, use_tfidf=False, extra=E, extra_spec=spec)
    assert clf.extra_spec == spec and clf.n_extra == 2
    again, _ = metadata_one_hot(meta, clf.extra_spec)
    np.testing.assert_array_equal(predict_proba(clf, X, extra=again), predict_proba(clf, X, extra=E))
