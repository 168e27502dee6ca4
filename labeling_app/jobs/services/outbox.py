"""Background jobs: kept in an outbox until the broker has them, counted per delivery, and sent again.

Asking for a job writes an outbox row (OutboxJob) in the transaction that asks; after commit the message is
sent and the row deleted. While Redis is down the send fails and the row stays: every worker runs a sweep
(`jobs_sweep_start`) that sends what is left once the broker answers again, so nothing asked for during an
outage is lost, and a web process never runs the job itself. A job asked for by every label batch (a retrain)
is sent once while its message waits unstarted (`enqueue_coalesced_on_commit`).

A request never waits long for a Redis that is away: a send tries to connect once, with short timeouts (the
broker's transport options in settings), and its failure opens this process's Redis breaker
(core.redis_breaker). While the breaker is open, sends and waiting marks skip Redis at once: the row is kept,
marked `send_failed_at`, for the sweep. A probe closes the breaker within a second or so of Redis answering, and
the next send goes through as usual. The sweep's own sends (`background`) are tried even while it is open.

Long tasks are acknowledged late and rejected back to the queue when their pool process dies. When the whole
worker dies, its message waits for Redis's visibility timeout; the sweep does not wait that long: a running
job whose heartbeat went stale is sent again (`jobs_stale_resend`; the rules are in services.job_runs). A job
that kills its worker (out of memory, a hostile file) would come back again and again: each job row counts
its deliveries and one past JOB_MAX_ATTEMPTS fails the job with `job_attempts_exhausted`'s reason instead.
"""
import logging
import threading
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from labeling_app.core.db import rows_delete
from labeling_app.core.redis_breaker import redis_breaker_close, redis_breaker_is_open, redis_breaker_trip
from labeling_app.jobs.models import OutboxJob
from labeling_app.jobs.registry import JOB_KINDS, TASK_NAMES
from labeling_app.jobs.services.runs import job_attempts_exhausted, jobs_stale_find

__all__ = ["enqueue_coalesced_on_commit", "enqueue_on_commit", "job_attempts_exhausted", "job_started_unmark",
           "jobs_outbox_send", "jobs_resume_pending", "jobs_stale_resend", "jobs_sweep_start",
           "jobs_waiting_marks_clear"]

logger = logging.getLogger(__name__)


def _send(task_name: str, ids: dict[str, Any], *, task_id: str | None = None, background: bool = False) -> bool:
    """Hand one message to the broker; False when it is unreachable (the caller keeps the outbox row).

    While this process's Redis breaker is open (an earlier call failed) nothing is tried: False at once. A
    `background` send (a worker's sweep or start, off any request) tries anyway, and closes the breaker when it
    gets through.
    """
    from labeling_app.celery import app

    if not background and redis_breaker_is_open():
        logger.info("broker unavailable: %s(%s) stays in the outbox", task_name, ids)
        return False
    try:
        # By name: the web process need not import a task module (routing goes by name too, CELERY_TASK_ROUTES).
        app.send_task(task_name, kwargs=ids, retry=False, task_id=task_id)
    except (OperationalError, RedisError, OSError) as exc:
        logger.warning("broker unavailable: %s(%s) stays in the outbox (%s)", task_name, ids, exc)
        redis_breaker_trip(exc)
        return False
    redis_breaker_close()
    return True


def enqueue_on_commit(task: str, **ids: int) -> None:
    """Ask for the task registered as `task` (a jobs.registry name) with keyword ids: recorded now (in the current
    transaction), sent once it commits.

    When the broker is down the outbox row stays, marked, and the workers' sweep sends it when the broker is
    back (`jobs_outbox_send`); the job is never run in the web process instead.
    """
    _enqueue(task, ids, coalesce=False)


def enqueue_coalesced_on_commit(task: str, **ids: int) -> None:
    """`enqueue_on_commit` for a job asked for again and again (a retrain by every label batch of a project):
    while a message for the same task and ids waits in the broker, unstarted, asking again sends nothing.

    Decided after the commit: the waiting message's run starts after this transaction committed, so it sees
    what this transaction wrote. The task calls `job_started_unmark` before it reads anything. When Redis does
    not answer, the job is sent (or kept in the outbox) as `enqueue_on_commit` does: a mark never loses a job.
    """
    _enqueue(task, ids, coalesce=True)


def _enqueue(task: str, ids: dict[str, int], *, coalesce: bool) -> None:
    row = OutboxJob.objects.create(task=task, kwargs=ids, key=OutboxJob.key_for(task, ids))

    def send() -> None:
        if coalesce and _waiting_already(task, ids):
            rows_delete(OutboxJob, [row.pk])  # a message for this job waits unstarted: it will see these writes
        elif _send(task, ids):
            # One statement, in autocommit (every submit runs it; the ORM's delete costs more Python than it).
            rows_delete(OutboxJob, [row.pk])
        else:
            OutboxJob.objects.filter(pk=row.pk).update(send_failed_at=timezone.now())

    transaction.on_commit(send)


#: How long a job's "a message waits, unstarted" mark lasts at most (its task clears it when it starts). Only a
#: message that never starts (its worker died before taking it) leaves it: asking again then sends again.
WAITING_MARK_SECONDS = 60
_marks: dict[str, redis.Redis] = {}


def _mark_client() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _marks:  # one client (and connection pool) per process
        _marks[url] = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1, retry=None)
    return _marks[url]


def _waiting_key(task_name: str, ids: dict[str, Any]) -> str:
    return f"{settings.REDIS_KEY_PREFIX}waiting:{OutboxJob.key_for(task_name, ids)}"


def _waiting_already(task_name: str, ids: dict[str, Any]) -> bool:
    """Mark the job as waiting; True when it was marked already (a message waits). False when Redis does not
    answer (or its breaker is open): the caller sends, so a mark never holds a job back."""
    if redis_breaker_is_open():
        return False
    try:
        return not _mark_client().set(_waiting_key(task_name, ids), 1, nx=True, ex=WAITING_MARK_SECONDS)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        redis_breaker_trip(exc)
        return False
    except RedisError:  # Redis answered (an error of its own): no reason to hold it for down
        return False


def jobs_waiting_marks_clear() -> int:
    """Drop every "a message waits" mark (a worker starting: messages may have been lost or purged meanwhile,
    and asking again must send again); returns how many. Redis down: nothing to drop that would hold a job."""
    client = _mark_client()
    try:
        keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}waiting:*", count=1000))
        return client.delete(*keys) if keys else 0
    except RedisError:
        return 0


def job_started_unmark(task_name: str, **ids: int) -> None:
    """A coalesced job's task has started: asking for the job again sends a new message (see
    `enqueue_coalesced_on_commit`). Call it before the task reads anything."""
    try:
        _mark_client().delete(_waiting_key(task_name, ids))
    except RedisError:  # the mark runs out on its own
        logger.warning("could not clear the waiting mark of %s(%s)", task_name, ids, exc_info=True)


def enqueue_group_on_commit(task: str, kwargs_list: list[dict[str, int]]) -> None:
    """Ask for one run of the task registered as `task` per kwargs: recorded now, sent once the transaction commits
    as one Celery group,
    which the workers on the task's queue share out (the chunks of an embedding run).

    Kept in the outbox like `enqueue_on_commit`: if the broker is down the rows stay, marked, and the sweep sends
    them one by one. No result backend is needed: nothing waits on the group's result.
    """
    if not kwargs_list:
        return
    rows = OutboxJob.objects.bulk_create(
        OutboxJob(task=task, kwargs=ids, key=OutboxJob.key_for(task, ids)) for ids in kwargs_list)
    pks = [row.pk for row in rows]

    def send() -> None:
        from celery import group

        from labeling_app.celery import app

        try:
            if redis_breaker_is_open():
                raise OperationalError("Redis breaker open")
            group(app.signature(task, kwargs=ids, immutable=True) for ids in kwargs_list).apply_async(retry=False)
        except (OperationalError, RedisError, OSError) as exc:
            logger.warning("broker unavailable: %s x%s stay in the outbox (%s)", task, len(pks), exc)
            redis_breaker_trip(exc)
            OutboxJob.objects.filter(pk__in=pks).update(send_failed_at=timezone.now())
            return
        OutboxJob.objects.filter(pk__in=pks).delete()

    transaction.on_commit(send)


def jobs_outbox_send(*, grace_seconds: float | None = None) -> int:
    """Send the outbox rows that are due; returns how many jobs were sent (stops when the broker is down).

    Due: a row whose send after commit failed, or any row older than the grace period (its web process died
    between commit and send). Rows of one job (a retrain asked for by each label batch) go as one message.
    Each job's rows are deleted in the transaction that sends it, so two sweeps never send one row twice;
    a row already sent is gone, so a job that was sent (and may be running) is never sent again from here.
    A duplicate delivery from elsewhere (a worker start's `jobs_resume_pending`) is harmless: every task
    claims its job row in the database first and skips a job that is running or finished.
    """
    grace = settings.JOBS_SEND_GRACE_SECONDS if grace_seconds is None else grace_seconds
    due = OutboxJob.objects.filter(
        Q(send_failed_at__isnull=False) | Q(created_at__lte=timezone.now() - timedelta(seconds=grace)))
    jobs: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, task_name, kwargs in due.order_by("pk").values_list("key", "task", "kwargs"):
        jobs.setdefault(key, (task_name, kwargs))
    sent = 0
    for key, (task_name, kwargs) in jobs.items():
        if task_name not in TASK_NAMES:  # left by a version whose task was renamed: dropped, never blocking the rest
            logger.error("outbox: no task %s any more; %s(%s) is dropped", task_name, task_name, kwargs)
            OutboxJob.objects.filter(key=key).delete()
            continue
        with transaction.atomic():
            deleted, _ = OutboxJob.objects.filter(key=key).delete()
            if not deleted:
                continue  # another sweep sent it meanwhile
            if not _send(task_name, kwargs, background=True):
                transaction.set_rollback(True)  # keep the rows for the next sweep
                break
        sent += 1
    if sent:
        logger.info("outbox: sent %s job(s) asked for while the broker was unavailable", sent)
    return sent


def jobs_stale_resend() -> int:
    """Send again every running job whose worker was lost (its heartbeat is stale); returns how many were sent.

    Each such job is sent once per JOB_STALE_AFTER_SECONDS, under a new task id its claim accepts (see
    services.job_runs.jobs_stale_find). A job that keeps losing its worker stops at JOB_MAX_ATTEMPTS.
    """
    sent = 0
    for task_name, ids, task_id in jobs_stale_find():
        # Broker down: the row keeps its new id and is found stale again one period later.
        sent += _send(task_name, ids, task_id=task_id, background=True)
    return sent


def _sweep_forever(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        for sweep in (jobs_outbox_send, jobs_stale_resend):
            try:
                sweep()
            except Exception:  # the database may be away too: try again at the next tick
                logger.exception("%s failed", sweep.__name__)
            finally:
                close_old_connections()


def jobs_sweep_start(*, interval: float | None = None) -> threading.Event:
    """Start this process's sweep (a daemon thread, every JOBS_SWEEP_SECONDS); set the event to stop it.

    Each tick sends the outbox (`jobs_outbox_send`) and the running jobs that lost their worker
    (`jobs_stale_resend`).

    Run by every worker (see labeling_app.jobs.tasks): the sweep needs no process of its own, keeps going while
    the worker's broker connection is down, and several workers sweeping at once send each job once.
    """
    stop = threading.Event()
    every = settings.JOBS_SWEEP_SECONDS if interval is None else interval
    threading.Thread(target=_sweep_forever, args=(stop, every), name="outbox-sweep", daemon=True).start()
    return stop


def jobs_resume_pending() -> int:
    """Send again the work that never reached a worker (called when a worker starts); returns how many.

    Pending imports, embedding runs, discovery runs, map layouts and PDF reports are sent as they are, and so are
    the pending chunks of running embedding runs; a project whose labels are ahead of its current model with no live
    retrain (a request lost while the broker was down) gets one.
    """
    from django.apps import apps
    from django.utils.module_loading import import_string

    jobs_waiting_marks_clear()  # whatever they marked as waiting may be what never reached a worker
    sent = 0
    for kind in JOB_KINDS:
        if kind.resume is not None:
            for row in apps.get_model(kind.model).objects.filter(kind.resume).order_by("pk"):
                sent += _send(kind.task, kind.ids(row), background=True)
        if kind.resume_with is not None:
            for ids in import_string(kind.resume_with)():
                sent += _send(kind.task, ids, background=True)
    return sent
