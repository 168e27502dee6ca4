import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.db.models import QuerySet

from labeling_app.core.media_files import run_folder_path
from labeling_app.discovery.models import Cluster, ClusterAssignment, DiscoveryRun, MapLayout
from labeling_app.labeling.models import Annotation
from labeling_app.labeling.selectors.responses import responses_filter
from labeling_app.modeling.selectors.embeddings import embedding_store_get
from labeling_app.projects.models import Project, Response
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
    return json.loads(map_points_json(run=run))


def map_points_json(*, run: DiscoveryRun) -> bytes:
    """:func:`map_points` as JSON bytes, what the map page fetches.

    The run's fixed part (ids, positions and texts, as clustered) is encoded once and kept in the media store;
    each request reads only what edits and labels change: the cluster and the themes of each point.
    """
    if not run.layout:
        # Laid out by a job of its own (models.MapLayout): still to come, or failed, saying why.
        failed = MapLayout.objects.filter(pk=run.pk, status=MapLayout.Status.FAILED).values_list("message", flat=True)
        message = failed.first()
        return json.dumps({"ids": [], "failed": message} if message is not None else {"ids": [], "pending": True}
                          ).encode()
    ids = np.frombuffer(bytes(run.response_ids), dtype=np.int64)
    # One round trip (two integers a row): a server-side cursor's many fetches cost more at 100,000 rows.
    cluster_of = dict(ClusterAssignment.objects.filter(run=run).values_list("response_id", "cluster_id"))
    themes: dict[int, list[int]] = {}
    rows = Annotation.themes.through.objects.filter(annotation__response__project=run.project,
                                                    annotation__is_current=True)
    for response_id, theme_id in rows.values_list("annotation__response_id", "theme_id"):
        themes.setdefault(response_id, []).append(theme_id)
    unlabelled: list[int] = []  # one shared empty list: 100,000 new ones cost more than the rest together
    changing = json.dumps({
        "cluster": [cluster_of.get(i) for i in ids.tolist()],
        "themes": [themes.get(i, unlabelled) for i in ids.tolist()],
        # Plain values: model instances from the related manager would each fetch their deferred run id.
        "clusters": {pk: {"name": name, "outliers": outliers} for pk, name, outliers
                     in run.clusters.filter(active=True).values_list("pk", "name", "is_outliers")},
    })
    return b"{" + _map_fixed(run, ids) + b", " + changing[1:].encode()


def map_fixed_path(*, run: DiscoveryRun) -> Path:
    """Where a run's fixed map part is kept (written by the layout job, discovery.services)."""
    return run_folder_path(run.pk) / "map-fixed.json"


def _map_fixed(run: DiscoveryRun, ids: np.ndarray) -> bytes:
    try:
        return map_fixed_path(run=run).read_bytes()
    except FileNotFoundError:  # an older run whose files were pruned: made again, in memory only
        return map_fixed_body(run=run)


def map_fixed_body(*, run: DiscoveryRun) -> bytes:
    """The part of a run's map that edits and labels do not change (ids, positions, texts), as JSON members."""
    ids = np.frombuffer(bytes(run.response_ids), dtype=np.int64)
    xy = np.frombuffer(bytes(run.layout), dtype=np.float32).reshape(len(ids), 2)
    texts = dict(Response.objects.filter(cluster_assignments__run=run).values_list("pk", "text")
                 .iterator(chunk_size=5000))
    fixed = json.dumps({"ids": ids.tolist(), "x": np.round(xy[:, 0], 4).tolist(),
                        "y": np.round(xy[:, 1], 4).tolist(), "text": [texts.get(i, "") for i in ids.tolist()]})
    return fixed[1:-1].encode()


def responses_similar(*, project: Project, response_ids: list[int], k: int = 20,
                      unlabelled_only: bool = True) -> list[Response]:
    """The responses nearest by embedding to the given ones (to their centre), most similar first."""
    store = embedding_store_get(project=project)
    rows = store.rows_of(response_ids)
    anchors = rows[rows >= 0]
    if not len(anchors):
        return []
    centre = np.asarray(store.vectors[anchors]).mean(axis=0)
    exclude = np.unique(anchors)
    # The head of the ranking is enough unless nearly all of it is labelled (then the whole ranking is made).
    head = sum(_windows(k)) if unlabelled_only else max(0, k)
    ranked = ml_discovery.ranked_by_similarity(store.vectors, centre, exclude=exclude, norms=store.norms, top=head)
    if unlabelled_only:
        picked = _unlabelled_head(project, store.ids, ranked, k, rank_all=lambda: ml_discovery.ranked_by_similarity(
            store.vectors, centre, exclude=exclude, norms=store.norms))
    else:
        picked = ranked[:max(0, k)].tolist()
    wanted = [int(store.ids[i]) for i in picked]
    by_id = {r.pk: r for r in project.responses.filter(pk__in=wanted)}
    return [by_id[pk] for pk in wanted if pk in by_id]


def _windows(k: int) -> list[int]:
    first = max(4 * k, 100)
    return [first, min(first * 4, 2000), min(first * 16, 2000)]


def _unlabelled_head(project: Project, ids: np.ndarray, ranked: np.ndarray, k: int,
                     rank_all: Callable[[], np.ndarray]) -> list[int]:
    """The first k of ``ranked`` (rows, the head of the ranking that ``rank_all`` makes whole) whose responses
    have no current label.

    The database is asked only about windows of the best candidates (a project may have tens of thousands of
    labels); when a few windows were mostly labelled, it is asked once for all the project's labelled ids.
    """
    current = Annotation.objects.filter(response__project=project, is_current=True)
    picked: list[int] = []
    start = 0
    for window in _windows(k):
        rows = ranked[start:start + window]
        candidates = [int(ids[i]) for i in rows]
        labelled = set(current.filter(response_id__in=candidates).values_list("response_id", flat=True))
        picked += [int(i) for i, pk in zip(rows, candidates, strict=True) if pk not in labelled][:k - len(picked)]
        start += window
        if len(picked) >= k:
            return picked
    ranked = rank_all()
    everything = set(current.values_list("response_id", flat=True))
    rest = (int(i) for i in ranked[start:] if int(ids[i]) not in everything)
    return picked + list(itertools.islice(rest, k - len(picked)))


def theme_response_ids(*, project: Project, theme_id: int, blind_for: int | None) -> list[int]:
    """Responses coded with a theme, as the Responses page's theme filter finds them for the viewer."""
    return list(responses_filter(project=project, theme_id=theme_id, blind_for=blind_for).values_list("pk", flat=True))
