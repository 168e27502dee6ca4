from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling_app.models import Membership, Project, Role
from labeling_app.services.audit import audit_record
from labeling_app.services.events import member_removed_publish


def _check_admin_remains(*, project: Project, excluding: Membership) -> None:
    others = project.memberships.select_for_update().filter(role=Role.ADMIN).exclude(pk=excluding.pk)
    if not others.exists():
        raise ValidationError("a project needs at least one admin")


@transaction.atomic
def member_add(*, project: Project, username: str, role: str) -> Membership:
    """Add an existing user to a project with a role."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError(f"no active user named {username!r}")
    if project.memberships.filter(user=user).exists():
        raise ValidationError(f"{username} is already a member")
    membership = Membership.objects.create(project=project, user=user, role=Role(role))
    audit_record(project=project, action="member.add", target_type="member", target_id=user.pk,
                 summary=f"{username} as {membership.role}", after={"user": username, "role": membership.role})
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
