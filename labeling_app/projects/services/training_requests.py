"""Asking for a retrain: a project's labels, responses or theme set changed, so its model is out of date.

Here, beside the project's `labels_revision`, rather than in modeling: every package whose change makes the model
out of date calls these, and the retrain itself is asked for by its registered task name (jobs.registry).
"""
from django.db.models import F

from labeling_app.jobs.registry import TASK_RETRAIN
from labeling_app.jobs.services.outbox import enqueue_coalesced_on_commit
from labeling_app.projects.models import Project


def training_request(*, project: Project) -> None:
    """Ask for a retrain once the current transaction commits."""

    # Coalesced: 50 analysts submitting ask about 10 times a second; one waiting message does for all of them.
    enqueue_coalesced_on_commit(TASK_RETRAIN, project_id=project.pk)


def training_inputs_changed(*, project: Project, retrain: bool = True) -> None:
    """Responses, labels or the live theme set changed: the current model is out of date.

    Bumps the revision a model version is compared with and, unless `retrain` is False (an import, whose
    embedding run asks once the new texts are embedded), asks for one retrain after commit.
    """
    if retrain:
        training_request(project=project)
    # Last, and nothing after it but the commit: every submit of the project waits for this row's lock, which
    # the update holds until the transaction ends.
    Project.objects.filter(pk=project.pk).update(labels_revision=F("labels_revision") + 1)
