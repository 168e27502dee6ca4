"""bench/sentiment.py --quick on a small slice of the NHS file (its own seeded 80/20 split): it runs end to end
and prints the agreed last line with figures in range."""
import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NHS = ROOT.parent / "shared" / "data" / "nhs_fft" / "coded_responses.csv"


def test_the_sentiment_bench_runs_quick_on_a_slice_and_prints_its_last_line(tmp_path):
    if not NHS.is_file():
        pytest.skip("../shared/data/nhs_fft is not present")
    with open(NHS, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wanted = set(sorted({r["respondent_id"] for r in rows})[:600])
    sliced = tmp_path / "slice.csv"
    with open(sliced, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["respondent_id", "response", "theme", "score", "sentiment"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(r for r in rows if r["respondent_id"] in wanted)
    done = subprocess.run([sys.executable, "bench/sentiment.py", "--quick", "--data", str(sliced), "--labels", "150"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cpu: " in done.stdout and "tfidf_lr@150 random (floor)" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    num = r"(\d\.\d{3})"
    match = re.fullmatch(rf"al@150 acc={num} macro_f1={num} \| all acc={num} macro_f1={num} \| "
                         rf"tfidf_lr@all acc={num} macro_f1={num}", last)
    assert match, last
    figures = [float(x) for x in match.groups()]
    assert all(0.0 < f <= 1.0 for f in figures)
    # better than always answering the commonest level's share would be a fluke on 120 test rows: just sane
    assert figures[0] > 0.3 and figures[2] > 0.3
