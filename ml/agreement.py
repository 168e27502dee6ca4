"""Inter-coder agreement for blind double coding: Krippendorff's alpha, Cohen's kappa, Gwet's AC1.

Plain numpy, no Django. Every bootstrap is seeded, so the same data and seed give the same intervals.

Data shapes
-----------
``codings: Sequence[Sequence[frozenset[int] | None]]`` -- one row per item (response), one column per
coder; a cell is the set of theme ids that coder gave the item, ``None`` where the coder did not code it.
An empty frozenset means "coded, no theme". ``reliability: np.ndarray`` -- shaped (coders, units) with
``np.nan`` for missing values (the convention of the ``krippendorff`` package).

Functions
---------
- ``alpha_nominal(reliability: np.ndarray) -> float``
- ``alpha_distance(codings: Sequence[Sequence[Hashable | None]], distance: Callable[[Any, Any], float]) -> float``
- ``masi_distance(a: AbstractSet[Hashable], b: AbstractSet[Hashable]) -> float``
- ``alpha_masi(codings: Codings) -> float``
- ``percent_agreement(reliability: np.ndarray) -> float``
- ``gwet_ac1(reliability: np.ndarray, *, n_categories: int | None = None) -> float``
- ``cohen_kappa(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> float``
- ``gwet_ac1_pair(a: Sequence[Hashable | None], b: Sequence[Hashable | None], *, n_categories=None) -> float``
- ``theme_agreement(codings, theme_ids, *, n_boot=1000, seed=0, level=0.95) -> list[ThemeAgreement]``
- ``pair_kappas(codings, coder_ids, theme_ids, *, n_boot=1000, seed=0, level=0.95) -> list[PairAgreement]``
- ``overall_agreement(codings, *, n_boot=1000, seed=0, level=0.95) -> OverallAgreement`` (a dict)

Conventions
-----------
- Only *pairable* values count for alpha and percent agreement: units (items) with fewer than two values
  are dropped. Undefined coefficients (no pairable units, no variation at all) are ``nan``, never 0 or 1.
- Bootstrap intervals resample items with replacement (the same resamples for every theme of one call),
  recompute the coefficient from per-item counts, and take the percentile interval of the finite
  replicates; ``(nan, nan)`` when no replicate is finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

Codings = Sequence[Sequence[frozenset[int] | None]]
Interval = tuple[float, float]

#: Default number of bootstrap resamples.
N_BOOT = 1000
#: Bootstrap resamples are processed in blocks of this many, so memory stays bounded for large projects.
_BOOT_BLOCK = 250


# --------------------------------------------------------------------------------------------- helpers


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _unit_value_counts(reliability: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(units, values) count matrix and the sorted distinct values of a (coders, units) nan-padded array."""
    data = np.asarray(reliability, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError("reliability must be a 2-d array shaped (coders, units)")
    values = np.unique(data[~np.isnan(data)])
    counts = np.zeros((data.shape[1], len(values)))
    for c, value in enumerate(values):
        counts[:, c] = (data == value).sum(0)
    return counts, values


def _boot_weights(n_units: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_units) multiplicities: how often each unit is drawn in each resample of all units."""
    draws = rng.integers(0, n_units, size=(n_boot, n_units))
    flat = draws + (np.arange(n_boot) * n_units)[:, None]
    return np.bincount(flat.ravel(), minlength=n_boot * n_units).reshape(n_boot, n_units).astype(np.float64)


def _boot_blocks(n_units: int, n_boot: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Bootstrap weights in blocks of at most :data:`_BOOT_BLOCK` resamples (drawn in a fixed order)."""
    if n_units == 0 or n_boot <= 0:
        return []
    sizes = [min(_BOOT_BLOCK, n_boot - start) for start in range(0, n_boot, _BOOT_BLOCK)]
    return [_boot_weights(n_units, size, rng) for size in sizes]


def _percentile_intervals(replicates: np.ndarray, level: float) -> list[Interval]:
    """Percentile interval of each column of a (n_boot, k) replicate matrix over its finite values.

    numpy's default "linear" percentiles, vectorised over columns (np.percentile column by column was
    half the run time); ``(nan, nan)`` for a column without a finite replicate.
    """
    k = replicates.shape[1]
    if replicates.shape[0] == 0:
        return [(math.nan, math.nan)] * k
    finite_mask = np.isfinite(replicates)
    ordered = np.sort(np.where(finite_mask, replicates, np.nan), axis=0)  # nan sorts last
    last = np.maximum(finite_mask.sum(0) - 1, 0)
    cols = np.arange(k)
    tail = (1.0 - level) / 2.0
    bounds = []
    for q in (tail, 1.0 - tail):
        pos = q * last
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, last)
        value = ordered[lo, cols] + (ordered[hi, cols] - ordered[lo, cols]) * (pos - lo)
        bounds.append(np.where(finite_mask.any(0), value, np.nan))
    return [(float(bounds[0][j]), float(bounds[1][j])) for j in cols]


def _percentile_interval(replicates: np.ndarray, level: float) -> Interval:
    """Percentile interval of the finite values of a 1-d replicate array."""
    return _percentile_intervals(np.asarray(replicates, dtype=np.float64).reshape(-1, 1), level)[0]


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with nan where den is 0 (an undefined coefficient, not an error)."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64))
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _check_codings(codings: Sequence[Sequence[object]]) -> int:
    """Number of coders (columns); raises on ragged rows."""
    widths = {len(row) for row in codings}
    if len(widths) > 1:
        raise ValueError("every item must have one cell per coder (use None for 'not coded')")
    return widths.pop() if widths else 0


def _presence(codings: Codings, theme_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(items, coders, themes) bool presence and (items, coders) bool 'coded' mask."""
    n_coders = _check_codings(codings)
    column = {theme: j for j, theme in enumerate(theme_ids)}
    present = np.zeros((len(codings), n_coders, len(theme_ids)), dtype=bool)
    coded = np.zeros((len(codings), n_coders), dtype=bool)
    for i, row in enumerate(codings):
        for c, cell in enumerate(row):
            if cell is None:
                continue
            coded[i, c] = True
            for theme in cell:
                j = column.get(theme)
                if j is not None:
                    present[i, c, j] = True
    return present, coded


# ------------------------------------------------------------------------------------- nominal alpha


def _alpha_nominal_counts(counts: np.ndarray) -> float:
    m = counts.sum(1)
    counts = counts[m >= 2]
    m = m[m >= 2]
    n = m.sum()
    if n == 0:
        return math.nan
    observed = ((m**2 - (counts**2).sum(1)) / (m - 1)).sum()
    expected = n**2 - (counts.sum(0) ** 2).sum()
    if expected == 0:
        return math.nan
    return float(1.0 - (n - 1) * observed / expected)


def alpha_nominal(reliability: np.ndarray) -> float:
    """Krippendorff's alpha for nominal data.

    ``reliability`` is (coders, units) with ``np.nan`` for missing values. Units with fewer than two values
    are dropped. ``nan`` when there is no pairable unit or no variation among the pairable values.
    """
    counts, _ = _unit_value_counts(reliability)
    return _alpha_nominal_counts(counts)


# ------------------------------------------------------------------------------ alpha with a distance


def masi_distance(a: AbstractSet[Hashable], b: AbstractSet[Hashable]) -> float:
    """MASI distance between two label sets (Passonneau 2006, as NLTK computes it).

    ``1 - jaccard * m`` with monotonicity weight m = 1 for equal sets, 2/3 when one contains the other,
    1/3 when they overlap otherwise, 0 when disjoint. Two empty sets are at distance 0 (NLTK divides by zero).
    """
    union = len(a | b)
    if union == 0:
        return 0.0
    inter = len(a & b)
    if len(a) == len(b) == inter:
        weight = 1.0
    elif inter == min(len(a), len(b)):
        weight = 2.0 / 3.0
    elif inter > 0:
        weight = 1.0 / 3.0
    else:
        weight = 0.0
    return 1.0 - inter / union * weight


def _masi_matrix(sets: np.ndarray) -> np.ndarray:
    """Pairwise MASI distances between the rows of a (values, themes) bool matrix (vectorised)."""
    s = sets.astype(np.float64)
    size = s.sum(1)
    inter = s @ s.T
    union = size[:, None] + size[None, :] - inter
    equal = (inter == size[:, None]) & (inter == size[None, :])
    nested = inter == np.minimum(size[:, None], size[None, :])
    weight = np.where(equal, 1.0, np.where(nested, 2.0 / 3.0, np.where(inter > 0, 1.0 / 3.0, 0.0)))
    jaccard = _divide(inter, union)
    return np.where(union == 0, 0.0, 1.0 - np.nan_to_num(jaccard) * weight)


class _DistanceAlpha:
    """Alpha with a distance, in coincidence form, reduced to a (units x units) matrix for the bootstrap.

    With per-unit value counts N (units x values) and distances D (values x values, zero diagonal),
    E = N D N^T holds the summed distances between all values of unit u and all values of unit v. Then
    observed disagreement = sum_u E_uu / (m_u - 1), expected = sum_uv E_uv, and
    alpha = 1 - (n - 1) * observed / expected; a resample with multiplicities w gives observed = w . diag / (m-1)
    and expected = w^T E w, which is what makes the bootstrap cheap.
    """

    def __init__(self, counts: np.ndarray, distances: np.ndarray) -> None:
        m = counts.sum(1)
        keep = m >= 2
        counts, self.m = counts[keep], m[keep]
        self.e = counts @ distances @ counts.T
        self.within = np.diag(self.e) / np.where(self.m > 1, self.m - 1, 1)

    @property
    def n_units(self) -> int:
        return len(self.m)

    def alpha(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Alpha for each row of ``weights`` (resample multiplicities); the point estimate when None."""
        w = np.ones((1, self.n_units)) if weights is None else weights
        n = w @ self.m
        observed = w @ self.within
        expected = ((w @ self.e) * w).sum(1)
        return 1.0 - (n - 1) * _divide(observed, expected)


def _encode_values(codings: Sequence[Sequence[Hashable | None]]) -> tuple[np.ndarray, list[Hashable]]:
    """(units, distinct values) count matrix and the distinct values, in first-seen order."""
    _check_codings(codings)
    index: dict[Hashable, int] = {}
    cells: list[tuple[int, int]] = []
    for u, row in enumerate(codings):
        for value in row:
            if not _is_missing(value):
                cells.append((u, index.setdefault(value, len(index))))
    counts = np.zeros((len(codings), len(index)))
    for u, v in cells:
        counts[u, v] += 1
    return counts, list(index)


def alpha_distance(codings: Sequence[Sequence[Hashable | None]], distance: Callable[[Any, Any], float]) -> float:
    """Krippendorff's alpha for arbitrary (hashable) values with a distance function.

    ``codings`` is (items, coders) with ``None`` for missing. ``distance(a, b)`` must be symmetric with
    ``distance(a, a) == 0``. Coincidence-matrix form over pairable values; ``nan`` when undefined.
    """
    counts, values = _encode_values(codings)
    dist = np.zeros((len(values), len(values)))
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            dist[i, j] = dist[j, i] = distance(values[i], values[j])
    return float(_DistanceAlpha(counts, dist).alpha()[0]) if counts.size else math.nan


def _masi_alpha(codings: Codings) -> _DistanceAlpha:
    _check_codings(codings)
    themes = sorted({t for row in codings for cell in row if cell is not None for t in cell})
    column = {t: j for j, t in enumerate(themes)}
    sets: dict[frozenset[int], int] = {}
    cells: list[tuple[int, int]] = []
    for u, row in enumerate(codings):
        for cell in row:
            if cell is not None:
                cells.append((u, sets.setdefault(cell, len(sets))))
    matrix = np.zeros((len(sets), len(themes)), dtype=bool)
    for value, v in sets.items():
        matrix[v, [column[t] for t in value]] = True
    counts = np.zeros((len(codings), len(sets)))
    for u, v in cells:
        counts[u, v] += 1
    return _DistanceAlpha(counts, _masi_matrix(matrix))


def alpha_masi(codings: Codings) -> float:
    """Krippendorff's alpha over whole theme sets with :func:`masi_distance` (partial credit for overlap)."""
    model = _masi_alpha(codings)
    return float(model.alpha()[0]) if model.n_units else math.nan


# ---------------------------------------------------------------------------- percent agreement, AC1


def _percent_counts(counts: np.ndarray) -> float:
    m = counts.sum(1)
    keep = m >= 2
    if not keep.any():
        return math.nan
    m, counts = m[keep], counts[keep]
    return float(((counts * (counts - 1)).sum(1) / (m * (m - 1))).mean())


def percent_agreement(reliability: np.ndarray) -> float:
    """Share of agreeing coder pairs per unit, averaged over units with at least two values.

    For two coders this is the plain share of units both coded the same. ``nan`` without pairable units.
    """
    counts, _ = _unit_value_counts(reliability)
    return _percent_counts(counts)


def _ac1_counts(counts: np.ndarray, n_categories: int | None) -> float:
    q = counts.shape[1] if n_categories is None else n_categories
    if n_categories is not None and n_categories < counts.shape[1]:
        raise ValueError("n_categories is smaller than the number of distinct values")
    m = counts.sum(1)
    rated = m >= 1
    pa = _percent_counts(counts)
    if math.isnan(pa) or q < 2:
        return math.nan
    # Gwet's handbook: category shares average every rated unit's distribution, pairable or not.
    pi = (counts[rated] / m[rated, None]).mean(0)
    pe = float((pi * (1 - pi)).sum() / (q - 1))
    return (pa - pe) / (1 - pe)


def gwet_ac1(reliability: np.ndarray, *, n_categories: int | None = None) -> float:
    """Gwet's AC1 for any number of coders with missing ratings (Gwet 2008; handbook, multi-rater form).

    ``reliability`` is (coders, units) with ``np.nan`` for missing. Observed agreement is
    :func:`percent_agreement` over units with >= 2 ratings; chance agreement is
    ``sum_k pi_k (1 - pi_k) / (q - 1)`` with ``pi_k`` the mean share of category k over all rated units.
    ``q`` is ``n_categories`` or else the number of distinct values seen; ``nan`` when q < 2 or no unit
    is pairable. For two coders and the units both rated this is Gwet's (2008) two-rater AC1.
    """
    counts, _ = _unit_value_counts(reliability)
    return _ac1_counts(counts, n_categories)


def _paired_labels(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of the items both coders labelled, and the number of distinct labels among them."""
    if len(a) != len(b):
        raise ValueError("a and b must have one label (or None) per item")
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if not _is_missing(x) and not _is_missing(y)]
    index: dict[Hashable, int] = {}
    codes_a = np.array([index.setdefault(x, len(index)) for x, _ in pairs], dtype=int)
    codes_b = np.array([index.setdefault(y, len(index)) for _, y in pairs], dtype=int)
    return codes_a, codes_b, len(index)


def cohen_kappa(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> float:
    """Cohen's kappa between two coders' nominal (or binary) labels over the items both coded.

    ``None`` (or float nan) marks an item a coder did not code. ``nan`` when no item was coded by both or
    chance agreement is 1 (both coders used one and the same label throughout).
    """
    codes_a, codes_b, q = _paired_labels(a, b)
    n = len(codes_a)
    if n == 0:
        return math.nan
    table = np.zeros((q, q))
    np.add.at(table, (codes_a, codes_b), 1)
    po = np.trace(table) / n
    pe = float((table.sum(1) * table.sum(0)).sum() / n**2)
    return math.nan if pe == 1 else float((po - pe) / (1 - pe))


def gwet_ac1_pair(
    a: Sequence[Hashable | None], b: Sequence[Hashable | None], *, n_categories: int | None = None
) -> float:
    """Gwet's (2008) two-rater AC1 over the items both coders labelled (``None`` = not coded)."""
    codes_a, codes_b, q = _paired_labels(a, b)
    if len(codes_a) == 0:
        return math.nan
    counts = np.zeros((len(codes_a), q))
    np.add.at(counts, (np.arange(len(codes_a)), codes_a), 1)
    np.add.at(counts, (np.arange(len(codes_b)), codes_b), 1)
    return _ac1_counts(counts, n_categories)


# --------------------------------------------------------------------------------- per-theme agreement


@dataclass(frozen=True)
class ThemeAgreement:
    """Agreement on one theme, read as present/absent per (item, coder).

    ``n_items`` counts items with >= 2 coders; ``n_present`` counts codings (item, coder) that gave the theme.
    """

    theme_id: int
    n_items: int
    n_present: int
    alpha: float
    alpha_ci: Interval
    ac1: float
    ac1_ci: Interval
    percent: float
    percent_ci: Interval


def _binary_theme_stats(p: np.ndarray, m: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha, AC1 and percent agreement per theme from present counts ``p`` (items, themes), coders per
    item ``m`` (items,) and item multiplicities ``w`` (resamples, items); returns three (resamples, themes)."""
    pairable = m >= 2
    m2 = np.where(pairable, m, 2.0)[:, None]
    # nominal alpha with two values: observed 2 p (m-p) / (m-1) per unit, expected 2 n1 n0
    within = np.where(pairable[:, None], p * (m[:, None] - p) / (m2 - 1), 0.0)
    agree = np.where(pairable[:, None], (p * (p - 1) + (m[:, None] - p) * (m[:, None] - p - 1)) / (m2 * (m2 - 1)), 0.0)
    wp = w * pairable
    n = (wp @ m)[:, None]
    n1 = wp @ np.where(pairable[:, None], p, 0.0)
    alpha = 1.0 - (n - 1) * _divide(wp @ within, n1 * (n - n1))
    percent = _divide(wp @ agree, wp.sum(1)[:, None])
    # AC1's category shares average every rated item's share (p = 0 where m = 0, so those add nothing)
    shares = p / np.maximum(m, 1.0)[:, None]
    pi = _divide(w @ shares, (w @ (m >= 1))[:, None])
    pe = 2.0 * pi * (1.0 - pi)  # q = 2 (present, absent) whether or not both were used
    ac1 = (percent - pe) / (1.0 - pe)
    return alpha, ac1, percent


def codings_at_net_level(codings: Codings, net_of: Mapping[int, int]) -> Codings:
    """The same table with each theme set replaced by the set of its nets: two coders who differ only inside a
    net agree on it. A theme under no net stands for itself (so overall agreement still sees it); the nets' ids
    in ``net_of`` must not be ids of themes left unmapped (callers use negative ids for nets)."""
    return [[None if cell is None else frozenset(net_of.get(t, t) for t in cell) for cell in row] for row in codings]


def theme_agreement(
    codings: Codings,
    theme_ids: Sequence[int],
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = 0.95,
) -> list[ThemeAgreement]:
    """Per theme (in ``theme_ids`` order): alpha, AC1 and percent agreement with bootstrap intervals.

    Each theme is a present/absent nominal variable per (item, coder); theme ids outside ``theme_ids``
    are ignored. Items coded by at least one coder are resampled (items with one coder only enter AC1's
    category shares, as in Gwet's multi-rater form).
    """
    present, coded = _presence(codings, theme_ids)
    m_all = coded.sum(1).astype(np.float64)
    rows = m_all >= 1
    p = present[rows].sum(1).astype(np.float64)
    m = m_all[rows]
    alpha, ac1, percent = _binary_theme_stats(p, m, np.ones((1, len(m))))
    rng = np.random.default_rng(seed)
    boot = [_binary_theme_stats(p, m, w) for w in _boot_blocks(len(m), n_boot, rng)]
    k = len(theme_ids)
    reps = [np.vstack([b[s] for b in boot]) if boot else np.full((0, k), np.nan) for s in range(3)]
    alpha_ci, ac1_ci, percent_ci = (_percentile_intervals(r, level) for r in reps)
    n_items = int((m >= 2).sum())
    n_present = present.sum((0, 1))
    return [
        ThemeAgreement(
            theme_id=theme,
            n_items=n_items,
            n_present=int(n_present[j]),
            alpha=float(alpha[0, j]),
            alpha_ci=alpha_ci[j],
            ac1=float(ac1[0, j]),
            ac1_ci=ac1_ci[j],
            percent=float(percent[0, j]),
            percent_ci=percent_ci[j],
        )
        for j, theme in enumerate(theme_ids)
    ]


# --------------------------------------------------------------------------------------- coder pairs


@dataclass(frozen=True)
class PairThemeAgreement:
    """Two coders' agreement on one theme over the items both coded."""

    theme_id: int
    n_present_a: int
    n_present_b: int
    kappa: float
    kappa_ci: Interval
    ac1: float
    ac1_ci: Interval
    percent: float
    percent_ci: Interval


@dataclass(frozen=True)
class PairAgreement:
    """Two coders' agreement over all (item, theme) present/absent decisions of the items both coded."""

    coder_a: Any
    coder_b: Any
    n_items: int
    kappa: float
    kappa_ci: Interval
    ac1: float
    ac1_ci: Interval
    percent: float
    percent_ci: Interval
    per_theme: list[PairThemeAgreement] = field(default_factory=list)


def _binary_pair_stats(
    yy: np.ndarray, yn: np.ndarray, ny: np.ndarray, nn: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kappa, AC1 (q = 2) and percent agreement from 2x2 table counts (any matching shapes)."""
    n = yy + yn + ny + nn
    po = _divide(yy + nn, n)
    a_yes, b_yes = _divide(yy + yn, n), _divide(yy + ny, n)
    pe_kappa = a_yes * b_yes + (1 - a_yes) * (1 - b_yes)
    kappa = _divide(po - pe_kappa, 1 - pe_kappa)
    pi = (a_yes + b_yes) / 2
    pe_ac1 = 2 * pi * (1 - pi)
    ac1 = (po - pe_ac1) / (1 - pe_ac1)
    return kappa, ac1, po


def pair_kappas(
    codings: Codings,
    coder_ids: Sequence[Any],
    theme_ids: Sequence[int],
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = 0.95,
    per_theme: bool = True,
) -> list[PairAgreement]:
    """For each pair of coders (columns, named by ``coder_ids``): Cohen's kappa, AC1 and percent agreement.

    Pooled over the (item, theme) present/absent decisions on the items both coded, and per theme when
    ``per_theme``; bootstrap intervals resample those items. Each pair's resamples come from
    ``(seed, a, b)``, so a pair's intervals do not depend on which other coders are present.
    """
    present, coded = _presence(codings, theme_ids)
    if present.shape[1] != len(coder_ids):
        raise ValueError("coder_ids must name every column of codings")
    results = []
    for a in range(len(coder_ids)):
        for b in range(a + 1, len(coder_ids)):
            both = coded[:, a] & coded[:, b]
            xa = present[both, a].astype(np.float64)
            xb = present[both, b].astype(np.float64)
            cells = (xa * xb, xa * (1 - xb), (1 - xa) * xb, (1 - xa) * (1 - xb))  # (items, themes) each
            pooled = tuple(c.sum(1) for c in cells)
            point_pooled = _binary_pair_stats(*(c.sum() for c in pooled))
            point_theme = _binary_pair_stats(*(c.sum(0) for c in cells))
            rng = np.random.default_rng([seed, a, b])
            pooled_reps: list[list[np.ndarray]] = [[], [], []]
            theme_reps: list[list[np.ndarray]] = [[], [], []]
            for w in _boot_blocks(int(both.sum()), n_boot, rng):
                for s, stat in enumerate(_binary_pair_stats(*(w @ c for c in pooled))):
                    pooled_reps[s].append(stat)
                if per_theme:
                    for s, stat in enumerate(_binary_pair_stats(*(w @ c for c in cells))):
                        theme_reps[s].append(stat)
            pooled_ci = [
                _percentile_interval(np.concatenate(r), level) if r else (math.nan, math.nan) for r in pooled_reps
            ]
            themes: list[PairThemeAgreement] = []
            if per_theme:
                k = len(theme_ids)
                theme_ci = [
                    _percentile_intervals(np.vstack(r) if r else np.full((0, k), np.nan), level) for r in theme_reps
                ]
                themes = [
                    PairThemeAgreement(
                        theme_id=theme,
                        n_present_a=int(xa[:, j].sum()),
                        n_present_b=int(xb[:, j].sum()),
                        kappa=float(point_theme[0][j]),
                        kappa_ci=theme_ci[0][j],
                        ac1=float(point_theme[1][j]),
                        ac1_ci=theme_ci[1][j],
                        percent=float(point_theme[2][j]),
                        percent_ci=theme_ci[2][j],
                    )
                    for j, theme in enumerate(theme_ids)
                ]
            results.append(
                PairAgreement(
                    coder_a=coder_ids[a],
                    coder_b=coder_ids[b],
                    n_items=int(both.sum()),
                    kappa=float(point_pooled[0]),
                    kappa_ci=pooled_ci[0],
                    ac1=float(point_pooled[1]),
                    ac1_ci=pooled_ci[1],
                    percent=float(point_pooled[2]),
                    percent_ci=pooled_ci[2],
                    per_theme=themes,
                )
            )
    return results


# ------------------------------------------------------------------------------------------- overall


class OverallAgreement(TypedDict):
    """Agreement on whole theme sets: alpha with MASI distance, its bootstrap interval and the data size."""

    alpha_masi: float
    alpha_masi_ci: Interval
    n_items: int
    n_coders: int
    n_codings: int


def overall_agreement(
    codings: Codings, *, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95
) -> OverallAgreement:
    """Alpha with MASI distance over the multi-label theme sets, with a bootstrap interval over items.

    ``n_items`` counts items with >= 2 coders, ``n_coders`` the coders who coded at least one of them and
    ``n_codings`` the (item, coder) codings on those items.
    """
    model = _masi_alpha(codings)
    point = float(model.alpha()[0]) if model.n_units else math.nan
    rng = np.random.default_rng(seed)
    reps = [model.alpha(w) for w in _boot_blocks(model.n_units, n_boot, rng)]
    ci = _percentile_interval(np.concatenate(reps), level) if reps else (math.nan, math.nan)
    coded = np.array([[cell is not None for cell in row] for row in codings], dtype=bool).reshape(len(codings), -1)
    pairable = coded[coded.sum(1) >= 2]
    return OverallAgreement(
        alpha_masi=point,
        alpha_masi_ci=ci,
        n_items=len(pairable),
        n_coders=int(pairable.any(0).sum()),
        n_codings=int(pairable.sum()),
    )
