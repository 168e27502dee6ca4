from celery import Task, shared_task
from django.conf import settings

from labeling_app.importing.services import import_job_run, import_uploads_prune
from labeling_app.jobs.registry import TASK_IMPORT_RUN, TASK_IMPORT_UPLOADS_PURGE, job_task_options


@shared_task(**job_task_options(time_limit=settings.IMPORT_TIME_LIMIT_SECONDS), name=TASK_IMPORT_RUN)
def import_run(self: Task, *, import_job_id: int) -> str:
    """Import one uploaded file; safe to deliver twice (see import_job_run)."""
    job = import_job_run(import_job_id=import_job_id, task_id=self.request.id or "")
    return job.status if job else "skipped"


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=10 * 60, name=TASK_IMPORT_UPLOADS_PURGE)
def import_uploads_purge() -> int:
    """Delete expired import uploads (CELERY_BEAT_SCHEDULE runs it hourly); idempotent, takes nothing."""
    return import_uploads_prune()
