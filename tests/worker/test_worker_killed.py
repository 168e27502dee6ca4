"""The whole worker killed (issue 12): main process and pool child SIGKILLed in the middle of a job.

Redis keeps the message unacknowledged until its visibility timeout (an hour and more); nothing here waits for
that. A new worker's sweep finds the job's heartbeat stale and sends it again, and the job ends succeeded once,
with nothing lost. The stale, heartbeat and sweep periods are made short through the worker's environment.
"""
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling_app.audit.models import AuditEvent
from labeling_app.core.progress import progress_get
from labeling_app.discovery.models import ClusterAssignment, DiscoveryRun, MapLayout
from labeling_app.discovery.services import discovery_run_execute, discovery_run_request
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_job_create
from labeling_app.labeling.services.annotations import annotation_submit
from labeling_app.modeling.models import EmbeddingRun, ModelVersion
from labeling_app.projects.models import Role
from tests.conftest import worker_start, worker_stop
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.worker import test_retrain_worker as loop

pytestmark = pytest.mark.worker
loop_project = loop.loop_project  # the demo project with 120 labels and its first model

# Short, yet with many beats per stale period: on a loaded machine a pool process can go a few seconds unheard.
FAST = {"JOB_STALE_AFTER_SECONDS": "8", "JOB_HEARTBEAT_SECONDS": "0.5", "JOBS_SWEEP_SECONDS": "1"}


@pytest.fixture
def workers(settings, tmp_path):
    """Start workers (short stale rules) one after another; every one left is stopped after the test."""
    settings.JOB_STALE_AFTER_SECONDS = float(FAST["JOB_STALE_AFTER_SECONDS"])  # what the pages judge by
    started: list[subprocess.Popen] = []
    logs: list[Path] = []

    def start(queues: str, *, purge: bool) -> subprocess.Popen:
        log = tmp_path / f"worker-{len(started)}.log"
        with open(log, "wb") as out:
            proc = worker_start(settings, queues=queues, name=f"killed-{os.getpid()}-{len(started)}", log_level="info",
                                stdout=out, env=FAST, purge=purge)
        started.append(proc)
        logs.append(log)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            worker_stop(proc)


def _kill_whole_worker(proc: subprocess.Popen) -> None:
    """SIGKILL the worker's main process and every child at once, as a lost machine or container would."""
    tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    assert len(tree) >= 2, "the worker has no pool process"
    for p in tree:
        p.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    psutil.wait_procs(tree, timeout=10)


def _wait(what: str, found: Callable[[], Any], timeout: float = 180, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
    return value


def test_an_import_killed_with_its_worker_is_imported_once_by_the_next_worker(transactional_db, workers):
    project = ProjectFactory(name="Big survey")
    admin = MembershipFactory(project=project, user=UserFactory(username="ida-admin"), role=Role.ADMIN).user
    rows = 20_000
    lines = ["respondent_id,response,theme"] + [
        f"K{i:06d},Answer number {i} about {'price' if i % 2 else 'delivery'} and service,"
        f"{'Price' if i % 2 else 'Delivery'}" for i in range(rows)]
    first = workers("imports", purge=True)
    job = import_job_create(project=project, user=admin, upload=SimpleUploadedFile("big.csv", "\n".join(lines).encode()))

    running = _wait("the import to start", lambda: ImportJob.objects.filter(pk=job.pk, status="running").first(),
                    every=0.005)
    # Killed once it writes the responses (its progress passes 5%), not after a fixed time: on an idle machine
    # the whole import can end within a second.
    _wait("the import to write", lambda: progress_get(kind="import", job_id=job.pk) > 5, every=0.005)
    _kill_whole_worker(first)
    running.refresh_from_db()
    assert running.status == ImportJob.Status.RUNNING and running.attempts == 1, "killed after it finished"
    assert not project.responses.exists()  # all or nothing: the lost run left no row
    _wait("the job to go stale", lambda: ImportJob.objects.get(pk=job.pk).interrupted)

    workers("imports", purge=False)
    done = _wait("the import to be run again", lambda: ImportJob.objects.filter(pk=job.pk).exclude(
        status="running").first())
    assert done.status == ImportJob.Status.SUCCEEDED, done.message
    assert done.attempts == 2 and done.task_id != running.task_id  # sent again by the sweep, under a new id
    assert done.responses_created == rows and done.message == done.summary
    assert project.responses.count() == rows
    assert project.responses.values("respondent_id").distinct().count() == rows
    assert AuditEvent.objects.filter(project=project, action="import", target_id=str(job.pk)).count() == 1
    time.sleep(2)  # nothing runs it a third time
    done.refresh_from_db()
    assert done.attempts == 2 and project.responses.count() == rows


def test_a_retrain_killed_with_its_worker_is_finished_once_with_the_labels_that_came_meanwhile(loop_project, workers):
    project, analyst = loop_project
    previous = project.current_model
    first_batch, second_batch = loop._batches(project, 2)
    # A bigger project, already embedded: each delivery predicts and ranks for seconds, time to kill it.
    loop.embedded_answers_add(project, 20_000)
    first = workers("training", purge=True)
    annotation_submit(project=project, user=analyst, items=first_batch)
    running = _wait("the retrain to start", lambda: project.model_versions.filter(
        status=ModelVersion.Status.TRAINING).first(), every=0.005)
    time.sleep(0.5)
    _kill_whole_worker(first)
    running.refresh_from_db()
    assert running.status == ModelVersion.Status.TRAINING, "killed after it finished"
    project.refresh_from_db()
    assert project.current_model == previous

    # Labels submitted while the run is stuck: their retrain request is coalesced into it, never dropped.
    annotation_submit(project=project, user=analyst, items=second_batch)
    workers("training", purge=False)
    project = loop._settled(project, timeout=240)
    current = project.current_model
    assert current.pk == running.pk and current.status == ModelVersion.Status.READY  # the stuck run, finished
    assert current.attempts == 2 and current.message == ""
    assert current.labelled_responses == 120 + len(first_batch) + len(second_batch)
    assert current.labels_revision == project.labels_revision
    assert list(project.model_versions.values_list("status", flat=True)) == ["ready", "ready"]  # setup + this


def test_a_discovery_run_killed_with_its_worker_keeps_the_previous_clusters_says_so_and_is_run_again(
        loop_project, workers, client):
    project, analyst = loop_project
    before = DiscoveryRun.objects.create(project=project, n_clusters=6)
    assert discovery_run_execute(discovery_run_id=before.pk, task_id="setup").status == "succeeded"
    previous = {c.pk: (c.name, c.size) for c in before.clusters.all()}
    previous_assignments = set(ClusterAssignment.objects.filter(run=before).values_list("response_id", "cluster_id"))
    # A bigger project, embedded already (discovery never embeds): clustering takes seconds, about 1 s per
    # 3,000 answers on an idle core, so the worker is killed in the middle of it.
    loop.embedded_answers_add(project, 10_000)
    # The setup's own embedding run is not this test's: the worker would spend its time on it.
    EmbeddingRun.objects.filter(project=project).update(status=EmbeddingRun.Status.SUCCEEDED)
    first = workers("embeddings", purge=True)
    run = discovery_run_request(project=project, user=analyst, n_clusters=6)
    _wait("the run to start", lambda: DiscoveryRun.objects.filter(pk=run.pk, status="running").first(), every=0.005)
    time.sleep(0.5)
    _kill_whole_worker(first)
    run.refresh_from_db()
    assert run.status == DiscoveryRun.Status.RUNNING, "killed after it finished"

    _wait("the run to go stale", lambda: DiscoveryRun.objects.get(pk=run.pk).interrupted)
    client.force_login(analyst)
    page = client.get(reverse("clusters", args=[project.pk])).content.decode()
    assert f'data-interrupted="{run.pk}"' in page and f"these are the clusters of run {before.pk}" in page
    assert all(f'data-cluster="{pk}"' in page for pk in previous)  # the previous results are in place
    assert client.get(f"/api/projects/{project.pk}/discovery-runs/{run.pk}/").json()["status"] == "running"

    workers("embeddings", purge=False)
    done = _wait("the run to be run again", lambda: DiscoveryRun.objects.filter(pk=run.pk).exclude(
        status="running").first())
    assert done.status == DiscoveryRun.Status.SUCCEEDED, done.message
    assert done.attempts == 2 and done.message == "" and not done.interrupted
    assigned = list(ClusterAssignment.objects.filter(run=done).values_list("response_id", flat=True))
    assert len(assigned) == len(set(assigned)) == project.responses.count()  # each response once
    assert {c.pk: (c.name, c.size) for c in before.clusters.all()} == previous
    assert set(ClusterAssignment.objects.filter(run=before).values_list("response_id", "cluster_id")) == \
        previous_assignments
    page = client.get(reverse("clusters", args=[project.pk])).content.decode()
    assert "data-interrupted" not in page
    assert all(f'data-cluster="{c.pk}"' in page for c in done.clusters.filter(active=True))


def test_a_map_layout_killed_with_its_worker_is_laid_out_once_by_the_next_worker(loop_project, workers, client):
    project, analyst = loop_project
    loop.embedded_answers_add(project, 10_000)  # the layout of 10,000 points takes seconds: killed in the middle
    EmbeddingRun.objects.filter(project=project).update(status=EmbeddingRun.Status.SUCCEEDED)
    run = DiscoveryRun.objects.create(project=project, n_clusters=6)
    # Clustered here, before any worker runs (a starting worker sends pending discovery runs: it would race this
    # call for the run). The worker purges the layout's message at start and sends the pending layout itself.
    assert discovery_run_execute(discovery_run_id=run.pk, task_id="setup").status == "succeeded"
    first = workers("embeddings", purge=True)
    _wait("the layout to start", lambda: MapLayout.objects.filter(pk=run.pk, status="running").first(), every=0.005)
    time.sleep(0.5)
    _kill_whole_worker(first)
    assert MapLayout.objects.get(pk=run.pk).status == MapLayout.Status.RUNNING, "killed after it finished"

    _wait("the layout to go stale", lambda: MapLayout.objects.get(pk=run.pk).interrupted)
    client.force_login(analyst)
    points = f"/projects/{project.pk}/map/points/"
    assert client.get(points).json() == {"ids": [], "pending": True}  # waiting, not failed: it is run again
    assert client.get(reverse("clusters", args=[project.pk])).status_code == 200  # the clusters are shown

    workers("embeddings", purge=False)
    done = _wait("the layout to be run again", lambda: MapLayout.objects.filter(pk=run.pk).exclude(
        status="running").first())
    assert done.status == MapLayout.Status.SUCCEEDED, done.message
    assert done.attempts == 2 and done.message == "" and not done.interrupted  # run once more, and once only
    data = client.get(points).json()
    assert len(data["ids"]) == len(set(data["ids"])) == len(data["x"]) == project.responses.count()


def test_an_import_past_its_soft_time_limit_fails_saying_so_and_writes_nothing(transactional_db, workers,
                                                                                monkeypatch):
    # An import, not a discovery run: the embedding model's loader falls back on any error, a soft limit included.
    from labeling_app.importing.tasks import import_run
    from labeling_app.jobs.services.runs import TIME_LIMIT

    # The limits travel in the message, from the process that sends it: this one, as the web process would.
    monkeypatch.setattr(import_run, "time_limit", 60)
    monkeypatch.setattr(import_run, "soft_time_limit", 1)
    monkeypatch.setattr(import_run, "_exec_options", None)  # Celery caches a task's send options on first send

    project = ProjectFactory(name="Slow survey")
    # Big enough to outlast a 1 s soft limit on a fast machine (the streamed import writes 20,000 rows in less).
    lines = ["respondent_id,response"] + [f"S{i:06d},Answer number {i} about the service" for i in range(200_000)]
    FAST.update({"IMPORT_TIME_LIMIT_SECONDS": "60", "JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS": "59"})  # soft: 1 s
    try:
        workers("imports", purge=True)
    finally:
        del FAST["IMPORT_TIME_LIMIT_SECONDS"], FAST["JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS"]
    job = import_job_create(project=project, user=None, upload=SimpleUploadedFile("slow.csv", "\n".join(lines).encode()))
    done = _wait("the import to stop", lambda: ImportJob.objects.filter(pk=job.pk).exclude(
        status__in=["pending", "running"]).first())
    assert done.status == ImportJob.Status.FAILED and done.message == TIME_LIMIT
    assert done.attempts == 1 and not project.responses.exists()
