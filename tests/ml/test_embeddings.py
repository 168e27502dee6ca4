from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml.embeddings import (
    DIMENSION,
    EmbeddingModelNotFound,
    OnnxEmbedder,
    embed_texts,
    load_model,
    model_dimension,
    text_hash,
)

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


# --- backends -------------------------------------------------------------------------------------------------

onnx_only = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime not installed"
)


@pytest.fixture(scope="module")
def torch_model() -> Any:
    return load_model(backend="torch")


@onnx_only
def test_int8_onnx_is_close_to_torch(model: Any, torch_model: Any) -> None:
    assert isinstance(model, OnnxEmbedder) and model.meta["variant"] == "int8"
    texts = [*TEXTS, "Ok", "word " * 400]  # a very short text and one truncated at max_seq_length
    ref = torch_model.encode(texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    assert (embed_texts(model, texts) * ref).sum(1).min() > 0.99
    np.testing.assert_allclose(embed_texts(torch_model, texts), ref, atol=1e-5)


@onnx_only
def test_float_onnx_matches_torch(torch_model: Any) -> None:
    fp = load_model(quantize=False)
    assert isinstance(fp, OnnxEmbedder) and not fp.meta["quantize"]
    texts = [*TEXTS, "Ok", "word " * 400]
    ref = torch_model.encode(texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    assert (embed_texts(fp, texts) * ref).sum(1).min() > 0.9999


@onnx_only
def test_onnx_encode_is_sentence_transformers_like(model: Any) -> None:
    one = model.encode(TEXTS[0])
    many = model.encode(TEXTS, batch_size=2)
    assert one.shape == (DIMENSION,) and many.shape == (4, DIMENSION)
    np.testing.assert_allclose(one, many[0], atol=1e-5)
    assert model.encode([]).shape == (0, DIMENSION)


@onnx_only
def test_export_is_cached_in_cache_dir(tmp_path: Path) -> None:
    first = load_model(cache_dir=tmp_path, quantize=False)
    assert isinstance(first, OnnxEmbedder) and first.folder.parent == tmp_path
    assert {p.name for p in first.folder.iterdir()} == {"model.onnx", "tokenizer.json", "meta.json"}
    stamp = (first.folder / "model.onnx").stat().st_mtime_ns
    again = load_model(cache_dir=tmp_path, quantize=False, threads=1)
    assert again.folder == first.folder and (again.folder / "model.onnx").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.folder.name]  # no leftover temporary folder



@onnx_only
@pytest.mark.parametrize("damaged", ["model.onnx", "meta.json"])
def test_a_damaged_cached_export_is_exported_again(tmp_path: Path, damaged: str, caplog: Any) -> None:
    first = load_model(cache_dir=tmp_path, quantize=False, threads=1)
    expected = first.encode(["The wait was too long"])
    path = first.folder / damaged
    path.write_bytes(path.read_bytes()[:100])  # truncated on disk, as after a crash or a full disk
    with caplog.at_level("WARNING", logger="ml.embeddings"):
        again = load_model(cache_dir=tmp_path, quantize=False, threads=1)
    assert "cannot be opened" in caplog.text and str(first.folder) in caplog.text
    assert again.folder == first.folder
    np.testing.assert_allclose(again.encode(["The wait was too long"]), expected, atol=1e-6)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left aside

@onnx_only
def test_unwritable_cache_falls_back_to_torch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="ml.embeddings"):
        m = load_model(cache_dir=blocker / "cache")
    assert not isinstance(m, OnnxEmbedder) and "using torch" in caplog.text
    with pytest.raises(RuntimeError):
        load_model(cache_dir=blocker / "cache", backend="onnx")


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError):
        load_model(backend="tensorrt")


def test_torch_batches_follow_the_token_budget(torch_model: Any) -> None:
    """Long texts go in small PyTorch batches and short ones in large ones (TORCH_TOKENS_PER_BATCH), and every
    row still matches plain encode in the caller's order."""
    long_texts = [f"answer {i} " + "word " * 300 for i in range(40)]  # truncated at max_seq_length (256)
    short_texts = [f"Ok {i}" for i in range(200)]
    texts = [t for pair in zip(short_texts[:40], long_texts, strict=True) for t in pair] + short_texts[40:]
    calls: list[int] = []
    X = embed_texts(torch_model, texts, batch_size=64, progress=lambda done, total: calls.append(done))
    # 4,096 tokens // 256 = 16 long texts, raised to half of 64; short texts reach twice 64.
    assert calls == [32, 64, 192, 240]
    ref = torch_model.encode(texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    np.testing.assert_allclose(X, ref, atol=1e-5)
