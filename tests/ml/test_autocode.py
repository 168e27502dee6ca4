"""ml.autocode: the gate's head, its claim against outcomes drawn from its own probabilities, and qc_measure
against scikit-learn and the krippendorff package."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from ml import autocode
from ml.autocode import (
    GateCorrection,
    apply_gate_correction,
    fit_gate_correction,
    gate_plan,
    qc_measure,
    response_confidence,
)


def _synthetic(n: int = 3000, k: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities with a confident majority and a doubtful tail, and per-theme thresholds."""
    rng = np.random.default_rng(seed)
    P = rng.beta(0.25, 2.5, size=(n, k))  # most themes clearly absent
    main = rng.integers(0, k, size=n)
    P[np.arange(n), main] = rng.beta(6, 1.2, size=n)  # one likely theme per row, of varying certainty
    return P, np.full(k, 0.5)


def test_response_confidence_is_the_product_of_the_decisions_probabilities_ignoring_untrained_themes() -> None:
    P = np.array([[0.9, 0.2, 0.7], [0.4, 0.6, 0.0]])
    th = np.array([0.5, 0.5, 2.0])  # third theme untrained
    np.testing.assert_allclose(response_confidence(P, th), [0.9 * 0.8, 0.6 * 0.6])


def test_the_coded_rows_are_the_most_confident_non_empty_head_and_get_the_predicted_themes() -> None:
    P, th = _synthetic()
    plan = gate_plan(P, th, 0.85, draws=50)
    assert 0 < len(plan.rows) < len(P)
    conf = response_confidence(P, th)
    np.testing.assert_allclose(plan.confidence, conf)
    assert np.all(np.diff(conf[plan.rows]) <= 0)  # most confident first
    eligible = (th <= P).any(1)
    rest = np.setdiff1d(np.flatnonzero(eligible), plan.rows)
    assert conf[plan.rows].min() >= conf[rest].max()  # nothing left out was surer than a coded row
    np.testing.assert_array_equal(plan.labels, P[plan.rows] >= th)
    assert plan.labels.any(1).all()  # empty sets are never auto-coded (ALLOW_EMPTY is False)
    np.testing.assert_array_equal(plan.per_theme, plan.labels.sum(0))


def test_the_head_is_the_longest_whose_expected_micro_f1_reaches_the_target() -> None:
    P, th = _synthetic()
    pred = th <= P
    plan = gate_plan(P, th, 0.85, draws=50)

    def expected_f1(rows: np.ndarray) -> float:
        tp = (P[rows] * pred[rows]).sum()
        fp = ((1 - P[rows]) * pred[rows]).sum()
        fn = (P[rows] * ~pred[rows]).sum()
        return float(2 * tp / (2 * tp + fp + fn))

    assert plan.claimed_f1 == pytest.approx(expected_f1(plan.rows))
    assert plan.claimed_f1 >= 0.85
    order = np.argsort(-plan.confidence, kind="stable")
    order = order[pred[order].any(1)]
    assert expected_f1(order[: len(plan.rows) + 1]) < 0.85  # one row more would miss the target
    assert len(gate_plan(P, th, 0.95, draws=50).rows) < len(plan.rows) < len(gate_plan(P, th, 0.7, draws=50).rows)


def test_on_perfectly_calibrated_probabilities_the_claim_and_interval_hold() -> None:
    P, th = _synthetic(seed=1)
    plan = gate_plan(P, th, 0.85, seed=3, draws=400)
    lo, hi = plan.interval
    assert lo < plan.claimed_f1 < hi
    realised, inside = [], 0
    rng = np.random.default_rng(7)
    for _ in range(40):  # outcomes drawn from P itself: the claim is honest by construction
        Y = rng.random(P.shape) < P
        f1 = f1_score(Y[plan.rows], plan.labels, average="micro")
        realised.append(f1)
        inside += lo <= f1 <= hi
    assert abs(np.mean(realised) - plan.claimed_f1) < 0.01
    assert inside >= 30  # a 90% interval: 36 of 40 on average
    # and the interval is wide enough to matter but not trivially wide
    assert 0.005 < hi - lo < 0.1


def test_target_one_codes_only_certain_rows() -> None:
    P = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.99, 0.0, 0.0], [0.9, 0.3, 0.0]])
    plan = gate_plan(P, np.full(3, 0.5), 1.0, draws=20)
    assert sorted(plan.rows.tolist()) == [0, 1]
    assert plan.claimed_f1 == 1.0 and plan.interval == (1.0, 1.0)


def test_nothing_qualifies_gives_an_empty_plan_with_nans() -> None:
    P = np.full((5, 3), 0.55)
    plan = gate_plan(P, np.full(3, 0.5), 0.85)
    assert plan.rows.shape == (0,) and plan.labels.shape == (0, 3)
    assert math.isnan(plan.claimed_f1) and all(math.isnan(x) for x in plan.interval)
    assert plan.per_theme.tolist() == [0, 0, 0] and plan.confidence.shape == (5,)


def test_empty_predicted_sets_are_left_out_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    P = np.array([[0.01, 0.01], [0.97, 0.02], [0.9, 0.05]])
    th = np.full(2, 0.5)
    assert 0 not in gate_plan(P, th, 0.5, draws=20).rows
    monkeypatch.setattr(autocode, "ALLOW_EMPTY", True)
    # its expected fn (0.02) and no tp: the head may include it only where the rest carry it
    assert 0 in gate_plan(P, th, 0.5, draws=20).rows


def test_gate_plan_is_deterministic_for_a_seed() -> None:
    P, th = _synthetic(n=500)
    a, b = gate_plan(P, th, seed=5, draws=100), gate_plan(P, th, seed=5, draws=100)
    np.testing.assert_array_equal(a.rows, b.rows)
    assert a.interval == b.interval


def test_gate_correction_recovers_an_overstated_miss_rate_and_changes_no_decision() -> None:
    # truth: themes not predicted apply at a fifth of their stated p; predicted ones as stated
    rng = np.random.default_rng(2)
    P, th = _synthetic(n=4000, seed=2)
    pred = th <= P
    truth_p = np.where(pred, P, P * 0.2)
    Y = rng.random(P.shape) < truth_p
    corr = fit_gate_correction(P, Y, th, head=1.0)
    assert corr.fn_scale == pytest.approx(0.2, abs=0.05)
    assert corr.fp_scale == pytest.approx(1.0, abs=0.15)
    Pc = apply_gate_correction(P, th, corr)
    np.testing.assert_array_equal(Pc >= th, pred)
    # the corrected claim matches outcomes drawn from the true probabilities; the raw one understates them
    plan = gate_plan(Pc, th, 0.85, draws=100)
    Y2 = rng.random(P.shape) < truth_p
    measured = f1_score(Y2[plan.rows], plan.labels, average="micro")
    assert abs(measured - plan.claimed_f1) < 0.02
    raw = gate_plan(P, th, 0.85, draws=100)
    assert len(raw.rows) < len(plan.rows)


def test_apply_gate_correction_leaves_untrained_columns_and_identity_is_a_no_op() -> None:
    P, th = _synthetic(n=50)
    th[0] = 2.0
    np.testing.assert_allclose(apply_gate_correction(P, th, GateCorrection(1.0, 1.0, 0)), P)
    np.testing.assert_array_equal(apply_gate_correction(P, th, GateCorrection(0.5, 0.1, 0))[:, 0], P[:, 0])


def _pair(m: int = 200, k: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    human = rng.random((m, k)) < 0.25
    auto = human ^ (rng.random((m, k)) < 0.08)  # 8% of decisions differ
    return auto, human


def test_qc_measure_matches_sklearn_and_krippendorff() -> None:
    auto, human = _pair()
    qc = qc_measure(auto, human, seed=1)
    assert qc["n"] == 200
    assert qc["precision"] == pytest.approx(precision_score(human, auto, average="micro"))
    assert qc["recall"] == pytest.approx(recall_score(human, auto, average="micro"))
    assert qc["micro_f1"] == pytest.approx(f1_score(human, auto, average="micro"))
    reference = krippendorff.alpha(reliability_data=np.vstack([auto.ravel(), human.ravel()]).astype(float),
                                   level_of_measurement="nominal")
    assert qc["alpha"] == pytest.approx(reference)
    # the closed form the bootstrap uses agrees with the package too
    d, ones = float((auto != human).sum()), float(auto.sum() + human.sum())
    assert float(autocode._binary_alpha(np.array(d), np.array(ones), np.array(float(auto.size)))) == pytest.approx(
        reference)
    for name in ("precision", "recall", "micro_f1", "alpha"):
        lo, hi = qc[f"{name}_interval"]
        assert lo < qc[name] < hi and hi - lo < 0.3


def test_qc_interval_covers_the_population_figure_in_most_samples() -> None:
    auto, human = _pair(m=20000, seed=3)
    truth = f1_score(human, auto, average="micro")
    covered = 0
    rng = np.random.default_rng(4)
    for s in range(40):
        rows = rng.choice(20000, 100, replace=False)
        lo, hi = qc_measure(auto[rows], human[rows], seed=s, draws=300)["micro_f1_interval"]
        covered += lo <= truth <= hi
    assert covered >= 30  # 90% intervals


def test_qc_measure_identical_codes_and_empty_input() -> None:
    _, human = _pair(m=30)
    qc = qc_measure(human, human)
    assert qc["micro_f1"] == 1.0 and qc["alpha"] == pytest.approx(1.0) and qc["micro_f1_interval"] == (1.0, 1.0)
    empty = qc_measure(np.zeros((0, 4), bool), np.zeros((0, 4), bool))
    assert empty["n"] == 0 and math.isnan(empty["micro_f1"]) and math.isnan(empty["alpha_interval"][0])
    with pytest.raises(ValueError):
        qc_measure(np.zeros((3, 2), bool), np.zeros((3, 3), bool))
