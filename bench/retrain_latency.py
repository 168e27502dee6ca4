"""Retrain latency: from a submitted batch to a new current model version, and the time to serve a queue batch.

Runs the real path: a Celery worker process against Redis and the database, the app's services for
submission and queue. Projects: the 6,205 NHS responses, and 100,000 responses made by repeating them with
small edits (their embeddings are the originals' with a little seeded noise, as the worker would store them).
Each project starts with 1,000 labels (pool responses, their analysts' themes). The fully coded case: the
6,205 NHS responses with every one labelled but the last batches, each retrain following one of them (the last
one with all 6,205 labelled), the common end state of a project and the slowest retrain it sees.

    python bench/retrain_latency.py [--sizes 6205,100000] [--repeats 5] [--database-url URL] [--no-full]

Last line: retrain_p50=S queue_p50=MS at 6205; retrain_p50=S queue_p50=MS at 100000; full_p50=S at 6205 labelled
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench._data import NHS_DIR, cached_embeddings, load_coded, load_split  # noqa: E402

EDITS = [lambda t: t + " Thanks.", lambda t: "Honestly, " + t, lambda t: t.replace(" the ", " the the ", 1),
         lambda t: t.rstrip(".!") + "!", lambda t: t.lower(), lambda t: t + " (again)"]


def setup_django(database_url: str) -> None:
    from redis_url import redis_ensure

    os.environ.setdefault("THEMELOOP_DEV", "1")
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_ensure()[0].rsplit("/", 1)[0] + "/14"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_worker() -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "labeling_app", "worker", "-l", "warning", "-c", "1",
         "-Q", "default,imports,embeddings,training", "--purge", "-n", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env=dict(os.environ),
    )
    from labeling_app.celery import app

    for _ in range(120):
        if any(f"bench-{os.getpid()}@" in n for r in app.control.ping(timeout=0.5) or [] for n in r):
            return worker
    worker.kill()
    sys.exit("the Celery worker did not start")


def build_project(size: int, data, X: np.ndarray, labelled: np.ndarray, name: str):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User

    from labeling_app.labeling.models import Annotation
    from labeling_app.modeling.models import ResponseEmbedding
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from labeling_app.projects.models import Project, Response, Role
    from labeling_app.projects.services.projects import project_create
    from labeling_app.themes.services.themes import theme_create
    from ml.embeddings import text_hash

    Project.objects.filter(name=name).delete()
    user, _ = User.objects.get_or_create(username="bench-analyst")
    project = project_create(user=user, name=name, question="What could we do better?")
    project.memberships.filter(user=user).update(role=Role.ANALYST)
    themes = [theme_create(project=project, name=name, shortcut="") for name in data.themes]
    rng = np.random.default_rng(0)
    n = len(data.texts)
    texts, vectors = [], np.empty((size, X.shape[1]), dtype=np.float32)
    for i in range(size):
        base, copy = i % n, i // n
        texts.append(data.texts[base] if copy == 0 else EDITS[copy % len(EDITS)](data.texts[base]))
        v = X[base] + (0 if copy == 0 else rng.normal(0, 0.01, X.shape[1]))
        vectors[i] = v / np.linalg.norm(v)
    made = Response.objects.bulk_create(
        (Response(project=project, respondent_id=f"B{i:06d}", text=t) for i, t in enumerate(texts)), batch_size=5000)
    ResponseEmbedding.objects.bulk_create(
        (ResponseEmbedding(response=r, model_name=embedding_model_name(), text_hash=text_hash(r.text),
                           vector=vectors[i].tobytes()) for i, r in enumerate(made)), batch_size=5000)
    annotations = Annotation.objects.bulk_create(Annotation(response=made[i], coder=user) for i in labelled)
    through = Annotation.themes.through
    through.objects.bulk_create(
        [through(annotation_id=a.pk, theme_id=themes[j].pk)
         for a, i in zip(annotations, labelled, strict=True) for j in np.flatnonzero(data.Y[i])], batch_size=5000)
    Project.objects.filter(pk=project.pk).update(labels_revision=1)
    project.refresh_from_db()
    return project, user, made, themes


def wait_for_version(project, number: int, timeout: float = 300) -> float:  # type: ignore[no-untyped-def]
    from labeling_app.projects.models import Project

    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        current = Project.objects.filter(pk=project.pk).values_list("current_model__number", flat=True).first()
        if current is not None and current >= number:
            return time.perf_counter()
        time.sleep(0.02)
    sys.exit(f"version {number} of {project.name} did not become current within {timeout} s")


def measure(size: int, data, X, order, repeats: int, n_initial: int, name: str):  # type: ignore[no-untyped-def]
    """Median seconds from a submitted batch of 10 to its version being current, and median queue ms."""
    from django.contrib.auth.models import User

    from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
    from labeling_app.labeling.services.queue import queue_batch_lease
    from labeling_app.modeling.models import ModelVersion
    from labeling_app.projects.services.training_requests import training_request

    t = time.perf_counter()
    # No retrains while the project is being built: one started half-way would embed the texts itself.
    with mock.patch("labeling_app.projects.services.training_requests.training_request"):
        project, user, made, themes = build_project(size, data, X, order[:n_initial], name)
    print(f"[{name}] built project in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    training_request(project=project)
    first = wait_for_version(project, 1) - t
    v1 = ModelVersion.objects.get(project=project, number=1)
    print(f"[{name}] v1: {first:.2f} s from request to current (train {v1.train_seconds:.2f} s, "
          f"{v1.labelled_responses} labelled)", flush=True)
    retrains = []
    next_labels = iter(order[n_initial:])
    for r in range(repeats):
        items = [AnnotationItem(made[i].pk, [themes[j].pk for j in np.flatnonzero(data.Y[i])])
                 for i in [next(next_labels) for _ in range(10)]]
        submitted = time.perf_counter()
        annotation_submit(project=project, user=user, items=items)
        retrains.append(wait_for_version(project, r + 2) - submitted)
        v = ModelVersion.objects.get(project=project, number=r + 2)
        print(f"[{name}] v{v.number}: {retrains[-1]:.2f} s from submission to current "
              f"(train {v.train_seconds:.2f} s, {v.labelled_responses} labelled, micro F1 {v.micro_f1:.3f})",
              flush=True)
    queue_times = []
    for k in range(20):
        analyst, _ = User.objects.get_or_create(username=f"bench-queue-{k}")
        t = time.perf_counter()
        batch = queue_batch_lease(project=project, user=analyst, size=10)
        queue_times.append((time.perf_counter() - t) * 1000)
        assert len(batch) == min(10, len(order) - n_initial - 10 * repeats) or k > 0
    return statistics.median(retrains), statistics.median(queue_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="6205,100000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-full", action="store_true", help="skip the fully coded 6,205-response case")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-retrain.sqlite3'}"))
    args = parser.parse_args()
    if not (NHS_DIR / "coded_responses.csv").is_file():
        sys.exit(f"{NHS_DIR} is missing")
    setup_django(args.database_url)
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from labeling_app.modeling.services.embeddings import _loaded_model

    data = load_coded(NHS_DIR / "coded_responses.csv")
    pool, _ = load_split(data, NHS_DIR / "split.csv")
    pool = np.random.default_rng(0).permutation(pool)
    X = cached_embeddings(_loaded_model(embedding_model_name()), "all-MiniLM-L6-v2", data.texts)
    print(f"database {args.database_url.split('://')[0]}, {os.cpu_count()} CPUs", flush=True)
    worker = start_worker()
    results = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            retrain, queue = measure(size, data, X, pool, args.repeats, 1000, f"bench-{size}")
            results.append(f"retrain_p50={retrain:.2f} queue_p50={queue:.0f} at {size}")
        if not args.no_full:
            n = len(data.texts)
            everyone = np.random.default_rng(0).permutation(n)
            full, _ = measure(n, data, X, everyone, args.repeats, n - 10 * args.repeats, f"bench-full-{n}")
            results.append(f"full_p50={full:.2f} at {n} labelled")
    finally:
        worker.terminate()
        worker.wait(30)
    print("; ".join(results))


if __name__ == "__main__":
    main()
