"""Scale: a 100,000-response project through the app's own paths, with embedding spread over Celery workers.

    python bench/scale.py [--size 100000] [--labelled 1000] [--chunk-size N] [--database-url URL] [--redis-url URL]

The project: the NHS responses (../shared/data/nhs_fft) repeated with small edits up to --size, each text
unique; the first --labelled respondents carry their NHS themes. Steps, each timed with the peak memory of the
processes doing it:

1. import: a CSV of the project through the import service (`import_file_run`), in this process;
2. embed_1w: the embedding run the import asks for, done by 1 real Celery worker (-Q embeddings);
3. embed_2w: the embeddings deleted and a new run done by 2 workers side by side;
4. retrain: one retrain in this process (`training_run`) on every embedded response and label;
5. dashboard: the theme prevalence view (`selectors.insights.prevalence`), first call and repeated;
6. similar: "more like this" (`selectors.discovery.responses_similar`) for one labelled response;
7. cluster edits and map: merge, split, move, rename and the map's data on a project of the same size with a
   finished discovery run (built directly by `bench/similar_latency.py`, which times them).

Every worker is held to one CPU thread (EMBEDDING_THREADS=1, OMP_NUM_THREADS=1 and friends), so the speedup
shows what the chunking parallelises, not what extra threads do. An embedding time is the span from the first
chunk's start to the last chunk's end (from the chunk rows), so worker start-up and model loading are left out.

Each run starts from a fresh database (a new SQLite file in a new temporary folder by default; a given SQLite
file is deleted first, a given PostgreSQL URL gets a database of this run's own, dropped at the end) and new,
empty media and var folders, so nothing of an earlier run, interrupted or not, is picked up.

Memory: peak_mb is the most any step held (the embedding steps: all their workers together); worker_mb the most
one embedding worker held while embedding (its main process resident, plus what its pool process holds of its
own: pages the fork shares with the parent are counted once).

Last line: import_s=… embed_1w_s=… embed_2w_s=… speedup=… retrain_s=… similar_ms=… peak_mb=… worker_mb=… backend=…
"""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench import similar_latency  # noqa: E402
from bench._data import NHS_DIR, cpu_name  # noqa: E402
from bench.retrain_latency import EDITS  # noqa: E402

ONE_THREAD = {"EMBEDDING_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def edited(text: str, rep: int) -> str:
    """Repetition `rep` of an NHS text: a small edit, and a mark past the sixth, so every text is unique."""
    if rep == 0:
        return text
    out = EDITS[(rep - 1) % len(EDITS)](text)
    return out if rep <= len(EDITS) else f"{out} [{rep}]"


def write_csv(path: Path, size: int, labelled: int) -> None:
    """The project's file in the import format (respondent_id,response,theme: one row per theme)."""
    rows: dict[str, tuple[str, list[str]]] = {}
    with open(NHS_DIR / "coded_responses.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text, themes = rows.setdefault(row["respondent_id"], (row["response"], []))
            if row["theme"]:
                themes.append(row["theme"])
    base = list(rows.values())
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["respondent_id", "response", "theme"])
        for i in range(size):
            text, themes = base[i % len(base)]
            rid, text = f"S{i:07d}", edited(text, i // len(base))
            for theme in (themes if i < labelled and themes else [""]):
                writer.writerow([rid, text, theme])


def _unique(proc: psutil.Process) -> int:
    """Bytes only this process holds (USS); its resident set where that cannot be read."""
    try:
        return int(proc.memory_full_info().uss)
    except psutil.AccessDenied:
        return int(proc.memory_info().rss)


class Peak:
    """The peak resident memory (MB) of some processes with their children, sampled every 50 ms: `mb` of them all
    together, `each` of each process (with its children) apart."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids, self.mb, self._stop = pids, 0.0, threading.Event()
        self.each: dict[int, float] = {}

    def _sample(self) -> None:
        total = 0.0
        for pid in self.pids():
            try:
                proc = psutil.Process(pid)
                # The process's resident set and only what each child holds of its own (USS): a forked pool
                # process shares its parent's pages, which summed resident sets would count twice.
                mb = (proc.memory_info().rss + sum(_unique(c) for c in proc.children(recursive=True))) / 2**20
            except psutil.Error:
                continue
            self.each[pid] = max(self.each.get(pid, 0.0), mb)
            total += mb
        self.mb = max(self.mb, total)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    @contextmanager
    def watch(self) -> Iterator["Peak"]:
        self.mb, self.each, self._stop = 0.0, {}, threading.Event()  # each watch measures afresh
        self._sample()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._sample()


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def workers_start(n: int, env: dict[str, str], tag: str) -> list[subprocess.Popen]:
    """n real `celery worker` processes on the embeddings queue, one thread each, answering pings."""
    from labeling_app.celery import app

    procs, names = [], []
    for i in range(n):
        name = f"scale-{tag}{i}-{os.getpid()}"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "labeling_app", "worker", "-l", "warning", "-c", "1",
             "-P", "prefork", "-Q", "embeddings", "-n", f"{name}@%h"],
            # Their output goes to stderr: this script's stdout ends with its last line, whatever a worker logs.
            cwd=ROOT, env={**os.environ, **env, **ONE_THREAD}, stdout=sys.stderr, stderr=sys.stderr))
        names.append(name)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if all(any(f"{name}@" in host for reply in replies for host in reply) for name in names):
            return procs
        if any(p.poll() is not None for p in procs):
            break
    workers_stop(procs)
    sys.exit("the Celery workers did not start")


def workers_stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def embed_span(run_id: int, timeout: float) -> float:
    """Wait for an embedding run to finish; seconds from its first chunk's start to its last chunk's end."""
    from django.db.models import Max, Min

    from labeling_app.modeling.models import EmbeddingRun

    deadline = time.monotonic() + timeout
    while True:
        run = EmbeddingRun.objects.get(pk=run_id)
        if run.is_finished:
            break
        if time.monotonic() > deadline:
            sys.exit(f"embedding run {run_id} did not finish in {timeout:.0f} s ({run.embedded} of {run.total})")
        time.sleep(0.5)
    if run.status != EmbeddingRun.Status.SUCCEEDED:
        sys.exit(f"embedding run {run_id} failed: {run.message}")
    span = run.chunks.aggregate(start=Min("started_at"), end=Max("finished_at"))
    # order_by(): the default ordering would add its column to the DISTINCT and count every chunk apart.
    per_worker = Counter(run.chunks.order_by().values_list("worker", flat=True))
    print(f"  run {run_id}: {run.total} texts in {run.chunks.count()} chunks, by {len(per_worker)} worker(s) "
          f"({' + '.join(str(n) for n in sorted(per_worker.values(), reverse=True))} chunks)", flush=True)
    return (span["end"] - span["start"]).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--labelled", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=0,
                        help="responses per embedding chunk (default: 2000, fewer for small sizes)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for each embedding run")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""),
                        help="made afresh each run: a SQLite file is deleted first, a PostgreSQL database gets "
                             "this run's own name (NAME_scale_PID), dropped at the end (default: SQLite in a new "
                             "temporary folder)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"))
    args = parser.parse_args()
    if not (NHS_DIR / "coded_responses.csv").is_file():
        sys.exit(f"{NHS_DIR} is missing")
    work = Path(tempfile.mkdtemp(prefix="themeloop-scale-"))
    try:
        with fresh_database(args.database_url, work) as database_url:
            run(args, work, database_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def fresh_database(url: str, work: Path) -> Iterator[str]:
    """A database no earlier run has touched (an interrupted run's chunks and runs would be picked up)."""
    if not url:
        yield f"sqlite:///{work / 'scale.sqlite3'}"
        return
    if not url.startswith("postgres"):
        path = Path(url.split(":///", 1)[1])
        for stale in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
            stale.unlink(missing_ok=True)
        yield url
        return
    base, name = url.rsplit("/", 1)
    name = f"{name}_scale_{os.getpid()}"
    subprocess.run(["psql", f"{base}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], capture_output=True)
    subprocess.run(["psql", f"{base}/postgres", "-qc", f"CREATE DATABASE {name}"], capture_output=True, check=True)
    try:
        yield f"{base}/{name}"
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(["psql", f"{base}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], capture_output=True)


def run(args: argparse.Namespace, work: Path, database_url: str) -> None:
    """The steps of the module docstring on a fresh database; prints the last line."""
    chunk = args.chunk_size or max(50, min(2000, args.size // 8))  # enough chunks for two workers to share
    # Every folder the app writes (media, var: chunks of uploads, exports) is this run's own, new and empty.
    env = {"DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "THEMELOOP_DEV": "1",
           "THEMELOOP_INSTANCE": f"bench-scale-{os.getpid()}", "MEDIA_ROOT": str(work / "media"),
           "THEMELOOP_VAR_DIR": str(work / "var"), "EMBEDDING_CHUNK_SIZE": str(chunk)}
    setup_django(env)
    from django.contrib.auth.models import User
    from django.core.files import File
    from django.db import transaction

    from labeling_app.discovery.selectors import responses_similar
    from labeling_app.importing.services import import_file_run
    from labeling_app.insights.selectors import insights
    from labeling_app.labeling.models import Annotation
    from labeling_app.modeling.models import EmbeddingRun, ResponseEmbedding
    from labeling_app.modeling.services.embeddings import embedding_run_request
    from labeling_app.modeling.services.training import training_run
    from labeling_app.projects.services.projects import project_create

    print(f"database {database_url.split('://')[0]} (new), {psutil.cpu_count()} CPUs, size {args.size}, "
          f"chunks of {chunk}; timings on a machine others may be loading", flush=True)
    me = Peak(lambda: [os.getpid()])
    owner, _ = User.objects.get_or_create(username="scale-owner")
    name = f"bench-scale-{args.size}"
    project = project_create(user=owner, name=name, question="What could we do better?")
    path = work / "scale.csv"
    write_csv(path, args.size, args.labelled)
    steps: dict[str, tuple[float, float]] = {}

    with me.watch() as peak:
        t = time.perf_counter()
        with open(path, "rb") as fh:
            job = import_file_run(project=project, user=owner, upload=File(fh, name="scale.csv"))
        steps["import"] = (time.perf_counter() - t, peak.mb)
    if job.status != "succeeded":
        sys.exit(f"import failed: {job.message}")
    print(f"import: {job.message}", flush=True)

    first_run = EmbeddingRun.objects.filter(project=project).order_by("pk").last()
    assert first_run is not None, "the import asked for no embedding run"
    # The workers' embedding backend is measured once per CPU and thread count (ml.embedding_choice): done here,
    # in a throwaway process, so no timed span includes it. Its line names the backend the workers use.
    warm = subprocess.run(
        [sys.executable, "-c", "import os; from ml.embeddings import load_model, model_variant; "
         "print(model_variant(load_model(backend=os.environ.get('EMBEDDING_BACKEND') or None, threads=1)))"],
        cwd=ROOT, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=True)
    backend = warm.stdout.strip().splitlines()[-1]
    print(f"embedding backend (one thread a worker): {backend} on {cpu_name()}", flush=True)
    spans: dict[int, float] = {}
    worker_mb = 0.0  # the most any one worker (main process and pool) held while embedding
    for n in (1, 2):
        if n == 2:  # the same work again, from scratch, for two workers
            ResponseEmbedding.objects.filter(response__project=project).delete()
        procs = workers_start(n, env, tag=f"w{n}-")
        try:
            with Peak(lambda p=procs: [x.pid for x in p]).watch() as peak:  # type: ignore[misc]
                if n == 1:
                    run = first_run  # queued by the import, taken by the worker as it started
                else:
                    with transaction.atomic():
                        run = embedding_run_request(project=project)
                spans[n] = embed_span(run.pk, args.timeout)
            steps[f"embed_{n}w"] = (spans[n], peak.mb)
            worker_mb = max(worker_mb, *peak.each.values())
        finally:
            workers_stop(procs)
        print(f"embed with {n} worker(s): {spans[n]:.1f} s ({args.size / spans[n]:.0f} responses/s), peak "
              f"{peak.mb:.0f} MB (workers), per worker " + ", ".join(f"{mb:.0f}" for mb in peak.each.values())
              + " MB", flush=True)
    assert ResponseEmbedding.objects.filter(response__project=project).count() == args.size

    with me.watch() as peak:
        t = time.perf_counter()
        version = training_run(project_id=project.pk, task_id=f"bench-scale-{os.getpid()}")
        steps["retrain"] = (time.perf_counter() - t, peak.mb)
    if version is None or version.status != "ready":
        sys.exit(f"retrain did not make a model: {version and version.error}")
    print(f"retrain: {steps['retrain'][0]:.1f} s on {version.labelled_responses} labelled responses", flush=True)

    scope = insights.InsightsScope(project=project)
    with me.watch() as peak:
        t = time.perf_counter()
        insights.prevalence(scope=scope)
        cold = time.perf_counter() - t
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            insights.prevalence(scope=scope)
            warm.append(time.perf_counter() - t)
        steps["dashboard"] = (statistics.median(warm), peak.mb)
    print(f"dashboard (prevalence): first {cold * 1000:.0f} ms, then {steps['dashboard'][0] * 1000:.0f} ms",
          flush=True)

    anchor = Annotation.objects.filter(response__project=project, is_current=True).values_list(
        "response_id", flat=True).order_by("response_id").first()
    with me.watch() as peak:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            found = responses_similar(project=project, response_ids=[anchor], k=20)
            times.append(time.perf_counter() - t)
        steps["similar"] = (statistics.median(times), peak.mb)
    assert found, "more like this found nothing"
    print(f"more like this: {steps['similar'][0] * 1000:.0f} ms (median of 5)", flush=True)

    # The discovery paths that read embeddings (cluster edits, the map) need a finished discovery run with its
    # clusters and map: bench/similar_latency builds one of the same size directly and times them.
    with me.watch() as peak:
        edits = similar_latency.measure(similar_latency.build_project(args.size), repeats=5)
        steps["cluster_edits"] = (edits["cluster_edit_ms"] / 1000, peak.mb)
    print("cluster edits and map (p50 of 5): " + ", ".join(
        f"{kind} {edits[f'{kind}_ms']:.0f} ms" for kind in ("merge", "split", "move", "relabel", "map")), flush=True)

    for step, (seconds, mb) in steps.items():
        print(f"  {step}: {seconds:.2f} s, peak {mb:.0f} MB", flush=True)
    _redis_clean(args.redis_url, env["THEMELOOP_INSTANCE"])
    speedup = spans[1] / spans[2] if spans[2] else 0.0
    print(f"import_s={steps['import'][0]:.1f} embed_1w_s={spans[1]:.1f} embed_2w_s={spans[2]:.1f} "
          f"speedup={speedup:.2f} retrain_s={steps['retrain'][0]:.1f} similar_ms={steps['similar'][0] * 1000:.0f} "
          f"peak_mb={max(mb for _, mb in steps.values()):.0f} worker_mb={worker_mb:.0f} backend={backend}",
          flush=True)


def _redis_clean(url: str, instance: str) -> None:
    # The retrains the embedding runs asked for wait on the training queue no worker here reads: drop them.
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"themeloop:{instance}:*"):
        client.delete(key)


if __name__ == "__main__":
    main()
