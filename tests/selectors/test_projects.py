"""The membership read behind every project-scoped request (one plain statement, see selectors.projects)."""
import pytest
from django.http import Http404

from labeling_app.models import Membership, Response, Role
from labeling_app.selectors.projects import membership_get, project_counts
from labeling_app.services.annotations import AnnotationItem, annotation_submit
from labeling_app.services.review import disagreement_resolve
from labeling_app.services.themes import theme_update
from tests.factories import MembershipFactory, ProjectFactory, ThemeFactory, UserFactory

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


def test_counts_are_of_resolved_codings_so_coded_with_no_theme_is_coded_and_a_disagreement_waits():
    project = ProjectFactory()
    ann, bob = (MembershipFactory(project=project, user=UserFactory(username=n)).user for n in ("ann", "bob"))
    lea = MembershipFactory(project=project, user=UserFactory(username="lea"), role=Role.LEAD).user
    price, delivery, old = (ThemeFactory(project=project, name=n) for n in ("Price", "Delivery", "Old"))
    r1, r2, r3, r4, _ = Response.objects.bulk_create(
        Response(project=project, respondent_id=f"R{i}", text=f"text {i}") for i in range(5))
    annotation_submit(project=project, user=ann, items=[AnnotationItem(r1.pk, [price.pk, delivery.pk]),
                                                        AnnotationItem(r2.pk, []),  # coded: no theme applies
                                                        AnnotationItem(r3.pk, [price.pk]),
                                                        AnnotationItem(r4.pk, [old.pk])])
    annotation_submit(project=project, user=bob, items=[AnnotationItem(r3.pk, [delivery.pk])])  # disagrees
    theme_update(theme=old, archived=True)  # its label still counts; the theme is not live

    counts = project_counts(project=project)
    assert (counts["responses"], counts["themes"], counts["coded_responses"], counts["labels"]) == (5, 2, 3, 3)

    disagreement_resolve(project=project, lead=lea, response_id=r3.pk, theme_ids=[price.pk, delivery.pk])
    counts = project_counts(project=project)
    # The lead's two themes, not the two coders' labels beside them.
    assert (counts["coded_responses"], counts["labels"]) == (4, 5)
