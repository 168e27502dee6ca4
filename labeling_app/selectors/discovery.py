import numpy as np
from django.db.models import QuerySet

from labeling_app.models import Annotation, Cluster, ClusterAssignment, DiscoveryRun, Project, Response
from labeling_app.services.embeddings import embedding_matrix
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
    ids, X = embedding_matrix(project=project)
    row = {pk: i for i, pk in enumerate(ids)}
    anchors = [row[r] for r in response_ids if r in row]
    if not anchors:
        return []
    centre = X[anchors].mean(axis=0)
    exclude = set(anchors)
    if unlabelled_only:
        labelled = Annotation.objects.filter(response__project=project, is_current=True)
        exclude |= {row[r] for r in labelled.values_list("response_id", flat=True) if r in row}
    picked = ml_discovery.nearest(X, centre, k=k, exclude=np.asarray(sorted(exclude), dtype=int))
    by_id = {r.pk: r for r in project.responses.filter(pk__in=[ids[i] for i in picked])}
    return [by_id[ids[i]] for i in picked if ids[i] in by_id]


def theme_response_ids(*, project: Project, theme_id: int) -> list[int]:
    """Responses currently labelled with a theme (by anyone)."""
    return list(Annotation.objects.filter(response__project=project, is_current=True, themes=theme_id)
                .values_list("response_id", flat=True).distinct())
