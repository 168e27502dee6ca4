"""Shared helpers for the benchmarks: load a coded file, split it, embed it with an on-disk cache."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
NHS_DIR = REPO_ROOT.parent / "shared/data/nhs_fft"
CACHE_DIR = REPO_ROOT / "bench/.cache"


@dataclass
class CodedData:
    """Wide view of a long-format coded file: one row per respondent."""

    ids: list[str]
    texts: list[str]
    themes: list[str]
    Y: np.ndarray  # (n, k) bool


def load_coded(path: Path) -> CodedData:
    """Read ``respondent_id,response,theme,...`` rows (one per respondent-theme pair) into a label matrix."""
    texts: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rid = row["respondent_id"]
            texts.setdefault(rid, row["response"])
            if row.get("theme"):
                pairs.append((rid, row["theme"]))
    ids = list(texts)
    themes = sorted({t for _, t in pairs})
    pos = {r: i for i, r in enumerate(ids)}
    tpos = {t: j for j, t in enumerate(themes)}
    Y = np.zeros((len(ids), len(themes)), dtype=bool)
    for rid, theme in pairs:
        Y[pos[rid], tpos[theme]] = True
    return CodedData(ids, [texts[r] for r in ids], themes, Y)


def load_metadata(path: Path, ids: list[str], columns: list[str]) -> dict[str, list[str]]:
    """Each respondent's value of each metadata ``column`` (its first row's), in the order of ``ids``; "" if absent."""
    first: dict[str, dict[str, str]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            first.setdefault(row["respondent_id"], row)
    return {c: [first.get(r, {}).get(c) or "" for r in ids] for c in columns}


def metadata_features(path: Path, ids: list[str], columns: list[str]) -> np.ndarray | None:
    """One-hot (``ml.classifier.one_hot``) of the given metadata columns side by side, or None for no columns."""
    from ml.classifier import one_hot

    if not columns:
        return None
    meta = load_metadata(path, ids, columns)
    return np.hstack([one_hot(meta[c])[0] for c in columns])


def load_split(data: CodedData, split_path: Path | None, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return (pool_idx, test_idx): from a ``respondent_id,split`` file, else a seeded 80/20 split."""
    if split_path is not None:
        with open(split_path, newline="", encoding="utf-8") as fh:
            split = {r["respondent_id"]: r["split"] for r in csv.DictReader(fh)}
        pool = np.array([i for i, r in enumerate(data.ids) if split.get(r) == "pool"])
        test = np.array([i for i, r in enumerate(data.ids) if split.get(r) == "test"])
        return pool, test
    perm = np.random.default_rng(seed).permutation(len(data.ids))
    cut = round(0.8 * len(perm))
    return np.sort(perm[:cut]), np.sort(perm[cut:])


def embedding_variant(model: object) -> str:
    """Which computation gives ``model``'s vectors: backend and weights, e.g. ``"onnx-int8"``, ``"torch-fp32"``.

    int8 ONNX vectors differ from float32 ones (cosine down to 0.997), and torch dynamic int8 far more, so
    cached arrays must not be shared between variants.
    """
    from ml.embeddings import OnnxEmbedder, model_variant

    fmt = f"-format{model.meta.get('format')}" if isinstance(model, OnnxEmbedder) else ""
    return model_variant(model) + fmt


def embedding_cache_key(model: object, model_id: str, texts: list[str]) -> str:
    """Cache key of an embedding array: the model id, its variant (:func:`embedding_variant`) and the texts."""
    key = hashlib.sha256(f"{model_id}|{embedding_variant(model)}".encode())
    for t in texts:
        key.update(hashlib.sha256(t.encode()).digest())
    return key.hexdigest()[:24]


def cached_embeddings(model: object, model_id: str, texts: list[str]) -> np.ndarray:
    """Embed ``texts`` with ``ml.embeddings.embed_texts``, caching the array under ``bench/.cache/``."""
    from ml.embeddings import embed_texts

    path = CACHE_DIR / f"emb_{embedding_cache_key(model, model_id, texts)}.npy"
    if path.exists():
        return np.load(path)
    X = embed_texts(model, texts)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, X)
    return X


def cpu_name() -> str:
    """The CPU's model name (every timing names the CPU it ran on): ml.embedding_choice's, which keys the choice."""
    from ml.embedding_choice import cpu_name as name

    return name()


def split_for(data: Path, split: Path | None) -> Path | None:
    """The split file a benchmark uses: the one given, else the NHS data's fixed pool/test split for the NHS file
    (None: the benchmark draws a seeded split itself)."""
    if split is None and data == NHS_DIR / "coded_responses.csv" and (NHS_DIR / "split.csv").exists():
        return NHS_DIR / "split.csv"
    return split
