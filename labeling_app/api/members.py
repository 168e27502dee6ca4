from django.db.models import QuerySet
from rest_framework import generics, serializers

from labeling_app.api.access import ProjectScopedMixin
from labeling_app.models import Membership, Role
from labeling_app.services.members import member_add, member_change_role, member_remove


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class MemberRoleSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "username", "created_at"]
        extra_kwargs = {"role": {"required": True}}  # a PUT without it would change nothing (it was a 500)


class MemberListCreateView(ProjectScopedMixin, generics.ListCreateAPIView):
    """The project's members; admins add users by username with a role."""

    serializer_class = MemberSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        return self.project.memberships.select_related("user")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = member_add(
            project=self.project, username=data["user"]["username"], role=data.get("role", Role.ANALYST)
        )


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
