from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from labeling_app.core.http.params import id_param
from labeling_app.labeling.selectors.responses import (
    metadata_keys,
    responses_filter,
    responses_themes,
    viewer_blind_for,
)
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags

PAGE_SIZE = 50


@login_required
def response_browser(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The project's responses with their resolved themes (each coder's on demand), filtered; each can be
    re-opened to correct it."""
    membership = page_membership(request, project_id)
    project = membership.project
    blind_for = viewer_blind_for(membership)
    params = request.GET
    keys = metadata_keys(project=project)
    metadata = {k: params[f"meta_{k}"] for k in keys if params.get(f"meta_{k}")}
    qs = responses_filter(
        project=project,
        search=params.get("q", "").strip(),
        theme_id=id_param(params, "theme"),
        uncoded=params.get("uncoded") == "1",
        flagged=params.get("flagged") == "1",
        metadata=metadata,
        blind_for=blind_for,
    )
    page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
    coded = responses_themes(project=project, response_ids=[r.pk for r in page.object_list], blind_for=blind_for)
    rows = [(r, coded[r.pk]) for r in page.object_list]
    query = params.copy()
    query.pop("page", None)
    context = {
        "project": project,
        "membership": membership,
        "page": page,
        "rows": rows,
        "themes": project.themes.all(),
        "metadata_keys": keys,
        "metadata_filters": metadata,
        "params": params,
        "query": query.urlencode(),
        **role_flags(membership),
    }
    return render(request, "labeling_app/labeling/response_browser.html", context)
