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
    from labeling_app.selectors.projects import project_list_with_counts
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
