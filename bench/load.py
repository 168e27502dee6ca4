"""Load: 50 simulated analysts (locust) fetch queue batches and submit labels against the NHS responses on
PostgreSQL for two minutes, served by the production command (gunicorn + uvicorn workers), while a real Celery
worker retrains after every batch.

    python bench/load.py [--users 50] [--duration 120] [--database-url postgres://...] [--labelled 1000]

The project: the 6,205 NHS responses, the first --labelled of them coded with their NHS themes (so a model
exists from the start), embedded before the run. Every analyst is a member with an API token. After the run,
`stored` counts the labels in the database by those analysts and `submitted` the labels the server accepted
(201): nothing lost means they are equal.

Last line (printed once the web server and the worker have stopped; the worker's own output goes to a log file in
the run's temporary folder): users=50 requests=N failures=F p50=MS p95=MS submit_p95=MS retrains=R stored=S
submitted=T
"""
import argparse
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench._data import NHS_DIR, cached_embeddings  # noqa: E402

PROJECT = "bench-load"


def setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_project(users: int, labelled: int):  # type: ignore[no-untyped-def]
    """The load project from scratch: NHS responses (the first `labelled` coded), embedded; analysts with tokens."""
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.authtoken.models import Token

    from labeling_app.importing.services import import_file_run
    from labeling_app.modeling.services.embeddings import embeddings_ensure
    from labeling_app.projects.models import Membership, Project, Role
    from labeling_app.projects.services.projects import project_create

    Project.objects.filter(name=PROJECT).delete()
    owner, _ = User.objects.get_or_create(username="load-owner")
    project = project_create(user=owner, name=PROJECT, question="What could we do better?")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["respondent_id", "response", "theme"])
    order: dict[str, int] = {}
    with open(NHS_DIR / "coded_responses.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            index = order.setdefault(row["respondent_id"], len(order))
            writer.writerow([row["respondent_id"], row["response"], row["theme"] if index < labelled else ""])
    data = buf.getvalue().encode()
    job = import_file_run(project=project, user=owner, upload=SimpleUploadedFile("nhs.csv", data))
    print(f"import: {job.message}", flush=True)
    embeddings_store_cached(project)
    embeddings_ensure(project=project)  # nothing left to embed: the worker's embedding run finds it done
    tokens = []
    for i in range(users):
        user, _ = User.objects.get_or_create(username=f"load-analyst-{i:02d}")
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ANALYST})
        Token.objects.filter(user=user).delete()
        tokens.append(Token.objects.create(user=user).key)
    return project, tokens


def embeddings_store_cached(project) -> None:  # type: ignore[no-untyped-def]
    """The responses' embeddings from bench/.cache (computed by the app's model on the first run, ~6,000 texts
    take minutes on a busy machine), stored as the embedding run would store them."""
    from labeling_app.modeling.models import ResponseEmbedding
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from labeling_app.modeling.services.embeddings import _loaded_model
    from ml.embeddings import text_hash

    rows = list(project.responses.order_by("pk").values_list("pk", "text"))
    name = embedding_model_name()
    X = cached_embeddings(_loaded_model(name), "all-MiniLM-L6-v2", [t for _, t in rows])
    ResponseEmbedding.objects.bulk_create(
        [ResponseEmbedding(response_id=pk, model_name=name, text_hash=text_hash(t),
                           vector=v.astype("float32").tobytes()) for (pk, t), v in zip(rows, X, strict=True)],
        batch_size=2000)


def wait_for_model(project, timeout: float) -> None:  # type: ignore[no-untyped-def]
    from labeling_app.projects.services.training_requests import training_request

    training_request(project=project)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        project.refresh_from_db()
        if project.current_model_id:
            return
        time.sleep(1)
    sys.exit("no first model: is the worker running?")


class CpuMeter:
    """CPU seconds used during the run by each part on this machine (web, worker, PostgreSQL; locust is read
    after it exits) and the machine's busiest 30 s, sampled every second: whether the cores were the limit."""

    def __init__(self, web: subprocess.Popen, worker: subprocess.Popen) -> None:
        import threading

        import psutil

        self.psutil = psutil
        self.roots = {"web": web.pid, "worker": worker.pid}
        self.start = self._read()
        self.busy: list[float] = []  # busy cores, each second
        self._stop = threading.Event()
        psutil.cpu_times_percent(interval=None)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        cores = self.psutil.cpu_count()
        while not self._stop.wait(1.0):
            idle = self.psutil.cpu_times_percent(interval=None)
            self.busy.append(cores * (100.0 - idle.idle - idle.iowait) / 100.0)

    def _read(self) -> dict[str, dict[int, float]]:
        """CPU seconds by part and process id (a process gone before the end is not counted: an undercount)."""
        out: dict[str, dict[int, float]] = {}
        for part, pid in self.roots.items():
            try:
                root = self.psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
            except self.psutil.NoSuchProcess:
                procs = []
            out[part] = {p.pid: self._cpu(p) for p in procs}
        out["postgres"] = {p.pid: self._cpu(p) for p in self.psutil.process_iter(["name"])
                           if p.info["name"] and p.info["name"].startswith("postgres")}
        return out

    def _cpu(self, proc) -> float:  # type: ignore[no-untyped-def]
        try:
            t = proc.cpu_times()
            return t.user + t.system
        except self.psutil.Error:
            return 0.0

    def stop(self, locust_cpu: float) -> None:
        self._stop.set()
        self._thread.join()
        end = self._read()
        self.used = {part: sum(v - self.start[part].get(pid, 0.0) for pid, v in end[part].items()) for part in end}
        self.used["locust"] = locust_cpu

    def report(self, requests: int) -> str:
        used = self.used
        window = 30
        busiest = max((sum(self.busy[i:i + window]) / window for i in range(max(1, len(self.busy) - window + 1))),
                      default=0.0)
        parts = ", ".join(f"{part} {seconds:.0f} s" for part, seconds in used.items())
        server = (used["web"] + used["postgres"]) / max(requests, 1) * 1000
        return (f"  cpu: {parts} of {self.psutil.cpu_count()} cores x {len(self.busy)} s; busiest {window} s: "
                f"{busiest:.2f} of {self.psutil.cpu_count()} cores busy; web + postgres {server:.1f} ms a request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--labelled", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/themeloop_load"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"))
    args = parser.parse_args()
    if not (NHS_DIR / "coded_responses.csv").is_file():
        sys.exit(f"{NHS_DIR} is missing")
    if args.database_url.startswith("postgres"):
        name = args.database_url.rsplit("/", 1)[1]
        subprocess.run(["psql", args.database_url.rsplit("/", 1)[0] + "/postgres", "-qc",
                        f"CREATE DATABASE {name}"], capture_output=True)
    work = Path(tempfile.mkdtemp(prefix="themeloop-load-"))
    env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "THEMELOOP_DEV": "1",
           "THEMELOOP_INSTANCE": f"bench-load-{os.getpid()}", "MEDIA_ROOT": str(work / "media"),
           "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    setup_django(env)
    from labeling_app.labeling.models import Annotation
    from labeling_app.modeling.models import ModelVersion

    child_env = {**os.environ, **env}
    t = time.perf_counter()
    # Built before the worker starts: the import's embedding run then finds every embedding stored.
    project, tokens = build_project(args.users, args.labelled)
    # The worker's and the web server's logs (the worker's "Warm shutdown" included) go to files: the figure line
    # must be the last printed. Each child keeps its own copy of the file's descriptor.
    print(f"worker and web logs: {work}/worker.log, {work}/web.log", flush=True)
    with open(work / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "labeling_app", "worker", "-l", "warning", "-c", "1",
             "-Q", "default,imports,embeddings,training", "-n", f"load-{os.getpid()}@%h"],
            cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    with open(work / "web.log", "wb") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "labeling_app.asgi:application", "--worker-class",
             "uvicorn_worker.UvicornWorker", "--workers", str(args.web_workers), "--bind",
             f"127.0.0.1:{args.port}", "--no-control-socket", "--log-level", "warning"],
            cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_model(project, timeout=600)
        print(f"project ready in {time.perf_counter() - t:.0f} s (model v{project.current_model.number})",
              flush=True)
        themes = list(project.themes.filter(archived=False).values_list("pk", flat=True))
        (work / "setup.json").write_text(json.dumps({"project": project.pk, "themes": themes, "tokens": tokens}))
        versions_before = ModelVersion.objects.filter(project=project, status=ModelVersion.Status.READY).count()
        analysts = [f"load-analyst-{i:02d}" for i in range(args.users)]
        stored_before = Annotation.objects.filter(response__project=project, coder__username__in=analysts).count()
        import resource

        locust_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        meter = CpuMeter(web, worker)
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_users.py"), "--headless",
             "-u", str(args.users), "-r", str(max(1, args.users // 10)), "-t", f"{args.duration}s",
             "--host", f"http://127.0.0.1:{args.port}", "--csv", str(work / "stats"), "--only-summary",
             "--loglevel", "WARNING",
             # Users finish the batch in hand when time is up: a submit cut off on the client side was still
             # stored by the server, and stored then exceeded submitted by its labels.
             "--stop-timeout", "30"],
            cwd=ROOT, env={**child_env, "LOAD_TOKENS": str(work / "setup.json"),
                           "LOAD_SUBMITTED": str(work / "submitted.txt")}, check=False)
        locust_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        meter.stop((locust_after.ru_utime + locust_after.ru_stime) - (locust_before.ru_utime + locust_before.ru_stime))
        time.sleep(5)  # the last submissions' retrain may still be running; it does not change what is stored
        stored = Annotation.objects.filter(response__project=project,
                                           coder__username__in=analysts).count() - stored_before
        retrains = ModelVersion.objects.filter(project=project, status=ModelVersion.Status.READY).count() \
            - versions_before
        submitted = int((work / "submitted.txt").read_text() or 0)
        with open(work / "stats_stats.csv", newline="") as fh:
            rows = {r["Name"]: r for r in csv.DictReader(fh)}
        for name in ("queue", "submit"):
            if name in rows:
                r = rows[name]
                print(f"  {name}: {r['Request Count']} requests, {r['Failure Count']} failures, "
                      f"p50 {r['50%']} ms, p95 {r['95%']} ms", flush=True)
        total = rows["Aggregated"]
        print(meter.report(int(total["Request Count"])), flush=True)
        submit_p95 = rows["submit"]["95%"] if "submit" in rows else "-"
        figures = (f"users={args.users} requests={total['Request Count']} failures={total['Failure Count']} "
                   f"p50={total['50%']} p95={total['95%']} submit_p95={submit_p95} retrains={retrains} "
                   f"stored={stored} submitted={submitted}")
    finally:
        for proc in (web, worker):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, worker):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    print(figures, flush=True)  # last: both processes have stopped, so nothing of theirs follows it


if __name__ == "__main__":
    main()
