from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ml.embeddings import DIMENSION, EmbeddingModelNotFound, embed_texts, load_model, model_dimension, text_hash

TEXTS = [
    "The nurses were kind and caring.",
    "Waited four hours in A&E before anyone saw me.",
    "The staff were lovely and very caring.",
    "Parking at the hospital is far too expensive.",
]


def test_vectors_are_normalised_float32(model: Any) -> None:
    X = embed_texts(model, TEXTS, batch_size=2)
    assert X.shape == (4, DIMENSION) == (4, model_dimension(model))
    assert X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)


def test_similar_texts_are_closer_than_unrelated(model: Any) -> None:
    X = embed_texts(model, TEXTS)
    assert X[0] @ X[2] > X[0] @ X[1]
    assert X[0] @ X[2] > X[0] @ X[3]


def test_identical_texts_embedded_once(model: Any) -> None:
    calls: list[tuple[int, int]] = []
    texts = TEXTS + TEXTS[:2] + [TEXTS[0]] * 5
    X = embed_texts(model, texts, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (len(set(texts)), len(set(texts)))
    assert all(t == 4 for _, t in calls) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    np.testing.assert_array_equal(X[4], X[0])
    np.testing.assert_array_equal(X[-1], X[0])
    # order-independence: the same text gets the same vector whatever batch it lands in
    np.testing.assert_allclose(embed_texts(model, [TEXTS[1]])[0], X[1], atol=1e-5)


def test_empty_input(model: Any) -> None:
    assert embed_texts(model, []).shape == (0, DIMENSION)


def test_missing_model_gives_clear_error(tmp_path: Any) -> None:
    with pytest.raises(EmbeddingModelNotFound):
        load_model(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbeddingModelNotFound):
        load_model("some-org/definitely-not-downloaded-model")


def test_empty_directory_is_not_a_model(tmp_path: Any) -> None:
    with pytest.raises(EmbeddingModelNotFound):
        load_model(str(tmp_path))


def test_text_hash_is_stable_and_distinct() -> None:
    assert text_hash("abc") == text_hash("abc")
    assert text_hash("abc") != text_hash("abd")
    assert len(text_hash("")) == 64
