"""bench/scale.py at a small size (CI): it imports, embeds with 1 and 2 real workers, retrains and queries, and
prints its figures in the agreed last line."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


def test_the_scale_bench_runs_at_a_small_size_and_prints_its_last_line(tmp_path):
    if not (ROOT.parent / "shared" / "data" / "nhs_fft" / "coded_responses.csv").is_file():
        pytest.skip("../shared/data/nhs_fft is not present")
    env = {**os.environ, "BENCH_DATABASE_URL": f"sqlite:///{tmp_path / 'scale.sqlite3'}"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "bench/scale.py", "--size", "600", "--labelled", "200", "--timeout", "600"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    number = r"(\d+(?:\.\d+)?)"
    match = re.fullmatch(rf"import_s={number} embed_1w_s={number} embed_2w_s={number} speedup={number} "
                         rf"retrain_s={number} similar_ms={number} peak_mb={number} worker_mb={number} backend=(\S+)", last)
    assert match, last
    assert match.group(9) == os.environ["EMBEDDING_BACKEND"]  # the variant the workers embedded with (tests pin it)
    import_s, embed_1w, embed_2w, speedup, retrain_s, similar_ms, peak_mb, worker_mb = map(float, match.groups()[:8])
    assert embed_1w > 0 and embed_2w > 0
    # The times are printed to 0.1 s and the speedup from the unrounded times: it lies within what the rounding allows.
    assert (embed_1w - 0.05) / (embed_2w + 0.05) - 0.005 <= speedup <= (embed_1w + 0.05) / max(embed_2w - 0.05, 1e-9) + 0.005
    assert import_s > 0 and retrain_s > 0 and similar_ms > 0 and peak_mb > 0
    assert 0 < worker_mb <= peak_mb  # one worker's own peak, beside the most any step held
    assert "by 2 worker(s)" in done.stdout  # the second run's chunks really went to both workers
    assert re.search(r"cluster edits and map \(p50 of 5\): merge \d+ ms, split \d+ ms, move \d+ ms, relabel \d+ ms, "
                     r"map \d+ ms", done.stdout), done.stdout[-2000:]
