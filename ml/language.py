"""Distinctive words of a theme: Monroe, Colaresi & Quinn (2008) weighted log-odds with an informative
Dirichlet prior, over words and 2-grams. Pure Python/numpy."""
from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import sparse

_WORD = re.compile(r"[a-z0-9']+")
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "i", "in", "is", "it",
    "its", "of", "on", "or", "so", "that", "the", "their", "them", "they", "this", "to", "was", "we", "were",
    "with", "you", "your", "my", "me", "our", "not", "no", "very", "all", "just", "been", "had", "he", "she",
    "his", "her",
})


def tokens(text: str) -> list[str]:
    """Lower-case words (stopwords and 1-letter words dropped) and 2-grams of adjacent words (unless both are
    stopwords)."""
    words = _WORD.findall(text.lower())
    out = [w for w in words if w not in STOPWORDS and len(w) > 1]
    out += [f"{a} {b}" for a, b in itertools.pairwise(words) if not (a in STOPWORDS and b in STOPWORDS)]
    return out


def log_odds_dirichlet(counts_in: np.ndarray, counts_out: np.ndarray,
                       prior: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monroe et al. eq. 16-22: delta_w = log((y_i+a_w)/(n_i+a0-y_i-a_w)) - log((y_j+a_w)/(n_j+a0-y_j-a_w)),
    variance ~ 1/(y_i+a_w) + 1/(y_j+a_w), z = delta / sqrt(variance)."""
    yi = np.asarray(counts_in, dtype=float)
    yj = np.asarray(counts_out, dtype=float)
    a = np.asarray(prior, dtype=float)
    a0 = a.sum()
    ni, nj = yi.sum(), yj.sum()
    delta = np.log((yi + a) / (ni + a0 - yi - a)) - np.log((yj + a) / (nj + a0 - yj - a))
    variance = 1.0 / (yi + a) + 1.0 / (yj + a)
    return delta, variance, delta / np.sqrt(variance)


def term_key(term: str) -> str:
    """A term as `tokens` writes it (lower case, words joined by one space), to look it up among counted terms."""
    return " ".join(_WORD.findall(term.lower()))


def term_counts(texts: Iterable[str]) -> tuple[sparse.csr_matrix, list[str]]:
    """Counts of `tokens` per text as a sparse (texts x terms) int32 matrix, with the terms in column order."""
    index: dict[str, int] = {}
    indptr: list[int] = [0]
    columns: list[int] = []
    for text in texts:
        columns.extend(index.setdefault(t, len(index)) for t in tokens(text))
        indptr.append(len(columns))
    data = np.ones(len(columns), dtype=np.int32)
    matrix = sparse.csr_matrix((data, np.array(columns, dtype=np.int32), np.array(indptr, dtype=np.int64)),
                               shape=(len(indptr) - 1, len(index)))
    matrix.sum_duplicates()  # repeated terms of a text become one count
    return matrix, list(index)


def log_odds_from_counts(vocabulary: list[str], counts_in: np.ndarray, counts_out: np.ndarray,
                         prior_scale: float = 0.01, min_count: int = 3) -> list[dict]:
    """`log_odds_for_texts` from term counts already made: one dict per term seen at least min_count times in
    the two groups together, by z descending; the prior is prior_scale x the pooled counts."""
    yi_all = np.asarray(counts_in, dtype=float)
    yj_all = np.asarray(counts_out, dtype=float)
    keep = np.flatnonzero(yi_all + yj_all >= min_count)
    if not len(keep):
        return []
    yi, yj = yi_all[keep], yj_all[keep]
    delta, _, z = log_odds_dirichlet(yi, yj, prior_scale * (yi + yj))
    rows: list[dict[str, Any]] = [
        {"term": vocabulary[w], "z": float(z[k]), "count_in": int(yi[k]), "count_out": int(yj[k]),
         "delta": float(delta[k])}
        for k, w in enumerate(keep.tolist())]
    rows.sort(key=lambda r: (-r["z"], r["term"]))
    return rows


def log_odds_for_texts(texts_in: Iterable[str], texts_out: Iterable[str], prior_scale: float = 0.01,
                       min_count: int = 3) -> list[dict]:
    """Terms of texts_in against texts_out, prior = prior_scale x the pooled counts (informative prior);
    one dict per term seen at least min_count times, by z descending."""
    cin: Counter[str] = Counter()
    cout: Counter[str] = Counter()
    for t in texts_in:
        cin.update(tokens(t))
    for t in texts_out:
        cout.update(tokens(t))
    vocabulary = sorted(set(cin) | set(cout))
    return log_odds_from_counts(vocabulary, np.array([cin[w] for w in vocabulary]),
                                np.array([cout[w] for w in vocabulary]), prior_scale, min_count)
