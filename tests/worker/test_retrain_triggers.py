"""Every change of responses, labels or the live theme set leads to one retrain, on a real worker."""
import time

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling_app.importing.services import import_job_create
from labeling_app.labeling.models import LabelQueue
from labeling_app.labeling.services.queue import queue_batch_lease
from labeling_app.modeling.models import ModelVersion
from labeling_app.projects.models import Project
from labeling_app.themes.services.themes import theme_update
from tests.worker import test_retrain_worker as loop

pytestmark = pytest.mark.worker
loop_project = loop.loop_project  # the fixture: the demo project with 120 labels and its first model
_settled = loop._settled


def _new_version(project: Project, after: int, timeout: float = 180) -> Project:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        project.refresh_from_db()
        if project.current_model and project.current_model.number > after:
            return _settled(project, timeout=deadline - time.monotonic())
        time.sleep(0.2)
    pytest.fail(f"no version after v{after}: {list(project.model_versions.values('number', 'status', 'error'))}")


def test_imported_responses_and_labels_reach_the_model_and_the_queue(loop_project, celery_worker_process):
    project, analyst = loop_project
    v1 = project.current_model
    theme = project.themes.order_by("order").first()
    rows = ["respondent_id,response,theme"] + [
        f"LATE{i},Arrived after the first model: reason number {i} is the price going up,"
        f"{theme.name if i % 2 else ''}" for i in range(6)
    ]
    import_job_create(project=project, user=None, upload=SimpleUploadedFile("late.csv", "\n".join(rows).encode()))
    project = _new_version(project, v1.number)
    late = set(project.responses.filter(respondent_id__startswith="LATE").values_list("pk", flat=True))
    version = project.current_model
    assert version.labelled_responses == v1.labelled_responses + 3  # the imported labels train it
    assert late <= set(np.frombuffer(version.response_ids, dtype=np.int64).tolist())  # it predicts them
    queue = LabelQueue.objects.get(project=project)
    assert queue.model_version == version
    unlabelled_late = set(project.responses.filter(respondent_id__in=["LATE0", "LATE2", "LATE4"])
                          .values_list("pk", flat=True))
    assert unlabelled_late <= set(queue.response_ids)
    assert project.model_versions.exclude(task_id="setup").count() == 1  # one retrain for the import

    # Archiving a theme changes the live theme set: one more version, without it.
    archived = project.themes.order_by("order").last()
    theme_update(theme=archived, archived=True)
    project = _new_version(project, version.number)
    assert archived.pk not in project.current_model.theme_ids
    assert project.model_versions.filter(status=ModelVersion.Status.READY).count() == 3
    served = {r.pk for r in queue_batch_lease(project=project, user=analyst, size=400)}
    assert unlabelled_late <= served
