"""The Insights dashboard: filters and views over a project's coded responses, drawn with Vega-Lite.

The page fetches the contract's JSON API for lists (terms, responses, quotes) and ``insights_charts``
for chart specs, which charts.py builds from the same selectors with the same filters.
"""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse

from labeling_app.api.params import InvalidParam, required_id
from labeling_app.selectors import insights as insights_selectors
from labeling_app.services import charts
from labeling_app.views.access import AuthenticatedHttpRequest, page_membership, role_flags


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
        "columns": columns, "themes": themes,
    }
    context = {"project": project, "membership": membership, **role_flags(membership), "config": config}
    return render(request, "labeling_app/insights.html", context)


def _views(sel: ModuleType, scope: Any, params: QueryDict) -> dict[str, Callable[[], dict]]:
    """The chart builders by view name, each bound to the scope and its view-specific parameters."""
    def theme_id() -> int:
        try:
            return required_id(params, "theme")
        except InvalidParam:
            raise ValidationError("Choose a theme.") from None

    def trends() -> dict:
        prev = sel.prevalence(scope=scope)
        names = {t["theme_id"]: t["theme"] for t in prev["themes"]}
        return charts.trends_chart(sel.trends(scope=scope, period=params.get("period") or "month"), names)

    return {
        "prevalence": lambda: charts.prevalence_chart(sel.prevalence(scope=scope)),
        "segments": lambda: charts.segments_chart(sel.prevalence(scope=scope, segment=params.get("segment") or None)),
        "terms": lambda: charts.terms_chart(sel.terms(scope=scope, theme_id=theme_id())),
        "drivers": lambda: charts.drivers_chart(sel.drivers(scope=scope, score=params.get("score", ""))),
        "cooccurrence": lambda: charts.cooccurrence_chart(sel.cooccurrence(scope=scope)),
        "combinations": lambda: charts.combinations_chart(sel.cooccurrence(scope=scope)),
        "trends": trends,
    }


@login_required
def insights_charts(request: AuthenticatedHttpRequest, project_id: int, view: str) -> JsonResponse:
    """One view's Vega-Lite spec under the page's filters; bad filters answer 400 with a message."""
    membership = page_membership(request, project_id)
    sel = _selectors()
    params = {k: request.GET.getlist(k) if k == "meta" else request.GET.get(k, "") for k in request.GET}
    try:
        scope = sel.insights_scope_from_params(project=membership.project, params=params)
        builders = _views(sel, scope, request.GET)
        if view not in builders:
            raise Http404("No such view.")
        spec = builders[view]()
        info = sel.insights_source_info(scope=scope)
    except ValidationError as exc:
        return JsonResponse({"message": " ".join(exc.messages), "details": {}}, status=400)
    return JsonResponse({"spec": spec, "source": info})
