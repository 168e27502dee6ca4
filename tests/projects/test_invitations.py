"""Invitations: nobody becomes a member without accepting; unknown usernames look like known ones."""
import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from labeling_app.audit.models import AuditEvent
from labeling_app.audit.services import acting_as
from labeling_app.projects.models import Invitation, Role
from labeling_app.projects.selectors.invitations import (
    invitation_get_for_invitee,
    invitations_pending_for_project,
    invitations_pending_for_user,
)
from labeling_app.projects.selectors.projects import membership_get
from labeling_app.projects.services.invitations import (
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_revoke,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _invite(pp, username, role=Role.ANALYST):
    with acting_as(pp.admin):
        return invitation_create(project=pp.project, username=username, role=role, invited_by=pp.admin)


def test_an_invitee_joins_only_by_accepting(prepare_project):
    pp = prepare_project
    invitation = _invite(pp, "oscar-outsider", Role.LEAD)
    assert invitation.invitee == pp.outsider and invitation.status == Invitation.Status.PENDING
    assert not pp.project.memberships.filter(user=pp.outsider).exists()
    with pytest.raises(Http404):  # a pending invitee cannot see the project
        membership_get(user=pp.outsider, project_id=pp.project.pk)
    assert list(invitations_pending_for_user(user=pp.outsider)) == [invitation]
    assert not invitations_pending_for_user(user=pp.analyst).exists()

    membership = invitation_accept(invitation=invitation, user=pp.outsider)
    assert (membership.user, membership.role) == (pp.outsider, Role.LEAD)
    assert membership_get(user=pp.outsider, project_id=pp.project.pk) == membership
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED and invitation.responded_at
    added = AuditEvent.objects.get(project=pp.project, action="member.add")
    assert added.actor == pp.outsider  # the invitee's own act
    assert added.after == {"user": "oscar-outsider", "role": "lead", "invited_by": "alice-admin"}
    assert not invitations_pending_for_user(user=pp.outsider).exists()
    with pytest.raises(ValidationError, match="already accepted"):
        invitation_accept(invitation=invitation, user=pp.outsider)


def test_unknown_and_inactive_usernames_are_invited_like_anyone(prepare_project):
    pp = prepare_project
    UserFactory(username="gone-away", is_active=False)
    made = {name: _invite(pp, name) for name in ("oscar-outsider", "nobody-here", "gone-away")}
    # The same record, the same listing and the same audit entry for every name: nothing tells them apart ...
    assert {i.status for i in made.values()} == {Invitation.Status.PENDING}
    assert {i.username for i in invitations_pending_for_project(project=pp.project)} == set(made)
    summaries = AuditEvent.objects.filter(action="invitation.create").values_list("summary", flat=True)
    assert sorted(summaries) == sorted(f"{n} as analyst" for n in made)
    # ... but only an active user's invitation reaches anyone.
    assert made["oscar-outsider"].invitee == pp.outsider
    assert made["nobody-here"].invitee is None and made["gone-away"].invitee is None


def test_one_pending_invitation_per_username_and_members_are_not_invited(prepare_project):
    pp = prepare_project
    first = _invite(pp, "oscar-outsider")
    with pytest.raises(ValidationError, match="pending invitation"):
        _invite(pp, "oscar-outsider")
    with pytest.raises(ValidationError, match="already a member"):
        _invite(pp, "ana-analyst")
    invitation_decline(invitation=first, user=pp.outsider)
    first.refresh_from_db()
    assert first.status == Invitation.Status.DECLINED
    assert AuditEvent.objects.filter(project=pp.project, action="invitation.decline", actor=pp.outsider).exists()
    again = _invite(pp, "oscar-outsider")  # asking again after a no is allowed
    assert again.pk != first.pk and not pp.project.memberships.filter(user=pp.outsider).exists()


def test_revoked_invitations_cannot_be_accepted_and_nobody_else_can_answer(prepare_project):
    pp = prepare_project
    invitation = _invite(pp, "oscar-outsider")
    with pytest.raises(ValidationError, match="someone else"):
        invitation_accept(invitation=invitation, user=pp.analyst)
    with pytest.raises(Http404):
        invitation_get_for_invitee(user=pp.analyst, invitation_id=invitation.pk)
    with acting_as(pp.admin):
        invitation_revoke(invitation=invitation)
    assert AuditEvent.objects.get(action="invitation.revoke").actor == pp.admin
    with pytest.raises(Http404):
        invitation_get_for_invitee(user=pp.outsider, invitation_id=invitation.pk)
    with pytest.raises(ValidationError, match="already revoked"):
        invitation_accept(invitation=invitation, user=pp.outsider)
    assert not pp.project.memberships.filter(user=pp.outsider).exists()
