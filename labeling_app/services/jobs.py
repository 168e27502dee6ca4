"""Background jobs: sent after commit, counted per delivery, and sent again when a worker starts.

Long tasks are acknowledged late and rejected back to the queue when their worker dies, so a lost worker
never loses a job. The other side of that: a job that kills its worker (out of memory, a hostile file) is
delivered again and again. Each job row counts its deliveries (`attempts`, bumped when a delivery claims it)
and a delivery past JOB_MAX_ATTEMPTS fails the job with `job_attempts_exhausted`'s reason instead of running.
"""
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, **ids: int) -> None:
    """Send `task` with keyword ids once the current transaction commits (at once outside one).

    When the broker is down the work is already recorded (a pending job row); it is sent again when a
    worker starts (`jobs_resume_pending`), never run in the web process instead.
    """

    def send() -> None:
        try:
            task.apply_async(kwargs=ids, retry=False)
        except OperationalError:
            logger.warning("broker unavailable: %s(%s) stays pending until a worker starts", task.name, ids)

    transaction.on_commit(send)


def job_attempts_exhausted(attempts: int) -> str | None:
    """The reason to fail a job on its delivery number `attempts` (counting this one), or None to run it."""
    limit = settings.JOB_MAX_ATTEMPTS
    if attempts <= limit:
        return None
    return (f"stopped after {limit} attempts: each time the worker running it was lost (killed or out of "
            "memory), so it is not run again")


def jobs_resume_pending() -> int:
    """Send again the work that never reached a worker (called when a worker starts); returns how many.

    Pending imports, embedding runs and discovery runs are sent as they are; a project whose labels are
    ahead of its current model with no live retrain (a request lost while the broker was down) gets one.
    """
    from labeling_app.models import DiscoveryRun, EmbeddingRun, ImportJob, ModelVersion, Project
    from labeling_app.tasks.discovery import discovery_compute
    from labeling_app.tasks.embeddings import embeddings_compute
    from labeling_app.tasks.imports import import_run
    from labeling_app.tasks.training import retrain

    sent = 0
    for job_id in ImportJob.objects.filter(status=ImportJob.Status.PENDING).values_list("pk", flat=True):
        import_run.apply_async(kwargs={"import_job_id": job_id})
        sent += 1
    for run_id in EmbeddingRun.objects.filter(status=EmbeddingRun.Status.PENDING).values_list("pk", flat=True):
        embeddings_compute.apply_async(kwargs={"embedding_run_id": run_id})
        sent += 1
    for run_id in DiscoveryRun.objects.filter(status=DiscoveryRun.Status.PENDING).values_list("pk", flat=True):
        discovery_compute.apply_async(kwargs={"discovery_run_id": run_id})
        sent += 1

    fresh = timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER_SECONDS)
    live = ModelVersion.objects.filter(project=OuterRef("pk"), status=ModelVersion.Status.TRAINING,
                                       heartbeat_at__gte=fresh)
    # A retrain of these very labels that failed was delivered, not lost: sending it again would only
    # repeat it (and one that killed its workers would kill this one too).
    failed = ModelVersion.objects.filter(project=OuterRef("pk"), status=ModelVersion.Status.FAILED,
                                         labels_revision=OuterRef("labels_revision"))
    behind = Project.objects.filter(
        Q(current_model__isnull=True, labels_revision__gt=0)
        | Q(labels_revision__gt=F("current_model__labels_revision"))
    ).exclude(Exists(live)).exclude(Exists(failed))
    for project_id in behind.values_list("pk", flat=True):
        retrain.apply_async(kwargs={"project_id": project_id})
        sent += 1
    return sent
