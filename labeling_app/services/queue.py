from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from labeling_app.models import Project, QueueLease


def queue_skip(*, project: Project, user: User, response_id: int) -> None:
    """The user passes on a response: it is not served to them again for a day, and others may take it."""
    QueueLease.objects.update_or_create(
        project=project, response_id=response_id, user=user,
        defaults={"skipped": True, "expires_at": timezone.now() + timedelta(days=1)},
    )
