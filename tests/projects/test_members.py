"""Members: direct adds (for the creator, commands and fixtures), role changes and removal, with a project
never left without an admin."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.audit.models import AuditEvent
from labeling_app.projects.models import Role
from labeling_app.projects.services.members import member_add_without_invitation, member_change_role, member_remove
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_direct_add_happens_once_and_is_audited(prepare_project):
    project = prepare_project.project
    newcomer = UserFactory(username="newcomer")
    made = member_add_without_invitation(project=project, user=newcomer, role=Role.LEAD)
    assert made.role == Role.LEAD
    with pytest.raises(ValidationError, match="already a member"):
        member_add_without_invitation(project=project, user=newcomer, role=Role.ANALYST)
    event = AuditEvent.objects.get(project=project, action="member.add")
    assert event.after == {"user": "newcomer", "role": "lead"}


def test_the_last_admin_can_neither_step_down_nor_leave(prepare_project):
    admin = prepare_project.project.memberships.get(user=prepare_project.admin)
    with pytest.raises(ValidationError, match="at least one admin"):
        member_change_role(membership=admin, role=Role.ANALYST)
    with pytest.raises(ValidationError, match="at least one admin"):
        member_remove(membership=admin)
    lead = prepare_project.project.memberships.get(user=prepare_project.lead)
    member_change_role(membership=lead, role=Role.ADMIN)
    member_remove(membership=admin)  # another admin remains
    assert not prepare_project.project.memberships.filter(user=prepare_project.admin).exists()
