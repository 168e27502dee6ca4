"""Each Celery queue has its own job, so operators can give training its own workers (issue 13): two worker
processes on different queues, one Redis and one database; each task runs on the worker of its queue."""
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling_app.services.imports import import_job_create
from tests.conftest import worker_start, worker_stop
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
