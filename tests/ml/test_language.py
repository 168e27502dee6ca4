"""Monroe, Colaresi & Quinn (2008) weighted log-odds, checked against a hand-worked example."""
import math

import numpy as np
import pytest

from ml.language import log_odds_dirichlet, log_odds_for_texts, tokens


def test_log_odds_reproduces_a_hand_worked_example():
    # Vocabulary (price, staff, wait); in-group counts 8, 1, 1 (n_i = 10); out-group 2, 6, 12 (n_j = 20);
    # prior a = (1, 1, 2), a0 = 4.
    # price: log(9 / (10 + 4 - 8 - 1)) - log(3 / (20 + 4 - 2 - 1)) = log(9/5) - log(3/21) = 0.587787 + 1.945910
    #        = 2.533697; variance 1/9 + 1/3 = 0.444444; z = 2.533697 / 0.666667 = 3.800546
    # staff: log(2 / 12) - log(7 / 17) = -1.791759 + 0.887303 = -0.904456; var 1/2 + 1/7 = 0.642857;
    #        z = -0.904456 / 0.801784 = -1.128055
    # wait:  log(3 / 11) - log(14 / 10) = -1.299283 - 0.336472 = -1.635755; var 1/3 + 1/14 = 0.404762;
    #        z = -1.635755 / 0.636209 = -2.571097
    delta, variance, z = log_odds_dirichlet(np.array([8, 1, 1]), np.array([2, 6, 12]), np.array([1, 1, 2]))
    assert np.round(delta, 6).tolist() == [2.533697, -0.904456, -1.635755]
    assert np.round(variance, 6).tolist() == [0.444444, 0.642857, 0.404762]
    assert np.round(z, 3).tolist() == [3.801, -1.128, -2.571]


def test_tokens_keep_words_and_two_grams_without_stopword_pairs():
    assert tokens("The price is too high") == ["price", "too", "high", "the price", "price is", "is too", "too high"]


def test_the_distinctive_term_of_a_group_comes_first():
    rows = log_odds_for_texts(["price too high"] * 5 + ["staff kind"], ["staff kind"] * 5 + ["price ok"])
    assert rows[0]["term"] in ("price too", "too high", "too", "high", "price")
    assert rows[0]["count_in"] == 5 and rows[0]["z"] > 0
    assert rows[-1]["term"] in ("staff", "kind", "staff kind") and rows[-1]["z"] < 0
    assert math.isfinite(rows[0]["delta"])


@pytest.mark.parametrize("prior", [0.01, 1.0])
def test_symmetric_groups_give_zero(prior):
    d, _, z = log_odds_dirichlet(np.array([3, 5]), np.array([3, 5]), np.array([prior, prior]))
    assert np.allclose(d, 0) and np.allclose(z, 0)


def test_counts_from_the_term_matrix_give_the_same_terms_as_the_texts():
    from ml.language import log_odds_for_texts, log_odds_from_counts, term_counts

    texts = ["The staff were kind and the staff listened", "Long wait, long wait in A&E", "kind staff",
             "Parking was expensive", "wait times too long", "staff kind, parking hard", "no parking at all"]
    matrix, vocabulary = term_counts(texts)
    assert matrix.shape == (len(texts), len(vocabulary)) and matrix[0, vocabulary.index("staff")] == 2
    inside = [0, 2, 5]
    outside = [i for i in range(len(texts)) if i not in inside]
    from_counts = log_odds_from_counts(vocabulary, matrix[inside].sum(axis=0).A1, matrix[outside].sum(axis=0).A1,
                                       min_count=2)
    assert from_counts == log_odds_for_texts([texts[i] for i in inside], [texts[i] for i in outside], min_count=2)
    assert from_counts[0]["term"] == "staff"
