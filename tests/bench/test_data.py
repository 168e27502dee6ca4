"""bench/_data.py: the embedding cache must not mix arrays from different backends or weights."""
from __future__ import annotations

from typing import Any

from bench._data import embedding_cache_key, embedding_variant
from ml.embeddings import OnnxEmbedder, _Bf16Model


def _onnx(quantize: bool) -> Any:
    model = OnnxEmbedder.__new__(OnnxEmbedder)  # no export: only the metadata matters to the key
    model.meta = {"quantize": quantize, "format": 1}
    return model


class _Torch:
    def __init__(self, module_names: list[str]) -> None:
        self._mods = [type("Linear", (), {"__module__": name})() for name in module_names]

    def modules(self) -> list[Any]:
        return self._mods


def test_cache_key_includes_backend_and_quantisation() -> None:
    texts = ["The nurses were kind.", "Parking was expensive."]
    int8, fp32 = _onnx(True), _onnx(False)
    torch_fp32 = _Torch(["torch.nn.modules.linear"])
    torch_int8 = _Torch(["torch.ao.nn.quantized.dynamic.modules.linear"])
    assert embedding_variant(int8) == "onnx-int8-format1" and embedding_variant(fp32) == "onnx-fp32-format1"
    assert embedding_variant(torch_fp32).endswith("-fp32") and embedding_variant(torch_int8).endswith("-int8")
    bf16 = _Bf16Model(torch_fp32)  # same weights, bfloat16 arithmetic: other vectors
    assert embedding_variant(bf16) == "torch-bf16"
    keys = {embedding_cache_key(m, "all-MiniLM-L6-v2", texts) for m in (int8, fp32, torch_fp32, torch_int8, bf16)}
    assert len(keys) == 5
    assert embedding_cache_key(int8, "all-MiniLM-L6-v2", texts) == embedding_cache_key(
        _onnx(True), "all-MiniLM-L6-v2", texts)
    assert embedding_cache_key(int8, "all-MiniLM-L6-v2", texts) != embedding_cache_key(
        int8, "all-MiniLM-L6-v2", texts[:1])
