"""Discovery actions: merge, split, move, rename, make theme, and undo of each; theme merge and template copy."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.discovery.models import Cluster, ClusterAssignment, DiscoveryRun, MapLayout
from labeling_app.discovery.services import (
    cluster_action_undo,
    cluster_make_theme,
    cluster_merge,
    cluster_split,
    cluster_update,
    discovery_run_execute,
    responses_move,
)
from labeling_app.labeling.models import Annotation
from labeling_app.labeling.services.theme_recode import theme_merge
from labeling_app.projects.models import Response, Role
from labeling_app.themes.models import Theme
from labeling_app.themes.services.themes import theme_set_copy
from tests.conftest import demo_project_make
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(analyst, demo_vectors):
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=0)
    run = DiscoveryRun.objects.create(project=project, n_clusters=8)
    done = discovery_run_execute(discovery_run_id=run.pk)
    assert done.status == DiscoveryRun.Status.SUCCEEDED, done.message
    return done


def members(cluster):
    return set(cluster.assignments.values_list("response_id", flat=True))


def state(run):
    clusters = {c.pk: (c.name, c.size, c.active, c.dismissed, tuple(c.keywords)) for c in run.clusters.all()}
    return clusters, dict(ClusterAssignment.objects.filter(run=run).values_list("response_id", "cluster_id"))


def test_a_run_assigns_every_response_once_with_readable_clusters(run):
    project = run.project
    assert ClusterAssignment.objects.filter(run=run).count() == project.responses.count()
    clusters = list(run.clusters.filter(is_outliers=False))
    assert len(clusters) == 8
    for c in clusters:
        assert c.size == len(members(c)) > 0
        assert c.keywords and c.name
        assert set(c.representative_ids) <= members(c)


def test_merge_then_undo(run, analyst):
    a, b = run.clusters.filter(is_outliers=False)[:2]
    before = state(run)
    union = members(a) | members(b)
    merged = cluster_merge(run=run, user=analyst, cluster_ids=[a.pk, b.pk])
    assert members(merged) == union and merged.size == len(union) and merged.keywords
    assert not Cluster.objects.get(pk=a.pk).active
    cluster_action_undo(run=run, user=analyst)
    assert state(run)[1] == before[1]
    assert {pk: v for pk, v in state(run)[0].items() if pk != merged.pk} == before[0]
    assert not Cluster.objects.get(pk=merged.pk).active


def test_split_then_undo(run, analyst):
    big = run.clusters.filter(is_outliers=False).order_by("-size").first()
    before = state(run)
    parts = cluster_split(run=run, user=analyst, cluster_id=big.pk, k=3)
    assert len(parts) == 3 and all(p.size > 0 for p in parts)
    assert set().union(*(members(p) for p in parts)) == before_members(before, big.pk)
    cluster_action_undo(run=run, user=analyst)
    assert state(run)[1] == before[1]


def before_members(snapshot, cluster_id):
    return {r for r, c in snapshot[1].items() if c == cluster_id}


def test_move_rename_dismiss_and_undo_in_order(run, analyst):
    a, b = run.clusters.filter(is_outliers=False)[:2]
    before = state(run)
    moving = sorted(members(a))[:2]
    responses_move(run=run, user=analyst, response_ids=moving, cluster_id=b.pk)
    assert set(moving) <= members(Cluster.objects.get(pk=b.pk))
    cluster_update(run=run, user=analyst, cluster_id=b.pk, name="Late deliveries")
    cluster_update(run=run, user=analyst, cluster_id=a.pk, dismissed=True)
    with pytest.raises(ValidationError, match="later actions first"):
        cluster_action_undo(run=run, user=analyst, action_id=run.actions.last().pk)
    for _ in range(3):
        cluster_action_undo(run=run, user=analyst)
    assert state(run) == before
    with pytest.raises(ValidationError, match="nothing to undo"):
        cluster_action_undo(run=run, user=analyst)


def test_make_theme_labels_only_the_ticked_members_and_undo_withdraws_them(run, analyst):
    cluster = run.clusters.filter(is_outliers=False).order_by("-size").first()
    ticked = sorted(members(cluster))[1:]
    theme = cluster_make_theme(run=run, user=analyst, cluster_id=cluster.pk, name="Too pricey", response_ids=ticked)
    labelled = set(Annotation.objects.filter(is_current=True, themes=theme).values_list("response_id", flat=True))
    assert labelled == set(ticked)
    assert Cluster.objects.get(pk=cluster.pk).theme == theme
    cluster_action_undo(run=run, user=analyst)
    assert not Annotation.objects.filter(is_current=True, themes=theme).exists()
    assert Annotation.objects.filter(themes=theme).count() == len(ticked)  # kept as history
    theme.refresh_from_db()
    assert theme.archived


def test_make_theme_refuses_responses_outside_the_cluster(run, analyst):
    a, b = run.clusters.filter(is_outliers=False)[:2]
    with pytest.raises(ValidationError, match="not in this cluster"):
        cluster_make_theme(run=run, user=analyst, cluster_id=a.pk, name="X", response_ids=[min(members(b))])
    assert not Theme.objects.filter(name="X").exists()


def test_theme_merge_keeps_every_label_and_its_history(analyst, demo_vectors):
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors)
    source, target = project.themes.get(name="Found Cheaper Alternative"), project.themes.get(name="Price Too High")
    with_source = set(Annotation.objects.filter(is_current=True, themes=source).values_list("response_id", flat=True))
    with_target = set(Annotation.objects.filter(is_current=True, themes=target).values_list("response_id", flat=True))
    labels_before = Annotation.themes.through.objects.filter(annotation__is_current=True).count()
    theme_merge(project=project, source=source, target=target)
    now = set(Annotation.objects.filter(is_current=True, themes=target).values_list("response_id", flat=True))
    assert now == with_source | with_target
    assert not Annotation.objects.filter(is_current=True, themes=source).exists()
    assert Annotation.objects.filter(is_current=False, themes=source).count() == len(with_source)  # history
    both = len(with_source & with_target)  # a response with both keeps one label, not two
    assert Annotation.themes.through.objects.filter(annotation__is_current=True).count() == labels_before - both
    source.refresh_from_db()
    assert source.archived and "Merged into" in source.description


def test_theme_set_copy_as_template(analyst, demo_vectors):
    source = demo_project_make({analyst: Role.ANALYST}, demo_vectors)
    source.themes.filter(name="Billing Issues").update(archived=True, shortcut="")
    target = ProjectFactory(name="Next survey")
    Theme.objects.create(project=target, name="price too high", order=1)
    made = theme_set_copy(source=source, target=target)
    names = set(target.themes.values_list("name", flat=True))
    assert "Billing Issues" not in names and "Price Too High" not in names  # archived / already there
    assert len(made) == source.themes.filter(archived=False).count() - 1
    assert {t.description for t in made} == {t.description for t in source.themes.filter(name__in=[m.name for m in made])}


def test_the_map_layout_is_computed_once_after_the_clusters(run):
    from labeling_app.discovery.selectors import map_points
    from labeling_app.discovery.services import discovery_layout_compute

    assert map_points(run=run) == {"ids": [], "pending": True}
    assert MapLayout.objects.get(pk=run.pk).status == MapLayout.Status.PENDING  # asked for with the clusters
    done = discovery_layout_compute(discovery_run_id=run.pk, task_id="first")
    points = map_points(run=done)
    assert len(points["ids"]) == run.project.responses.count()
    assert all(0 <= v <= 1 for v in points["x"] + points["y"])
    job = MapLayout.objects.get(pk=run.pk)
    assert (job.status, job.attempts, job.task_id) == (MapLayout.Status.SUCCEEDED, 1, "first")
    assert discovery_layout_compute(discovery_run_id=run.pk, task_id="again") is None  # already there
    assert MapLayout.objects.get(pk=run.pk).attempts == 1


def test_a_map_layout_that_fails_says_why_and_leaves_the_run_and_its_clusters(run):
    from labeling_app.discovery.selectors import map_points
    from labeling_app.discovery.services import discovery_layout_compute

    before = state(run)
    gone = run.project.responses.order_by("pk").first().pk
    Response.objects.filter(pk=gone).delete()  # between the clustering and the layout: its embedding goes too
    assert discovery_layout_compute(discovery_run_id=run.pk, task_id="t") is None
    job = MapLayout.objects.get(pk=run.pk)
    assert job.status == MapLayout.Status.FAILED and "1 of its responses have no embedding" in job.message
    assert job.finished_at is not None
    assert map_points(run=run) == {"ids": [], "failed": job.message}  # the map page says so instead of waiting
    run.refresh_from_db()
    assert run.status == DiscoveryRun.Status.SUCCEEDED and run.layout == b""
    clusters, assignments = state(run)
    assert clusters == before[0] and assignments == {r: c for r, c in before[1].items() if r != gone}
    assert discovery_layout_compute(discovery_run_id=run.pk, task_id="again") is None  # failed is final
    assert MapLayout.objects.get(pk=run.pk).attempts == 1


def test_theme_split_reoffers_its_responses_for_the_new_themes(analyst, demo_vectors):
    from labeling_app.labeling.models import LabelQueue
    from labeling_app.labeling.services.queue import queue_batch_lease
    from labeling_app.labeling.services.theme_recode import theme_split
    from labeling_app.modeling.services.training import training_run

    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors)
    training_run(project_id=project.pk, task_id="t0")
    old = project.themes.get(name="Delivery Problems")
    affected = set(Annotation.objects.filter(is_current=True, themes=old).values_list("response_id", flat=True))
    history = Annotation.objects.filter(themes=old).count()
    made = theme_split(project=project, theme=old, names=["Late delivery", "Damaged box"])
    assert [t.name for t in made] == ["Late delivery", "Damaged box"]
    old.refresh_from_db()
    assert old.archived and old.description.startswith("Split into Late delivery (code")
    assert not Annotation.objects.filter(is_current=True, themes=old).exists()
    assert Annotation.objects.filter(themes=old).count() == history  # the old labels stay as history
    assert set(LabelQueue.objects.get(project=project).response_ids[:len(affected)]) == affected
    batch = queue_batch_lease(project=project, user=analyst, size=len(affected))
    assert {r.pk for r in batch} == affected  # offered again, although they had other themes too
    with pytest.raises(ValidationError, match="two different names"):
        theme_split(project=project, theme=made[0], names=["Only one"])


def test_updating_a_cluster_with_nothing_to_change_is_refused(analyst):
    run = DiscoveryRun.objects.create(project=ProjectFactory(), status=DiscoveryRun.Status.SUCCEEDED)
    cluster = Cluster.objects.create(run=run, name="Too expensive", size=1)
    with pytest.raises(ValidationError, match="give a new name"):
        cluster_update(run=run, user=analyst, cluster_id=cluster.pk)
    assert not run.actions.exists()


def test_a_run_without_k_chooses_it_from_the_data(analyst, demo_vectors):
    from ml.discovery import candidate_ks

    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=0)
    run = DiscoveryRun.objects.create(project=project)  # the analyst left "Clusters" empty
    done = discovery_run_execute(discovery_run_id=run.pk)
    assert done.status == DiscoveryRun.Status.SUCCEEDED, done.message
    assert done.n_clusters is None
    k = done.clusters.filter(is_outliers=False).count()
    assert k in candidate_ks(project.responses.count())


def test_a_discovery_run_waits_for_missing_embeddings_and_is_sent_again_when_they_are_done(analyst, demo_vectors):
    from labeling_app.jobs.models import OutboxJob
    from labeling_app.modeling.models import EmbeddingRun, ResponseEmbedding
    from labeling_app.modeling.services.embeddings import embedding_chunk_execute, embedding_run_execute
    from tests.factories import ResponseFactory

    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=0)
    EmbeddingRun.objects.filter(project=project).update(status="succeeded")  # the setup's import: vectors stored
    new = ResponseFactory.create_batch(3, project=project)  # imported since: no embeddings yet
    run = DiscoveryRun.objects.create(project=project, n_clusters=6)
    OutboxJob.objects.all().delete()
    assert discovery_run_execute(discovery_run_id=run.pk, task_id="d1") is None
    run.refresh_from_db()
    assert run.status == DiscoveryRun.Status.PENDING and run.attempts == 0
    assert run.message.startswith("Waiting for the responses to be embedded")
    assert not ResponseEmbedding.objects.filter(response__in=new).exists()  # nothing embedded inline
    embedding = EmbeddingRun.objects.get(project=project, status="pending")
    embedding_run_execute(embedding_run_id=embedding.pk, task_id="plan")
    for chunk in embedding.chunks.all():
        embedding_chunk_execute(chunk_id=chunk.pk, task_id=f"c{chunk.pk}")
    # The embedding run's end sends the waiting discovery run again; now it clusters every response.
    assert [r.kwargs for r in OutboxJob.objects.filter(task__endswith="discovery_compute")] == [
        {"discovery_run_id": run.pk}]
    done = discovery_run_execute(discovery_run_id=run.pk, task_id="d2")
    assert done.status == DiscoveryRun.Status.SUCCEEDED and done.message == ""
    assert ClusterAssignment.objects.filter(run=run).count() == project.responses.count()
    assert ClusterAssignment.objects.filter(run=run, response__in=new).count() == 3
