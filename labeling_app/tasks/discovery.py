from celery import Task, shared_task

from labeling_app.services.discovery import discovery_layout_compute, discovery_run_execute


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, time_limit=30 * 60)
def discovery_compute(self: Task, *, discovery_run_id: int) -> str:
    """Cluster a project's responses for one discovery run; a finished run is not redone."""
    run = discovery_run_execute(discovery_run_id=discovery_run_id, task_id=self.request.id or "")
    return run.status if run else "skipped"


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=30 * 60)
def discovery_layout(*, discovery_run_id: int) -> str:
    """Compute the map layout of a finished discovery run; a run that has one is left alone."""
    return "done" if discovery_layout_compute(discovery_run_id=discovery_run_id) else "skipped"
