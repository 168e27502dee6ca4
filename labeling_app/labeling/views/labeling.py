from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from labeling_app.core.http.params import id_param
from labeling_app.modeling.selectors.model_events import live_page_config
from labeling_app.modeling.selectors.predictions import theme_thresholds
from labeling_app.projects.access import AuthenticatedHttpRequest, page_membership, role_flags


def _live_page(request: AuthenticatedHttpRequest, project_id: int, template: str,
               config_extra: dict | None = None, **extra: object) -> HttpResponse:
    membership = page_membership(request, project_id)
    project = membership.project
    # The labeling script also needs the batch size.
    config = live_page_config(project, batchSize=project.labeling_batch_size, **(config_extra or {}))
    context = {"project": project, "membership": membership, "config": config, **role_flags(membership), **extra}
    return render(request, template, context)


@login_required
def labeling_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The analyst's labeling page; a small script drives it through the API and the event stream.

    `?response=<id>` re-opens that response with the analyst's current themes, to correct it.
    """
    page_membership(request, project_id)  # outsiders get 404 before their parameters are read
    reopen = id_param(request.GET, "response")
    return _live_page(request, project_id, "labeling_app/labeling/labeling.html",
                      config_extra={"reopen": reopen,
                                    "responsesUrl": reverse("response-browser", args=[project_id])})


@login_required
def suggestions_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Suggestions by theme and probability band, with bulk accept and reject.

    The band starts by default at each theme's own threshold in the current model, not at a fixed 0.5.
    """
    project = page_membership(request, project_id).project
    thresholds = theme_thresholds(project=project)
    return _live_page(request, project_id, "labeling_app/labeling/suggestions.html",
                      config_extra={"thresholds": {str(k): v for k, v in thresholds.items()}})
