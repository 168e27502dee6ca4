import json
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from labeling_app.selectors.training import model_versions
from labeling_app.services.events import events_listen, model_version_payload
from labeling_app.views.access import AuthenticatedHttpRequest, page_membership, role_flags


def _theme_data(project) -> list[dict]:  # type: ignore[no-untyped-def]
    return [{"id": t.pk, "name": t.name, "colour": t.colour, "shortcut": t.shortcut, "description": t.description}
            for t in project.themes.filter(archived=False)]


@login_required
def labeling_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    """The analyst's labeling page; a small script drives it through the API and the event stream."""
    membership = page_membership(request, project_id)
    project = membership.project
    config = {
        "project": project.pk,
        "batchSize": project.labeling_batch_size,
        "themes": _theme_data(project),
        "model": model_version_payload(project.current_model),
        "api": f"/api/projects/{project.pk}/",
        "events": f"/projects/{project.pk}/events/",
    }
    return render(request, "labeling_app/labeling.html",
                  {"project": project, "membership": membership, "config": config, **role_flags(membership)})


@login_required
def suggestions_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    membership = page_membership(request, project_id)
    project = membership.project
    config = {"project": project.pk, "themes": _theme_data(project), "api": f"/api/projects/{project.pk}/",
              "model": model_version_payload(project.current_model), "events": f"/projects/{project.pk}/events/"}
    return render(request, "labeling_app/suggestions.html",
                  {"project": project, "membership": membership, "config": config, **role_flags(membership)})


@login_required
def model_page(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    membership = page_membership(request, project_id)
    project = membership.project
    versions = list(model_versions(project=project)[:100])
    ready = [v for v in reversed(versions) if v.status == "ready" and v.micro_f1 is not None]
    current = project.current_model
    needs_more = [row for row in (current.per_theme if current else []) if row.get("needs_more_examples")]
    context = {"project": project, "membership": membership, "versions": versions, "current": current,
               "curve": _curve(ready), "needs_more": needs_more,
               "config": {"project": project.pk, "model": model_version_payload(current),
                          "events": f"/projects/{project.pk}/events/", "api": f"/api/projects/{project.pk}/"},
               **role_flags(membership)}
    return render(request, "labeling_app/model.html", context)


def _curve(versions: list) -> dict:  # type: ignore[type-arg]
    """Learning-curve points scaled into a 600x220 SVG: F1 (y) against labelled responses (x)."""
    if not versions:
        return {}
    width, height, pad = 600, 220, 30
    max_x = max(v.labelled_responses for v in versions) or 1

    def points(attr: str) -> str:
        return " ".join(
            f"{pad + (width - 2 * pad) * v.labelled_responses / max_x:.1f},"
            f"{height - pad - (height - 2 * pad) * (getattr(v, attr) or 0):.1f}" for v in versions
        )

    return {"micro": points("micro_f1"), "macro": points("macro_f1"), "max_x": max_x, "width": width,
            "height": height, "pad": pad}


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
