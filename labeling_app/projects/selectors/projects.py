from typing import Any, cast

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.http import Http404

from labeling_app.core.db import table_quoted
from labeling_app.projects.models import Membership, Project, Role


def projects_for_user(*, user: User | AnonymousUser) -> QuerySet[Project]:
    """Projects the user is a member of; the start of every project-scoped query."""
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user)


def project_find_by_name(*, name: str) -> Project | None:
    """The project of this name, for commands (they act for the operator, across owners); None if none.

    Names are unique per owner only: when several owners use the name, ValueError says so rather than
    picking one.
    """
    found = list(Project.objects.filter(name=name)[:2])
    if len(found) > 1:
        raise ValueError(f"several projects are named {name!r} (of different owners); rename one to pick it")
    return found[0] if found else None


def membership_get(*, user: User | AnonymousUser, project_id: int) -> Membership:
    """The user's membership of a project; 404 (never 403) when they are not a member."""
    if not user.is_authenticated:
        raise Http404("no such project")
    # Read on every project-scoped request, so in one plain statement: the ORM's select_related query took more
    # Python than the request's own work under bench/load.py. The project comes whole (with the ORM's type
    # conversions), the membership's few columns beside it (created_at is loaded if ever asked for).
    found = list(Project.objects.raw(_MEMBERSHIP_SQL, [user.pk, project_id]))
    if not found:
        raise Http404("no such project")
    project, row = found[0], cast(Any, found[0])  # row: the project with the membership's columns
    membership = Membership.from_db(
        DEFAULT_DB_ALIAS, ["id", "project_id", "user_id", "role", "codes_overlap"],
        (row.membership_id, project.pk, user.pk, row.membership_role, bool(row.membership_codes_overlap)),
    )
    membership.project = project
    return membership


_MEMBERSHIP_SQL = (
    f"SELECT p.*, m.id AS membership_id, m.role AS membership_role, m.codes_overlap AS membership_codes_overlap "
    f"FROM {table_quoted(Project)} p JOIN {table_quoted(Membership)} m ON m.project_id = p.id "
    "WHERE m.user_id = %s AND p.id = %s"
)


def project_get_for_role(*, user: User | AnonymousUser, project_id: int, role: str) -> Membership:
    """A membership with at least `role`; 404 for outsiders, 403 for members whose role is too low."""
    membership = membership_get(user=user, project_id=project_id)
    if Role.rank(membership.role) < Role.rank(role):
        raise PermissionDenied(f"this needs the {Role(role).label.lower()} role in {membership.project.name}")
    return membership
