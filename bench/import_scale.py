"""Import at scale: a 100,000-row CSV through the app's import service, with its time and peak memory.

The file is the NHS responses (long format, themes and metadata included) repeated with small edits: copy k of
a respondent gets the id `<id> #k` and its text one of a few edits, so every copy is a new respondent. The
import is the one a worker runs (`import_file_run`: the job record, read, check, write, audit, warming the
insights tables), on SQLite by default or on the database given. Peak memory is the whole process's resident
set, sampled every 10 ms while the import runs (the bound that matters for a worker), and its growth meanwhile.

    python bench/import_scale.py [--size 100000] [--database-url URL]

Last line: import_s=S peak_mb=MB (and rows, responses, labels, database). `measure(size)` gives the same
figures as a dict, for bench/scale.py (it sets Django up when the caller has not).
"""
import argparse
import csv
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench._data import NHS_DIR  # noqa: E402

EDITS = [lambda t: t + " Thanks.", lambda t: "Honestly, " + t, lambda t: t.replace(" the ", " the the ", 1),
         lambda t: t.rstrip(".!") + "!", lambda t: t.lower(), lambda t: t + " (again)"]
DEFAULT_DATABASE = f"sqlite:///{ROOT / 'var' / 'bench-import.sqlite3'}"


def write_csv(path: Path, size: int) -> int:
    """Write `size` data rows: the NHS rows (one per respondent-theme pair), repeated with small edits.

    Returns the number of respondents written. Rows are streamed to the file, never all held.
    """
    with open(NHS_DIR / "coded_responses.csv", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        source = list(reader)  # 8,603 rows: small; the copies are written as they are made
    id_col, text_col = header.index("respondent_id"), header.index("response")
    written, respondents, last = 0, 0, None
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        copy = 0
        while written < size:
            for row in source:
                if written == size:
                    break
                if copy:
                    row = list(row)
                    row[id_col] = f"{row[id_col]} #{copy}"
                    row[text_col] = EDITS[(copy - 1) % len(EDITS)](row[text_col])
                writer.writerow(row)
                written += 1
                if row[id_col] != last:
                    respondents, last = respondents + 1, row[id_col]
            copy += 1
    return respondents


def setup_django(database_url: str) -> None:
    """Point Django at `database_url` and a Redis that answers, and migrate (a no-op when up to date)."""
    from redis_url import redis_ensure

    os.environ.setdefault("THEMELOOP_DEV", "1")
    os.environ["DATABASE_URL"] = database_url
    if "REDIS_URL" not in os.environ:
        os.environ["REDIS_URL"] = redis_ensure()[0].rsplit("/", 1)[0] + "/14"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class PeakRss:
    """The process's resident set size, sampled in a thread while the block runs: peak and growth (MB)."""

    def __enter__(self) -> "PeakRss":
        import psutil

        self._process = psutil.Process()
        self.start_mb = self.peak_mb = self._process.memory_info().rss / 1e6
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 1e6)
            self._done.wait(0.01)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 1e6)

    @property
    def grown_mb(self) -> float:
        return self.peak_mb - self.start_mb


def measure(size: int = 100_000, *, keep: bool = False) -> dict:
    """Import a `size`-row CSV into a new project with the app's import service; time it and its memory.

    Returns import_s, peak_mb (the process's peak RSS during the import), grown_mb, rows, responses, labels,
    themes and database. The project is deleted afterwards unless `keep`.
    """
    from django.apps import apps

    if not apps.ready:
        setup_django(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE))
    from django.core.files import File
    from django.db import connection

    from labeling_app.importing.models import ImportJob
    from labeling_app.importing.services import import_file_run
    from labeling_app.projects.models import Project

    project = Project.objects.create(name=f"import scale {size} {time.time_ns()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "responses.csv"
        respondents = write_csv(path, size)
        with open(path, "rb") as fh, PeakRss() as rss:
            started = time.perf_counter()
            job = import_file_run(project=project, user=None, upload=File(fh, name="responses.csv"))
            seconds = time.perf_counter() - started
    try:
        if job.status != ImportJob.Status.SUCCEEDED:
            raise RuntimeError(f"the import failed: {job.message}")
        assert job.responses_created == respondents, (job.responses_created, respondents)
        return {"import_s": round(seconds, 1), "peak_mb": round(rss.peak_mb), "grown_mb": round(rss.grown_mb),
                "rows": size, "responses": job.responses_created, "labels": job.labels_created,
                "themes": job.themes_created, "database": connection.vendor}
    finally:
        if not keep:
            project.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="data rows in the file (default 100,000)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--keep", action="store_true", help="keep the imported project")
    args = parser.parse_args()
    if not (NHS_DIR / "coded_responses.csv").is_file():
        sys.exit(f"the NHS data is not at {NHS_DIR}")
    if args.database_url.startswith("sqlite:///"):
        Path(args.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    setup_django(args.database_url)
    result = measure(args.size, keep=args.keep)
    print(f"import_s={result['import_s']} peak_mb={result['peak_mb']} grown_mb={result['grown_mb']} "
          f"rows={result['rows']} responses={result['responses']} labels={result['labels']} "
          f"database={result['database']} cpus={os.cpu_count()}")


if __name__ == "__main__":
    main()
