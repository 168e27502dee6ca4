import itertools

import numpy as np
from django.db.models import QuerySet

from labeling_app.models import Annotation, Cluster, ClusterAssignment, DiscoveryRun, Project, Response
from labeling_app.services.embeddings import embedding_store
from ml import discovery as ml_discovery


def discovery_run_latest(*, project: Project) -> DiscoveryRun | None:
    """The project's newest finished discovery run."""
    return DiscoveryRun.objects.filter(project=project, status=DiscoveryRun.Status.SUCCEEDED).first()


def clusters_active(*, run: DiscoveryRun) -> QuerySet[Cluster]:
    """A run's current clusters, largest first; the outlier group last."""
    return run.clusters.filter(active=True).select_related("theme").order_by("is_outliers", "dismissed", "-size", "id")


def cluster_members(*, cluster: Cluster, search: str = "") -> QuerySet[Response]:
    """The responses in a cluster, optionally only those whose text contains `search`."""
    qs = Response.objects.filter(cluster_assignments__cluster=cluster)
    if search:
        qs = qs.filter(text__icontains=search)
    return qs.order_by("id")


def map_points(*, run: DiscoveryRun) -> dict:
    """Everything the map draws: positions, cluster of each point, its themes and its text."""
    ids = np.frombuffer(bytes(run.response_ids), dtype=np.int64)
    if not run.layout:
        return {"ids": [], "pending": True}
    xy = np.frombuffer(bytes(run.layout), dtype=np.float32).reshape(len(ids), 2)
    cluster_of = dict(ClusterAssignment.objects.filter(run=run).values_list("response_id", "cluster_id"))
    texts = dict(run.project.responses.values_list("pk", "text"))
    themes: dict[int, list[int]] = {}
    rows = Annotation.themes.through.objects.filter(annotation__response__project=run.project,
                                                    annotation__is_current=True)
    for response_id, theme_id in rows.values_list("annotation__response_id", "theme_id"):
        themes.setdefault(response_id, []).append(theme_id)
    return {
        "ids": ids.tolist(),
        "x": np.round(xy[:, 0], 4).tolist(),
        "y": np.round(xy[:, 1], 4).tolist(),
        "cluster": [cluster_of.get(int(i)) for i in ids],
        "themes": [themes.get(int(i), []) for i in ids],
        "text": [texts.get(int(i), "") for i in ids],
        "clusters": {c.pk: {"name": c.name, "outliers": c.is_outliers}
                     for c in run.clusters.filter(active=True)},
    }


def responses_similar(*, project: Project, response_ids: list[int], k: int = 20,
                      unlabelled_only: bool = True) -> list[Response]:
    """The responses nearest by embedding to the given ones (to their centre), most similar first."""
    store = embedding_store(project=project)
    rows = store.rows_of(response_ids)
    anchors = rows[rows >= 0]
    if not len(anchors):
        return []
    centre = np.asarray(store.vectors[anchors]).mean(axis=0)
    ranked = ml_discovery.ranked_by_similarity(store.vectors, centre, exclude=np.unique(anchors), norms=store.norms)
    picked = _unlabelled_head(project, store.ids, ranked, k) if unlabelled_only else ranked[:max(0, k)]
    wanted = [int(store.ids[i]) for i in picked]
    by_id = {r.pk: r for r in project.responses.filter(pk__in=wanted)}
    return [by_id[pk] for pk in wanted if pk in by_id]


def _unlabelled_head(project: Project, ids: np.ndarray, ranked: np.ndarray, k: int) -> list[int]:
    """The first k of ``ranked`` (rows) whose responses have no current label.

    The database is asked only about windows of the best candidates (a project may have tens of thousands of
    labels); when a few windows were mostly labelled, it is asked once for all the project's labelled ids.
    """
    current = Annotation.objects.filter(response__project=project, is_current=True)
    picked: list[int] = []
    start, window = 0, max(4 * k, 100)
    for _ in range(3):
        rows = ranked[start:start + window]
        candidates = [int(ids[i]) for i in rows]
        labelled = set(current.filter(response_id__in=candidates).values_list("response_id", flat=True))
        picked += [int(i) for i, pk in zip(rows, candidates, strict=True) if pk not in labelled][:k - len(picked)]
        start, window = start + window, min(window * 4, 2000)
        if len(picked) >= k or start >= len(ranked):
            return picked
    everything = set(current.values_list("response_id", flat=True))
    rest = (int(i) for i in ranked[start:] if int(ids[i]) not in everything)
    return picked + list(itertools.islice(rest, k - len(picked)))


def theme_response_ids(*, project: Project, theme_id: int) -> list[int]:
    """Responses currently labelled with a theme (by anyone)."""
    return list(Annotation.objects.filter(response__project=project, is_current=True, themes=theme_id)
                .values_list("response_id", flat=True).distinct())
