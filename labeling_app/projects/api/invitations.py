"""Invitations: admins invite by username and revoke; the invitee lists, accepts and declines their own."""
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling_app.core.http.users import request_user
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Invitation, Role
from labeling_app.projects.selectors.invitations import (
    invitation_get_for_invitee,
    invitations_pending_for_project,
    invitations_pending_for_user,
)
from labeling_app.projects.services.invitations import (
    INVITATION_SENT,
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_revoke,
)


class InvitationSerializer(serializers.ModelSerializer):
    """A project's invitation as its admins see it (an unknown username looks like any other)."""

    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    role = serializers.ChoiceField(choices=Role.choices, default=Role.ANALYST)
    invited_by = serializers.CharField(source="invited_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "username", "role", "status", "invited_by", "created_at"]
        read_only_fields = ["id", "status", "invited_by", "created_at"]
        validators: list = []  # the service checks the one pending invitation per username, with its message


InvitationSent = inline_serializer("InvitationSent", {"message": serializers.CharField(),
                                                      "invitation": InvitationSerializer()})


class ProjectInvitationListCreateView(ProjectScopedMixin, generics.ListCreateAPIView):
    """The project's pending invitations (admins); POST invites a username with a role.

    The answer is 202 with the same message whether or not the user exists; malformed input is a 400.
    """

    serializer_class = InvitationSerializer
    read_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[Invitation]:
        return invitations_pending_for_project(project=self.project)

    @extend_schema(responses={202: InvitationSent})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = invitation_create(project=self.project, username=serializer.validated_data["username"],
                                       role=serializer.validated_data["role"], invited_by=request_user(request))
        return Response({"message": INVITATION_SENT, "invitation": InvitationSerializer(invitation).data},
                        status=status.HTTP_202_ACCEPTED)


class ProjectInvitationDetailView(ProjectScopedMixin, generics.RetrieveDestroyAPIView):
    """One pending invitation (admins); DELETE revokes it (the record stays, marked revoked)."""

    serializer_class = InvitationSerializer
    read_role = Role.ADMIN
    lookup_url_kwarg = "invitation_id"

    def get_queryset(self) -> QuerySet[Invitation]:
        return invitations_pending_for_project(project=self.project)

    def perform_destroy(self, instance: Invitation) -> None:
        invitation_revoke(invitation=instance)


class MyInvitationSerializer(serializers.ModelSerializer):
    """An invitation as its invitee sees it: which project, which role, from whom."""

    project = inline_serializer("InvitedProject", {"id": serializers.IntegerField(),
                                                   "name": serializers.CharField(),
                                                   "question": serializers.CharField()})
    invited_by = serializers.CharField(source="invited_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "project", "role", "invited_by", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance: Invitation) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["project"] = {"id": instance.project.pk, "name": instance.project.name,
                           "question": instance.project.question}
        return data


class MyInvitationListView(generics.ListAPIView):
    """Invitations waiting for your answer; the projects join your list only once you accept."""

    serializer_class = MyInvitationSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Invitation]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Invitation.objects.none()
        return invitations_pending_for_user(user=request_user(self.request))


Accepted = inline_serializer("InvitationAccepted", {"project": serializers.IntegerField(),
                                                    "role": serializers.CharField()})


class MyInvitationAcceptView(APIView):
    """Accept one of your invitations: you become a member with its role. Anyone else's id is a 404."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: Accepted})
    def post(self, request: Request, invitation_id: int) -> Response:
        user = request_user(request)
        invitation = invitation_get_for_invitee(user=user, invitation_id=invitation_id)
        membership = invitation_accept(invitation=invitation, user=user)
        return Response({"project": membership.project_id, "role": membership.role})


class MyInvitationDeclineView(APIView):
    """Decline one of your invitations. Anyone else's id is a 404."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="declined")})
    def post(self, request: Request, invitation_id: int) -> Response:
        user = request_user(request)
        invitation_decline(invitation=invitation_get_for_invitee(user=user, invitation_id=invitation_id), user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
