from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling_app.audit.services import audit_record
from labeling_app.live.services import member_removed_publish
from labeling_app.projects.models import Membership, Project, Role


def _check_admin_remains(*, project: Project, excluding: Membership) -> None:
    others = project.memberships.select_for_update().filter(role=Role.ADMIN).exclude(pk=excluding.pk)
    if not others.exists():
        raise ValidationError("a project needs at least one admin")


@transaction.atomic
def member_add_without_invitation(*, project: Project, user: User, role: str,
                                  invited_by: str = "") -> Membership:
    """Make `user` a member straight away, without asking them.

    Only for a user's own consent or the operator's: the creator of a project, an accepted invitation
    (`invited_by` names the inviter in the audit trail), the demo, commands and test fixtures. Admins
    invite through `services.invitations`.
    """
    if project.memberships.filter(user=user).exists():
        raise ValidationError(f"{user.get_username()} is already a member")
    membership = Membership.objects.create(project=project, user=user, role=Role(role))
    name = user.get_username()
    summary = f"{name} as {membership.role}" + (f", invited by {invited_by}" if invited_by else "")
    audit_record(project=project, action="member.add", target_type="member", target_id=user.pk, summary=summary,
                 after={"user": name, "role": membership.role, **({"invited_by": invited_by} if invited_by else {})})
    return membership


@transaction.atomic
def member_change_role(*, membership: Membership, role: str) -> Membership:
    """Give a member another role; the last admin cannot step down."""
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        _check_admin_remains(project=membership.project, excluding=membership)
    before = membership.role
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    if before != membership.role:
        name = membership.user.get_username()
        audit_record(project=membership.project_id, action="member.role", target_type="member",
                     target_id=membership.user_id, summary=f"{name}: {before} → {membership.role}",
                     before={"user": name, "role": before}, after={"user": name, "role": membership.role})
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    """Take a user out of a project; their annotations stay, attributed to them."""
    if membership.role == Role.ADMIN:
        _check_admin_remains(project=membership.project, excluding=membership)
    project_id, user_id = membership.project_id, membership.user_id
    name = membership.user.get_username()
    audit_record(project=project_id, action="member.remove", target_type="member", target_id=user_id,
                 summary=name, before={"user": name, "role": membership.role})
    membership.delete()
    # Their open pages stop receiving the project's events (the stream ends); a reload then finds no access.
    transaction.on_commit(lambda: member_removed_publish(project_id=project_id, user_id=user_id))
