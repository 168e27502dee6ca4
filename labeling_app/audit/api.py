"""The audit trail over the API (admins only)."""
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from labeling_app.audit.models import AuditEvent
from labeling_app.audit.selectors import audit_change_lines, audit_events
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Role


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")
    changes = serializers.SerializerMethodField(help_text="before and after as lines a person reads, one per key")

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "target_type", "target_id", "summary", "before", "after",
                  "changes"]

    def get_changes(self, event: AuditEvent) -> list[str]:
        return audit_change_lines(before=event.before, after=event.after)


@extend_schema(parameters=[OpenApiParameter("action", str), OpenApiParameter("target_type", str)])
class AuditListView(ProjectScopedMixin, generics.ListAPIView):
    """Every change of labels, themes, membership and settings, newest first: who, when, before and after."""

    serializer_class = AuditEventSerializer
    read_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[AuditEvent]:
        params = self.request.query_params
        return audit_events(project=self.project, action=params.get("action") or None,
                            target_type=params.get("target_type") or None)
