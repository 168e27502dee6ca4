from django.db.models import QuerySet

from labeling_app.models import ModelVersion, Project, Response


def model_versions(*, project: Project) -> QuerySet[ModelVersion]:
    """All versions of a project's model, newest first."""
    return project.model_versions.order_by("-number")


def responses_by_ids(*, project: Project, ids: list[int]) -> list[Response]:
    by_id = {r.pk: r for r in project.responses.filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]
