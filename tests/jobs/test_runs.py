"""The one job-run mechanism (services.job_runs): claim, heartbeat, ownership, failure record and the stale sweep.

Run these on PostgreSQL too (DATABASE_URL): the claim's row lock is what makes two deliveries exclusive there.
"""
import base64
import json
import threading
import time
from datetime import timedelta

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

from labeling_app.discovery.models import Cluster, DiscoveryRun
from labeling_app.jobs.models import JOB_INTERRUPTED
from labeling_app.jobs.services.outbox import jobs_stale_resend
from labeling_app.jobs.services.runs import (
    TIME_LIMIT,
    JobLost,
    job_claim,
    job_fail,
    job_failure_reason,
    job_heartbeat,
    job_succeed,
    jobs_stale_find,
)
from labeling_app.modeling.models import ModelVersion
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _run(**fields) -> DiscoveryRun:
    return DiscoveryRun.objects.create(project=ProjectFactory(), **fields)


def _ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_a_pending_job_is_claimed_once_and_marked_running(settings):
    run = _run()
    claimed = job_claim(DiscoveryRun, pk=run.pk, task_id="a")
    assert claimed is not None and claimed.status == "running" and claimed.task_id == "a" and claimed.attempts == 1
    assert claimed.started_at is not None and claimed.heartbeat_at is not None
    # Another delivery of a job running live is a duplicate: nothing changes.
    assert job_claim(DiscoveryRun, pk=run.pk, task_id="b") is None
    run.refresh_from_db()
    assert (run.task_id, run.attempts) == ("a", 1)


def test_the_same_task_redelivered_takes_its_job_over_and_counts_an_attempt():
    run = _run(status="running", task_id="a", attempts=1, heartbeat_at=timezone.now())
    claimed = job_claim(DiscoveryRun, pk=run.pk, task_id="a")
    assert claimed is not None and claimed.attempts == 2


def test_a_job_silent_past_the_stale_limit_is_taken_over_by_any_delivery(settings):
    settings.JOB_STALE_AFTER_SECONDS = 60
    live = _run(status="running", task_id="a", attempts=1, heartbeat_at=_ago(59))
    dead = _run(status="running", task_id="a", attempts=1, heartbeat_at=_ago(61))
    never_beat = _run(status="running", task_id="a", attempts=1)  # a row from before heartbeats
    assert job_claim(DiscoveryRun, pk=live.pk, task_id="b") is None
    for run in (dead, never_beat):
        claimed = job_claim(DiscoveryRun, pk=run.pk, task_id="b")
        assert claimed is not None and claimed.task_id == "b" and claimed.attempts == 2
        assert timezone.now() - claimed.heartbeat_at < timedelta(seconds=5)


def test_finished_and_missing_jobs_are_never_claimed():
    for status in ("succeeded", "failed"):
        run = _run(status=status, task_id="a", heartbeat_at=_ago(10**6))
        assert job_claim(DiscoveryRun, pk=run.pk, task_id="a") is None
        run.refresh_from_db()
        assert run.status == status and run.attempts == 0
    assert job_claim(DiscoveryRun, pk=10**9, task_id="a") is None


def test_a_delivery_past_the_attempts_is_failed_with_the_reason_and_not_run(settings):
    settings.JOB_MAX_ATTEMPTS = 2
    run = _run(status="running", task_id="a", attempts=2, heartbeat_at=_ago(10**6))
    assert job_claim(DiscoveryRun, pk=run.pk, task_id="b") is None
    run.refresh_from_db()
    assert run.status == "failed" and run.attempts == 3 and run.finished_at is not None
    assert run.message.startswith("stopped after 2 attempts: each time the worker running it was lost")


def test_a_failure_is_recorded_only_by_the_delivery_that_owns_the_job():
    run = _run(status="running", task_id="new-owner", attempts=2, heartbeat_at=timezone.now())
    stale_copy = DiscoveryRun.objects.get(pk=run.pk)
    stale_copy.task_id = "old-owner"
    assert not job_fail(stale_copy, "boom", task_id="old-owner")  # taken over meanwhile: it fails nothing
    run.refresh_from_db()
    assert run.status == "running" and run.message == ""
    assert job_fail(run, "boom", task_id="new-owner")
    run.refresh_from_db()
    assert run.status == "failed" and run.message == "boom" and run.finished_at is not None
    assert run.attempts == 2 and run.task_id == "new-owner"  # the rest of the row is as it was


def test_a_result_is_written_only_by_the_owner_else_the_whole_transaction_rolls_back():
    run = _run(status="running", task_id="new-owner", heartbeat_at=timezone.now())
    with pytest.raises(JobLost), transaction.atomic():
        Cluster.objects.create(run=run, name="written by a delivery that was taken over")
        job_succeed(run, task_id="old-owner")
    assert not Cluster.objects.filter(run=run).exists()
    run.refresh_from_db()
    assert run.status == "running"
    with transaction.atomic():
        Cluster.objects.create(run=run, name="the owner's")
        job_succeed(run, task_id="new-owner", seconds=1.5)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.seconds == 1.5 and run.finished_at is not None
    assert Cluster.objects.filter(run=run).count() == 1


def test_the_soft_time_limit_is_recorded_as_such():
    assert job_failure_reason(SoftTimeLimitExceeded(), "x") == TIME_LIMIT
    assert job_failure_reason(ValueError("bad"), "ValueError: bad") == "ValueError: bad"


def test_a_retrain_version_names_its_own_status_values():
    assert (ModelVersion.JOB_PENDING, ModelVersion.JOB_RUNNING, ModelVersion.JOB_SUCCEEDED,
            ModelVersion.JOB_FAILED) == (None, "training", "ready", "failed")
    version = ModelVersion(status="training", heartbeat_at=_ago(10**6))
    assert version.interrupted and not version.is_finished


def test_the_heartbeat_beats_while_the_body_runs_and_stops_once_the_job_is_not_its_own(transactional_db, settings):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    run = _run(status="running", task_id="a", heartbeat_at=_ago(3600))
    with job_heartbeat(run, task_id="a"):
        time.sleep(0.5)
        run.refresh_from_db()
        assert timezone.now() - run.heartbeat_at < timedelta(seconds=0.5)
        # Another delivery takes the job over: this one's beats must not keep the new owner's row alive.
        DiscoveryRun.objects.filter(pk=run.pk).update(task_id="b", heartbeat_at=_ago(3600))
        time.sleep(0.5)
        run.refresh_from_db()
        assert run.heartbeat_at < _ago(3000)
    assert not any(t.name == f"heartbeat-discoveryrun-{run.pk}" for t in threading.enumerate())


def test_two_deliveries_claiming_at_once_run_the_job_once(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises all writers: the race is only real on PostgreSQL")
    run = _run()
    barrier = threading.Barrier(4)
    won: list[str] = []

    def deliver(task_id: str) -> None:
        try:
            barrier.wait()
            if job_claim(DiscoveryRun, pk=run.pk, task_id=task_id) is not None:
                won.append(task_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.refresh_from_db()
    assert len(won) == 1 and run.task_id == won[0] and run.attempts == 1


@pytest.fixture
def broker():
    """This installation's queues in the test Redis, empty before and after."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    keys = [f"{django_settings.REDIS_KEY_PREFIX}{q}" for q in ("default", "imports", "embeddings", "training")]
    client.delete(*keys)
    yield client, keys
    client.delete(*keys)


def _queued(client: redis.Redis, keys: list[str]) -> dict[str, tuple[str, dict]]:
    """task id -> (task name, kwargs) of every message waiting in this installation's queues."""
    found = {}
    for key in keys:
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            found[message["headers"]["id"]] = (message["headers"]["task"].rsplit(".", 1)[-1], kwargs)
    return found


@pytest.mark.worker
def test_the_sweep_sends_each_job_that_lost_its_worker_again_once_under_an_id_its_claim_accepts(broker, settings):
    settings.JOB_STALE_AFTER_SECONDS = 60
    client, keys = broker
    dead_run = _run(status="running", task_id="lost", attempts=1, heartbeat_at=_ago(120))
    _run(status="running", task_id="live", attempts=1, heartbeat_at=_ago(10))
    _run(status="pending")
    _run(status="succeeded", heartbeat_at=_ago(10**6))
    project = ProjectFactory()
    dead_version = ModelVersion.objects.create(project=project, number=1, task_id="lost-retrain", attempts=1,
                                               heartbeat_at=_ago(120))

    assert jobs_stale_resend() == 2
    dead_run.refresh_from_db()
    dead_version.refresh_from_db()
    assert _queued(client, keys) == {
        dead_run.task_id: ("discovery_compute", {"discovery_run_id": dead_run.pk}),
        dead_version.task_id: ("retrain", {"project_id": project.pk}),
    }
    assert dead_run.message == JOB_INTERRUPTED and dead_run.interrupted and dead_run.status == "running"
    assert jobs_stale_resend() == 0  # sent once: not again within the stale period
    assert list(jobs_stale_find()) == []

    # The message sent is the job's own delivery now; the lost worker's task, if it ever comes back, is not.
    assert job_claim(DiscoveryRun, pk=dead_run.pk, task_id="lost") is None
    claimed = job_claim(DiscoveryRun, pk=dead_run.pk, task_id=dead_run.task_id)
    assert claimed is not None and claimed.attempts == 2
    assert claimed.interrupted  # still says so until the run again finishes
    with transaction.atomic():
        job_succeed(claimed, task_id=claimed.task_id)
    claimed.refresh_from_db()
    assert claimed.status == "succeeded" and claimed.message == "" and not claimed.interrupted


def test_every_job_model_is_swept_and_resumed_by_its_own_registered_task():
    """A job model left out of JOB_KINDS would wait for ever once its worker is lost, one with no resume rule
    would never be sent again after a broker outage, and a name no task is registered under is never run."""
    from django.apps import apps

    from labeling_app.celery import app
    from labeling_app.jobs import registry
    from labeling_app.jobs.models import JobRun

    app.loader.import_default_modules()  # what a worker imports at start: every package's tasks module
    kinds = registry.JOB_KINDS
    assert {m._meta.label for m in apps.get_models() if issubclass(m, JobRun) and not m._meta.abstract} == {
        k.model for k in kinds}
    assert all(k.resume is not None or k.resume_with is not None for k in kinds)
    names = {v for k, v in vars(registry).items() if k.startswith("TASK_") and isinstance(v, str)}
    ours = {name for name in app.tasks if name.startswith("labeling_app.")}
    # Every registered task has its name in the registry, every name a task, and TASK_NAMES lists them all.
    assert names == ours == registry.TASK_NAMES
