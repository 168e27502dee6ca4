"""The retraining loop against a real Celery worker process and Redis: coalescing and a killed worker."""
import time

import psutil
import pytest

from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Project, Role
from tests.conftest import demo_project_make
from tests.factories import UserFactory

pytestmark = pytest.mark.worker


def _settled(project: Project, timeout: float = 90) -> Project:
    """Wait until no run is in flight and the current version has seen every label."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        project.refresh_from_db()
        busy = project.model_versions.filter(status=ModelVersion.Status.TRAINING).exists()
        current = project.current_model
        if not busy and current is not None and current.labels_revision == project.labels_revision:
            time.sleep(1.0)  # a last queued request may still be on its way
            project.refresh_from_db()
            if not project.model_versions.filter(status=ModelVersion.Status.TRAINING).exists():
                return project
        time.sleep(0.1)
    pytest.fail(f"retraining did not settle: {list(project.model_versions.values('number', 'status', 'error'))}")


@pytest.fixture
def loop_project(transactional_db, demo_vectors):
    analyst = UserFactory(username="kim-analyst")
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=120)
    first = training_run(project_id=project.pk, task_id="setup")
    assert first.status == ModelVersion.Status.READY
    project.refresh_from_db()
    return project, analyst


def embedded_answers_add(project, n: int) -> None:
    """Add n answers to the project with stored embeddings (the project's own vectors, reused): a retrain of a
    bigger project, seconds of predicting and ranking, without any embedding work."""
    from labeling_app.modeling.models import ResponseEmbedding
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from labeling_app.projects.models import Response
    from ml.embeddings import text_hash

    vectors = [bytes(v) for v in ResponseEmbedding.objects.filter(response__project=project).values_list(
        "vector", flat=True)]
    extra = Response.objects.bulk_create(Response(project=project, respondent_id=f"X{i}", text=f"more answers {i}")
                                         for i in range(n))
    ResponseEmbedding.objects.bulk_create(
        (ResponseEmbedding(response=r, model_name=embedding_model_name(), text_hash=text_hash(r.text),
                           vector=vectors[i % len(vectors)]) for i, r in enumerate(extra)), batch_size=5000)


def _batches(project: Project, n: int, size: int = 5):
    unlabelled = list(project.responses.filter(annotations__isnull=True).order_by("pk")[: n * size])
    theme = project.themes.order_by("order").first()
    return [[AnnotationItem(r.pk, [theme.pk]) for r in unlabelled[i * size:(i + 1) * size]] for i in range(n)]


def test_five_quick_batches_give_at_most_two_retrains(loop_project, celery_worker_process):
    project, analyst = loop_project
    for items in _batches(project, 5):
        annotation_submit(project=project, user=analyst, items=items)
    project = _settled(project)
    made = project.model_versions.exclude(task_id="setup")
    assert 1 <= made.count() <= 2, list(made.values("number", "status"))
    assert project.current_model.labelled_responses == 120 + 25
    assert not made.filter(status=ModelVersion.Status.FAILED).exists()


def test_a_killed_worker_leaves_the_old_version_then_the_redelivered_run_makes_one(loop_project,
                                                                                 celery_worker_process):
    project, analyst = loop_project
    previous = project.current_model
    first, second = _batches(project, 2)
    annotation_submit(project=project, user=analyst, items=first)

    deadline = time.monotonic() + 60
    while not (running := project.model_versions.filter(status=ModelVersion.Status.TRAINING).first()):
        assert time.monotonic() < deadline, "the retrain never started"
        time.sleep(0.005)
    for child in psutil.Process(celery_worker_process.pid).children(recursive=True):
        child.kill()  # the pool process dies mid-run, as with the OOM killer
    running.refresh_from_db()
    assert running.status == ModelVersion.Status.TRAINING  # killed part-way, not after it finished
    project.refresh_from_db()
    assert project.current_model == previous  # nothing half-made became current

    project = _settled(project)
    redone = project.model_versions.get(task_id=running.task_id)
    assert redone.pk == running.pk  # the redelivered task took over its own version
    assert project.current_model == redone and redone.status == ModelVersion.Status.READY
    assert project.model_versions.filter(status=ModelVersion.Status.READY).count() == 2  # setup + this run

    annotation_submit(project=project, user=analyst, items=second)
    project = _settled(project)
    assert project.current_model.number == redone.number + 1
    assert project.current_model.labelled_responses == 120 + 10


def _wait_for(what: str, find, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while (found := find()) is None:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)
    return found


def test_a_retrain_that_kills_its_worker_every_time_is_failed_after_its_attempts(loop_project, celery_worker_process,
                                                                                settings, client):
    from django.urls import reverse

    project, analyst = loop_project
    previous = project.current_model
    # A bigger project, already embedded (retrains never embed): each delivery predicts and ranks 20,000 more
    # answers, seconds of work, time to kill it.
    embedded_answers_add(project, 20_000)
    annotation_submit(project=project, user=analyst, items=_batches(project, 1)[0])
    for attempt in range(1, settings.JOB_MAX_ATTEMPTS + 1):
        version = _wait_for(f"delivery {attempt}", lambda a=attempt: project.model_versions.filter(
            status=ModelVersion.Status.TRAINING, attempts=a).first())
        for child in psutil.Process(celery_worker_process.pid).children(recursive=True):
            child.kill()  # SIGKILL mid-run, as the OOM killer does; the task goes back to the queue
    failed = _wait_for("the run to be failed", lambda: project.model_versions.filter(
        pk=version.pk, status=ModelVersion.Status.FAILED).first())
    reason = f"stopped after {settings.JOB_MAX_ATTEMPTS} attempts: each time the worker running it was lost"
    assert failed.error.startswith(reason) and failed.attempts == settings.JOB_MAX_ATTEMPTS + 1
    time.sleep(3)  # no further delivery runs it again
    failed.refresh_from_db()
    assert failed.attempts == settings.JOB_MAX_ATTEMPTS + 1
    assert not project.model_versions.filter(status=ModelVersion.Status.TRAINING).exists()
    project.refresh_from_db()
    assert project.current_model == previous  # the last good version stays current
    client.force_login(analyst)
    assert reason in client.get(reverse("model", args=[project.pk])).content.decode()
    assert celery_worker_process.poll() is None  # the worker itself is still up, serving other jobs
