"""The retraining loop against a real Celery worker process and Redis: coalescing and a killed worker."""
import time

import psutil
import pytest

from labeling_app.models import ModelVersion, Project, Role
from labeling_app.services.annotations import AnnotationItem, annotation_submit
from labeling_app.services.training import training_run
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
