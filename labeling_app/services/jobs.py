"""Side effects after commit: tasks are enqueued only once the data they read is committed."""
import logging
from typing import Any

from django.db import transaction
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


def jobs_resume_pending() -> int:
    """Send again the recorded jobs that never reached a worker (called when a worker starts)."""
    from labeling_app.models import EmbeddingRun, ImportJob
    from labeling_app.tasks.embeddings import embeddings_compute
    from labeling_app.tasks.imports import import_run

    sent = 0
    for job_id in ImportJob.objects.filter(status=ImportJob.Status.PENDING).values_list("pk", flat=True):
        import_run.apply_async(kwargs={"import_job_id": job_id})
        sent += 1
    for run_id in EmbeddingRun.objects.filter(status=EmbeddingRun.Status.PENDING).values_list("pk", flat=True):
        embeddings_compute.apply_async(kwargs={"embedding_run_id": run_id})
        sent += 1
    return sent
