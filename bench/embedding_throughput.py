"""Embedding throughput on the NHS responses: ml.embeddings vs plain SentenceTransformer.encode.

Usage: python bench/embedding_throughput.py [--threads N] [--quantize]
Both sides use the same model files, the same torch thread count, and a warm-up call. Ours counts only if
every vector stays within cosine 0.99 of the baseline's (the minimum cosine is printed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import NHS_DIR, load_coded
from ml.embeddings import embed_texts, load_model


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=NHS_DIR / "coded_responses.csv")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--quantize", action="store_true",
                    help="ours with int8 dynamic quantisation (faster, but fails the 0.99 cosine check here)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    texts = load_coded(args.data).texts
    print(f"{len(texts)} responses, {len(set(texts))} unique; torch threads={torch.get_num_threads()}", flush=True)

    baseline_model = load_model()
    ours_model = load_model(quantize=args.quantize)
    warm = texts[:64]
    baseline_model.encode(warm, batch_size=64)
    embed_texts(ours_model, warm)

    t0 = time.perf_counter()
    base = baseline_model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = embed_texts(ours_model, texts, batch_size=64)
    t_ours = time.perf_counter() - t0

    base = base / np.linalg.norm(base, axis=1, keepdims=True)
    cos = (base * ours).sum(1)
    print(f"baseline (SentenceTransformer.encode, batch 64, float32): {t_base:.1f}s")
    print(f"ours (dedupe + length-sorted batches{' + int8 dynamic quantisation' if args.quantize else ''}): "
          f"{t_ours:.1f}s")
    print(f"min cosine to baseline = {cos.min():.4f} (mean {cos.mean():.4f}); within 0.99: {bool(cos.min() >= 0.99)}")
    r_ours, r_base = len(texts) / t_ours, len(texts) / t_base
    print(f"ours={r_ours:.0f}/s baseline={r_base:.0f}/s ratio={r_ours / r_base:.2f}")


if __name__ == "__main__":
    main()
