"""Class-based TF-IDF (c-TF-IDF, as in BERTopic): the words and phrases that set one group of texts apart.

All texts of a group are treated as one document. For term ``t`` and group ``c``::

    W(t, c) = tf(t, c) / words(c) * log(1 + A / f(t))

where ``tf(t, c)`` counts ``t`` in the group, ``words(c)`` is the group's total term count, ``A`` is the
mean number of terms per group and ``f(t)`` the count of ``t`` over all groups. Unigrams and bigrams,
English stop words removed except a few that carry meaning in survey answers (bigrams are formed after
stop-word removal, as scikit-learn does).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

#: Survey answers such as "Nothing.", "None", "Everything" or "Cannot fault" are meaningful on their own, so
#: these words are kept although scikit-learn's English list drops them.
KEPT_WORDS = frozenset({"nothing", "none", "everything", "never", "cannot"})
#: The pieces scikit-learn's tokenizer leaves of contractions ("I've" -> "ve", "don't" -> "don").
CONTRACTION_PIECES = frozenset({"ve", "ll", "re", "don", "didn", "doesn", "isn", "wasn", "aren", "weren",
                                "couldn", "wouldn", "shouldn", "won", "haven", "hasn", "hadn", "ain", "im"})
#: Stop words for keywords: scikit-learn's English list without :data:`KEPT_WORDS`, with the contraction pieces.
STOP_WORDS = sorted((ENGLISH_STOP_WORDS - KEPT_WORDS) | CONTRACTION_PIECES)


@dataclass
class GroupTerms:
    """Top terms of one group, best first. Every term occurs in at least one of the group's own texts."""

    keywords: list[str]  # unigrams
    phrases: list[str]  # bigrams
    ranked: list[tuple[str, float]]  # all 1-2-grams with their c-TF-IDF weight, best first (up to 3*top_n)


def class_tfidf(
    texts: Sequence[str], groups: np.ndarray, *, top_n: int = 10
) -> dict[int, GroupTerms]:
    """c-TF-IDF top terms for each group label in ``groups`` (one label per text; any ints, -1 included).

    Every label present (outliers too) counts as a class for the idf part, so a cluster's keywords are
    distinctive against the outliers as well. Ties are broken alphabetically, so results are deterministic.
    Returns ``{label: GroupTerms}``; groups whose texts have no usable terms get empty lists.
    """
    groups = np.asarray(groups)
    if len(texts) != len(groups):
        raise ValueError("texts and groups must have the same length")
    labels = np.unique(groups)
    empty = {int(g): GroupTerms([], [], []) for g in labels}
    if len(texts) == 0:
        return empty
    vec = CountVectorizer(ngram_range=(1, 2), stop_words=STOP_WORDS, lowercase=True)
    try:
        counts = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary: only stop words / punctuation
        return empty
    vocab = vec.get_feature_names_out()
    col = np.searchsorted(labels, groups)
    member = sp.csr_matrix((np.ones(len(groups)), (col, np.arange(len(groups)))), shape=(len(labels), len(groups)))
    tf = np.asarray((member @ counts).todense(), dtype=np.float64)  # (groups, terms)
    words = tf.sum(1, keepdims=True)
    freq = tf.sum(0)
    avg = float(words.mean())
    idf = np.log1p(avg / np.maximum(freq, 1.0))
    W = tf / np.maximum(words, 1.0) * idf[None, :]
    is_bigram = np.char.find(vocab.astype(str), " ") >= 0
    alpha = np.argsort(vocab)  # alphabetical tie-break
    return {int(g): _top_terms(W[i], vocab, is_bigram, alpha, top_n) for i, g in enumerate(labels)}


def _top_terms(w_row: np.ndarray, vocab: np.ndarray, is_bigram: np.ndarray, alpha: np.ndarray,
               top_n: int) -> GroupTerms:
    w = w_row[alpha]
    order = alpha[np.lexsort((np.arange(len(w)), -w))]
    order = order[w_row[order] > 0]
    # Masks, not a Python pass over every term: a cluster of 10,000 answers has tens of thousands of terms.
    uni = [str(vocab[j]) for j in order[~is_bigram[order]][:top_n]]
    bi = [str(vocab[j]) for j in order[is_bigram[order]][:top_n]]
    ranked = [(str(vocab[j]), float(w_row[j])) for j in order[: 3 * top_n]]
    return GroupTerms(uni, bi, ranked)


@dataclass
class TermCounts:
    """Every text's 1-2-gram counts, as :func:`class_tfidf` tokenises them, kept so that the c-TF-IDF of any group
    of those texts is a sum of rows (:func:`group_terms`), not a new pass over all texts."""

    vocab: list[str]  # the terms, alphabetical
    doc_terms: sp.csr_matrix  # (n_texts, terms) int32: occurrences of each term in each text
    freq: np.ndarray  # (terms,) float64: occurrences over all texts

    @functools.cached_property
    def terms(self) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary as an array (object) and which of its terms are bigrams, made once."""
        vocab = np.array(self.vocab, dtype=object)
        return vocab, np.array([" " in t for t in self.vocab], dtype=bool)

    @property
    def total(self) -> float:
        """Occurrences of all terms over all texts."""
        return float(self.freq.sum())

    @property
    def n_texts(self) -> int:
        return int(self.doc_terms.shape[0])


def term_counts(texts: Sequence[str]) -> TermCounts:
    """Count the terms of each text (one pass over ``texts``)."""
    vec = CountVectorizer(ngram_range=(1, 2), stop_words=STOP_WORDS, lowercase=True, dtype=np.int32)
    try:
        counts = sp.csr_matrix(vec.fit_transform(texts), dtype=np.int32)
    except ValueError:  # empty vocabulary: only stop words / punctuation
        return TermCounts([], sp.csr_matrix((len(texts), 0), dtype=np.int32), np.zeros(0))
    return TermCounts([str(t) for t in vec.get_feature_names_out()], counts,
                      np.asarray(counts.sum(0), dtype=np.float64).ravel())


def group_terms(rows: np.ndarray, counts: TermCounts, *, n_groups: int, top_n: int = 10) -> GroupTerms:
    """c-TF-IDF top terms of the group made of the texts at ``rows`` of ``counts``.

    The same as ``class_tfidf(texts, labels)[group]`` when ``counts = term_counts(texts)`` and ``n_groups`` is
    the number of distinct labels, at the cost of summing the group's rows: what a cluster edit on a project of
    100,000 responses can afford.
    """
    tf = np.asarray(counts.doc_terms[np.asarray(rows, dtype=np.int64)].sum(0), dtype=np.float64).ravel()
    used = np.flatnonzero(tf)
    if not len(used):
        return GroupTerms([], [], [])
    avg = counts.total / max(n_groups, 1)
    w = tf[used] / float(tf.sum()) * np.log1p(avg / np.maximum(counts.freq[used], 1.0))
    vocab, is_bigram = counts.terms
    return _top_terms(w, vocab[used], is_bigram[used], np.arange(len(used)), top_n)


def name_from_terms(ranked: Sequence[tuple[str, float]], *, max_words: int = 3) -> str:
    """A short name from ranked terms: best terms first, skipping ones whose words are already used.

    e.g. ``[("waiting", .3), ("long wait", .2), ("wait", .2), ("hours", .1)]`` -> ``"Waiting, long wait"``.
    """
    used: set[str] = set()
    parts: list[str] = []
    n_words = 0
    for term, _ in ranked:
        words = term.split()
        if any(w in used for w in words) or n_words + len(words) > max_words:
            continue
        parts.append(term)
        used.update(words)
        n_words += len(words)
        if n_words >= max_words:
            break
    name = ", ".join(parts)
    return name[:1].upper() + name[1:] if name else ""
