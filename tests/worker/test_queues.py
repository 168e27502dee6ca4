"""Each Celery queue has its own job, so operators can give training its own workers (issue 13): two worker
processes on different queues, one Redis and one database; each task runs on the worker of its queue."""
import csv
import os
import re
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from labeling_app.importing.services import import_job_create
from labeling_app.modeling.models import EmbeddingRun, ModelVersion
from labeling_app.modeling.services.embeddings import embedding_run_request
from labeling_app.projects.models import Response
from labeling_app.themes.services.themes import theme_update
from tests.conftest import worker_start, worker_stop
from tests.factories import ProjectFactory
from tests.worker import test_retrain_triggers as triggers

pytestmark = pytest.mark.worker
loop_project = triggers.loop_project


@pytest.fixture
def two_workers(transactional_db, settings, tmp_path):
    """A training worker (-Q training) and a bulk worker (-Q default,imports,embeddings), logging the tasks
    they receive."""
    logs = {"training": tmp_path / "training.log", "bulk": tmp_path / "bulk.log"}
    procs = {}
    try:
        for role, queues in (("training", "training"), ("bulk", "default,imports,embeddings")):
            with open(logs[role], "wb") as out:
                procs[role] = worker_start(settings, queues=queues, name=f"{role}-{os.getpid()}", log_level="info",
                                           stdout=out)
        yield logs
    finally:
        for proc in procs.values():
            worker_stop(proc)


def _tasks(log) -> set[str]:
    return set(re.findall(r"Task (labeling_app\.tasks\.[\w.]+)\[[^\]]+\] received", log.read_text()))


def test_each_task_runs_on_the_worker_of_its_queue(loop_project, two_workers):
    project, _ = loop_project
    v1 = project.current_model
    theme = project.themes.order_by("order").first()
    rows = ["respondent_id,response,theme"] + [f"Q{i},A late answer about the price {i},{theme.name}" for i in range(4)]
    import_job_create(project=project, user=None, upload=SimpleUploadedFile("late.csv", "\n".join(rows).encode()))
    # The import (imports queue) asks for an embedding run (embeddings queue), which asks for a retrain (training).
    triggers._new_version(project, v1.number)
    training, bulk = _tasks(two_workers["training"]), _tasks(two_workers["bulk"])
    assert training and all(t.startswith("labeling_app.tasks.training.") for t in training), training
    assert {t.split(".")[2] for t in bulk} >= {"imports", "embeddings"}, bulk
    assert not any(t.startswith("labeling_app.tasks.training.") for t in bulk), bulk


def test_a_retrain_does_not_wait_behind_a_large_embedding_run(loop_project, two_workers, nhs_file):
    """Issue 12: one big import must not starve other projects' retrains. While the bulk worker embeds a large
    project, another project's retrain runs on the training worker and is served before that embedding ends."""
    project, _ = loop_project
    v1 = project.current_model
    with nhs_file.open(newline="", encoding="utf-8") as fh:
        texts = sorted({row["response"] for row in csv.DictReader(fh) if row["response"].strip()})
    big = ProjectFactory()
    Response.objects.bulk_create(  # 3,000 NHS answers: several seconds of embedding on an idle machine
        [Response(project=big, respondent_id=f"B{i}", text=text) for i, text in enumerate(texts[:3000])],
        batch_size=2000)
    with transaction.atomic():
        run = embedding_run_request(project=big)
    deadline = time.monotonic() + 120
    while EmbeddingRun.objects.get(pk=run.pk).status == EmbeddingRun.Status.PENDING:
        assert time.monotonic() < deadline, "the bulk worker never started the embedding run"
        time.sleep(0.1)

    # A change of the other project's live theme set asks for its retrain while the bulk worker is busy.
    theme_update(theme=project.themes.order_by("order").last(), archived=True)
    project = triggers._new_version(project, v1.number)
    version = project.current_model
    assert version.status == ModelVersion.Status.READY
    run.refresh_from_db()
    assert run.status == EmbeddingRun.Status.RUNNING, (run.status, run.embedded, run.total)
    assert run.embedded < run.total
    assert "labeling_app.tasks.training.retrain" in _tasks(two_workers["training"])
    # Let the embedding finish, so stopping the worker does not leave a child writing to the test database.
    while run.status == EmbeddingRun.Status.RUNNING and time.monotonic() < deadline + 300:
        time.sleep(0.5)
        run.refresh_from_db()
    assert run.status == EmbeddingRun.Status.SUCCEEDED, run.message


@pytest.mark.django_db(transaction=True)
def test_workers_run_at_a_lower_cpu_priority_than_the_web_server(settings):
    """A worker and its pool process run WORKER_NICENESS lower than the process that started them, so a retrain
    sharing the cores with the web server takes only what requests leave (bench/load.py)."""
    assert settings.WORKER_NICENESS > 0
    proc = worker_start(settings, queues="training", name=f"nice-{os.getpid()}")
    try:
        children = [int(pid) for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert children, "the prefork pool has no process"
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        for pid in [proc.pid, *children]:
            assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, mine + settings.WORKER_NICENESS)
    finally:
        worker_stop(proc)
