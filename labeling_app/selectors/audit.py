"""Reading the audit trail (admins only; access is checked by the views)."""
from django.db.models import QuerySet

from labeling_app.models import AuditEvent, Project


def audit_events(*, project: Project, action: str | None = None,
                 target_type: str | None = None) -> QuerySet[AuditEvent]:
    """The project's changes, newest first, optionally of one action or kind of target."""
    events = AuditEvent.objects.filter(project=project)
    if action:
        events = events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    return events.order_by("-created_at", "-id")
