"""The membership read behind every project-scoped request (one plain statement, see selectors.projects)."""
import pytest
from django.http import Http404

from labeling_app.labeling.models import Annotation
from labeling_app.labeling.selectors.consensus import consensus_for_project
from labeling_app.labeling.selectors.counts import project_counts
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit, annotations_add_theme
from labeling_app.projects.models import Membership, Response, Role
from labeling_app.projects.selectors.projects import membership_get
from labeling_app.review.services.adjudication import disagreement_resolve
from labeling_app.themes.services.themes import theme_update
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


def test_the_counts_in_the_database_agree_with_the_consensus_rules_case_by_case():
    project = ProjectFactory()
    ann, bob = (MembershipFactory(project=project, user=UserFactory(username=n)).user for n in ("ann", "bob"))
    lea = MembershipFactory(project=project, user=UserFactory(username="lea"), role=Role.LEAD).user
    price, delivery = (ThemeFactory(project=project, name=n).pk for n in ("Price", "Delivery"))
    r = list(Response.objects.bulk_create(
        Response(project=project, respondent_id=f"R{i}", text=f"text {i}") for i in range(11)))
    annotation_submit(project=project, user=ann, items=[
        AnnotationItem(r[0].pk, [price]), AnnotationItem(r[1].pk, []), AnnotationItem(r[3].pk, [price]),
        AnnotationItem(r[4].pk, [price]), AnnotationItem(r[5].pk, [price]), AnnotationItem(r[6].pk, [price]),
        AnnotationItem(r[7].pk, [price]), AnnotationItem(r[9].pk, [price, delivery])])
    annotation_submit(project=project, user=bob, items=[
        AnnotationItem(r[4].pk, [price]),  # the coders agree
        AnnotationItem(r[5].pk, [delivery]),  # they disagree, nobody decides
        AnnotationItem(r[6].pk, [])])  # they disagree, and the lead decides: no theme
    disagreement_resolve(project=project, lead=lea, response_id=r[6].pk, theme_ids=[], confirm_empty=True)
    annotations_add_theme(project=project, user=bob, response_ids=[r[2].pk, r[3].pk, r[9].pk], theme_id=price)
    annotations_add_theme(project=project, user=bob, response_ids=[r[3].pk], theme_id=delivery)
    Annotation.objects.filter(response=r[7]).update(needs_recoding=True)  # waits to be re-coded after a split
    Annotation.objects.create(response=r[8], coder=ann, is_complete=False)  # bulk-touched, no theme: not coded

    resolved = consensus_for_project(project=project).resolved
    counts = project_counts(project=project)
    assert (counts["coded_responses"], counts["labels"]) == (len(resolved), sum(len(t) for t in resolved.values()))
    assert set(resolved) == {r[i].pk for i in (0, 1, 2, 3, 4, 6, 9)}
    assert (counts["coded_responses"], counts["labels"]) == (7, 7)


def _projects_page(user) -> tuple[str, list[str]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    client.get("/projects/")  # the session and the URLconf are read once, outside the count
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/projects/")
    assert page.status_code == 200
    return page.content.decode(), [q["sql"] for q in queries.captured_queries]


def _listed_counts(page: str) -> dict[str, tuple[str, str]]:
    import re

    rows = re.findall(r'<a href="/projects/\d+/">([^<]+)</a></td>\s*<td class="muted">[^<]*</td>\s*'
                      r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>', page)
    return {name: (responses, themes) for name, responses, themes in rows}


def test_the_project_list_counts_each_project_in_a_fixed_number_of_queries_without_multiplying_rows():
    from labeling_app.labeling.selectors.counts import project_list_with_counts
    from tests.factories import ResponseFactory, ThemeFactory

    user = UserFactory()
    first = ProjectFactory(name="First")
    MembershipFactory(project=first, user=user, role=Role.ADMIN)
    ThemeFactory.create_batch(3, project=first)
    ThemeFactory(project=first, archived=True)  # not counted: archived
    ResponseFactory.create_batch(5, project=first)
    _, one_project = _projects_page(user)

    for i in range(3):
        project = ProjectFactory(name=f"More {i}")
        MembershipFactory(project=project, user=user, role=Role.ANALYST)
        ThemeFactory.create_batch(i, project=project)
        ResponseFactory.create_batch(2 * i, project=project)
    hidden = ProjectFactory(name="Not a member")  # someone else's: neither listed nor counted
    ThemeFactory(project=hidden)
    page, four_projects = _projects_page(user)

    assert len(four_projects) == len(one_project)
    assert _listed_counts(page) == {"First": ("5", "3"), "More 0": ("0", "0"), "More 1": ("2", "1"),
                                    "More 2": ("4", "2")}
    listed = {p.name: (p.response_count, p.theme_count, p.user_role) for p in project_list_with_counts(user=user)}
    assert listed["First"] == (5, 3, Role.ADMIN) and listed["More 0"] == (0, 0, Role.ANALYST)
    # Each count is read on its own: a join of responses with themes made a row per (response, theme) pair
    # that DISTINCT then folded back (2.3 s per load with the NHS survey's 6,205 responses and 45 themes).
    sql = str(project_list_with_counts(user=user).query).upper()
    assert "DISTINCT" not in sql
