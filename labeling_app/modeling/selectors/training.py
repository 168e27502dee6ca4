from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from labeling_app.jobs.selectors import job_stale_before
from labeling_app.modeling.models import ModelVersion
from labeling_app.projects.models import Project, Response


def model_versions(*, project: Project) -> QuerySet[ModelVersion]:
    """All versions of a project's model, newest first."""
    return project.model_versions.order_by("-number")


def responses_by_ids(*, project: Project, ids: list[int]) -> list[Response]:
    by_id = {r.pk: r for r in project.responses.filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


@dataclass(frozen=True)
class ModelQuality:
    """The project's current model as a deliverable states it: its version and cross-validated quality."""

    version: int
    micro_f1: float | None
    micro_interval: tuple[float, float] | None  # from resampling the scored responses, at `level`
    level: float | None  # e.g. 0.9 for a 90% interval
    labelled_responses: int


def model_current_quality(*, project: Project) -> ModelQuality | None:
    """The current model's version, micro-F1 and its interval where stored; None when no model was made current.

    Read from the project's `current_model` whatever label source a view counts: a report that counts human
    labels only still says which model exists and how good it is."""
    # Through the project row, not the instance's `current_model_id`: the instance may predate the last retrain.
    current = Project.objects.filter(pk=project.pk).values("current_model_id")
    row = (ModelVersion.objects.filter(pk__in=current, project=project)
           .values("number", "micro_f1", "quality_interval", "labelled_responses").first())
    if row is None:
        return None
    interval = row["quality_interval"] or {}
    micro = interval.get("micro")
    return ModelQuality(version=row["number"], micro_f1=row["micro_f1"],
                        micro_interval=(float(micro[0]), float(micro[1])) if micro and len(micro) == 2 else None,
                        level=float(interval["level"]) if micro and interval.get("level") else None,
                        labelled_responses=row["labelled_responses"])


def retrains_missing() -> list[dict[str, int]]:
    """The retrains to ask for when a worker starts (jobs.registry): a project whose labels are ahead of its current
    model with no live retrain (a request lost while the broker was down), as the retrain task's keyword ids."""
    live = ModelVersion.objects.filter(project=OuterRef("pk"), status=ModelVersion.Status.TRAINING,
                                       heartbeat_at__gte=job_stale_before())
    # A retrain of these very labels that failed was delivered, not lost: sending it again would only
    # repeat it (and one that killed its workers would kill this one too).
    failed = ModelVersion.objects.filter(project=OuterRef("pk"), status=ModelVersion.Status.FAILED,
                                         labels_revision=OuterRef("labels_revision"))
    behind = Project.objects.filter(
        Q(current_model__isnull=True, labels_revision__gt=0)
        | Q(labels_revision__gt=F("current_model__labels_revision"))
    ).exclude(Exists(live)).exclude(Exists(failed))
    return [{"project_id": pk} for pk in behind.values_list("pk", flat=True).order_by("pk")]
