from celery import Task, shared_task
from django.conf import settings

from labeling_app.discovery.services import discovery_layout_compute, discovery_run_execute
from labeling_app.jobs.registry import TASK_DISCOVERY_COMPUTE, TASK_DISCOVERY_LAYOUT, job_task_options


@shared_task(**job_task_options(time_limit=settings.DISCOVERY_TIME_LIMIT_SECONDS), name=TASK_DISCOVERY_COMPUTE)
def discovery_compute(self: Task, *, discovery_run_id: int) -> str:
    """Cluster a project's responses for one discovery run; a finished run is not redone."""
    run = discovery_run_execute(discovery_run_id=discovery_run_id, task_id=self.request.id or "")
    return run.status if run else "skipped"


@shared_task(**job_task_options(time_limit=settings.DISCOVERY_TIME_LIMIT_SECONDS), name=TASK_DISCOVERY_LAYOUT)
def discovery_layout(self: Task, *, discovery_run_id: int) -> str:
    """Lay out the map of a finished discovery run (its MapLayout job); a finished layout is not redone."""
    run = discovery_layout_compute(discovery_run_id=discovery_run_id, task_id=self.request.id or "")
    return "done" if run else "skipped"
