from celery import Task, shared_task
from django.conf import settings

from labeling_app.exporting.services import report_export_run
from labeling_app.jobs.registry import TASK_REPORT_PDF

# Hard limit: the pool process is killed (the job goes stale and is sent again, up to its attempts). The soft
# limit comes first and fails the job, saying so (jobs.services.runs.TIME_LIMIT).
_LIMITS = {"time_limit": settings.REPORT_TIME_LIMIT_SECONDS,
           "soft_time_limit": settings.REPORT_TIME_LIMIT_SECONDS - settings.JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, **_LIMITS, name=TASK_REPORT_PDF)
def report_export_print(self: Task, *, report_export_id: int) -> str:
    """Print one requested PDF report; safe to deliver twice (see report_export_run)."""
    job = report_export_run(report_export_id=report_export_id, task_id=self.request.id or "")
    return job.status if job else "skipped"
