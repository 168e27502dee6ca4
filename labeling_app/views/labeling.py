import json
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from labeling_app.models import Project
from labeling_app.services.events import events_listen, model_version_payload
from labeling_app.views.access import AuthenticatedHttpRequest, page_membership, role_flags


def _live_config(project: Project, **extra: object) -> dict:
    """What every live page's script needs: the project, its live themes, the current model, where to ask."""
    return {
        "project": project.pk,
        "themes": [{"id": t.pk, "name": t.name, "colour": t.colour, "shortcut": t.shortcut,
                    "description": t.description} for t in project.themes.filter(archived=False)],
        "model": model_version_payload(project.current_model),
        "api": f"/api/projects/{project.pk}/",
        "events": f"/projects/{project.pk}/events/",
        **extra,
    }


def _live_page(request: AuthenticatedHttpRequest, project_id: int, template: str, **extra: object) -> HttpResponse:
    membership = page_membership(request, project_id)
    project = membership.project
    # The labeling script also needs the batch size.
    config = _live_config(project, batchSize=project.labeling_batch_size)
    context = {"project": project, "membership": membership, "config": config, **role_flags(membership), **extra}
    return render(request, template, context)


@login_required
def labeling_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The analyst's labeling page; a small script drives it through the API and the event stream."""
    return _live_page(request, project_id, "labeling_app/labeling.html")


@login_required
def suggestions_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """Suggestions by theme and probability band, with bulk accept and reject."""
    return _live_page(request, project_id, "labeling_app/suggestions.html")


@login_required
def project_events(request: AuthenticatedHttpRequest, project_id: int) -> StreamingHttpResponse:
    """Server-sent events: the current model on connect (a reconnecting page catches up), then each change."""
    project = page_membership(request, project_id).project
    snapshot = {"type": "model", "project": project.pk, "model": model_version_payload(project.current_model)}

    def stream() -> Iterator[str]:
        yield "retry: 1000\n\n"
        yield f"event: model\ndata: {json.dumps(snapshot)}\n\n"
        for event in events_listen(project_id=project.pk):
            if event is None:
                yield ": keep-alive\n\n"
            else:
                yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
