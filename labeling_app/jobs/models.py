import json
from datetime import timedelta
from typing import Any

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


class OutboxJob(models.Model):
    """A background job asked for and not yet handed to the broker (see services.jobs).

    Written in the transaction that asks for the job, deleted once the broker has the message: while
    Redis is down the rows wait here, and the workers' sweep sends them when it is back.
    """

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    # task and kwargs in one string: repeated requests for the same job (a retrain per label batch) are sent once.
    key = models.CharField(max_length=255, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set when a send after commit found the broker down: the request that asked is answered 202, and the
    # sweep sends it without waiting for its grace period.
    send_failed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def key_for(task_name: str, ids: dict[str, Any]) -> str:
        """The same task with the same ids is the same job (sent once however often asked)."""
        return f"{task_name}:{json.dumps(ids, sort_keys=True)}"[:255]
