from celery import Task, shared_task
from django.conf import settings

from labeling_app.jobs.registry import TASK_RETRAIN
from labeling_app.jobs.services.outbox import job_started_unmark
from labeling_app.modeling.services.training import training_run

# Hard limit: the pool process is killed (the job goes stale and is sent again, up to its attempts). The soft
# limit comes first and fails the job, saying so (services.job_runs.TIME_LIMIT).
_LIMITS = {"time_limit": settings.TRAINING_TIME_LIMIT_SECONDS,
           "soft_time_limit": settings.TRAINING_TIME_LIMIT_SECONDS - settings.JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, **_LIMITS, name=TASK_RETRAIN)
def retrain(self: Task, *, project_id: int) -> str:
    """Retrain a project's classifier; guarded in the database (see services.training)."""
    job_started_unmark(self.name, project_id=project_id)  # before the run reads the labels
    version = training_run(project_id=project_id, task_id=self.request.id or "")
    return f"v{version.number} {version.status}" if version else "coalesced"
