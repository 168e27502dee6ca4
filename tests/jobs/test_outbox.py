"""Work recorded while the broker was down is sent when a worker starts, and jobs stop after their attempts."""
import base64
import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from labeling_app.discovery.models import DiscoveryRun, MapLayout
from labeling_app.exporting.models import ReportExport
from labeling_app.importing.models import ImportJob
from labeling_app.jobs.models import OutboxJob
from labeling_app.jobs.services.outbox import job_attempts_exhausted, job_started_unmark, jobs_resume_pending
from labeling_app.modeling.models import EmbeddingRun, ModelVersion
from labeling_app.projects.models import Project
from tests.factories import ProjectFactory

QUEUES = ("default", "imports", "embeddings", "training")


@pytest.fixture
def broker():
    """This installation's queues in the test Redis, empty before and after the test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = [f"{settings.REDIS_KEY_PREFIX}{q}" for q in QUEUES]
    client.delete(*keys)
    yield client, keys
    client.delete(*keys)


def _sent(client: redis.Redis, keys: list[str]) -> list[tuple[str, dict]]:
    """(task name, kwargs) of every message waiting in this installation's queues."""
    found = []
    for key in keys:
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            found.append((message["headers"]["task"].rsplit(".", 1)[-1], kwargs))
    return sorted(found, key=lambda m: (m[0], sorted(m[1].items())))


def _project(name: str, *, revision: int, current_at: int | None = None) -> Project:
    project = ProjectFactory(name=name)
    if current_at is not None:
        current = ModelVersion.objects.create(project=project, number=1, status=ModelVersion.Status.READY,
                                              labels_revision=current_at)
        project.current_model = current
    project.labels_revision = revision
    project.save()
    return project


@pytest.mark.worker
@pytest.mark.django_db
def test_a_starting_worker_is_sent_pending_jobs_and_one_retrain_per_project_left_behind(broker):
    upload = SimpleUploadedFile("a.csv", b"respondent_id,response\nR1,x\n")
    base = ProjectFactory(name="Jobs")
    pending_import = ImportJob.objects.create(project=base, file=upload, original_name="a.csv")
    ImportJob.objects.create(project=base, file=upload, original_name="b.csv", status=ImportJob.Status.SUCCEEDED)
    pending_embedding = EmbeddingRun.objects.create(project=base)
    EmbeddingRun.objects.create(project=base, status=EmbeddingRun.Status.RUNNING)
    pending_discovery = DiscoveryRun.objects.create(project=base)
    DiscoveryRun.objects.create(project=base, status=DiscoveryRun.Status.SUCCEEDED)
    laid_out = DiscoveryRun.objects.create(project=base, status=DiscoveryRun.Status.SUCCEEDED)
    MapLayout.objects.create(run=laid_out, status=MapLayout.Status.SUCCEEDED)
    pending_layout = MapLayout.objects.create(
        run=DiscoveryRun.objects.create(project=base, status=DiscoveryRun.Status.SUCCEEDED))
    pending_report = ReportExport.objects.create(project=base)
    ReportExport.objects.create(project=base, status=ReportExport.Status.SUCCEEDED)

    behind = _project("labels ahead of the model", revision=3, current_at=2)
    never_trained = _project("labelled, no model yet", revision=2)
    _project("model up to date", revision=3, current_at=3)
    _project("nothing labelled", revision=0)
    live = _project("a retrain is running", revision=3, current_at=2)
    ModelVersion.objects.create(project=live, number=2, task_id="running", labels_revision=3,
                                heartbeat_at=timezone.now())
    dead = _project("its retrain died", revision=3, current_at=2)
    ModelVersion.objects.create(project=dead, number=2, task_id="lost", labels_revision=3)
    ModelVersion.objects.filter(task_id="lost").update(heartbeat_at=timezone.now() - timedelta(hours=1))
    failed = _project("its retrain of these labels failed", revision=3, current_at=2)
    ModelVersion.objects.create(project=failed, number=2, status=ModelVersion.Status.FAILED, labels_revision=3)

    client, keys = broker
    assert jobs_resume_pending() == 8
    assert _sent(client, keys) == [
        ("discovery_compute", {"discovery_run_id": pending_discovery.pk}),
        ("discovery_layout", {"discovery_run_id": pending_layout.pk}),
        ("embeddings_compute", {"embedding_run_id": pending_embedding.pk}),
        ("import_run", {"import_job_id": pending_import.pk}),
        ("report_export_print", {"report_export_id": pending_report.pk}),
        ("retrain", {"project_id": behind.pk}),
        ("retrain", {"project_id": never_trained.pk}),
        ("retrain", {"project_id": dead.pk}),
    ]


def test_the_attempt_limit_is_a_setting_and_the_reason_says_what_happened(settings):
    settings.JOB_MAX_ATTEMPTS = 2
    assert job_attempts_exhausted(1) is None and job_attempts_exhausted(2) is None
    assert job_attempts_exhausted(3) == ("stopped after 2 attempts: each time the worker running it was lost "
                                         "(killed or out of memory), so it is not run again")


@pytest.mark.django_db
def test_an_import_delivered_past_the_limit_fails_without_running_and_its_page_says_why(prepare_project, client):
    from django.urls import reverse

    from labeling_app.importing.services import import_job_run

    project = prepare_project.project
    job = ImportJob.objects.create(project=project, original_name="a.csv", task_id="t", attempts=3,
                                   status=ImportJob.Status.RUNNING, started_at=timezone.now(),
                                   file=SimpleUploadedFile("a.csv", b"respondent_id,response\nNEW1,x\n"))
    assert import_job_run(import_job_id=job.pk, task_id="t") is None
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.attempts == 4
    assert not project.responses.filter(respondent_id="NEW1").exists()
    client.force_login(prepare_project.admin)
    page = client.get(reverse("import-progress", args=[project.pk, job.pk])).content.decode()
    assert "Nothing was imported: the import was stopped after 3 attempts: each time the worker" in page


@pytest.mark.django_db
def test_embedding_and_discovery_runs_delivered_past_the_limit_fail_without_running(prepare_project):
    from labeling_app.discovery.services import discovery_run_execute
    from labeling_app.modeling.services.embeddings import embedding_run_execute

    project = prepare_project.project
    embedding = EmbeddingRun.objects.create(project=project, attempts=3)
    discovery = DiscoveryRun.objects.create(project=project, attempts=3)
    assert embedding_run_execute(embedding_run_id=embedding.pk, task_id="t") is None
    assert discovery_run_execute(discovery_run_id=discovery.pk, task_id="t") is None
    for run in (embedding, discovery):
        run.refresh_from_db()
        assert run.status == "failed" and run.attempts == 4
        assert run.message.startswith("stopped after 3 attempts")
    assert not project.responses.filter(embedding__isnull=False).exists()


@pytest.mark.worker
@pytest.mark.django_db
def test_label_batches_send_one_retrain_while_one_waits_unstarted_and_a_new_one_once_it_started(
        broker, prepare_project, django_capture_on_commit_callbacks):
    from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
    from labeling_app.modeling.tasks.training import retrain

    p = prepare_project
    client, keys = broker
    responses = list(p.project.responses.all())
    for response in responses:  # three batches, three commits
        with django_capture_on_commit_callbacks(execute=True):
            annotation_submit(project=p.project, user=p.analyst, items=[
                AnnotationItem(response.pk, [p.themes[0].pk])])
    # The one waiting message starts after all three commits: it reads every label of them.
    assert _sent(client, keys) == [("retrain", {"project_id": p.project.pk})]
    assert not OutboxJob.objects.exists()  # asked for and handled: nothing left to the sweep

    job_started_unmark(retrain.name, project_id=p.project.pk)  # what the task does first
    with django_capture_on_commit_callbacks(execute=True):
        annotation_submit(project=p.project, user=p.analyst2, items=[
            AnnotationItem(responses[0].pk, [p.themes[1].pk])])
    # Labels after the run started (it may have read the labels already): a message of their own.
    assert _sent(client, keys) == [("retrain", {"project_id": p.project.pk})] * 2

    # A starting worker drops the marks (a message may have been lost or purged meanwhile), and sends this
    # project's retrain itself: its labels are ahead of its (missing) model.
    assert jobs_resume_pending() == 1
    with django_capture_on_commit_callbacks(execute=True):
        annotation_submit(project=p.project, user=p.analyst2, items=[
            AnnotationItem(responses[1].pk, [p.themes[1].pk])])
    assert _sent(client, keys) == [("retrain", {"project_id": p.project.pk})] * 4
