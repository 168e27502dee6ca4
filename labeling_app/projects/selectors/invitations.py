"""Invitations as their invitee and a project's admins see them."""
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from labeling_app.projects.models import Invitation, Project


def invitations_pending_for_user(*, user: User | AnonymousUser) -> QuerySet[Invitation]:
    """The invitations waiting for this user's answer, newest first."""
    if not user.is_authenticated:
        return Invitation.objects.none()
    return Invitation.objects.filter(invitee=user, status=Invitation.Status.PENDING).select_related(
        "project", "invited_by")


def invitation_get_for_invitee(*, user: User | AnonymousUser, invitation_id: int) -> Invitation:
    """One of the user's pending invitations; 404 for anyone else's, and once it is answered or revoked."""
    invitation = invitations_pending_for_user(user=user).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("no such invitation")
    return invitation


def invitations_pending_for_project(*, project: Project) -> QuerySet[Invitation]:
    """The project's invitations nobody has answered yet (for its admins), including those to unknown names."""
    return project.invitations.filter(status=Invitation.Status.PENDING).select_related("invited_by")
