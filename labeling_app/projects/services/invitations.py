"""Invitations: admins offer a role, the invitee accepts (and only then is a member) or declines.

Inviting answers the same whether or not the username belongs to an active user: the invitation is stored and
listed either way, and only reaches someone who exists. So the invite form cannot be used to find out which
usernames exist; only the invitee's own answer (accepting or declining) shows it.
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling_app.audit.services import acting_as, audit_record
from labeling_app.projects.models import Invitation, Membership, Project, Role
from labeling_app.projects.services.members import member_add_without_invitation

# What the inviter is told, the same words whether or not the username exists.
INVITATION_SENT = "invitation sent if the user exists"


def _check_invitable(*, project: Project, username: str) -> None:
    # Members are listed to every member already, and pending invitations to admins: saying so reveals nothing.
    if project.memberships.filter(user__username=username).exists():
        raise ValidationError({"username": f"{username} is already a member"})
    if project.invitations.filter(username=username, status=Invitation.Status.PENDING).exists():
        raise ValidationError({"username": f"{username} already has a pending invitation"})


@transaction.atomic
def invitation_create(*, project: Project, username: str, role: str,
                      invited_by: User | None) -> Invitation:
    """Invite `username` to the project with `role`; the same outcome whether or not such a user exists."""
    username = username.strip()
    _check_invitable(project=project, username=username)
    invitee = get_user_model().objects.filter(username=username, is_active=True).first()
    try:
        with transaction.atomic():  # a savepoint: a second invite racing this one meets the constraint
            invitation = Invitation.objects.create(project=project, username=username, invitee=invitee,
                                                   role=Role(role), invited_by=invited_by)
    except IntegrityError:
        raise ValidationError({"username": f"{username} already has a pending invitation"}) from None
    audit_record(project=project, action="invitation.create", target_type="invitation", target_id=invitation.pk,
                 summary=f"{username} as {invitation.role}", after={"user": username, "role": invitation.role})
    return invitation


def _pending_locked(invitation: Invitation) -> Invitation:
    # Check, then do: the row is locked so an accept and a revoke arriving together cannot both succeed.
    # Only this row: PostgreSQL refuses FOR UPDATE on the nullable side of the inviter's outer join.
    locked = (Invitation.objects.select_for_update(of=("self",)).select_related("project", "invited_by")
              .get(pk=invitation.pk))
    if locked.status != Invitation.Status.PENDING:
        raise ValidationError(f"this invitation was already {locked.status}")
    return locked


def _own_pending_locked(invitation: Invitation, user: User) -> Invitation:
    """The pending invitation, locked, if it is ``user``'s to answer."""
    locked = _pending_locked(invitation)
    if locked.invitee_id != user.pk:
        raise ValidationError("this invitation is for someone else")
    return locked


def _close(invitation: Invitation, status: str) -> None:
    invitation.status, invitation.responded_at = status, timezone.now()
    invitation.save(update_fields=["status", "responded_at"])


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """The invitee accepts: they become a member with the offered role (recorded as theirs)."""
    invitation = _own_pending_locked(invitation, user)
    _close(invitation, Invitation.Status.ACCEPTED)
    inviter = invitation.invited_by.get_username() if invitation.invited_by else ""
    with acting_as(user):
        existing = invitation.project.memberships.filter(user=user).first()
        if existing is not None:  # added directly meanwhile (a command): the invitation is simply used up
            return existing
        return member_add_without_invitation(project=invitation.project, user=user, role=invitation.role,
                                             invited_by=inviter)


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user: User) -> None:
    """The invitee says no; the project's admins see it in the audit trail and may invite again."""
    invitation = _own_pending_locked(invitation, user)
    _close(invitation, Invitation.Status.DECLINED)
    with acting_as(user):
        audit_record(project=invitation.project, action="invitation.decline", target_type="invitation",
                     target_id=invitation.pk, summary=invitation.username, before={"user": invitation.username})


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> None:
    """An admin withdraws a pending invitation (by the current actor)."""
    invitation = _pending_locked(invitation)
    _close(invitation, Invitation.Status.REVOKED)
    audit_record(project=invitation.project, action="invitation.revoke", target_type="invitation",
                 target_id=invitation.pk, summary=invitation.username,
                 before={"user": invitation.username, "role": invitation.role})
