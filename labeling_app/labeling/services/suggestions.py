"""Acting on the model's suggestions in bulk: accepted ones become the analyst's labels.

Both take the response ids the analyst reviewed and left ticked, and write exactly those: the band is read
(selectors.predictions.suggestions_band) to show it, never again at write time, so a response unticked in the
review, or one that entered the band since, is not written.
"""
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling_app.labeling.models import Annotation, SuggestionRejection
from labeling_app.labeling.services.annotations import annotations_add_theme
from labeling_app.projects.models import Project
from labeling_app.themes.models import Theme


def _check_responses(project: Project, response_ids: list[int]) -> list[int]:
    ids = sorted(set(response_ids))
    if not ids:
        raise ValidationError("no responses were ticked")
    found = set(project.responses.filter(pk__in=ids).values_list("pk", flat=True))
    if len(found) != len(ids):
        raise ValidationError(f"{len(ids) - len(found)} of the responses are not in this project")
    return ids


def suggestions_accept(*, project: Project, user: User, theme: Theme, response_ids: list[int]) -> int:
    """Label exactly the listed responses (those reviewed and left ticked) with `theme`, as `user`'s labels."""
    ids = _check_responses(project, response_ids)
    annotations_add_theme(project=project, user=user, response_ids=ids, theme_id=theme.pk,
                          source=Annotation.Source.SUGGESTION)
    return len(ids)


def suggestions_reject(*, project: Project, user: User, theme: Theme, response_ids: list[int]) -> int:
    """Record that `theme` does not apply to exactly the listed responses; they are not offered it again."""
    ids = _check_responses(project, response_ids)
    with transaction.atomic():
        SuggestionRejection.objects.bulk_create(
            [SuggestionRejection(response_id=r, theme=theme, user=user) for r in ids], ignore_conflicts=True)
    return len(ids)
