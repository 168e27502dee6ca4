from django.db.models import QuerySet
from rest_framework import generics, serializers

from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Membership
from labeling_app.projects.services.members import member_change_role, member_remove


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = fields


class MemberRoleSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "username", "created_at"]
        extra_kwargs = {"role": {"required": True}}  # a PUT without it would change nothing (it was a 500)


class MemberListView(ProjectScopedMixin, generics.ListAPIView):
    """The project's members. Admins add people by invitation (`…/invitations/`): nobody joins unasked."""

    serializer_class = MemberSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        return self.project.memberships.select_related("user")


class MemberDetailView(ProjectScopedMixin, generics.RetrieveUpdateDestroyAPIView):
    """One member; admins change the role or remove them (a project keeps at least one admin)."""

    serializer_class = MemberRoleSerializer
    lookup_url_kwarg = "member_id"

    def get_queryset(self) -> QuerySet[Membership]:
        return self.project.memberships.select_related("user")

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        membership = self.get_object()
        serializer.instance = member_change_role(  # a PATCH may leave the role out: it stays as it is
            membership=membership, role=serializer.validated_data.get("role", membership.role)
        )

    def perform_destroy(self, instance: Membership) -> None:
        member_remove(membership=instance)
