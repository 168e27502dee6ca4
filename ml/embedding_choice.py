"""Which embedding backend is fastest on this CPU: measured once, at first use, and cached.

The fast path depends on the processor: ONNX Runtime's 8-bit kernels win on an AMD EPYC, PyTorch's bfloat16
(AMX) on an Intel Xeon that has it. So :func:`backend_choose` measures every candidate of :data:`VARIANTS` on a
fixed probe set against plain float32 ``SentenceTransformer.encode`` (which is itself a candidate, so the
choice is never slower than it), drops any whose vectors leave cosine :data:`MIN_COSINE` of plain encode, and
keeps the fastest. The measurement runs in a child process (``python -m ml.embedding_choice``): it needs
PyTorch, which a worker that ends up on ONNX Runtime never imports. The result is a JSON file in the export
cache folder whose name is a key of everything the timing depends on (CPU model and flags, usable cores,
threads, model files, library versions); a file lock makes processes starting together measure once.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: Candidates, fastest-first is decided by measurement. ``torch-fp32`` is plain encode (the reference).
VARIANTS = ("onnx-int8", "onnx-fp32", "onnx-qint8", "torch-bf16", "torch-fp32")
#: A candidate whose vectors leave this cosine of plain encode on the probe texts is not used.
MIN_COSINE = 0.99
#: Bump when the measurement changes, so choices made the old way are measured again.
CHOICE_FORMAT = 1
#: Timed rounds per candidate (interleaved; the median counts).
ROUNDS = 3
#: Upper bound on the child's measurement (exports included).
MEASURE_TIMEOUT_SECONDS = 900

_FRAGMENTS = (
    "The staff were kind and caring", "I waited nearly four hours to be seen", "nobody told us why",
    "parking is far too expensive", "the ward was clean and quiet", "the doctor explained everything clearly",
    "my appointment was cancelled twice", "the food was cold", "reception staff were rude on the phone",
    "I could not get through to book", "excellent care from start to finish", "the app keeps crashing",
    "too expensive for what you get", "I found a cheaper plan elsewhere", "customer service never replied",
    "the nurses went above and beyond", "Ok", "more staff are needed at night", "the signs were confusing",
    "I felt listened to", "the waiting room was overcrowded and hot", "thank you all",
    "my mother was treated with dignity and respect", "the results took weeks to arrive",
    "I was discharged without any medication", "please improve communication between departments",
    "the toilets were dirty", "lovely friendly team", "I did not use it enough to justify the cost",
    "the new update removed features I relied on", "billing was wrong three months in a row",
)


def probe_texts(n: int = 256, seed: int = 0) -> list[str]:
    """A fixed set of survey-like texts (1 to 8 fragments each, some long) on which candidates are timed."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = int(rng.integers(1, 9)) if i % 16 else int(rng.integers(12, 30))  # a few long answers
        parts = [_FRAGMENTS[j] for j in rng.integers(0, len(_FRAGMENTS), size=k)]
        out.append(", ".join(parts) + f". ({i})")
    return out


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform module says."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_signature() -> dict[str, Any]:
    """The processor as the timing sees it: model name, instruction-set flags and the cores this process may use."""
    flags = ""
    with contextlib.suppress(OSError):
        flags = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), "")
    name = cpu_name()
    try:
        cores = len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return {"cpu": name, "flags": hashlib.sha256(flags.encode()).hexdigest()[:16], "cores": cores,
            "bf16": any(f in flags.split() for f in ("amx_bf16", "avx512_bf16"))}


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def choice_key(model_fingerprint: str, threads: int) -> str:
    """The cache key of a choice: CPU signature, threads, the model's files and the libraries that run it."""
    parts = [CHOICE_FORMAT, cpu_signature(), threads, model_fingerprint,
             *(_version(p) for p in ("onnxruntime", "torch", "sentence-transformers"))]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


@dataclass
class Choice:
    """A measured choice: the backend variant to use and what each candidate did on the probe texts."""

    variant: str
    cpu: str
    threads: int
    #: variant -> {"rate": texts/s, "min_cosine": ..., "error": why it was not usable (or absent)}
    candidates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: the chosen variant and its speed against plain encode."""
        rate = self.candidates.get(self.variant, {}).get("rate")
        base = self.candidates.get("torch-fp32", {}).get("rate")
        ratio = f" ({rate / base:.2f}x plain encode on the probe)" if rate and base else ""
        return f"{self.variant}{ratio} on {self.cpu}, {self.threads} thread(s)"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def choice_read(folder: Path, key: str) -> Choice | None:
    """The cached choice under ``key`` in ``folder``, or None (absent or unreadable)."""
    try:
        data = json.loads((folder / f"choice-{key}.json").read_text(encoding="utf-8"))
        return Choice(**data)
    except (OSError, ValueError, TypeError):
        return None


def backend_choose(local: str, *, model_fingerprint: str, threads: int, cache_dir: Path) -> Choice:
    """The cached choice for this CPU, model and thread count; measured first (in a child process) when absent.

    Raises RuntimeError when the measurement fails (the caller falls back to a fixed backend).
    """
    key = choice_key(model_fingerprint, threads)
    cached = choice_read(cache_dir, key)
    if cached is not None:
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / ".choice.lock"):
        cached = choice_read(cache_dir, key)  # another process measured while this one waited
        if cached is not None:
            return cached
        out = cache_dir / f"choice-{key}.json"
        logger.info("measuring embedding backends on this CPU (once; about a minute)")
        cmd = [sys.executable, "-m", "ml.embedding_choice", local, "--threads", str(threads),
               "--cache-dir", str(cache_dir), "--out", str(out)]
        from ml.embeddings import child_env

        done = subprocess.run(cmd, capture_output=True, text=True, timeout=MEASURE_TIMEOUT_SECONDS, env=child_env())
        chosen = choice_read(cache_dir, key)
        if done.returncode != 0 or chosen is None:
            raise RuntimeError(f"embedding backend measurement failed: {done.stderr.strip()[-800:]}")
    logger.info("embedding backend chosen: %s", chosen.describe())
    return chosen


def _timed_rounds(runs: dict[str, Callable[[], np.ndarray]], rounds: int) -> dict[str, float]:
    """Median seconds of each run over interleaved rounds (order reversed every other round)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def backends_measure(local: str, *, threads: int, cache_dir: Path, rounds: int = ROUNDS) -> Choice:
    """Time every candidate on :func:`probe_texts` and pick the fastest within :data:`MIN_COSINE` of plain encode.

    Imports PyTorch: run it in a child process (:func:`backend_choose` does).
    """
    import torch

    from ml import embeddings as emb

    torch.set_num_threads(threads)
    texts = probe_texts()
    loaded: dict[str, Any] = {}
    candidates: dict[str, dict[str, Any]] = {}
    bf16 = cpu_signature()["bf16"]
    for variant in VARIANTS:
        if variant == "torch-bf16" and not bf16:
            candidates[variant] = {"error": "no bfloat16 instructions on this CPU"}
            continue
        try:
            loaded[variant] = emb.load_model(local, backend=variant, cache_dir=cache_dir, threads=threads)
        except Exception as exc:  # an export that fails its own check (dynamic int8) is simply not a candidate
            candidates[variant] = {"error": str(exc)[:300]}
    ref = emb.embed_texts(loaded["torch-fp32"], texts)
    runs: dict[str, Callable[[], np.ndarray]] = {}
    for variant, model in loaded.items():
        vecs = emb.embed_texts(model, texts)  # also the warm-up
        cos = float((vecs * ref).sum(1).min())
        candidates[variant] = {"min_cosine": round(cos, 5)}
        if cos < MIN_COSINE:
            candidates[variant]["error"] = f"min cosine {cos:.4f} < {MIN_COSINE}"
        else:
            runs[variant] = functools.partial(emb.embed_texts, model, texts)
    for variant, seconds in _timed_rounds(runs, rounds).items():
        candidates[variant]["rate"] = round(len(texts) / seconds, 1)
    usable = {v: c["rate"] for v, c in candidates.items() if "rate" in c}
    best = max(usable, key=lambda v: usable[v])
    return Choice(variant=best, cpu=str(cpu_signature()["cpu"]), threads=threads, candidates=candidates)


def main(argv: list[str] | None = None) -> None:
    """Child-process entry: measure and write the choice file atomically."""
    ap = argparse.ArgumentParser(description="Measure embedding backends on this CPU and write the choice.")
    ap.add_argument("model", help="local model folder")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--cache-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    choice = backends_measure(args.model, threads=args.threads, cache_dir=args.cache_dir)
    tmp = args.out.with_name(f".{args.out.name}.{os.getpid()}")
    tmp.write_text(json.dumps(asdict(choice), indent=1), encoding="utf-8")
    tmp.rename(args.out)


if __name__ == "__main__":
    main()
