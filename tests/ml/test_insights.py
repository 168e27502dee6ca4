"""Survey statistics: Wilson interval, z-test, Holm, bootstrap and lift against hand or scipy figures."""
import numpy as np
from scipy import stats

from ml.insights import (
    _bootstrap_respondents,
    bootstrap_drivers,
    bootstrap_mean_difference,
    holm_adjust,
    lift,
    two_proportion_z_test,
    wilson_interval,
)


def test_wilson_interval_of_8_in_10():
    # p = 0.8, z = 1.959964: centre (0.8 + 0.192073) / 1.384146 = 0.716741, half 0.226353 (by hand)
    lo, hi = wilson_interval(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)
    assert wilson_interval(0, 0) == (0.0, 0.0)
    assert wilson_interval(0, 20)[0] == 0.0


def test_z_test_squared_is_the_uncorrected_chi_square():
    z, p = two_proportion_z_test(30, 100, 45, 110)
    chi2, p_chi, _, _ = stats.chi2_contingency(np.array([[30, 70], [45, 65]]), correction=False)
    assert z < 0
    assert round(z * z, 6) == round(chi2, 6) and round(p, 6) == round(p_chi, 6)


def test_holm_by_hand():
    # sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    assert np.round(holm_adjust([0.01, 0.04, 0.03, 0.005]), 6).tolist() == [0.03, 0.06, 0.06, 0.02]
    assert holm_adjust([0.5, 0.9]) == [1.0, 1.0]


def test_bootstrap_is_seeded_and_covers_the_difference():
    rng = np.random.default_rng(1)
    has = rng.random(400) < 0.3
    scores = np.where(has, 2.0, 4.0) + rng.normal(0, 1, 400)
    first = bootstrap_mean_difference(scores, has)
    assert first == bootstrap_mean_difference(scores, has)
    impact = scores[has].mean() - scores[~has].mean()
    assert first[0] < impact < first[1] < 0
    assert first[2] < impact * has.mean() < first[3]


def test_lift():
    assert lift(10, 20, 50, 100) == 1.0
    assert lift(20, 20, 50, 100) == 2.0
    assert lift(0, 0, 5, 10) == 0.0


def test_cell_bootstrap_matches_resampling_respondents():
    # Ratings 1-5: the cell bootstrap must give the intervals that resampling respondents gives (up to Monte
    # Carlo error), for a theme that pulls the score down and one that does not move it.
    rng = np.random.default_rng(3)
    n = 3000
    matrix = np.column_stack([rng.random(n) < 0.2, rng.random(n) < 0.4])
    scores = np.clip(np.round(4 - 1.5 * matrix[:, 0] + rng.normal(0, 1, n)), 1, 5)
    cells = bootstrap_drivers(scores, matrix, resamples=4000, seed=0)
    respondents = _bootstrap_respondents(scores, matrix, resamples=4000, seed=1, block=200)
    width = cells[:, 1] - cells[:, 0]
    assert np.all(np.abs(cells - respondents) < 0.1 * width[:, None])
    impact = scores[matrix[:, 0]].mean() - scores[~matrix[:, 0]].mean()
    assert cells[0, 0] < impact < cells[0, 1] < 0
    assert cells[1, 0] < 0 < cells[1, 1]
