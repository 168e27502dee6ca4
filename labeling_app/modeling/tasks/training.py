from celery import Task, shared_task
from django.conf import settings

from labeling_app.jobs.registry import TASK_RETRAIN, job_task_options
from labeling_app.jobs.services.outbox import job_started_unmark
from labeling_app.modeling.services.training import training_run


@shared_task(**job_task_options(time_limit=settings.TRAINING_TIME_LIMIT_SECONDS), name=TASK_RETRAIN)
def retrain(self: Task, *, project_id: int) -> str:
    """Retrain a project's classifier; guarded in the database (see services.training)."""
    job_started_unmark(self.name, project_id=project_id)  # before the run reads the labels
    version = training_run(project_id=project_id, task_id=self.request.id or "")
    return f"v{version.number} {version.status}" if version else "coalesced"
