from celery import Task, shared_task

from labeling_app.services.training import training_run


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, time_limit=20 * 60)
def retrain(self: Task, *, project_id: int) -> str:
    """Retrain a project's classifier; guarded in the database (see services.training)."""
    version = training_run(project_id=project_id, task_id=self.request.id or "")
    return f"v{version.number} {version.status}" if version else "coalesced"
