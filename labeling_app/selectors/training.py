from dataclasses import dataclass

from django.db.models import QuerySet

from labeling_app.models import ModelVersion, Project, Response


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
