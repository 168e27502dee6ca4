"""Acting on the model's suggestions in bulk: accepted ones become the analyst's labels."""
from django.contrib.auth.models import User
from django.db import transaction

from labeling_app.models import Annotation, Project, SuggestionRejection, Theme
from labeling_app.selectors.predictions import suggestions_band
from labeling_app.services.annotations import annotations_add_theme


def _band(project: Project, user: User, theme: Theme, min_probability: float | None,
          max_probability: float) -> list[int]:
    rows = suggestions_band(project=project, theme_id=theme.pk, min_probability=min_probability,
                            max_probability=max_probability, exclude_rejected_by=user.pk)
    return [row["response"] for row in rows]


def suggestions_accept(*, project: Project, user: User, theme: Theme, min_probability: float | None = None,
                       max_probability: float = 1.0, preview: bool = False) -> int:
    """Label every unlabelled response suggested `theme` in the band with it, as `user`'s labels.

    Without min_probability the band starts at the theme's own threshold (what the model suggests).
    With preview=True nothing changes; the count is what would be labelled.
    """
    response_ids = _band(project, user, theme, min_probability, max_probability)
    if preview or not response_ids:
        return len(response_ids)
    annotations_add_theme(project=project, user=user, response_ids=response_ids, theme_id=theme.pk,
                          source=Annotation.Source.SUGGESTION)
    return len(response_ids)


def suggestions_reject(*, project: Project, user: User, theme: Theme, min_probability: float | None = None,
                       max_probability: float = 1.0, preview: bool = False) -> int:
    """Record that `theme` does not apply to the suggested responses in the band; they are not offered again."""
    response_ids = _band(project, user, theme, min_probability, max_probability)
    if preview or not response_ids:
        return len(response_ids)
    with transaction.atomic():
        SuggestionRejection.objects.bulk_create(
            [SuggestionRejection(response_id=r, theme=theme, user=user) for r in response_ids],
            ignore_conflicts=True,
        )
    return len(response_ids)
