"""bench/autocode.py --quick on a small slice of the NHS file (its own seeded 80/20 split): it runs end to end
and prints the agreed last line with figures in range."""
import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NHS = ROOT.parent / "shared" / "data" / "nhs_fft" / "coded_responses.csv"


def test_the_autocode_bench_runs_quick_on_a_slice_and_prints_its_last_line(tmp_path):
    if not NHS.is_file():
        pytest.skip("../shared/data/nhs_fft is not present")
    with open(NHS, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    keep = sorted({r["respondent_id"] for r in rows})[:600]
    wanted = set(keep)
    sliced = tmp_path / "slice.csv"
    with open(sliced, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["respondent_id", "response", "theme"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(r for r in rows if r["respondent_id"] in wanted)
    done = subprocess.run([sys.executable, "bench/autocode.py", "--quick", "--data", str(sliced), "--labels", "150"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cpu: " in done.stdout and "floor (TF-IDF LR" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    num = r"(\d+\.\d+|nan)"
    match = re.fullmatch(rf"labels=150 target=0\.85 coverage={num} claimed_f1={num} measured_f1={num} \| "
                         rf"qc100 f1={num} ci=\[{num},{num}\] \| zero_shot micro={num} \| label_review p@100={num}",
                         last)
    assert match, last
    coverage, _, _, _, _, _, zero, p100 = (float(x) for x in match.groups())
    assert 0.0 <= coverage <= 1.0 and 0.0 < zero < 1.0 and 0.0 <= p100 <= 1.0
