"""Quote pins: analysts choose which responses speak for a theme in the insights and reports."""
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from labeling_app.insights.models import QuotePin
from labeling_app.projects.models import Project, Response
from labeling_app.themes.models import Theme


def _check(project: Project, theme_id: int, response_id: int) -> tuple[Theme, Response]:
    # Ids from another project are 404, never a hint that they exist.
    theme = Theme.objects.filter(project=project, pk=theme_id).first()
    response = Response.objects.filter(project=project, pk=response_id).first()
    if theme is None or response is None:
        raise Http404("No such theme or response in this project.")
    if theme.archived:
        raise ValidationError("This theme is archived.")
    return theme, response


def quote_pin(*, project: Project, user: User, theme_id: int, response_id: int) -> QuotePin:
    """Pins a response as a quote for a theme (pinning twice is a no-op)."""
    theme, response = _check(project, theme_id, response_id)
    with transaction.atomic():
        pin, _ = QuotePin.objects.get_or_create(project=project, theme=theme, response=response,
                                                defaults={"pinned_by": user})
    return pin


def quote_unpin(*, project: Project, user: User, theme_id: int, response_id: int) -> int:
    """Removes a pin; returns how many were removed (0 when it was not pinned)."""
    theme, response = _check(project, theme_id, response_id)
    deleted, _ = QuotePin.objects.filter(project=project, theme=theme, response=response).delete()
    return deleted
