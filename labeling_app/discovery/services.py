"""Discovery: cluster a project's responses, then let analysts merge, split, rename, dismiss, move and
turn clusters into themes. Every action records what it changed, so it can be undone."""
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from labeling_app.core.media_files import folders_remove_on_commit, run_folder_path
from labeling_app.core.progress import progress_set
from labeling_app.discovery.models import Cluster, ClusterAction, ClusterAssignment, DiscoveryRun, MapLayout
from labeling_app.discovery.selectors import map_fixed_body, map_fixed_path
from labeling_app.jobs.registry import TASK_DISCOVERY_COMPUTE, TASK_DISCOVERY_LAYOUT
from labeling_app.jobs.services.outbox import enqueue_on_commit
from labeling_app.jobs.services.runs import (
    JobLost,
    job_attempts_exhausted,
    job_claim,
    job_fail,
    job_failure_reason,
    job_heartbeat,
    job_succeed,
)
from labeling_app.labeling.models import Annotation
from labeling_app.labeling.services.annotations import annotations_add_theme
from labeling_app.modeling.models import EmbeddingRun
from labeling_app.modeling.selectors.embeddings import embedding_matrix_read, embedding_store_get, response_texts_read
from labeling_app.modeling.services.embeddings import embeddings_missing_request
from labeling_app.modeling.store import EmbeddingStore
from labeling_app.projects.models import Project
from labeling_app.themes.models import Theme
from labeling_app.themes.services.themes import theme_create
from ml import discovery as ml_discovery
from ml import keywords as ml_keywords

#: The message of a discovery run that waits for its project's embeddings.
WAITING_FOR_EMBEDDINGS = "Waiting for the responses to be embedded"
RUN_FILES_KEPT = 2  # a project's newest runs keep their files; an older run viewed again is made in memory
logger = logging.getLogger(__name__)


def discovery_run_request(*, project: Project, user: User | None, n_clusters: int | None = None,
                          min_cluster_size: int | None = None) -> DiscoveryRun:
    """Record a discovery run with its settings and queue it after commit."""

    if n_clusters is not None and not 2 <= n_clusters <= 300:
        raise ValidationError("the number of clusters must be between 2 and 300")
    with transaction.atomic():
        run = DiscoveryRun.objects.create(project=project, created_by=user, n_clusters=n_clusters,
                                          min_cluster_size=min_cluster_size)
        enqueue_on_commit(TASK_DISCOVERY_COMPUTE, discovery_run_id=run.pk)
    return run


def _embeddings_wait(run_id: int) -> bool:
    """Queue the project's missing embeddings as their own run (never embedded here); True when a pending
    discovery run must wait for them.

    A discovery run clusters every response, so it waits rather than leave the newest out of its clusters and
    map: it stays pending, saying so, and the embedding run re-sends it when done (or fails it, saying why).
    """
    waiting = DiscoveryRun.objects.filter(pk=run_id, status=DiscoveryRun.Status.PENDING)
    run = waiting.select_related("project").first()
    if run is None or job_attempts_exhausted(run.attempts + 1):
        return False  # running already, finished, or about to be failed by its claim
    # Marked before asking, so an embedding run that ends meanwhile finds this run and re-sends it.
    waiting.update(message=f"{WAITING_FOR_EMBEDDINGS}.")
    embedding = embeddings_missing_request(project=run.project)
    if embedding is None:
        waiting.filter(message__startswith=WAITING_FOR_EMBEDDINGS).update(message="")
        return False
    logger.info("discovery run %s waits for embedding run %s", run_id, embedding.pk)
    return True


def discovery_run_execute(*, discovery_run_id: int, task_id: str = "") -> DiscoveryRun | None:
    """Cluster every response of the run's project and store clusters, assignments and the map.

    Claimed, beaten and fenced by services.job_runs. Other runs are never touched: while a run is interrupted
    (its worker lost) and run again, the clusters of the latest finished run stay in place and in use. A pending
    run whose project has responses without embeddings waits for them (`_embeddings_wait`).
    """
    if _embeddings_wait(discovery_run_id):
        return None
    run = job_claim(DiscoveryRun, pk=discovery_run_id, task_id=task_id, select_related=("project",))
    if run is None:
        return None
    started = time.monotonic()
    try:
        with job_heartbeat(run, task_id=task_id):
            progress_set(kind="discovery", job_id=run.pk, percent=5)
            ids, X = embedding_matrix_read(project=run.project)
            if len(ids) < 4:
                raise ValueError("discovery needs at least 4 responses with embeddings")
            texts = response_texts_read(project=run.project, response_ids=ids)
            progress_set(kind="discovery", job_id=run.pk, percent=20)
            found = ml_discovery.discover(X, texts, n_clusters=run.n_clusters,
                                          min_cluster_size=run.min_cluster_size, seed=run.seed)
            progress_set(kind="discovery", job_id=run.pk, percent=90)
            _run_write(run, ids, found, task_id=task_id, seconds=round(time.monotonic() - started, 2))
            try:
                _term_counts_save(run, ml_keywords.term_counts(texts))
            except OSError:  # the first cluster edit counts them again
                logger.warning("could not keep the term counts of discovery run %s", run.pk, exc_info=True)
    except JobLost:
        logger.warning("discovery run %s was taken over by another delivery; this one wrote nothing", run.pk)
        return None
    except Exception as exc:
        logger.exception("discovery run %s failed", run.pk)
        job_fail(run, job_failure_reason(exc, str(exc)), task_id=task_id)
        return run
    progress_set(kind="discovery", job_id=run.pk, percent=100)
    return run


def discovery_layout_compute(*, discovery_run_id: int, task_id: str = "") -> DiscoveryRun | None:
    """Lay out the map of a finished run and store it on the run; its MapLayout job row says how that went.

    Claimed, beaten and fenced by services.job_runs like every job: a duplicate delivery, or one for a layout
    already there, does nothing (None); a failure is recorded on the job row (the map page says so) and leaves
    the run and its clusters as they were. Returns the run with its layout when this delivery stored it.
    """
    job = job_claim(MapLayout, pk=discovery_run_id, task_id=task_id, select_related=("run__project",))
    if job is None:
        return None
    run = job.run
    try:
        with job_heartbeat(job, task_id=task_id):
            ids = np.frombuffer(bytes(run.response_ids), dtype=np.int64)
            store = embedding_store_get(project=run.project)
            rows = store.rows_of(ids)
            if (rows < 0).any():
                raise ValueError(f"{int((rows < 0).sum())} of its responses have no embedding any more")
            layout = ml_discovery.layout_2d(store.vectors[rows], seed=run.seed)
            with transaction.atomic():
                DiscoveryRun.objects.filter(pk=run.pk).update(layout=np.asarray(layout, np.float32).tobytes())
                job_succeed(job, task_id=task_id)
    except JobLost:
        logger.warning("map layout of discovery run %s was taken over by another delivery", run.pk)
        return None
    except Exception as exc:
        logger.exception("map layout of discovery run %s failed", run.pk)
        job_fail(job, job_failure_reason(exc, str(exc) or type(exc).__name__), task_id=task_id)
        return None
    run.refresh_from_db()
    map_fixed_write(run=run)
    return run


def map_fixed_write(*, run: DiscoveryRun) -> None:
    """Keep the fixed part of a laid-out run's map in the media store: each map request then reads only what edits
    and labels change (discovery.selectors.map_points_json)."""
    path = map_fixed_path(run=run)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".map-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(map_fixed_body(run=run))
    os.replace(tmp, path)  # a redelivered layout may write it too: each writes it whole


@transaction.atomic
def _run_write(run: DiscoveryRun, ids: list[int], found: Any, *, task_id: str, seconds: float) -> None:
    """Store the run's clusters and mark it succeeded, in one transaction (JobLost rolls it all back)."""
    run.clusters.all().delete()  # a guard: an interrupted delivery rolled back, so there is normally nothing
    by_label: dict[int, Cluster] = {}
    for summary in found.clusters:
        by_label[summary.id] = Cluster.objects.create(run=run, **_summary_fields(summary, ids))
    if (found.labels < 0).any():
        by_label[-1] = Cluster.objects.create(run=run, name="Outliers", is_outliers=True,
                                              size=int((found.labels < 0).sum()))
    ClusterAssignment.objects.bulk_create(
        (ClusterAssignment(run=run, response_id=pk, cluster=by_label[int(label)])
         for pk, label in zip(ids, found.labels, strict=True)), batch_size=5000)
    run.response_ids = np.asarray(ids, dtype=np.int64).tobytes()
    job_succeed(run, task_id=task_id, response_ids=run.response_ids, seconds=seconds)
    run_files_prune(project_id=run.project_id)

    # The map's layout takes as long again as the clustering: the clusters are shown first, the layout is a
    # job of its own.
    MapLayout.objects.create(run=run)
    enqueue_on_commit(TASK_DISCOVERY_LAYOUT, discovery_run_id=run.pk)


def _summary_fields(summary: Any, ids: list[int]) -> dict[str, Any]:
    return {"name": summary.name, "keywords": list(summary.keywords), "phrases": list(summary.phrases),
            "representative_ids": [ids[i] for i in summary.representatives], "size": int(summary.size)}


def _snapshot(clusters: list[Cluster], response_ids: list[int] | None = None, *,
              members_of: list[Cluster] | None = None) -> dict[str, Any]:
    """The state an undo restores: the clusters' fields and the clusters of the given responses, or of every
    member of ``members_of`` (asked by cluster, not by a list of thousands of ids)."""
    fields = ["name", "keywords", "phrases", "representative_ids", "size", "dismissed", "active", "theme_id"]
    state: dict[str, Any] = {"clusters": {str(c.pk): {f: getattr(c, f) for f in fields} for c in clusters}}
    if response_ids is not None or members_of is not None:
        rows = ClusterAssignment.objects.filter(run=clusters[0].run_id)
        rows = (rows.filter(response_id__in=response_ids) if response_ids is not None
                else rows.filter(cluster__in=[c.pk for c in members_of or []]))
        state["assignments"] = {str(r): c for r, c in rows.values_list("response_id", "cluster_id")}
    return state


def _member_ids(cluster: Cluster) -> list[int]:
    return list(cluster.assignments.order_by("response_id").values_list("response_id", flat=True))


def _term_counts_path(run: DiscoveryRun) -> Path:
    return run_folder_path(run.pk) / "terms.npz"


def _term_counts_save(run: DiscoveryRun, counts: ml_keywords.TermCounts) -> None:
    path = _term_counts_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    m = counts.doc_terms
    vocab = np.frombuffer("\n".join(counts.vocab).encode(), dtype=np.uint8)  # terms never hold a newline
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".terms-")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.asarray(m.shape), vocab=vocab)
        os.replace(tmp, path)  # whole or not at all: two deliveries of one run may write at once
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


_term_counts_opened: dict[Path, ml_keywords.TermCounts] = {}


def _run_term_counts(run: DiscoveryRun) -> ml_keywords.TermCounts:
    """The term counts of each of the run's responses (rows in ``run.response_ids`` order), stored when the run
    finished; counted again from the texts (once) when the file is missing, e.g. for a run made before."""
    path = _term_counts_path(run)
    if (counts := _term_counts_opened.get(path)) is not None:
        return counts
    try:
        with np.load(path) as f:
            text = bytes(f["vocab"]).decode()
            m = sp.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
        counts = ml_keywords.TermCounts(text.split("\n") if text else [], m,
                                        np.asarray(m.sum(0), dtype=np.float64).ravel())
    except (OSError, ValueError, KeyError):
        ids = np.frombuffer(bytes(run.response_ids), dtype=np.int64).tolist()
        texts = dict(run.project.responses.filter(cluster_assignments__run=run).values_list("pk", "text")
                     .iterator(chunk_size=5000))
        counts = ml_keywords.term_counts([texts.get(pk, "") for pk in ids])
        _term_counts_save(run, counts)
    if len(_term_counts_opened) > 8:  # a web process sees few runs at a time: keep the recent ones
        _term_counts_opened.pop(next(iter(_term_counts_opened)))
    _term_counts_opened[path] = counts
    return counts


def _summarize(run: DiscoveryRun, groups: dict[Cluster, list[int]], store: EmbeddingStore | None = None) -> None:
    """Recompute keywords, phrases, quotes and size of the given clusters from their members.

    Keywords are weighed against every active cluster of the run (class-based TF-IDF needs the others): the
    run's stored term counts and the clusters' sizes stand for the others, so only the changed clusters'
    members are read (embeddings, and the texts of the few nearest their centre), however large the project.
    """
    counts = _run_term_counts(run)
    run_ids = np.frombuffer(bytes(run.response_ids), dtype=np.int64)
    sizes = dict(run.clusters.filter(active=True, is_outliers=False).values_list("pk", "size"))
    sizes.update({c.pk: len(group) for c, group in groups.items() if c.active and not c.is_outliers})
    # The outliers and the responses outside every active cluster form one more class, as in discovery.
    n_groups = sum(1 for size in sizes.values() if size > 0) + int(len(run_ids) > sum(sizes.values()))
    store = store or embedding_store_get(project=run.project)  # the caller's, when it has one: one fingerprint query
    for cluster, group in groups.items():
        rows = store.rows_of(group)
        at = np.minimum(np.searchsorted(run_ids, group), max(len(run_ids) - 1, 0))
        keep = (rows >= 0) & (run_ids[at] == np.asarray(group, dtype=np.int64)) if len(run_ids) else rows < -1
        members = [m for m, k in zip(group, keep, strict=True) if k]
        if cluster.active and not cluster.is_outliers and members and counts.n_texts == len(run_ids):
            def text_of(indices: list[int], members: list[int] = members) -> list[str]:
                return response_texts_read(project=run.project, response_ids=[members[j] for j in indices])

            summary = ml_discovery.summarize_group(store.vectors[rows[keep]], at[keep], counts, text_of,
                                                   group_id=cluster.pk, n_groups=n_groups)
            keep_name = cluster.name if cluster.name and not cluster.name.startswith("~") else None
            for name, value in _summary_fields(summary, members).items():
                setattr(cluster, name, value)
            if keep_name:
                cluster.name = keep_name
        cluster.size = len(group)
        cluster.save()


def _action(run: DiscoveryRun, user: User, kind: str, summary: str, before: dict, created: dict) -> ClusterAction:
    return ClusterAction.objects.create(run=run, user=user, kind=kind, summary=summary[:300], before=before,
                                        created=created)


def _check_active(run: DiscoveryRun, cluster_ids: list[int]) -> list[Cluster]:
    clusters = list(Cluster.objects.select_for_update().filter(run=run, pk__in=cluster_ids, active=True))
    if len(clusters) != len(set(cluster_ids)):
        raise ValidationError("some of those clusters are not active clusters of this run")
    return clusters


@transaction.atomic
def cluster_merge(*, run: DiscoveryRun, user: User, cluster_ids: list[int], name: str = "") -> Cluster:
    """Merge clusters into a new one (keywords and quotes recomputed); the old ones become history."""
    if len(set(cluster_ids)) < 2:
        raise ValidationError("choose at least two clusters to merge")
    clusters = _check_active(run, cluster_ids)
    members = [m for c in clusters for m in _member_ids(c)]
    before = _snapshot(clusters, members_of=clusters)
    merged = Cluster.objects.create(run=run, name=name or "~merged", size=len(members))
    ClusterAssignment.objects.filter(run=run, cluster__in=[c.pk for c in clusters]).update(cluster=merged)
    Cluster.objects.filter(pk__in=[c.pk for c in clusters]).update(active=False)
    for c in clusters:
        c.active = False
    _summarize(run, {merged: members})
    _action(run, user, ClusterAction.Kind.MERGE, f"merged {', '.join(c.name for c in clusters)}", before,
            {"clusters": [merged.pk]})
    return merged


@transaction.atomic
def cluster_split(*, run: DiscoveryRun, user: User, cluster_id: int, k: int) -> list[Cluster]:
    """Split a cluster into k sub-clusters by their embeddings."""
    (cluster,) = _check_active(run, [cluster_id])
    every = _member_ids(cluster)
    if not 2 <= k <= len(every):
        raise ValidationError(f"a cluster of {len(every)} responses can be split into 2 to {len(every)} parts")
    store = embedding_store_get(project=run.project)
    rows = store.rows_of(every)
    members = [m for m, r in zip(every, rows, strict=True) if r >= 0]
    if len(members) < k:
        raise ValidationError("the embeddings of this cluster's responses are not ready yet")
    sub = ml_discovery.split_cluster(store.vectors[rows[rows >= 0]], k, seed=run.seed)
    before = _snapshot([cluster], members_of=[cluster])
    groups = [[m for m, s in zip(members, sub, strict=True) if s == part] for part in range(k)]
    groups[0] += [m for m, r in zip(every, rows, strict=True) if r < 0]  # not embedded: with the largest part
    parts = {Cluster.objects.create(run=run, name="~split", parent=cluster, size=len(group)): group
             for group in groups if group}
    # The smaller parts move by their ids; the largest (the first) then takes whatever is left in the cluster,
    # without a list of ids.
    first, *others = parts
    for child in others:
        ClusterAssignment.objects.filter(run=run, cluster=cluster, response_id__in=parts[child]).update(cluster=child)
    ClusterAssignment.objects.filter(run=run, cluster=cluster).update(cluster=first)
    cluster.active = False
    cluster.save(update_fields=["active"])
    _summarize(run, parts, store)
    _action(run, user, ClusterAction.Kind.SPLIT, f"split {cluster.name} into {len(parts)}", before,
            {"clusters": [c.pk for c in parts]})
    return list(parts)


@transaction.atomic
def cluster_update(*, run: DiscoveryRun, user: User, cluster_id: int, name: str | None = None,
                   dismissed: bool | None = None) -> Cluster:
    """Rename a cluster or dismiss it (or bring it back)."""
    if name is None and dismissed is None:
        raise ValidationError("give a new name, or dismiss or restore the cluster")
    (cluster,) = _check_active(run, [cluster_id])
    before = _snapshot([cluster])
    if name is not None:
        if not name.strip():
            raise ValidationError("a cluster needs a name")
        cluster.name = name.strip()[:200]
        kind, summary = ClusterAction.Kind.RENAME, f"renamed {before['clusters'][str(cluster.pk)]['name']} to {name}"
    if dismissed is not None:
        cluster.dismissed = dismissed
        kind, summary = ClusterAction.Kind.DISMISS, f"{'dismissed' if dismissed else 'restored'} {cluster.name}"
    cluster.save()
    _action(run, user, kind, summary, before, {})
    return cluster


@transaction.atomic
def responses_move(*, run: DiscoveryRun, user: User, response_ids: list[int], cluster_id: int) -> Cluster:
    """Move responses of this run into another cluster; both sides are summarised again."""
    (target,) = _check_active(run, [cluster_id])
    assignments = ClusterAssignment.objects.filter(run=run, response_id__in=response_ids)
    if assignments.count() != len(set(response_ids)):
        raise ValidationError("some of those responses are not in this run")
    sources = list(Cluster.objects.filter(pk__in=assignments.values("cluster_id")).exclude(pk=target.pk))
    before = _snapshot([target, *sources], response_ids)
    assignments.update(cluster=target)
    _summarize(run, {c: _member_ids(c) for c in [target, *sources]})
    _action(run, user, ClusterAction.Kind.MOVE, f"moved {len(response_ids)} responses to {target.name}", before, {})
    return target


@transaction.atomic
def cluster_make_theme(*, run: DiscoveryRun, user: User, cluster_id: int, name: str, response_ids: list[int],
                       description: str = "") -> Theme:
    """Create a theme from a cluster and label the ticked members with it, as the analyst's labels."""
    (cluster,) = _check_active(run, [cluster_id])
    members = set(_member_ids(cluster))
    stray = set(response_ids) - members
    if stray:
        raise ValidationError(f"{len(stray)} of the ticked responses are not in this cluster")
    existing = run.project.themes.filter(name__iexact=name.strip(), archived=False).first()
    theme = existing or theme_create(project=run.project, name=name, description=description)
    made = annotations_add_theme(project=run.project, user=user, response_ids=response_ids, theme_id=theme.pk)
    before = _snapshot([cluster])
    cluster.theme = theme
    cluster.save(update_fields=["theme"])
    _action(run, user, ClusterAction.Kind.MAKE_THEME, f"made theme {theme.name} from {cluster.name}", before,
            {"theme": theme.pk if existing is None else None, "annotations": [a.pk for a in made]})
    return theme


@transaction.atomic
def cluster_action_undo(*, run: DiscoveryRun, user: User, action_id: int | None = None) -> ClusterAction:
    """Undo the latest (or a given) action of a run that is not undone yet: clusters, assignments, labels."""
    actions = run.actions.select_for_update().filter(undone=False)
    action = actions.filter(pk=action_id).first() if action_id else actions.first()
    if action is None:
        raise ValidationError("there is nothing to undo")
    if actions.filter(created_at__gt=action.created_at).exists():
        raise ValidationError("undo the later actions first")
    for pk, fields in action.before.get("clusters", {}).items():
        Cluster.objects.filter(pk=int(pk), run=run).update(**fields)
    for response_id, cluster_id in action.before.get("assignments", {}).items():
        ClusterAssignment.objects.filter(run=run, response_id=int(response_id)).update(cluster_id=cluster_id)
    Cluster.objects.filter(pk__in=action.created.get("clusters", []), run=run).update(active=False)
    _labels_revert(run.project, action.created.get("annotations", []))
    if action.created.get("theme"):
        Theme.objects.filter(pk=action.created["theme"], project=run.project).update(archived=True, shortcut="")
    action.undone = True
    action.save(update_fields=["undone"])
    return action


def _labels_revert(project: Project, annotation_ids: list[int]) -> None:
    """Withdraw annotations an action made; the ones they superseded become current again (history kept)."""
    if not annotation_ids:
        return
    from django.db.models import F

    made = list(Annotation.objects.select_for_update().filter(pk__in=annotation_ids, is_current=True))
    Annotation.objects.filter(pk__in=[a.pk for a in made]).update(is_current=False)
    Annotation.objects.filter(pk__in=[a.supersedes_id for a in made if a.supersedes_id]).update(is_current=True)
    Project.objects.filter(pk=project.pk).update(labels_revision=F("labels_revision") + 1)
    from labeling_app.projects.services.training_requests import training_request

    training_request(project=project)


def discovery_runs_waiting_release(*, run: EmbeddingRun, **_: object) -> None:
    """An embedding run ended (modeling.signals.embedding_run_finished): the discovery runs that waited for its
    vectors are sent now, or fail saying why when the vectors could not be made."""
    waiting = DiscoveryRun.objects.filter(project_id=run.project_id, status=DiscoveryRun.Status.PENDING,
                                          message__startswith=WAITING_FOR_EMBEDDINGS)
    if run.status != EmbeddingRun.Status.SUCCEEDED:
        waiting.update(status=DiscoveryRun.Status.FAILED, finished_at=timezone.now(),
                       message=f"the responses could not be embedded: {run.message}")
        return
    for discovery_id in waiting.values_list("pk", flat=True):
        enqueue_on_commit(TASK_DISCOVERY_COMPUTE, discovery_run_id=discovery_id)


def run_files_prune(*, project_id: int, keep: int = RUN_FILES_KEPT) -> None:
    """Remove the files of the project's discovery runs older than its ``keep`` newest finished ones."""
    runs = DiscoveryRun.objects.filter(project_id=project_id, status=DiscoveryRun.Status.SUCCEEDED)
    old = runs.order_by("-created_at", "-id").values_list("pk", flat=True)[keep:]
    folders_remove_on_commit([run_folder_path(pk) for pk in old if run_folder_path(pk).exists()])
