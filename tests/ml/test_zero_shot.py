"""ml.zero_shot: probabilities from cosine similarity, the suggestion rule, and the hand-over to the trained model."""

from __future__ import annotations

import numpy as np
import pytest

from ml.zero_shot import PRIOR, TEMPERATURE, blend, theme_text, zero_shot_labels, zero_shot_proba


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_proba_follows_the_cosine_gap_to_the_best_theme() -> None:
    rng = np.random.default_rng(0)
    X, T = _unit(rng.normal(size=(20, 16))), _unit(rng.normal(size=(5, 16)))
    Z = zero_shot_proba(X, T)
    S = X @ T.T
    assert Z.shape == (20, 5) and ((Z > 0) & (Z < 1)).all()
    np.testing.assert_array_equal(Z.argmax(1), S.argmax(1))
    np.testing.assert_allclose(Z.max(1), PRIOR)  # the best match gets the prior
    gap = S - S.max(1, keepdims=True)
    logit = np.log(Z / (1 - Z))
    np.testing.assert_allclose(logit, gap / TEMPERATURE + np.log(PRIOR / (1 - PRIOR)), atol=1e-9)
    with pytest.raises(ValueError):
        zero_shot_proba(X, T, prior=1.0)


def test_labels_are_the_top_theme_plus_those_within_the_margin() -> None:
    X = _unit(np.array([[1.0, 0.0, 0.0]]))
    T = _unit(np.array([[1.0, 0.0, 0.0], [0.99, 0.14, 0.0], [0.0, 1.0, 0.0]]))
    S = (X @ T.T)[0]
    Z = zero_shot_proba(X, T)
    np.testing.assert_array_equal(zero_shot_labels(Z, margin=0.0)[0], [True, False, False])
    gap = S[0] - S[1]
    np.testing.assert_array_equal(zero_shot_labels(Z, margin=gap + 1e-3)[0], [True, True, False])
    assert zero_shot_labels(zero_shot_proba(_unit(np.random.default_rng(1).normal(size=(30, 8))),
                                            _unit(np.random.default_rng(2).normal(size=(4, 8))))).any(1).all()


def test_suggestions_find_the_theme_an_answer_was_made_from() -> None:
    # answers are noisy copies of one theme's vector: the zero-shot top suggestion should mostly be that theme
    rng = np.random.default_rng(3)
    T = _unit(rng.normal(size=(10, 64)))
    truth = rng.integers(0, 10, 300)
    X = _unit(T[truth] + 0.9 * rng.normal(size=(300, 64)) / 8)
    top = zero_shot_proba(X, T).argmax(1)
    assert (top == truth).mean() > 0.8


def test_blend_fades_from_zero_shot_to_trained() -> None:
    zero, trained = np.full((2, 3), 0.2), np.full((2, 3), 0.8)
    np.testing.assert_allclose(blend(zero, trained, 0, half_life=25), zero)
    np.testing.assert_allclose(blend(zero, trained, 25, half_life=25), 0.5)
    np.testing.assert_allclose(blend(zero, trained, 75, half_life=25), 0.2 + 0.75 * 0.6)
    np.testing.assert_allclose(blend(zero, trained, 10, half_life=0), trained)
    with pytest.raises(ValueError):
        blend(zero, trained[:, :2], 10)


def test_theme_text_puts_name_and_description_in_the_template() -> None:
    assert theme_text("Staff attitude") == "Someone talking about staff attitude."
    assert theme_text("Waiting.", "Time before being seen") == "Someone talking about waiting. Time before being seen."
