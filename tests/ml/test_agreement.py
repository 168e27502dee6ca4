"""Agreement coefficients against published values, hand computations and reference implementations.

References: Krippendorff's worked example ("Computing Krippendorff's Alpha-Reliability", 2011), the
``krippendorff`` package (nominal and interval alpha), NLTK's ``AnnotationTask`` (alpha with MASI distance,
Cohen's kappa) and scikit-learn's ``cohen_kappa_score``.
"""

from __future__ import annotations

import math
import time

import krippendorff
import numpy as np
import pytest
from nltk.metrics.agreement import AnnotationTask
from nltk.metrics.distance import masi_distance as nltk_masi
from sklearn.metrics import cohen_kappa_score

from ml import agreement as ag

nan = np.nan

# Krippendorff (2011), section C: nominal data, 4 observers (rows A-D) x 12 units, missing values.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)


def _codings_from_reliability(rel: np.ndarray) -> list[list[int | None]]:
    """(coders, units) nan-padded array -> (items, coders) cells with None for missing."""
    return [[None if np.isnan(rel[c, u]) else int(rel[c, u]) for c in range(rel.shape[0])] for u in range(rel.shape[1])]


def _random_reliability(
    seed: int, coders: int = 4, units: int = 60, values: int = 4, missing: float = 0.3
) -> np.ndarray:
    """Coders who mostly agree on a true value per unit, with missing ratings."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, values + 1, units)
    rel = np.where(rng.random((coders, units)) < 0.7, truth, rng.integers(1, values + 1, (coders, units))).astype(float)
    rel[rng.random((coders, units)) < missing] = nan
    return rel


def _random_codings(
    seed: int, items: int = 200, coders: int = 3, themes: int = 12, missing: float = 0.25, allow_empty: bool = True
) -> list[list[frozenset[int] | None]]:
    """Set-valued codings: a true theme set per item, each coder adding/dropping themes now and then."""
    rng = np.random.default_rng(seed)
    out: list[list[frozenset[int] | None]] = []
    for _ in range(items):
        base = {int(t) for t in rng.choice(themes, rng.integers(0 if allow_empty else 1, 4), replace=False)}
        row: list[frozenset[int] | None] = []
        for _ in range(coders):
            if rng.random() < missing:
                row.append(None)
                continue
            cell = set(base)
            if rng.random() < 0.3:
                cell.add(int(rng.integers(themes)))
            if len(cell) > (0 if allow_empty else 1) and rng.random() < 0.25:
                cell.discard(sorted(cell)[int(rng.integers(len(cell)))])
            row.append(frozenset(cell))
        out.append(row)
    return out


def _theme_reliability(codings: list[list[frozenset[int] | None]], theme: int) -> np.ndarray:
    """(coders, items) 1/0/nan matrix: did each coder give ``theme`` to each item."""
    return np.array([[nan if cell is None else float(theme in cell) for cell in row] for row in codings]).T


# ----------------------------------------------------------------------------------- nominal alpha


def test_krippendorff_2011_worked_example() -> None:
    assert round(ag.alpha_nominal(KRIPPENDORFF_2011), 3) == 0.743
    # the same through the general coincidence form with the nominal distance
    codings = _codings_from_reliability(KRIPPENDORFF_2011)
    assert round(ag.alpha_distance(codings, lambda a, b: float(a != b)), 3) == 0.743


@pytest.mark.parametrize("seed", range(5))
def test_alpha_nominal_matches_krippendorff_package(seed: int) -> None:
    rel = _random_reliability(seed)
    expected = krippendorff.alpha(reliability_data=rel, level_of_measurement="nominal")
    assert ag.alpha_nominal(rel) == pytest.approx(expected, abs=1e-12)
    codings = _codings_from_reliability(rel)
    assert ag.alpha_distance(codings, lambda a, b: float(a != b)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_alpha_distance_interval_matches_krippendorff_package(seed: int) -> None:
    rel = _random_reliability(seed, values=7)
    expected = krippendorff.alpha(reliability_data=rel, level_of_measurement="interval")
    got = ag.alpha_distance(_codings_from_reliability(rel), lambda a, b: float((a - b) ** 2))
    assert got == pytest.approx(expected, abs=1e-12)


def test_alpha_and_ac1_by_hand_with_missing() -> None:
    # u1: 1,1,1  u2: 1,2,-  u3: 2,2,2  u4: 1,-,- (one value: not pairable)
    rel = np.array([[1, 1, 2, 1], [1, 2, 2, nan], [1, nan, 2, nan]])
    # pairable values n = 8 (four 1s, four 2s); only u2 disagrees: o_12 + o_21 = 2*1*1/(2-1) = 2
    # alpha = 1 - (n-1) * 2 / (2 * 4 * 4) = 1 - 14/32
    assert ag.alpha_nominal(rel) == pytest.approx(18 / 32)
    # percent agreement over u1-u3: (1 + 0 + 1) / 3
    assert ag.percent_agreement(rel) == pytest.approx(2 / 3)
    # Gwet's multi-rater AC1: pi_1 = (1 + 1/2 + 0 + 1) / 4 over all 4 rated units = 5/8, pi_2 = 3/8,
    # pe = 2 * 5/8 * 3/8 / (q-1) = 15/32, AC1 = (2/3 - 15/32) / (1 - 15/32) = 19/51
    assert ag.gwet_ac1(rel) == pytest.approx(19 / 51)


def test_units_with_one_value_and_empty_coders_change_nothing() -> None:
    rel = _random_reliability(7)
    base = ag.alpha_nominal(rel)
    lone = np.full((rel.shape[0], 3), nan)
    lone[0] = [1, 2, 3]  # three units coded by one coder only
    silent = np.full((1, rel.shape[1] + 3), nan)  # a coder who coded nothing
    extended = np.vstack([np.hstack([rel, lone]), silent])
    assert ag.alpha_nominal(extended) == pytest.approx(base, abs=1e-12)
    assert ag.percent_agreement(extended) == pytest.approx(ag.percent_agreement(rel), abs=1e-12)


def test_undefined_alpha_is_nan() -> None:
    assert math.isnan(ag.alpha_nominal(np.array([[1.0, 2.0, nan], [nan, nan, 3.0]])))  # nothing pairable
    assert math.isnan(ag.alpha_nominal(np.array([[1.0, 1.0], [1.0, 1.0]])))  # no variation
    assert math.isnan(ag.percent_agreement(np.array([[1.0, nan], [nan, 2.0]])))
    assert math.isnan(ag.gwet_ac1(np.array([[1.0, 1.0], [1.0, 1.0]])))  # one category seen, q unknown
    assert ag.gwet_ac1(np.array([[1.0, 1.0], [1.0, 1.0]]), n_categories=2) == 1.0


# ---------------------------------------------------------------------------------- kappa and AC1


def _table_labels(yy: int, yn: int, ny: int, nn: int) -> tuple[list[int], list[int]]:
    a = [1] * yy + [1] * yn + [0] * ny + [0] * nn
    b = [1] * yy + [0] * yn + [1] * ny + [0] * nn
    return a, b


def test_cohen_kappa_and_ac1_known_values() -> None:
    # Wikipedia's Cohen's kappa example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa = 0.4
    a, b = _table_labels(20, 5, 10, 15)
    assert ag.cohen_kappa(a, b) == pytest.approx(0.4)
    # AC1 by hand: po = 0.7, pi_yes = (25/50 + 30/50) / 2 = 0.55, pe = 2 * 0.55 * 0.45 = 0.495
    assert ag.gwet_ac1_pair(a, b) == pytest.approx((0.7 - 0.495) / (1 - 0.495))
    # Kappa paradox (high agreement, skewed prevalence): 118, 5, 2, 0 of 125
    a, b = _table_labels(118, 5, 2, 0)
    # po = 118/125, pe = (123*120 + 2*5) / 125^2
    po, pe = 118 / 125, (123 * 120 + 2 * 5) / 125**2
    assert ag.cohen_kappa(a, b) == pytest.approx((po - pe) / (1 - pe))
    assert ag.cohen_kappa(a, b) < 0
    pi = (123 / 125 + 120 / 125) / 2
    assert ag.gwet_ac1_pair(a, b) == pytest.approx((po - 2 * pi * (1 - pi)) / (1 - 2 * pi * (1 - pi)))
    assert ag.gwet_ac1_pair(a, b) > 0.9
    # two raters, no missing: the multi-rater form is the two-rater form
    assert ag.gwet_ac1(np.array([a, b], dtype=float)) == pytest.approx(ag.gwet_ac1_pair(a, b))


@pytest.mark.parametrize("seed", range(3))
def test_cohen_kappa_matches_sklearn_and_nltk_with_missing(seed: int) -> None:
    rel = _random_reliability(seed, coders=2, units=80, values=4, missing=0.2)
    a = [None if np.isnan(x) else int(x) for x in rel[0]]
    b = [None if np.isnan(x) else int(x) for x in rel[1]]
    both = [i for i in range(len(a)) if a[i] is not None and b[i] is not None]
    expected = cohen_kappa_score([a[i] for i in both], [b[i] for i in both])
    assert ag.cohen_kappa(a, b) == pytest.approx(expected, abs=1e-12)
    task = AnnotationTask(data=[(c, str(i), [a, b][c][i]) for i in both for c in (0, 1)])
    assert ag.cohen_kappa(a, b) == pytest.approx(task.kappa(), abs=1e-12)


def test_cohen_kappa_undefined() -> None:
    assert math.isnan(ag.cohen_kappa([1, None], [None, 1]))  # no item coded by both
    assert math.isnan(ag.cohen_kappa([1, 1, 1], [1, 1, 1]))  # chance agreement 1
    with pytest.raises(ValueError):
        ag.cohen_kappa([1, 2], [1])


# ------------------------------------------------------------------------------------------- MASI


def test_masi_distance_matches_nltk() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = frozenset(int(x) for x in rng.choice(6, rng.integers(0, 5), replace=False))
        b = frozenset(int(x) for x in rng.choice(6, rng.integers(0, 5), replace=False))
        if a or b:  # NLTK divides by zero on two empty sets
            assert ag.masi_distance(a, b) == pytest.approx(nltk_masi(set(a), set(b)))
    assert ag.masi_distance(frozenset(), frozenset()) == 0.0
    assert ag.masi_distance(frozenset(), frozenset({1})) == 1.0
    assert ag.masi_distance(frozenset({1, 2}), frozenset({1, 2, 3, 4})) == pytest.approx(1 - 0.5 * 2 / 3)


@pytest.mark.parametrize("seed", range(3))
def test_alpha_masi_matches_nltk(seed: int) -> None:
    codings = _random_codings(seed, items=60, allow_empty=False)
    data = [(str(c), str(i), cell) for i, row in enumerate(codings) for c, cell in enumerate(row) if cell is not None]
    expected = AnnotationTask(data=data, distance=nltk_masi).alpha()
    assert ag.alpha_masi(codings) == pytest.approx(expected, abs=1e-12)
    # the vectorised MASI path and the general one agree
    assert ag.alpha_distance(codings, ag.masi_distance) == pytest.approx(expected, abs=1e-12)


def test_alpha_masi_with_empty_sets() -> None:
    codings = _random_codings(3, items=80)
    assert any(cell == frozenset() for row in codings for cell in row)
    assert ag.alpha_masi(codings) == pytest.approx(ag.alpha_distance(codings, ag.masi_distance), abs=1e-12)
    # all coded "no theme": no variation, alpha undefined
    assert math.isnan(ag.alpha_masi([[frozenset(), frozenset()], [frozenset(), None]]))


# ------------------------------------------------------------------------------ per-theme agreement


@pytest.mark.parametrize("seed", range(3))
def test_theme_agreement_matches_reference_per_theme(seed: int) -> None:
    codings = _random_codings(seed)
    themes = list(range(12))
    rows = ag.theme_agreement(codings, themes, n_boot=50, seed=seed)
    assert [r.theme_id for r in rows] == themes
    n_items = sum(1 for row in codings if sum(c is not None for c in row) >= 2)
    for r in rows:
        rel = _theme_reliability(codings, r.theme_id)
        expected = krippendorff.alpha(reliability_data=rel, level_of_measurement="nominal")
        assert r.alpha == pytest.approx(expected, abs=1e-12)
        assert r.percent == pytest.approx(ag.percent_agreement(rel), abs=1e-12)
        assert r.ac1 == pytest.approx(ag.gwet_ac1(rel, n_categories=2), abs=1e-12)
        assert r.n_items == n_items
        assert r.n_present == int(np.nansum(rel))


def test_theme_agreement_bootstrap_is_a_plain_item_bootstrap() -> None:
    """Replicates equal alpha recomputed by the krippendorff package on the resampled items."""
    codings = _random_codings(11, items=80)
    theme, n_boot, seed = 2, 40, 5
    rated = [row for row in codings if any(cell is not None for cell in row)]
    draws = np.random.default_rng(seed).integers(0, len(rated), size=(n_boot, len(rated)))
    alphas, ac1s, percents = [], [], []
    for draw in draws:
        rel = _theme_reliability([rated[i] for i in draw], theme)
        alphas.append(krippendorff.alpha(reliability_data=rel, level_of_measurement="nominal"))
        ac1s.append(ag.gwet_ac1(rel, n_categories=2))
        percents.append(ag.percent_agreement(rel))
    got = ag.theme_agreement(codings, [theme], n_boot=n_boot, seed=seed)[0]
    assert got.alpha_ci == pytest.approx(tuple(np.percentile(alphas, [2.5, 97.5])), abs=1e-12)
    assert got.ac1_ci == pytest.approx(tuple(np.percentile(ac1s, [2.5, 97.5])), abs=1e-12)
    assert got.percent_ci == pytest.approx(tuple(np.percentile(percents, [2.5, 97.5])), abs=1e-12)


def test_theme_agreement_intervals_contain_estimate_and_are_seeded() -> None:
    codings = _random_codings(1, items=300)
    themes = list(range(12))
    first = ag.theme_agreement(codings, themes, n_boot=300, seed=4)
    assert first == ag.theme_agreement(codings, themes, n_boot=300, seed=4)
    assert first != ag.theme_agreement(codings, themes, n_boot=300, seed=5)
    for r in first:
        for point, (lo, hi) in ((r.alpha, r.alpha_ci), (r.ac1, r.ac1_ci), (r.percent, r.percent_ci)):
            assert lo <= point <= hi
            assert hi - lo > 0


def test_theme_agreement_missing_and_unused_themes() -> None:
    codings: list[list[frozenset[int] | None]] = [
        [frozenset({1}), frozenset({1}), None],
        [frozenset(), frozenset({1}), frozenset()],
        [frozenset({2}), None, None],  # one coder only: counts for AC1's shares, not for alpha
        [None, None, None],  # nobody coded it: ignored
        [frozenset({1, 99}), frozenset({1}), frozenset({1})],  # 99 is not a listed theme: ignored
    ]
    one, unused = ag.theme_agreement(codings, [1, 7], n_boot=100)
    rel = _theme_reliability(codings, 1)
    assert one.n_items == 3
    assert one.alpha == pytest.approx(krippendorff.alpha(reliability_data=rel, level_of_measurement="nominal"))
    assert one.percent == pytest.approx((1 + 1 / 3 + 1) / 3)
    # nobody gave theme 7: alpha undefined (nan, interval nan), raw agreement and AC1 perfect
    assert math.isnan(unused.alpha) and all(math.isnan(x) for x in unused.alpha_ci)
    assert unused.ac1 == 1.0 and unused.percent == 1.0 and unused.n_present == 0
    with pytest.raises(ValueError):
        ag.theme_agreement([[frozenset(), None], [frozenset()]], [1])


def test_theme_agreement_is_fast_enough_for_a_project() -> None:
    codings = _random_codings(0, items=600, coders=3, themes=45)
    start = time.process_time()
    rows = ag.theme_agreement(codings, list(range(45)), n_boot=1000, seed=0)
    elapsed = time.process_time() - start
    assert len(rows) == 45
    assert elapsed < 2.0, f"theme_agreement took {elapsed:.2f}s of CPU"


# ------------------------------------------------------------------------------------ coder pairs


def test_pair_kappas_match_nltk_and_per_theme_kappa() -> None:
    codings = _random_codings(2, items=150, coders=3, themes=8)
    themes = list(range(8))
    pairs = ag.pair_kappas(codings, ["ann", "bob", "cat"], themes, n_boot=200, seed=1)
    assert [(p.coder_a, p.coder_b) for p in pairs] == [("ann", "bob"), ("ann", "cat"), ("bob", "cat")]
    for p, (a, b) in zip(pairs, [(0, 1), (0, 2), (1, 2)], strict=True):
        both = [row for row in codings if row[a] is not None and row[b] is not None]
        assert p.n_items == len(both)
        data = [
            (coder, f"{i}:{t}", int(t in row[col]))  # type: ignore[operator]
            for i, row in enumerate(both)
            for t in themes
            for coder, col in (("a", a), ("b", b))
        ]
        assert p.kappa == pytest.approx(AnnotationTask(data=data).kappa(), abs=1e-12)
        decisions_a = [int(t in row[a]) for row in both for t in themes]  # type: ignore[operator]
        decisions_b = [int(t in row[b]) for row in both for t in themes]  # type: ignore[operator]
        assert p.ac1 == pytest.approx(ag.gwet_ac1_pair(decisions_a, decisions_b, n_categories=2), abs=1e-12)
        assert p.kappa_ci[0] <= p.kappa <= p.kappa_ci[1]
        for th in p.per_theme:
            la = [int(th.theme_id in row[a]) for row in both]  # type: ignore[operator]
            lb = [int(th.theme_id in row[b]) for row in both]  # type: ignore[operator]
            expected = ag.cohen_kappa(la, lb)
            assert th.kappa == pytest.approx(expected, abs=1e-12, nan_ok=True)
            assert (th.n_present_a, th.n_present_b) == (sum(la), sum(lb))
    assert pairs == ag.pair_kappas(codings, ["ann", "bob", "cat"], themes, n_boot=200, seed=1)


def test_pair_kappas_bootstrap_is_a_plain_item_bootstrap() -> None:
    codings = _random_codings(8, items=60, coders=2, themes=5)
    themes, n_boot, seed = list(range(5)), 40, 3
    both = [row for row in codings if row[0] is not None and row[1] is not None]
    # each pair draws from its own stream (seed, a, b)
    draws = np.random.default_rng([seed, 0, 1]).integers(0, len(both), size=(n_boot, len(both)))
    kappas, theme1 = [], []
    for draw in draws:
        sample = [both[i] for i in draw]
        la = [int(t in row[0]) for row in sample for t in themes]  # type: ignore[operator]
        lb = [int(t in row[1]) for row in sample for t in themes]  # type: ignore[operator]
        kappas.append(cohen_kappa_score(la, lb))
        theme1.append(ag.gwet_ac1_pair(la[1::5], lb[1::5], n_categories=2))
    (pair,) = ag.pair_kappas(codings, ["a", "b"], themes, n_boot=n_boot, seed=seed)
    assert pair.kappa_ci == pytest.approx(tuple(np.percentile(kappas, [2.5, 97.5])), abs=1e-12)
    assert pair.per_theme[1].ac1_ci == pytest.approx(tuple(np.percentile(theme1, [2.5, 97.5])), abs=1e-12)


def test_pair_kappas_without_common_items() -> None:
    codings: list[list[frozenset[int] | None]] = [
        [frozenset({1}), None],
        [None, frozenset({1})],
    ]
    (pair,) = ag.pair_kappas(codings, [10, 20], [1], n_boot=50)
    assert pair.n_items == 0
    assert math.isnan(pair.kappa) and math.isnan(pair.ac1) and all(math.isnan(x) for x in pair.kappa_ci)
    assert math.isnan(pair.per_theme[0].kappa)
    with pytest.raises(ValueError):
        ag.pair_kappas(codings, [10], [1])


# ----------------------------------------------------------------------------------------- overall


def test_overall_agreement() -> None:
    codings = _random_codings(5, items=250)
    result = ag.overall_agreement(codings, n_boot=300, seed=2)
    assert result["alpha_masi"] == pytest.approx(ag.alpha_distance(codings, ag.masi_distance), abs=1e-12)
    lo, hi = result["alpha_masi_ci"]
    assert lo < result["alpha_masi"] < hi
    assert result == ag.overall_agreement(codings, n_boot=300, seed=2)
    assert result != ag.overall_agreement(codings, n_boot=300, seed=3)
    pairable = [row for row in codings if sum(c is not None for c in row) >= 2]
    assert result["n_items"] == len(pairable)
    assert result["n_codings"] == sum(c is not None for row in pairable for c in row)
    assert result["n_coders"] == 3


def test_overall_agreement_bootstrap_is_a_plain_item_bootstrap() -> None:
    codings = _random_codings(6, items=40)
    n_boot, seed = 30, 9
    pairable = [row for row in codings if sum(c is not None for c in row) >= 2]
    draws = np.random.default_rng(seed).integers(0, len(pairable), size=(n_boot, len(pairable)))
    alphas = [ag.alpha_distance([pairable[i] for i in draw], ag.masi_distance) for draw in draws]
    expected = np.percentile(alphas, [2.5, 97.5])
    got = ag.overall_agreement(codings, n_boot=n_boot, seed=seed)["alpha_masi_ci"]
    assert got == pytest.approx(tuple(expected), abs=1e-12)


def test_overall_agreement_without_pairable_items() -> None:
    result = ag.overall_agreement([[frozenset({1}), None], [None, frozenset({2})]], n_boot=20)
    assert math.isnan(result["alpha_masi"]) and all(math.isnan(x) for x in result["alpha_masi_ci"])
    assert (result["n_items"], result["n_coders"], result["n_codings"]) == (0, 0, 0)
