from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# What a running job's message says once the sweep found its worker lost and sent it again (services.job_runs).
JOB_INTERRUPTED = "interrupted: the worker running it was lost; it is being run again"


class JobRun(models.Model):
    """The fields every background job row shares; services.job_runs claims, beats and fails them.

    Each job model redefines `status` with its own choices (they read well on its pages) and names which of its
    values mean waiting, running, done and failed in the JOB_* attributes; ModelVersion's differ.
    """

    JOB_PENDING: str | None = "pending"  # None: rows are created running (a retrain's version)
    JOB_RUNNING = "running"
    JOB_SUCCEEDED = "succeeded"
    JOB_FAILED = "failed"

    status = models.CharField(max_length=10)  # each job model redefines it with its own choices and default
    objects = models.Manager()

    task_id = models.CharField(max_length=255, blank=True)  # the delivery that owns the run (a fencing token)
    attempts = models.PositiveSmallIntegerField(default=0)  # deliveries to a worker (see services.job_runs)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Refreshed while a worker runs the job: a running row silent past JOB_STALE_AFTER_SECONDS lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in (self.JOB_SUCCEEDED, self.JOB_FAILED)

    @property
    def interrupted(self) -> bool:
        """Running, but its worker was lost: silent past the stale limit, or already sent again by the sweep."""
        if self.status != self.JOB_RUNNING:
            return False
        stale = self.heartbeat_at is None or (
            timezone.now() - self.heartbeat_at > timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS))
        return stale or self.message == JOB_INTERRUPTED
