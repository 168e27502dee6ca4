from celery import Task, shared_task

from labeling_app.services.embeddings import embedding_run_execute


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, time_limit=50 * 60)
def embeddings_compute(self: Task, *, embedding_run_id: int) -> str:
    """Embed a project's new or changed responses; a finished run is not redone."""
    run = embedding_run_execute(embedding_run_id=embedding_run_id, task_id=self.request.id or "")
    return run.status if run else "skipped"
