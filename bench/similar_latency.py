"""Latency of the discovery paths that read embeddings: "more like this", every cluster edit (merge, split, move,
relabel) and the map, on a large project, after the embedding store is warm.

The project is built quickly and directly (no import, no model): the NHS responses repeated with small edits,
each with a random unit embedding near one of 4 sub-topics of one of 60 topics (so a split has something
to find, as in real answers), a finished discovery run with those 60
clusters (plus outliers) and a random map layout, and 5% of the responses labelled. It is built once into
the given database and reused. ``measure(project_id)`` is what ``bench/scale.py`` calls.

    python bench/similar_latency.py [--size 100000] [--repeats 7] [--database-url URL]

Last line: similar_ms=… cluster_edit_ms=… map_ms=… (p50 over the repeats; cluster_edit_ms is the slowest
kind of edit's p50).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench._data import NHS_DIR, load_coded  # noqa: E402

EDITS = [lambda t: t, lambda t: t + " Thanks.", lambda t: "Honestly, " + t, lambda t: t + " Overall good.",
         lambda t: t.replace(" the ", " the the ", 1), lambda t: "Well, " + t.lower()]
TOPICS = 60
LABELLED_SHARE = 0.05
DIMS = 384


def setup_django(database_url: str | None) -> None:
    """Configure Django for the bench database (migrated)."""
    os.environ.setdefault("THEMELOOP_DEV", "1")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _texts(size: int) -> list[str]:
    path = NHS_DIR / "coded_responses.csv"
    base = load_coded(path).texts if path.exists() else [f"the staff were kind and the wait was {i} hours"
                                                         for i in range(500)]
    return [EDITS[(i // len(base)) % len(EDITS)](base[i % len(base)]) + ("" if i < len(base) * len(EDITS)
                                                                        else f" ({i})") for i in range(size)]


def build_project(size: int, *, seed: int = 0) -> int:
    """The bench project of this size (its id), built once and reused when it is complete."""
    from django.contrib.auth.models import User
    from django.db import transaction

    from labeling_app.discovery.models import Cluster, ClusterAssignment, DiscoveryRun
    from labeling_app.labeling.models import Annotation
    from labeling_app.modeling.models import ResponseEmbedding
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from labeling_app.projects.models import Project, Response
    from labeling_app.projects.services.projects import project_create
    from labeling_app.themes.services.themes import theme_create
    from ml.embeddings import text_hash

    name = f"bench-similar-v2-{size}"
    project = Project.objects.filter(name=name).first()
    if project and project.responses.count() == size and DiscoveryRun.objects.filter(
            project=project, status=DiscoveryRun.Status.SUCCEEDED).exclude(layout=b"").exists():
        return project.pk
    Project.objects.filter(name=name).delete()
    user, _ = User.objects.get_or_create(username="bench-analyst")
    project = project_create(user=user, name=name, question="What could we do better?")
    themes = [theme_create(project=project, name=f"Theme {j}", shortcut="") for j in range(8)]
    rng = np.random.default_rng(seed)
    texts = _texts(size)
    topic = rng.integers(0, TOPICS, size)
    centres = rng.standard_normal((TOPICS, DIMS)).astype(np.float32)
    subtopic = rng.integers(0, 4, size)
    subs = rng.standard_normal((TOPICS, 4, DIMS)).astype(np.float32) * 0.7
    model = embedding_model_name()
    ids: list[int] = []
    for start in range(0, size, 5000):
        with transaction.atomic():
            made = Response.objects.bulk_create(
                [Response(project=project, respondent_id=f"S{i:07d}", text=texts[i])
                 for i in range(start, min(size, start + 5000))])
            part = slice(start, start + len(made))
            X = (centres[topic[part]] + subs[topic[part], subtopic[part]]
                 + 0.5 * rng.standard_normal((len(made), DIMS)).astype(np.float32))
            X /= np.linalg.norm(X, axis=1, keepdims=True)
            ResponseEmbedding.objects.bulk_create(
                [ResponseEmbedding(response_id=r.pk, model_name=model, text_hash=text_hash(r.text),
                                   vector=x.astype(np.float32).tobytes()) for r, x in zip(made, X, strict=True)])
            ids += [r.pk for r in made]
    with transaction.atomic():
        run = DiscoveryRun.objects.create(project=project, status=DiscoveryRun.Status.SUCCEEDED, created_by=user,
                                          response_ids=np.asarray(ids, dtype=np.int64).tobytes(),
                                          layout=rng.random((size, 2), dtype=np.float32).tobytes())
        clusters = [Cluster.objects.create(run=run, name=f"~topic {c}", size=int((topic == c).sum()))
                    for c in range(TOPICS)]
        outliers = Cluster.objects.create(run=run, name="Outliers", is_outliers=True)
        outlier = rng.random(size) < 0.02
        outliers.size = int(outlier.sum())
        outliers.save(update_fields=["size"])
        for c, cluster in enumerate(clusters):
            cluster.size = int(((topic == c) & ~outlier).sum())
            cluster.save(update_fields=["size"])
        ClusterAssignment.objects.bulk_create(
            (ClusterAssignment(run=run, response_id=pk, cluster=outliers if outlier[i] else clusters[topic[i]])
             for i, pk in enumerate(ids)), batch_size=5000)
        labelled = rng.choice(size, int(LABELLED_SHARE * size), replace=False)
        made = Annotation.objects.bulk_create(
            (Annotation(response_id=ids[i], coder=user) for i in labelled), batch_size=5000)
        Annotation.themes.through.objects.bulk_create(
            (Annotation.themes.through(annotation_id=a.pk, theme_id=themes[topic[i] % len(themes)].pk)
             for a, i in zip(made, labelled, strict=True)), batch_size=5000)
    _vacuum()
    return project.pk


def _vacuum() -> None:
    """What autovacuum does within a minute of bulk inserts on PostgreSQL: statistics and the visibility map
    (the embedding store's fingerprint is an index-only scan only once the map is set)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("labeling_app_response", "labeling_app_responseembedding", "labeling_app_clusterassignment",
                      "labeling_app_annotation"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _p50(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def measure(project_id: int, *, repeats: int = 7, seed: int = 0) -> dict:
    """p50 milliseconds of "more like this", each kind of cluster edit and the map data, on a built project.

    The first call of each path warms the store (and is not counted). Each edit is undone after it is timed,
    so the project is left as it was.
    """
    from django.contrib.auth.models import User

    from labeling_app.discovery.selectors import (
        clusters_active,
        discovery_run_latest,
        map_points_json,
        responses_similar,
    )
    from labeling_app.discovery.services import (
        cluster_action_undo,
        cluster_merge,
        cluster_split,
        cluster_update,
        responses_move,
    )
    from labeling_app.projects.models import Project

    project = Project.objects.get(pk=project_id)
    run = discovery_run_latest(project=project)
    if run is None:
        raise ValueError(f"project {project_id} has no finished discovery run")
    user = User.objects.get(username="bench-analyst")
    rng = np.random.default_rng(seed)
    response_ids = list(project.responses.values_list("pk", flat=True))
    anchors = [int(a) for a in rng.choice(response_ids, repeats + 1, replace=False)]

    def similar(i: int) -> None:
        responses_similar(project=project, response_ids=[anchors[i]], k=25)

    def the_map(i: int) -> None:
        map_points_json(run=run)  # the body the map page fetches

    def clusters() -> list[int]:
        return [c.pk for c in clusters_active(run=run).filter(is_outliers=False, size__gte=4)]

    def merge(i: int) -> None:
        a, b = rng.choice(clusters(), 2, replace=False)
        cluster_merge(run=run, user=user, cluster_ids=[int(a), int(b)])

    def split(i: int) -> None:
        cluster_split(run=run, user=user, cluster_id=int(rng.choice(clusters())), k=2)

    def move(i: int) -> None:
        target = int(rng.choice(clusters()))
        moved = [int(r) for r in rng.choice(response_ids, 10, replace=False)]
        responses_move(run=run, user=user, response_ids=moved, cluster_id=target)

    def relabel(i: int) -> None:
        cluster_update(run=run, user=user, cluster_id=int(rng.choice(clusters())), name=f"Renamed {i}")

    def undone(edit):  # type: ignore[no-untyped-def]
        def timed(i: int) -> None:
            started = time.perf_counter()
            edit(i)
            spent = time.perf_counter() - started
            cluster_action_undo(run=run, user=user)
            timed.spent.append(spent)  # type: ignore[attr-defined]
        timed.spent = []  # type: ignore[attr-defined]
        return timed

    similar(repeats)  # warm: builds (or checks) the embedding store
    out: dict = {"responses": len(response_ids), "similar_ms": _p50(similar, repeats)}
    edits = {}
    for kind, edit in {"merge": merge, "split": split, "move": move, "relabel": relabel}.items():
        timed = undone(edit)
        timed(-1)  # warm
        timed.spent.clear()
        for i in range(repeats):
            timed(i)
        edits[kind] = round(statistics.median(timed.spent) * 1000, 1)
    out.update({f"{kind}_ms": ms for kind, ms in edits.items()})
    out["cluster_edit_ms"] = max(edits.values())
    the_map(-1)
    out["map_ms"] = _p50(the_map, repeats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    setup_django(args.database_url)
    started = time.perf_counter()
    project_id = build_project(args.size)
    print(f"built or reused project {project_id} with {args.size} responses in {time.perf_counter() - started:.0f} s",
          flush=True)
    result = measure(project_id, repeats=args.repeats)
    print(json.dumps(result))
    print(f"similar_ms={result['similar_ms']} cluster_edit_ms={result['cluster_edit_ms']} map_ms={result['map_ms']}")


if __name__ == "__main__":
    main()
