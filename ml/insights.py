"""Survey statistics for the insights views: pure numpy/scipy, no Django."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats


def wilson_interval(count: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion count/n; (0, 0) when n is 0."""
    if n <= 0:
        return 0.0, 0.0
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = count / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z_test(count_a: int, n_a: int, count_b: int, n_b: int) -> tuple[float, float]:
    """Pooled two-proportion z-test: (z, two-sided p); (0, 1) when undefined."""
    if n_a == 0 or n_b == 0:
        return 0.0, 1.0
    pooled = (count_a + count_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 0.0, 1.0
    z = (count_a / n_a - count_b / n_b) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the input order."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[idx]))
        adjusted[idx] = running
    return adjusted.tolist()


def bootstrap_mean_difference(scores: np.ndarray, has_theme: np.ndarray, resamples: int = 1000,
                              seed: int = 0) -> tuple[float, float, float, float]:
    """Impact (mean with - mean without) and contribution (impact * prevalence), each with a percentile
    bootstrap 95% interval over respondents: (impact_low, impact_high, contribution_low, contribution_high)."""
    rng = np.random.default_rng(seed)
    n = len(scores)
    idx = rng.integers(0, n, size=(resamples, n))
    s = scores[idx]
    h = has_theme[idx].astype(float)
    n_with = h.sum(axis=1)
    n_without = n - n_with
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_with = (s * h).sum(axis=1) / n_with
        mean_without = (s * (1 - h)).sum(axis=1) / n_without
    impact = mean_with - mean_without
    contribution = impact * n_with / n
    ok = np.isfinite(impact)
    if not ok.any():
        return 0.0, 0.0, 0.0, 0.0
    il, ih = np.percentile(impact[ok], [2.5, 97.5])
    cl, ch = np.percentile(contribution[ok], [2.5, 97.5])
    return float(il), float(ih), float(cl), float(ch)


def lift(count_ab: int, count_a: int, count_b: int, n: int) -> float:
    """How much more often two themes occur together than if independent: P(ab) / (P(a) P(b))."""
    if count_a == 0 or count_b == 0 or n == 0:
        return 0.0
    return count_ab * n / (count_a * count_b)
