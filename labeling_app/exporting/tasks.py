from celery import Task, shared_task
from django.conf import settings

from labeling_app.exporting.services import report_export_run
from labeling_app.jobs.registry import TASK_REPORT_PDF, job_task_options


@shared_task(**job_task_options(time_limit=settings.REPORT_TIME_LIMIT_SECONDS), name=TASK_REPORT_PDF)
def report_export_print(self: Task, *, report_export_id: int) -> str:
    """Print one requested PDF report; safe to deliver twice (see report_export_run)."""
    job = report_export_run(report_export_id=report_export_id, task_id=self.request.id or "")
    return job.status if job else "skipped"
