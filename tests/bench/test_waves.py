"""bench/waves.py --quick on a slice of the NHS file (its own date split into two waves): it runs end to end
and prints the agreed last line with figures in range."""
import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NHS = ROOT.parent / "shared" / "data" / "nhs_fft" / "coded_responses.csv"


def test_the_waves_bench_runs_quick_on_a_slice_and_prints_its_last_line(tmp_path):
    if not NHS.is_file():
        pytest.skip("../shared/data/nhs_fft is not present")
    with open(NHS, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wanted = set(sorted({r["respondent_id"] for r in rows})[:1400])
    sliced = tmp_path / "slice.csv"
    with open(sliced, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["respondent_id", "response", "theme", "date"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(r for r in rows if r["respondent_id"] in wanted)
    done = subprocess.run([sys.executable, "bench/waves.py", "--quick", "--data", str(sliced), "--labels", "200"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cpu: " in done.stdout and "wave2 macro f1@0=" in done.stdout and "held-out variant" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    num = r"(\d\.\d{3})"
    match = re.fullmatch(rf"wave2 f1@0={num} f1@100={num} f1@300={num} \| new_themes found=(\d+) of (\d+)", last)
    assert match, last
    f0, f100, f300 = (float(x) for x in match.groups()[:3])
    found, n = int(match.group(4)), int(match.group(5))
    assert all(0.0 < f < 1.0 for f in (f0, f100, f300)) and 0 <= found <= n
