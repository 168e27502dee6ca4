from typing import Any, cast

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from labeling_app.core.db import table_quoted
from labeling_app.labeling.codings import CODING_LIVE
from labeling_app.labeling.models import Annotation
from labeling_app.projects.models import Membership, Project, Response, Role
from labeling_app.review.selectors.consensus import consensus_exceptions
from labeling_app.themes.models import Theme


def projects_for_user(*, user: User | AnonymousUser) -> QuerySet[Project]:
    """Projects the user is a member of; the start of every project-scoped query."""
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user)


def project_list_with_counts(*, user: User) -> QuerySet[Project]:
    """The user's projects with the user's role and the response and live-theme counts, for lists."""
    # Each count is its own correlated subquery: counting over a join of responses and themes made a row per
    # (response, theme) pair for DISTINCT to fold back (2.3 s per load with 6,205 responses and 45 themes).
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return projects_for_user(user=user).annotate(
        user_role=Subquery(role),
        response_count=_count_of(Response.objects.filter(project=OuterRef("pk"))),
        theme_count=_count_of(Theme.objects.filter(project=OuterRef("pk"), archived=False)),
    )


def _count_of(rows: QuerySet) -> Coalesce:
    """COUNT(*) of a correlated queryset as an integer subquery (0, never NULL, for none)."""
    counted = rows.order_by().values("project").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


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


def project_counts(*, project: Project) -> dict[str, int]:
    """Headline figures for a project's overview, counted as the exports, insights and training count them:
    a response is coded once it has a resolved set of themes (`selectors.consensus`: one coder's, the coders'
    when they agree, or a lead's decision), an empty set ("coded, no theme") included; labels are the themes
    of those sets. Responses whose coders disagree (until a lead decides) or that wait to be re-coded after a
    split are not coded yet. So the overview of a project and of its long CSV re-imported read the same."""
    coded, labels = _resolved_counts(project)
    return {
        "responses": project.responses.count(),
        "themes": project.themes.filter(archived=False).count(),
        "labels": labels,
        "coded_responses": coded,
        "members": project.memberships.count(),
    }


def _resolved_counts(project: Project) -> tuple[int, int]:
    """(coded responses, labels) of `consensus_for_project`, counted in the database for the common case.

    A response with at most one complete coder and no lead's decision resolves to the union of its current
    codings (the complete one, and themes added in bulk): coded if one is complete or has a theme. Every
    response is counted that way in SQL; then the few `consensus_exceptions` names (several complete coders, a
    decision, a blind item) are counted again by the consensus rules in place of that. A test checks both ways
    agree case by case."""
    current = Annotation.objects.filter(CODING_LIVE, response__project=project)
    coded = current.filter(Q(is_complete=True) | Q(themes__isnull=False)).values("response_id").distinct().count()
    labels = (Annotation.themes.through.objects.filter(annotation__in=current)
              .values("annotation__response_id", "theme_id").distinct().count())
    special, codings, consensus = consensus_exceptions(project=project)
    if special:
        for response_id in special:  # take back what the union counted...
            union = {t for themes in codings.complete.get(response_id, {}).values() for t in themes}
            union |= codings.partial.get(response_id, frozenset())
            coded -= bool(codings.complete.get(response_id)) or bool(union)
            labels -= len(union)
        resolved = consensus.resolved  # ...and count what the rules resolve
        coded += len(resolved)
        labels += sum(len(themes) for themes in resolved.values())
    return coded, labels
