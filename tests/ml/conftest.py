"""Fixtures for the ml/ tests: the embedding model and a small embedded NHS sample, loaded once per session."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

NHS_DIR = Path(__file__).resolve().parents[2].parent / "shared/data/nhs_fft"


@pytest.fixture(scope="session")
def model() -> Any:
    from ml.embeddings import load_model

    return load_model(backend="onnx-int8")  # pinned: the same vectors on every CPU (see tests/conftest.py)


@pytest.fixture(scope="session")
def nhs_sample(model: Any) -> dict[str, Any]:
    """800 NHS respondents (seeded sample): texts, embeddings, theme names and bool label matrix."""
    path = NHS_DIR / "coded_responses.csv"
    if not path.exists():
        pytest.skip("NHS FFT data not available")
    from ml.embeddings import embed_texts

    texts: dict[str, str] = {}
    themes: dict[str, set[str]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            texts.setdefault(row["respondent_id"], row["response"])
            themes.setdefault(row["respondent_id"], set()).add(row["theme"])
    ids = sorted(texts)
    pick = sorted(np.random.default_rng(0).choice(len(ids), 800, replace=False))
    ids = [ids[i] for i in pick]
    names = sorted({t for r in ids for t in themes[r]})
    Y = np.array([[t in themes[r] for t in names] for r in ids], dtype=bool)
    txt = [texts[r] for r in ids]
    return {"texts": txt, "X": embed_texts(model, txt), "Y": Y, "themes": names}
