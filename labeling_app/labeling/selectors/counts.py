"""Counts of a project's work for the project list and overview: responses, coded responses and labels as the
consensus resolves them, live themes."""

from django.contrib.auth.models import User
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from labeling_app.labeling.codings import CODING_LIVE
from labeling_app.labeling.models import Annotation
from labeling_app.labeling.selectors.consensus import consensus_exceptions
from labeling_app.projects.models import Membership, Project, Response
from labeling_app.projects.selectors.projects import projects_for_user
from labeling_app.themes.models import Theme


def project_list_with_counts(*, user: User) -> QuerySet[Project]:
    """The user's projects with the user's role and the response and live-theme counts, for lists."""
    # Each count is its own correlated subquery: counting over a join of responses and themes made a row per
    # (response, theme) pair for DISTINCT to fold back (bench/README.md, project list).
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
