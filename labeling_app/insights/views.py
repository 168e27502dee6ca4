"""The Insights dashboard: filters and views over a project's coded responses, drawn with Vega-Lite.

The page fetches the contract's JSON API for lists (terms, responses, quotes) and ``insights_charts``
for chart specs, which charts.py builds from the same selectors with the same filters.
"""
from __future__ import annotations

from types import ModuleType

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from labeling_app.insights.selectors import insights as insights_selectors
from labeling_app.insights.services import charts
from labeling_app.modeling.selectors.new_themes import new_theme_candidates_read
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags


def _selectors() -> ModuleType:
    return insights_selectors


@login_required
def insights_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The dashboard shell: filter controls and one section per view; the script fills them in."""
    membership = page_membership(request, project_id)
    project = membership.project
    sel = _selectors()
    columns = sel.metadata_columns(project=project)
    # Commonest first: the terms view opens on a theme that has responses to set apart.
    themes = [{"id": t.pk, "name": t.name} for t in project.themes.filter(archived=False).annotate(
        labels=Count("annotations", filter=Q(annotations__is_current=True))).order_by("-labels", "name")]
    config = {
        "project": project.pk,
        "api": f"/api/projects/{project.pk}/insights/",
        "charts": reverse("insights-charts", args=[project.pk, "VIEW"]).replace("VIEW/", ""),
        # Chart files (PNG/SVG) and exports: the page appends "<view>.<png|svg>?<filters>" / "?format=..&<filters>".
        "chart_files": reverse("api-insights-chart", args=[project.pk, "VIEW", "png"]).replace("VIEW.png", ""),
        "export": reverse("api-export", args=[project.pk]),
        "columns": columns, "themes": themes,
        # What the views open on: a segment column of 2-12 values (never a date column of 23 months), the
        # first score and date columns; trends draw the commonest themes under the filters until others are picked.
        "defaults": sel.insights_defaults(project=project),
        "trend_themes": sel.TREND_THEMES, "trend_themes_max": sel.TREND_THEMES_MAX, "min_base": sel.MIN_BASE,
    }
    waves = sel.wave_order(project=project)
    context = {"project": project, "membership": membership, **role_flags(membership), "config": config,
               "waves": waves, "new_themes": new_theme_candidates_read(project=project) if len(waves) > 1 else None}
    return render(request, "labeling_app/insights/insights.html", context)


@login_required
def insights_charts(request: AuthenticatedHttpRequest, project_id: int, view: str) -> JsonResponse:
    """One view's Vega-Lite spec under the page's filters; bad filters answer 400 with a message."""
    membership = page_membership(request, project_id)
    sel = _selectors()
    params = {k: request.GET.getlist(k) if k == "meta" else request.GET.get(k, "") for k in request.GET}
    try:
        if view not in charts.CHART_VIEWS:
            raise Http404("No such view.")
        scope = sel.insights_scope_from_params(project=membership.project, params=params)
        chart = charts.insights_chart_build(scope=scope, view=view, params=request.GET)
        info = sel.insights_source_info(scope=scope)
    except ValidationError as exc:
        return JsonResponse({"message": " ".join(exc.messages), "details": {}}, status=400)
    return JsonResponse({"spec": chart.spec, "source": info, "base": chart.base, "themes": chart.themes})
