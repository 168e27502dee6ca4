"""The membership read behind every project-scoped request (one plain statement, see selectors.projects)."""
import pytest
from django.http import Http404

from labeling_app.models import Membership, Role
from labeling_app.selectors.projects import membership_get
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("codes_overlap", [True, False])
def test_a_membership_comes_with_its_role_its_overlap_choice_and_its_whole_project(codes_overlap):
    project = ProjectFactory(name="Cancellations", labeling_batch_size=7)
    stored = MembershipFactory(project=project, role=Role.LEAD, codes_overlap=codes_overlap)
    MembershipFactory(user=stored.user)  # a membership of another project: not this one

    found = membership_get(user=stored.user, project_id=project.pk)

    assert (found.pk, found.role, found.codes_overlap) == (stored.pk, Role.LEAD, codes_overlap)
    assert found.codes_overlap is codes_overlap
    assert (found.project.name, found.project.labeling_batch_size, found.project.created_at) == \
        ("Cancellations", 7, project.created_at)
    assert found.created_at == stored.created_at  # not read with it: loaded when asked for
    assert found == Membership.objects.get(pk=stored.pk)


def test_someone_who_is_not_a_member_gets_no_such_project():
    stored = MembershipFactory()
    with pytest.raises(Http404):
        membership_get(user=UserFactory(), project_id=stored.project.pk)
    with pytest.raises(Http404):
        membership_get(user=stored.user, project_id=stored.project.pk + 1000)
