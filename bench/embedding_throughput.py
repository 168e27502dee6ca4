"""Embedding throughput on the NHS responses: ml.embeddings vs plain SentenceTransformer.encode.

Usage: python bench/embedding_throughput.py [--threads N] [--rounds R] [--quantize | --float]
    [--backend auto|onnx|torch|VARIANT] [--cache-dir DIR]

Baseline: ``SentenceTransformer.encode(texts, batch_size=64)`` (float32 torch) on the same model files.
Ours: ``load_model()`` (the backend ``ml.embedding_choice`` measured fastest on this CPU, as the app's workers
use it) + ``embed_texts``. Both use the same thread count and are warmed up. Each round times the baseline
and ours on all texts, in alternating order (ABBA...) so drifting load on a shared machine hits both alike;
the ratio is the median of the per-round ratios, and the rates are from the median times. Ours counts only
if every vector of every round stays within cosine 0.99 of the baseline's (the minimum cosine is printed).

Last line: ours=N/s baseline=N/s ratio=R backend=VARIANT threads=T cpu="MODEL NAME"
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import NHS_DIR, cpu_name, load_coded
from ml import embedding_choice
from ml.embeddings import BACKENDS, OnnxEmbedder, default_cache_dir, embed_texts, load_model, model_variant

MIN_COSINE = 0.99


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds of each side (default 3)")
    q = ap.add_mutually_exclusive_group()
    q.add_argument("--quantize", dest="quantize", action="store_const", const=True, default=None,
                   help="force quantisation (onnx: 8-bit weights, the default; torch: dynamic int8, fails)")
    q.add_argument("--float", dest="quantize", action="store_const", const=False,
                   help="ours with float32 weights")
    ap.add_argument("--backend", choices=BACKENDS, default=None, help="ours' backend (default: load_model's)")
    ap.add_argument("--cache-dir", type=Path, default=None, help="ONNX export folder (default: load_model's)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    texts = load_coded(args.data).texts
    n = len(texts)
    print(f"{n} responses, {len(set(texts))} unique; threads={torch.get_num_threads()}", flush=True)

    baseline_model = load_model(backend="torch")
    t0 = time.perf_counter()
    ours_model = load_model(quantize=args.quantize, backend=args.backend, cache_dir=args.cache_dir,
                            threads=args.threads)
    t_load = time.perf_counter() - t0
    kind = model_variant(ours_model)
    where = f" from {ours_model.folder}" if isinstance(ours_model, OnnxEmbedder) else ""
    print(f"ours: {kind}{where} (load incl. any first-use measurement and export: {t_load:.1f}s)")
    for path in sorted((args.cache_dir or default_cache_dir()).glob("choice-*.json")):
        choice = embedding_choice.choice_read(path.parent, path.stem.removeprefix("choice-"))
        if choice is not None and choice.threads == args.threads and choice.cpu == cpu_name():
            print(f"measured choice ({path.name}): {choice.describe()}")
            for variant, seen in choice.candidates.items():
                print(f"  {variant}: {seen}")

    def run_base() -> np.ndarray:
        with torch.inference_mode():
            out = baseline_model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                        show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def run_ours() -> np.ndarray:
        return embed_texts(ours_model, texts, batch_size=64)

    warm = texts[:64]
    baseline_model.encode(warm, batch_size=64)
    embed_texts(ours_model, warm)

    t_base: list[float] = []
    t_ours: list[float] = []
    min_cos = 1.0
    mean_cos: list[float] = []
    for r in range(args.rounds):
        sides = [("base", run_base), ("ours", run_ours)]
        if r % 2:
            sides.reverse()
        vecs = {}
        for name, fn in sides:
            t0 = time.perf_counter()
            vecs[name] = fn()
            (t_base if name == "base" else t_ours).append(time.perf_counter() - t0)
        base = vecs["base"] / np.linalg.norm(vecs["base"], axis=1, keepdims=True)
        cos = (base * vecs["ours"]).sum(1)
        min_cos = min(min_cos, float(cos.min()))
        mean_cos.append(float(cos.mean()))
        print(f"round {r + 1}: baseline {t_base[-1]:.1f}s ours {t_ours[-1]:.1f}s "
              f"ratio {t_base[-1] / t_ours[-1]:.2f} min cosine {cos.min():.4f}", flush=True)

    ratio = statistics.median(b / o for b, o in zip(t_base, t_ours, strict=True))
    mb, mo = statistics.median(t_base), statistics.median(t_ours)
    print(f"baseline (SentenceTransformer.encode, batch 64, float32): median {mb:.1f}s")
    print(f"ours ({kind}; dedupe + token-length batches): median {mo:.1f}s")
    print(f"min cosine to baseline = {min_cos:.4f} (mean {statistics.mean(mean_cos):.4f}); "
          f"within {MIN_COSINE}: {min_cos >= MIN_COSINE}")
    print(f"ours={n / mo:.0f}/s baseline={n / mb:.0f}/s ratio={ratio:.2f} backend={kind} "
          f"threads={args.threads} cpu=\"{cpu_name()}\"")


if __name__ == "__main__":
    main()
