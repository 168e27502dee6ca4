"""A project's embeddings as one memory-mapped float32 matrix in the media store, rebuilt only when they change.

Reading every ResponseEmbedding blob per request costs about 150 MB at 100,000 responses. The store keeps, per
project and embedding model, in ``MEDIA_ROOT/embeddings/project-<id>/<model>/``:

- ``<key>.vectors.npy``: the (n, d) float32 matrix, rows in response id order, opened with ``mmap_mode="r"``
  (the operating system's page cache is shared by every process of the machine);
- ``<key>.index.npz``: the response ids (int64, ascending) and the row norms (float32), written last.

``key`` is a fingerprint of the rows the files hold (their count, the sum of their response ids and the
latest ``created_at``, which every upsert of an embedding moves). A reader asks the database for the same
fingerprint in one aggregate query and uses the files of that key, or rebuilds them: nothing on the write side
has to know about the store. Every file is written to a temporary name and moved into place with
``os.replace``, so two processes rebuilding at once each move complete files, and a reader never sees half a
file. Files of older keys are removed after a rebuild; a reader that still has them mapped keeps its mapping.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import Count, Max, Sum

from labeling_app.modeling.models import ResponseEmbedding

logger = logging.getLogger(__name__)
CHUNK = 5000  # rows per database fetch while rebuilding: memory stays flat as projects grow


@dataclass(frozen=True)
class EmbeddingStore:
    """One project's embeddings for one model, as stored: read-only arrays."""

    key: str
    ids: np.ndarray  # (n,) int64 response ids, ascending
    vectors: np.ndarray  # (n, d) float32, a read-only memory map (or an empty array)
    norms: np.ndarray  # (n,) float32 Euclidean norm of each row

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, response_ids: Iterable[int]) -> np.ndarray:
        """Row of each given response id in ``vectors`` (int64), -1 where the response has no embedding."""
        wanted = np.fromiter((int(r) for r in response_ids), dtype=np.int64)
        if not len(self.ids) or not len(wanted):
            return np.full(len(wanted), -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos = np.minimum(pos, len(self.ids) - 1)
        return np.where(self.ids[pos] == wanted, pos, -1).astype(np.int64)


def _fingerprint(count: int, id_sum: int | None, latest: datetime | None) -> str:
    raw = f"{count}:{id_sum or 0}:{latest.isoformat() if latest else '-'}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def embedding_store_fingerprint(*, project_id: int, model_name: str) -> str:
    """The key the store's files must have to match the database (one aggregate query)."""
    agg = ResponseEmbedding.objects.filter(response__project_id=project_id, model_name=model_name).aggregate(
        n=Count("response_id"), s=Sum("response_id"), t=Max("created_at"))
    return _fingerprint(agg["n"], agg["s"], agg["t"])


def embedding_store_folder(project_id: int, model_name: str) -> Path:
    """Where the files of a project's embeddings for a model live (model names may hold '/' or spaces)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", model_name).strip("-.")[:60] or "model"
    digest = hashlib.sha256(model_name.encode()).hexdigest()[:8]
    return Path(settings.MEDIA_ROOT) / "embeddings" / f"project-{project_id}" / f"{slug}-{digest}"


# One open store per folder and process: a repeated request costs the fingerprint query and nothing else.
_opened: dict[Path, EmbeddingStore] = {}
_opened_lock = threading.Lock()


def embedding_store_load(*, project_id: int, model_name: str) -> EmbeddingStore:
    """The project's embeddings for the model, from the store files, rebuilt first when the database moved on."""
    folder = embedding_store_folder(project_id, model_name)
    key = embedding_store_fingerprint(project_id=project_id, model_name=model_name)
    cached = _opened.get(folder)
    if cached is not None and cached.key == key:
        return cached
    store = _open(folder, key)
    if store is None:
        store = _rebuild(folder, project_id, model_name)
        if store.key != key:
            # Embeddings were written while we read them: the files hold what we read, labelled as such.
            logger.info("embeddings of project %s changed during a store rebuild", project_id)
    with _opened_lock:
        _opened[folder] = store
    return store


def _open(folder: Path, key: str) -> EmbeddingStore | None:
    try:
        with np.load(folder / f"{key}.index.npz") as index:
            ids, norms = index["ids"], index["norms"]
        vectors = (np.load(folder / f"{key}.vectors.npy", mmap_mode="r") if len(ids)
                   else np.zeros((0, 0), dtype=np.float32))
    except FileNotFoundError:  # not built yet, or removed by a newer rebuild in another process
        return None
    except (ValueError, OSError, KeyError) as exc:  # unreadable: rebuilt from the database, which is the truth
        logger.warning("embedding store %s/%s unreadable (%s): rebuilding", folder, key, exc)
        return None
    if vectors.shape[0] != len(ids) or len(norms) != len(ids):
        logger.warning("embedding store %s/%s inconsistent: rebuilding", folder, key)
        return None
    return EmbeddingStore(key, ids, vectors, norms)


def _rows(project_id: int, model_name: str) -> Iterator[tuple[int, bytes | memoryview, datetime]]:
    rows = ResponseEmbedding.objects.filter(response__project_id=project_id, model_name=model_name)
    yield from rows.order_by("response_id").values_list("response_id", "vector", "created_at").iterator(
        chunk_size=CHUNK)


def _rebuild(folder: Path, project_id: int, model_name: str) -> EmbeddingStore:
    def chunks() -> Iterator[tuple[list[int], list[bytes], list[datetime]]]:
        ids: list[int] = []
        blobs: list[bytes] = []
        stamps: list[datetime] = []
        for pk, blob, stamp in _rows(project_id, model_name):
            ids.append(pk)
            blobs.append(bytes(blob))
            stamps.append(stamp)
            if len(ids) == CHUNK:
                yield ids, blobs, stamps
                ids, blobs, stamps = [], [], []
        if ids:
            yield ids, blobs, stamps

    key = embedding_store_write(folder, chunks())
    store = _open(folder, key)
    if store is None:  # removed at once by a concurrent newer rebuild: that one is the newer truth anyway
        return embedding_store_load(project_id=project_id, model_name=model_name)
    return store


def embedding_store_write(folder: Path, chunks: Iterable[tuple[list[int], list[bytes], list[datetime]]]) -> str:
    """Write a store from chunks of (response ids ascending, float32 vector bytes, created_at); returns its key.

    The vectors are streamed to a temporary file, so memory holds one chunk; the final files appear whole
    or not at all (temporary name, then ``os.replace``), the index last, since readers look for it first.
    """
    folder.mkdir(parents=True, exist_ok=True)
    count, id_sum, latest, width = 0, 0, None, -1
    ids_parts: list[np.ndarray] = []
    norm_parts: list[np.ndarray] = []
    raw_fd, raw_name = tempfile.mkstemp(dir=folder, prefix=".raw-")
    try:
        with os.fdopen(raw_fd, "wb") as raw:
            for ids, blobs, stamps in chunks:
                sizes = {len(b) for b in blobs} | ({width} if width >= 0 else set())
                if len(sizes) != 1 or min(sizes) == 0 or min(sizes) % 4:
                    raise ValueError(f"embeddings in {folder} have different or broken sizes: {sorted(sizes)}")
                width = len(blobs[0])
                block = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
                raw.write(block.tobytes())
                ids_parts.append(np.asarray(ids, dtype=np.int64))
                norm_parts.append(np.linalg.norm(block, axis=-1).astype(np.float32))
                count += len(ids)
                id_sum += int(sum(ids))
                newest = max(stamps)
                latest = newest if latest is None or newest > latest else latest
        key = _fingerprint(count, id_sum, latest)
        all_ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, dtype=np.int64)
        norms = np.concatenate(norm_parts) if norm_parts else np.zeros(0, dtype=np.float32)
        if len(all_ids) > 1 and not np.all(all_ids[1:] > all_ids[:-1]):
            raise ValueError("embedding rows must come in ascending response id order")
        dims = width // 4 if width > 0 else 0
        _write_npy_from_raw(folder / f"{key}.vectors.npy", raw_name, (count, dims))
        _write_atomic(folder / f"{key}.index.npz", lambda fh: np.savez(fh, ids=all_ids, norms=norms))
    finally:
        if os.path.exists(raw_name):
            os.unlink(raw_name)
    _remove_other_keys(folder, key)
    return key


def _write_atomic(path: Path, write) -> None:  # type: ignore[no-untyped-def]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_npy_from_raw(path: Path, raw_name: str, shape: tuple[int, int]) -> None:
    def write(fh) -> None:  # type: ignore[no-untyped-def]
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                  "shape": shape}
        np.lib.format.write_array_header_1_0(fh, header)
        with open(raw_name, "rb") as raw:
            while block := raw.read(1 << 22):
                fh.write(block)

    _write_atomic(path, write)


def _remove_other_keys(folder: Path, key: str) -> None:
    for path in folder.iterdir():
        if not path.name.startswith((key, ".")):
            path.unlink(missing_ok=True)  # another process may have cleaned up first

