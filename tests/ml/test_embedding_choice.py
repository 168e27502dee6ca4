"""The embedding backend measured at first use: fastest within cosine 0.99 of plain encode, cached per CPU."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml import embedding_choice
from ml.embeddings import VARIANTS, OnnxEmbedder, _fingerprint, default_model_path, embed_texts, load_model

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["The nurses were kind and caring.", "Waited four hours in A&E before anyone saw me.", "Ok",
         "Parking at the hospital is far too expensive and the machines never take cards."]


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, embedding_choice.Choice]:
    cache = tmp_path_factory.mktemp("embedding-cache")
    local = default_model_path()
    choice = embedding_choice.backend_choose(local, model_fingerprint=_fingerprint(local, "choice"), threads=1,
                                             cache_dir=cache)
    return cache, choice


def test_every_candidate_is_measured_and_the_fastest_close_one_is_chosen(measured: Any) -> None:
    cache, choice = measured
    assert set(choice.candidates) == set(VARIANTS) and choice.threads == 1
    usable = {v: c["rate"] for v, c in choice.candidates.items() if "rate" in c}
    assert "torch-fp32" in usable  # plain encode is always a candidate: the choice is never slower than it
    assert choice.variant == max(usable, key=lambda v: usable[v])
    for seen in choice.candidates.values():
        if "rate" in seen:
            assert seen["min_cosine"] >= embedding_choice.MIN_COSINE and "error" not in seen
        else:
            assert seen["error"]  # says why it was not used (no bf16 instructions, cosine too low, ...)
    files = list(cache.glob("choice-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["variant"] == choice.variant


def test_the_choice_is_read_from_the_cache_not_measured_again(measured: Any) -> None:
    cache, choice = measured
    [path] = cache.glob("choice-*.json")
    data = json.loads(path.read_text())
    other = next(v for v in ("onnx-fp32", "onnx-int8") if v != choice.variant)
    path.write_text(json.dumps({**data, "variant": other}))  # what a measurement would never write for this run
    try:
        model = load_model(backend="auto", cache_dir=cache, threads=1)
        assert isinstance(model, OnnxEmbedder) and model.meta["variant"] == other.removeprefix("onnx-")
    finally:
        path.write_text(json.dumps(data))


def test_the_key_changes_with_what_the_timing_depends_on(monkeypatch: pytest.MonkeyPatch) -> None:
    key = embedding_choice.choice_key("model-a", 1)
    assert key == embedding_choice.choice_key("model-a", 1)
    assert key != embedding_choice.choice_key("model-a", 2) != embedding_choice.choice_key("model-b", 1)
    real = embedding_choice.cpu_signature()
    monkeypatch.setattr(embedding_choice, "cpu_signature", lambda: {**real, "cpu": "AMD EPYC 9B14"})
    assert embedding_choice.choice_key("model-a", 1) != key


def test_the_chosen_model_embeds_close_to_plain_encode(measured: Any) -> None:
    cache, _ = measured
    model = load_model(backend="auto", cache_dir=cache, threads=1)
    plain = load_model(backend="torch-fp32", threads=1)
    texts = [*TEXTS, "word " * 400]
    cos = (embed_texts(model, texts) * embed_texts(plain, texts)).sum(1)
    assert cos.min() >= embedding_choice.MIN_COSINE
    np.testing.assert_allclose(np.linalg.norm(embed_texts(model, texts), axis=1), 1.0, atol=1e-5)


def test_an_onnx_process_never_imports_torch(measured: Any) -> None:
    cache, _ = measured
    code = (
        "import sys\n"
        "from ml.embeddings import embed_texts, load_model\n"
        f"m = load_model(backend='onnx-int8', cache_dir={str(cache)!r}, threads=1)\n"
        "assert embed_texts(m, ['The wait was too long']).shape == (1, 384)\n"
        "print(sorted(k for k in ('torch', 'sentence_transformers', 'transformers') if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_probe_texts_are_fixed_and_varied() -> None:
    texts = embedding_choice.probe_texts()
    assert texts == embedding_choice.probe_texts() and len(set(texts)) == len(texts) == 256
    lengths = sorted(len(t.split()) for t in texts)
    assert lengths[0] <= 8 and lengths[-1] >= 60  # short and long answers both timed
