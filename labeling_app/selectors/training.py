from django.db.models import Exists, OuterRef, QuerySet

from labeling_app.models import ModelVersion, Project, Response, Suggestion, SuggestionRejection


def suggestions_for_responses(*, project: Project, response_ids: list[int]) -> dict[int, list[dict]]:
    """The current model's suggestions for some responses: {response_id: [{theme, probability, suggested}]}."""
    out: dict[int, list[dict]] = {pk: [] for pk in response_ids}
    if project.current_model_id is None:
        return out
    rows = (
        Suggestion.objects.filter(model_version_id=project.current_model_id, response_id__in=response_ids,
                                  theme__archived=False)
        .order_by("-probability").values_list("response_id", "theme_id", "probability", "suggested")
    )
    for response_id, theme_id, probability, suggested in rows:
        out[response_id].append({"theme": theme_id, "probability": round(probability, 4), "suggested": suggested})
    return out


def suggestions_filter(*, project: Project, theme_id: int | None = None, min_probability: float = 0.0,
                       max_probability: float = 1.0, unlabelled_only: bool = True,
                       exclude_rejected_by: int | None = None,
                       response_ids: list[int] | None = None) -> QuerySet[Suggestion]:
    """The current model's suggestions in a probability band, never for archived themes."""
    if project.current_model_id is None:
        return Suggestion.objects.none()
    qs = Suggestion.objects.filter(
        model_version_id=project.current_model_id, theme__archived=False,
        probability__gte=min_probability, probability__lte=max_probability,
    ).select_related("response", "theme")
    if theme_id is not None:
        qs = qs.filter(theme_id=theme_id)
    if response_ids is not None:
        qs = qs.filter(response_id__in=response_ids)
    if unlabelled_only:
        qs = qs.exclude(response__annotations__is_current=True)
    if exclude_rejected_by is not None:
        rejected = SuggestionRejection.objects.filter(
            user_id=exclude_rejected_by, response_id=OuterRef("response_id"), theme_id=OuterRef("theme_id")
        )
        qs = qs.exclude(Exists(rejected))
    return qs.order_by("-probability", "response_id")


def model_versions(*, project: Project) -> QuerySet[ModelVersion]:
    """All versions of a project's model, newest first."""
    return project.model_versions.order_by("-number")


def responses_by_ids(*, project: Project, ids: list[int]) -> list[Response]:
    by_id = {r.pk: r for r in project.responses.filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]
