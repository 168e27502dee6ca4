"""Calibration: the ECE helper, Platt scaling, and calibrated probabilities on held-out NHS rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ml.calibration import expected_calibration_error, platt_apply, platt_fit
from ml.classifier import fit_classifier, predict_labels, predict_proba, predict_scores


def test_ece_is_zero_when_calibrated_and_the_gap_when_not() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = rng.random(p.size) < p  # outcomes drawn from the stated probabilities
    assert expected_calibration_error(y, p) < 0.01
    # says 30% where the theme applies 10% of the time: off by 0.2
    y10 = np.zeros(1000, dtype=bool)
    y10[:100] = True
    assert expected_calibration_error(y10, np.full(1000, 0.3)) == pytest.approx(0.2)
    assert expected_calibration_error(y10, np.full(1000, 0.1)) == pytest.approx(0.0)
    # 2-D input: every (row, theme) pair counts; p == 1 falls in the last bin
    assert expected_calibration_error(np.ones((2, 2), bool), np.ones((2, 2))) == 0.0
    assert expected_calibration_error(y10, np.full(1000, 0.3), bins=15) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        expected_calibration_error(np.zeros(3), np.zeros(4))


def test_platt_recovers_a_known_map_and_stays_increasing() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=20_000) * 2
    y = rng.random(z.size) < 1 / (1 + np.exp(-(0.5 * z - 2.0)))
    a, b = platt_fit(1 / (1 + np.exp(-z)), y)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(-2.0, abs=0.1)
    # separable scores: the fit must not run off to infinity (smoothed targets, damped steps)
    s = np.r_[np.full(50, 0.9), np.full(950, 0.1)]
    a, b = platt_fit(s, s > 0.5)
    out = platt_apply(np.array([[0.1], [0.9]]), np.array([a]), np.array([b]))
    assert np.isfinite([a, b]).all() and 0 < out[0, 0] < 0.05 and 0.95 < out[1, 0] < 1
    # anti-correlated scores are never inverted, and few positives only shift
    a, _ = platt_fit(1 - s, s > 0.5)
    assert a > 0
    a, b = platt_fit(s[:200], s[:200] > 0.5, fit_slope=False)
    assert a == 1.0 and np.isfinite(b)


@pytest.fixture(scope="module")
def nhs_pool(model: Any) -> dict[str, Any]:
    """Pool-split NHS rows only (the test split is for benchmarks): 800 to train, 600 held out."""
    from bench._data import NHS_DIR, cached_embeddings, load_coded, load_split

    if not (NHS_DIR / "coded_responses.csv").exists():
        pytest.skip("NHS FFT data not available")
    data = load_coded(NHS_DIR / "coded_responses.csv")
    pool, _ = load_split(data, NHS_DIR / "split.csv")
    perm = np.random.default_rng(0).permutation(pool)
    tr, ho = perm[:800], perm[800:1400]
    rows = np.r_[tr, ho]
    X = cached_embeddings(model, "all-MiniLM-L6-v2", [data.texts[i] for i in rows])
    texts = [data.texts[i] for i in rows]
    return {"X_tr": X[:800], "Y_tr": data.Y[tr], "t_tr": texts[:800],
            "X_ho": X[800:], "Y_ho": data.Y[ho], "t_ho": texts[800:]}


def test_calibrated_probabilities_on_held_out_nhs_rows(nhs_pool: dict[str, Any]) -> None:
    d = nhs_pool
    calibrated = fit_classifier(d["X_tr"], d["Y_tr"], texts=d["t_tr"])
    raw = fit_classifier(d["X_tr"], d["Y_tr"], texts=d["t_tr"], calibrate=False)
    P = predict_proba(calibrated, d["X_ho"], d["t_ho"])
    R = predict_proba(raw, d["X_ho"], d["t_ho"])
    ece, ece_raw = expected_calibration_error(d["Y_ho"], P), expected_calibration_error(d["Y_ho"], R)
    assert ece < 0.008 < ece_raw, (ece, ece_raw)
    assert expected_calibration_error(d["Y_ho"], P, bins=15) < 0.008
    # the average probability matches how often themes apply (class-balanced raw scores overshoot)
    assert abs(P.mean() - d["Y_ho"].mean()) < 0.005 < R.mean() - d["Y_ho"].mean()
    # thresholds live in the same scale: calibration changes no suggestion
    labels = predict_labels(calibrated, P)
    np.testing.assert_array_equal(labels, predict_labels(raw, R))
    np.testing.assert_array_equal(labels, predict_scores(calibrated, d["X_ho"], d["t_ho"]) >= calibrated.score_thresholds)
    assert labels.any()
    # a reported threshold is a probability the page can show
    shown = [t["threshold"] for t in calibrated.quality.per_theme if t["threshold"] is not None]
    assert shown and all(0 < t < 1 for t in shown)
    np.testing.assert_allclose(shown, calibrated.thresholds[calibrated.trainable], rtol=1e-6)
