"""One way to run a background job, used by every job row (models.jobs.JobRun: imports, discovery runs and their
map layouts, retrains, embedding runs while they plan and their chunks, PDF reports).

- Claim (`job_claim`, `job_claim_locked`): under a row lock, a delivery takes a row that is pending, or running
  and either its own (the same task id, delivered again after its worker was lost) or stale (no heartbeat for
  JOB_STALE_AFTER_SECONDS). Each claim counts an attempt; past JOB_MAX_ATTEMPTS the job is failed instead of run.
  Any other delivery (the job finished, or runs live under another task) is a duplicate and does nothing.
- Heartbeat (`job_heartbeat`): while the body runs, a thread refreshes `heartbeat_at` every JOB_HEARTBEAT_SECONDS,
  for as long as the row is running under this task id.
- Ownership (`job_succeed`, `JobLost`): the task id is a fencing token. The final write marks the row done only
  if it is still this delivery's; otherwise the transaction is rolled back, so a run that was taken over (its
  worker only looked dead) never writes its result next to the run that replaced it.
- Failure (`job_fail`): failed, a message and finished_at, and nothing else: whatever the job would have
  replaced (the previous clusters, the current model, the project's responses) stays as it was.
- Sweep (`jobs_stale_find` + services.jobs' sweep): a running row whose heartbeat is stale gets a new task id and
  its task is sent again, once per stale period; the claim rules make any other copy of the message harmless.

To put another job on this mechanism: make its model a JobRun (naming its status values in JOB_*), claim with
`job_claim`, run the body inside `job_heartbeat`, finish with `job_succeed` inside the transaction that writes
the result and `job_fail` on errors, and add a JobKind to JOB_KINDS (jobs.registry) so the sweep can send it again.
"""
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from labeling_app.jobs.models import JOB_INTERRUPTED, JobRun
from labeling_app.jobs.registry import JOB_KINDS
from labeling_app.jobs.selectors import job_stale_before

logger = logging.getLogger(__name__)
J = TypeVar("J", bound=JobRun)

TIME_LIMIT = "stopped: it ran past its time limit; nothing it was doing was kept"


class JobLost(Exception):
    """This delivery no longer owns its job (another delivery took it over): its result must not be written."""


def job_attempts_exhausted(attempts: int) -> str | None:
    """The reason to fail a job on its delivery number `attempts` (counting this one), or None to run it."""
    limit = settings.JOB_MAX_ATTEMPTS
    if attempts <= limit:
        return None
    return (f"stopped after {limit} attempts: each time the worker running it was lost (killed or out of "
            "memory), so it is not run again")


def _is_stale(job: JobRun) -> bool:
    return job.heartbeat_at is None or job.heartbeat_at < job_stale_before()


def job_claim_locked(job: J, *, task_id: str, on_exhausted: Callable[[J, str], None] | None = None) -> bool:
    """Decide whether delivery `task_id` runs `job`, a row the caller has locked; if so, mark it running.

    Returns False for a duplicate (finished, or running live under another task) and for a job past its
    attempts, which is failed (by `on_exhausted` when given, else `job_fail`) instead of run.
    """
    if job.status not in (job.JOB_PENDING, job.JOB_RUNNING):
        return False
    if job.status == job.JOB_RUNNING and job.task_id != task_id and not _is_stale(job):
        return False
    job.attempts += 1
    if reason := job_attempts_exhausted(job.attempts):
        job.save(update_fields=["attempts"])
        (on_exhausted or _fail_reason)(job, reason)
        return False
    now = timezone.now()
    job.status, job.task_id, job.started_at, job.heartbeat_at = job.JOB_RUNNING, task_id, now, now
    job.save(update_fields=["status", "task_id", "started_at", "heartbeat_at", "attempts"])
    return True


def _fail_reason(job: JobRun, reason: str) -> None:
    job_fail(job, reason)


def job_claim(model: type[J], *, pk: int, task_id: str, on_exhausted: Callable[[J, str], None] | None = None,
              select_related: tuple[str, ...] = ()) -> J | None:
    """Claim job `pk` of `model` for delivery `task_id` in one transaction (see `job_claim_locked`).

    Returns the row, marked running under this task id, or None when this delivery must not run it.
    """
    with transaction.atomic():
        # Only the job's row is locked: the related rows are read, not changed.
        rows = model.objects.select_for_update(of=("self",)).select_related(*select_related)
        job = rows.filter(pk=pk).first()
        if job is None or not job_claim_locked(job, task_id=task_id, on_exhausted=on_exhausted):
            return None
        return job


def job_running_values(*, task_id: str) -> dict[str, Any]:
    """Fields of a job row created already claimed by `task_id` (a retrain's new version)."""
    now = timezone.now()
    return {"task_id": task_id, "attempts": 1, "started_at": now, "heartbeat_at": now}


def job_fail(job: JobRun, message: str, *, task_id: str | None = None, **fields: Any) -> bool:
    """Record that `job` failed: status, `message`, finished_at (and `fields`); nothing else is touched.

    With `task_id`, only while the job is still running under that task (a delivery that was taken over
    does not fail its successor). Returns whether the row was changed; `job` is updated to match.
    """
    rows = type(job).objects.filter(pk=job.pk)
    if task_id is not None:
        rows = rows.filter(task_id=task_id, status=job.JOB_RUNNING)
    values = {"status": job.JOB_FAILED, "message": message, "finished_at": timezone.now(), **fields}
    if not rows.update(**values):
        return False
    for name, value in values.items():
        setattr(job, name, value)
    return True


def job_succeed(job: JobRun, *, task_id: str, message: str = "", **fields: Any) -> None:
    """Mark `job` succeeded (with `message` and `fields`) if it is still running under `task_id`.

    Call it inside the transaction that writes the job's result: when another delivery took the job over,
    it raises JobLost and the whole transaction, result included, is rolled back.
    """
    values = {"status": job.JOB_SUCCEEDED, "message": message, "finished_at": timezone.now(), **fields}
    if not type(job).objects.filter(pk=job.pk, task_id=task_id, status=job.JOB_RUNNING).update(**values):
        raise JobLost(f"{job._meta.model_name} {job.pk} is no longer run by task {task_id!r}")
    for name, value in values.items():
        setattr(job, name, value)


def job_failure_reason(exc: BaseException, default: str) -> str:
    """What to record for a job body that raised `exc`: the soft time limit says so, anything else `default`."""
    return TIME_LIMIT if isinstance(exc, SoftTimeLimitExceeded) else default


@contextmanager
def job_heartbeat(job: JobRun, *, task_id: str) -> Iterator[None]:
    """Refresh `job`'s heartbeat every JOB_HEARTBEAT_SECONDS while the body runs.

    A thread, because one step of a job (a fit, a clustering) can outlast the stale limit. It stops on its own
    once the row is no longer running under `task_id` (finished, or taken over by another delivery).
    """
    model, pk, running = type(job), job.pk, job.JOB_RUNNING
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    alive = model.objects.filter(pk=pk, task_id=task_id, status=running).update(
                        heartbeat_at=timezone.now())
                except DatabaseError:  # the database may be away for a moment: beat again next time
                    logger.warning("heartbeat of %s %s failed", model._meta.model_name, pk, exc_info=True)
                    continue
                if not alive:
                    return
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{model._meta.model_name}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def jobs_stale_find() -> Iterator[tuple[str, dict[str, int], str]]:
    """Running jobs whose heartbeat is stale, each taken over for one new delivery: (task, ids, new task id).

    Each row gets the new task id, a fresh heartbeat and the JOB_INTERRUPTED message in one conditional update, so
    of several sweeps one takes it, and it is not sent again until another stale period has passed. The
    caller sends the task with that id; the claim then knows it as the row's own delivery.
    """
    for kind in JOB_KINDS:
        model = apps.get_model(kind.model)
        stale = Q(heartbeat_at__lt=job_stale_before()) | Q(heartbeat_at__isnull=True)
        running = model.objects.filter(stale, status=model.JOB_RUNNING)
        for job in (running.filter(kind.only) if kind.only is not None else running).order_by("pk"):
            new_id = str(uuid.uuid4())
            taken = model.objects.filter(stale, pk=job.pk, status=model.JOB_RUNNING, task_id=job.task_id).update(
                task_id=new_id, heartbeat_at=timezone.now(), message=JOB_INTERRUPTED)
            if taken:
                logger.warning("%s %s lost its worker (task %s): sent again as %s", kind.model, job.pk, job.task_id,
                               new_id)
                yield kind.task, kind.ids(job), new_id
