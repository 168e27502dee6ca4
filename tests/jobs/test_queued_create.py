"""Creates that queue a job name a task that exists and send the new row's id under the task's keyword."""
import inspect

import pytest

from labeling_app.celery import app
from labeling_app.discovery.api import DiscoveryRunListCreateView
from labeling_app.importing.api import ImportListCreateView


@pytest.mark.parametrize("view", [ImportListCreateView, DiscoveryRunListCreateView])
def test_the_queued_job_is_a_task_taking_the_new_rows_id(view):
    task = app.tasks[view.job_task]  # a rename of the task would make every 202 a 201
    assert view.job_id_kwarg in inspect.signature(task.run).parameters
